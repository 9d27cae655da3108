// daemon/issuance_service.h (private to certd) — the one issuance path of certd: from checked
// holder data to a committed, sealed licence, and the readiness of that path (/readyz).
//
//   certd::IssuanceService svc(services, metrics);
//   certd::LicenceRecord rec = svc.issue(tmpl, data, ctx);     // 503 ApiError when it must not
//   seal certd::Readiness r = svc.readiness();                      // cached ~1 s
//
// issue() drives the registry's issuance protocol itself (issue_licence below: reserve → render
// and seal with no lock held → commit, under a guard that voids the serial unless the licence
// commits)
// and refuses, before any serial is taken and with nothing written, to seal when:
//   - the department has no active seal key version, or its certificate expires within
//     seal.refuse_days (service.md);
//   - the clock reads earlier than the active version's activation or its certificate's notBefore
//     (a licence signed then is outside the version's usage window: INVALID for every verifier,
//     forever — docs/key-lifecycle-and-audit.md), or more than max_clock_skew_s earlier than the
//     department's last issuance (the clock was set back);
//   - the active version's private key cannot be read.
// Each refusal is a 503 problem with Retry-After whose detail names the rule and never a server
// path. The same checks make readiness() unready, together with a registry that cannot be
// written (a write transaction that changes nothing, on a fresh connection).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "app.h"
#include "problem.h"

namespace libcert {
class Template;
struct LicenceData;
}

namespace certd {

// Drives one issuance through the registry (store.h, issuance.h): an IssuanceGuard reserves the
// serial, status-list index and active seal version; `render` renders and seals with no lock
// held; the guard commits, and `render` runs again with the version active then if a rotation
// committed in between (at most detail::kMaxRenders renders, then RegistryError busy). Unless the
// licence commits, the guard voids the serial (a licence.void audit row naming the reason) and the
// exception propagates. Returns the committed record with its PDF. IssuanceService::issue is this
// with certd's render; the store tests call it with their own.
LicenceRecord issue_licence(Store& store, const IssueContext& ctx,
                            const std::function<Rendered(const Allocation&)>& render);

// Why `now` must not be used to seal with version `v` (nullopt: it may). `last_issued` is the
// department's latest issued_at in the registry.
[[nodiscard]] std::optional<std::string> clock_problem(const SealKeyVersion& v, std::int64_t now,
                                                       std::optional<std::int64_t> last_issued,
                                                       std::int64_t max_skew_s);

struct Readiness {
  bool ready = true;
  nlohmann::json checks = nlohmann::json::object();  // check name → "ok" or the reason
};

class IssuanceService {
 public:
  IssuanceService(const Services& s, Metrics& metrics) : s_(s), metrics_(metrics) {}

  // The one validation of an issuance's holder data: `data` against `tmpl`'s field rules, with
  // "today" from certd's clock. Returns the normalised data that issue() seals as it is (it is not
  // validated again). Throws libcert::Error(kValidation) listing every problem. Writes nothing:
  // callers run it before they take an idempotency key or a serial.
  [[nodiscard]] libcert::LicenceData validate(const libcert::Template& tmpl,
                                              const nlohmann::json& data) const;

  // Issues one licence of `tmpl` for `data` (validate()'s result) with the registry context `ctx`
  // (department, codes, actor, idempotency; ctx.now and ctx.check_seal are set here), through
  // issue_licence(). `with_ofd`: the licence is also made as a GB/T 38540-sealed OFD (issue 22,
  // libcert/ofd_writer.h) with the same identifier and QR, stored as rendition ofd/1 in the same
  // commit; without OFD seals loaded (Services::ofd_seals) that is a 503 "ofd-unavailable" before
  // any serial is taken. Throws ApiError 503 for the refusals above, libcert::Error for a
  // render/seal failure (the serial is then voided) and RegistryError.
  LicenceRecord issue(const libcert::Template& tmpl, const libcert::LicenceData& data,
                      IssueContext ctx, bool with_ofd = false) const;

  // The issuing path's readiness: registry answering and writable, clock within the skew of every
  // department's active version and last issuance, active seal keys readable. Computed at most
  // once a second (the write probe costs a transaction).
  [[nodiscard]] Readiness readiness() const;

 private:
  // probe_key_file: also read the first byte of a file key (the reserve's check). The render's
  // second call skips it: the signer it then takes reads the file itself when not cached, and
  // its I/O error is the same 503 (issue 21: one file open per licence fewer).
  SealKeyVersion usable_seal(const std::optional<SealKeyVersion>& seal, const std::string& dept,
                             std::int64_t now, std::optional<std::int64_t> last_issued,
                             bool probe_key_file = true) const;
  [[nodiscard]] Readiness compute_readiness() const;

  const Services& s_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  mutable std::optional<std::chrono::steady_clock::time_point> checked_at_;  // GUARDED_BY(mu_)
  mutable Readiness cached_;                                                 // GUARDED_BY(mu_)
};

}  // namespace certd
