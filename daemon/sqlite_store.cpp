#include "sqlite_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libcert/error.h"
#include "pg_store.h"

namespace certd {

const std::vector<Migration>& sqlite_migrations() {
  // Never edit a migration that has shipped: add a new numbered one. Column sets follow
  // service.md "Registry" (same schema on PostgreSQL, issue 11), plus the columns issuing needs
  // (serial, type_code, issuer_code, qr_text, seal_cert_sha256).
  static const std::vector<Migration> m = {
      {1, "initial registry schema", R"sql(
CREATE TABLE principals(
  id TEXT PRIMARY KEY,
  department TEXT,
  key_prefix TEXT NOT NULL,
  key_sha256 TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE seal_keys(
  department TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','active','retired','revoked')),
  key_ref TEXT,
  algorithm TEXT,
  cert_der BLOB,
  chain_der BLOB,
  cert_sha256 TEXT,
  not_before INTEGER,
  not_after INTEGER,
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  retired_at INTEGER,
  revoked_at INTEGER,
  compromised_at INTEGER,
  reason TEXT,
  PRIMARY KEY (department, version)
);
-- One active version per department, enforced by the database itself (service.md).
CREATE UNIQUE INDEX seal_keys_one_active ON seal_keys(department) WHERE state = 'active';
-- Serial counters per (type, issuer): a serial is never derived from MAX() over rows that
-- might be deleted, so it is never reused.
CREATE TABLE serial_counters(
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (type_code, issuer_code)
);
CREATE TABLE licences(
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL,
  serial TEXT NOT NULL,
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  department TEXT NOT NULL,
  template TEXT NOT NULL,
  template_version TEXT NOT NULL,
  data_json TEXT NOT NULL,
  pdf_sha256 TEXT NOT NULL,
  pdf BLOB NOT NULL,
  qr_text TEXT NOT NULL,
  seal_version TEXT NOT NULL,
  seal_cert_sha256 TEXT NOT NULL,
  status_index INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  issued_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('valid','revoked')),
  revoked_at INTEGER,
  reason TEXT,
  audit_index INTEGER NOT NULL UNIQUE,
  UNIQUE (type_code, issuer_code, serial),
  UNIQUE (department, status_index)
);
CREATE INDEX licences_by_department ON licences(department, audit_index);
CREATE TABLE idempotency(
  principal TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight','done')),
  status_code INTEGER,
  response TEXT,
  licence_id TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE TABLE audit_log(
  idx INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  request_id TEXT NOT NULL,
  details_json TEXT NOT NULL,
  leaf_hash BLOB NOT NULL
);
CREATE TABLE audit_checkpoints(
  tree_size INTEGER PRIMARY KEY,
  root_hash BLOB NOT NULL,
  signed_note TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"},
      {2, "index licences by PDF hash (verification looks uploads up)",
       "CREATE INDEX licences_by_pdf_sha256 ON licences(pdf_sha256);"},
      // Verification looks a seal certificate up by its hash (PDF signer → key version). The
      // one-active-version rule is the partial UNIQUE index of migration 1 (PostgreSQL has the
      // same partial-index syntax).
      {3, "index seal key versions by certificate hash",
       "CREATE INDEX seal_keys_by_cert ON seal_keys(cert_sha256);"},
      // Issuance in two transactions with the render between them (issue 9, issuance.h): a
      // serial and status-list index are reserved here until the licence commits or the serial
      // is voided. Portable SQL (BIGINT is an INTEGER-affinity type name in SQLite), shared
      // verbatim with PostgreSQL. Rotations read MAX(issued_at) per department: licences no
      // longer commit in issue-time order.
      {4, "issuance reservations; index licences by department and issue time", R"sql(
CREATE TABLE reservations(
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  serial TEXT NOT NULL,
  department TEXT NOT NULL,
  template TEXT NOT NULL,
  status_index BIGINT NOT NULL,
  seal_version BIGINT,
  principal TEXT NOT NULL,
  request_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (type_code, issuer_code, serial),
  UNIQUE (department, status_index)
);
CREATE INDEX licences_by_department_issued_at ON licences(department, issued_at);
)sql"},
      // The TSA's last token time (libcert/tsa.h: genTime never goes backwards, across every
      // instance on this registry). One row; portable SQL shared with PostgreSQL.
      {5, "time-stamping authority clock state", R"sql(
CREATE TABLE tsa_clock(id BIGINT PRIMARY KEY CHECK (id = 1), last_time BIGINT NOT NULL);
INSERT INTO tsa_clock(id, last_time) VALUES (1, 0);
)sql"},
  };
  return m;
}

// A pooled connection, returned to the pool when the lease ends.
class SqliteStore::Lease {
 public:
  explicit Lease(SqliteStore& s) : s_(s), db_(s.acquire()) {}
  ~Lease() { s_.release(std::move(db_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  sql::Db& db() { return db_; }

 private:
  SqliteStore& s_;
  sql::Db db_;
};

namespace {

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::vector<std::string> split_scopes(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

constexpr const char* kPrincipalCols =
    "id, department, key_prefix, scopes, label, created_at, revoked_at";

Principal read_principal(const sql::Stmt& st) {
  Principal p;
  p.id = st.text(0);
  p.department = st.opt_text(1);
  p.key_prefix = st.text(2);
  p.scopes = split_scopes(st.text(3));
  p.label = st.text(4);
  p.created_at = st.int64(5);
  p.revoked_at = st.opt_int64(6);
  return p;
}

constexpr const char* kLicenceCols =
    "id, number, serial, type_code, issuer_code, department, template, template_version, "
    "data_json, pdf_sha256, qr_text, seal_version, seal_cert_sha256, status_index, issued_at, "
    "issued_by, status, revoked_at, reason, audit_index";

LicenceRecord read_licence(const sql::Stmt& st) {
  LicenceRecord r;
  r.id = st.text(0);
  r.number = st.text(1);
  r.serial = st.text(2);
  r.type_code = st.text(3);
  r.issuer_code = st.text(4);
  r.department = st.text(5);
  r.template_id = st.text(6);
  r.template_version = st.text(7);
  r.data_json = st.text(8);
  r.pdf_sha256 = st.text(9);
  r.qr_text = st.text(10);
  r.seal_version = st.text(11);
  r.seal_cert_sha256 = st.text(12);
  r.status_index = st.int64(13);
  r.issued_at = st.int64(14);
  r.issued_by = st.text(15);
  r.status = st.text(16);
  r.revoked_at = st.opt_int64(17);
  r.reason = st.opt_text(18);
  r.audit_index = st.int64(19);
  return r;
}

// Appends one audit row inside the caller's write transaction. The index is MAX+1: rows are never
// deleted and the write lock is held, so the sequence has no gap (RFC 6962 leaves are 0-based).
std::int64_t append_audit(sql::Db& db, std::int64_t ts, const Actor& by, const std::string& action,
                          const std::string& object, const nlohmann::json& details) {
  AuditRow row;
  {
    auto st = db.prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log");
    st.step();
    row.idx = st.int64(0);
  }
  row.ts = ts;
  row.principal = by.principal;
  row.action = action;
  row.object = object;
  row.request_id = by.request_id;
  row.details_json = details.dump();
  row.leaf_hash = audit_leaf_hash(row);
  auto ins = db.prepare(
      "INSERT INTO audit_log(idx, ts, principal, action, object, request_id, details_json, "
      "leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  ins.bind(1, row.idx)
      .bind(2, row.ts)
      .bind(3, row.principal)
      .bind(4, row.action)
      .bind(5, row.object)
      .bind(6, row.request_id)
      .bind(7, row.details_json)
      .bind_blob(8, row.leaf_hash);
  ins.run();
  return row.idx;
}

constexpr const char* kSealCols =
    "department, version, state, key_ref, algorithm, cert_der, chain_der, cert_sha256, "
    "not_before, not_after, created_at, activated_at, retired_at, revoked_at, compromised_at, "
    "reason";

SealKeyVersion read_seal(const sql::Stmt& st) {
  SealKeyVersion v;
  v.department = st.text(0);
  v.version = st.int64(1);
  v.state = st.text(2);
  v.key_ref = st.opt_text(3).value_or("");
  v.algorithm = st.opt_text(4).value_or("");
  v.cert_der = st.is_null(5) ? std::string() : st.blob(5);
  v.chain_der = st.is_null(6) ? std::string() : st.blob(6);
  v.cert_sha256 = st.opt_text(7).value_or("");
  v.not_before = st.opt_int64(8);
  v.not_after = st.opt_int64(9);
  v.created_at = st.int64(10);
  v.activated_at = st.opt_int64(11);
  v.retired_at = st.opt_int64(12);
  v.revoked_at = st.opt_int64(13);
  v.compromised_at = st.opt_int64(14);
  v.reason = st.opt_text(15);
  return v;
}

std::optional<SealKeyVersion> load_seal(sql::Db& db, const std::string& dept, std::int64_t ver) {
  auto st = db.prepare(std::string("SELECT ") + kSealCols +
                       " FROM seal_keys WHERE department = ?1 AND version = ?2");
  st.bind(1, dept).bind(2, ver);
  if (!st.step()) return std::nullopt;
  return read_seal(st);
}

SealKeyVersion need_seal(sql::Db& db, const std::string& dept, std::int64_t ver) {
  auto v = load_seal(db, dept, ver);
  if (!v) {
    throw libcert::Error(libcert::ErrorCode::kNotFound,
                         "seal key " + dept + " v" + std::to_string(ver) + ": no such version");
  }
  return *v;
}

std::string seal_name(const SealKeyVersion& v) {
  return "seal key " + v.department + " v" + std::to_string(v.version);
}

nlohmann::json seal_details(const SealKeyVersion& v) {
  nlohmann::json j = {{"department", v.department}, {"version", v.version}, {"state", v.state}};
  if (!v.cert_sha256.empty()) j["cert_sha256"] = v.cert_sha256;
  if (v.compromised_at) j["compromised_at"] = *v.compromised_at;
  return j;
}

std::string seal_object(const SealKeyVersion& v) {
  return "seal:" + v.department + "/" + std::to_string(v.version);
}

// The time a rotation takes effect: `now`, but never before the department's latest issue time.
// A rotation that waited for the write lock may hold an older `now`, and licences commit in
// whatever order their renders finish (issuance.h), so the latest issue time is MAX(issued_at),
// not the last committed row's; the old version's window must still cover every licence it
// sealed (a licence is committed only while its version is active), and the new version's must
// start no later than the first licence it seals.
std::int64_t rotation_time(sql::Db& db, const std::string& dept, std::int64_t now) {
  auto st = db.prepare("SELECT MAX(issued_at) FROM licences WHERE department = ?1");
  st.bind(1, dept);
  if (st.step() && !st.is_null(0)) return std::max(now, st.int64(0));
  return now;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, const StoreOptions& options)
    : path_(path), options_(options) {
  if (options_.rng == nullptr) {
    own_rng_ = std::make_unique<libcert::SystemRng>();
    rng_ = own_rng_.get();
  } else {
    rng_ = options_.rng;
  }
  if (options_.status_list_size < 8) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         "store.status_list_size: must be at least 8");
  }
  migrate();
}

SqliteStore::~SqliteStore() = default;

sql::Db SqliteStore::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      sql::Db db = std::move(pool_.back());
      pool_.pop_back();
      return db;
    }
  }
  return sql::Db::open(path_, options_.busy_timeout_ms,
                       options_.sqlite_vfs.empty() ? nullptr : options_.sqlite_vfs.c_str());
}

void SqliteStore::release(sql::Db db) {
  // A connection that hit READONLY/IOERR/FULL/CORRUPT may stay broken after the cause is gone
  // (opened read-only, a WAL index it could not map): close it; the next lease opens a fresh one.
  if (db.poisoned()) return;
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < options_.pool_size) pool_.push_back(std::move(db));
}

void SqliteStore::migrate() {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  {
    sql::Tx tx(db, sql::Tx::kImmediate);
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at INTEGER NOT NULL)");
    tx.commit();
  }
  for (const auto& m : sqlite_migrations()) {
    // Each migration in its own IMMEDIATE transaction, re-checked under the lock, so two
    // processes starting at once apply it exactly once.
    sql::Tx tx(db, sql::Tx::kImmediate);
    auto st = db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?1");
    st.bind(1, m.version);
    if (st.step()) continue;
    db.exec(m.sql);
    auto ins = db.prepare(
        "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?1, ?2, "
        "CAST(strftime('%s','now') AS INTEGER))");
    ins.bind(1, m.version).bind(2, m.name);
    ins.run();
    tx.commit();
  }
}

int SqliteStore::schema_version() {
  Lease l(*this);
  auto st = l.db().prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  st.step();
  return static_cast<int>(st.int64(0));
}

void SqliteStore::ping() {
  Lease l(*this);
  auto st = l.db().prepare("SELECT COUNT(*) FROM schema_migrations");
  st.step();
}

void SqliteStore::probe_writable() {
  // A fresh connection: a pooled one opened before the file became read-only still writes.
  sql::Db db = sql::Db::open(path_, options_.busy_timeout_ms,
                             options_.sqlite_vfs.empty() ? nullptr : options_.sqlite_vfs.c_str());
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  // Rewrites one row with its own value: a page goes to the WAL and is synced at COMMIT, so a
  // read-only file or a failing disk answers here, and the registry's content does not change.
  db.exec(
      "UPDATE schema_migrations SET name = name WHERE version = (SELECT MAX(version) FROM "
      "schema_migrations)");
  tx.commit();
  release(std::move(db));
}

std::optional<std::int64_t> SqliteStore::last_issued_at(
    const std::optional<std::string>& department) {
  Lease l(*this);
  auto st = l.db().prepare(
      "SELECT MAX(issued_at) FROM licences WHERE ?1 IS NULL OR department = ?1");
  st.bind(1, department);
  if (!st.step()) return std::nullopt;
  return st.opt_int64(0);
}

bool SqliteStore::advance_tsa_clock(std::int64_t t, std::int64_t& last) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto up = db.prepare("UPDATE tsa_clock SET last_time = ?1 WHERE id = 1 AND last_time <= ?1");
  up.bind(1, t);
  up.run();
  const bool moved = db.changes() == 1;
  if (!moved) {
    auto st = db.prepare("SELECT last_time FROM tsa_clock WHERE id = 1");
    if (st.step()) last = st.int64(0);
  }
  tx.commit();
  return moved;
}

// ---- principals ------------------------------------------------------------------------------

Principal SqliteStore::create_principal(const NewPrincipal& np, std::int64_t now, const Actor& by) {
  Principal p;
  p.id = "p_" + np.key_sha256.substr(0, 16);
  p.department = np.department;
  p.key_prefix = np.key_prefix;
  p.scopes = np.scopes;
  p.label = np.label;
  p.created_at = now;
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto st = db.prepare(
      "INSERT INTO principals(id, department, key_prefix, key_sha256, scopes, label, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st.bind(1, p.id)
      .bind(2, p.department)
      .bind(3, p.key_prefix)
      .bind(4, np.key_sha256)
      .bind(5, join_scopes(p.scopes))
      .bind(6, p.label)
      .bind(7, now);
  st.run();
  append_audit(db, now, by, "principal.create", p.id,
               {{"department", p.department ? nlohmann::json(*p.department) : nlohmann::json()},
                {"scopes", p.scopes},
                {"key_prefix", p.key_prefix}});
  tx.commit();
  return p;
}

std::optional<Principal> SqliteStore::find_principal(const std::string& key_sha256) {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kPrincipalCols +
                           " FROM principals WHERE key_sha256 = ?1");
  st.bind(1, key_sha256);
  if (!st.step()) return std::nullopt;
  return read_principal(st);
}

std::vector<Principal> SqliteStore::list_principals() {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kPrincipalCols +
                           " FROM principals ORDER BY created_at, id");
  std::vector<Principal> out;
  while (st.step()) out.push_back(read_principal(st));
  return out;
}

bool SqliteStore::revoke_principal(const std::string& id, std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto st = db.prepare("SELECT revoked_at FROM principals WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return false;
  if (!st.is_null(0)) return true;  // already revoked: keep the first time, write nothing
  auto up = db.prepare("UPDATE principals SET revoked_at = ?1 WHERE id = ?2");
  up.bind(1, now).bind(2, id);
  up.run();
  append_audit(db, now, by, "principal.revoke", id, nlohmann::json::object());
  tx.commit();
  return true;
}

// ---- idempotency -----------------------------------------------------------------------------

IdempotencyBegin SqliteStore::begin_idempotent(const IdempotencyRef& ref,
                                               const std::string& request_sha256, std::int64_t now,
                                               std::int64_t lease_seconds) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto st = db.prepare(
      "SELECT request_sha256, state, status_code, response, created_at FROM idempotency "
      "WHERE principal = ?1 AND key = ?2");
  st.bind(1, ref.principal).bind(2, ref.key);
  IdempotencyBegin out;
  if (st.step()) {
    if (st.text(0) != request_sha256) {
      out.kind = IdempotencyBegin::kMismatch;
      return out;
    }
    if (st.text(1) == "done") {
      out.kind = IdempotencyBegin::kReplay;
      out.status_code = static_cast<int>(st.int64(2));
      out.response = st.text(3);
      return out;
    }
    if (now - st.int64(4) < lease_seconds) {
      out.kind = IdempotencyBegin::kInFlight;
      return out;
    }
    // The owner of this in-flight key died (crash, kill -9) without finishing: take it over.
    auto up =
        db.prepare("UPDATE idempotency SET created_at = ?3 WHERE principal = ?1 AND key = ?2");
    up.bind(1, ref.principal).bind(2, ref.key).bind(3, now);
    up.run();
  } else {
    auto ins = db.prepare(
        "INSERT INTO idempotency(principal, key, request_sha256, state, created_at) "
        "VALUES (?1, ?2, ?3, 'in_flight', ?4)");
    ins.bind(1, ref.principal).bind(2, ref.key).bind(3, request_sha256).bind(4, now);
    ins.run();
  }
  tx.commit();
  out.kind = IdempotencyBegin::kStarted;
  return out;
}

void SqliteStore::finish_idempotent(const IdempotencyRef& ref, int status,
                                    const std::string& response) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto up = db.prepare(
      "UPDATE idempotency SET state = 'done', status_code = ?3, response = ?4 "
      "WHERE principal = ?1 AND key = ?2 AND state = 'in_flight'");
  up.bind(1, ref.principal).bind(2, ref.key).bind(3, status).bind(4, response);
  up.run();
  tx.commit();
}

