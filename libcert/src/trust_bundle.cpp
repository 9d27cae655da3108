#include "libcert/trust_bundle.h"

#include <algorithm>
#include <cctype>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cbor.h"
#include "cose.h"
#include "libcert/error.h"
#include "libcert/roles.h"
#include "ossl.h"
#include "verify_cms.h"  // detail::issuing_ca_problem

namespace libcert {

namespace {

// Concatenated DER certificates → one string each. Throws Error(kCrypto) on bytes that are not.
std::vector<std::string> split_der_certificates(std::string_view der) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  while (p < end) {
    const unsigned char* start = p;
    ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(end - p)));
    if (!c) {
      ERR_clear_error();
      throw Error(ErrorCode::kCrypto, "trust bundle: the signer's certificate does not parse");
    }
    out.emplace_back(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
  }
  return out;
}

// Empty when `der` is an issuing CA (verify_cms.h issuing_ca_problem), else why not.
std::string issuing_ca_der_problem(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c) {
    ERR_clear_error();
    return "issuing CA certificate does not parse";
  }
  return detail::issuing_ca_problem(c.get());
}

using cbor::Value;

constexpr std::string_view kFormat = "libcert-trust-bundle/1";
constexpr std::size_t kMaxFile = 64u << 20;

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "trust bundle: " + what);
}

const Value& need(const Value& m, std::int64_t key, Value::Kind kind, const std::string& name) {
  const Value* v = m.find(key);
  if (v == nullptr || v->kind() != kind)
    bad(name + " (" + std::to_string(key) + ") missing or of the wrong type");
  return *v;
}

void only_keys(const Value& m, std::int64_t lo, std::int64_t hi, const std::string& name) {
  for (const auto& [k, v] : m.as_map())
    if (k.kind() != Value::Kind::kUint || k.as_int() < lo || k.as_int() > hi)
      bad(name + ": unexpected key");
}

std::optional<std::int64_t> opt_int(const Value& m, std::int64_t key, const std::string& name) {
  const Value* v = m.find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_int()) bad(name + " (" + std::to_string(key) + ") is not an integer");
  return v->as_int();
}

// Policy (payload key 7): {1: [URL prefix...], 2: clock skew seconds}. Each prefix must be
// exactly what qr_url_prefix() makes for a valid host, so a verifier's comparison is exact.
void check_policy(const BundlePolicy& p) {
  for (const std::string& u : p.url_prefixes) {
    constexpr std::string_view kHead = "HTTPS://", kTail = "/V#";
    const bool shaped =
        u.size() > kHead.size() + kTail.size() && u.starts_with(kHead) && u.ends_with(kTail);
    bool ok = shaped;
    if (shaped) {
      try {
        ok = qr_url_prefix(std::string_view(u).substr(kHead.size(),
                                                      u.size() - kHead.size() - kTail.size())) == u;
      } catch (const Error&) {
        ok = false;
      }
    }
    if (!ok) bad("policy URL prefix '" + u + "' is not HTTPS://HOST/V# with an upper-case host");
  }
  if (p.clock_skew_s < 0 || p.clock_skew_s > BundlePolicy::kMaxClockSkew)
    bad("policy clock skew " + std::to_string(p.clock_skew_s) + " s is outside 0.." +
        std::to_string(BundlePolicy::kMaxClockSkew));
}

Value policy_value(const BundlePolicy& p) {
  std::vector<Value> prefixes;
  for (const std::string& u : p.url_prefixes) prefixes.push_back(Value::text(u));
  return Value::map({{Value::integer(1), Value::array(std::move(prefixes))},
                     {Value::integer(2), Value::integer(p.clock_skew_s)}});
}

BundlePolicy policy_from(const Value& v) {
  if (v.kind() != Value::Kind::kMap) bad("policy (7) is not a map");
  only_keys(v, 1, 2, "policy");
  BundlePolicy p;
  for (const Value& u : need(v, 1, Value::Kind::kArray, "policy.url_prefixes").as_array()) {
    if (u.kind() != Value::Kind::kText) bad("policy.url_prefixes holds a non-text entry");
    p.url_prefixes.push_back(u.as_text());
  }
  p.clock_skew_s = need(v, 2, Value::Kind::kUint, "policy.clock_skew_s").as_int();
  check_policy(p);
  return p;
}

}  // namespace

