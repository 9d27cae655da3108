#include "pg_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libcert/error.h"

namespace certd {

const std::vector<Migration>& pg_migrations() {
  // Migration 1 in the PostgreSQL dialect (64-bit integers are BIGINT, blobs BYTEA); the later
  // ones are portable SQL (CREATE INDEX; migration 4's reservations table uses BIGINT and TEXT
  // only) and are shared verbatim with SQLite, so the two lists cannot drift apart. Never edit a
  // shipped migration: add a numbered one to sqlite_migrations() (portable) or to both lists.
  static const std::vector<Migration> m = [] {
    std::vector<Migration> v = {{1, "initial registry schema", R"sql(
CREATE TABLE principals(
  id TEXT PRIMARY KEY,
  department TEXT,
  key_prefix TEXT NOT NULL,
  key_sha256 TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE seal_keys(
  department TEXT NOT NULL,
  version BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','active','retired','revoked')),
  key_ref TEXT,
  algorithm TEXT,
  cert_der BYTEA,
  chain_der BYTEA,
  cert_sha256 TEXT,
  not_before BIGINT,
  not_after BIGINT,
  created_at BIGINT NOT NULL,
  activated_at BIGINT,
  retired_at BIGINT,
  revoked_at BIGINT,
  compromised_at BIGINT,
  reason TEXT,
  PRIMARY KEY (department, version)
);
CREATE UNIQUE INDEX seal_keys_one_active ON seal_keys(department) WHERE state = 'active';
CREATE TABLE serial_counters(
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  last BIGINT NOT NULL,
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
  pdf BYTEA NOT NULL,
  qr_text TEXT NOT NULL,
  seal_version TEXT NOT NULL,
  seal_cert_sha256 TEXT NOT NULL,
  status_index BIGINT NOT NULL,
  issued_at BIGINT NOT NULL,
  issued_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('valid','revoked')),
  revoked_at BIGINT,
  reason TEXT,
  audit_index BIGINT NOT NULL UNIQUE,
  UNIQUE (type_code, issuer_code, serial),
  UNIQUE (department, status_index)
);
CREATE INDEX licences_by_department ON licences(department, audit_index);
CREATE TABLE idempotency(
  principal TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight','done')),
  status_code BIGINT,
  response TEXT,
  licence_id TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE TABLE audit_log(
  idx BIGINT PRIMARY KEY,
  ts BIGINT NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  request_id TEXT NOT NULL,
  details_json TEXT NOT NULL,
  leaf_hash BYTEA NOT NULL
);
CREATE TABLE audit_checkpoints(
  tree_size BIGINT PRIMARY KEY,
  root_hash BYTEA NOT NULL,
  signed_note TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"}};
    for (const auto& s : sqlite_migrations()) {
      if (s.version > 1) v.push_back(s);  // portable SQL
    }
    return v;
  }();
  return m;
}

class PgStore::Lease {
 public:
  explicit Lease(PgStore& s) : s_(s), c_(s.acquire()) {}
  ~Lease() { s_.release(std::move(c_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  pg::Conn& c() { return c_; }

 private:
  PgStore& s_;
  pg::Conn c_;
};

namespace {

using pg::Param;

// BEGIN + the registry write lock (released by COMMIT/ROLLBACK): PostgreSQL's counterpart of
// SQLite's BEGIN IMMEDIATE, held by one transaction in the whole cluster of certd instances.
void lock_writes(pg::Conn& c) {
  c.exec_params("SELECT pg_advisory_xact_lock($1)", {Param(kRegistryWriteLock)});
}

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

Principal read_principal(const pg::Result& r, int i) {
  Principal p;
  p.id = r.text(i, 0);
  p.department = r.opt_text(i, 1);
  p.key_prefix = r.text(i, 2);
  p.scopes = split_scopes(r.text(i, 3));
  p.label = r.text(i, 4);
  p.created_at = r.int64(i, 5);
  p.revoked_at = r.opt_int64(i, 6);
  return p;
}

constexpr const char* kLicenceCols =
    "id, number, serial, type_code, issuer_code, department, template, template_version, "
    "data_json, pdf_sha256, qr_text, seal_version, seal_cert_sha256, status_index, issued_at, "
    "issued_by, status, revoked_at, reason, audit_index";

LicenceRecord read_licence(const pg::Result& st, int i) {
  LicenceRecord r;
  r.id = st.text(i, 0);
  r.number = st.text(i, 1);
  r.serial = st.text(i, 2);
  r.type_code = st.text(i, 3);
  r.issuer_code = st.text(i, 4);
  r.department = st.text(i, 5);
  r.template_id = st.text(i, 6);
  r.template_version = st.text(i, 7);
  r.data_json = st.text(i, 8);
  r.pdf_sha256 = st.text(i, 9);
  r.qr_text = st.text(i, 10);
  r.seal_version = st.text(i, 11);
  r.seal_cert_sha256 = st.text(i, 12);
  r.status_index = st.int64(i, 13);
  r.issued_at = st.int64(i, 14);
  r.issued_by = st.text(i, 15);
  r.status = st.text(i, 16);
  r.revoked_at = st.opt_int64(i, 17);
  r.reason = st.opt_text(i, 18);
  r.audit_index = st.int64(i, 19);
  return r;
}

// Appends one audit row; the caller holds kRegistryWriteLock, so MAX+1 is gap-free across every
// instance (rows are never deleted; the PRIMARY KEY is the backstop).
std::int64_t append_audit(pg::Conn& c, std::int64_t ts, const Actor& by, const std::string& action,
                          const std::string& object, const nlohmann::json& details) {
  AuditRow row;
  row.idx = c.exec_params("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").int64(0, 0);
  row.ts = ts;
  row.principal = by.principal;
  row.action = action;
  row.object = object;
  row.request_id = by.request_id;
  row.details_json = details.dump();
  row.leaf_hash = audit_leaf_hash(row);
  c.exec_params(
      "INSERT INTO audit_log(idx, ts, principal, action, object, request_id, details_json, "
      "leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {Param(row.idx), Param(row.ts), Param(row.principal), Param(row.action), Param(row.object),
       Param(row.request_id), Param(row.details_json), Param::blob(row.leaf_hash)});
  return row.idx;
}

constexpr const char* kSealCols =
    "department, version, state, key_ref, algorithm, cert_der, chain_der, cert_sha256, "
    "not_before, not_after, created_at, activated_at, retired_at, revoked_at, compromised_at, "
    "reason";

SealKeyVersion read_seal(const pg::Result& st, int i) {
  SealKeyVersion v;
  v.department = st.text(i, 0);
  v.version = st.int64(i, 1);
  v.state = st.text(i, 2);
  v.key_ref = st.opt_text(i, 3).value_or("");
  v.algorithm = st.opt_text(i, 4).value_or("");
  v.cert_der = st.blob(i, 5);
  v.chain_der = st.blob(i, 6);
  v.cert_sha256 = st.opt_text(i, 7).value_or("");
  v.not_before = st.opt_int64(i, 8);
  v.not_after = st.opt_int64(i, 9);
  v.created_at = st.int64(i, 10);
  v.activated_at = st.opt_int64(i, 11);
  v.retired_at = st.opt_int64(i, 12);
  v.revoked_at = st.opt_int64(i, 13);
  v.compromised_at = st.opt_int64(i, 14);
  v.reason = st.opt_text(i, 15);
  return v;
}

std::optional<SealKeyVersion> load_seal(pg::Conn& c, const std::string& dept, std::int64_t ver) {
  auto r = c.exec_params(
      std::string("SELECT ") + kSealCols + " FROM seal_keys WHERE department = $1 AND version = $2",
      {Param(dept), Param(ver)});
  if (r.rows() == 0) return std::nullopt;
  return read_seal(r, 0);
}

SealKeyVersion need_seal(pg::Conn& c, const std::string& dept, std::int64_t ver) {
  auto v = load_seal(c, dept, ver);
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

// As in SqliteStore: a rotation takes effect at `now` but never before the department's latest
// issue time (which may come from another instance whose clock read happened later, and from a
// licence that committed after others with later issue times: MAX, not the last row).
std::int64_t rotation_time(pg::Conn& c, const std::string& dept, std::int64_t now) {
  auto r =
      c.exec_params("SELECT MAX(issued_at) FROM licences WHERE department = $1", {Param(dept)});
  if (r.rows() > 0 && !r.is_null(0, 0)) return std::max(now, r.int64(0, 0));
  return now;
}

}  // namespace

PgStore::PgStore(const std::string& conninfo, const StoreOptions& options)
    : conninfo_(conninfo), options_(options) {
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

PgStore::~PgStore() = default;

pg::Conn PgStore::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    while (!pool_.empty()) {
      pg::Conn c = std::move(pool_.back());
      pool_.pop_back();
      if (c.ok()) return c;
    }
  }
  pg::Conn c = pg::Conn::open(conninfo_);
  // A writer waits for the registry write lock at most this long, then fails with busy() (HTTP
  // 503 + Retry-After), like SQLite's busy timeout; six times longer, because here every waiting
  // writer is "another process" (SQLite queues this process's writers on a mutex, without limit).
  c.exec("SET lock_timeout = " + std::to_string(std::max(1000, options_.busy_timeout_ms) * 6));
  return c;
}

void PgStore::release(pg::Conn c) {
  if (!c.ok()) return;  // a broken connection is dropped, the next lease opens a new one
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < options_.pool_size) pool_.push_back(std::move(c));
}

void PgStore::migrate() {
  Lease l(*this);
  auto& c = l.c();
  // One transaction under the migration lock: an instance starting while another migrates waits,
  // then finds every version recorded (PostgreSQL DDL is transactional, so a failed migration
  // leaves nothing behind).
  pg::Tx tx(c);
  c.exec_params("SELECT pg_advisory_xact_lock($1)", {Param(kMigrationLock)});
  c.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at BIGINT NOT NULL)");
  for (const auto& m : pg_migrations()) {
    auto r =
        c.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", {Param(m.version)});
    if (r.rows() > 0) continue;
    c.exec(m.sql);
    c.exec_params(
        "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, "
        "EXTRACT(EPOCH FROM now())::bigint)",
        {Param(m.version), Param(m.name)});
  }
  tx.commit();
}

int PgStore::schema_version() {
  Lease l(*this);
  return static_cast<int>(
      l.c().exec_params("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").int64(0, 0));
}

void PgStore::ping() {
  Lease l(*this);
  (void)l.c().exec_params("SELECT COUNT(*) FROM schema_migrations");
}

void PgStore::probe_writable() {
  // A fresh connection: a pooled one may predate a failover to a read-only standby.
  pg::Conn c = pg::Conn::open(conninfo_);
  {
    pg::Tx tx(c);
    // Rewrites one row with its own value: a hot standby or default_transaction_read_only
    // answers 25006 (→ unavailable); the registry's content does not change.
    c.exec(
        "UPDATE schema_migrations SET name = name WHERE version = (SELECT MAX(version) FROM "
        "schema_migrations)");
    tx.commit();
  }
  release(std::move(c));
}

std::optional<std::int64_t> PgStore::last_issued_at(const std::optional<std::string>& department) {
  Lease l(*this);
  auto r = l.c().exec_params(
      "SELECT MAX(issued_at) FROM licences WHERE $1::text IS NULL OR department = $1",
      {Param(department)});
  if (r.rows() == 0) return std::nullopt;
  return r.opt_int64(0, 0);
}

bool PgStore::advance_tsa_clock(std::int64_t t, std::int64_t& last) {
  Lease l(*this);
  // One statement: under READ COMMITTED a concurrent update of the row makes this one wait and
  // re-check its WHERE against the committed time, so the time never moves backwards.
  auto r = l.c().exec_params(
      "UPDATE tsa_clock SET last_time = $1 WHERE id = 1 AND last_time <= $1", {Param(t)});
  if (r.affected() == 1) return true;
  last = l.c().exec_params("SELECT last_time FROM tsa_clock WHERE id = 1").int64(0, 0);
  return false;
}

// ---- principals ------------------------------------------------------------------------------

Principal PgStore::create_principal(const NewPrincipal& np, std::int64_t now, const Actor& by) {
  Principal p;
  p.id = "p_" + np.key_sha256.substr(0, 16);
  p.department = np.department;
  p.key_prefix = np.key_prefix;
  p.scopes = np.scopes;
  p.label = np.label;
  p.created_at = now;
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  c.exec_params(
      "INSERT INTO principals(id, department, key_prefix, key_sha256, scopes, label, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {Param(p.id), Param(p.department), Param(p.key_prefix), Param(np.key_sha256),
       Param(join_scopes(p.scopes)), Param(p.label), Param(now)});
  append_audit(c, now, by, "principal.create", p.id,
               {{"department", p.department ? nlohmann::json(*p.department) : nlohmann::json()},
                {"scopes", p.scopes},
                {"key_prefix", p.key_prefix}});
  tx.commit();
  return p;
}

std::optional<Principal> PgStore::find_principal(const std::string& key_sha256) {
  Lease l(*this);
  auto r = l.c().exec_params(
      std::string("SELECT ") + kPrincipalCols + " FROM principals WHERE key_sha256 = $1",
      {Param(key_sha256)});
  if (r.rows() == 0) return std::nullopt;
  return read_principal(r, 0);
}

std::vector<Principal> PgStore::list_principals() {
  Lease l(*this);
  auto r = l.c().exec_params(std::string("SELECT ") + kPrincipalCols +
                             " FROM principals ORDER BY created_at, id");
  std::vector<Principal> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_principal(r, i));
  return out;
}

bool PgStore::revoke_principal(const std::string& id, std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  auto r = c.exec_params("SELECT revoked_at FROM principals WHERE id = $1", {Param(id)});
  if (r.rows() == 0) return false;
  if (!r.is_null(0, 0)) return true;  // already revoked: keep the first time, write nothing
  c.exec_params("UPDATE principals SET revoked_at = $1 WHERE id = $2", {Param(now), Param(id)});
  append_audit(c, now, by, "principal.revoke", id, nlohmann::json::object());
  tx.commit();
  return true;
}

// ---- idempotency -----------------------------------------------------------------------------

IdempotencyBegin PgStore::begin_idempotent(const IdempotencyRef& ref,
                                           const std::string& request_sha256, std::int64_t now,
                                           std::int64_t lease_seconds) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  IdempotencyBegin out;
  // The insert either creates the key (this request owns it) or, if another instance inserted it
  // first, waits for that transaction and does nothing; the row is then read under a row lock.
  auto ins = c.exec_params(
      "INSERT INTO idempotency(principal, key, request_sha256, state, created_at) "
      "VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT (principal, key) DO NOTHING",
      {Param(ref.principal), Param(ref.key), Param(request_sha256), Param(now)});
  if (ins.affected() == 1) {
    tx.commit();
    out.kind = IdempotencyBegin::kStarted;
    return out;
  }
  auto r = c.exec_params(
      "SELECT request_sha256, state, status_code, response, created_at FROM idempotency "
      "WHERE principal = $1 AND key = $2 FOR UPDATE",
      {Param(ref.principal), Param(ref.key)});
  if (r.rows() == 0) {
    // Abandoned (deleted) between our insert and our read: the client may simply retry.
    throw RegistryError(RegistryError::Code::kBusy, "idempotency key changed concurrently; retry");
  }
  if (r.text(0, 0) != request_sha256) {
    out.kind = IdempotencyBegin::kMismatch;
    return out;
  }
  if (r.text(0, 1) == "done") {
    out.kind = IdempotencyBegin::kReplay;
    out.status_code = static_cast<int>(r.int64(0, 2));
    out.response = r.opt_text(0, 3).value_or("");
    return out;
  }
  if (now - r.int64(0, 4) < lease_seconds) {
    out.kind = IdempotencyBegin::kInFlight;
    return out;
  }
  // The owner of this in-flight key died (crash, kill -9) without finishing: take it over.
  c.exec_params("UPDATE idempotency SET created_at = $3 WHERE principal = $1 AND key = $2",
                {Param(ref.principal), Param(ref.key), Param(now)});
  tx.commit();
  out.kind = IdempotencyBegin::kStarted;
  return out;
}

void PgStore::finish_idempotent(const IdempotencyRef& ref, int status,
                                const std::string& response) {
  Lease l(*this);
  l.c().exec_params(
      "UPDATE idempotency SET state = 'done', status_code = $3, response = $4 "
      "WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
      {Param(ref.principal), Param(ref.key), Param(status), Param(response)});
}

void PgStore::abandon_idempotent(const IdempotencyRef& ref) {
  Lease l(*this);
  l.c().exec_params(
      "DELETE FROM idempotency WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
      {Param(ref.principal), Param(ref.key)});
}

// ---- licences --------------------------------------------------------------------------------

std::int64_t PgStore::draw_index(std::uint64_t size) {
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % size);  // rejection sampling: no bias
  std::lock_guard g(rng_mu_);
  std::uint64_t v = 0;
  do {
    std::uint8_t b[8];
    rng_->fill(b);
    v = 0;
    for (std::uint8_t x : b) v = (v << 8) | x;
  } while (v >= limit);
  return static_cast<std::int64_t>(v % size);
}

namespace {

constexpr const char* kReservationCols =
    "type_code, issuer_code, serial, department, template, status_index, seal_version, "
    "principal, request_id, created_at";

detail::Reservation read_reservation(const pg::Result& st, int i) {
  detail::Reservation r;
  r.type_code = st.text(i, 0);
  r.issuer_code = st.text(i, 1);
  r.serial = st.text(i, 2);
  r.department = st.text(i, 3);
  r.template_id = st.text(i, 4);
  r.status_index = st.int64(i, 5);
  r.seal_version = st.opt_int64(i, 6);
  r.principal = st.text(i, 7);
  r.request_id = st.text(i, 8);
  r.created_at = st.int64(i, 9);
  return r;
}

// As in SqliteStore: deletes one reservation and appends its licence.void row inside the
// caller's transaction (which holds kRegistryWriteLock); false if it no longer exists.
bool void_reservation(pg::Conn& c, const detail::Reservation& r, const nlohmann::json& why,
                      std::int64_t now, const Actor& by) {
  auto del = c.exec_params(
      "DELETE FROM reservations WHERE type_code = $1 AND issuer_code = $2 AND serial = $3",
      {Param(r.type_code), Param(r.issuer_code), Param(r.serial)});
  if (del.affected() != 1) return false;
  append_audit(c, now, by, "licence.void", detail::void_object(r), detail::void_details(r, why));
  return true;
}

// Voids the reservations created at or before now - lease, whichever instance made them (an
// instance that died between reserve and commit), inside the caller's locked transaction.
std::int64_t void_abandoned(pg::Conn& c, std::int64_t now, std::int64_t lease) {
  auto rows = c.exec_params(std::string("SELECT ") + kReservationCols +
                                " FROM reservations WHERE created_at <= $1 ORDER BY created_at, "
                                "type_code, issuer_code, serial",
                            {Param(now - lease)});
  std::int64_t n = 0;
  for (int i = 0; i < rows.rows(); ++i) {
    if (void_reservation(c, read_reservation(rows, i),
                         {{"reason", "abandoned"}, {"lease_s", lease}}, now, {"certd", ""})) {
      ++n;
    }
  }
  return n;
}

std::optional<SealKeyVersion> active_seal_version(pg::Conn& c, const std::string& dept) {
  auto r = c.exec_params(std::string("SELECT ") + kSealCols +
                             " FROM seal_keys WHERE department = $1 AND state = 'active'",
                         {Param(dept)});
  if (r.rows() > 0) return read_seal(r, 0);
  return std::nullopt;
}

// Marks `v` retired at `now` (row and struct), inside the caller's write transaction.
void retire_version(pg::Conn& c, SealKeyVersion& v, std::int64_t now) {
  c.exec_params(
      "UPDATE seal_keys SET state = 'retired', retired_at = $3 WHERE department = $1 AND "
      "version = $2",
      {Param(v.department), Param(v.version), Param(now)});
  v.state = "retired";
  v.retired_at = now;
}

}  // namespace

LicenceRecord PgStore::issue(const IssueContext& ctx,
                             const std::function<Rendered(const Allocation&)>& render) {
  detail::IssueSteps steps;
  steps.reserve = [&] { return reserve(ctx); };
  steps.commit = [&](const Allocation& a, const Rendered& r) { return commit_issue(ctx, a, r); };
  steps.release = [&](const Allocation& a, const nlohmann::json& why) {
    release_reservation(detail::reservation_of(ctx, a), why, ctx.now, ctx.actor);
  };
  return detail::run_issuance(steps, ctx, render);
}

std::int64_t PgStore::void_abandoned_reservations(std::int64_t now) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  const std::int64_t n = void_abandoned(c, now, options_.reservation_lease_s);
  tx.commit();
  return n;
}

