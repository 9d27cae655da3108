// daemon/tsa_service.h — certd's time-stamping authority over HTTP: POST /v1/tsa (RFC 3161 §3.4,
// application/timestamp-query → application/timestamp-reply).
//
//   certd::StoreTsaClockState state(*store);             // last token time in the registry
//   auto tsa = libcert::TimeStampAuthority::from_files(key, crt, {}, {&clock, &rng, &state});
//   certd::TsaService svc(store, clock, &tsa, config.limits);
//   HttpResponse r = svc.handle(req, principal);         // after authentication (scope "tsa")
//
// Every answer after authentication is a TimeStampResp, never problem+json: granted, or rejected
// with a PKIFailureInfo (a query that is not DER or uses SHA-1 — RFC 3161 §2.4.2; a body over
// 8 KiB → 413; a Content-Type other than application/timestamp-query → 415; a caller over its
// rate → 429 + Retry-After; no TSA key configured → 503). Stamping is audited in aggregate: one
// `tsa.stamp` row per principal and minute with the counts by outcome, never a row per token.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "config.h"
#include "http.h"
#include "libcert/clock.h"
#include "libcert/tsa.h"
#include "ratelimit.h"
#include "auth.h"
#include "store.h"

namespace certd {

// libcert::TsaClockState backed by the registry (Store::advance_tsa_clock): every certd on one
// registry shares the TSA's last token time.
class StoreTsaClockState final : public libcert::TsaClockState {
 public:
  explicit StoreTsaClockState(Store& store) : store_(store) {}
  bool advance(std::int64_t t, std::int64_t& last) override {
    return store_.advance_tsa_clock(t, last);
  }

 private:
  Store& store_;
};

class TsaService {
 public:
  // `tsa` may be nullptr (no key configured: every request is answered 503 + a rejection).
  TsaService(Store& store, const libcert::Clock& clock, const libcert::TimeStampAuthority* tsa,
             const Limits& limits);
  ~TsaService();
  // Answers an authenticated request of `principal`.
  HttpResponse handle(const HttpRequest& req, const Principal& principal);
  // Writes the aggregated audit rows of the intervals that have ended (all of them when `all`).
  // Registry failures are swallowed (the counts stay in the next row's interval only if the
  // write succeeds; a lost row is logged by the caller's log line, not retried).
  void flush(double steady_now, bool all = false);

  static constexpr std::size_t kMaxQueryBytes = 8192;
  static constexpr double kAuditIntervalS = 60;

 private:
  Store& store_;
  const libcert::Clock& clock_;
  const libcert::TimeStampAuthority* tsa_;
  RateLimiter limiter_;
  AuthFailureTally tally_;  // a per-(principal, interval) tally; reasons = outcomes
  int per_minute_;
};

}  // namespace certd
