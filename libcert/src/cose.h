// cose.h (private) — COSE_Sign1 with ES256 (RFC 9052 §4.2, RFC 9053 §2.1) over the strict CBOR
// codec, and the few X.509/ECDSA helpers the QR payload and the trust bundle share.
//
//   std::string signed_bytes = cose::sign1(payload, kid, cbor::Value::map({}), signer);
//   cose::Sign1 s = cose::parse_sign1(signed_bytes);          // structure only
//   bool ok = cose::verify_es256(s, seal_cert_der);             // signature only
#pragma once

#include "libcert/hex.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "cbor.h"
#include "libcert/qr_payload.h"

namespace libcert::cose {

inline constexpr std::uint64_t kTagSign1 = 18;  // RFC 9052 §4.2
inline constexpr std::int64_t kAlgES256 = -7;   // RFC 9053 §2.1
inline constexpr std::int64_t kHdrAlg = 1, kHdrKid = 4,
                              kHdrX5Chain = 33;  // RFC 9052 §3.1, RFC 9360

std::string sha256(std::string_view data);
// DER ECDSA-Sig-Value -> 64-byte r‖s (RFC 9053 §2.1: each integer left-padded to 32 bytes).
// Throws Error(kCrypto) if `der` is not exactly one DER ECDSA-Sig-Value with 32-byte r and s.
std::string der_to_raw(std::string_view der);
// 64-byte r‖s -> DER, for OpenSSL's verifier. Throws Error(kInvalidArgument) unless 64 bytes.
std::string raw_to_der(std::string_view raw);
// ECDSA signatures are malleable: if (r, s) verifies, so does (r, n - s). A signer therefore
// emits only the low form s <= n/2 (as BIP 146 and RFC 6979 users do), and a QR verifier refuses
// the other one, so each signed payload has exactly one accepted encoding (qr.md "Low-S").
// is_low_s: true when the 64-byte r‖s has s <= n/2 for P-256. normalise_low_s: replaces s by
// n - s when s > n/2 (same signature, mathematically). Both throw Error(kInvalidArgument) unless
// 64 bytes.
bool is_low_s(std::string_view raw);
std::string normalise_low_s(std::string raw);

// The decoded envelope. `protected_bstr` is kept as received: the Sig_structure covers those
// exact bytes (RFC 9052 §4.4).
struct Sign1 {
  std::string protected_bstr;
  cbor::Value protected_map;
  cbor::Value unprotected;
  std::string payload;
  std::string signature;  // 64 bytes r‖s
  std::int64_t alg = 0;
  std::string kid;
};

// tag 18 [bstr .cbor {1: -7, 4: kid}, unprotected, bstr payload, bstr r‖s]
std::string sign1(std::string_view payload, std::string_view kid, const cbor::Value& unprotected,
                  const DigestSigner& sign);

// Strict structure: tag 18, 4-element array, protected = deterministic map holding exactly
// alg (int) and kid (8-byte bstr), signature 64 bytes. The unprotected map is returned for the
// caller to check. Throws cbor::DecodeError or Error(kInvalidArgument) naming the element.
Sign1 parse_sign1(std::string_view bytes, const cbor::Limits& limits = {});

// Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 §4.4) verified with the EC P-256
// key of `cert_der`. False on any mismatch (never throws for a bad signature; throws
// Error(kCrypto) only if `cert_der` is not a certificate with a P-256 key).
bool verify_es256(const Sign1& s, std::string_view cert_der);

// X.509 helpers (DER in, Unix seconds out). Throw Error(kCrypto) on a bad certificate.
struct CertTimes {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};
CertTimes cert_times(std::string_view cert_der);
// True when `cert_der` is issued (name and signature) by `issuer_der`.
bool issued_by(std::string_view cert_der, std::string_view issuer_der);
// PEM "CERTIFICATE" -> DER. Throws Error(kCrypto).
std::string cert_pem_to_der(std::string_view pem);
std::string cert_subject(std::string_view cert_der);  // RFC 2253 one-line form

using libcert::hex;  // hex.h

}  // namespace libcert::cose