void SqliteStore::abandon_idempotent(const IdempotencyRef& ref) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto del = db.prepare(
      "DELETE FROM idempotency WHERE principal = ?1 AND key = ?2 AND state = 'in_flight'");
  del.bind(1, ref.principal).bind(2, ref.key);
  del.run();
  tx.commit();
}

// ---- licences --------------------------------------------------------------------------------

namespace {

constexpr const char* kReservationCols =
    "type_code, issuer_code, serial, department, template, status_index, seal_version, "
    "principal, request_id, created_at";

detail::Reservation read_reservation(const sql::Stmt& st) {
  detail::Reservation r;
  r.type_code = st.text(0);
  r.issuer_code = st.text(1);
  r.serial = st.text(2);
  r.department = st.text(3);
  r.template_id = st.text(4);
  r.status_index = st.int64(5);
  r.seal_version = st.opt_int64(6);
  r.principal = st.text(7);
  r.request_id = st.text(8);
  r.created_at = st.int64(9);
  return r;
}

// Deletes one reservation and appends its licence.void row, inside the caller's write
// transaction. false (nothing written) if it no longer exists: committed, or already voided.
bool void_reservation(sql::Db& db, const detail::Reservation& r, const nlohmann::json& why,
                      std::int64_t now, const Actor& by) {
  auto del = db.prepare(
      "DELETE FROM reservations WHERE type_code = ?1 AND issuer_code = ?2 AND serial = ?3");
  del.bind(1, r.type_code).bind(2, r.issuer_code).bind(3, r.serial);
  del.run();
  if (db.changes() != 1) return false;
  append_audit(db, now, by, "licence.void", detail::void_object(r), detail::void_details(r, why));
  return true;
}

// Voids the reservations created at or before now - lease (their issuer died between reserve and
// commit), inside the caller's write transaction.
std::int64_t void_abandoned(sql::Db& db, std::int64_t now, std::int64_t lease) {
  std::vector<detail::Reservation> old;
  {
    auto st = db.prepare(std::string("SELECT ") + kReservationCols +
                         " FROM reservations WHERE created_at <= ?1 ORDER BY created_at, "
                         "type_code, issuer_code, serial");
    st.bind(1, now - lease);
    while (st.step()) old.push_back(read_reservation(st));
  }
  std::int64_t n = 0;
  for (const auto& r : old) {
    if (void_reservation(db, r, {{"reason", "abandoned"}, {"lease_s", lease}}, now,
                         {"certd", ""})) {
      ++n;
    }
  }
  return n;
}

std::optional<SealKeyVersion> active_seal_version(sql::Db& db, const std::string& dept) {
  auto st = db.prepare(std::string("SELECT ") + kSealCols +
                       " FROM seal_keys WHERE department = ?1 AND state = 'active'");
  st.bind(1, dept);
  if (st.step()) return read_seal(st);
  return std::nullopt;
}

// Marks `v` retired at `now` (row and struct), inside the caller's write transaction.
void retire_version(sql::Db& db, SealKeyVersion& v, std::int64_t now) {
  auto up = db.prepare(
      "UPDATE seal_keys SET state = 'retired', retired_at = ?3 WHERE department = ?1 AND "
      "version = ?2");
  up.bind(1, v.department).bind(2, v.version).bind(3, now);
  up.run();
  v.state = "retired";
  v.retired_at = now;
}

}  // namespace

