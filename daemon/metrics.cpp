#include "metrics.h"

#include <sstream>

namespace certd {

namespace {
// Label values are route templates and ids from fixed sets, but escape anyway (exposition format:
// backslash, double quote and newline).
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}
}  // namespace

std::string Metrics::method_label(std::string_view method) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "other";
}

void Metrics::observe_request(const std::string& route, const std::string& raw_method, int status,
                              double seconds) {
  // The method comes from the client: any other string would be a new series each time
  // (unbounded memory, and whatever the client wrote echoed in /metrics). Found by fuzz_certd_http.
  const std::string method = method_label(raw_method);
  std::lock_guard l(mu_);
  ++requests_[{route, method, status}];
  auto& h = latency_[{route, method}];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::count_issued(const std::string& template_id) {
  std::lock_guard l(mu_);
  ++issued_[template_id];
}

void Metrics::count_error(const std::string& problem_type) {
  std::lock_guard l(mu_);
  ++errors_[problem_type];
}

void Metrics::count_auth_failure(const std::string& reason) {
  std::lock_guard l(mu_);
  ++auth_failures_[reason];
}

void Metrics::set_gauge(const std::string& name, const std::string& help, double value) {
  std::lock_guard l(mu_);
  gauges_[name] = {help, value};
}

void Metrics::set_labeled_gauge(const std::string& name, const std::string& help,
                                const std::string& label, const std::string& value, double v) {
  std::lock_guard l(mu_);
  auto& g = labeled_[name];
  std::get<0>(g) = help;
  std::get<1>(g) = label;
  std::get<2>(g)[value] = v;
}

std::string Metrics::render() const {
  std::lock_guard l(mu_);
  std::ostringstream o;
  o << "# HELP certd_http_requests_total HTTP requests by route template, method and status.\n"
       "# TYPE certd_http_requests_total counter\n";
  for (const auto& [k, n] : requests_) {
    o << "certd_http_requests_total{route=\"" << esc(std::get<0>(k)) << "\",method=\""
      << esc(std::get<1>(k)) << "\",status=\"" << std::get<2>(k) << "\"} " << n << "\n";
  }
  o << "# HELP certd_http_request_duration_seconds Time from request read to response ready.\n"
       "# TYPE certd_http_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency_) {
    const std::string labels = "route=\"" + esc(k.first) + "\",method=\"" + esc(k.second) + "\"";
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      o << "certd_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i]
        << "\"} " << h.buckets[i] << "\n";
    }
    o << "certd_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count
      << "\n";
    o << "certd_http_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
    o << "certd_http_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
  }
  o << "# HELP certd_licences_issued_total Licences issued (committed) by template.\n"
       "# TYPE certd_licences_issued_total counter\n";
  for (const auto& [t, n] : issued_) {
    o << "certd_licences_issued_total{template=\"" << esc(t) << "\"} " << n << "\n";
  }
  o << "# HELP certd_auth_failures_total Failed authentications by kind.\n"
       "# TYPE certd_auth_failures_total counter\n";
  for (const auto& [t, n] : auth_failures_) {
    o << "certd_auth_failures_total{reason=\"" << esc(t) << "\"} " << n << "\n";
  }
  o << "# HELP certd_errors_total Error responses by problem type.\n"
       "# TYPE certd_errors_total counter\n";
  for (const auto& [t, n] : errors_) {
    o << "certd_errors_total{type=\"" << esc(t) << "\"} " << n << "\n";
  }
  for (const auto& [name, hv] : gauges_) {
    o << "# HELP " << name << " " << hv.first << "\n# TYPE " << name << " gauge\n"
      << name << " " << hv.second << "\n";
  }
  for (const auto& [name, g] : labeled_) {
    o << "# HELP " << name << " " << std::get<0>(g) << "\n# TYPE " << name << " gauge\n";
    for (const auto& [value, v] : std::get<2>(g)) {
      o << name << "{" << std::get<1>(g) << "=\"" << value << "\"} " << v << "\n";
    }
  }
  return o.str();
}

}  // namespace certd
