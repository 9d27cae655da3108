// daemon/sqlite.h (private to certd) — RAII ownership of sqlite3* and sqlite3_stmt*, and the one
// place that turns an SQLite result code into a certd::RegistryError (registry_error.h):
// BUSY/LOCKED → busy; READONLY/IOERR/FULL/CANTOPEN/PERM/NOMEM → unavailable; CORRUPT/NOTADB →
// corrupt; CONSTRAINT → conflict; anything else → internal. A connection that failed with
// unavailable or corrupt is marked poisoned(): the pool drops it instead of handing it out again
// (a connection opened while the file was read-only stays read-only for its whole life).
//
//   certd::sql::Db db = certd::sql::Db::open("registry.db");
//   certd::sql::Tx tx(db, certd::sql::Tx::kImmediate);     // BEGIN IMMEDIATE
//   auto st = db.prepare("INSERT INTO t(a) VALUES (?1)");
//   st.bind(1, "x");
//   st.run();
//   tx.commit();                                           // otherwise ROLLBACK in ~Tx
//
// Thread-safety: a Db (one connection) is used by one thread at a time; the registry's SQLite
// driver (sqlite_store.h) wraps one per port::Connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "registry_error.h"

namespace certd {

namespace sql {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
};

// The connection and what its errors taught us; owned by Db, shared with its statements.
struct Handle {
  std::unique_ptr<sqlite3, DbCloser> db;
  bool poisoned = false;  // hit unavailable/corrupt: never reuse
};

class Stmt {
 public:
  Stmt(Handle* h, sqlite3_stmt* st) : h_(h), st_(st) {}

  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_blob(int i, std::string_view bytes);
  // Binds without copying (SQLITE_STATIC): `bytes` must stay alive and unchanged until reset().
  // For the registry's cached statements, whose parameters outlive their one execution (a
  // licence's PDF is bound where it lies instead of being copied once more).
  Stmt& bind_text_ref(int i, std::string_view text);
  Stmt& bind_blob_ref(int i, std::string_view bytes);
  Stmt& bind_null(int i);
  Stmt& bind(int i, const std::optional<std::string>& v) {
    return v ? bind(i, std::string_view(*v)) : bind_null(i);
  }
  Stmt& bind(int i, const std::optional<std::int64_t>& v) { return v ? bind(i, *v) : bind_null(i); }

  // Steps once: true when a row is available, false when done. Throws RegistryError.
  bool step();
  // Steps to completion (for statements that return no rows).
  void run();
  void reset();

  [[nodiscard]] int columns() const { return sqlite3_column_count(st_.get()); }
  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL, of the current row.
  [[nodiscard]] int column_type(int col) const { return sqlite3_column_type(st_.get(), col); }
  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::string text(int col) const;
  [[nodiscard]] std::optional<std::string> opt_text(int col) const;
  [[nodiscard]] std::string blob(int col) const;
  [[nodiscard]] std::int64_t int64(int col) const;
  [[nodiscard]] std::optional<std::int64_t> opt_int64(int col) const;

 private:
  Handle* h_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> st_;
};

class Db {
 public:
  // Opens (creating if needed) the file, sets WAL, busy_timeout, foreign keys. Throws
  // RegistryError. A write-protected file is opened read-only by SQLite without an error: such a
  // connection is poisoned() from the start (usable for reads, never pooled).
  // `vfs`: an SQLite VFS name (nullptr: the default; tests pass FaultVfs's, sqlite_fault.h).
  static Db open(const std::string& path, int busy_timeout_ms, const char* vfs = nullptr);

  void exec(const std::string& sql);
  [[nodiscard]] Stmt prepare(std::string_view sql);
  [[nodiscard]] int changes() const { return sqlite3_changes(h_->db.get()); }
  [[nodiscard]] std::int64_t total_changes() const { return sqlite3_total_changes64(h_->db.get()); }
  [[nodiscard]] sqlite3* raw() const { return h_->db.get(); }
  // True once a call failed with unavailable or corrupt: the pool must drop this connection.
  [[nodiscard]] bool poisoned() const { return h_->poisoned; }

 private:
  explicit Db(sqlite3* db) : h_(std::make_unique<Handle>()) { h_->db.reset(db); }
  std::unique_ptr<Handle> h_;
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

// The RegistryError code of an SQLite (extended) result code.
RegistryError::Code map_code(int rc);

// Throws RegistryError(map_code(rc), what + ": " + sqlite3_errmsg) unless rc is one of the ok
// codes; marks the connection poisoned for unavailable/corrupt.
void check(Handle* h, int rc, std::string_view what);

}  // namespace sql
}  // namespace certd
