// verify_tst.h (private) — RFC 3161 time-stamp tokens in a PAdES signature (B-T): the unsigned
// attribute id-aa-signatureTimeStampToken of the CMS SignerInfo, whose imprint is the hash of the
// signature value (ETSI EN 319 122-1 §5.3, RFC 3161 Appendix A), and the token of a document
// time-stamp (/SubFilter /ETSI.RFC3161), whose imprint is the hash of the signed byte ranges.
//
//   auto ts = detail::signature_timestamps(cms_der, trust, now);
//   if (ts.proven_time) when = *ts.proven_time;   // the earliest valid genTime
//
// A token counts only if it verifies (OpenSSL's TS_RESP_verify_token: SignedData signature,
// ESSCertID(v2) of the signer, imprint), its signer is in the TSA role (roles.h: EKU
// id-kp-timeStamping, critical) and chains to a trust anchor at `now`. Never throws for bad input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/verify.h"
#include "verify_ltv.h"

namespace libcert::detail {

struct TimestampVerification {
  bool present = false;                    // at least one token was found
  std::optional<std::int64_t> proven_time;  // earliest genTime of a token that verified
  std::string tsa_subject;                 // of that token's signer
  std::vector<Check> checks;               // "signature-timestamp" / "timestamp-token"
  std::vector<std::string> tokens;         // DER of every token found (for DSS and tests)
};

// Tokens in the unsigned attributes of the (single) SignerInfo of `cms_der` (trailing zero
// padding allowed). No token: present = false and no check.
//
// The TSA's chain is built at the token's genTime with the token's and the DSS's certificates
// (`dss`, may be null) as intermediates; a TSA certificate that expired before `reference` (now,
// or the genTime of a later document time-stamp) counts only with a CRL from the DSS
// (verify_ltv.h past_validation): without one the token is "unproven" — it proves no time and
// its check is not-checked (INDETERMINATE), never a plain pass.
TimestampVerification signature_timestamps(std::string_view cms_der, const TrustStore& trust,
                                           std::int64_t reference, const Dss* dss = nullptr);

// A document time-stamp's /Contents (a TimeStampToken) over the signed byte ranges `parts`.
TimestampVerification document_timestamp(const std::vector<std::string_view>& parts,
                                          std::string_view token_der, const TrustStore& trust,
                                          std::int64_t reference, const Dss* dss = nullptr);

}  // namespace libcert::detail
