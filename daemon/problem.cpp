#include "problem.h"

namespace certd {

HttpResponse problem_response(const ApiError& e, const std::string& instance,
                              const std::string& request_id) {
  nlohmann::json j = e.extra().is_object() ? e.extra() : nlohmann::json::object();
  j["type"] = std::string(kProblemBase) + e.slug();
  j["title"] = e.title();
  j["status"] = e.status();
  j["detail"] = e.what();
  j["instance"] = instance;
  j["request_id"] = request_id;
  HttpResponse r;
  r.status = e.status();
  r.content_type = "application/problem+json";
  // error_handler_t::replace: a detail that echoes invalid UTF-8 input must not throw here.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.headers = e.headers;
  r.problem_type = e.slug();
  return r;
}

}  // namespace certd
