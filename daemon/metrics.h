// daemon/metrics.h — Prometheus text exposition (format 0.0.4) of certd's counters.
//
//   metrics.observe_request("/v1/licences", "POST", 201, 0.042);
//   metrics.count_issued("business-licence-enterprise");
//   std::string text = metrics.render();
//
// Labels never carry keys, ids or personal data: only route templates, methods, status codes,
// template ids and problem types. Thread-safe (one mutex; the counters are tiny).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace certd {

class Metrics {
 public:
  // `method` is labelled as sent if it is a standard method (RFC 9110 §9), otherwise "other".
  void observe_request(const std::string& route, const std::string& method, int status,
                       double seconds);
  static std::string method_label(std::string_view method);
  void count_issued(const std::string& template_id);
  void count_error(const std::string& problem_type);
  // A failed authentication by kind (missing, malformed, unknown-key, revoked-key, missing-scope,
  // locked-key): certd_auth_failures_total{reason="…"}.
  void count_auth_failure(const std::string& reason);
  void set_gauge(const std::string& name, const std::string& help, double value);
  // One series of a labelled gauge, e.g. certd_seal_certificate_days_left{department="samr"}.
  // The label value must be a plain identifier (no quotes, backslashes or newlines).
  void set_labeled_gauge(const std::string& name, const std::string& help, const std::string& label,
                         const std::string& value, double v);
  [[nodiscard]] std::string render() const;

  static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, std::uint64_t> issued_;
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, std::uint64_t> auth_failures_;
  std::map<std::string, std::pair<std::string, double>> gauges_;
  // name → (help, label name, label value → value)
  std::map<std::string, std::tuple<std::string, std::string, std::map<std::string, double>>>
      labeled_;
};

}  // namespace certd
