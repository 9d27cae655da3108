// libcert/crl.h — certificate revocation lists of the issuing CA (RFC 5280 §5), made by certd
// (GET /v1/crl) and certctl (`certctl crl make`), read by verifiers (PAdES B-LT's /DSS carries one).
//
//   libcert::Crl crl;
//   crl.number = 7;                                   // monotonic (RFC 5280 §5.2.3)
//   crl.this_update = now;  crl.next_update = now + 86400;
//   crl.revoked.push_back({"3A0F…", compromised_at, libcert::CrlReason::kKeyCompromise,
//                          compromised_at});
//   std::string der = crl.sign(issuing_ca_der, libcert::digest_signer_from_pem(ca_key_pem));
//
//   libcert::Crl got = libcert::Crl::parse(der);      // structure only; throws naming the field
//   libcert::CrlCheck c = got.check(issuing_ca_der, now);
//   if (c.problem == libcert::CrlProblem::kNone && got.find(cert_serial)) { ... revoked ... }
//
// What sign() writes (RFC 5280 §5.1): a v2 CertificateList signed ecdsa-with-SHA256 by the
// issuing CA (the CA of trust.md "Roles": CA:TRUE, keyUsage cRLSign), issuer = the CA's subject,
// thisUpdate/nextUpdate (UTCTime up to 2049, GeneralizedTime after, §5.1.2.4), the CRL extensions
// authorityKeyIdentifier (= the CA's subjectKeyIdentifier, §5.2.1) and cRLNumber (§5.2.3), and per
// entry userCertificate (the serial), revocationDate, and the entry extensions reasonCode
// (§5.3.1; omitted for unspecified, as §5.3.1 asks) and invalidityDate (§5.3.2) when set.
// Entries are written in ascending serial order, so the same content gives the same TBS bytes.
// The signature goes through a DigestSigner, so the CA key may be a PEM file or a PKCS#11 token
// key (libcert/pkcs11.h).
//
// Pure functions over values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/qr_payload.h"  // DigestSigner

namespace libcert {

// CRLReason (RFC 5280 §5.3.1): the codes this system uses.
enum class CrlReason : int {
  kUnspecified = 0,
  kKeyCompromise = 1,         // a seal key version revoked with compromised_at
  kSuperseded = 4,            // replaced by a newer version
  kCessationOfOperation = 5,  // the department no longer seals
};
// "unspecified", "keyCompromise", "superseded", "cessationOfOperation".
std::string_view to_string(CrlReason r) noexcept;
// The inverse of to_string; nullopt for any other text.
std::optional<CrlReason> crl_reason_from_string(std::string_view s) noexcept;

struct RevokedCertificate {
  // The certificate's serialNumber as upper-case hex without leading zeros (what OpenSSL's
  // BN_bn2hex prints and VerificationReport's cert_serial holds), e.g. "3A0F9C".
  std::string serial_hex;
  std::int64_t revocation_date = 0;  // Unix seconds (§5.1.2.6)
  CrlReason reason = CrlReason::kUnspecified;
  // When the key is known or suspected to have been compromised (§5.3.2): compromised_at.
  std::optional<std::int64_t> invalidity_date;
  friend bool operator==(const RevokedCertificate&, const RevokedCertificate&) = default;
};

enum class CrlProblem {
  kNone,
  kSignature,    // the signature does not verify with the issuer certificate's key
  kIssuer,       // the CRL's issuer name or authorityKeyIdentifier is not that certificate's
  kIssuerRole,   // the certificate may not sign CRLs (not CA:TRUE or no cRLSign, §4.2.1.3)
  kNotYetValid,  // thisUpdate lies after `now`
  kExpired,      // nextUpdate lies at or before `now`: a newer CRL must exist (§5.1.2.5)
};
// "none", "signature", "issuer", "issuer-role", "not-yet-valid", "expired".
std::string_view to_string(CrlProblem p) noexcept;

struct CrlCheck {
  CrlProblem problem = CrlProblem::kNone;
  std::string detail;  // a sentence, also for kNone
};

class Crl {
 public:
  std::uint64_t number = 0;  // cRLNumber (§5.2.3): strictly increasing per issuer
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;  // required by §5.1.2.5 (conforming CRL issuers)
  std::vector<RevokedCertificate> revoked;
  // Read by parse() (ignored by sign(), which takes them from the issuer certificate):
  std::string issuer;                // RFC 2253, UTF-8
  std::string authority_key_id_hex;  // lower-case hex of authorityKeyIdentifier.keyIdentifier

  // The DER CertificateList signed by the holder of `issuer_cert_der`'s key through `sign`
  // (a DigestSigner over SHA-256 returning a DER ECDSA-Sig-Value). Throws Error(kInvalidArgument)
  // for bad content (next_update not after this_update, a serial that is not hex, two entries
  // with one serial), Error(kCrypto) if the issuer certificate does not parse, is not an EC P-256
  // CA certificate with cRLSign and a subjectKeyIdentifier, or the signature fails or does not
  // verify with that certificate's key (a signer holding another key).
  [[nodiscard]] std::string sign(std::string_view issuer_cert_der, const DigestSigner& signer) const;

  // Parses a DER CRL (PEM "X509 CRL" accepted too). Checks the structure only: v2, thisUpdate and
  // nextUpdate present, a cRLNumber, only known critical extensions. Throws
  // Error(kInvalidArgument) naming the field ("crl: nextUpdate missing (RFC 5280 §5.1.2.5)"),
  // Error(kLimitExceeded) above 16 MiB.
  static Crl parse(std::string_view der_or_pem);

  // Checks a parsed CRL against its issuer at `now`: issuer name and authorityKeyIdentifier,
  // the issuer's role (CA, cRLSign), the signature, then the times. Never throws for a bad CRL
  // (the problem says what is wrong); throws Error(kInvalidArgument) if `issuer_cert_der` is not
  // a certificate.
  [[nodiscard]] CrlCheck check(std::string_view issuer_cert_der, std::int64_t now) const;

  // The entry of a serial (upper-case or lower-case hex, leading zeros ignored); nullptr if the
  // serial is not listed.
  [[nodiscard]] const RevokedCertificate* find(std::string_view serial_hex) const;

  // The DER that parse() read (empty for a CRL built in memory).
  [[nodiscard]] const std::string& der() const noexcept { return der_; }

 private:
  std::string der_;
};

// PEM ("-----BEGIN X509 CRL-----") of a DER CRL.
std::string crl_der_to_pem(std::string_view der);

}  // namespace libcert
