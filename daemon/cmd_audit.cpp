// certctl audit — signed checkpoints of certd's audit log and the full verification of the log
// against a saved checkpoint (docs/service.md "Audit log"). Reads the registry file directly, or
// entries fetched from GET /v1/audit/entries (--entries FILE: {"entries": [...]} pages joined).
// Compiled into certctl by daemon/CMakeLists.txt (only when certd_core is built).
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit.h"
#include "command.h"
#include "libcert/error.h"
#include "merkle.h"
#include "sqlite.h"
#include "store.h"

namespace {

using certctl::Options;
using certctl::UsageError;

std::string default_origin() { return "lic.ali.example/audit"; }

int audit_checkpoint(const certctl::Args& args) {
  Options o(args, {"--store", "--key", "--origin", "--keys", "-o"}, {});
  auto store = certd::open_store(o.require("--store"));
  const std::string key =
      certctl::read_file(o.get("--key").value_or(certctl::keys_dir(o) + "/audit/audit.key"));
  certd::AuditLog log(*store, o.get("--origin").value_or(default_origin()), key);
  const auto c = log.checkpoint(libcert::SystemClock().now());
  if (auto out = o.get("-o")) {
    certctl::write_file_atomic(*out, c.signed_note);
    std::cerr << "checkpoint of " << c.tree_size << " entries -> " << *out << "\n";
  } else {
    std::cout << c.signed_note;
  }
  return 0;
}

std::vector<certd::AuditRow> rows_from_entries(const std::string& path) {
  const auto j = nlohmann::json::parse(certctl::read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_array()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         path + ": expected {\"entries\": [...]} as served by /v1/audit/entries");
  }
  std::vector<certd::AuditRow> rows;
  for (const auto& e : j["entries"]) {
    certd::AuditRow r;
    try {
      r.idx = e.at("idx").get<std::int64_t>();
      r.ts = e.at("ts").get<std::int64_t>();
      r.principal = e.at("principal").get<std::string>();
      r.action = e.at("action").get<std::string>();
      r.object = e.at("object").get<std::string>();
      r.request_id = e.at("request_id").get<std::string>();
      r.details_json = e.at("details_json").get<std::string>();
      r.leaf_hash = certd::base64_decode(e.at("leaf_hash").get<std::string>(), "leaf_hash");
    } catch (const nlohmann::json::exception&) {
      throw libcert::Error(
          libcert::ErrorCode::kInvalidArgument,
          path + ": entry " + std::to_string(rows.size()) + " lacks a field of /v1/audit/entries");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

int audit_verify(const certctl::Args& args) {
  Options o(args, {"--store", "--entries", "--checkpoint", "--pub", "--keys"}, {"--json"});
  const std::string pub =
      certctl::read_file(o.get("--pub").value_or(certctl::keys_dir(o) + "/audit/audit.pub"));
  const std::string note = certctl::read_file(o.require("--checkpoint"));
  certd::Checkpoint cp;
  try {
    cp = certd::open_checkpoint(note, pub);
  } catch (const libcert::Error& e) {
    // A checkpoint whose signature does not verify is a verification that failed (exit 1,
    // docs/verdicts.md), not a fault of the environment: nothing of the log is believed.
    if (e.code() != libcert::ErrorCode::kCrypto) throw;
    if (o.flag("--json")) {
      std::cout << nlohmann::json{{"ok", false}, {"reason", e.what()}}.dump() << "\n";
    } else {
      std::cout << "FAILED: " << e.what() << "\n";
    }
    return 1;
  }
  std::vector<certd::AuditRow> rows;
  std::vector<certd::Checkpoint> others;
  if (auto entries = o.get("--entries")) {
    rows = rows_from_entries(*entries);
  } else {
    auto store = certd::open_store(o.require("--store"));
    for (std::int64_t from = 0;;) {
      auto page = store->audit_entries(from, 10000);
      if (page.empty()) break;
      from = page.back().idx + 1;
      for (auto& r : page) rows.push_back(std::move(r));
    }
    // The registry's own checkpoints help locate a rewrite; each counts only if its signature
    // verifies with the audit key (a forged one is ignored, never trusted).
    for (const auto& c : store->audit_checkpoints()) {
      try {
        const auto opened = certd::open_checkpoint(c.signed_note, pub);
        if (opened.origin == cp.origin) others.push_back(opened);
      } catch (const libcert::Error&) {
      }
    }
  }
  const certd::AuditReport r = certd::verify_audit_log(rows, cp, others);
  if (o.flag("--json")) {
    nlohmann::json j = {
        {"ok", r.ok}, {"entries", r.entries}, {"checkpoint_size", cp.size}, {"reason", r.reason}};
    j["first_bad_index"] =
        r.first_bad_index ? nlohmann::json(*r.first_bad_index) : nlohmann::json();
    if (r.bad_range_end) j["bad_range_end"] = *r.bad_range_end;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << (r.ok ? "OK: " : "FAILED: ") << r.reason << "\n";
  }
  return r.ok ? 0 : 1;
}

int dispatch(const certctl::Args& args) {
  if (args.empty()) throw UsageError("missing subcommand (checkpoint, verify)");
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args[0] == "checkpoint") return audit_checkpoint(rest);
  if (args[0] == "verify") return audit_verify(rest);
  throw UsageError("unknown subcommand '" + args[0] + "' (checkpoint, verify)");
}

int run_audit(const certctl::Args& args) {
  try {
    return dispatch(args);
  } catch (const certd::RegistryError& e) {
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }
}

const certctl::Command kAudit{
    "audit", "signed checkpoints of certd's audit log; verify the whole log against one",
    "certctl audit checkpoint --store DB [--key FILE] [--origin NAME] [-o FILE]\n"
    "       certctl audit verify (--store DB | --entries FILE) --checkpoint FILE [--pub FILE]\n"
    "                    [--json]     exit 1 naming the first bad index when the log was\n"
    "                                 edited, reordered, had rows deleted or was truncated",
    run_audit};

}  // namespace
