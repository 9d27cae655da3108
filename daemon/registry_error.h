// daemon/registry_error.h — the one error type of certd's registry (store.h), whichever database
// answers. The drivers (sqlite.cpp, pg.cpp) are the only code that sees SQLite result codes or
// PostgreSQL SQLSTATEs; they translate each failure into one of these codes, and everything above
// them (the registry rules, the issuance service, the HTTP error map in problem.cpp, certctl)
// switches on code() only.
//
//   try {
//     store->revoke_licence(id, reason, now, actor);
//   } catch (const certd::RegistryError& e) {
//     if (e.code() == certd::RegistryError::Code::kBusy) { /* 503 + Retry-After: retry soon */ }
//   }
//
// The codes, what causes them and what a caller should do:
//   kBusy        the database stayed locked past the busy/lock timeout, a serialization failure
//                or deadlock (SQLITE_BUSY/LOCKED; SQLSTATE 40001, 40P01, 55P03, 57014), a seal
//                rotation racing an issuance more than kMaxRenders times: retry after a moment.
//   kUnavailable the database cannot be written or reached: read-only file or server, I/O
//                error, disk full, cannot open, permission (SQLITE_READONLY/IOERR/FULL/CANTOPEN/
//                PERM; SQLSTATE class 08 connection, 53 insufficient resources, 57P01/57P03
//                shutdown, 25006 read-only transaction). An environment fault: 503, never a path
//                in the message shown to clients. The connection that hit it is dropped, not
//                pooled (sqlite_store.cpp, pg_store.cpp).
//   kConflict    a UNIQUE/CHECK/foreign-key constraint refused the write (SQLITE_CONSTRAINT;
//                SQLSTATE class 23), or an idempotency key taken over by another request.
//   kState       a seal key lifecycle step that the version's state forbids (activate without a
//                certificate, retire a pending version, revoke twice...); the message names the
//                department, the version, its state and the rule.
//   kCorrupt     the database file is damaged or is not a database (SQLITE_CORRUPT/NOTADB;
//                SQLSTATE XX001/XX002): 503, and an operator must look (logged).
//   kExhausted   a finite registry resource is used up (no free status-list index): retrying
//                does not help until an administrator enlarges it.
//   kInternal    anything else the database reported (a bug: malformed SQL, misuse).
//
// Thread-safety: an immutable value.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace certd {

class RegistryError : public std::runtime_error {
 public:
  enum class Code { kBusy, kUnavailable, kConflict, kState, kCorrupt, kExhausted, kInternal };

  RegistryError(Code code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}

  [[nodiscard]] Code code() const noexcept { return code_; }
  // Shorthands for the two codes callers test most.
  [[nodiscard]] bool busy() const noexcept { return code_ == Code::kBusy; }
  [[nodiscard]] bool conflict() const noexcept { return code_ == Code::kConflict; }

 private:
  Code code_;
};

// A stable lower-case name of the code ("busy", "unavailable", ...), for logs, audit details and
// metrics labels.
[[nodiscard]] constexpr std::string_view to_string(RegistryError::Code c) noexcept {
  switch (c) {
    case RegistryError::Code::kBusy:
      return "busy";
    case RegistryError::Code::kUnavailable:
      return "unavailable";
    case RegistryError::Code::kConflict:
      return "conflict";
    case RegistryError::Code::kState:
      return "state";
    case RegistryError::Code::kCorrupt:
      return "corrupt";
    case RegistryError::Code::kExhausted:
      return "exhausted";
    case RegistryError::Code::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace certd
