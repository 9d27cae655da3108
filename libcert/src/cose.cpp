#include "cose.h"

#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstring>
#include <ctime>

#include "ossl.h"

namespace libcert::cose {

namespace {

ossl::X509Ptr load_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ossl::check(x != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size(),
              "certificate: not one DER X.509 certificate");
  return x;
}

std::int64_t to_unix(const ASN1_TIME* t) {
  std::tm tm{};
  ossl::check(ASN1_TIME_to_tm(t, &tm) == 1, "certificate: unreadable validity time");
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string sig_structure(const Sign1& s) {
  // RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload].
  return cbor::encode(
      cbor::Value::array({cbor::Value::text("Signature1"), cbor::Value::bytes(s.protected_bstr),
                          cbor::Value::bytes(""), cbor::Value::bytes(s.payload)}));
}

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "COSE_Sign1: " + what);
}

}  // namespace

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string der_to_raw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  ossl::check(
      sig != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size(),
      "ES256: signer did not return one DER ECDSA-Sig-Value");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(64, '\0');
  ossl::check(BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) == 32 &&
                  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) == 32,
              "ES256: r or s longer than 32 bytes (not a P-256 signature)");
  return raw;
}

std::string raw_to_der(std::string_view raw) {
  if (raw.size() != 64)
    throw Error(ErrorCode::kInvalidArgument, "ES256 signature must be 64 bytes r||s");
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::Bn r(BN_bin2bn(b, 32, nullptr));
  ossl::Bn s(BN_bin2bn(b + 32, 32, nullptr));
  ossl::EcdsaSig sig(ECDSA_SIG_new());
  ossl::check(r && s && sig, "ES256: allocating signature");
  ossl::check(ECDSA_SIG_set0(sig.get(), r.get(), s.get()) == 1, "ES256: ECDSA_SIG_set0");
  (void)r.release();  // now owned by sig
  (void)s.release();
  unsigned char* out = nullptr;
  const int n = i2d_ECDSA_SIG(sig.get(), &out);
  ossl::check(n > 0, "ES256: encoding DER signature");
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

namespace {

// P-256 group order n (SEC 2 v2 §2.4.2) and floor(n/2), big-endian.
constexpr unsigned char kP256N[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
constexpr unsigned char kP256HalfN[32] = {
    0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8};

void need_raw(std::string_view raw) {
  if (raw.size() != 64)
    throw Error(ErrorCode::kInvalidArgument, "ES256 signature must be 64 bytes r||s");
}

}  // namespace

bool is_low_s(std::string_view raw) {
  need_raw(raw);
  // Fixed-width big-endian: lexicographic order is numeric order.
  return std::memcmp(raw.data() + 32, kP256HalfN, 32) <= 0;
}

std::string normalise_low_s(std::string raw) {
  need_raw(raw);
  if (is_low_s(raw)) return raw;
  // s' = n - s by schoolbook subtraction (s < n for any signature a P-256 signer makes; an s >= n
  // would not verify anyway, and then the result is only guaranteed to differ).
  auto* s = reinterpret_cast<unsigned char*>(raw.data() + 32);
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = static_cast<int>(kP256N[i]) - static_cast<int>(s[i]) - borrow;
    borrow = d < 0 ? 1 : 0;
    s[i] = static_cast<unsigned char>(d + (borrow ? 256 : 0));
  }
  return raw;
}

std::string sign1(std::string_view payload, std::string_view kid, const cbor::Value& unprotected,
                  const DigestSigner& sign) {
  Sign1 s;
  s.protected_bstr = cbor::encode(
      cbor::Value::map({{cbor::Value::integer(kHdrAlg), cbor::Value::integer(kAlgES256)},
                        {cbor::Value::integer(kHdrKid), cbor::Value::bytes(kid)}}));
  s.payload = payload;
  const std::string digest = sha256(sig_structure(s));
  const std::string der = sign(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(digest.data()), digest.size()));
  const std::string raw = normalise_low_s(der_to_raw(der));
  return cbor::encode(cbor::Value::tag(
      kTagSign1, cbor::Value::array({cbor::Value::bytes(s.protected_bstr), unprotected,
                                     cbor::Value::bytes(payload), cbor::Value::bytes(raw)})));
}

