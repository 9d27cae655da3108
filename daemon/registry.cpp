#include "registry.h"

#include <algorithm>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libcert/error.h"
#include "pg_store.h"
#include "sqlite_store.h"

namespace certd {

using port::Row;
using port::TxKind;
using port::Value;

// A pooled connection, returned to the pool when the lease ends (or dropped, see release()).
class Registry::Lease {
 public:
  explicit Lease(Registry& r) : r_(r), c_(r.acquire()) {}
  ~Lease() { r_.release(std::move(c_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  port::Connection& c() { return *c_; }

 private:
  Registry& r_;
  std::unique_ptr<port::Connection> c_;
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

Principal read_principal(const Row& r) {
  Principal p;
  p.id = r.text(0);
  p.department = r.opt_text(1);
  p.key_prefix = r.text(2);
  p.scopes = split_scopes(r.text(3));
  p.label = r.text(4);
  p.created_at = r.int64(5);
  p.revoked_at = r.opt_int64(6);
  return p;
}

constexpr const char* kLicenceCols =
    "id, number, serial, type_code, issuer_code, department, template, template_version, "
    "data_json, pdf_sha256, qr_text, seal_version, seal_cert_sha256, status_index, issued_at, "
    "issued_by, status, revoked_at, reason, audit_index";

LicenceRecord read_licence(const Row& st) {
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

constexpr const char* kRenditionCols =
    "r.licence_id, r.format, r.version, r.sha256, r.size, r.created_at, r.reason, r.audit_index";

Rendition read_rendition(const Row& st) {
  Rendition r;
  r.licence_id = st.text(0);
  r.format = st.text(1);
  r.version = st.int64(2);
  r.sha256 = st.text(3);
  r.size = st.int64(4);
  r.created_at = st.int64(5);
  r.reason = st.text(6);
  r.audit_index = st.int64(7);
  return r;
}

void check_format(const std::string& format) {
  if (format != kFormatPdf && format != kFormatOfd) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         "rendition format: expected 'pdf' or 'ofd', got '" + format + "'");
  }
}

// One renditions row inside the caller's transaction; content nullptr: pdf/1, whose bytes are
// licences.pdf (migration 6).
void insert_rendition(port::Connection& c, const Rendition& r, const std::string* content) {
  if (content == nullptr) {
    c.query(
        "INSERT INTO renditions(licence_id, format, version, sha256, size, content, created_at, "
        "reason, audit_index) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)",
        {r.licence_id, r.format, r.version, r.sha256, r.size, r.created_at, r.reason,
         r.audit_index});
  } else {
    c.query(
        "INSERT INTO renditions(licence_id, format, version, sha256, size, content, created_at, "
        "reason, audit_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {r.licence_id, r.format, r.version, r.sha256, r.size, Value::blob(*content),
         r.created_at, r.reason, r.audit_index});
  }
}

// Appends one audit row inside the caller's kOrdered transaction. The index is MAX+1: rows are
// never deleted and the ordered lock is held (across every instance on PostgreSQL), so the
// sequence has no gap (RFC 6962 leaves are 0-based); the PRIMARY KEY is the backstop.
std::int64_t append_audit(port::Connection& c, std::int64_t ts, const Actor& by,
                          const std::string& action, const std::string& object,
                          const nlohmann::json& details) {
  AuditRow row;
  row.idx = c.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").first().int64(0);
  row.ts = ts;
  row.principal = by.principal;
  row.action = action;
  row.object = object;
  row.request_id = by.request_id;
  row.details_json = details.dump();
  row.leaf_hash = audit_leaf_hash(row);
  c.query(
      "INSERT INTO audit_log(idx, ts, principal, action, object, request_id, details_json, "
      "leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {row.idx, row.ts, row.principal, row.action, row.object, row.request_id, row.details_json,
       Value::blob(row.leaf_hash)});
  return row.idx;
}

constexpr const char* kSealCols =
    "department, version, state, key_ref, algorithm, cert_der, chain_der, cert_sha256, "
    "not_before, not_after, created_at, activated_at, retired_at, revoked_at, compromised_at, "
    "reason";

SealKeyVersion read_seal(const Row& st) {
  SealKeyVersion v;
  v.department = st.text(0);
  v.version = st.int64(1);
  v.state = st.text(2);
  v.key_ref = st.text(3);
  v.algorithm = st.text(4);
  v.cert_der = st.blob(5);
  v.chain_der = st.blob(6);
  v.cert_sha256 = st.text(7);
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

std::optional<SealKeyVersion> load_seal(port::Connection& c, const std::string& dept,
                                        std::int64_t ver) {
  auto r = c.query(
      std::string("SELECT ") + kSealCols + " FROM seal_keys WHERE department = $1 AND version = $2",
      {dept, ver});
  if (r.empty()) return std::nullopt;
  return read_seal(r.first());
}

SealKeyVersion need_seal(port::Connection& c, const std::string& dept, std::int64_t ver) {
  auto v = load_seal(c, dept, ver);
  if (!v) {
    throw libcert::Error(libcert::ErrorCode::kNotFound,
                         "seal key " + dept + " v" + std::to_string(ver) + ": no such version");
  }
  return *v;
}

std::optional<SealKeyVersion> active_seal_version(port::Connection& c, const std::string& dept) {
  auto r = c.query(std::string("SELECT ") + kSealCols +
                       " FROM seal_keys WHERE department = $1 AND state = 'active'",
                   {dept});
  if (r.empty()) return std::nullopt;
  return read_seal(r.first());
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
// A rotation that waited for the ordered lock may hold an older `now` (and on PostgreSQL another
// instance's clock read may have come later), and licences commit in whatever order their renders
// finish (issuance.h), so the latest issue time is MAX(issued_at), not the last committed row's;
// the old version's window must still cover every licence it sealed (a licence is committed only
// while its version is active), and the new version's must start no later than the first licence
// it seals.
std::int64_t rotation_time(port::Connection& c, const std::string& dept, std::int64_t now) {
  auto r = c.query("SELECT MAX(issued_at) FROM licences WHERE department = $1", {dept});
  if (!r.empty() && !r.first().is_null(0)) return std::max(now, r.first().int64(0));
  return now;
}

// Marks `v` retired at `now` (row and struct), inside the caller's ordered transaction.
void retire_version(port::Connection& c, SealKeyVersion& v, std::int64_t now) {
  c.query(
      "UPDATE seal_keys SET state = 'retired', retired_at = $3 WHERE department = $1 AND "
      "version = $2",
      {v.department, v.version, now});
  v.state = "retired";
  v.retired_at = now;
}

constexpr const char* kReservationCols =
    "type_code, issuer_code, serial, department, template, status_index, seal_version, "
    "principal, request_id, created_at";

detail::Reservation read_reservation(const Row& st) {
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

// Deletes one reservation and appends its licence.void row, inside the caller's ordered
// transaction. false (nothing written) if it no longer exists: committed, or already voided.
bool void_reservation(port::Connection& c, const detail::Reservation& r, const nlohmann::json& why,
                      std::int64_t now, const Actor& by) {
  auto del =
      c.query("DELETE FROM reservations WHERE type_code = $1 AND issuer_code = $2 AND serial = $3",
              {r.type_code, r.issuer_code, r.serial});
  if (del.affected != 1) return false;
  append_audit(c, now, by, "licence.void", detail::void_object(r), detail::void_details(r, why));
  return true;
}

// Voids the reservations created at or before now - lease, whichever process or instance made
// them (it died between reserve and commit), inside the caller's ordered transaction.
std::int64_t void_abandoned(port::Connection& c, std::int64_t now, std::int64_t lease) {
  auto rows = c.query(std::string("SELECT ") + kReservationCols +
                          " FROM reservations WHERE created_at <= $1 ORDER BY created_at, "
                          "type_code, issuer_code, serial",
                      {now - lease});
  std::int64_t n = 0;
  for (const auto& row : rows.rows) {
    if (void_reservation(c, read_reservation(row), {{"reason", "abandoned"}, {"lease_s", lease}},
                         now, {"certd", ""})) {
      ++n;
    }
  }
  return n;
}

}  // namespace

Registry::Registry(std::unique_ptr<port::Driver> driver, const StoreOptions& options)
    : driver_(std::move(driver)), options_(options) {
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

Registry::~Registry() = default;

std::unique_ptr<port::Connection> Registry::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    while (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      if (c->reusable()) return c;
    }
  }
  return driver_->connect();
}

void Registry::release(std::unique_ptr<port::Connection> c) {
  // A connection that hit READONLY/IOERR/FULL/CORRUPT (or lost its server) may stay broken after
  // the cause is gone (opened read-only, a WAL index it could not map, a failed-over standby):
  // close it; the next lease opens a fresh one.
  if (!c || !c->reusable()) return;
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < options_.pool_size) pool_.push_back(std::move(c));
}

struct Registry::WriteJob {
  const std::function<void(port::Connection&)>* work;
  std::exception_ptr error;  // the job's own exception, or the batch transaction's
  bool done = false;         // GUARDED_BY(write_queue_mu_)
  std::condition_variable cv;
};

namespace {
// The connection of the group transaction this thread is running as leader (a nested group write
// joins it instead of queueing behind itself).
thread_local port::Connection* t_group_connection = nullptr;
}  // namespace

void Registry::group_write(const std::function<void(port::Connection&)>& work) {
  if (t_group_connection != nullptr) {
    work(*t_group_connection);
    return;
  }
  WriteJob self;
  self.work = &work;
  std::unique_lock lk(write_queue_mu_);
  write_queue_.push_back(&self);
  while (!self.done && write_queue_.front() != &self) self.cv.wait(lk);
  if (self.done) {
    if (self.error) std::rethrow_exception(self.error);
    return;
  }
  // The leader: everything queued up to now (this job first) is one transaction.
  const std::size_t n = std::min(write_queue_.size(), kMaxBatch);
  std::vector<WriteJob*> batch(write_queue_.begin(),
                               write_queue_.begin() + static_cast<std::ptrdiff_t>(n));
  lk.unlock();
  try {
    Lease l(*this);
    auto& c = l.c();
    port::Tx tx(c, TxKind::kOrdered);
    struct Joined {
      explicit Joined(port::Connection& conn) { t_group_connection = &conn; }
      ~Joined() { t_group_connection = nullptr; }
      Joined(const Joined&) = delete;
      Joined& operator=(const Joined&) = delete;
    } joined(c);
    if (batch.size() == 1) {
      // Alone: the job's exception rolls the transaction back, as a transaction of its own would.
      (*batch[0]->work)(c);
    } else {
      for (WriteJob* j : batch) {
        // SQL:2003 savepoints, the same text on SQLite and PostgreSQL; a job that throws is
        // undone to here and the batch goes on.
        c.script("SAVEPOINT group_job");
        try {
          (*j->work)(c);
        } catch (...) {
          j->error = std::current_exception();
          // A connection that broke (or a transaction SQLite rolled back by itself on IOERR/FULL)
          // has no savepoint to return to: the whole batch fails below.
          if (!c.reusable()) throw;
          c.script("ROLLBACK TO SAVEPOINT group_job");
        }
        c.script("RELEASE SAVEPOINT group_job");
      }
    }
    tx.commit();
  } catch (...) {
    // Nothing of the batch is committed: every job that had not failed by itself fails with the
    // transaction's error (a job alone keeps its own exception).
    const std::exception_ptr e = std::current_exception();
    for (WriteJob* j : batch) {
      if (!j->error) j->error = e;
    }
  }
  lk.lock();
  for (std::size_t i = 0; i < n; ++i) write_queue_.pop_front();
  for (WriteJob* j : batch) {
    if (j == &self) continue;
    j->done = true;
    j->cv.notify_one();
  }
  if (!write_queue_.empty()) write_queue_.front()->cv.notify_one();
  lk.unlock();
  if (self.error) std::rethrow_exception(self.error);
}

void Registry::migrate() {
  Lease l(*this);
  auto& c = l.c();
  const port::Dialect& d = driver_->dialect();
  // One transaction under the schema lock: an instance or process starting while another
  // migrates waits, then finds every version recorded (DDL is transactional on both engines, so a
  // failed migration leaves nothing behind).
  port::Tx tx(c, TxKind::kSchema);
  c.script(d.schema_migrations_ddl);
  for (const auto& m : *d.migrations) {
    if (!c.query("SELECT 1 FROM schema_migrations WHERE version = $1", {m.version}).empty()) {
      continue;
    }
    c.script(m.sql);
    c.query(
        std::string("INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, ") +
            d.now_epoch + ")",
        {m.version, m.name});
  }
  tx.commit();
}

int Registry::schema_version() {
  Lease l(*this);
  return static_cast<int>(
      l.c().query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first().int64(0));
}

void Registry::ping() {
  Lease l(*this);
  (void)l.c().query("SELECT COUNT(*) FROM schema_migrations");
}

void Registry::probe_writable() {
  // A fresh connection: a pooled one opened before the file became read-only (or before a
  // failover to a read-only standby) still writes.
  auto c = driver_->connect();
  {
    port::Tx tx(*c, TxKind::kWrite);
    // Rewrites one row with its own value: a page goes to the WAL and is synced at COMMIT (a
    // read-only file or a failing disk answers here; a hot standby answers 25006), and the
    // registry's content does not change.
    c->query(
        "UPDATE schema_migrations SET name = name WHERE version = (SELECT MAX(version) FROM "
        "schema_migrations)");
    tx.commit();
  }
  release(std::move(c));
}

std::optional<std::int64_t> Registry::last_issued_at(const std::optional<std::string>& department) {
  Lease l(*this);
  // Two statements, not one `WHERE $1 IS NULL OR department = $1`: with the OR, SQLite cannot
  // take MAX() from the end of licences_by_department_issued_at and walks the whole index (49 ms
  // at 200,000 licences, against 0.03 ms; this runs once per issuance: bench/README.md "certd's
  // own cost … session 8"). Each form below is a single index probe.
  auto r = department ? l.c().query("SELECT MAX(issued_at) FROM licences WHERE department = $1",
                                    {*department})
                      : l.c().query("SELECT MAX(issued_at) FROM licences");
  if (r.empty()) return std::nullopt;
  return r.first().opt_int64(0);
}

// One atomic conditional UPDATE: two instances can never both move the TSA clock (store.h).
bool Registry::advance_tsa_clock(std::int64_t t, std::int64_t& last) {
  // A group write: the time-stamps of concurrent B-T/B-LT seals share one commit.
  bool moved = false;
  group_write([&](port::Connection& c) {
    moved = c.query("UPDATE tsa_clock SET last_time = $1 WHERE id = 1 AND last_time <= $1", {t})
                .affected == 1;
    if (!moved) {
      auto r = c.query("SELECT last_time FROM tsa_clock WHERE id = 1", {});
      if (!r.empty()) last = r.first().int64(0);
    }
  });
  return moved;
}

// ---- CRLs --------------------------------------------------------------------------------------

std::optional<CrlRow> Registry::current_crl(const std::string& issuer) {
  Lease l(*this);
  auto r = l.c().query(
      "SELECT number, this_update, next_update, content_key, der FROM crls WHERE issuer = $1",
      {issuer});
  if (r.empty()) return std::nullopt;
  const auto& row = r.first();
  return CrlRow{row.int64(0), row.int64(1), row.int64(2), row.text(3), row.blob(4)};
}

bool Registry::publish_crl(const std::string& issuer, const CrlRow& crl) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kWrite);
  // Only a greater number replaces the stored CRL (RFC 5280 §5.2.3: monotonically increasing);
  // SQLite (3.24+) and PostgreSQL share this upsert.
  const bool stored =
      c.query("INSERT INTO crls(issuer, number, this_update, next_update, content_key, der) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer) DO UPDATE SET "
              "number = excluded.number, this_update = excluded.this_update, "
              "next_update = excluded.next_update, content_key = excluded.content_key, "
              "der = excluded.der WHERE crls.number < excluded.number",
              {issuer, crl.number, crl.this_update, crl.next_update, crl.content_key,
               Value::blob(crl.der)})
          .affected == 1;
  tx.commit();
  return stored;
}

