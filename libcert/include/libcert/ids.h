// libcert/ids.h — national identifiers: the GB/T 36904 licence identifier, the GB 32100 Unified
// Social Credit Code (USCC) and the GB 11643 resident identity number.
//
//   auto id = libcert::LicenceId::make("11100000000013338W032", "11220000013544541J",
//                                      "2430599", 1);
//   id.str();  // "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
//   auto parsed = libcert::LicenceId::parse(text);        // throws Error(kValidation) if bad
//   if (auto why = libcert::check_uscc(code)) { /* *why says which rule failed */ }
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace libcert {

// ISO 7064 MOD 37,36 check character over [0-9A-Z] (GB/T 36904 §5.6). Throws Error(kValidation)
// if `s` holds a character outside [0-9A-Z].
char mod37_36_check(std::string_view s);

// GB/T 36904 licence identifier: 1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}
struct LicenceId {
  std::string type_code;    // 21 chars: defining authority's USCC + 3-digit sequence
  std::string issuer_code;  // 18-char USCC of the issuing department (6-digit area code accepted
                            // when parsing, never emitted)
  std::string serial;       // [0-9A-Z]+, unique per (type, issuer)
  int version = 1;          // 1..999, printed as 3 digits
  char check = '0';

  // Builds the canonical identifier and computes its check character. The type code must be
  // 21 chars whose first 18 are a valid USCC, the issuer a valid 18-char USCC, the serial
  // [0-9A-Z]{1,64}, version 1..999. Throws Error(kValidation) with one Problem per broken segment
  // (field type_code / issuer_code / serial / version), all of them at once.
  static LicenceId make(std::string type_code, std::string issuer_code, std::string serial,
                        int version);
  // Parses tolerantly (root 1.2.156.3005.2 or 1.2.156.3003.2 — over the latter, a check that
  // includes the root digits equals the one without them, MOD 37,36 returns to its start state;
  // a 6-digit area code as issuer) and verifies the check character. A check computed over the
  // canonical root is NOT accepted: it would be a second valid check value, letting one mistyped
  // character through. Throws Error(kValidation) with one Problem {field "licence_id", rule
  // "format" | "root" | "type-code" | "issuer-code" | "serial" | "version" | "check" |
  // "mod37-36-check" | "length"}, e.g. "check character is V, expected U".
  static LicenceId parse(std::string_view text);
  // Canonical form: root 1.2.156.3005.2, check over type‖issuer‖serial‖version.
  [[nodiscard]] std::string str() const;
};

// Each check returns std::nullopt when the code is valid, otherwise a sentence naming the rule
// that failed, e.g. "check character is 4, expected Y" or "character 3 'I' is not allowed".
std::optional<std::string> check_uscc(std::string_view code);       // GB 32100-2015
std::optional<std::string> check_org_code(std::string_view code9);  // GB 11714 (9 chars)
// GB 11643-1999. `today_yyyymmdd` (e.g. 20261122) bounds the birth date: not in the future.
// Accepts a lower-case 'x' check character (normalise with normalise_id_number).
std::optional<std::string> check_id_number(std::string_view id, std::int32_t today_yyyymmdd);
std::string normalise_id_number(std::string_view id);  // upper-cases the check character

}  // namespace libcert