Sign1 parse_sign1(std::string_view bytes, const cbor::Limits& limits) {
  const cbor::Value top = cbor::decode(bytes, limits);
  if (top.kind() != cbor::Value::Kind::kTag || top.tag_number() != kTagSign1)
    bad("not tagged 18 (COSE_Sign1, RFC 9052 §4.2)");
  const cbor::Value& arr = top.tagged();
  if (arr.kind() != cbor::Value::Kind::kArray || arr.as_array().size() != 4)
    bad("expected an array of 4 elements");
  const auto& a = arr.as_array();
  Sign1 s;
  if (a[0].kind() != cbor::Value::Kind::kBytes) bad("protected header is not a byte string");
  if (a[1].kind() != cbor::Value::Kind::kMap) bad("unprotected header is not a map");
  if (a[2].kind() != cbor::Value::Kind::kBytes) bad("payload is not a byte string (detached?)");
  if (a[3].kind() != cbor::Value::Kind::kBytes) bad("signature is not a byte string");
  s.protected_bstr = a[0].as_bytes();
  s.unprotected = a[1];
  s.payload = a[2].as_bytes();
  s.signature = a[3].as_bytes();
  s.protected_map = cbor::decode(s.protected_bstr, limits);
  if (s.protected_map.kind() != cbor::Value::Kind::kMap) bad("protected header is not a map");
  const cbor::Value* alg = s.protected_map.find(kHdrAlg);
  const cbor::Value* kid = s.protected_map.find(kHdrKid);
  if (alg == nullptr || !alg->is_int()) bad("protected header lacks an integer alg (1)");
  if (kid == nullptr || kid->kind() != cbor::Value::Kind::kBytes || kid->as_bytes().size() != 8)
    bad("protected header lacks an 8-byte kid (4)");
  if (s.protected_map.as_map().size() != 2) bad("protected header holds more than alg and kid");
  s.alg = alg->as_int();
  s.kid = kid->as_bytes();
  if (s.signature.size() != 64) bad("signature is not 64 bytes (ES256 r||s)");
  return s;
}

bool verify_es256(const Sign1& s, std::string_view cert_der) {
  if (s.alg != kAlgES256 || s.signature.size() != 64) return false;
  ossl::X509Ptr cert = load_der(cert_der);
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  char group[64] = {0};
  size_t glen = 0;
  ossl::check(pub != nullptr && EVP_PKEY_is_a(pub, "EC") &&
                  EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof group, &glen) == 1 &&
                  std::string_view(group) == "prime256v1",
              "certificate key is not EC P-256");
  const std::string digest = sha256(sig_structure(s));
  const std::string der = raw_to_der(s.signature);
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new(pub, nullptr));
  ossl::check(ctx != nullptr && EVP_PKEY_verify_init(ctx.get()) == 1, "ES256: verify init");
  const int rc =
      EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                      reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  ERR_clear_error();  // a failed verification leaves entries: not an error for us
  return rc == 1;
}

CertTimes cert_times(std::string_view cert_der) {
  ossl::X509Ptr c = load_der(cert_der);
  return {to_unix(X509_get0_notBefore(c.get())), to_unix(X509_get0_notAfter(c.get()))};
}

bool issued_by(std::string_view cert_der, std::string_view issuer_der) {
  ossl::X509Ptr c = load_der(cert_der);
  ossl::X509Ptr i = load_der(issuer_der);
  if (X509_check_issued(i.get(), c.get()) != X509_V_OK) return false;
  EVP_PKEY* ipub = X509_get0_pubkey(i.get());
  const bool ok = ipub != nullptr && X509_verify(c.get(), ipub) == 1;
  ERR_clear_error();
  return ok;
}

std::string cert_pem_to_der(std::string_view pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::check(bio != nullptr, "certificate: BIO");
  ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ossl::check(x != nullptr, "certificate: not a PEM certificate");
  unsigned char* out = nullptr;
  const int n = i2d_X509(x.get(), &out);
  ossl::check(n > 0, "certificate: DER encoding");
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string cert_subject(std::string_view cert_der) {
  ossl::X509Ptr c = load_der(cert_der);
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(c.get()), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace libcert::cose
