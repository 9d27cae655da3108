#include "libcert/verdict.h"

namespace libcert {

namespace {
// Lower is stricter (verdict.h "Precedence").
int rank(Verdict v) noexcept {
  switch (v) {
    case Verdict::kInvalid:
      return 0;
    case Verdict::kModified:
      return 1;
    case Verdict::kRevoked:
      return 2;
    case Verdict::kUnknownSigner:
      return 3;
    case Verdict::kIndeterminate:
      return 4;
    case Verdict::kExpired:
      return 5;
    case Verdict::kValid:
      return 6;
  }
  return 0;
}
}  // namespace

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::kValid:
      return "VALID";
    case Verdict::kInvalid:
      return "INVALID";
    case Verdict::kModified:
      return "MODIFIED";
    case Verdict::kRevoked:
      return "REVOKED";
    case Verdict::kExpired:
      return "EXPIRED";
    case Verdict::kUnknownSigner:
      return "UNKNOWN-SIGNER";
    case Verdict::kIndeterminate:
      return "INDETERMINATE";
  }
  return "INVALID";
}

std::optional<Verdict> verdict_from_string(std::string_view s) noexcept {
  for (Verdict v : {Verdict::kValid, Verdict::kInvalid, Verdict::kModified, Verdict::kRevoked,
                    Verdict::kExpired, Verdict::kUnknownSigner, Verdict::kIndeterminate}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

Verdict worst(Verdict a, Verdict b) noexcept { return rank(a) <= rank(b) ? a : b; }

int exit_code(Verdict v) noexcept { return v == Verdict::kValid ? 0 : 1; }

}  // namespace libcert
