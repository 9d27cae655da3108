// libcert/ofd.h — sealing and verifying OFD documents (GB/T 33190) with GB/T 38540-2020 v4
// electronic seals (SM2 with SM3). docs/ofd.md describes the profile as built.
//
//   libcert::Sm2PemSigner seal("keys-example/sm2/seals/samr/seal.key",
//                              "keys-example/sm2/seals/samr/seal.crt");
//   std::string esl = read("samr.esl");                  // certctl ses make-seal
//   libcert::FixedClock clock(1764900000);
//   libcert::OfdSealOptions opt;
//   opt.clock = &clock;
//   opt.x_mm = 140; opt.y_mm = 215;                      // top-left of the stamp, page mm
//   std::string sealed = libcert::seal_ofd(ofd_bytes, seal, esl, opt);
//
//   libcert::TrustStore trust;  trust.add_path("keys-example/sm2/root.crt");
//   libcert::VerificationReport r = libcert::verify_ofd(sealed, trust, verify_opts);
//
// What seal_ofd writes (GB/T 38540 §9 / GB/T 33190 §18, names as ofdrw and the tax authority):
//   Doc_0/Signs/Signatures.xml          the signature list (created, or one <Signature> added)
//   Doc_0/Signs/Sign_N/Seal.esl         the seal, byte for byte
//   Doc_0/Signs/Sign_N/Signature.xml    SignedInfo: Provider, SignatureMethod (SM2 OID),
//                                       SignatureDateTime, References (CheckMethod SM3 OID; one
//                                       per protected file: base64 SM3 of its bytes), StampAnnot
//                                       (PageRef = the page's ID, Boundary in mm), Seal/BaseLoc;
//                                       SignedValue
//   Doc_0/Signs/Sign_N/SignedValue.dat  DER SES_Signature over TBS_Sign with dataHash =
//                                       SM3(Signature.xml) and propertyInfo = its path
// Protected: every file of the package except Signatures.xml, this signature's Signature.xml and
// SignedValue.dat. Signatures.xml is left out so that a further department's seal can be added
// later without breaking this one (it only adds a <Signature> entry and its own Sign_M files);
// OFD.xml (which points at Signatures.xml) is protected. Nothing is re-serialised after it was
// hashed: every XML file is written once, as bytes, before its hash is taken.
//
// Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "libcert/clock.h"
#include "libcert/sign.h"
#include "libcert/verify.h"

namespace libcert {

struct OfdSealOptions {
  const Clock* clock = nullptr;  // required: SignatureDateTime and TBS_Sign.timeInfo
  std::size_t page = 0;          // 0-based page index of the first document that carries the stamp
  // Boundary of the StampAnnot in page millimetres (origin top-left, y down). w/h = 0: the seal
  // picture's size in mm (drawn unscaled).
  double x_mm = 0, y_mm = 0, w_mm = 0, h_mm = 0;
  std::string provider = "libcert";
};

// Seals `ofd` (a ZIP package; unsigned, or signed by seals that left Signatures.xml unprotected)
// with `signer` (SignatureAlgorithm::kSm2Sm3) and the seal `seal_esl` (DER SESeal v4 whose
// certificate list names the signer). Returns the new package.
// Throws Error(kInvalidArgument) for a package that is not a readable OFD (ZIP tricks included),
// a page out of range, a seal that does not parse or does not list the signer, a non-SM2 signer,
// no clock, or an earlier signature that protects Signatures.xml (a further seal would break it);
// Error(kLimitExceeded) beyond the ZIP limits; Error(kCrypto) if signing fails.
[[nodiscard]] std::string seal_ofd(std::string_view ofd, const Signer& signer,
                                   std::string_view seal_esl, const OfdSealOptions& options);

// True if `bytes` look like an OFD package (a ZIP whose first bytes are a local header): the
// dispatch test of `certctl verify` and certd. Does not validate anything.
[[nodiscard]] bool looks_like_ofd(std::string_view bytes) noexcept;

// Verifies every signature listed in the OFD's Signatures.xml (docs/ofd.md "Verification"),
// returning the report of libcert/verify.h with the verdicts of docs/verdicts.md. Never throws for
// bad input: a malformed or tricky package is INVALID (check "structure"), a limit INDETERMINATE
// (check "limits"). `trust` holds the SM2 seal roots; opts.keys the key states (without it:
// INDETERMINATE, check "key-state"); opts.clock "now" for the signing-time check.
//
// Document checks: structure, limits, signatures-present, coverage (a file a signature should
// protect but does not: MODIFIED).
// Signature checks (SignatureReport::field_name = the Signature.xml path), in the order of
// ofd-ses.md §3.4: signature-xml, references (INVALID, or MODIFIED through "modifications" when a
// later intact seal protects the changed file), seal-format (a GM/T 0031 v1/v2 seal: INDETERMINATE,
// recognised but not supported), seal-match (Seal.esl == the seal inside SignedValue.dat),
// data-hash (SM3 of Signature.xml), signature (signer SM2 over DER(TBS_Sign), distinguishing ID),
// cert-in-seal, seal-signature (maker SM2 over DER(SES_SealInfo)), seal-validity (validStart <=
// timeInfo <= validEnd), signing-time, chain (SM2 chain at timeInfo; UNKNOWN-SIGNER when untrusted),
// maker-chain, maker-role, signer-role, issuer-binding (the seal's department must be the OFD's
// IssuingAuthorityCode custom data, or a CoIssuingAuthorityCodes one), key-state.
[[nodiscard]] VerificationReport verify_ofd(std::string_view ofd, const TrustStore& trust,
                                            const VerifyOptions& opts = {});

}  // namespace libcert