LicenceRecord SqliteStore::issue(const IssueContext& ctx,
                                 const std::function<Rendered(const Allocation&)>& render) {
  detail::IssueSteps steps;
  steps.reserve = [&] { return reserve(ctx); };
  steps.commit = [&](const Allocation& a, const Rendered& r) { return commit_issue(ctx, a, r); };
  steps.release = [&](const Allocation& a, const nlohmann::json& why) {
    release_reservation(detail::reservation_of(ctx, a), why, ctx.now, ctx.actor);
  };
  return detail::run_issuance(steps, ctx, render);
}

std::int64_t SqliteStore::void_abandoned_reservations(std::int64_t now) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  const std::int64_t n = void_abandoned(db, now, options_.reservation_lease_s);
  tx.commit();
  return n;
}

Allocation SqliteStore::reserve(const IssueContext& ctx) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  // Lazily: a crashed issuer's reservations must not wait for the next restart to be accounted.
  void_abandoned(db, ctx.now, options_.reservation_lease_s);

  Allocation a;
  // Read under the write lock; checked again at commit (the render runs without the lock, so a
  // rotation may commit in between).
  a.seal = active_seal_version(db, ctx.department);
  if (ctx.check_seal) ctx.check_seal(a.seal);  // refusals burn no serial
  {
    // The counter row is created on first use and incremented in this transaction; the serial is
    // consumed from here on: it ends as a licence or a licence.void row, never handed out again.
    auto st = db.prepare(
        "INSERT INTO serial_counters(type_code, issuer_code, last) VALUES (?1, ?2, 1) "
        "ON CONFLICT(type_code, issuer_code) DO UPDATE SET last = last + 1 RETURNING last");
    st.bind(1, ctx.type_code).bind(2, ctx.issuer_code);
    st.step();
    const std::int64_t n = st.int64(0);
    st.run();
    a.serial = detail::format_serial(ctx.now, n);
  }
  {
    // Random status-list index (qr.md: random allocation, so an index says nothing about issue
    // order or volume), unique per department among licences and open reservations; retry on
    // collision.
    const auto size = static_cast<std::uint64_t>(options_.status_list_size);
    const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % size);  // rejection sampling: no bias
    auto probe = db.prepare(
        "SELECT 1 FROM licences WHERE department = ?1 AND status_index = ?2 UNION ALL "
        "SELECT 1 FROM reservations WHERE department = ?1 AND status_index = ?2");
    bool found = false;
    for (int attempt = 0; attempt < 256 && !found; ++attempt) {
      std::uint64_t v = 0;
      do {
        std::uint8_t b[8];
        rng_->fill(b);
        v = 0;
        for (std::uint8_t x : b) v = (v << 8) | x;
      } while (v >= limit);
      a.status_index = static_cast<std::int64_t>(v % size);
      probe.reset();
      probe.bind(1, ctx.department).bind(2, a.status_index);
      found = !probe.step();
    }
    if (!found) {
      throw RegistryError(RegistryError::Code::kExhausted, "status list of department " + ctx.department +
                                        " is too full: no free index after 256 draws");
    }
  }
  const detail::Reservation r = detail::reservation_of(ctx, a);
  auto ins = db.prepare(std::string("INSERT INTO reservations(") + kReservationCols +
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  ins.bind(1, r.type_code)
      .bind(2, r.issuer_code)
      .bind(3, r.serial)
      .bind(4, r.department)
      .bind(5, r.template_id)
      .bind(6, r.status_index)
      .bind(7, r.seal_version)
      .bind(8, r.principal)
      .bind(9, r.request_id)
      .bind(10, r.created_at);
  ins.run();
  tx.commit();
  return a;
}