// ---- principals ------------------------------------------------------------------------------

Principal Registry::create_principal(const NewPrincipal& np, std::int64_t now, const Actor& by) {
  Principal p;
  p.id = "p_" + np.key_sha256.substr(0, 16);
  p.department = np.department;
  p.key_prefix = np.key_prefix;
  p.scopes = np.scopes;
  p.label = np.label;
  p.created_at = now;
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  c.query(
      "INSERT INTO principals(id, department, key_prefix, key_sha256, scopes, label, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {p.id, p.department, p.key_prefix, np.key_sha256, join_scopes(p.scopes), p.label, now});
  append_audit(c, now, by, "principal.create", p.id,
               {{"department", p.department ? nlohmann::json(*p.department) : nlohmann::json()},
                {"scopes", p.scopes},
                {"key_prefix", p.key_prefix}});
  tx.commit();
  return p;
}

std::optional<Principal> Registry::find_principal(const std::string& key_sha256) {
  Lease l(*this);
  auto r = l.c().query(
      std::string("SELECT ") + kPrincipalCols + " FROM principals WHERE key_sha256 = $1",
      {key_sha256});
  if (r.empty()) return std::nullopt;
  return read_principal(r.first());
}

std::vector<Principal> Registry::list_principals() {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kPrincipalCols +
                       " FROM principals ORDER BY created_at, id");
  std::vector<Principal> out;
  for (const auto& row : r.rows) out.push_back(read_principal(row));
  return out;
}

