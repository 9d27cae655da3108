#include "backup.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "libcert/example_keys.h"
#include "libcert/roles.h"
#include "libcert/trust_bundle.h"
#include "merkle.h"
#include "sqlite.h"

namespace certd {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void io(const std::string& what) {
  throw libcert::Error(libcert::ErrorCode::kIo, what);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) io(p.string() + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_private(const fs::path& p, const std::string& bytes) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    if (!out) io(p.string() + ": cannot write");
    out << bytes;
    out.flush();
    if (!out) io(p.string() + ": write failed");
  }
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

std::int64_t scalar(sql::Db& db, const char* q) {
  auto st = db.prepare(q);
  return st.step() ? st.int64(0) : 0;
}

// Certificates and public keys of a key directory, fingerprinted; private keys named only.
nlohmann::json key_manifest(const std::string& keys_dir) {
  nlohmann::json certs = nlohmann::json::array(), pubs = nlohmann::json::array(),
                 privs = nlohmann::json::array();
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(keys_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string rel = fs::relative(f, keys_dir).string();
    const std::string ext = f.extension().string();
    if (ext == ".crt" || ext == ".pem") {
      try {
        const std::string der = libcert::certificate_der_from_pem(slurp(f));
        certs.push_back({{"file", rel},
                         {"cert_sha256", sha256_hex(der)},
                         {"spki_sha256", libcert::spki_sha256(der)},
                         {"example", libcert::is_example_certificate(der)}});
      } catch (const libcert::Error&) {
        // not a certificate (e.g. a chain file of another format): listed by name only
        certs.push_back({{"file", rel}, {"cert_sha256", nullptr}});
      }
    } else if (ext == ".pub") {
      pubs.push_back({{"file", rel}, {"sha256", sha256_hex(slurp(f))}});
    } else if (ext == ".key") {
      privs.push_back(rel);
    }
  }
  return {{"dir", keys_dir},
          {"certificates", certs},
          {"public_keys", pubs},
          {"private_keys_not_in_backup", privs}};
}

}  // namespace

BackupResult backup_sqlite(const std::string& registry, const std::string& out_dir,
                           const std::string& keys_dir, std::int64_t now) {
  std::error_code ec;
  if (!fs::exists(registry, ec)) io(registry + ": no such registry");
  fs::create_directories(out_dir, ec);
  if (ec) io(out_dir + ": " + ec.message());
  fs::permissions(out_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  BackupResult r;
  r.registry = (fs::path(out_dir) / "registry.db").string();
  r.manifest = (fs::path(out_dir) / "manifest.json").string();
  if (fs::exists(r.registry, ec)) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         r.registry + " exists: back up into a new directory");
  }
  {
    // One statement, one read transaction: the copy is the registry as of one instant.
    const mode_t old = ::umask(077);
    sql::Db src = sql::Db::open(registry, 10000);
    auto st = src.prepare("VACUUM INTO ?1");
    st.bind(1, r.registry);
    st.run();
    ::umask(old);
  }
  fs::permissions(r.registry, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  nlohmann::json m;
  {
    sql::Db copy = sql::Db::open(r.registry, 10000);
    r.audit_size = scalar(copy, "SELECT COUNT(*) FROM audit_log");
    std::vector<std::string> leaves;
    for (auto st = copy.prepare("SELECT leaf_hash FROM audit_log ORDER BY idx"); st.step();) {
      leaves.push_back(st.blob(0));
    }
    r.audit_root = merkle::root(leaves);
    r.licences = scalar(copy, "SELECT COUNT(*) FROM licences");
    nlohmann::json counters = nlohmann::json::array();
    for (auto st = copy.prepare("SELECT type_code, issuer_code, last FROM serial_counters ORDER BY 1, 2");
         st.step();) {
      counters.push_back({{"type_code", st.text(0)}, {"issuer_code", st.text(1)}, {"last", st.int64(2)}});
    }
    nlohmann::json seals = nlohmann::json::array();
    for (auto st = copy.prepare(
             "SELECT department, version, state, key_ref, cert_sha256 FROM seal_keys ORDER BY 1, 2");
         st.step();) {
      seals.push_back({{"department", st.text(0)},
                       {"version", st.int64(1)},
                       {"state", st.text(2)},
                       {"key_ref", st.is_null(3) ? "" : st.text(3)},
                       {"cert_sha256", st.is_null(4) ? "" : st.text(4)}});
    }
    m["serial_counters"] = counters;
    m["seal_key_versions"] = seals;
  }
  // The copy was written by VACUUM INTO in rollback-journal mode; opening it must not have
  // left a -wal beside it (it would not be in the checksum).
  for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(r.registry + suffix, ec);
  // The checksum of the file as it now stays (opening it may have set its journal mode).
  const std::string bytes = slurp(r.registry);
  r.sha256 = sha256_hex(bytes);
  m["format"] = "certd-backup/1";
  m["created_at"] = now;
  m["source"] = registry;
  m["registry"] = {{"file", "registry.db"},
                   {"sha256", r.sha256},
                   {"bytes", bytes.size()},
                   {"audit_size", r.audit_size},
                   {"audit_root", base64_encode(r.audit_root)},
                   {"licences", r.licences}};
  if (!keys_dir.empty()) m["keys"] = key_manifest(keys_dir);
  write_private(r.manifest, m.dump(2) + "\n");
  return r;
}

