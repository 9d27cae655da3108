// daemon/sql_port.h (private to certd) — the narrow SQL connection port that the registry's rules
// (registry.h) are written against, and that each database driver implements (sqlite_store.cpp:
// SQLite, pg_store.cpp: PostgreSQL). The rules are written once; a driver only opens a connection,
// rewrites placeholders, binds, steps, converts its column types and maps its errors to
// certd::RegistryError — the model is qpdf's QPDFCryptoImpl/QPDFCryptoProvider.
//
//   std::unique_ptr<certd::port::Driver> d = certd::make_sqlite_driver("registry.db", options);
//   std::unique_ptr<certd::port::Connection> c = d->connect();
//   certd::port::Tx tx(*c, certd::port::TxKind::kOrdered);   // BEGIN IMMEDIATE / advisory lock
//   auto r = c->query("SELECT version FROM seal_keys WHERE department = $1", {"samr"});
//   for (const auto& row : r.rows) use(row.int64(0));
//   tx.commit();                                             // otherwise rolled back by ~Tx
//
// The portable SQL the registry writes: `$1`…`$n` placeholders (a number may repeat), `CAST($1 AS
// TEXT)` where a parameter's type is not implied, `INSERT … ON CONFLICT … DO NOTHING/UPDATE`,
// `RETURNING`, table-qualified column names in `DO UPDATE SET`. What differs per engine lives in
// Dialect (a small table: the first migration's DDL types, a row-lock suffix, the clock) and in
// the meaning of TxKind — never in duplicated business code.
//
// Failure: every method throws RegistryError (registry_error.h); a connection that failed with
// kUnavailable or kCorrupt (READONLY/IOERR/FULL/NOTADB, a lost server, a read-only standby)
// reports reusable() == false and is dropped by the registry's pool, not handed out again.
// Thread-safety: a Connection is used by one thread at a time; a Driver's connect() may be called
// from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry_error.h"

namespace certd {

// One numbered schema migration (applied once, in order, recorded in schema_migrations).
struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// The type names a dialect gives the registry schema's INT64 and BYTES columns.
struct SchemaTypes {
  const char* int64;  // SQLite: INTEGER; PostgreSQL: BIGINT
  const char* bytes;  // SQLite: BLOB; PostgreSQL: BYTEA
};

// The registry's numbered migrations (migrations.cpp), written once, in a dialect's types.
std::vector<Migration> registry_migrations(const SchemaTypes& types);

namespace port {

// A bound parameter or a column value: NULL, a 64-bit integer, text or bytes. Accessors convert
// between integer and text (PostgreSQL's text-format results carry integers as text).
class Value {
 public:
  enum Kind { kNull, kInt, kText, kBlob };

  Value() = default;
  Value(std::string_view s) : kind_(kText), s_(s) {}          // NOLINT: implicit by design
  Value(const char* s) : kind_(kText), s_(s) {}               // NOLINT
  Value(const std::string& s) : kind_(kText), s_(s) {}        // NOLINT
  Value(std::string&& s) : kind_(kText), s_(std::move(s)) {}  // NOLINT
  Value(std::int64_t v) : kind_(kInt), i_(v) {}               // NOLINT
  Value(int v) : kind_(kInt), i_(v) {}                        // NOLINT
  Value(const std::optional<std::string>& v)                  // NOLINT
      : kind_(v ? kText : kNull), s_(v.value_or("")) {}
  Value(const std::optional<std::int64_t>& v)  // NOLINT
      : kind_(v ? kInt : kNull), i_(v.value_or(0)) {}
  static Value blob(std::string_view bytes) {
    Value v;
    v.kind_ = kBlob;
    v.s_ = std::string(bytes);
    return v;
  }
  // Bytes, or NULL when empty (optional BLOB/BYTEA columns).
  static Value blob_or_null(std::string_view bytes) {
    return bytes.empty() ? Value() : blob(bytes);
  }

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] bool is_null() const { return kind_ == kNull; }
  // Text or bytes ("" for NULL, the decimal digits of an integer).
  [[nodiscard]] std::string text() const;
  [[nodiscard]] std::optional<std::string> opt_text() const {
    return is_null() ? std::nullopt : std::optional<std::string>(text());
  }
  // The integer (parsed from text; 0 for NULL). Throws RegistryError(kCorrupt) for text that is
  // not an integer.
  [[nodiscard]] std::int64_t int64() const;
  [[nodiscard]] std::optional<std::int64_t> opt_int64() const {
    return is_null() ? std::nullopt : std::optional<std::int64_t>(int64());
  }
  // The raw text/bytes, for drivers binding it.
  [[nodiscard]] const std::string& raw() const { return s_; }
  [[nodiscard]] std::int64_t raw_int() const { return i_; }

