// verify_cms.h (private) — verification of one detached CMS SignedData (RFC 5652) as carried in a
// PAdES signature's /Contents, against the bytes its /ByteRange covers.
//
//   auto r = cms_verify({part1, part2}, der, trust, signing_time);
//   for (auto& c : r.checks) ...   // digest, signature, signed-attributes, signing-certificate,
//                                  // chain, validity-at-signing-time, key-usage
//
// Never throws for bad input: every problem is a failed check. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/roles.h"
#include "libcert/verify.h"
#include "verify_ltv.h"

namespace libcert::detail {

struct CmsVerification {
  std::vector<Check> checks;  // in the order listed above; "cms" first if the DER is unusable
  std::string signer_subject, department, uscc, cert_sha256, cert_serial;
  std::string cert_not_before, cert_not_after, digest_algorithm;
  bool chain_untrusted = false;  // the chain check failed only for lack of a trust anchor
  bool example_root = false;     // the chain ends at a demo-PKI root (libcert/example_keys.h)
  // The signer certificate's role (libcert/roles.h); uscc above is its department for kSeal only.
  CertificateRole role;
  bool revoked = false;   // past_validation: a CRL of the DSS lists a chain certificate
  bool unproven = false;  // past_validation: the chain cannot be relied on at `reference`
};

// `parts` are the signed byte ranges in order; `der` the CMS (trailing zero padding allowed);
// `signing_time` Unix seconds at which the certificate chain is evaluated (RFC 5280 §6.1 with
// the validation time set to it); `cades` whether the sub-filter is ETSI.CAdES.detached (then
// signing-certificate-v2 is required and signingTime forbidden, ETSI EN 319 142-1 §5.2.2/§5.2.3).
// With `dss` (PAdES B-LT, verify_ltv.h): its certificates are intermediates for the chain too,
// and past_validation(chain, signing_time, proven, reference, dss) adds its checks (ca-role,
// revocation, proof-of-existence). Without it (nullptr) the chain's CA roles are still checked.
CmsVerification cms_verify(const std::vector<std::string_view>& parts, std::string_view der,
                           const TrustStore& trust, std::int64_t signing_time, bool cades,
                           const Dss* dss = nullptr, bool proven = false,
                           std::optional<std::int64_t> reference = std::nullopt);

// The issuing-CA role (trust.md "Roles"; RFC 5280 §4.2.1.9/§4.2.1.3) of a certificate between a
// trust anchor and a leaf: CA:TRUE with pathLenConstraint 0 (it certifies leaves only, never
// another CA) and keyUsage keyCertSign + cRLSign. Empty when it holds, else a sentence naming
// what is missing. `cert` is an X509*; void* keeps OpenSSL out of this header.
std::string issuing_ca_problem(const void* cert);

// ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" of a Unix time.
std::string iso8601(std::int64_t t);

}  // namespace libcert::detail
