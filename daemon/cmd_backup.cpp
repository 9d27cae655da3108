// certctl backup / certctl restore — an online, consistent copy of a SQLite registry with a
// manifest of key fingerprints, and its restore with the serial counters advanced past what the
// lost registry may have issued (daemon/backup.h; docs/operations.md "Backups").
// Compiled into certctl by daemon/CMakeLists.txt (only when certd_core is built).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit.h"
#include "backup.h"
#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/template.h"
#include "merkle.h"
#include "store.h"

namespace {

using certctl::Options;
using certctl::UsageError;

constexpr const char* kDefaultOrigin = "lic.ali.example/audit";
// certd signs a checkpoint at least every this many audit entries (certd.json
// audit.checkpoint_every_entries, default): so many entries at most follow the latest one.
constexpr std::int64_t kDefaultMargin = 1000;

int run_backup(const certctl::Args& args) {
  const Options o(args, {"--store", "-o", "--keys", "--origin", "--audit-key"}, {"--json"});
  if (!o.positional().empty()) throw UsageError("unexpected argument " + o.positional()[0]);
  const std::string store = o.require("--store");
  if (store.find("://") != std::string::npos) {
    throw UsageError("--store: certctl backup copies a SQLite registry; back PostgreSQL up with "
                     "pg_dump (docs/operations.md \"Backups\")");
  }
  const std::string out = o.require("-o");
  const std::string keys = certctl::configured_keys_dir(o).value_or("");
  const std::int64_t now = libcert::SystemClock().now();
  const certd::BackupResult b = certd::backup_sqlite(store, out, keys, now);
  // A checkpoint of the copy signed with the audit key (when there is one): restore verifies the
  // whole copied log against it.
  std::string audit_key = o.get("--audit-key").value_or(keys.empty() ? "" : keys + "/audit/audit.key");
  std::string checkpoint;
  std::error_code ec;
  if (!audit_key.empty() && std::filesystem::exists(audit_key, ec)) {
    const certd::Checkpoint c{o.get("--origin").value_or(kDefaultOrigin),
                              static_cast<std::uint64_t>(b.audit_size), b.audit_root};
    checkpoint = (std::filesystem::path(out) / "checkpoint.txt").string();
    certctl::write_file_atomic(checkpoint, certd::sign_checkpoint(c, certctl::read_file(audit_key)));
  }
  if (o.flag("--json")) {
    std::cout << nlohmann::json{{"registry", b.registry}, {"manifest", b.manifest},
                                {"checkpoint", checkpoint}, {"sha256", b.sha256},
                                {"licences", b.licences}, {"audit_size", b.audit_size}}
                     .dump()
              << "\n";
  } else {
    std::cout << "backup: " << b.registry << " (" << b.licences << " licences, " << b.audit_size
              << " audit entries, sha256 " << b.sha256 << ")\nbackup: " << b.manifest
              << " (key fingerprints; private keys are NOT in the backup)\n";
    if (!checkpoint.empty()) std::cout << "backup: " << checkpoint << " (signed audit checkpoint)\n";
  }
  return 0;
}

int run_restore(const certctl::Args& args) {
  const Options o(args,
                  {"--from", "--store", "--checkpoint", "--margin", "--advance", "--pub", "--keys",
                   "--templates"},
                  {"--json"});
  if (!o.positional().empty()) throw UsageError("unexpected argument " + o.positional()[0]);
  const std::string from = o.require("--from");
  const std::string target = o.require("--store");
  if (o.get("--checkpoint").has_value() == o.get("--advance").has_value()) {
    throw UsageError(
        "a restored registry must not issue until its serial counters are past every serial the "
        "lost registry may have issued: give --checkpoint FILE (the latest audit checkpoint "
        "exported from it, e.g. by `certctl audit checkpoint` or GET /v1/audit/checkpoint) or "
        "--advance N (the operator's own bound)");
  }
  const nlohmann::json manifest = certd::read_backup_manifest(from);
  const std::int64_t backup_size = manifest["registry"].value("audit_size", std::int64_t{0});
  const auto pub_path = [&] {
    if (auto p = o.get("--pub")) return *p;
    return certctl::keys_dir(o) + "/audit/audit.pub";
  };
  std::int64_t advance = 0;
  std::string basis;
  if (auto a = o.get("--advance")) {
    advance = certctl::parse_int(*a, "--advance", 1, 2000000000);
    basis = "given by the operator";
  } else {
    const certd::Checkpoint latest =
        certd::open_checkpoint(certctl::read_file(*o.get("--checkpoint")), certctl::read_file(pub_path()));
    const auto latest_size = static_cast<std::int64_t>(latest.size);
    if (latest_size < backup_size) {
      throw UsageError("--checkpoint: it covers " + std::to_string(latest_size) +
                       " audit entries, fewer than the backup's " + std::to_string(backup_size) +
                       ": give the latest checkpoint exported after the backup, or --advance N");
    }
    const std::int64_t margin =
        o.get("--margin") ? certctl::parse_int(*o.get("--margin"), "--margin", 0, 2000000000)
                          : kDefaultMargin;
    // Every issuance is at least one audit leaf: the lost registry issued at most (checkpoint
    // size - backup size) licences up to its checkpoint, and at most `margin` after it.
    advance = latest_size - backup_size + margin;
    if (advance <= 0) advance = 1;
    basis = "checkpoint of " + std::to_string(latest_size) + " entries - backup's " +
            std::to_string(backup_size) + " + margin " + std::to_string(margin);
  }

  certd::RestoreOptions ro;
  ro.from_dir = from;
  ro.target = target;
  ro.advance = advance;
  ro.now = libcert::SystemClock().now();
  const libcert::TemplateSet templates = libcert::TemplateSet::load(certctl::templates_dir(o));
  for (const auto& id : templates.ids()) {
    const auto t = templates.get(id);
    ro.counters.emplace_back(t->type_code(), t->department().uscc);
  }
  // The audit log of the copy, verified in full against the checkpoint signed at backup time.
  std::string audit = "not verified (the backup has no checkpoint.txt: no audit key at backup)";
  const std::string backup_cp = (std::filesystem::path(from) / "checkpoint.txt").string();
  std::error_code ec;
  if (std::filesystem::exists(backup_cp, ec)) {
    const std::string pub = certctl::read_file(pub_path());
    // By value: the lambda runs inside restore_sqlite(), after this block.
    ro.check = [pub, backup_cp, &audit](certd::Store& store) {
      const certd::Checkpoint cp = certd::open_checkpoint(certctl::read_file(backup_cp), pub);
      std::vector<certd::AuditRow> rows;
      for (std::int64_t next = 0;;) {
        auto page = store.audit_entries(next, 10000);
        if (page.empty()) break;
        next = page.back().idx + 1;
        for (auto& r : page) rows.push_back(std::move(r));
      }
      const certd::AuditReport rep = certd::verify_audit_log(rows, cp, {});
      if (!rep.ok) {
        throw libcert::Error(libcert::ErrorCode::kValidation,
                             "restore refused: the backup's audit log does not verify: " +
                                 rep.reason);
      }
      audit = "OK: " + rep.reason;
    };
  }
  const certd::RestoreResult r = certd::restore_sqlite(ro);
  if (o.flag("--json")) {
    std::cout << nlohmann::json{{"store", target}, {"audit", audit}, {"audit_size", r.audit_size},
                                {"serial_advance", advance}, {"basis", basis},
                                {"counters", r.counters_advanced}}
                     .dump()
              << "\n";
  } else {
    std::cout << "restore: " << target << "\nrestore: audit verify: " << audit
              << "\nrestore: serial counters advanced by " << advance << " (" << basis << "), "
              << r.counters_advanced << " counters\n";
  }
  return 0;
}

int guard(int (*f)(const certctl::Args&), const certctl::Args& args) {
  try {
    return f(args);
  } catch (const certd::RegistryError& e) {
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }
}

const certctl::Command kBackup{
    "backup", "online consistent copy of a SQLite registry + manifest of key fingerprints",
    "certctl backup --store DB -o DIR [--keys DIR] [--audit-key FILE] [--origin NAME] [--json]\n"
    "  One VACUUM INTO (a single read transaction; certd may keep issuing). DIR gets registry.db\n"
    "  and manifest.json (0600; no private keys) and, with the audit key, checkpoint.txt.",
    [](const certctl::Args& a) { return guard(run_backup, a); }};

const certctl::Command kRestore{
    "restore", "restore a backup into a new registry, its serial counters advanced",
    "certctl restore --from DIR --store NEW.db (--checkpoint FILE [--margin N] | --advance N)\n"
    "                [--pub FILE] [--keys DIR] [--templates DIR] [--json]\n"
    "  Verifies the copied audit log against the backup's checkpoint, advances every serial\n"
    "  counter past what the lost registry may have issued (checkpoint size - backup size +\n"
    "  margin, default margin 1000 = certd's checkpoint interval), records a registry.restore\n"
    "  audit row, and only then moves the registry to NEW.db.",
    [](const certctl::Args& a) { return guard(run_restore, a); }};

}  // namespace