std::string_view to_string(SealState s) noexcept {
  switch (s) {
    case SealState::kPending:
      return "pending";
    case SealState::kActive:
      return "active";
    case SealState::kRetired:
      return "retired";
    case SealState::kRevoked:
      return "revoked";
  }
  return "revoked";
}

SealEntry SealEntry::from_certificate(std::string department, std::string issuer_code,
                                      std::string der, SealState state) {
  SealEntry e;
  const cose::CertTimes t = cose::cert_times(der);
  e.department = std::move(department);
  e.issuer_code = std::move(issuer_code);
  e.certificate_der = std::move(der);
  e.state = state;
  e.not_before = t.not_before;
  e.not_after = t.not_after;
  e.usage_from = t.not_before;
  return e;
}

BundlePolicy BundlePolicy::for_host(std::string_view host) {
  BundlePolicy p;
  p.url_prefixes.push_back(qr_url_prefix(host));
  return p;
}

std::string SealEntry::kid() const { return cose_kid(certificate_der); }

std::string TrustBundle::sign(std::string_view bundle_cert_der, const DigestSigner& signer) const {
  check_policy(policy);
  std::vector<Value> seal_values;
  for (const SealEntry& s : seals) {
    if (s.issuer_code.empty() || s.department.empty())
      throw Error(ErrorCode::kInvalidArgument,
                  "trust bundle: seal without department or issuer code");
    if (s.state == SealState::kRevoked && !s.compromised_at)
      throw Error(ErrorCode::kInvalidArgument,
                  "trust bundle: revoked seal of " + s.department + " needs compromised_at");
    std::vector<std::pair<Value, Value>> m = {
        {Value::integer(1), Value::text(s.department)},
        {Value::integer(2), Value::text(s.issuer_code)},
        {Value::integer(3), Value::bytes(s.certificate_der)},
        {Value::integer(4), Value::uint(static_cast<std::uint64_t>(s.state))},
        {Value::integer(5), Value::integer(s.usage_from)},
    };
    if (s.usage_until) m.emplace_back(Value::integer(6), Value::integer(*s.usage_until));
    if (s.compromised_at) m.emplace_back(Value::integer(7), Value::integer(*s.compromised_at));
    if (!s.version.empty()) m.emplace_back(Value::integer(8), Value::text(s.version));
    seal_values.push_back(Value::map(std::move(m)));
  }
  std::vector<std::pair<Value, Value>> lists;
  for (const auto& [code, list] : status_lists)
    lists.emplace_back(Value::text(code),
                       Value::map({{Value::integer(1), Value::uint(list.size())},
                                   {Value::integer(2), Value::bytes(list.compressed())}}));
  const std::string payload = cbor::encode(Value::map({
      {Value::integer(1), Value::text(kFormat)},
      {Value::integer(2), Value::uint(version)},
      {Value::integer(3), Value::integer(issued_at)},
      {Value::integer(4), Value::bytes(root_der)},
      {Value::integer(5), Value::array(std::move(seal_values))},
      {Value::integer(6), Value::map(std::move(lists))},
      {Value::integer(7), policy_value(policy)},
  }));
  // The bundle certificate (and the issuing CA above it) travel in x5chain (RFC 9360 §2: one
  // certificate as a bstr, a chain as an array, leaf first) so a verifier needs only the root.
  const std::vector<std::string> certs = split_der_certificates(bundle_cert_der);
  if (certs.empty() || certs.size() > 2)
    throw Error(ErrorCode::kInvalidArgument,
                "trust bundle: expected the signer's certificate and at most its issuing CA");
  Value x5 = certs.size() == 1 ? Value::bytes(certs[0])
                               : Value::array({Value::bytes(certs[0]), Value::bytes(certs[1])});
  return cose::sign1(payload, cose_kid(certs[0]),
                     Value::map({{Value::integer(cose::kHdrX5Chain), std::move(x5)}}), signer);
}

