// libcert/error.h — the one error type of libcert.
//
//   try {
//     auto data = tmpl.validate(json);
//   } catch (const libcert::Error& e) {
//     for (const auto& p : e.problems()) std::cerr << p.field << ": " << p.message << "\n";
//     return exit_code_for(e.code());
//   }
//
// Every failure in libcert is reported by throwing `libcert::Error`. Its `code()` is stable (it is
// mapped to an HTTP status exactly once, in certd, and to an exit code once, in certctl); its
// message names the field and the rule that failed. Validation failures carry *all* problems at
// once in `problems()`, not only the first.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace libcert {

enum class ErrorCode {
  kInvalidArgument,   // a caller passed something malformed (bad option, bad path)
  kValidation,        // holder data failed the template's field rules (see problems())
  kTemplate,          // a template manifest or the glossary is malformed
  kRender,            // layout/rendering failed (no glyph, value does not fit its box)
  kCrypto,            // an OpenSSL operation failed (bad key, wrong algorithm)
  kPdfMalformed,      // a PDF could not be parsed within the reader's rules and limits
  kLimitExceeded,     // input exceeds a configured size/depth/count limit
  kNotFound,          // a named template, key, file or object does not exist
  kIo,                // reading or writing a file failed
  kInternal,          // a bug: an invariant of libcert did not hold
};

// Stable, lower-case, hyphenated name of a code ("validation", "pdf-malformed"...).
std::string_view to_string(ErrorCode code) noexcept;

// One precise problem found while validating data: which field, which rule, what value.
struct Problem {
  std::string field;    // JSON-pointer-like path, e.g. "holder.uscc" or "legal_representative"
  std::string rule;     // stable rule name, e.g. "required", "max-length", "uscc-check"
  std::string message;  // human sentence, e.g. "check character is 4, expected Y"
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message);
  Error(ErrorCode code, std::string message, std::vector<Problem> problems);

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  // Empty unless code() == kValidation (or kTemplate, where each problem is one manifest path).
  [[nodiscard]] const std::vector<Problem>& problems() const noexcept { return problems_; }

 private:
  ErrorCode code_;
  std::vector<Problem> problems_;
};

}  // namespace libcert
