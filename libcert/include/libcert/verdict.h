// libcert/verdict.h — the one set of verdicts for every verifier: PDF (PAdES), QR (COSE), OFD
// (GB/T 38540), certd's /v1/verify and certctl's exit codes (docs/verdicts.md is the reference).
//
//   libcert::Verdict v = libcert::Verdict::kValid;
//   v = libcert::worst(v, libcert::Verdict::kModified);      // MODIFIED: the stricter one wins
//   std::cout << libcert::to_string(v);                      // "MODIFIED"
//   return libcert::exit_code(v);                            // certctl: 0 only for VALID
//
// The set follows ETSI EN 319 102-1 §5.1.3 (TOTAL-PASSED / TOTAL-FAILED / INDETERMINATE) with the
// failure split by what an inspector must do about it. Fail closed (trust.md): every verdict but
// VALID is a refusal; missing trust data or a limit reached is INDETERMINATE, never VALID.
#pragma once

#include <optional>
#include <string_view>

namespace libcert {

enum class Verdict {
  kValid,           // intact, sealed by a key in its role for this issuer, at a time the key
                    // could seal, nothing changed that the certification level does not allow
  kInvalid,         // a signature is broken or forged, the input is malformed, the signer is
                    // not allowed to seal this licence (role, department), a claimed time lies
                    // in the future
  kModified,        // signatures intact, but the document was changed after sealing in a way
                    // the change policy refuses, or it displays something other than was sealed
  kRevoked,         // the licence is revoked, or its seal key was compromised at or before the
                    // signing time
  kExpired,         // the licence's own validity has ended (QR exp, registry valid_to)
  kUnknownSigner,   // intact, but the signer is not in the trust data (no chain to the root,
                    // no key with that kid in the bundle)
  kIndeterminate,   // cannot be decided: no trust data, no status list for the issuer, a status
                    // index outside the list, a verification limit reached
};

// "VALID", "INVALID", "MODIFIED", "REVOKED", "EXPIRED", "UNKNOWN-SIGNER", "INDETERMINATE".
std::string_view to_string(Verdict v) noexcept;
// The inverse of to_string; nullopt for anything else.
std::optional<Verdict> verdict_from_string(std::string_view s) noexcept;

// Precedence when several apply (the first wins): INVALID, MODIFIED, REVOKED, UNKNOWN-SIGNER,
// INDETERMINATE, EXPIRED, VALID.
[[nodiscard]] Verdict worst(Verdict a, Verdict b) noexcept;

// certctl's exit code for a verification that reached this verdict (docs/verdicts.md
// "Exit codes"): 0 VALID, 1 any other verdict. The other codes of the table (2 usage, 3 bad
// input, 4 internal, 5 environment unavailable) are not verdicts.
[[nodiscard]] int exit_code(Verdict v) noexcept;

}  // namespace libcert
