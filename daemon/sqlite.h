// daemon/sqlite.h (private to certd) — RAII ownership of sqlite3* and sqlite3_stmt*, and the one
// place that turns an SQLite result code into a certd::StoreError.
//
//   certd::sql::Db db = certd::sql::Db::open("registry.db");
//   certd::sql::Tx tx(db, certd::sql::Tx::kImmediate);     // BEGIN IMMEDIATE
//   auto st = db.prepare("INSERT INTO t(a) VALUES (?1)");
//   st.bind(1, "x");
//   st.run();
//   tx.commit();                                           // otherwise ROLLBACK in ~Tx
//
// Thread-safety: a Db (one connection) is used by one thread at a time; SqliteStore hands
// connections out of a pool.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace certd {

// A failure of the registry's database. `busy()` means the database stayed locked past the busy
// timeout (HTTP 503 + Retry-After); `constraint()` a UNIQUE/CHECK violation.
class StoreError : public std::runtime_error {
 public:
  StoreError(int sqlite_code, std::string message)
      : std::runtime_error(std::move(message)), code_(sqlite_code) {}
  [[nodiscard]] int code() const noexcept { return code_; }
  [[nodiscard]] bool busy() const noexcept {
    return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED;
  }
  [[nodiscard]] bool constraint() const noexcept { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

 private:
  int code_;
};

namespace sql {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
};

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}

  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_blob(int i, std::string_view bytes);
  Stmt& bind_null(int i);
  Stmt& bind(int i, const std::optional<std::string>& v) {
    return v ? bind(i, std::string_view(*v)) : bind_null(i);
  }
  Stmt& bind(int i, const std::optional<std::int64_t>& v) { return v ? bind(i, *v) : bind_null(i); }

  // Steps once: true when a row is available, false when done. Throws StoreError.
  bool step();
  // Steps to completion (for statements that return no rows).
  void run();
  void reset();

  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::string text(int col) const;
  [[nodiscard]] std::optional<std::string> opt_text(int col) const;
  [[nodiscard]] std::string blob(int col) const;
  [[nodiscard]] std::int64_t int64(int col) const;
  [[nodiscard]] std::optional<std::int64_t> opt_int64(int col) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> st_;
};

class Db {
 public:
  // Opens (creating if needed) the file, sets WAL, busy_timeout, foreign keys. Throws StoreError.
  static Db open(const std::string& path, int busy_timeout_ms);

  void exec(const std::string& sql);
  [[nodiscard]] Stmt prepare(std::string_view sql);
  [[nodiscard]] int changes() const { return sqlite3_changes(db_.get()); }
  [[nodiscard]] sqlite3* raw() const { return db_.get(); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, DbCloser> db_;
};

// A transaction: BEGIN (DEFERRED, for consistent multi-statement reads) or BEGIN IMMEDIATE (every
// write: takes the write lock up front, so two writers never deadlock upgrading a read lock).
// Rolled back by the destructor unless commit() was called.
class Tx {
 public:
  enum Kind { kDeferred, kImmediate };
  Tx(Db& db, Kind kind);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

// Throws StoreError(rc, what + ": " + sqlite3_errmsg) unless rc is one of the ok codes.
void check(sqlite3* db, int rc, std::string_view what);

}  // namespace sql
}  // namespace certd