std::vector<std::string> read_pins(std::string_view text) {
  std::vector<std::string> pins;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos || line[b] == '#') continue;
    line.remove_prefix(b);
    const std::string_view pin = line.substr(0, line.find_first_of(" \t\r"));
    const bool hex = pin.size() == 64 &&
                     pin.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
    if (!hex)
      throw Error(ErrorCode::kInvalidArgument,
                  "bundle pins: line " + std::to_string(line_no) +
                      " is not a SHA-256 of a SubjectPublicKeyInfo (64 hex digits)");
    std::string p(pin);
    for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    pins.push_back(std::move(p));
  }
  if (pins.empty()) throw Error(ErrorCode::kInvalidArgument, "bundle pins: no pin found");
  return pins;
}

void TrustBundle::check_signer(std::string_view bundle_cert, std::string_view issuing_ca,
                               const BundlePins& pins) {
  if (pins.signer_spki_sha256.empty())
    throw Error(ErrorCode::kInvalidArgument,
                "trust bundle: no bundle-signer key is pinned in the verifier's configuration");
  // 1. The pin: the configuration names the signer's key; "anything under the root" is not
  //    enough (a seal or TSA key is under the root too).
  std::string spki;
  try {
    spki = spki_sha256(bundle_cert);
  } catch (const Error&) {
    bad("x5chain is not a DER certificate");
  }
  if (std::find(pins.signer_spki_sha256.begin(), pins.signer_spki_sha256.end(), spki) ==
      pins.signer_spki_sha256.end())
    throw Error(ErrorCode::kCrypto,
                "trust bundle: signing certificate (" + cose::cert_subject(bundle_cert) +
                    ") has a public key that is not pinned (SPKI SHA-256 " + spki + ")");
  // 2. The role, read from the certificate: a pinned key certified for another role is refused
  //    too (a configuration mistake must not turn a seal into a bundle signer).
  const CertificateRole role = certificate_role(bundle_cert);
  if (role.role != CertRole::kBundleSigner)
    throw Error(ErrorCode::kCrypto,
                "trust bundle: signing certificate is not a bundle signer (role " +
                    std::string(to_string(role.role)) + ": " + role.why + ")");
  // 3. Issued by the pinned root, directly or through an issuing CA in its role (docs/crl.md).
  if (issuing_ca.empty()) {
    if (!cose::issued_by(bundle_cert, pins.root_der))
      throw Error(ErrorCode::kCrypto, "trust bundle: signing certificate (" +
                                          cose::cert_subject(bundle_cert) +
                                          ") is not issued by the pinned root");
    return;
  }
  const std::string why = issuing_ca_der_problem(issuing_ca);
  if (!why.empty()) throw Error(ErrorCode::kCrypto, "trust bundle: x5chain " + why);
  if (!cose::issued_by(issuing_ca, pins.root_der))
    throw Error(ErrorCode::kCrypto, "trust bundle: issuing CA (" + cose::cert_subject(issuing_ca) +
                                        ") is not issued by the pinned root");
  if (!cose::issued_by(bundle_cert, issuing_ca))
    throw Error(ErrorCode::kCrypto, "trust bundle: signing certificate (" +
                                        cose::cert_subject(bundle_cert) +
                                        ") is not issued by the x5chain's issuing CA");
}

