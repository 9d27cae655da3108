// libcert/roles.h — the role of a certificate in the trust model (trust.md "Roles"), read from
// the certificate itself. A chain to the root proves only that the root issued a certificate;
// every verifier also asks whether the certificate may do *this* (seal this issuer's licence,
// sign a trust bundle).
//
//   const libcert::CertificateRole r = libcert::certificate_role(der);
//   if (r.role == libcert::CertRole::kSeal && r.uscc == licence_issuer) { ... }
//
// Policy OIDs are minted under the 2.25.<UUID as integer> arc (ITU-T X.667 / ISO/IEC 9834-8
// §6.3), so no registration is needed. The UUIDs were generated once with Python's uuid4
// (docs/signing.md "Trust model" lists them).
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace libcert {

// Seal of a department: UUID 762c3d9f-72f8-4f54-b150-e78bee3b2d4b.
inline constexpr std::string_view kSealPolicyOid = "2.25.157078614424240747290383494601942707531";
// Trust-bundle signer: UUID 82416e84-8a66-4d83-990d-bcfd55a538d3.
inline constexpr std::string_view kBundleSignerPolicyOid =
    "2.25.173139380313850288678706241780509391059";
// Time-stamping authority: the TSA policy under which certd's TSA issues RFC 3161 tokens
// (TSTInfo.policy, §2.4.2; tsa.h): UUID cdc820db-4d42-45f8-b0b9-78045f84c1f4.
inline constexpr std::string_view kTsaPolicyOid = "2.25.273530864919600092239482371405852754420";
// Issuing CA (reserved for the online CA between the root and the leaf certificates, trust.md;
// keys-example does not use it yet): UUID 96caef47-9b6c-4aa3-8aee-946b4794ff3d.
inline constexpr std::string_view kIssuingCaPolicyOid =
    "2.25.200437896502357320361310496017018584893";

// Seal maker (制章者, GB/T 38540-2020): signs SES_SealInfo, i.e. makes the .esl seal files of OFD
// seals, nothing else: UUID 81896a8b-ca08-4be4-ab8e-bb8b2bc94bbf.
inline constexpr std::string_view kSealMakerPolicyOid =
    "2.25.172183917136531997335682161863073287103";

// ETSI EN 319 412-1 §5.1.4: organizationIdentifier = 3-letter type + 2-letter country + '-' +
// identifier; "NTR" = national trade register, so a department's USCC is "NTRCN-<USCC>".
inline constexpr std::string_view kOrgIdPrefix = "NTRCN-";
inline std::string organization_identifier(std::string_view uscc) {
  return std::string(kOrgIdPrefix) + std::string(uscc);
}

enum class CertRole {
  kNone,          // no role of ours: may not sign anything for this system
  kSeal,          // seal of a department (uscc set)
  kBundleSigner,  // trust bundles only
  kTsa,           // RFC 3161 tokens only (EKU id-kp-timeStamping)
  kCa,            // a CA certificate (root or issuing CA): signs certificates and CRLs only
  kSealMaker,     // GB/T 38540 seal maker: signs SES_SealInfo (.esl seal files) only
};
// "none", "seal", "bundle-signer", "tsa", "ca", "seal-maker"
std::string_view to_string(CertRole r) noexcept;

struct CertificateRole {
  CertRole role = CertRole::kNone;
  std::string uscc;  // kSeal: the department's USCC from organizationIdentifier NTRCN-<USCC>
  std::string why;   // a sentence: which extensions made this role (or why there is none)
};

// Exactly one role per certificate (trust.md):
//   CA:TRUE                                     -> kCa
//   EKU id-kp-timeStamping                      -> kTsa
//   certificatePolicies seal OID, subject organizationIdentifier NTRCN-<valid USCC>, keyUsage
//     digitalSignature or nonRepudiation, no EKU or an EKU containing emailProtection (the
//     NSS/pdfsig quirk, signing.md)                                  -> kSeal
//   certificatePolicies bundle-signer OID, keyUsage digitalSignature  -> kBundleSigner
//   certificatePolicies seal-maker OID, keyUsage digitalSignature or nonRepudiation
//                                                                    -> kSealMaker
//   anything else, or two of our policy OIDs                         -> kNone (why says so)
// A DER that does not parse gives kNone.
CertificateRole certificate_role(std::string_view der);

// SHA-256 (lower-case hex) of the certificate's SubjectPublicKeyInfo DER: the value verifiers pin
// for the trust-bundle signer (the same as `openssl x509 -pubkey | openssl pkey -pubin -outform
// DER | sha256sum`). Throws Error(kCrypto) if `der` is not a certificate.
std::string spki_sha256(std::string_view der);

}  // namespace libcert
