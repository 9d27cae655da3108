#include "sqlite.h"

#include <climits>

namespace certd::sql {

RegistryError::Code map_code(int rc) {
  using C = RegistryError::Code;
  // Primary codes (the low byte of an extended code), https://www.sqlite.org/rescode.html.
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return C::kBusy;
    case SQLITE_READONLY:  // write-protected file or directory, read-only mount
    case SQLITE_IOERR:     // write/fsync/read failed (EIO, EFBIG, ...)
    case SQLITE_FULL:      // disk (or quota) full
    case SQLITE_CANTOPEN:  // file or its directory unreachable
    case SQLITE_PERM:
    case SQLITE_NOMEM:
    case SQLITE_NOLFS:
      return C::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return C::kCorrupt;
    case SQLITE_CONSTRAINT:
      return C::kConflict;
    default:
      return C::kInternal;
  }
}

namespace {

[[noreturn]] void raise(Handle* h, int rc, std::string msg) {
  const RegistryError::Code code = map_code(rc);
  if (h != nullptr &&
      (code == RegistryError::Code::kUnavailable || code == RegistryError::Code::kCorrupt)) {
    h->poisoned = true;
  }
  throw RegistryError(code, std::move(msg));
}

int text_len(std::string_view s) {
  if (s.size() > static_cast<std::size_t>(INT_MAX)) {
    throw RegistryError(RegistryError::Code::kInternal, "value too large for the registry");
  }
  return static_cast<int>(s.size());
}

}  // namespace

void check(Handle* h, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  sqlite3* db = h != nullptr ? h->db.get() : nullptr;
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  raise(h, db != nullptr ? sqlite3_extended_errcode(db) : rc, std::move(msg));
}

Stmt& Stmt::bind(int i, std::string_view text) {
  check(h_, sqlite3_bind_text(st_.get(), i, text.data(), text_len(text), SQLITE_TRANSIENT),
        "bind");
  return *this;
}
Stmt& Stmt::bind(int i, std::int64_t v) {
  check(h_, sqlite3_bind_int64(st_.get(), i, v), "bind");
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view bytes) {
  check(h_, sqlite3_bind_blob(st_.get(), i, bytes.data(), text_len(bytes), SQLITE_TRANSIENT),
        "bind");
  return *this;
}
Stmt& Stmt::bind_text_ref(int i, std::string_view text) {
  check(h_, sqlite3_bind_text(st_.get(), i, text.data(), text_len(text), SQLITE_STATIC), "bind");
  return *this;
}
Stmt& Stmt::bind_blob_ref(int i, std::string_view bytes) {
  check(h_, sqlite3_bind_blob(st_.get(), i, bytes.data(), text_len(bytes), SQLITE_STATIC),
        "bind");
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  check(h_, sqlite3_bind_null(st_.get(), i), "bind");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(st_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  check(h_, rc, sqlite3_sql(st_.get()) != nullptr ? sqlite3_sql(st_.get()) : "step");
  return false;
}
void Stmt::run() {
  while (step()) {
  }
}
void Stmt::reset() {
  sqlite3_reset(st_.get());
  sqlite3_clear_bindings(st_.get());
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(st_.get(), col) == SQLITE_NULL; }
std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(st_.get(), col);
  const int n = sqlite3_column_bytes(st_.get(), col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}
std::optional<std::string> Stmt::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}
std::string Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(st_.get(), col);
  const int n = sqlite3_column_bytes(st_.get(), col);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}
std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(st_.get(), col); }
std::optional<std::int64_t> Stmt::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

Db Db::open(const std::string& path, int busy_timeout_ms, const char* vfs) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
  Db db(raw);  // owns the handle even when open failed (sqlite3 allocates one anyway)
  if (rc != SQLITE_OK) {
    raise(db.h_.get(), rc,
          "opening registry " + path + ": " +
              (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  // sqlite3_open_v2 with READWRITE opens a write-protected file read-only without an error
  // (https://www.sqlite.org/c3ref/open.html); such a connection fails every write for as long as
  // it lives, even after the file is writable again. It may serve this lease (reads work, writes
  // fail with READONLY → unavailable) but is never pooled.
  if (sqlite3_db_readonly(raw, "main") == 1) db.h_->poisoned = true;
  sqlite3_extended_result_codes(raw, 1);
  check(db.h_.get(), sqlite3_busy_timeout(raw, busy_timeout_ms), "busy_timeout");
  // WAL: readers never block the writer and vice versa; synchronous=FULL so that a commit that
  // was acknowledged survives a power loss (a licence a client was told about is never lost).
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=ON");
  // Statement and savepoint journals (the group commit runs each write in a SAVEPOINT,
  // registry.h) in memory: by default a sub-journal past 64 KiB spills to a new temp file
  // (create, write, unlink: ~0.45 per licence under load, bench/README.md "certd's own cost …
  // session 8"). They only undo work inside an open transaction, which a crash discards with the
  // uncommitted WAL frames anyway (https://www.sqlite.org/tempfiles.html §2.5, §2.6), so
  // durability is unchanged; the memory is bounded by the pages one batch changes.
  db.exec("PRAGMA temp_store=MEMORY");
  return db;
}

void Db::exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(raw(), sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    raise(h_.get(), sqlite3_extended_errcode(raw()), "sql: " + msg);
  }
}

Stmt Db::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v2(raw(), sql.data(), text_len(sql), &st, nullptr);
  Stmt s(h_.get(), st);
  check(h_.get(), rc, "prepare");
  return s;
}

Tx::Tx(Db& db, Kind kind) : db_(db) { db_.exec(kind == kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"); }
Tx::~Tx() {
  if (!done_) {
    sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}
void Tx::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace certd::sql