TrustBundle TrustBundle::parse(std::string_view file, const BundlePins& pins) {
  const std::string_view pinned_root_der = pins.root_der;
  if (file.size() > kMaxFile)
    throw Error(ErrorCode::kLimitExceeded, "trust bundle: file exceeds 64 MB");
  cbor::Limits limits;
  limits.max_depth = 8;
  cose::Sign1 s;
  Value body;
  try {
    s = cose::parse_sign1(file, limits);
    body = cbor::decode(s.payload, limits);
  } catch (const cbor::DecodeError& e) {
    bad(std::string("invalid or non-canonical CBOR: ") + e.what());
  }
  if (s.alg != cose::kAlgES256) bad("algorithm " + std::to_string(s.alg) + " is not ES256");
  if (s.unprotected.kind() != Value::Kind::kMap || s.unprotected.as_map().size() != 1)
    bad("unprotected header must hold exactly the x5chain (33)");
  // x5chain: the signer's certificate, or [signer, issuing CA] (RFC 9360 §2, leaf first).
  const Value* x5 = s.unprotected.find(cose::kHdrX5Chain);
  if (x5 == nullptr) bad("x5chain (33) missing");
  std::string bundle_cert, issuing_ca;
  if (x5->kind() == Value::Kind::kBytes) {
    bundle_cert = x5->as_bytes();
  } else if (x5->kind() == Value::Kind::kArray && x5->as_array().size() == 2 &&
             x5->as_array()[0].kind() == Value::Kind::kBytes &&
             x5->as_array()[1].kind() == Value::Kind::kBytes) {
    bundle_cert = x5->as_array()[0].as_bytes();
    issuing_ca = x5->as_array()[1].as_bytes();
  } else {
    bad("x5chain must be a certificate or [certificate, issuing CA certificate]");
  }
  if (cose_kid(bundle_cert) != s.kid) bad("kid does not match the x5chain certificate");
  check_signer(bundle_cert, issuing_ca, pins);
  if (!cose::verify_es256(s, bundle_cert))
    throw Error(ErrorCode::kCrypto, "trust bundle: signature does not verify");

  // Authentic from here on; still check the structure strictly.
  try {
    return parse_body(body, bundle_cert, pinned_root_der, file);
  } catch (const cbor::DecodeError& e) {
    bad(std::string("unexpected value: ") + e.what());
  }
}

TrustBundle TrustBundle::parse_body(const cbor::Value& body, std::string_view bundle_cert,
                                    std::string_view pinned_root_der, std::string_view file) {
  if (body.kind() != Value::Kind::kMap) bad("payload is not a map");
  only_keys(body, 1, 7, "payload");
  TrustBundle b;
  if (need(body, 1, Value::Kind::kText, "format").as_text() != kFormat)
    bad("format is not " + std::string(kFormat));
  b.version = need(body, 2, Value::Kind::kUint, "version").as_uint();
  b.issued_at = need(body, 3, Value::Kind::kUint, "issued_at").as_int();
  b.root_der = need(body, 4, Value::Kind::kBytes, "root").as_bytes();
  if (b.root_der != pinned_root_der)
    throw Error(ErrorCode::kCrypto, "trust bundle: its root is not the pinned root");
  const cose::CertTimes bt = cose::cert_times(bundle_cert);
  if (b.issued_at < bt.not_before || b.issued_at > bt.not_after)
    throw Error(ErrorCode::kCrypto,
                "trust bundle: issued_at lies outside the signing certificate's validity");
  for (const Value& sv : need(body, 5, Value::Kind::kArray, "seals").as_array()) {
    if (sv.kind() != Value::Kind::kMap) bad("seal entry is not a map");
    only_keys(sv, 1, 8, "seal entry");
    const std::uint64_t st = need(sv, 4, Value::Kind::kUint, "seal.state").as_uint();
    if (st > 3) bad("seal.state " + std::to_string(st) + " is unknown");
    SealEntry e =
        SealEntry::from_certificate(need(sv, 1, Value::Kind::kText, "seal.department").as_text(),
                                    need(sv, 2, Value::Kind::kText, "seal.issuer_code").as_text(),
                                    need(sv, 3, Value::Kind::kBytes, "seal.certificate").as_bytes(),
                                    static_cast<SealState>(st));
    auto from = opt_int(sv, 5, "seal.usage_from");
    if (!from) bad("seal.usage_from (5) missing");
    e.usage_from = *from;
    e.usage_until = opt_int(sv, 6, "seal.usage_until");
    e.compromised_at = opt_int(sv, 7, "seal.compromised_at");
    if (const Value* ver = sv.find(8)) {
      if (ver->kind() != Value::Kind::kText || ver->as_text().empty() || ver->as_text().size() > 16)
        bad("seal.version (8) is not a text of 1-16 characters");
      e.version = ver->as_text();
    }
    if (e.state == SealState::kRevoked && !e.compromised_at)
      bad("revoked seal of " + e.department + " lacks compromised_at");
    b.seals.push_back(std::move(e));
  }
  for (const auto& [k, v] : need(body, 6, Value::Kind::kMap, "status_lists").as_map()) {
    if (k.kind() != Value::Kind::kText || v.kind() != Value::Kind::kMap)
      bad("status_lists entry is not text -> map");
    only_keys(v, 1, 2, "status list");
    const std::uint64_t bits = need(v, 1, Value::Kind::kUint, "status list bits").as_uint();
    if (bits > StatusList::kMaxBits)
      throw Error(ErrorCode::kLimitExceeded, "trust bundle: status list of " + k.as_text() +
                                                 " exceeds " +
                                                 std::to_string(StatusList::kMaxBits) + " bits");
    b.status_lists.emplace(
        k.as_text(),
        StatusList::from_compressed(need(v, 2, Value::Kind::kBytes, "status list data").as_bytes(),
                                    static_cast<std::uint32_t>(bits)));
  }
  // 7 policy: absent in bundles written before it existed; then URL QRs are INDETERMINATE.
  if (const Value* pv = body.find(7)) b.policy = policy_from(*pv);
  b.file_sha256_ = cose::hex(cose::sha256(file));
  return b;
}