detail::CommitResult SqliteStore::commit_issue(const IssueContext& ctx, const Allocation& a,
                                               const Rendered& r) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  detail::CommitResult out;
  {
    // The version sealed with must still be the active one now, under the write lock: every
    // licence committed before an activation carries the old version (whose window
    // rotation_time() stretches over its issue time), every one after it the new version.
    auto now_active = active_seal_version(db, ctx.department);
    if (!detail::same_seal(a.seal, now_active)) {
      out.active_now = std::move(now_active);
      return out;  // nothing written; run_issuance renders again
    }
  }
  {
    auto del = db.prepare(
        "DELETE FROM reservations WHERE type_code = ?1 AND issuer_code = ?2 AND serial = ?3");
    del.bind(1, ctx.type_code).bind(2, ctx.issuer_code).bind(3, a.serial);
    del.run();
    if (db.changes() != 1) {
      // Voided as abandoned (this issuance outlived the lease): the serial is a licence.void row
      // already, so it must not become a licence as well.
      throw RegistryError(RegistryError::Code::kBusy, "the reservation of serial " + a.serial +
                                        " expired (older than " +
                                        std::to_string(options_.reservation_lease_s) +
                                        " s) and was voided; nothing was issued, retry");
    }
  }

  LicenceRecord& rec = out.record;
  rec.id = r.id;
  rec.number = r.number;
  rec.serial = a.serial;
  rec.type_code = ctx.type_code;
  rec.issuer_code = ctx.issuer_code;
  rec.department = ctx.department;
  rec.template_id = ctx.template_id;
  rec.template_version = r.template_version;
  rec.data_json = r.data_json;
  rec.pdf_sha256 = r.pdf_sha256;
  rec.qr_text = r.qr_text;
  rec.seal_version = r.seal_version;
  rec.seal_cert_sha256 = r.seal_cert_sha256;
  rec.status_index = a.status_index;
  rec.issued_at = r.issued_at;
  rec.issued_by = ctx.actor.principal;
  rec.status = "valid";
  rec.audit_index = append_audit(db, ctx.now, ctx.actor, "licence.issue", rec.id,
                                 {{"template", rec.template_id},
                                  {"department", rec.department},
                                  {"serial", rec.serial},
                                  {"status_index", rec.status_index},
                                  {"pdf_sha256", rec.pdf_sha256},
                                  {"seal_version", rec.seal_version}});
  auto ins = db.prepare(
      "INSERT INTO licences(id, number, serial, type_code, issuer_code, department, template, "
      "template_version, data_json, pdf_sha256, pdf, qr_text, seal_version, seal_cert_sha256, "
      "status_index, issued_at, issued_by, status, audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
      "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 'valid', ?18)");
  ins.bind(1, rec.id)
      .bind(2, rec.number)
      .bind(3, rec.serial)
      .bind(4, rec.type_code)
      .bind(5, rec.issuer_code)
      .bind(6, rec.department)
      .bind(7, rec.template_id)
      .bind(8, rec.template_version)
      .bind(9, rec.data_json)
      .bind(10, rec.pdf_sha256)
      .bind_blob(11, r.pdf)
      .bind(12, rec.qr_text)
      .bind(13, rec.seal_version)
      .bind(14, rec.seal_cert_sha256)
      .bind(15, rec.status_index)
      .bind(16, rec.issued_at)
      .bind(17, rec.issued_by)
      .bind(18, rec.audit_index);
  ins.run();
  if (ctx.idempotency) {
    const auto [status, body] = ctx.response ? ctx.response(rec) : std::pair<int, std::string>{};
    auto up = db.prepare(
        "UPDATE idempotency SET state = 'done', status_code = ?3, response = ?4, licence_id = ?5 "
        "WHERE principal = ?1 AND key = ?2 AND state = 'in_flight'");
    up.bind(1, ctx.idempotency->principal)
        .bind(2, ctx.idempotency->key)
        .bind(3, status)
        .bind(4, body)
        .bind(5, rec.id);
    up.run();
    if (db.changes() != 1) {
      // Someone took the key over (our lease expired): do not create a second licence for it.
      throw RegistryError(RegistryError::Code::kConflict,
                       "idempotency key is no longer held by this request; nothing was issued");
    }
  }
  tx.commit();
  rec.pdf = r.pdf;
  out.committed = true;
  return out;
}

