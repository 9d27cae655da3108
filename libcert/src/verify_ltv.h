// verify_ltv.h (private) — long-term validation from a PDF's document security store (PAdES
// B-LT, ETSI EN 319 142-1 §5.4; ETSI EN 319 102-1 §5.6.2 "past signature validation"):
// the DSS certificates as untrusted intermediates, the role of each issuing CA in a chain
// (trust.md), CRLs (RFC 5280 §5, §6.3) and whether a certificate that expired before the
// reference time may still be relied on.
//
//   detail::Dss dss = detail::read_dss(doc);
//   auto chain = detail::build_chain(leaf, {cms_certs, dss.certs}, trust, when);
//   auto r = detail::past_validation(chain.chain, when, proven, reference, dss, "seal");
//
// The reference time is "now", or the genTime of the earliest valid document time-stamp that
// covers the signature (an archive time-stamp freezes the validation data before it: §5.6.2.4).
// Never throws for bad input: every problem is a check. Thread-safe.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcert/pdf.h"
#include "libcert/verify.h"
#include "ossl.h"

namespace libcert::detail {

using CrlPtr = std::unique_ptr<X509_CRL, ossl::Deleter<X509_CRL_free>>;
// Owns a certificate stack and its certificates (a named deleter: ossl::X509Stack's lambda type
// cannot cross translation units).
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using CertStack = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// The validation data of the document's (final) /DSS: /Certs and /CRLs parsed; entries that are
// not DER certificates / CRLs are listed in `problems` (they prove nothing, and are reported).
struct Dss {
  std::vector<ossl::X509Ptr> certs;
  std::vector<CrlPtr> crls;
  std::vector<std::string> problems;
  bool present = false;
};
Dss read_dss(const pdf::Document& doc);

// The chain of `leaf` to a trust anchor at time `t` (leaf first, anchor last), with the
// certificates of every list in `untrusted` as candidate intermediates. Empty if none is found
// (the caller's own chain check reports why).
CertStack build_chain(X509* leaf, const std::vector<const STACK_OF(X509)*>& untrusted,
                            const TrustStore& trust, std::int64_t t);

// A STACK_OF(X509) holding (up-referenced) the DSS certificates.
CertStack dss_stack(const Dss& dss);

struct PastValidation {
  // "ca-role" (fail: INVALID), "revocation" (fail: REVOKED; not-checked: INDETERMINATE),
  // "proof-of-existence" (fail: INDETERMINATE).
  std::vector<Check> checks;
  bool revoked = false;   // a CRL lists a certificate of the chain as revoked at or before `when`
  bool unproven = false;  // the chain cannot be relied on at `reference` (no proof, no CRL)
};

// `chain` as built at `when` (the signing time, `proven` if a time-stamp proves it; for a TSA,
// its token's genTime). A certificate of the chain that expired before `reference` is relied on
// only with a proven `when` and a CRL of its issuer from the DSS issued at or after `when` and no
// later than its notAfter that does not list it (revoked before `when`: REVOKED). Any CRL of the
// DSS that lists a chain certificate revoked at or before `when` (or at all, for an unproven
// `when`) makes it REVOKED. `what` names the leaf in the details ("seal", "TSA").
PastValidation past_validation(const STACK_OF(X509)* chain, std::int64_t when, bool proven,
                               std::int64_t reference, const Dss& dss, const std::string& what);

}  // namespace libcert::detail
