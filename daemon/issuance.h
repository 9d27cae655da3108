// daemon/issuance.h (private to the stores) — the issuance protocol that every Store::issue()
// runs, whatever the database (docs/service.md "Issuance"):
//
//   1. reserve  — a short write transaction: active seal version, next serial from the counter,
//                 a random status-list index free in licences AND reservations, one row in
//                 `reservations`; commit.
//   2. render   — the caller's callback (cairo/pango + PAdES seal), with NO lock or transaction
//                 held, so that issuances render on every core at once.
//   3. commit   — a short write transaction: the seal version used must still be the active one
//                 (else: re-render with the same serial and index, at most kMaxRenders times),
//                 delete the reservation, insert the licence + its audit row + the idempotency
//                 response; commit.
//   On a render or commit failure the reservation is released with a `licence.void` audit row
//   (the serial is never reused); a reservation whose process died is voided once it is older
//   than the lease (Store::void_abandoned_reservations, and lazily by every reserve).
//
//   certd::detail::IssueSteps steps{reserve_fn, commit_fn, release_fn};
//   certd::LicenceRecord rec = certd::detail::run_issuance(steps, ctx, render);
//
// Thread-safety: run_issuance is re-entrant; the steps are the store's own (thread-safe) methods.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store.h"

namespace certd::detail {

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

// What the commit step found. committed: `record` is in the registry. Otherwise the department's
// active seal version is no longer the one the renderer used: `active_now` is the current one
// (nullopt: none), and nothing was written.
struct CommitResult {
  bool committed = false;
  LicenceRecord record;
  std::optional<SealKeyVersion> active_now;
};

struct IssueSteps {
  std::function<Allocation()> reserve;
  std::function<CommitResult(const Allocation&, const Rendered&)> commit;
  // Deletes the reservation (if it still exists) and appends its `licence.void` row with `why`,
  // in one transaction. May throw RegistryError; run_issuance then leaves the row for the lease.
  std::function<void(const Allocation&, const nlohmann::json& why)> release;
};

// Runs reserve → render → commit (re-rendering on a seal change, releasing on failure). Throws
// what render or commit threw (after the release), or RegistryError (busy) after kMaxRenders seal
// changes.
LicenceRecord run_issuance(const IssueSteps& steps, const IssueContext& ctx,
                           const std::function<Rendered(const Allocation&)>& render);

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

}  // namespace certd::detail