void SqliteStore::release_reservation(const detail::Reservation& r, const nlohmann::json& why,
                                      std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  if (void_reservation(db, r, why, now, by)) tx.commit();
}

std::optional<LicenceRecord> SqliteStore::get_licence(const std::string& id, bool with_pdf) {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kLicenceCols +
                           ", CASE WHEN ?2 THEN pdf END FROM licences WHERE id = ?1");
  st.bind(1, id).bind(2, with_pdf ? 1 : 0);
  if (!st.step()) return std::nullopt;
  LicenceRecord r = read_licence(st);
  if (with_pdf) r.pdf = st.blob(20);
  return r;
}

ListPage SqliteStore::list_licences(const ListQuery& q) {
  std::string sqlq = std::string("SELECT ") + kLicenceCols + " FROM licences WHERE 1";
  if (q.department) sqlq += " AND department = ?1";
  if (q.status) sqlq += " AND status = ?2";
  if (q.template_id) sqlq += " AND template = ?3";
  if (q.issued_after) sqlq += " AND issued_at > ?4";
  if (q.before_audit_index) sqlq += " AND audit_index < ?5";
  // Keyset pagination on the unique audit_index (issue order): no OFFSET, stable under inserts.
  sqlq += " ORDER BY audit_index DESC LIMIT ?6";
  Lease l(*this);
  auto st = l.db().prepare(sqlq);
  if (q.department) st.bind(1, *q.department);
  if (q.status) st.bind(2, *q.status);
  if (q.template_id) st.bind(3, *q.template_id);
  if (q.issued_after) st.bind(4, *q.issued_after);
  if (q.before_audit_index) st.bind(5, *q.before_audit_index);
  st.bind(6, static_cast<std::int64_t>(q.limit) + 1);
  ListPage page;
  while (st.step()) page.items.push_back(read_licence(st));
  if (page.items.size() > static_cast<std::size_t>(q.limit)) {
    page.items.pop_back();
    page.next_before = page.items.back().audit_index;
  }
  return page;
}