bool Registry::revoke_principal(const std::string& id, std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  auto r = c.query("SELECT revoked_at FROM principals WHERE id = $1", {id});
  if (r.empty()) return false;
  if (!r.first().is_null(0)) return true;  // already revoked: keep the first time, write nothing
  c.query("UPDATE principals SET revoked_at = $1 WHERE id = $2", {now, id});
  append_audit(c, now, by, "principal.revoke", id, nlohmann::json::object());
  tx.commit();
  return true;
}

// ---- idempotency -----------------------------------------------------------------------------

IdempotencyBegin Registry::begin_idempotent(const IdempotencyRef& ref,
                                            const std::string& request_sha256, std::int64_t now,
                                            std::int64_t lease_seconds) {
  IdempotencyBegin out;
  group_write([&](port::Connection& c) {
    out = begin_idempotent_in(c, ref, request_sha256, now, lease_seconds);
  });
  return out;
}

IdempotencyBegin Registry::begin_idempotent_in(port::Connection& c, const IdempotencyRef& ref,
                                               const std::string& request_sha256,
                                               std::int64_t now, std::int64_t lease_seconds) {
  IdempotencyBegin out;
  // The insert either creates the key (this request owns it) or, if another request (another
  // instance) inserted it first, waits for that transaction and does nothing; the row is then
  // read under a row lock (SQLite: the write transaction is the lock).
  auto ins = c.query(
      "INSERT INTO idempotency(principal, key, request_sha256, state, created_at) "
      "VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT (principal, key) DO NOTHING",
      {ref.principal, ref.key, request_sha256, now});
  if (ins.affected == 1) {
    out.kind = IdempotencyBegin::kStarted;
    return out;
  }
  auto r = c.query(std::string("SELECT request_sha256, state, status_code, response, created_at "
                               "FROM idempotency WHERE principal = $1 AND key = $2") +
                       driver_->dialect().row_lock,
                   {ref.principal, ref.key});
  if (r.empty()) {
    // Abandoned (deleted) between our insert and our read: the client may simply retry.
    throw RegistryError(RegistryError::Code::kBusy,
                        "idempotency key changed concurrently; retry");
  }
  const Row& row = r.first();
  if (row.text(0) != request_sha256) {
    out.kind = IdempotencyBegin::kMismatch;
    return out;
  }
  if (row.text(1) == "done") {
    out.kind = IdempotencyBegin::kReplay;
    out.status_code = static_cast<int>(row.int64(2));
    out.response = row.text(3);
    return out;
  }
  if (now - row.int64(4) < lease_seconds) {
    out.kind = IdempotencyBegin::kInFlight;
    return out;
  }
  // The owner of this in-flight key died (crash, kill -9) without finishing: take it over.
  c.query("UPDATE idempotency SET created_at = $3 WHERE principal = $1 AND key = $2",
          {ref.principal, ref.key, now});
  out.kind = IdempotencyBegin::kStarted;
  return out;
}