std::string certificate_der_from_pem(std::string_view pem) { return cose::cert_pem_to_der(pem); }

std::string certificate_chain_der_from_pem(std::string_view pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::check(bio != nullptr, "certificate: BIO");
  std::string out;
  for (;;) {
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) break;
    unsigned char* der = nullptr;
    const int n = i2d_X509(x.get(), &der);
    ossl::check(n > 0, "certificate: DER encoding");
    out.append(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
  }
  ERR_clear_error();  // the loop ends with a harmless "no start line"
  if (out.empty()) throw Error(ErrorCode::kCrypto, "certificate: not a PEM certificate");
  return out;
}

std::vector<const SealEntry*> TrustBundle::seals_with_kid(std::string_view kid) const {
  std::vector<const SealEntry*> out;
  for (const SealEntry& s : seals)
    if (s.kid() == kid) out.push_back(&s);
  return out;
}

BundleSealKeys::BundleSealKeys(const TrustBundle& bundle) {
  for (const SealEntry& e : bundle.seals) {
    const CertificateRole role = certificate_role(e.certificate_der);
    if (role.role != CertRole::kSeal || role.uscc != e.issuer_code) continue;
    SealKeyState st;
    st.version = e.version;
    switch (e.state) {
      case SealState::kPending:
        st.state = SealKeyState::State::kPending;
        break;
      case SealState::kActive:
        st.state = SealKeyState::State::kActive;
        break;
      case SealState::kRetired:
        st.state = SealKeyState::State::kRetired;
        break;
      case SealState::kRevoked:
        st.state = SealKeyState::State::kRevoked;
        break;
    }
    st.compromised_at = e.compromised_at;
    st.usage_from = e.usage_from;
    st.usage_until = e.usage_until;
    by_cert_[cose::hex(cose::sha256(e.certificate_der))] = std::move(st);
  }
}

std::optional<SealKeyState> BundleSealKeys::lookup(std::string_view cert_sha256) const {
  const auto it = by_cert_.find(cert_sha256);
  if (it == by_cert_.end()) return std::nullopt;
  return it->second;
}

void BundleVersionGuard::accept(const TrustBundle& b) {
  if (b.version < highest_)
    throw Error(ErrorCode::kInvalidArgument,
                "trust bundle version " + std::to_string(b.version) + " is older than version " +
                    std::to_string(highest_) + " already accepted: rollback refused");
  if (b.version == highest_ && !sha256_.empty() && b.file_sha256() != sha256_)
    throw Error(ErrorCode::kInvalidArgument,
                "trust bundle version " + std::to_string(b.version) +
                    " differs from the accepted bundle of the same version: refused");
  highest_ = b.version;
  sha256_ = b.file_sha256();
}

}  // namespace libcert
