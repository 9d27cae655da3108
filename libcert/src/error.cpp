#include "libcert/error.h"
#include "libcert/error_class.h"

#include <utility>

namespace libcert {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kValidation: return "validation";
    case ErrorCode::kTemplate: return "template";
    case ErrorCode::kRender: return "render";
    case ErrorCode::kCrypto: return "crypto";
    case ErrorCode::kPdfMalformed: return "pdf-malformed";
    case ErrorCode::kLimitExceeded: return "limit-exceeded";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

ErrorClass error_class(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kValidation:
    case ErrorCode::kRender:
    case ErrorCode::kPdfMalformed:
    case ErrorCode::kLimitExceeded:
    case ErrorCode::kNotFound:
      return ErrorClass::kBadInput;
    case ErrorCode::kIo:
    case ErrorCode::kCrypto:
    case ErrorCode::kTemplate:
      return ErrorClass::kEnvironment;
    case ErrorCode::kInternal:
      return ErrorClass::kInternal;
  }
  return ErrorClass::kInternal;
}

int exit_code(ErrorClass c) noexcept {
  switch (c) {
    case ErrorClass::kBadInput: return 3;
    case ErrorClass::kEnvironment: return 5;
    case ErrorClass::kInternal: return 4;
  }
  return 4;
}

namespace {
std::string join_problems(std::string message, const std::vector<Problem>& problems) {
  for (const auto& p : problems) {
    message += "\n  " + p.field + ": " + p.message + " [" + p.rule + "]";
  }
  return message;
}
}  // namespace

Error::Error(ErrorCode code, std::string message)
    : std::runtime_error(std::move(message)), code_(code) {}

Error::Error(ErrorCode code, std::string message, std::vector<Problem> problems)
    : std::runtime_error(join_problems(std::move(message), problems)),
      code_(code),
      problems_(std::move(problems)) {}

}  // namespace libcert