Allocation PgStore::reserve(const IssueContext& ctx) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  // Lazily: an instance that died between reserve and commit is accounted for by the others.
  void_abandoned(c, ctx.now, options_.reservation_lease_s);

  Allocation a;
  // Read under the registry write lock; checked again at commit (the render runs unlocked, so an
  // activation through any instance may commit in between).
  a.seal = active_seal_version(c, ctx.department);
  if (ctx.check_seal) ctx.check_seal(a.seal);  // refusals burn no serial
  {
    // Counter row created on first use; from this commit on the serial is a licence or a
    // licence.void row, never handed out again.
    auto r = c.exec_params(
        "INSERT INTO serial_counters(type_code, issuer_code, last) VALUES ($1, $2, 1) "
        "ON CONFLICT (type_code, issuer_code) DO UPDATE SET last = serial_counters.last + 1 "
        "RETURNING last",
        {Param(ctx.type_code), Param(ctx.issuer_code)});
    a.serial = detail::format_serial(ctx.now, r.int64(0, 0));
  }
  {
    const auto size = static_cast<std::uint64_t>(options_.status_list_size);
    bool found = false;
    for (int attempt = 0; attempt < 256 && !found; ++attempt) {
      a.status_index = draw_index(size);
      auto r = c.exec_params(
          "SELECT 1 FROM licences WHERE department = $1 AND status_index = $2 UNION ALL "
          "SELECT 1 FROM reservations WHERE department = $1 AND status_index = $2",
          {Param(ctx.department), Param(a.status_index)});
      found = r.rows() == 0;
    }
    if (!found) {
      throw RegistryError(RegistryError::Code::kExhausted, "status list of department " + ctx.department +
                                        " is too full: no free index after 256 draws");
    }
  }
  const detail::Reservation r = detail::reservation_of(ctx, a);
  c.exec_params(std::string("INSERT INTO reservations(") + kReservationCols +
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                {Param(r.type_code), Param(r.issuer_code), Param(r.serial), Param(r.department),
                 Param(r.template_id), Param(r.status_index), Param(r.seal_version),
                 Param(r.principal), Param(r.request_id), Param(r.created_at)});
  tx.commit();
  return a;
}