void Registry::finish_idempotent(const IdempotencyRef& ref, int status,
                                 const std::string& response) {
  group_write([&](port::Connection& c) {
    c.query(
        "UPDATE idempotency SET state = 'done', status_code = $3, response = $4 "
        "WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
        {ref.principal, ref.key, status, response});
  });
}

void Registry::abandon_idempotent(const IdempotencyRef& ref) {
  group_write([&](port::Connection& c) {
    c.query("DELETE FROM idempotency WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
            {ref.principal, ref.key});
  });
}

// ---- licences --------------------------------------------------------------------------------

std::int64_t Registry::draw_index() {
  // Random status-list index (qr.md: random allocation, so an index says nothing about issue
  // order or volume); rejection sampling, so no index is likelier than another.
  const auto size = static_cast<std::uint64_t>(options_.status_list_size);
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % size);
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

std::int64_t Registry::void_abandoned_reservations(std::int64_t now) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  const std::int64_t n = void_abandoned(c, now, options_.reservation_lease_s);
  tx.commit();
  return n;
}

Allocation Registry::reserve(const IssueContext& ctx) {
  Allocation a;
  group_write([&](port::Connection& c) {
    // The request's Idempotency-Key first: a replay or a concurrent duplicate reserves nothing
    // (the throw undoes this job's savepoint, which holds nothing yet).
    if (ctx.idempotency && ctx.begin_idempotency) {
      IdempotencyBegin b = begin_idempotent_in(c, *ctx.idempotency,
                                               ctx.begin_idempotency->request_sha256, ctx.now,
                                               ctx.begin_idempotency->lease_seconds);
      if (b.kind != IdempotencyBegin::kStarted) throw IdempotencyNotStarted(std::move(b));
    }
    // Lazily: a crashed issuer's reservations must not wait for the next restart to be accounted.
    void_abandoned(c, ctx.now, options_.reservation_lease_s);

    // Read under the ordered lock; checked again at commit (the render runs without it, so a
    // rotation through any instance may commit in between).
    a.seal = active_seal_version(c, ctx.department);
    if (ctx.check_seal) ctx.check_seal(a.seal);  // refusals burn no serial
    // The counter row is created on first use and incremented in this transaction; the serial is
    // consumed from here on: it ends as a licence or a licence.void row, never handed out again.
    const std::int64_t n =
        c.query(
             "INSERT INTO serial_counters(type_code, issuer_code, last) VALUES ($1, $2, 1) "
             "ON CONFLICT (type_code, issuer_code) DO UPDATE SET last = serial_counters.last + 1 "
             "RETURNING last",
             {ctx.type_code, ctx.issuer_code})
            .first()
            .int64(0);
    a.serial = detail::format_serial(ctx.now, n);
    // Unique per department among licences and open reservations; draw again on collision.
    bool found = false;
    for (int attempt = 0; attempt < 256 && !found; ++attempt) {
      a.status_index = draw_index();
      found = c.query(
                   "SELECT 1 FROM licences WHERE department = $1 AND status_index = $2 UNION ALL "
                   "SELECT 1 FROM reservations WHERE department = $1 AND status_index = $2",
                   {ctx.department, a.status_index})
                  .empty();
    }
    if (!found) {
      throw RegistryError(RegistryError::Code::kExhausted,
                          "status list of department " + ctx.department +
                              " is too full: no free index after 256 draws");
    }
    const detail::Reservation r = detail::reservation_of(ctx, a);
    c.query(std::string("INSERT INTO reservations(") + kReservationCols +
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            {r.type_code, r.issuer_code, r.serial, r.department, r.template_id, r.status_index,
             r.seal_version, r.principal, r.request_id, r.created_at});
  });
  return a;
}

