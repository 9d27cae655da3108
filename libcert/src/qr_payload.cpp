#include "libcert/qr_payload.h"

#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <memory>

#include "cbor.h"
#include "cose.h"
#include "libcert/error.h"
#include "libcert/qr.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "ossl.h"

namespace libcert {

namespace {

using cbor::Value;

// CWT claim keys (RFC 8392 §3.1.1, §3.1.4, §3.1.6).
constexpr std::int64_t kIss = 1, kExp = 4, kIat = 6;
// Private claim holding the licence map: the IANA "CBOR Web Token Claims" registry reserves
// integer keys below -65536 for private use (RFC 8392 §9.1), so -65537 can never collide with a
// registered claim. It costs 5 bytes once per payload.
constexpr std::int64_t kLicenceClaim = -65537;

// Digits per final block of k bytes (k = 0..6), qr.md: the fewest decimal digits that hold
// 2^(8k)-1.
constexpr std::array<std::size_t, 7> kDigitsFor = {0, 3, 5, 8, 10, 13, 15};
constexpr std::size_t kBlockBytes = 7, kBlockDigits = 17;

constexpr std::string_view kB45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

// A syntactically valid DER ECDSA-Sig-Value with 32-byte r and s, used only to measure sizes.
std::string raw_to_der_placeholder() { return cose::raw_to_der(std::string(64, '\x7f')); }

[[noreturn]] void malformed(const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, why);
}

bool valid_date(std::uint32_t d) {
  const std::uint32_t y = d / 10000, m = d / 100 % 100, day = d % 100;
  return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

void check_host(std::string_view host) {
  bool ok = !host.empty() && host.size() <= 253;
  for (char c : host)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':'))
      ok = false;
  if (!ok)
    throw Error(ErrorCode::kInvalidArgument,
                "qr host '" + std::string(host) +
                    "': must be upper case [A-Z0-9.-:] (QR alphanumeric mode)");
}

// The canonical GB/T 36904 identifier repeats the type code (claim 2) and the issuer (iss):
// "1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}". Writing only
// "{serial}.{version}.{check}" saves ~58 of the ~350 bytes a realistic licence would otherwise
// take (qr.md budgets 180–300). The short form has exactly two dots and the full form eight, so
// the reader can always tell them apart; any other identifier is carried in full.
constexpr std::string_view kIdRoot = "1.2.156.3005.2.";

std::string id_prefix(std::string_view type_code, std::string_view issuer) {
  return std::string(kIdRoot) + std::string(type_code) + "." + std::string(issuer) + ".";
}

std::string compact_identifier(const QrLicence& l, std::string_view issuer) {
  const std::string prefix = id_prefix(l.type_code, issuer);
  if (l.identifier.size() > prefix.size() && l.identifier.compare(0, prefix.size(), prefix) == 0) {
    const std::string rest = l.identifier.substr(prefix.size());
    if (std::count(rest.begin(), rest.end(), '.') == 2) return rest;
  }
  return l.identifier;
}

// Tibetan-packed text: a name written entirely in the Tibetan block U+0F00–U+0FFF is carried as a
// byte string of one byte per character (b -> U+0F00 + b) instead of 3 bytes of UTF-8 each —
// the same idea as a SCSU window (Unicode TS #6). A 69-character Tibetan company name then takes
// 69 bytes instead of 207, which keeps the QR within version 16 (qr.md). Any other name stays a
// UTF-8 text string.
std::optional<std::string> pack_tibetan(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); i += 3) {
    // U+0F00..U+0FFF is E0 BC 80 .. E0 BF BF in UTF-8.
    if (utf8.size() - i < 3 || static_cast<std::uint8_t>(utf8[i]) != 0xE0) return std::nullopt;
    const auto b1 = static_cast<std::uint8_t>(utf8[i + 1]);
    const auto b2 = static_cast<std::uint8_t>(utf8[i + 2]);
    if (b1 < 0xBC || b1 > 0xBF || (b2 & 0xC0) != 0x80) return std::nullopt;
    out.push_back(static_cast<char>(((b1 - 0xBC) << 6) | (b2 & 0x3F)));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string unpack_tibetan(std::string_view packed) {
  std::string out;
  for (char c : packed) {
    const auto b = static_cast<std::uint8_t>(c);
    out.push_back(static_cast<char>(0xE0));
    out.push_back(static_cast<char>(0xBC + (b >> 6)));
    out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
  }
  return out;
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<std::uint8_t>(c) & 0xC0) != 0x80) ++n;
  return n;
}