detail::CommitResult PgStore::commit_issue(const IssueContext& ctx, const Allocation& a,
                                           const Rendered& r) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  detail::CommitResult out;
  {
    // Under the registry write lock: a licence commits only while the version it was sealed
    // with is the active one, so the audit order and the versions agree across instances.
    auto now_active = active_seal_version(c, ctx.department);
    if (!detail::same_seal(a.seal, now_active)) {
      out.active_now = std::move(now_active);
      return out;  // nothing written (the transaction rolls back); render again
    }
  }
  {
    auto del = c.exec_params(
        "DELETE FROM reservations WHERE type_code = $1 AND issuer_code = $2 AND serial = $3",
        {Param(ctx.type_code), Param(ctx.issuer_code), Param(a.serial)});
    if (del.affected() != 1) {
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
  rec.audit_index = append_audit(c, ctx.now, ctx.actor, "licence.issue", rec.id,
                                 {{"template", rec.template_id},
                                  {"department", rec.department},
                                  {"serial", rec.serial},
                                  {"status_index", rec.status_index},
                                  {"pdf_sha256", rec.pdf_sha256},
                                  {"seal_version", rec.seal_version}});
  c.exec_params(
      "INSERT INTO licences(id, number, serial, type_code, issuer_code, department, template, "
      "template_version, data_json, pdf_sha256, pdf, qr_text, seal_version, seal_cert_sha256, "
      "status_index, issued_at, issued_by, status, audit_index) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'valid', $18)",
      {Param(rec.id), Param(rec.number), Param(rec.serial), Param(rec.type_code),
       Param(rec.issuer_code), Param(rec.department), Param(rec.template_id),
       Param(rec.template_version), Param(rec.data_json), Param(rec.pdf_sha256), Param::blob(r.pdf),
       Param(rec.qr_text), Param(rec.seal_version), Param(rec.seal_cert_sha256),
       Param(rec.status_index), Param(rec.issued_at), Param(rec.issued_by),
       Param(rec.audit_index)});
  if (ctx.idempotency) {
    const auto [status, body] = ctx.response ? ctx.response(rec) : std::pair<int, std::string>{};
    // Row-locked UPDATE: if another instance took the key over and completed it, this matches
    // nothing and the whole issuance rolls back (one licence per key).
    auto up = c.exec_params(
        "UPDATE idempotency SET state = 'done', status_code = $3, response = $4, licence_id = $5 "
        "WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
        {Param(ctx.idempotency->principal), Param(ctx.idempotency->key), Param(status), Param(body),
         Param(rec.id)});
    if (up.affected() != 1) {
      throw RegistryError(RegistryError::Code::kConflict,
                       "idempotency key is no longer held by this request; nothing was issued");
    }
  }
  tx.commit();
  rec.pdf = r.pdf;
  out.committed = true;
  return out;
}

void PgStore::release_reservation(const detail::Reservation& r, const nlohmann::json& why,
                                  std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  if (void_reservation(c, r, why, now, by)) tx.commit();
}

std::optional<LicenceRecord> PgStore::get_licence(const std::string& id, bool with_pdf) {
  Lease l(*this);
  auto r = l.c().exec_params(std::string("SELECT ") + kLicenceCols + (with_pdf ? ", pdf" : "") +
                                 " FROM licences WHERE id = $1",
                             {Param(id)});
  if (r.rows() == 0) return std::nullopt;
  LicenceRecord rec = read_licence(r, 0);
  if (with_pdf) rec.pdf = r.blob(0, 20);
  return rec;
}

ListPage PgStore::list_licences(const ListQuery& q) {
  std::string sqlq = std::string("SELECT ") + kLicenceCols + " FROM licences WHERE TRUE";
  std::vector<Param> params;
  auto add = [&](const char* cond, Param p) {
    params.push_back(std::move(p));
    sqlq += std::string(" AND ") + cond + " $" + std::to_string(params.size());
  };
  if (q.department) add("department =", Param(*q.department));
  if (q.status) add("status =", Param(*q.status));
  if (q.template_id) add("template =", Param(*q.template_id));
  if (q.issued_after) add("issued_at >", Param(*q.issued_after));
  if (q.before_audit_index) add("audit_index <", Param(*q.before_audit_index));
  params.emplace_back(static_cast<std::int64_t>(q.limit) + 1);
  sqlq += " ORDER BY audit_index DESC LIMIT $" + std::to_string(params.size());
  Lease l(*this);
  auto r = l.c().exec_params(sqlq, params);
  ListPage page;
  for (int i = 0; i < r.rows(); ++i) page.items.push_back(read_licence(r, i));
  if (page.items.size() > static_cast<std::size_t>(q.limit)) {
    page.items.pop_back();
    page.next_before = page.items.back().audit_index;
  }
  return page;
}

std::optional<LicenceRecord> PgStore::find_licence_by_pdf(const std::string& pdf_sha256) {
  Lease l(*this);
  auto r =
      l.c().exec_params(std::string("SELECT ") + kLicenceCols +
                            " FROM licences WHERE pdf_sha256 = $1 ORDER BY audit_index LIMIT 1",
                        {Param(pdf_sha256)});
  if (r.rows() == 0) return std::nullopt;
  return read_licence(r, 0);
}

std::optional<RevokeResult> PgStore::revoke_licence(const std::string& id,
                                                    const std::string& reason, std::int64_t now,
                                                    const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  auto r = c.exec_params(std::string("SELECT ") + kLicenceCols + " FROM licences WHERE id = $1",
                         {Param(id)});
  if (r.rows() == 0) return std::nullopt;
  RevokeResult out;
  out.record = read_licence(r, 0);
  if (out.record.status == "revoked") return out;  // idempotent: nothing written
  c.exec_params(
      "UPDATE licences SET status = 'revoked', revoked_at = $2, reason = $3 WHERE id = $1",
      {Param(id), Param(now), Param(reason)});
  append_audit(c, now, by, "licence.revoke", id,
               {{"department", out.record.department}, {"reason_sha256", sha256_hex(reason)}});
  tx.commit();
  out.record.status = "revoked";
  out.record.revoked_at = now;
  out.record.reason = reason;
  out.changed = true;
  return out;
}

std::int64_t PgStore::count_licences() {
  Lease l(*this);
  return l.c().exec_params("SELECT COUNT(*) FROM licences").int64(0, 0);
}

// ---- seal key versions -----------------------------------------------------------------------

SealKeyVersion PgStore::create_seal_key(const std::string& department, const std::string& key_ref,
                                        const std::string& algorithm, std::int64_t now,
                                        const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion v;
  v.version =
      c.exec_params("SELECT COALESCE(MAX(version), 0) + 1 FROM seal_keys WHERE department = $1",
                    {Param(department)})
          .int64(0, 0);
  v.department = department;
  v.state = "pending";
  v.key_ref = key_ref;
  v.algorithm = algorithm;
  v.created_at = now;
  c.exec_params(
      "INSERT INTO seal_keys(department, version, state, key_ref, algorithm, created_at) "
      "VALUES ($1, $2, 'pending', $3, $4, $5)",
      {Param(department), Param(v.version), Param(key_ref), Param(algorithm), Param(now)});
  append_audit(c, now, by, "seal.create", seal_object(v), seal_details(v));
  tx.commit();
  return v;
}

SealKeyVersion PgStore::install_seal_certificate(const std::string& department,
                                                 std::int64_t version, const std::string& cert_der,
                                                 const std::string& chain_der,
                                                 std::int64_t not_before, std::int64_t not_after,
                                                 std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion v = need_seal(c, department, version);
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
  c.exec_params(
      "UPDATE seal_keys SET cert_der = $3, chain_der = $4, cert_sha256 = $5, not_before = $6, "
      "not_after = $7 WHERE department = $1 AND version = $2",
      {Param(department), Param(version), Param::blob(cert_der), Param::blob(chain_der),
       Param(v.cert_sha256), Param(not_before), Param(not_after)});
  auto d = seal_details(v);
  d["not_before"] = not_before;
  d["not_after"] = not_after;
  append_audit(c, now, by, "seal.install", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion PgStore::activate_seal_key(const std::string& department, std::int64_t version,
                                          std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion v = need_seal(c, department, version);
  now = rotation_time(c, department, now);
  if (v.state != "pending") {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         ": only a pending version can be activated");
  }
  if (v.cert_der.empty()) {
    throw SealStateError(seal_name(v) + " has no certificate: install it before activating");
  }
  // Retire the current active version first, then activate, in this transaction: the partial
  // UNIQUE index seal_keys_one_active is checked per statement, so the order matters.
  std::optional<SealKeyVersion> old = active_seal_version(c, department);
  if (old) {
    retire_version(c, *old, now);
    auto d = seal_details(*old);
    d["replaced_by"] = version;
    append_audit(c, now, by, "seal.retire", seal_object(*old), d);
  }
  c.exec_params(
      "UPDATE seal_keys SET state = 'active', activated_at = $3 WHERE department = $1 AND "
      "version = $2",
      {Param(department), Param(version), Param(now)});
  v.state = "active";
  v.activated_at = now;
  auto d = seal_details(v);
  if (old) d["replaces"] = old->version;
  append_audit(c, now, by, "seal.activate", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion PgStore::retire_seal_key(const std::string& department, std::int64_t version,
                                        std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion v = need_seal(c, department, version);
  now = rotation_time(c, department, now);
  if (v.state != "active") {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         ": only the active version can be retired");
  }
  retire_version(c, v, now);
  append_audit(c, now, by, "seal.retire", seal_object(v), seal_details(v));
  tx.commit();
  return v;
}

SealKeyVersion PgStore::revoke_seal_key(const std::string& department, std::int64_t version,
                                        std::int64_t compromised_at, const std::string& reason,
                                        std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion v = need_seal(c, department, version);
  if (v.state == "revoked") {
    throw SealStateError(seal_name(v) + " is already revoked (compromised at " +
                         std::to_string(v.compromised_at.value_or(0)) +
                         "); the compromise time is never moved");
  }
  c.exec_params(
      "UPDATE seal_keys SET state = 'revoked', revoked_at = $3, compromised_at = $4, reason = $5 "
      "WHERE department = $1 AND version = $2",
      {Param(department), Param(version), Param(now), Param(compromised_at), Param(reason)});
  const std::string before = v.state;
  v.state = "revoked";
  v.revoked_at = now;
  v.compromised_at = compromised_at;
  v.reason = reason;
  auto d = seal_details(v);
  d["previous_state"] = before;
  d["reason_sha256"] = sha256_hex(reason);
  append_audit(c, now, by, "seal.revoke", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion PgStore::import_seal_key(const SealKeyVersion& v, std::int64_t now,
                                        const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  SealKeyVersion out = v;
  if (!out.cert_der.empty()) out.cert_sha256 = sha256_hex(out.cert_der);
  c.exec_params(
      std::string("INSERT INTO seal_keys(") + kSealCols +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
          "$16)",
      {Param(out.department), Param(out.version), Param(out.state), Param(out.key_ref),
       Param(out.algorithm), out.cert_der.empty() ? Param::null() : Param::blob(out.cert_der),
       Param::blob(out.chain_der), out.cert_der.empty() ? Param::null() : Param(out.cert_sha256),
       Param(out.not_before), Param(out.not_after), Param(out.created_at), Param(out.activated_at),
       Param(out.retired_at), Param(out.revoked_at), Param(out.compromised_at), Param(out.reason)});
  append_audit(c, now, by, "seal.import", seal_object(out), seal_details(out));
  tx.commit();
  return out;
}

std::vector<SealKeyVersion> PgStore::list_seal_keys(const std::optional<std::string>& department) {
  Lease l(*this);
  auto r = l.c().exec_params(std::string("SELECT ") + kSealCols +
                                 " FROM seal_keys WHERE $1::text IS NULL OR department = $1 "
                                 "ORDER BY department, version",
                             {Param(department)});
  std::vector<SealKeyVersion> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_seal(r, i));
  return out;
}

std::optional<SealKeyVersion> PgStore::get_seal_key(const std::string& department,
                                                    std::int64_t version) {
  Lease l(*this);
  return load_seal(l.c(), department, version);
}

std::optional<SealKeyVersion> PgStore::find_seal_key_by_cert(const std::string& cert_sha256) {
  Lease l(*this);
  auto r = l.c().exec_params(std::string("SELECT ") + kSealCols +
                                 " FROM seal_keys WHERE cert_sha256 = $1 ORDER BY version LIMIT 1",
                             {Param(cert_sha256)});
  if (r.rows() == 0) return std::nullopt;
  return read_seal(r, 0);
}

// ---- audit -----------------------------------------------------------------------------------

std::int64_t PgStore::record_event(const std::string& action, const std::string& object,
                                   const std::string& details_json, std::int64_t now,
                                   const Actor& by) {
  auto details = nlohmann::json::parse(details_json, nullptr, false);
  if (details.is_discarded()) details = nlohmann::json::object();
  Lease l(*this);
  auto& c = l.c();
  pg::Tx tx(c);
  lock_writes(c);
  const std::int64_t idx = append_audit(c, now, by, action, object, details);
  tx.commit();
  return idx;
}

void PgStore::add_audit_checkpoint(const AuditCheckpointRow& cp) {
  Lease l(*this);
  l.c().exec_params(
      "INSERT INTO audit_checkpoints(tree_size, root_hash, signed_note, created_at) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
      {Param(cp.tree_size), Param::blob(cp.root_hash), Param(cp.signed_note),
       Param(cp.created_at)});
}

std::vector<AuditCheckpointRow> PgStore::audit_checkpoints() {
  Lease l(*this);
  auto r = l.c().exec_params(
      "SELECT tree_size, root_hash, signed_note, created_at FROM audit_checkpoints "
      "ORDER BY tree_size");
  std::vector<AuditCheckpointRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.int64(i, 0), r.blob(i, 1), r.text(i, 2), r.int64(i, 3)});
  }
  return out;
}

std::int64_t PgStore::audit_size() {
  Lease l(*this);
  return l.c().exec_params("SELECT COUNT(*) FROM audit_log").int64(0, 0);
}

std::vector<AuditRow> PgStore::audit_entries(std::int64_t from_idx, std::int64_t count) {
  Lease l(*this);
  auto r = l.c().exec_params(
      "SELECT idx, ts, principal, action, object, request_id, details_json, leaf_hash "
      "FROM audit_log WHERE idx >= $1 ORDER BY idx LIMIT $2",
      {Param(from_idx), Param(count)});
  std::vector<AuditRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    AuditRow row;
    row.idx = r.int64(i, 0);
    row.ts = r.int64(i, 1);
    row.principal = r.text(i, 2);
    row.action = r.text(i, 3);
    row.object = r.text(i, 4);
    row.request_id = r.text(i, 5);
    row.details_json = r.text(i, 6);
    row.leaf_hash = r.blob(i, 7);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace certd
