#include "sqlite_store.h"

#include <mutex>
#include <string>

#include "sqlite.h"

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
  };
  return m;
}


namespace {

// The SQLite dialect of the registry's portable SQL (sql_port.h).
const port::Dialect& sqlite_dialect() {
  static const port::Dialect d{
      &sqlite_migrations(),
      "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at INTEGER NOT NULL)",
      "CAST(strftime('%s','now') AS INTEGER)",
      // No row locks: a write transaction (BEGIN IMMEDIATE) already excludes every other writer.
      "",
  };
  return d;
}

// `$1`…`$n` → `?1`…`?n` (SQLite's numbered parameters; https://www.sqlite.org/lang_expr.html
// "Parameters"), outside string literals. A `$` followed by digits in SQLite would be a *named*
// parameter whose index depends on the order of first appearance, not the number.
std::string sqlite_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool quoted = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char ch = sql[i];
    if (ch == '\'') quoted = !quoted;
    if (!quoted && ch == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out += '?';
      continue;
    }
    out += ch;
  }
  return out;
}

// One SQLite connection as a port::Connection. Writers of this process queue on the driver's
// mutex before BEGIN IMMEDIATE (fair queueing instead of SQLite's sleep-and-retry busy handler);
// other processes (certctl …) wait on the busy timeout.
class SqliteConnection final : public port::Connection {
 public:
  SqliteConnection(sql::Db db, std::mutex& write_mu) : db_(std::move(db)), write_mu_(write_mu) {}
  ~SqliteConnection() override { rollback(); }

  port::Result query(std::string_view sqlq, const std::vector<port::Value>& params) override {
    auto st = db_.prepare(sqlite_placeholders(sqlq));
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int n = static_cast<int>(i) + 1;
      const port::Value& v = params[i];
      switch (v.kind()) {
        case port::Value::kNull:
          st.bind_null(n);
          break;
        case port::Value::kInt:
          st.bind(n, v.raw_int());
          break;
        case port::Value::kText:
          st.bind(n, std::string_view(v.raw()));
          break;
        case port::Value::kBlob:
          st.bind_blob(n, v.raw());
          break;
      }
    }
    // total_changes, not changes(): an INSERT … ON CONFLICT DO NOTHING that inserts nothing must
    // count 0, whatever the previous statement changed.
    const std::int64_t before = db_.total_changes();
    port::Result r;
    while (st.step()) {
      std::vector<port::Value> cols;
      const int n = st.columns();
      cols.reserve(static_cast<std::size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (st.column_type(c)) {
          case SQLITE_NULL:
            cols.emplace_back();
            break;
          case SQLITE_INTEGER:
            cols.emplace_back(st.int64(c));
            break;
          case SQLITE_BLOB:
            cols.push_back(port::Value::blob(st.blob(c)));
            break;
          default:
            cols.emplace_back(st.text(c));
            break;
        }
      }
      r.rows.emplace_back(std::move(cols));
    }
    r.affected = db_.total_changes() - before;
    return r;
  }

  void script(const std::string& sqlq) override { db_.exec(sqlq); }

  void begin(port::TxKind /*kind*/) override {
    // Every kind is a write here: BEGIN IMMEDIATE takes the write lock up front, so two writers
    // never deadlock upgrading a read lock (and kOrdered/kSchema need nothing more: SQLite has
    // one writer at a time).
    std::unique_lock lock(write_mu_);
    db_.exec("BEGIN IMMEDIATE");
    lock_ = std::move(lock);
  }
  void commit() override {
    db_.exec("COMMIT");
    if (lock_.owns_lock()) lock_.unlock();
  }
  void rollback() noexcept override {
    if (!lock_.owns_lock()) return;
    sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    lock_.unlock();
  }
  [[nodiscard]] bool reusable() const override { return !db_.poisoned(); }

 private:
  sql::Db db_;
  std::mutex& write_mu_;
  std::unique_lock<std::mutex> lock_;  // held from begin() to commit()/rollback()
};

class SqliteDriver final : public port::Driver {
 public:
  SqliteDriver(std::string path, const StoreOptions& o)
      : path_(std::move(path)), busy_timeout_ms_(o.busy_timeout_ms), vfs_(o.sqlite_vfs) {}

  std::unique_ptr<port::Connection> connect() override {
    return std::make_unique<SqliteConnection>(
        sql::Db::open(path_, busy_timeout_ms_, vfs_.empty() ? nullptr : vfs_.c_str()), write_mu_);
  }
  [[nodiscard]] const port::Dialect& dialect() const override { return sqlite_dialect(); }

 private:
  std::string path_;
  int busy_timeout_ms_;
  std::string vfs_;
  std::mutex write_mu_;  // serialises this process's write transactions
};

}  // namespace

std::unique_ptr<port::Driver> make_sqlite_driver(const std::string& path,
                                                 const StoreOptions& options) {
  return std::make_unique<SqliteDriver>(path, options);
}

}  // namespace certd