CommitResult Registry::commit_issue(const IssueContext& ctx, const Allocation& a,
                                    const Rendered& r) {
  CommitResult out;
  group_write([&](port::Connection& c) {
    // The version sealed with must still be the active one now, under the ordered lock: every
    // licence committed before an activation carries the old version (whose window rotation_time()
    // stretches over its issue time), every one after it the new version.
    if (auto now_active = active_seal_version(c, ctx.department);
        !detail::same_seal(a.seal, now_active)) {
      out.active_now = std::move(now_active);
      return;  // nothing written; the issuer seals again
    }
    if (c.query(
             "DELETE FROM reservations WHERE type_code = $1 AND issuer_code = $2 AND serial = $3",
             {ctx.type_code, ctx.issuer_code, a.serial})
            .affected != 1) {
      // Voided as abandoned (this issuance outlived the lease): the serial is a licence.void row
      // already, so it must not become a licence as well.
      throw RegistryError(RegistryError::Code::kBusy,
                          "the reservation of serial " + a.serial + " expired (older than " +
                              std::to_string(options_.reservation_lease_s) +
                              " s) and was voided; nothing was issued, retry");
    }

    LicenceRecord& rec = out.record;
    out.committed = true;  // once the group transaction commits (group_write throws otherwise)
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
    nlohmann::json details = {
        {"template", rec.template_id},
        {"department", rec.department},
        {"serial", rec.serial},
        {"status_index", rec.status_index},
        {"pdf_sha256", rec.pdf_sha256},
        {"seal_version", rec.seal_version},
        {"formats", r.ofd.empty() ? nlohmann::json::array({kFormatPdf})
                                  : nlohmann::json::array({kFormatPdf, kFormatOfd})}};
    if (!r.ofd.empty()) details["ofd_sha256"] = r.ofd_sha256;
    rec.audit_index = append_audit(c, ctx.now, ctx.actor, "licence.issue", rec.id, details);
    c.query(
        "INSERT INTO licences(id, number, serial, type_code, issuer_code, department, template, "
        "template_version, data_json, pdf_sha256, pdf, qr_text, seal_version, seal_cert_sha256, "
        "status_index, issued_at, issued_by, status, audit_index) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'valid', $18)",
        {rec.id, rec.number, rec.serial, rec.type_code, rec.issuer_code, rec.department,
         rec.template_id, rec.template_version, rec.data_json, rec.pdf_sha256, Value::blob(r.pdf),
         rec.qr_text, rec.seal_version, rec.seal_cert_sha256, rec.status_index, rec.issued_at,
         rec.issued_by, rec.audit_index});
    // Rendition pdf/1 is licences.pdf (content NULL, migration 6); an OFD made with it is ofd/1.
    Rendition v1;
    v1.licence_id = rec.id;
    v1.format = kFormatPdf;
    v1.version = 1;
    v1.sha256 = rec.pdf_sha256;
    v1.size = static_cast<std::int64_t>(r.pdf.size());
    v1.created_at = ctx.now;
    v1.reason = "issue";
    v1.audit_index = rec.audit_index;
    insert_rendition(c, v1, nullptr);
    if (!r.ofd.empty()) {
      v1.format = kFormatOfd;
      v1.sha256 = r.ofd_sha256;
      v1.size = static_cast<std::int64_t>(r.ofd.size());
      insert_rendition(c, v1, &r.ofd);
    }
    if (ctx.idempotency) {
      const auto [status, body] = ctx.response ? ctx.response(rec) : std::pair<int, std::string>{};
      // Only while this request still holds the key: if another request (instance) took it over
      // and completed it, this matches nothing and the whole issuance rolls back (one licence per
      // key).
      if (c.query("UPDATE idempotency SET state = 'done', status_code = $3, response = $4, "
                  "licence_id = $5 WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
                  {ctx.idempotency->principal, ctx.idempotency->key, status, body, rec.id})
              .affected != 1) {
        throw RegistryError(
            RegistryError::Code::kConflict,
            "idempotency key is no longer held by this request; nothing was issued");
      }
    }
  });
  if (out.committed) out.record.pdf = r.pdf;
  return out;
}

