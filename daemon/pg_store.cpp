#include "pg_store.h"

#include <algorithm>
#include <string>

#include "pg.h"
#include "sqlite_store.h"  // sqlite_migrations(): the portable ones are shared

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


namespace {

const port::Dialect& pg_dialect() {
  static const port::Dialect d{
      &pg_migrations(),
      "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at BIGINT NOT NULL)",
      "EXTRACT(EPOCH FROM now())::bigint",
      // READ COMMITTED: a row read to decide a write must be locked until the commit.
      " FOR UPDATE",
  };
  return d;
}

// One libpq connection as a port::Connection: the portable SQL is PostgreSQL's already ($n
// placeholders); parameters travel as text, bytes as binary bytea; bytea columns are decoded.
class PgConnection final : public port::Connection {
 public:
  explicit PgConnection(pg::Conn c) : c_(std::move(c)) {}
  ~PgConnection() override { rollback(); }

  port::Result query(std::string_view sqlq, const std::vector<port::Value>& params) override {
    std::vector<pg::Param> ps;
    ps.reserve(params.size());
    for (const auto& v : params) {
      switch (v.kind()) {
        case port::Value::kNull:
          ps.push_back(pg::Param::null());
          break;
        case port::Value::kInt:
          ps.emplace_back(v.raw_int());
          break;
        case port::Value::kText:
          ps.emplace_back(v.raw());
          break;
        case port::Value::kBlob:
          ps.push_back(pg::Param::blob(v.raw()));
          break;
      }
    }
    const pg::Result r = c_.exec_params(std::string(sqlq), ps);
    port::Result out;
    out.affected = r.affected();
    const int ncols = r.columns();
    out.rows.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      std::vector<port::Value> cols;
      cols.reserve(static_cast<std::size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (r.is_null(i, c)) {
          cols.emplace_back();
        } else if (r.is_bytea(c)) {
          cols.push_back(port::Value::blob(r.blob(i, c)));
        } else {
          cols.emplace_back(r.text(i, c));
        }
      }
      out.rows.emplace_back(std::move(cols));
    }
    return out;
  }

  void script(const std::string& sqlq) override { c_.exec(sqlq); }

  void begin(port::TxKind kind) override {
    c_.exec("BEGIN");
    in_tx_ = true;
    // The transaction-scoped advisory locks (released by COMMIT/ROLLBACK) are PostgreSQL's
    // counterpart of SQLite's BEGIN IMMEDIATE, held by one transaction in the whole cluster of
    // certd instances.
    if (kind == port::TxKind::kOrdered) {
      c_.exec_params("SELECT pg_advisory_xact_lock($1)", {pg::Param(kRegistryWriteLock)});
    } else if (kind == port::TxKind::kSchema) {
      c_.exec_params("SELECT pg_advisory_xact_lock($1)", {pg::Param(kMigrationLock)});
    }
  }
  void commit() override {
    c_.exec("COMMIT");
    in_tx_ = false;
  }
  void rollback() noexcept override {
    if (!in_tx_) return;
    in_tx_ = false;
    try {
      c_.exec("ROLLBACK");
    } catch (...) {  // NOLINT(bugprone-empty-catch): a broken connection rolls back by itself
    }
  }
  [[nodiscard]] bool reusable() const override { return c_.ok(); }

 private:
  pg::Conn c_;
  bool in_tx_ = false;
};

class PgDriver final : public port::Driver {
 public:
  PgDriver(std::string conninfo, const StoreOptions& o)
      : conninfo_(std::move(conninfo)), busy_timeout_ms_(o.busy_timeout_ms) {}

  std::unique_ptr<port::Connection> connect() override {
    pg::Conn c = pg::Conn::open(conninfo_);
    // A writer waits for the registry write lock at most this long, then fails with busy() (HTTP
    // 503 + Retry-After), like SQLite's busy timeout; six times longer, because here every
    // waiting writer is "another process" (SQLite queues this process's writers on a mutex,
    // without limit).
    c.exec("SET lock_timeout = " + std::to_string(std::max(1000, busy_timeout_ms_) * 6));
    return std::make_unique<PgConnection>(std::move(c));
  }
  [[nodiscard]] const port::Dialect& dialect() const override { return pg_dialect(); }

 private:
  std::string conninfo_;
  int busy_timeout_ms_;
};

}  // namespace

std::unique_ptr<port::Driver> make_pg_driver(const std::string& conninfo,
                                             const StoreOptions& options) {
  return std::make_unique<PgDriver>(conninfo, options);
}

}  // namespace certd
