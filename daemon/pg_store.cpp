#include "pg_store.h"

#include <algorithm>
#include <string>

#include "pg.h"

namespace certd {

const std::vector<Migration>& pg_migrations() {
  static const std::vector<Migration> m = registry_migrations({"BIGINT", "BYTEA"});
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