Value licence_map(const QrLicence& l, std::string_view issuer) {
  std::vector<std::pair<Value, Value>> m = {
      {Value::integer(1), Value::text(compact_identifier(l, issuer))},
      {Value::integer(2), Value::text(l.type_code)},
      {Value::integer(3), pack_tibetan(l.holder_name) ? Value::bytes(*pack_tibetan(l.holder_name))
                                                      : Value::text(l.holder_name)},
      {Value::integer(5), Value::text(l.title)},
      {Value::integer(6), Value::uint(l.issue_date)},
      {Value::integer(7), Value::uint(l.area_code)},
      {Value::integer(8), Value::uint(l.status_index)},
  };
  // Some licences have no holder code (a marriage or birth certificate names people, not one
  // coded holder): the claim is then absent rather than empty.
  if (!l.holder_code.empty()) m.emplace_back(Value::integer(4), Value::text(l.holder_code));
  if (l.digest) m.emplace_back(Value::integer(9), Value::bytes(*l.digest));
  if (l.holder_name_chars) m.emplace_back(Value::integer(10), Value::uint(*l.holder_name_chars));
  return Value::map(std::move(m));
}

void validate(const QrClaims& c) {
  std::vector<Problem> p;
  auto need = [&](bool ok, const char* field, const char* rule, const char* msg) {
    if (!ok) p.push_back({field, rule, msg});
  };
  need(!c.issuer.empty(), "iss", "required", "issuing department code is empty");
  need(c.issued_at >= 0, "iat", "range", "issued_at is before 1970");
  need(!c.expires_at || *c.expires_at > c.issued_at, "exp", "after-iat",
       "expiry must be after issued_at");
  need(!c.licence.identifier.empty(), "licence.identifier", "required", "identifier is empty");
  need(!c.licence.type_code.empty(), "licence.type_code", "required", "type code is empty");
  need(!c.licence.holder_name.empty(), "licence.holder_name", "required", "holder name is empty");
  need(valid_date(c.licence.issue_date), "licence.issue_date", "yyyymmdd",
       "issue date is not a YYYYMMDD date");
  need(c.licence.area_code >= 100000 && c.licence.area_code <= 999999, "licence.area_code",
       "six-digits", "area code is not 6 digits");
  need(!c.licence.digest || c.licence.digest->size() == 16, "licence.digest", "length",
       "digest must be 16 bytes");
  if (!p.empty()) {
    std::string msg = "QR claims invalid:";
    for (const auto& x : p) msg += " " + x.field + " (" + x.message + ");";
    throw Error(ErrorCode::kValidation, msg, std::move(p));
  }
}

