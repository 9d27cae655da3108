// daemon/pg.h (private to certd) — RAII ownership of libpq's PGconn* and PGresult*, and the one
// place that turns a PostgreSQL error (SQLSTATE) into a certd::RegistryError (registry_error.h),
// in the style of sqlite.h.
//
//   certd::pg::Conn c = certd::pg::Conn::open("postgresql://certd@db/registry");
//   certd::pg::Tx tx(c);                                        // BEGIN (READ COMMITTED)
//   c.exec_params("SELECT pg_advisory_xact_lock($1)", {certd::pg::Param(7)});
//   auto r = c.exec_params("INSERT INTO t(a) VALUES ($1) RETURNING id", {certd::pg::Param("x")});
//   std::int64_t id = r.int64(0, 0);
//   tx.commit();                                                // otherwise ROLLBACK in ~Tx
//
// Parameters travel in libpq's text format, except bytea parameters (Param::blob), which travel
// in binary so that arbitrary bytes need no escaping. Results are text format; bytea columns are
// decoded with PQunescapeBytea.
//
// SQLSTATE (PostgreSQL Appendix A) → RegistryError code: class 23 (integrity constraint) →
// conflict; 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available,
// 57014 query_canceled (lock/statement timeout) → busy; class 08 (connection exception), class 53
// (insufficient resources: disk full, out of memory, too many connections), 57P01-57P03
// (shutdown), 25006 read_only_sql_transaction (a hot standby or default_transaction_read_only)
// and a broken connection → unavailable; XX001/XX002 (data/index corrupted) → corrupt; the rest
// → internal. A Conn that failed with unavailable or corrupt is poisoned() and never pooled again.
//
// Thread-safety: a Conn is used by one thread at a time; the registry's PostgreSQL driver
// (pg_store.h) wraps one per port::Connection.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry_error.h"

namespace certd::pg {

struct ConnCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

// One statement parameter: text (libpq text format), bytes (binary bytea) or NULL.
struct Param {
  enum Kind { kText, kBlob, kNull } kind = kNull;
  std::string value;

  Param() = default;
  Param(std::string_view s) : kind(kText), value(s) {}              // NOLINT: implicit by design
  Param(const char* s) : kind(kText), value(s) {}                   // NOLINT
  Param(const std::string& s) : kind(kText), value(s) {}            // NOLINT
  Param(std::int64_t v) : kind(kText), value(std::to_string(v)) {}  // NOLINT
  Param(int v) : kind(kText), value(std::to_string(v)) {}           // NOLINT
  Param(const std::optional<std::string>& v) : kind(v ? kText : kNull), value(v.value_or("")) {}
  Param(const std::optional<std::int64_t>& v)
      : kind(v ? kText : kNull), value(v ? std::to_string(*v) : std::string()) {}
  static Param blob(std::string_view bytes) {
    Param p;
    p.kind = kBlob;
    p.value = std::string(bytes);
    return p;
  }
  static Param null() { return {}; }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  [[nodiscard]] int rows() const { return PQntuples(r_.get()); }
  [[nodiscard]] int columns() const { return PQnfields(r_.get()); }
  // True for a bytea column (type OID 17, pg_type.h BYTEAOID): its text form is escaped.
  [[nodiscard]] bool is_bytea(int col) const { return PQftype(r_.get(), col) == 17; }
  [[nodiscard]] std::int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE
  [[nodiscard]] bool is_null(int row, int col) const {
    return PQgetisnull(r_.get(), row, col) != 0;
  }
  [[nodiscard]] std::string text(int row, int col) const;
  [[nodiscard]] std::optional<std::string> opt_text(int row, int col) const;
  [[nodiscard]] std::string blob(int row, int col) const;  // bytea column (hex output)
  [[nodiscard]] std::int64_t int64(int row, int col) const;
  [[nodiscard]] std::optional<std::int64_t> opt_int64(int row, int col) const;
  [[nodiscard]] const PGresult* raw_for_check() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, ResultClearer> r_;
};

class Conn {
 public:
  // Connects (a libpq connection URI or key=value string). Throws RegistryError (unavailable:
  // the server may be starting or unreachable, so a probe should retry).
  static Conn open(const std::string& conninfo);

  // Runs one or more statements without parameters (migrations). Throws RegistryError.
  void exec(const std::string& sql);
  // One statement with $n parameters. Throws RegistryError.
  Result exec_params(const std::string& sql, const std::vector<Param>& params = {});
  // false once the connection broke (then the pool drops it instead of reusing it).
  // and once a call failed with unavailable or corrupt (a read-only standby, a full disk).
  [[nodiscard]] bool ok() const { return !poisoned_ && PQstatus(c_.get()) == CONNECTION_OK; }

 private:
  explicit Conn(PGconn* c) : c_(c) {}
  [[noreturn]] void fail_here(const PGresult* r, std::string_view what);
  std::unique_ptr<PGconn, ConnCloser> c_;
  bool poisoned_ = false;
};

// A transaction: BEGIN … COMMIT, rolled back by the destructor unless commit() was called.
class Tx {
 public:
  explicit Tx(Conn& c);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit();

 private:
  Conn& c_;
  bool done_ = false;
};

// The RegistryError code of a SQLSTATE (nullptr: no SQLSTATE, a client-side failure).
RegistryError::Code map_sqlstate(const char* state);

// Throws the RegistryError for a failed result (SQLSTATE mapped as described above).
[[noreturn]] void fail(const PGresult* r, PGconn* c, std::string_view what);

}  // namespace certd::pg
