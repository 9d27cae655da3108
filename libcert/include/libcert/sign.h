// libcert/sign.h — sealing a PDF with a PAdES signature (ETSI EN 319 142-1, baseline B-B).
//
//   libcert::PemFileSigner seal("keys-example/seals/samr/seal.key",
//                               "keys-example/seals/samr/seal.crt");   // + issuing CA, no root
//   libcert::FixedClock clock(1735689600);
//   libcert::SealOptions opt;
//   opt.clock = &clock;
//   opt.rect = {400, 80, 119.06, 119.06};      // the drawn seal, PDF points, lower-left origin
//   opt.reason = "电子证照签章";
//   std::string sealed = libcert::seal_pdf(unsigned_pdf, seal, opt);   // DocMDP P=1 certification
//
//   // A second (co-issuing) department: the first seal must have been made with docmdp_p = 2.
//   opt.kind = libcert::SealKind::kApproval;
//   std::string twice = libcert::seal_pdf(sealed, other_seal, opt);
//
// What seal_pdf writes (docs/signing.md): one incremental update (ISO 32000-1 §7.5.6) that keeps
// every earlier byte, holding a signature dictionary `/Type/Sig /Filter/Adobe.PPKLite
// /SubFilter/ETSI.CAdES.detached` with /M (UTC, from options.clock), /Reason, /Name, /Location,
// `/ByteRange [0 a b c]` whose gap is exactly the /Contents hex string, and /Contents = a DER CMS
// SignedData (RFC 5652), detached, one SignerInfo identified by issuer+serial, certificates =
// signer + chain, signed attributes content-type, message-digest and signing-certificate-v2
// (RFC 5035, ESSCertIDv2 with SHA-256) — and no signingTime (ETSI EN 319 142-1 §5.2.3 forbids it;
// the time is /M) and no SMIMECapabilities. A signature field + widget annotation (/FT/Sig,
// /F 4 print, /P page, /Rect = options.rect) is added to the page's /Annots and the catalog's
// /AcroForm /Fields with /SigFlags 3. A certification signature also adds a DocMDP /Reference and
// the catalog's /Perms /DocMDP (§12.8.2.2).
//
// Determinism: with a fixed clock the PDF is byte-identical except the ECDSA signature value,
// which OpenSSL 3.0 randomises (RFC 6979 deterministic ECDSA needs OpenSSL 3.2); its DER length
// varies by 1-2 bytes, which the zero padding of /Contents absorbs.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/clock.h"

namespace libcert {

class TimeStamper;  // tsa.h

enum class SignatureAlgorithm {
  kEcdsaP256Sha256,  // ecdsa-with-SHA256 (1.2.840.10045.4.3.2), DER Ecdsa-Sig-Value (default)
  kRsaSha256,        // sha256WithRSAEncryption, PKCS#1 v1.5 (RSA-3072 keys)
  kSm2Sm3,           // SM2-with-SM3 (1.2.156.10197.1.501), OFD seals only (libcert/ses.h):
                     // signs messages (sign_message), not digests
};

// Access to one seal key. Implementations: PemFileSigner (a key file), later PKCS#11 (an HSM).
// All methods must be thread-safe (an Issuer signs from many threads with one Signer).
class Signer {
 public:
  virtual ~Signer() = default;
  // DER of the signer's certificate.
  [[nodiscard]] virtual const std::string& certificate() const = 0;
  // DER certificates of the chain above the signer (intermediates first), WITHOUT the trust
  // anchor; included in the CMS after the signer's certificate. May be empty.
  [[nodiscard]] virtual const std::vector<std::string>& chain() const = 0;
  [[nodiscard]] virtual SignatureAlgorithm algorithm() const = 0;
  // Signs a SHA-256 digest (32 bytes) and returns the value for SignerInfo.signature: for ECDSA
  // the DER Ecdsa-Sig-Value, for RSA the PKCS#1 v1.5 signature over DigestInfo(sha256, digest).
  // Throws Error(kInvalidArgument) if digest is not 32 bytes, Error(kCrypto) if signing fails.
  [[nodiscard]] virtual std::string sign(std::span<const std::uint8_t> digest) const = 0;
  // Signs a whole message. Needed for kSm2Sm3 (GM/T 0003.2 §6.1: the digest SM3(Z_A ‖ M)
  // depends on the public key and the distinguishing ID, so the signer computes it; libcert/ses.h).
  // The default throws Error(kInvalidArgument): digest signers are used through sign().
  [[nodiscard]] virtual std::string sign_message(std::span<const std::uint8_t> message) const;

  // What a CMS SignerInfo takes from certificate() and chain() (sign.cpp: issuer and serial,
  // the signing-certificate-v2 attribute, the certificates field, the key's largest signature),
  // derived on first use and kept, so the certificate is parsed once per Signer rather than once
  // per seal (issue 21: parsing it was two thirds of a seal's CPU). Thread-safe. Throws
  // Error(kCrypto) if certificate() does not parse.
  struct CmsParts;
  [[nodiscard]] std::shared_ptr<const CmsParts> cms_parts() const;