// Reads the text/uint fields strictly: every key known, required keys present, types exact.
QrClaims claims_from(const Value& cwt) {
  if (cwt.kind() != Value::Kind::kMap) malformed("CWT claims are not a map");
  for (const auto& [k, v] : cwt.as_map()) {
    if (!k.is_int() || (k.as_int() != kIss && k.as_int() != kExp && k.as_int() != kIat &&
                        k.as_int() != kLicenceClaim))
      malformed("CWT: unexpected claim key");
  }
  QrClaims c;
  const Value* iss = cwt.find(kIss);
  const Value* iat = cwt.find(kIat);
  const Value* exp = cwt.find(kExp);
  const Value* lic = cwt.find(kLicenceClaim);
  if (iss == nullptr || iss->kind() != Value::Kind::kText)
    malformed("CWT: iss (1) missing or not text");
  if (iat == nullptr || iat->kind() != Value::Kind::kUint)
    malformed("CWT: iat (6) missing or not an unsigned integer");
  if (exp != nullptr && exp->kind() != Value::Kind::kUint)
    malformed("CWT: exp (4) not an unsigned integer");
  if (lic == nullptr || lic->kind() != Value::Kind::kMap)
    malformed("CWT: licence claim (-65537) missing or not a map");
  c.issuer = iss->as_text();
  c.issued_at = iat->as_int();
  if (exp != nullptr) c.expires_at = exp->as_int();
  for (const auto& [k, v] : lic->as_map())
    if (k.kind() != Value::Kind::kUint || k.as_uint() < 1 || k.as_uint() > 10)
      malformed("licence map: unexpected key");
  auto text = [&](std::int64_t key, const char* name) {
    const Value* v = lic->find(key);
    if (v == nullptr || v->kind() != Value::Kind::kText)
      malformed(std::string("licence map: ") + name + " (" + std::to_string(key) +
                ") missing or not text");
    return v->as_text();
  };
  auto u32 = [&](std::int64_t key, const char* name) {
    const Value* v = lic->find(key);
    if (v == nullptr || v->kind() != Value::Kind::kUint || v->as_uint() > 0xFFFFFFFFu)
      malformed(std::string("licence map: ") + name + " (" + std::to_string(key) +
                ") missing or not a 32-bit unsigned integer");
    return static_cast<std::uint32_t>(v->as_uint());
  };
  QrLicence& l = c.licence;
  l.identifier = text(1, "identifier");
  l.type_code = text(2, "type code");
  if (std::count(l.identifier.begin(), l.identifier.end(), '.') == 2)
    l.identifier = id_prefix(l.type_code, c.issuer) + l.identifier;
  if (const Value* hn = lic->find(3); hn != nullptr && hn->kind() == Value::Kind::kBytes) {
    if (hn->as_bytes().empty()) malformed("licence map: packed holder name (3) is empty");
    l.holder_name = unpack_tibetan(hn->as_bytes());
  } else {
    l.holder_name = text(3, "holder name");
  }
  if (lic->find(4) != nullptr) {
    l.holder_code = text(4, "holder code");
    if (l.holder_code.empty()) malformed("licence map: holder code (4) is empty (omit it instead)");
  }
  l.title = text(5, "title");
  l.issue_date = u32(6, "issue date");
  l.area_code = u32(7, "area code");
  l.status_index = u32(8, "status index");
  if (const Value* d = lic->find(9)) {
    if (d->kind() != Value::Kind::kBytes || d->as_bytes().size() != 16)
      malformed("licence map: digest (9) is not a 16-byte string");
    l.digest = d->as_bytes();
  }
  if (const Value* n = lic->find(10)) {
    if (n->kind() != Value::Kind::kUint || n->as_uint() <= utf8_chars(l.holder_name) ||
        n->as_uint() > 0xFFFFFFFFu)
      malformed("licence map: holder name length (10) is not larger than the name carried");
    l.holder_name_chars = static_cast<std::uint32_t>(n->as_uint());
  }
  return c;
}

struct Decoded {
  cose::Sign1 sign1;
  QrClaims claims;
};

cbor::Limits payload_limits() {
  cbor::Limits l;
  l.max_depth = 4;  // tag → array → (bstr) ; CWT map → licence map
  l.max_items = 64;
  return l;
}

