// daemon/problem.h — errors as application/problem+json (RFC 9457). Every other exception
// becomes an ApiError in one function, map_current_exception() (error_map.h).
//
//   throw certd::ApiError(400, "malformed-json", "Malformed JSON", "body: unexpected '}' at 12");
//   ...
//   HttpResponse r = certd::problem_response(e, path, request_id);   // in the dispatcher's catch
//
// `type` is stable: "https://libcert.example/problems/<slug>" (the slug never changes meaning);
// `detail` names the field or header that is wrong and the rule it breaks.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "http.h"

namespace certd {

inline constexpr const char* kProblemBase = "https://libcert.example/problems/";

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string slug, std::string title, std::string detail,
           nlohmann::json extra = nlohmann::json::object())
      : std::runtime_error(detail),
        status_(status),
        slug_(std::move(slug)),
        title_(std::move(title)),
        extra_(std::move(extra)) {}
  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] const std::string& slug() const { return slug_; }
  [[nodiscard]] const std::string& title() const { return title_; }
  [[nodiscard]] const nlohmann::json& extra() const { return extra_; }
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Retry-After
  // An authentication failure of require() (401, or 403 missing-scope): its kind ("missing",
  // "unknown-key", ...) and the principal ("anonymous" unless a key was recognised). App::handle
  // counts it (metrics, lock-outs, the aggregated auth.failure audit row); never serialised.
  std::string auth_failure;
  std::string auth_principal;

 private:
  int status_;
  std::string slug_, title_;
  nlohmann::json extra_;
};

// Builds the problem+json response: {type, title, status, detail, instance, request_id, ...extra}.
HttpResponse problem_response(const ApiError& e, const std::string& instance,
                              const std::string& request_id);

}  // namespace certd