bool Registry::release_reservation(const IssueContext& ctx, const Allocation& a,
                                   const nlohmann::json& why) {
  bool voided = false;
  group_write([&](port::Connection& c) {
    voided = void_reservation(c, detail::reservation_of(ctx, a), why, ctx.now, ctx.actor);
  });
  return voided;
}

std::optional<LicenceRecord> Registry::get_licence(const std::string& id, bool with_pdf) {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kLicenceCols + (with_pdf ? ", pdf" : "") +
                           " FROM licences WHERE id = $1",
                       {id});
  if (r.empty()) return std::nullopt;
  LicenceRecord rec = read_licence(r.first());
  if (with_pdf) rec.pdf = r.first().blob(20);
  return rec;
}

ListPage Registry::list_licences(const ListQuery& q) {
  std::string sqlq = std::string("SELECT ") + kLicenceCols + " FROM licences WHERE 1 = 1";
  std::vector<Value> params;
  auto add = [&](const char* cond, Value p) {
    params.push_back(std::move(p));
    sqlq += std::string(" AND ") + cond + " $" + std::to_string(params.size());
  };
  if (q.department) add("department =", *q.department);
  if (q.status) add("status =", *q.status);
  if (q.template_id) add("template =", *q.template_id);
  if (q.issued_after) add("issued_at >", *q.issued_after);
  if (q.before_audit_index) add("audit_index <", *q.before_audit_index);
  // Keyset pagination on the unique audit_index (issue order): no OFFSET, stable under inserts.
  params.emplace_back(static_cast<std::int64_t>(q.limit) + 1);
  sqlq += " ORDER BY audit_index DESC LIMIT $" + std::to_string(params.size());
  Lease l(*this);
  auto r = l.c().query(sqlq, params);
  ListPage page;
  for (const auto& row : r.rows) page.items.push_back(read_licence(row));
  if (page.items.size() > static_cast<std::size_t>(q.limit)) {
    page.items.pop_back();
    page.next_before = page.items.back().audit_index;
  }
  return page;
}

std::optional<LicenceRecord> Registry::find_licence_by_pdf(const std::string& pdf_sha256) {
  return find_licence_by_rendition(pdf_sha256, kFormatPdf);
}

std::optional<LicenceRecord> Registry::find_licence_by_rendition(const std::string& sha256,
                                                                 const std::string& format) {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kLicenceCols +
                           " FROM licences WHERE id IN (SELECT licence_id FROM renditions WHERE "
                           "sha256 = $1 AND format = $2) ORDER BY audit_index LIMIT 1",
                       {sha256, format});
  if (r.empty()) return std::nullopt;
  return read_licence(r.first());
}

// ---- renditions ------------------------------------------------------------------------------

std::optional<Rendition> Registry::add_rendition(const std::string& id, const std::string& format,
                                                 const std::string& bytes,
                                                 const std::string& reason, std::int64_t now,
                                                 const Actor& by) {
  check_format(format);
  if (bytes.empty()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument, "rendition: bytes are empty");
  }
  if (reason.empty()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument, "rendition: reason is empty");
  }
  Lease l(*this);
  auto& c = l.c();
  // Ordered: the audit index is MAX+1 and the version MAX+1 under the same registry-wide lock.
  port::Tx tx(c, TxKind::kOrdered);
  auto lic = c.query("SELECT department FROM licences WHERE id = $1", {id});
  if (lic.empty()) return std::nullopt;
  Rendition out;
  out.licence_id = id;
  out.format = format;
  out.version = c.query("SELECT COALESCE(MAX(version), 0) + 1 FROM renditions WHERE "
                        "licence_id = $1 AND format = $2",
                        {id, format})
                    .first()
                    .int64(0);
  out.sha256 = sha256_hex(bytes);
  out.size = static_cast<std::int64_t>(bytes.size());
  out.created_at = now;
  out.reason = reason;
  out.audit_index = append_audit(c, now, by, "licence.rendition", id,
                                 {{"department", lic.first().text(0)},
                                  {"format", format},
                                  {"version", out.version},
                                  {"sha256", out.sha256},
                                  {"size", out.size},
                                  {"reason", reason}});
  insert_rendition(c, out, &bytes);
  tx.commit();
  return out;
}

std::vector<Rendition> Registry::list_renditions(const std::string& id) {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kRenditionCols +
                           " FROM renditions r WHERE r.licence_id = $1 ORDER BY r.format, "
                           "r.version",
                       {id});
  std::vector<Rendition> out;
  for (const auto& row : r.rows) out.push_back(read_rendition(row));
  return out;
}