Decoded decode_payload(std::string_view payload) {
  if (payload.size() > kQrMaxPayload)
    throw Error(ErrorCode::kLimitExceeded, "payload of " + std::to_string(payload.size()) +
                                               " bytes exceeds " + std::to_string(kQrMaxPayload));
  try {
    Decoded d;
    d.sign1 = cose::parse_sign1(payload, payload_limits());
    if (d.sign1.unprotected.kind() != Value::Kind::kMap || !d.sign1.unprotected.as_map().empty())
      malformed("COSE_Sign1: unprotected header must be empty (nothing unauthenticated)");
    d.claims = claims_from(cbor::decode(d.sign1.payload, payload_limits()));
    return d;
  } catch (const cbor::DecodeError& e) {
    malformed(std::string("non-canonical or invalid CBOR: ") + e.what());
  }
}

std::string trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
    char b = prefix[i];
    if (b >= 'a' && b <= 'z') b = static_cast<char>(b - 'a' + 'A');
    if (a != b) return false;
  }
  return true;
}

}  // namespace

DigestSigner digest_signer_from_pem(std::string_view key_pem) {
  ossl::Bio bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  ossl::check(bio != nullptr, "seal key: BIO");
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                EVP_PKEY_free);
  char group[64] = {0};
  size_t glen = 0;
  ossl::check(key != nullptr, "seal key: not a PEM private key");
  ossl::check(
      EVP_PKEY_is_a(key.get(), "EC") &&
          EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &glen) == 1 &&
          std::string_view(group) == "prime256v1",
      "seal key: not an EC P-256 key (ES256 needs P-256)");
  return [key](std::span<const std::uint8_t> digest) {
    ossl::PKeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    ossl::check(ctx != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1, "ES256: sign init");
    std::size_t len = 0;
    ossl::check(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) == 1,
                "ES256: sign size");
    std::string sig(len, '\0');
    ossl::check(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                              digest.data(), digest.size()) == 1,
                "ES256: sign");
    sig.resize(len);
    return sig;
  };
}

std::string cose_kid(std::string_view certificate_der) {
  return cose::sha256(certificate_der).substr(0, 8);
}

std::string make_qr_payload(const QrClaims& claims, std::string_view cert_der,
                            const DigestSigner& sign) {
  validate(claims);
  std::vector<std::pair<Value, Value>> cwt = {
      {Value::integer(kIss), Value::text(claims.issuer)},
      {Value::integer(kIat), Value::integer(claims.issued_at)},
      {Value::integer(kLicenceClaim), licence_map(claims.licence, claims.issuer)},
  };
  if (claims.expires_at) cwt.emplace_back(Value::integer(kExp), Value::integer(*claims.expires_at));
  const std::string payload = cbor::encode(Value::map(std::move(cwt)));
  std::string out = cose::sign1(payload, cose_kid(cert_der), Value::map({}), sign);
  if (out.size() > kQrMaxPayload)
    throw Error(ErrorCode::kLimitExceeded, "QR payload of " + std::to_string(out.size()) +
                                               " bytes exceeds " + std::to_string(kQrMaxPayload) +
                                               " (shorten holder name or title)");
  return out;
}

std::string make_qr_payload(const QrClaims& claims, const Signer& signer) {
  if (signer.algorithm() != SignatureAlgorithm::kEcdsaP256Sha256)
    throw Error(ErrorCode::kCrypto,
                "QR payload: the seal key is not ECDSA P-256 (ES256 is the only QR algorithm)");
  return make_qr_payload(claims, signer.certificate(),
                         [&signer](std::span<const std::uint8_t> d) { return signer.sign(d); });
}

std::string make_qr_text(const QrClaims& claims, const Signer& signer, std::string_view host) {
  if (signer.algorithm() != SignatureAlgorithm::kEcdsaP256Sha256)
    throw Error(ErrorCode::kCrypto,
                "QR payload: the seal key is not ECDSA P-256 (ES256 is the only QR algorithm)");
  return make_qr_text(
      claims, signer.certificate(),
      [&signer](std::span<const std::uint8_t> d) { return signer.sign(d); }, host);
}

