// cms_der.h (private) — a strict DER reader of the certificates and signature time-stamp tokens in
// a CMS SignedData (RFC 5652 §5.1, RFC 3161 Appendix A): the fast path by which ltv.cpp's
// document_certificates collects a seal's certificates without OpenSSL's d2i, which decodes every
// certificate's public key through its provider decoders (issue 21: ~40 % of a B-LT seal).
//
// It reads untrusted bytes (`certctl ltv extend` takes any PDF): X.690 §8.1 definite lengths only,
// at most 4 length octets, single-byte tags, the exact expected structure; anything else returns
// false and the caller falls back to OpenSSL. The views it returns point into `der`; it proves
// nothing about them (the caller proves each certificate, canonical_certificate in ltv.cpp).
// Fuzzed by tests/fuzz/fuzz_cms_der.cpp.
#pragma once

#include <string_view>
#include <vector>

namespace libcert::cms_der {

// ContentInfo { id-signedData, [0] EXPLICIT SignedData { version, digestAlgorithms,
// encapContentInfo, certificates [0] IMPLICIT OPTIONAL, crls [1] OPTIONAL, signerInfos } },
// optionally followed by zero bytes only (a seal's /Contents placeholder padding). Appends the
// whole DER of each plain certificate (CertificateChoices `certificate`) to `certs` and, if
// `tokens`, the id-aa-signatureTimeStampToken values of the SignerInfos to `*tokens`. False (with
// possibly some views appended) if the input is not exactly that structure.
bool read_signed_data(std::string_view der, std::vector<std::string_view>& certs,
                      std::vector<std::string_view>* tokens);

}  // namespace libcert::cms_der
