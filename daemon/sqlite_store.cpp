#include "sqlite_store.h"

#include <map>
#include <mutex>
#include <string>

#include "sqlite.h"

namespace certd {

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> m = registry_migrations({"INTEGER", "BLOB"});
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
    sql::Stmt& st = cached(sqlq);
    // Whatever happens below, the statement goes back to the cache reset and unbound (the
    // parameters are bound by reference: they must not be read after this call).
    struct Reset {
      sql::Stmt& s;
      ~Reset() { s.reset(); }
    } reset{st};
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
          st.bind_text_ref(n, v.raw());
          break;
        case port::Value::kBlob:
          st.bind_blob_ref(n, v.raw());
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
  // The prepared statement of `sqlq` on this connection, compiled once and kept: preparing was
  // ~1/3 of an issuance's registry CPU when every query compiled its SQL anew. The registry's
  // SQL is a fixed set of strings, so the cache stays small; it is emptied if a caller ever
  // builds more than kMaxCached distinct statements.
  sql::Stmt& cached(std::string_view sqlq) {
    auto it = stmts_.find(sqlq);
    if (it != stmts_.end()) return it->second;
    if (stmts_.size() >= kMaxCached) stmts_.clear();
    sql::Stmt st = db_.prepare(sqlite_placeholders(sqlq));
    return stmts_.emplace(std::string(sqlq), std::move(st)).first->second;
  }

  static constexpr std::size_t kMaxCached = 256;
  sql::Db db_;
  std::mutex& write_mu_;
  std::unique_lock<std::mutex> lock_;  // held from begin() to commit()/rollback()
  // SQL text → prepared statement. Declared after db_: members are destroyed in reverse order,
  // so every statement is finalised before the connection closes.
  std::map<std::string, sql::Stmt, std::less<>> stmts_;
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