std::string qr_digits(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() / kBlockBytes * kBlockDigits + kBlockDigits);
  for (std::size_t i = 0; i < payload.size(); i += kBlockBytes) {
    const std::size_t k = std::min(kBlockBytes, payload.size() - i);
    std::uint64_t v = 0;
    for (std::size_t j = 0; j < k; ++j) v = (v << 8) | static_cast<std::uint8_t>(payload[i + j]);
    const std::size_t nd = k == kBlockBytes ? kBlockDigits : kDigitsFor[k];
    std::string block(nd, '0');
    for (std::size_t j = nd; j-- > 0;) {
      block[j] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    out += block;
  }
  return out;
}

std::string qr_digits_decode(std::string_view digits) {
  const std::size_t rem = digits.size() % kBlockDigits;
  std::size_t last_k = 0;
  bool rem_ok = rem == 0;
  for (std::size_t k = 1; k < kDigitsFor.size(); ++k)
    if (kDigitsFor[k] == rem) {
      last_k = k;
      rem_ok = true;
    }
  if (!rem_ok)
    malformed("digit string of length " + std::to_string(digits.size()) + ": final block of " +
              std::to_string(rem) + " digits is not 3,5,8,10,13 or 15");
  std::string out;
  for (std::size_t i = 0; i < digits.size();) {
    const std::size_t nd = std::min(kBlockDigits, digits.size() - i);
    const std::size_t k = nd == kBlockDigits ? kBlockBytes : last_k;
    std::uint64_t v = 0;
    for (std::size_t j = 0; j < nd; ++j) {
      const char c = digits[i + j];
      if (c < '0' || c > '9')
        malformed("non-digit character in the fragment at " + std::to_string(i + j));
      v = v * 10 + static_cast<std::uint64_t>(c - '0');  // 17 digits < 2^64: no overflow
    }
    if (v >> (8 * k) != 0)
      malformed("digit block at " + std::to_string(i) + " exceeds the range of " +
                std::to_string(k) + " bytes");
    for (std::size_t j = k; j-- > 0;) out.push_back(static_cast<char>((v >> (8 * j)) & 0xFF));
    i += nd;
  }
  return out;
}

std::string base45_encode(std::string_view bytes) {
  // RFC 9285 §4: two bytes -> three characters c + 45 d + 45² e, a final byte -> two characters.
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 2) {
    if (i + 1 < bytes.size()) {
      unsigned n = static_cast<unsigned>(static_cast<std::uint8_t>(bytes[i])) * 256u +
                   static_cast<std::uint8_t>(bytes[i + 1]);
      out += kB45[n % 45];
      out += kB45[n / 45 % 45];
      out += kB45[n / 2025];
    } else {
      unsigned n = static_cast<std::uint8_t>(bytes[i]);
      out += kB45[n % 45];
      out += kB45[n / 45];
    }
  }
  return out;
}

std::string base45_decode(std::string_view text) {
  if (text.size() % 3 == 1)
    malformed("Base45 length " + std::to_string(text.size()) + " is impossible (RFC 9285 §4)");
  auto val = [&](std::size_t i) -> unsigned {
    const auto p = kB45.find(text[i]);
    if (p == std::string_view::npos) malformed("Base45: invalid character at " + std::to_string(i));
    return static_cast<unsigned>(p);
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 3) {
    if (i + 2 < text.size()) {
      const unsigned n = val(i) + val(i + 1) * 45 + val(i + 2) * 2025;
      if (n > 0xFFFF) malformed("Base45: triple at " + std::to_string(i) + " exceeds 65535");
      out.push_back(static_cast<char>(n >> 8));
      out.push_back(static_cast<char>(n & 0xFF));
    } else {
      const unsigned n = val(i) + val(i + 1) * 45;
      if (n > 0xFF) malformed("Base45: final pair exceeds 255");
      out.push_back(static_cast<char>(n));
    }
  }
  return out;
}

std::string qr_url_prefix(std::string_view host) {
  check_host(host);
  return "HTTPS://" + std::string(host) + "/V#";
}

