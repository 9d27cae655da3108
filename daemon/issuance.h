// daemon/issuance.h (private to certd) — the pieces of the issuance protocol (docs/service.md
// "Issuance") that the registry and the issuance service share:
//
//   1. reserve  — Store::reserve, a short write transaction: active seal version, next serial from
//                 the counter, a random status-list index free in licences AND reservations, one
//                 row in `reservations`; commit.
//   2. render   — the issuance service renders and seals with NO lock or transaction held, so
//                 that issuances render on every core at once.
//   3. commit   — Store::commit_issue, a short write transaction: the seal version used must still
//                 be the active one (else: seal again with the same serial and index, at most
//                 kMaxRenders times), delete the reservation, insert the licence + its audit row +
//                 the idempotency response; commit.
//   A serial that does not end as a licence is released by IssuanceGuard's destructor with a
//   `licence.void` audit row (never reused); a reservation whose process died is voided once it
//   is older than the lease (Store::void_abandoned_reservations, and lazily by every reserve).
//
//   certd::IssuanceGuard guard(store, ctx);               // reserve (throws: nothing reserved)
//   for (;;) {
//     certd::Rendered r = render(guard.allocation());
//     if (auto rec = guard.commit(r)) return *rec;        // committed: the guard lets go
//   }                                                     // leaving the scope otherwise: void
//
// Thread-safety: a guard belongs to one issuance (one thread); the functions are re-entrant.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store.h"

namespace certd {
namespace detail {

// Renders per issuance at most: the first, plus one per seal change seen at commit. Rotations are
// rare administrative acts, so a third change within one issuance means the registry is being
// hammered; the caller gets busy (503 + Retry-After) instead of an unbounded loop.
inline constexpr int kMaxRenders = 3;

// One row of `reservations` (migration 4): a serial and status-list index handed out by a
// reserve transaction and not yet turned into a licence or voided.
struct Reservation {
  std::string type_code, issuer_code, serial;
  std::string department, template_id;
  std::int64_t status_index = 0;
  std::optional<std::int64_t> seal_version;
  std::string principal, request_id;
  std::int64_t created_at = 0;
};

// True when the version the renderer sealed with (`used`) is still the department's active one:
// the same version number (a version's certificate never changes once installed; a revoked or
// retired version is no longer active). Both nullopt (no versions: certd's keyring mode) is
// true as well.
bool same_seal(const std::optional<SealKeyVersion>& used,
               const std::optional<SealKeyVersion>& active);

// GB/T 36904 serial [0-9A-Z]+: the UTC year of `now`, then the counter (at least 6 digits). The
// counter never resets, so the serial is unique whatever the year prefix says.
std::string format_serial(std::int64_t now, std::int64_t counter);

// The reservation that reserve() wrote for `ctx` and `a` (for releasing it).
Reservation reservation_of(const IssueContext& ctx, const Allocation& a);

// The audit object and details of a `licence.void` row. The object names the serial
// ("serial:<type_code>/<issuer_code>/<serial>"); the details every field needed to account for
// it, plus `why` ({"reason": "render-failed" | "commit-failed" | "seal-changed" | "abandoned",
// ...}).
std::string void_object(const Reservation& r);
nlohmann::json void_details(const Reservation& r, const nlohmann::json& why);

// `why` for the exception being handled: the reason plus the error's code and message (libcert
// messages name the field and the rule, never the holder's value).
nlohmann::json failure_reason(const char* reason, const std::exception_ptr& e);

}  // namespace detail

// Owns one reservation from Store::reserve until it commits as a licence; if it never does (the
// render throws, the commit throws, the seal changes too often, the caller gives up), the
// destructor releases it with a `licence.void` audit row whose reason is the one given to fail()
// ("not-committed" if none), so the serial is accounted for whatever happened. A release that
// fails (the database is busy or gone) leaves the reservation for the lease.
class IssuanceGuard {
 public:
  // Store::reserve(ctx): throws what it throws (nothing reserved, no serial taken).
  IssuanceGuard(Store& store, const IssueContext& ctx);
  ~IssuanceGuard();
  IssuanceGuard(const IssuanceGuard&) = delete;
  IssuanceGuard& operator=(const IssuanceGuard&) = delete;

  // The serial, status-list index and seal version to render with (the seal version is the one
  // active at the last commit attempt).
  [[nodiscard]] const Allocation& allocation() const { return a_; }
  // Store::commit_issue: the committed record (with its PDF), or nullopt when the department's
  // active seal version changed since allocation() was read — allocation().seal is then the
  // version active now, and the caller seals again. Throws what commit_issue throws.
  std::optional<LicenceRecord> commit(const Rendered& r);
  // Why this reservation will not commit (detail::failure_reason), for its licence.void row.
  void fail(nlohmann::json why) noexcept { why_ = std::move(why); }

 private:
  Store& store_;
  const IssueContext& ctx_;
  Allocation a_;
  bool committed_ = false;
  nlohmann::json why_;
};

}  // namespace certd
