// libcert/qr_payload.h — the signed QR payload of qr.md: CWT claims in a COSE_Sign1 (ES256),
// its text forms, and offline verification against a trust bundle.
//
//   libcert::QrClaims c;
//   c.issuer = "115425000199003834";  c.issued_at = clock.now();  c.licence.identifier = id.str();
//   ...
//   std::string text = libcert::make_qr_text(c, seal_signer, "LIC.ALI.EXAMPLE");  // sign.h Signer
//   // "HTTPS://LIC.ALI.EXAMPLE/V#0384...": draw it with QrMatrix::encode(text, QrEcc::kQ)
//
//   libcert::TrustBundle bundle = libcert::TrustBundle::parse(file_bytes, pins);  // BundlePins
//   libcert::QrVerdict v = libcert::verify_qr(scanned_text, bundle, clock.now());
//   if (v.verdict == libcert::Verdict::kValid) show(v.claims->licence.holder_name);
//   else log(libcert::to_string(v.verdict), v.check, v.reason);   // "INVALID", "signature", ...
//
// Wire format (version 1, docs/qr.md): tag 18 [ bstr .cbor {1: -7, 4: kid}, {}, bstr .cbor CWT,
// bstr r‖s ] with kid = SHA-256(seal certificate DER)[0..8), CWT = {1 iss, 4 exp?, 6 iat,
// -65537 licence-map}; licence-map = {1 identifier (short form, see QrLicence), 2 type code, 3
// holder name, 4 holder code, 5 title, 6 issue date YYYYMMDD, 7 area code, 8 status index, 9
// digest?, 10 full holder-name length if shortened?}; the holder name (3) is a text string, or a
// byte string of Tibetan-block characters packed one byte each (U+0F00 + b). All CBOR is
// deterministic (RFC 8949 §4.2.1) and the decoder accepts nothing else.
//
// Thread-safety: every function here is pure or const and may be called concurrently (a
// DigestSigner must itself be thread-safe to be shared).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libcert/verdict.h"