std::string qr_url(std::string_view payload, std::string_view host) {
  return qr_url_prefix(host) + qr_digits(payload);
}

std::string qr_app_text(std::string_view payload) { return "LC1:" + base45_encode(payload); }

QrClaims fit_qr_claims(const QrClaims& claims, std::string_view host) {
  check_host(host);
  validate(claims);
  // The signature is always 64 bytes, so the size (hence the QR version) is known before signing:
  // measure with a placeholder signature and sign once, at the end.
  const DigestSigner measure = [](std::span<const std::uint8_t>) {
    return raw_to_der_placeholder();
  };
  auto fits = [&](const QrClaims& c) {
    // The version alone decides; it is computed without building the symbol (the renderer
    // encodes the final text once).
    const int v =
        QrMatrix::version_for(qr_url(make_qr_payload(c, std::string(), measure), host), QrEcc::kQ);
    return v != 0 && v <= kQrMaxVersion;
  };
  QrClaims c = claims;
  if (fits(c)) return c;
  // 1. The optional record digest goes first: the online check can use the identifier instead.
  c.licence.digest.reset();
  if (fits(c)) return c;
  // 2. Then the holder name is shortened, character by character, with its full length recorded
  //    (claim 10) so the verifier shows that it is truncated — as ICAO 9303 VDS truncates names.
  const std::size_t full = utf8_chars(claims.licence.holder_name);
  std::string& name = c.licence.holder_name;
  const bool has_breaks =
      name.find(' ') != std::string::npos || name.find("\u0F0B") != std::string::npos;
  while (utf8_chars(name) > 1) {
    // Drop the last character: its continuation bytes (10xxxxxx), then its lead byte.
    while ((static_cast<std::uint8_t>(name.back()) & 0xC0) == 0x80) name.pop_back();
    name.pop_back();
    // Cut between words: after a tsheg (U+0F0B, the Tibetan syllable mark) or a space, when the
    // name has any, so no syllable is left half-written.
    if (has_breaks && !(name.back() == ' ' || name.ends_with("\u0F0B"))) continue;
    c.licence.holder_name_chars = static_cast<std::uint32_t>(full);
    if (fits(c)) return c;
  }
  throw Error(ErrorCode::kLimitExceeded,
              "QR payload does not fit version " + std::to_string(kQrMaxVersion) +
                  " at ECC Q even with the holder name shortened (host '" + std::string(host) +
                  "' or other fields too long)");
}

std::string make_qr_text(const QrClaims& claims, std::string_view cert_der,
                         const DigestSigner& sign, std::string_view host) {
  return qr_url(make_qr_payload(fit_qr_claims(claims, host), cert_der, sign), host);
}

namespace {

// The normalised scan: the payload bytes and, for the URL form, the text before the digits
// ("HTTPS://HOST/V#", as scanned) that the bundle's URL policy must list.
struct ScannedText {
  std::string payload;
  std::string url_prefix;  // empty for the LC1: app form
};

ScannedText parse_text(std::string_view raw) {
  if (raw.size() > kQrMaxText)
    throw Error(ErrorCode::kLimitExceeded, "QR text of " + std::to_string(raw.size()) +
                                               " bytes exceeds " + std::to_string(kQrMaxText));
  std::string t = trim(raw);
  // zbarimg without --raw prints "QR-Code:" before the data.
  if (starts_with_ci(t, "QR-Code:")) t = trim(std::string_view(t).substr(8));
  ScannedText out;
  std::string& payload = out.payload;
  if (starts_with_ci(t, "LC1:")) {
    payload = base45_decode(std::string_view(t).substr(4));
  } else if (starts_with_ci(t, "HTTPS://")) {
    const auto hash = t.find('#');
    if (hash == std::string::npos) malformed("URL has no '#' fragment holding the payload");
    const std::string_view before = std::string_view(t).substr(8, hash - 8);
    if (before.size() < 3 || !starts_with_ci(before.substr(before.size() - 2), "/V"))
      malformed("URL path is not /V");
    for (char c : before.substr(0, before.size() - 2))
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == ':'))
        malformed("URL host has a character outside [A-Za-z0-9.-:]");
    out.url_prefix = t.substr(0, hash + 1);
    payload = qr_digits_decode(std::string_view(t).substr(hash + 1));
  } else {
    malformed("text is neither HTTPS://HOST/V#<digits> nor LC1:<Base45>");
  }
  if (payload.size() > kQrMaxPayload)
    throw Error(ErrorCode::kLimitExceeded, "payload of " + std::to_string(payload.size()) +
                                               " bytes exceeds " + std::to_string(kQrMaxPayload));
  return out;
}

}  // namespace