std::optional<Rendition> Registry::latest_rendition(const std::string& id,
                                                    const std::string& format, bool with_bytes) {
  check_format(format);
  Lease l(*this);
  // pdf/1 keeps its bytes in licences.pdf (content NULL): COALESCE picks them.
  auto r = l.c().query(std::string("SELECT ") + kRenditionCols +
                           (with_bytes ? ", COALESCE(r.content, l.pdf)" : "") +
                           " FROM renditions r JOIN licences l ON l.id = r.licence_id WHERE "
                           "r.licence_id = $1 AND r.format = $2 ORDER BY r.version DESC LIMIT 1",
                       {id, format});
  if (r.empty()) return std::nullopt;
  Rendition out = read_rendition(r.first());
  if (with_bytes) out.bytes = r.first().blob(8);
  return out;
}

std::optional<RevokeResult> Registry::revoke_licence(const std::string& id,
                                                     const std::string& reason, std::int64_t now,
                                                     const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  auto r = c.query(std::string("SELECT ") + kLicenceCols + " FROM licences WHERE id = $1", {id});
  if (r.empty()) return std::nullopt;
  RevokeResult out;
  out.record = read_licence(r.first());
  if (out.record.status == "revoked") return out;  // idempotent: nothing written
  c.query("UPDATE licences SET status = 'revoked', revoked_at = $2, reason = $3 WHERE id = $1",
          {id, now, reason});
  append_audit(c, now, by, "licence.revoke", id,
               {{"department", out.record.department}, {"reason_sha256", sha256_hex(reason)}});
  tx.commit();
  out.record.status = "revoked";
  out.record.revoked_at = now;
  out.record.reason = reason;
  out.changed = true;
  return out;
}

std::int64_t Registry::count_licences() {
  Lease l(*this);
  return l.c().query("SELECT COUNT(*) FROM licences").first().int64(0);
}

// ---- seal key versions -----------------------------------------------------------------------

SealKeyVersion Registry::create_seal_key(const std::string& department, const std::string& key_ref,
                                         const std::string& algorithm, std::int64_t now,
                                         const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  SealKeyVersion v;
  v.version = c.query("SELECT COALESCE(MAX(version), 0) + 1 FROM seal_keys WHERE department = $1",
                      {department})
                  .first()
                  .int64(0);
  v.department = department;
  v.state = "pending";
  v.key_ref = key_ref;
  v.algorithm = algorithm;
  v.created_at = now;
  c.query(
      "INSERT INTO seal_keys(department, version, state, key_ref, algorithm, created_at) "
      "VALUES ($1, $2, 'pending', $3, $4, $5)",
      {department, v.version, key_ref, algorithm, now});
  append_audit(c, now, by, "seal.create", seal_object(v), seal_details(v));
  tx.commit();
  return v;
}