namespace libcert {

class TrustBundle;
class Signer;  // libcert/sign.h

// The licence map of qr.md (the private CWT claim -65537).
struct QrLicence {
  std::string identifier;   // 1: GB/T 36904 identifier, canonical form (carried as
                            //    "{serial}.{version}.{check}" when its type and issuer segments
                            //    equal type_code and iss; the decoder restores the full form)
  std::string type_code;    // 2: 21-char licence type code
  std::string holder_name;  // 3: UTF-8 (Chinese and/or Tibetan), as printed
  std::string holder_code;  // 4: USCC or resident ID number; empty = none (claim omitted)
  std::string title;        // 5: title or the key face value
  std::uint32_t issue_date = 0;       // 6: YYYYMMDD (an integer: 5 bytes instead of 11)
  std::uint32_t area_code = 0;        // 7: 6-digit administrative area code, e.g. 542500
  std::uint32_t status_index = 0;     // 8: bit index in the department's status list
  std::optional<std::string> digest;  // 9: 16 bytes, digest of the registered record
  // 10: set only when holder_name was shortened to fit the QR: the full name's length in
  // characters (the verifier shows the name as truncated).
  std::optional<std::uint32_t> holder_name_chars;
  friend bool operator==(const QrLicence&, const QrLicence&) = default;
};

struct QrClaims {
  std::string issuer;                      // CWT 1 iss: issuing department's USCC
  std::int64_t issued_at = 0;              // CWT 6 iat, seconds since the epoch
  std::optional<std::int64_t> expires_at;  // CWT 4 exp: licence expiry, if it has one
  QrLicence licence;
  friend bool operator==(const QrClaims&, const QrClaims&) = default;
};

// Signs a 32-byte SHA-256 digest with the seal's ECDSA P-256 key and returns the DER
// ECDSA-Sig-Value (what OpenSSL, PKCS#11 wrappers and CMS signers produce). Throws on failure.
using DigestSigner = std::function<std::string(std::span<const std::uint8_t> sha256)>;

// A DigestSigner over an EC P-256 private key in PEM (PKCS#8 or SEC1). Throws Error(kCrypto) if
// the PEM is not such a key. The returned function is thread-safe.
DigestSigner digest_signer_from_pem(std::string_view key_pem);

// kid of qr.md: the first 8 bytes of SHA-256 over the certificate's DER.
std::string cose_kid(std::string_view certificate_der);

// qr.md: ECC level Q, version at most 16.
inline constexpr int kQrMaxVersion = 16;
// Limits (bytes). Oversize input is INVALID (check "structure") before any parsing.
inline constexpr std::size_t kQrMaxPayload = 1024;
inline constexpr std::size_t kQrMaxText = 4096;

// The COSE_Sign1 bytes. `cert_der` is the seal certificate whose key `sign` uses (its kid goes in
// the protected header). Throws Error(kInvalidArgument) naming the field when a claim breaks a
// rule (empty identifier, digest not 16 bytes, date not YYYYMMDD...), Error(kLimitExceeded) when
// the payload exceeds kQrMaxPayload, Error(kCrypto) when the signature is not a P-256 ECDSA
// DER signature.
std::string make_qr_payload(const QrClaims& claims, std::string_view cert_der,
                            const DigestSigner& sign);
// The same through a seal Signer (sign.h), so the QR is signed by the same key version as the
// PDF seal (and by an HSM once a PKCS#11 Signer exists). Throws Error(kCrypto) unless the signer
// is ECDSA P-256 (ES256 is the only algorithm verifiers accept).
std::string make_qr_payload(const QrClaims& claims, const Signer& signer);

// Text forms of a payload. `host` must be upper case [A-Z0-9.-] (keeps the QR alphanumeric
// segment valid); throws Error(kInvalidArgument) otherwise.
std::string qr_digits(std::string_view payload);                      // 7 bytes -> 17 digits
std::string qr_url(std::string_view payload, std::string_view host);  // HTTPS://HOST/V#digits
std::string qr_app_text(std::string_view payload);                    // LC1:<Base45>
// "HTTPS://" + host + "/V#": the URL prefix a trust bundle's policy lists (trust_bundle.h
// BundlePolicy) for QRs printed with qr_url(…, host). Same host rule as qr_url.
std::string qr_url_prefix(std::string_view host);
std::string base45_encode(std::string_view bytes);  // RFC 9285
// Strict inverses; throw Error(kInvalidArgument) with the rule (bad length, value out of range).
std::string qr_digits_decode(std::string_view digits);
std::string base45_decode(std::string_view text);

// The claims as they will be signed so that HTTPS://host/V#<digits> fits version kQrMaxVersion at
// ECC Q: unchanged when they fit; otherwise the optional digest is dropped, then the holder name
// is shortened character by character with holder_name_chars = its full length. (A name wholly in
// the Tibetan block is packed one byte per character, so a 69-character Tibetan company name
// still fits whole.) Throws Error(kLimitExceeded) if even a 1-character name does not fit.
QrClaims fit_qr_claims(const QrClaims& claims, std::string_view host);

// What the issuer calls: fit_qr_claims, signed, as the URL text for the printed QR,
// e.g. make_qr_text(claims, seals.get(dept), options.qr_host). Same failures as make_qr_payload
// plus Error(kInvalidArgument) for a host that is not upper case [A-Z0-9.-:].
std::string make_qr_text(const QrClaims& claims, const Signer& signer, std::string_view host);
std::string make_qr_text(const QrClaims& claims, std::string_view cert_der,
                         const DigestSigner& sign, std::string_view host);

// Normalises scanner quirks (a "QR-Code:" prefix, lower-cased scheme/host, surrounding
// whitespace) and returns the payload bytes of either text form. Throws Error(kInvalidArgument)
// or Error(kLimitExceeded) with the reason.
std::string qr_payload_from_text(std::string_view text);

// Decodes (does NOT verify) a payload: checks the COSE/CWT structure strictly. Throws
// Error(kInvalidArgument) with the rule broken. `kid` receives the protected-header kid.
QrClaims decode_qr_payload(std::string_view payload, std::string* kid = nullptr);

// The verdict of verify_qr: one of the project's verdicts (libcert/verdict.h, docs/verdicts.md)
// and the id of the check that decided it. Check ids (stable; tests and the inspector's page key
// on them):
//   structure       INVALID        text, digits, Base45, CBOR, COSE or claim structure; oversize
//   url-prefix      INVALID        the URL before the payload is not one the bundle's policy lists
//                   INDETERMINATE  the bundle states no URL policy at all
//   kid             UNKNOWN-SIGNER no seal certificate with the kid in the bundle
//   signature       INVALID        alg other than ES256, a high-S signature, or no certificate
//                                  with the kid verifies
//   issuer-binding  INVALID        iss is not the verifying seal's department
//   signing-time    INVALID        iat lies in the future beyond the policy's clock skew
//   key-state       INVALID        the key is pending, or iat lies outside the certificate's
//                                  validity or the key's usage window
//                   REVOKED        the key was revoked for compromise at or before iat
//   status          REVOKED        the licence's status bit is set
//                   INDETERMINATE  no status list for iss, or the index lies outside it
//   expiry          EXPIRED        now >= exp
// check is empty for VALID.
struct QrVerdict {
  Verdict verdict = Verdict::kInvalid;
  std::string check = "structure";
  std::string reason;              // why, for anything but VALID (and notes for VALID)
  std::optional<QrClaims> claims;  // decoded fields; authentic only if signature_ok
  bool signature_ok = false;
  std::string kid_hex;
  std::string seal_department;  // department id of the seal that verified
  std::string seal_version;     // its key version in the trust bundle (empty if unversioned)
  bool status_checked = false;  // the status list covered the index
  std::uint64_t bundle_version = 0;
  std::int64_t bundle_issued_at = 0;
  std::int64_t bundle_age_seconds = 0;
};

// Offline verification (qr.md "Verifier behaviour"): never throws for bad input — every failure
// is a verdict. Checks in this order, the first failing one decides: structure → url-prefix →
// kid → signature → issuer-binding → signing-time → key-state → status → expiry → VALID.
// Validity is judged at the signing time iat, not at `now` (except expiry and the future-iat
// bound). Fail closed: missing status data is INDETERMINATE, never VALID with a note.
QrVerdict verify_qr(std::string_view text, const TrustBundle& bundle, std::int64_t now);

}  // namespace libcert