 protected:
  Signer() = default;
  // A copy derives its own parts (from the same certificate, on first use); assignment drops
  // the parts of the certificate it replaces.
  Signer(const Signer& /*other*/) noexcept {}
  Signer& operator=(const Signer& /*other*/) noexcept {
    cms_parts_.store(nullptr);
    return *this;
  }

 private:
  mutable std::atomic<std::shared_ptr<const CmsParts>> cms_parts_;
};

// A signer whose private key and certificate are PEM files (keys-example/seals/<dept>/...).
class PemFileSigner final : public Signer {
 public:
  // Loads an unencrypted PEM private key (EC P-256 or RSA >= 2048), the signer's PEM certificate
  // and its chain: the certificates after the first in the certificate file ("full chain", as
  // keys-example writes seal.crt: seal + issuing CA), then the optional PEM chain files (each may
  // hold several certificates). Throws Error(kIo) if a
  // file cannot be read, Error(kCrypto) if a PEM does not parse, the key does not match the
  // certificate, or the key type is not supported.
  PemFileSigner(const std::string& key_path, const std::string& cert_path,
                const std::vector<std::string>& chain_paths = {});
  // Same from PEM text in memory.
  static PemFileSigner from_pem(std::string_view key_pem, std::string_view cert_pem,
                                std::string_view chain_pem = {});

  [[nodiscard]] const std::string& certificate() const override;
  [[nodiscard]] const std::vector<std::string>& chain() const override;
  [[nodiscard]] SignatureAlgorithm algorithm() const override;
  [[nodiscard]] std::string sign(std::span<const std::uint8_t> digest) const override;

  PemFileSigner(PemFileSigner&&) noexcept;
  PemFileSigner& operator=(PemFileSigner&&) noexcept;
  ~PemFileSigner() override;

 private:
  struct Impl;
  explicit PemFileSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class SealKind {
  kCertification,  // author signature with DocMDP (§12.8.2.2): must be the document's first
  kApproval,       // a further seal; requires that no DocMDP P=1 certification is present
};

// Rectangle in PDF user space (points, origin lower-left of the page).
struct Rect {
  double x = 0, y = 0, w = 0, h = 0;
};

struct SealOptions {
  const Clock* clock = nullptr;  // required: /M and nothing else
  SealKind kind = SealKind::kCertification;
  int docmdp_p = 1;        // certification only: 1 = no changes (one seal), 2 = form
                           // filling and further signatures allowed (more seals follow)
  std::size_t page = 0;    // 0-based page that carries the widget
  Rect rect;               // the drawn seal; w = h = 0 makes an invisible signature
  std::string field_name;  // /T of the field; default "Seal1", "Seal2", ... (unique)
  std::string reason;      // /Reason (UTF-8; written as UTF-16BE text string), optional
  std::string name;        // /Name, default: the certificate subject's CN
  std::string location;    // /Location, optional
  // Bytes reserved for the CMS in /Contents (written as 2x hex digits); 0 = the DER size measured
  // with a maximum-size signature of the signer's key, + 256.
  std::size_t contents_capacity = 0;
  // PAdES B-T (ETSI EN 319 142-1 §5.3): when set, the SignerInfo carries the unsigned attribute
  // id-aa-signatureTimeStampToken (RFC 3161 Appendix A, 1.2.840.113549.1.9.16.2.14) whose
  // imprint is SHA-256 of the signature value; the reservation grows by max_token_size().
  // nullptr: B-B. The time-stamp proves when the seal existed; /M stays only a claim.
  const TimeStamper* timestamper = nullptr;
};

// Seals `pdf` (an unsigned or already sealed PDF) with `signer` as described at the top.
// Returns the new file: `pdf` byte for byte followed by one incremental update.
// Throws Error(kInvalidArgument) for bad options (no clock, page out of range, docmdp_p not 1..3,
// a certification on an already signed document, an approval on a DocMDP P=1 document, a
// duplicate field name); Error(kPdfMalformed / kLimitExceeded) if `pdf` cannot be read;
// Error(kCrypto) if signing fails. Thread-safe (no shared state).
[[nodiscard]] std::string seal_pdf(std::string_view pdf, const Signer& signer,
                                   const SealOptions& options);

// The CMS (RFC 5652) SignedData, DER, detached, that seal_pdf puts into /Contents, for a SHA-256
// `content_digest` of the signed byte ranges (exposed for tests and for document timestamps
// later). Throws as Signer::sign.
[[nodiscard]] std::string cades_detached_signature(std::span<const std::uint8_t> content_digest,
                                                   const Signer& signer);

}  // namespace libcert
