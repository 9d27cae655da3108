#include "problem.h"

namespace certd {

ApiError from_libcert(const libcert::Error& e) {
  nlohmann::json extra = nlohmann::json::object();
  if (!e.problems().empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : e.problems()) {
      list.push_back({{"field", p.field}, {"rule", p.rule}, {"message", p.message}});
    }
    extra["problems"] = list;
  }
  std::string detail = e.what();
  if (e.code() == libcert::ErrorCode::kValidation && !e.problems().empty()) {
    // The detail names every field; the structured list is in `problems`.
    detail.clear();
    for (const auto& p : e.problems()) {
      if (!detail.empty()) detail += "; ";
      detail += "data." + p.field + ": " + p.message + " [" + p.rule + "]";
    }
  }
  switch (e.code()) {
    case libcert::ErrorCode::kInvalidArgument:
      return {400, "invalid-argument", "Invalid argument", detail, extra};
    case libcert::ErrorCode::kValidation:
      return {422, "validation-failed", "Holder data failed the template's rules", detail, extra};
    case libcert::ErrorCode::kRender:
      // A value the template cannot print (no glyph, does not fit): the client's data.
      return {422, "render-failed", "A value cannot be printed on this template", detail, extra};
    case libcert::ErrorCode::kPdfMalformed:
      return {422, "pdf-malformed", "The PDF cannot be read", detail, extra};
    case libcert::ErrorCode::kLimitExceeded:
      return {413, "limit-exceeded", "Input exceeds a limit", detail, extra};
    case libcert::ErrorCode::kNotFound:
      return {404, "not-found", "Not found", detail, extra};
    case libcert::ErrorCode::kTemplate:
      return {500, "template-error", "A template on the server is broken", detail, extra};
    case libcert::ErrorCode::kCrypto:
      return {500, "crypto-error", "Sealing failed on the server", detail, extra};
    case libcert::ErrorCode::kIo:
      return {500, "io-error", "Server I/O error", detail, extra};
    case libcert::ErrorCode::kInternal:
      return {500, "internal", "Internal error", detail, extra};
  }
  return {500, "internal", "Internal error", detail, extra};
}

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