std::optional<LicenceRecord> SqliteStore::find_licence_by_pdf(const std::string& pdf_sha256) {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kLicenceCols +
                           " FROM licences WHERE pdf_sha256 = ?1 ORDER BY audit_index LIMIT 1");
  st.bind(1, pdf_sha256);
  if (!st.step()) return std::nullopt;
  return read_licence(st);
}

std::optional<RevokeResult> SqliteStore::revoke_licence(const std::string& id,
                                                        const std::string& reason, std::int64_t now,
                                                        const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto st = db.prepare(std::string("SELECT ") + kLicenceCols + " FROM licences WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  RevokeResult out;
  out.record = read_licence(st);
  if (out.record.status == "revoked") return out;  // idempotent: nothing written
  auto up = db.prepare(
      "UPDATE licences SET status = 'revoked', revoked_at = ?2, reason = ?3 WHERE id = ?1");
  up.bind(1, id).bind(2, now).bind(3, reason);
  up.run();
  append_audit(db, now, by, "licence.revoke", id,
               {{"department", out.record.department}, {"reason_sha256", sha256_hex(reason)}});
  tx.commit();
  out.record.status = "revoked";
  out.record.revoked_at = now;
  out.record.reason = reason;
  out.changed = true;
  return out;
}

std::int64_t SqliteStore::count_licences() {
  Lease l(*this);
  auto st = l.db().prepare("SELECT COUNT(*) FROM licences");
  st.step();
  return st.int64(0);
}

// ---- seal key versions -----------------------------------------------------------------------

SealKeyVersion SqliteStore::create_seal_key(const std::string& department,
                                            const std::string& key_ref,
                                            const std::string& algorithm, std::int64_t now,
                                            const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion v;
  {
    auto st =
        db.prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM seal_keys WHERE department = ?1");
    st.bind(1, department);
    st.step();
    v.version = st.int64(0);
  }
  v.department = department;
  v.state = "pending";
  v.key_ref = key_ref;
  v.algorithm = algorithm;
  v.created_at = now;
  auto ins = db.prepare(
      "INSERT INTO seal_keys(department, version, state, key_ref, algorithm, created_at) "
      "VALUES (?1, ?2, 'pending', ?3, ?4, ?5)");
  ins.bind(1, department).bind(2, v.version).bind(3, key_ref).bind(4, algorithm).bind(5, now);
  ins.run();
  append_audit(db, now, by, "seal.create", seal_object(v), seal_details(v));
  tx.commit();
  return v;
}

SealKeyVersion SqliteStore::install_seal_certificate(
    const std::string& department, std::int64_t version, const std::string& cert_der,
    const std::string& chain_der, std::int64_t not_before, std::int64_t not_after, std::int64_t now,
    const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion v = need_seal(db, department, version);
  if (v.state != "pending" || !v.cert_der.empty()) {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         (v.cert_der.empty() ? "" : " with a certificate installed") +
                         ": a certificate can be installed only once, on a pending version");
  }
  v.cert_der = cert_der;
  v.chain_der = chain_der;
  v.cert_sha256 = sha256_hex(cert_der);
  v.not_before = not_before;
  v.not_after = not_after;
  auto up = db.prepare(
      "UPDATE seal_keys SET cert_der = ?3, chain_der = ?4, cert_sha256 = ?5, not_before = ?6, "
      "not_after = ?7 WHERE department = ?1 AND version = ?2");
  up.bind(1, department)
      .bind(2, version)
      .bind_blob(3, cert_der)
      .bind_blob(4, chain_der)
      .bind(5, v.cert_sha256)
      .bind(6, not_before)
      .bind(7, not_after);
  up.run();
  auto d = seal_details(v);
  d["not_before"] = not_before;
  d["not_after"] = not_after;
  append_audit(db, now, by, "seal.install", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion SqliteStore::activate_seal_key(const std::string& department, std::int64_t version,
                                              std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion v = need_seal(db, department, version);
  now = rotation_time(db, department, now);
  if (v.state != "pending") {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         ": only a pending version can be activated");
  }
  if (v.cert_der.empty()) {
    throw SealStateError(seal_name(v) + " has no certificate: install it before activating");
  }
  // Retire the current active version first, then activate: both in this transaction, so no
  // reader ever sees zero or two active versions (the partial UNIQUE index would refuse two).
  std::optional<SealKeyVersion> old = active_seal_version(db, department);
  if (old) {
    retire_version(db, *old, now);
    auto d = seal_details(*old);
    d["replaced_by"] = version;
    append_audit(db, now, by, "seal.retire", seal_object(*old), d);
  }
  auto up = db.prepare(
      "UPDATE seal_keys SET state = 'active', activated_at = ?3 WHERE department = ?1 AND "
      "version = ?2");
  up.bind(1, department).bind(2, version).bind(3, now);
  up.run();
  v.state = "active";
  v.activated_at = now;
  auto d = seal_details(v);
  if (old) d["replaces"] = old->version;
  append_audit(db, now, by, "seal.activate", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion SqliteStore::retire_seal_key(const std::string& department, std::int64_t version,
                                            std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion v = need_seal(db, department, version);
  now = rotation_time(db, department, now);
  if (v.state != "active") {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         ": only the active version can be retired");
  }
  retire_version(db, v, now);
  append_audit(db, now, by, "seal.retire", seal_object(v), seal_details(v));
  tx.commit();
  return v;
}

SealKeyVersion SqliteStore::revoke_seal_key(const std::string& department, std::int64_t version,
                                            std::int64_t compromised_at, const std::string& reason,
                                            std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion v = need_seal(db, department, version);
  if (v.state == "revoked") {
    throw SealStateError(seal_name(v) + " is already revoked (compromised at " +
                         std::to_string(v.compromised_at.value_or(0)) +
                         "); the compromise time is never moved");
  }
  auto up = db.prepare(
      "UPDATE seal_keys SET state = 'revoked', revoked_at = ?3, compromised_at = ?4, reason = ?5 "
      "WHERE department = ?1 AND version = ?2");
  up.bind(1, department).bind(2, version).bind(3, now).bind(4, compromised_at).bind(5, reason);
  up.run();
  const std::string before = v.state;
  v.state = "revoked";
  v.revoked_at = now;
  v.compromised_at = compromised_at;
  v.reason = reason;
  auto d = seal_details(v);
  d["previous_state"] = before;
  d["reason_sha256"] = sha256_hex(reason);
  append_audit(db, now, by, "seal.revoke", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion SqliteStore::import_seal_key(const SealKeyVersion& v, std::int64_t now,
                                            const Actor& by) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  SealKeyVersion out = v;
  if (!out.cert_der.empty()) out.cert_sha256 = sha256_hex(out.cert_der);
  auto ins = db.prepare(std::string("INSERT INTO seal_keys(") + kSealCols +
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                        "?15, ?16)");
  ins.bind(1, out.department).bind(2, out.version).bind(3, out.state).bind(4, out.key_ref);
  ins.bind(5, out.algorithm);
  if (out.cert_der.empty()) {
    ins.bind_null(6).bind_null(8);
  } else {
    ins.bind_blob(6, out.cert_der).bind(8, out.cert_sha256);
  }
  ins.bind_blob(7, out.chain_der);
  ins.bind(9, out.not_before).bind(10, out.not_after).bind(11, out.created_at);
  ins.bind(12, out.activated_at).bind(13, out.retired_at).bind(14, out.revoked_at);
  ins.bind(15, out.compromised_at).bind(16, out.reason);
  ins.run();  // a second active version of the department: the partial UNIQUE index refuses it
  append_audit(db, now, by, "seal.import", seal_object(out), seal_details(out));
  tx.commit();
  return out;
}

std::vector<SealKeyVersion> SqliteStore::list_seal_keys(
    const std::optional<std::string>& department) {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kSealCols +
                           " FROM seal_keys WHERE ?1 IS NULL OR department = ?1 "
                           "ORDER BY department, version");
  st.bind(1, department);
  std::vector<SealKeyVersion> out;
  while (st.step()) out.push_back(read_seal(st));
  return out;
}

std::optional<SealKeyVersion> SqliteStore::get_seal_key(const std::string& department,
                                                        std::int64_t version) {
  Lease l(*this);
  return load_seal(l.db(), department, version);
}

std::optional<SealKeyVersion> SqliteStore::find_seal_key_by_cert(const std::string& cert_sha256) {
  Lease l(*this);
  auto st = l.db().prepare(std::string("SELECT ") + kSealCols +
                           " FROM seal_keys WHERE cert_sha256 = ?1 ORDER BY version LIMIT 1");
  st.bind(1, cert_sha256);
  if (!st.step()) return std::nullopt;
  return read_seal(st);
}

// ---- audit -----------------------------------------------------------------------------------

std::int64_t SqliteStore::record_event(const std::string& action, const std::string& object,
                                       const std::string& details_json, std::int64_t now,
                                       const Actor& by) {
  auto details = nlohmann::json::parse(details_json, nullptr, false);
  if (details.is_discarded()) details = nlohmann::json::object();
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  const std::int64_t idx = append_audit(db, now, by, action, object, details);
  tx.commit();
  return idx;
}

void SqliteStore::add_audit_checkpoint(const AuditCheckpointRow& c) {
  Lease l(*this);
  auto& db = l.db();
  std::lock_guard w(write_mu_);
  sql::Tx tx(db, sql::Tx::kImmediate);
  auto ins = db.prepare(
      "INSERT INTO audit_checkpoints(tree_size, root_hash, signed_note, created_at) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(tree_size) DO NOTHING");
  ins.bind(1, c.tree_size).bind_blob(2, c.root_hash).bind(3, c.signed_note).bind(4, c.created_at);
  ins.run();
  tx.commit();
}

std::vector<AuditCheckpointRow> SqliteStore::audit_checkpoints() {
  Lease l(*this);
  auto st = l.db().prepare(
      "SELECT tree_size, root_hash, signed_note, created_at FROM audit_checkpoints "
      "ORDER BY tree_size");
  std::vector<AuditCheckpointRow> out;
  while (st.step()) {
    out.push_back({st.int64(0), st.blob(1), st.text(2), st.int64(3)});
  }
  return out;
}

std::int64_t SqliteStore::audit_size() {
  Lease l(*this);
  auto st = l.db().prepare("SELECT COUNT(*) FROM audit_log");
  st.step();
  return st.int64(0);
}

std::vector<AuditRow> SqliteStore::audit_entries(std::int64_t from_idx, std::int64_t count) {
  Lease l(*this);
  auto st = l.db().prepare(
      "SELECT idx, ts, principal, action, object, request_id, details_json, leaf_hash "
      "FROM audit_log WHERE idx >= ?1 ORDER BY idx LIMIT ?2");
  st.bind(1, from_idx).bind(2, count);
  std::vector<AuditRow> out;
  while (st.step()) {
    AuditRow r;
    r.idx = st.int64(0);
    r.ts = st.int64(1);
    r.principal = st.text(2);
    r.action = st.text(3);
    r.object = st.text(4);
    r.request_id = st.text(5);
    r.details_json = st.text(6);
    r.leaf_hash = st.blob(7);
    out.push_back(std::move(r));
  }
  return out;
}

std::unique_ptr<Store> open_store(const std::string& location, const StoreOptions& options) {
  // A libpq connection URI selects the shared PostgreSQL registry (issue 11, pg_store.h).
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0) {
    return std::make_unique<PgStore>(location, options);
  }
  if (location.empty()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument, "store: path is empty");
  }
  return std::make_unique<SqliteStore>(location, options);
}

}  // namespace certd