 private:
  Kind kind_ = kNull;
  std::int64_t i_ = 0;
  std::string s_;
};

// One result row: its columns in SELECT order.
class Row {
 public:
  explicit Row(std::vector<Value> cols) : cols_(std::move(cols)) {}
  [[nodiscard]] bool is_null(std::size_t c) const { return at(c).is_null(); }
  [[nodiscard]] std::string text(std::size_t c) const { return at(c).text(); }
  [[nodiscard]] std::optional<std::string> opt_text(std::size_t c) const {
    return at(c).opt_text();
  }
  // BLOB/BYTEA bytes ("" for NULL).
  [[nodiscard]] std::string blob(std::size_t c) const { return at(c).text(); }
  [[nodiscard]] std::int64_t int64(std::size_t c) const { return at(c).int64(); }
  [[nodiscard]] std::optional<std::int64_t> opt_int64(std::size_t c) const {
    return at(c).opt_int64();
  }

 private:
  [[nodiscard]] const Value& at(std::size_t c) const;
  std::vector<Value> cols_;
};

// What one statement returned: its rows (all of them, already read) and, for INSERT/UPDATE/DELETE,
// how many rows it changed.
struct Result {
  std::vector<Row> rows;
  std::int64_t affected = 0;
  [[nodiscard]] bool empty() const { return rows.empty(); }
  [[nodiscard]] const Row& first() const;  // throws RegistryError(kInternal) when empty
};

// The isolation a transaction needs; each driver maps it to its engine.
enum class TxKind {
  // Writes ordered only by row locks and constraints (idempotency keys, checkpoints).
  // SQLite: BEGIN IMMEDIATE (one writer at a time anyway). PostgreSQL: BEGIN (READ COMMITTED).
  kWrite,
  // Writes in one global order across every certd instance: an audit append (gap-free index),
  // the serial counter and status-list draw, a seal rotation against the issuance commit.
  // SQLite: BEGIN IMMEDIATE. PostgreSQL: BEGIN + pg_advisory_xact_lock(kRegistryWriteLock).
  kOrdered,
  // Schema migrations: as kOrdered, under a lock of their own (PostgreSQL: kMigrationLock), so
  // two instances starting at once apply each migration once.
  kSchema,
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement in the portable SQL above with `params` bound to $1…$n, and reads every
  // row. Throws RegistryError.
  virtual Result query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Runs several statements without parameters (a migration script). Throws RegistryError.
  virtual void script(const std::string& sql) = 0;
  virtual void begin(TxKind kind) = 0;
  virtual void commit() = 0;
  // Never throws: a broken connection has rolled back by itself.
  virtual void rollback() noexcept = 0;
  // false once a call failed with kUnavailable or kCorrupt, or the connection broke: the pool
  // must drop it (a SQLite connection opened while the file was read-only stays read-only).
  [[nodiscard]] virtual bool reusable() const = 0;
};

// A transaction on a Connection, rolled back by the destructor unless commit() was called.
class Tx {
 public:
  Tx(Connection& c, TxKind kind) : c_(c) { c_.begin(kind); }
  ~Tx() {
    if (!done_) c_.rollback();
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit() {
    c_.commit();
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// What differs in the SQL text itself between engines.
struct Dialect {
  const std::vector<Migration>* migrations;  // the numbered migrations in this dialect
  const char* schema_migrations_ddl;         // CREATE TABLE IF NOT EXISTS schema_migrations(...)
  const char* now_epoch;                     // an SQL expression: the server's clock, Unix seconds
  const char* row_lock;                      // appended to a SELECT that must lock its rows
};

class Driver {
 public:
  virtual ~Driver() = default;
  // A new connection (the registry pools them). Throws RegistryError (kUnavailable: unreachable,
  // cannot open).
  [[nodiscard]] virtual std::unique_ptr<Connection> connect() = 0;
  [[nodiscard]] virtual const Dialect& dialect() const = 0;
};

}  // namespace port
}  // namespace certd
