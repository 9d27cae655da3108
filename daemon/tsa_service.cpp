#include "tsa_service.h"

#include <chrono>
#include <nlohmann/json.hpp>

namespace certd {

namespace {

HttpResponse reply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/timestamp-reply";  // RFC 3161 §3.4
  r.body = std::move(body);
  return r;
}

std::string media_type(const HttpRequest& req) {
  std::string ct = req.header_or_empty("Content-Type");
  if (const auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}

std::string outcome(const libcert::TimeStampReply& r) {
  if (r.status == 0 || r.status == 1) return "granted";
  if (r.failures.empty()) return "rejected";
  switch (r.failures.front()) {
    case libcert::TsaFailure::kBadAlg:
      return "rejected:bad-alg";
    case libcert::TsaFailure::kBadRequest:
      return "rejected:bad-request";
    case libcert::TsaFailure::kBadDataFormat:
      return "rejected:bad-data-format";
    case libcert::TsaFailure::kTimeNotAvailable:
      return "rejected:time-not-available";
    case libcert::TsaFailure::kUnacceptedPolicy:
      return "rejected:unaccepted-policy";
    case libcert::TsaFailure::kUnacceptedExtension:
      return "rejected:unaccepted-extension";
    case libcert::TsaFailure::kSystemFailure:
      return "rejected:system-failure";
  }
  return "rejected";
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TsaService::TsaService(Store& store, const libcert::Clock& clock,
                       const libcert::TimeStampAuthority* tsa, const Limits& limits)
    : store_(store),
      clock_(clock),
      tsa_(tsa),
      limiter_(limits.tsa_per_minute, limits.tsa_burst),
      tally_(kAuditIntervalS, 10000),
      per_minute_(limits.tsa_per_minute) {}

TsaService::~TsaService() {
  try {
    flush(0, true);  // the last, unfinished interval: written at shutdown rather than lost
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to report to at shutdown
  }
}

HttpResponse TsaService::handle(const HttpRequest& req, const Principal& principal) {
  const double now = steady_seconds();
  using libcert::TsaFailure;
  auto refuse = [&](int status, TsaFailure f, const std::string& text, const std::string& why) {
    tally_.add(principal.id, "tsa", why, req.request_id, now);
    return reply(status, libcert::timestamp_rejection(f, text));
  };
  HttpResponse r;
  if (tsa_ == nullptr) {
    r = refuse(503, TsaFailure::kSystemFailure, "no time-stamping key is configured",
               "rejected:not-configured");
  } else if (auto wait = limiter_.take("principal:" + principal.id, now)) {
    r = refuse(429, TsaFailure::kSystemFailure,
               "rate limited: more than " + std::to_string(per_minute_) +
                   " time-stamp requests per minute; retry after " + std::to_string(*wait) + " s",
               "rejected:rate-limited");
    r.headers.emplace_back("Retry-After", std::to_string(*wait));
  } else if (media_type(req) != "application/timestamp-query") {
    r = refuse(415, TsaFailure::kBadRequest,
               "Content-Type: expected application/timestamp-query (RFC 3161 §3.4)",
               "rejected:bad-request");
  } else if (req.body.size() > kMaxQueryBytes) {
    r = refuse(413, TsaFailure::kBadDataFormat,
               "body: " + std::to_string(req.body.size()) + " bytes exceeds " +
                   std::to_string(kMaxQueryBytes) + " bytes for a TimeStampReq",
               "rejected:bad-data-format");
  } else {
    r = reply(200, tsa_->respond(req.body));
    tally_.add(principal.id, "tsa", outcome(libcert::parse_timestamp_reply(r.body)),
               req.request_id, now);
  }
  flush(now);
  return r;
}

void TsaService::flush(double steady_now, bool all) {
  for (const auto& row : tally_.take_due(steady_now, all)) {
    const nlohmann::json details = {
        {"count", row.count}, {"outcomes", row.reasons}, {"interval_s", kAuditIntervalS}};
    try {
      (void)store_.record_event("tsa.stamp", row.object, details.dump(), clock_.now(),
                                Actor{row.principal, row.request_id});
    } catch (const RegistryError&) {
      // A registry that cannot take the row now does not fail the time-stamp that flushed it.
    }
  }
}

}  // namespace certd