nlohmann::json read_backup_manifest(const std::string& from_dir) {
  const fs::path p = fs::path(from_dir) / "manifest.json";
  auto m = nlohmann::json::parse(slurp(p), nullptr, false);
  if (m.is_discarded() || !m.is_object() || m.value("format", "") != "certd-backup/1" ||
      !m.contains("registry") || !m["registry"].contains("sha256")) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         p.string() + ": not a certd backup manifest (format certd-backup/1)");
  }
  return m;
}

RestoreResult restore_sqlite(const RestoreOptions& o) {
  if (o.advance <= 0) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         "restore: the serial advance must be positive");
  }
  std::error_code ec;
  if (fs::exists(o.target, ec)) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         o.target + " exists: restore into a new file");
  }
  const nlohmann::json m = read_backup_manifest(o.from_dir);
  const std::string bytes = slurp(fs::path(o.from_dir) / "registry.db");
  if (sha256_hex(bytes) != m["registry"]["sha256"].get<std::string>()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         o.from_dir + "/registry.db does not match its manifest's SHA-256");
  }
  // Work on a temporary name beside the target: until the counters are advanced nothing can open
  // the restored registry at its real path (and so nothing can issue from it).
  const std::string tmp = o.target + ".restoring";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(tmp + suffix, ec);
  const mode_t old = ::umask(077);
  struct Cleanup {
    std::string path;
    bool keep = false;
    ~Cleanup() {
      if (keep) return;
      std::error_code e;
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix, e);
    }
  } cleanup{tmp};
  write_private(tmp, bytes);
  RestoreResult r;
  auto store = open_store(tmp);
  if (o.check) o.check(*store);
  {
    sql::Db db = sql::Db::open(tmp, 10000);
    r.audit_size = scalar(db, "SELECT COUNT(*) FROM audit_log");
    sql::Tx tx(db, sql::Tx::kImmediate);
    auto up = db.prepare("UPDATE serial_counters SET last = last + ?1");
    up.bind(1, o.advance);
    up.run();
    r.counters_advanced = db.changes();
    for (const auto& [type, issuer] : o.counters) {
      auto ins = db.prepare(
          "INSERT INTO serial_counters(type_code, issuer_code, last) VALUES (?1, ?2, ?3) "
          "ON CONFLICT(type_code, issuer_code) DO NOTHING");
      ins.bind(1, type).bind(2, issuer).bind(3, o.advance);
      ins.run();
      r.counters_advanced += db.changes();
    }
    tx.commit();
  }
  {
    // The advance is a state change of the registry: an audit leaf, through the store.
    store->record_event("registry.restore", m["registry"]["sha256"].get<std::string>(),
                        nlohmann::json{{"serial_advance", o.advance},
                                       {"counters", r.counters_advanced},
                                       {"backup_created_at", m.value("created_at", 0)},
                                       {"backup_audit_size", r.audit_size}}
                            .dump(),
                        o.now, o.by);
    store.reset();
  }
  ::umask(old);
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(tmp + suffix, ec)) io(tmp + suffix + ": still open elsewhere; not moved");
  }
  fs::rename(tmp, o.target, ec);
  if (ec) io(o.target + ": " + ec.message());
  cleanup.keep = true;
  return r;
}

}  // namespace certd