SealKeyVersion Registry::install_seal_certificate(const std::string& department,
                                                  std::int64_t version, const std::string& cert_der,
                                                  const std::string& chain_der,
                                                  std::int64_t not_before, std::int64_t not_after,
                                                  std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
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
  c.query(
      "UPDATE seal_keys SET cert_der = $3, chain_der = $4, cert_sha256 = $5, not_before = $6, "
      "not_after = $7 WHERE department = $1 AND version = $2",
      {department, version, Value::blob(cert_der), Value::blob(chain_der), v.cert_sha256,
       not_before, not_after});
  auto d = seal_details(v);
  d["not_before"] = not_before;
  d["not_after"] = not_after;
  append_audit(c, now, by, "seal.install", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion Registry::activate_seal_key(const std::string& department, std::int64_t version,
                                           std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  SealKeyVersion v = need_seal(c, department, version);
  now = rotation_time(c, department, now);
  if (v.state != "pending") {
    throw SealStateError(seal_name(v) + " is " + v.state +
                         ": only a pending version can be activated");
  }
  if (v.cert_der.empty()) {
    throw SealStateError(seal_name(v) + " has no certificate: install it before activating");
  }
  // Retire the current active version first, then activate, both in this transaction: no reader
  // ever sees zero or two active versions, and the partial UNIQUE index seal_keys_one_active
  // (checked per statement) would refuse the other order.
  std::optional<SealKeyVersion> old = active_seal_version(c, department);
  if (old) {
    retire_version(c, *old, now);
    auto d = seal_details(*old);
    d["replaced_by"] = version;
    append_audit(c, now, by, "seal.retire", seal_object(*old), d);
  }
  c.query(
      "UPDATE seal_keys SET state = 'active', activated_at = $3 WHERE department = $1 AND "
      "version = $2",
      {department, version, now});
  v.state = "active";
  v.activated_at = now;
  auto d = seal_details(v);
  if (old) d["replaces"] = old->version;
  append_audit(c, now, by, "seal.activate", seal_object(v), d);
  tx.commit();
  return v;
}

SealKeyVersion Registry::retire_seal_key(const std::string& department, std::int64_t version,
                                         std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
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

SealKeyVersion Registry::revoke_seal_key(const std::string& department, std::int64_t version,
                                         std::int64_t compromised_at, const std::string& reason,
                                         std::int64_t now, const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  SealKeyVersion v = need_seal(c, department, version);
  if (v.state == "revoked") {
    throw SealStateError(seal_name(v) + " is already revoked (compromised at " +
                         std::to_string(v.compromised_at.value_or(0)) +
                         "); the compromise time is never moved");
  }
  c.query(
      "UPDATE seal_keys SET state = 'revoked', revoked_at = $3, compromised_at = $4, reason = $5 "
      "WHERE department = $1 AND version = $2",
      {department, version, now, compromised_at, reason});
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

SealKeyVersion Registry::import_seal_key(const SealKeyVersion& v, std::int64_t now,
                                         const Actor& by) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  SealKeyVersion out = v;
  if (!out.cert_der.empty()) out.cert_sha256 = sha256_hex(out.cert_der);
  // A second active version of the department: the partial UNIQUE index refuses it (conflict).
  c.query(std::string("INSERT INTO seal_keys(") + kSealCols +
              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
          {out.department, out.version, out.state, out.key_ref, out.algorithm,
           Value::blob_or_null(out.cert_der), Value::blob(out.chain_der),
           out.cert_der.empty() ? Value() : Value(out.cert_sha256), out.not_before, out.not_after,
           out.created_at, out.activated_at, out.retired_at, out.revoked_at, out.compromised_at,
           out.reason});
  append_audit(c, now, by, "seal.import", seal_object(out), seal_details(out));
  tx.commit();
  return out;
}

std::vector<SealKeyVersion> Registry::list_seal_keys(const std::optional<std::string>& department) {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kSealCols +
                           " FROM seal_keys WHERE CAST($1 AS TEXT) IS NULL OR department = $1 "
                           "ORDER BY department, version",
                       {department});
  std::vector<SealKeyVersion> out;
  for (const auto& row : r.rows) out.push_back(read_seal(row));
  return out;
}

std::optional<SealKeyVersion> Registry::get_seal_key(const std::string& department,
                                                     std::int64_t version) {
  Lease l(*this);
  return load_seal(l.c(), department, version);
}

std::string Registry::seal_keys_fingerprint() {
  Lease l(*this);
  auto r = l.c().query(
      "SELECT CAST(count(*) + count(activated_at) + count(retired_at) + count(revoked_at) + "
      "count(CASE WHEN length(cert_der) > 0 THEN 1 END) AS TEXT), "
      "CAST(coalesce(sum(coalesce(activated_at, 0) + coalesce(retired_at, 0) + "
      "coalesce(revoked_at, 0) + coalesce(compromised_at, 0) + coalesce(not_before, 0)), 0) "
      "AS TEXT) FROM seal_keys",
      {});
  return r.first().text(0) + "/" + r.first().text(1);
}

std::optional<SealKeyVersion> Registry::find_seal_key_by_cert(const std::string& cert_sha256) {
  Lease l(*this);
  auto r = l.c().query(std::string("SELECT ") + kSealCols +
                           " FROM seal_keys WHERE cert_sha256 = $1 ORDER BY version LIMIT 1",
                       {cert_sha256});
  if (r.empty()) return std::nullopt;
  return read_seal(r.first());
}

// ---- audit -----------------------------------------------------------------------------------

std::int64_t Registry::record_event(const std::string& action, const std::string& object,
                                    const std::string& details_json, std::int64_t now,
                                    const Actor& by) {
  auto details = nlohmann::json::parse(details_json, nullptr, false);
  if (details.is_discarded()) details = nlohmann::json::object();
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kOrdered);
  const std::int64_t idx = append_audit(c, now, by, action, object, details);
  tx.commit();
  return idx;
}

void Registry::add_audit_checkpoint(const AuditCheckpointRow& cp) {
  Lease l(*this);
  auto& c = l.c();
  port::Tx tx(c, TxKind::kWrite);
  c.query(
      "INSERT INTO audit_checkpoints(tree_size, root_hash, signed_note, created_at) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
      {cp.tree_size, Value::blob(cp.root_hash), cp.signed_note, cp.created_at});
  tx.commit();
}

std::vector<AuditCheckpointRow> Registry::audit_checkpoints() {
  Lease l(*this);
  auto r = l.c().query(
      "SELECT tree_size, root_hash, signed_note, created_at FROM audit_checkpoints "
      "ORDER BY tree_size");
  std::vector<AuditCheckpointRow> out;
  for (const auto& row : r.rows) {
    out.push_back({row.int64(0), row.blob(1), row.text(2), row.int64(3)});
  }
  return out;
}

std::int64_t Registry::audit_size() {
  Lease l(*this);
  return l.c().query("SELECT COUNT(*) FROM audit_log").first().int64(0);
}

std::vector<AuditRow> Registry::audit_entries(std::int64_t from_idx, std::int64_t count) {
  Lease l(*this);
  auto r = l.c().query(
      "SELECT idx, ts, principal, action, object, request_id, details_json, leaf_hash "
      "FROM audit_log WHERE idx >= $1 ORDER BY idx LIMIT $2",
      {from_idx, count});
  std::vector<AuditRow> out;
  for (const auto& row : r.rows) {
    AuditRow a;
    a.idx = row.int64(0);
    a.ts = row.int64(1);
    a.principal = row.text(2);
    a.action = row.text(3);
    a.object = row.text(4);
    a.request_id = row.text(5);
    a.details_json = row.text(6);
    a.leaf_hash = row.blob(7);
    out.push_back(std::move(a));
  }
  return out;
}

// The factory, in one place: the location picks the driver; the rules are the same.
std::unique_ptr<Store> open_store(const std::string& location, const StoreOptions& options) {
  // A libpq connection URI selects the shared PostgreSQL registry (issue 11, pg_store.h).
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0) {
    return std::make_unique<Registry>(make_pg_driver(location, options), options);
  }
  if (location.empty()) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument, "store: path is empty");
  }
  return std::make_unique<Registry>(make_sqlite_driver(location, options), options);
}

}  // namespace certd