std::string qr_payload_from_text(std::string_view raw) { return parse_text(raw).payload; }

QrClaims decode_qr_payload(std::string_view payload, std::string* kid) {
  Decoded d = decode_payload(payload);
  if (kid != nullptr) *kid = d.sign1.kid;
  return d.claims;
}

namespace {

bool equal_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && starts_with_ci(a, b);
}

}  // namespace

QrVerdict verify_qr(std::string_view text, const TrustBundle& bundle, std::int64_t now) {
  QrVerdict v;
  v.bundle_version = bundle.version;
  v.bundle_issued_at = bundle.issued_at;
  v.bundle_age_seconds = now - bundle.issued_at;
  auto verdict = [&](Verdict outcome, std::string_view check, std::string why) {
    v.verdict = outcome;
    v.check = check;
    v.reason = std::move(why);
    return v;
  };
  Decoded d;
  ScannedText scanned;
  try {
    scanned = parse_text(text);
    d = decode_payload(scanned.payload);
  } catch (const Error& e) {
    return verdict(Verdict::kInvalid, "structure", e.what());
  }
  v.claims = d.claims;
  v.kid_hex = cose::hex(d.sign1.kid);
  const QrClaims& c = d.claims;

  // 1b. The URL a camera opens must be one the bundle's signed policy lists: otherwise a genuine
  //     payload could be served under any host ("HTTPS://EVIL/V#…") and a phone would open that
  //     host's page, which verifies nothing. The LC1: app form has no URL.
  if (!scanned.url_prefix.empty()) {
    const auto& prefixes = bundle.policy.url_prefixes;
    if (prefixes.empty())
      return verdict(Verdict::kIndeterminate, "url-prefix",
                     "trust bundle version " + std::to_string(bundle.version) +
                         " states no accepted URL prefix: cannot judge '" + scanned.url_prefix +
                         "'");
    if (std::none_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return equal_ci(scanned.url_prefix, p); }))
      return verdict(
          Verdict::kInvalid, "url-prefix",
          "URL prefix '" + scanned.url_prefix + "' is not one the trust bundle's policy accepts");
  }

  // 2. Key by kid, then the signature (alg allowlist: ES256 only, RFC 9053 §2.1).
  const auto candidates = bundle.seals_with_kid(d.sign1.kid);
  if (candidates.empty())
    return verdict(Verdict::kUnknownSigner, "kid",
                   "no seal certificate with kid " + v.kid_hex + " in trust bundle version " +
                       std::to_string(bundle.version));
  if (d.sign1.alg != cose::kAlgES256)
    return verdict(Verdict::kInvalid, "signature",
                   "algorithm " + std::to_string(d.sign1.alg) + " is not allowed (ES256 only)");
  // ECDSA is malleable: (r, n-s) verifies whenever (r, s) does. Our signers emit only s <= n/2,
  // so the high-S twin is a payload nobody signed in that form: refused before any key is tried.
  if (!cose::is_low_s(d.sign1.signature))
    return verdict(Verdict::kInvalid, "signature",
                   "high-S ECDSA signature (s > n/2) refused: signers emit only low-S");
  const SealEntry* seal = nullptr;
  for (const SealEntry* s : candidates) {
    try {
      if (cose::verify_es256(d.sign1, s->certificate_der)) {
        seal = s;
        break;
      }
    } catch (const Error&) {
      // A certificate without a P-256 key cannot have made this signature: try the next one.
    }
  }
  if (seal == nullptr)
    return verdict(Verdict::kInvalid, "signature",
                   "signature does not verify with the " + std::to_string(candidates.size()) +
                       " certificate(s) of kid " + v.kid_hex);
  v.signature_ok = true;
  v.seal_department = seal->department;
  v.seal_version = seal->version;

  // 3. The key must be this issuer's, and must have been allowed to sign at iat — signing time,
  //    not now. A claimed time in the future is refused first (trust.md "Time and state").
  if (c.issuer != seal->issuer_code)
    return verdict(Verdict::kInvalid, "issuer-binding",
                   "iss " + c.issuer + " is not the seal's department code " + seal->issuer_code);
  if (c.issued_at > now + bundle.policy.clock_skew_s)
    return verdict(Verdict::kInvalid, "signing-time",
                   "iat " + std::to_string(c.issued_at) + " lies " +
                       std::to_string(c.issued_at - now) + " s in the future (allowed clock skew " +
                       std::to_string(bundle.policy.clock_skew_s) + " s)");
  if (seal->state == SealState::kPending)
    return verdict(Verdict::kInvalid, "key-state", "seal key is pending (never activated)");
  if (c.issued_at < seal->not_before || c.issued_at > seal->not_after)
    return verdict(
        Verdict::kInvalid, "key-state",
        "iat " + std::to_string(c.issued_at) + " is outside the seal certificate's validity [" +
            std::to_string(seal->not_before) + ", " + std::to_string(seal->not_after) + "]");
  if (c.issued_at < seal->usage_from || (seal->usage_until && c.issued_at >= *seal->usage_until))
    return verdict(
        Verdict::kInvalid, "key-state",
        "iat " + std::to_string(c.issued_at) + " is outside the seal key's usage window");
  if (seal->state == SealState::kRevoked && seal->compromised_at &&
      c.issued_at >= *seal->compromised_at)
    return verdict(Verdict::kRevoked, "key-state",
                   "seal key " + (seal->version.empty() ? "" : "v" + seal->version + " ") +
                       "revoked: compromised at " + std::to_string(*seal->compromised_at) +
                       ", payload signed at " + std::to_string(c.issued_at));

  // 4. Local status list. Fail closed (trust.md): without a list covering the index the
  //    verifier cannot know the licence is not revoked.
  const auto it = bundle.status_lists.find(c.issuer);
  if (it == bundle.status_lists.end())
    return verdict(Verdict::kIndeterminate, "status",
                   "trust bundle version " + std::to_string(bundle.version) +
                       " has no status list for issuer " + c.issuer);
  if (c.licence.status_index >= it->second.size())
    return verdict(Verdict::kIndeterminate, "status",
                   "status index " + std::to_string(c.licence.status_index) +
                       " lies outside the issuer's status list of " +
                       std::to_string(it->second.size()) + " bits");
  v.status_checked = true;
  if (it->second.get(c.licence.status_index))
    return verdict(Verdict::kRevoked, "status",
                   "licence revoked: status bit " + std::to_string(c.licence.status_index) +
                       " set in trust bundle version " + std::to_string(bundle.version));
  if (c.expires_at && now >= *c.expires_at)
    return verdict(Verdict::kExpired, "expiry",
                   "licence expired at " + std::to_string(*c.expires_at));
  // Degrade, never fail hard, when the bundle is old (qr.md): VALID with a note.
  std::string note;
  if (v.bundle_age_seconds > 30 * 86400)
    note = "status data is " + std::to_string(v.bundle_age_seconds / 86400) + " days old";
  return verdict(Verdict::kValid, "", note);
}

}  // namespace libcert
