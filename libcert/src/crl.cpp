// crl.cpp — RFC 5280 §5 CRLs with OpenSSL's X509_CRL API (libcert/crl.h).
#include "libcert/crl.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <ctime>
#include <map>
#include <memory>

#include "libcert/error.h"
#include "libcert/hex.h"
#include "ossl.h"

namespace libcert {

namespace {

using CrlPtr = std::unique_ptr<X509_CRL, ossl::Deleter<X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, ossl::Deleter<X509_REVOKED_free>>;
using Enumerated = std::unique_ptr<ASN1_ENUMERATED, ossl::Deleter<ASN1_ENUMERATED_free>>;
using GenTime = std::unique_ptr<ASN1_GENERALIZEDTIME, ossl::Deleter<ASN1_GENERALIZEDTIME_free>>;
using AuthKeyId = std::unique_ptr<AUTHORITY_KEYID, ossl::Deleter<AUTHORITY_KEYID_free>>;

constexpr std::size_t kMaxCrl = 16u << 20;

[[noreturn]] void bad(const std::string& what) {
  ERR_clear_error();
  throw Error(ErrorCode::kInvalidArgument, "crl: " + what);
}

[[noreturn]] void crypto(const std::string& what) {
  ERR_clear_error();
  throw Error(ErrorCode::kCrypto, "crl: " + what);
}

// Upper-case hex without leading zeros ("0" for zero): the one spelling of a serial here.
std::optional<std::string> normal_serial(std::string_view s) {
  if (s.empty() || s.size() > 80) return std::nullopt;
  std::string out;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (out.empty() && u == '0') continue;
    out += u;
  }
  return out.empty() ? std::string("0") : out;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  ossl::Bn bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) bad("a serial number does not decode");
  char* h = BN_bn2hex(bn.get());
  if (h == nullptr) bad("a serial number does not decode");
  std::string s(h);
  OPENSSL_free(h);
  return *normal_serial(s[0] == '-' ? s.substr(1) : s);
}

std::int64_t unix_of(const ASN1_TIME* t, const char* field) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) bad(std::string(field) + " does not parse");
  return static_cast<std::int64_t>(timegm(&tm));
}

ossl::X509Ptr load_cert(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c) {
    ERR_clear_error();
    throw Error(ErrorCode::kInvalidArgument, "crl: the issuer certificate is not DER X.509");
  }
  return c;
}

std::string name_of(const X509_NAME* n) {
  ossl::Bio b(BIO_new(BIO_s_mem()));
  if (!b) return {};
  X509_NAME_print_ex(b.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(b.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// The CA may sign CRLs (RFC 5280 §4.2.1.3 cRLSign, §4.2.1.9 CA:TRUE): empty, or why not.
std::string crl_signer_problem(X509* ca) {
  const uint32_t flags = X509_get_extension_flags(ca);
  const uint32_t ku = X509_get_key_usage(ca);
  ERR_clear_error();
  if ((flags & EXFLAG_CA) == 0) return "the issuer certificate is not a CA (CA:TRUE)";
  if ((flags & EXFLAG_KUSAGE) != 0 && (ku & KU_CRL_SIGN) == 0)
    return "the issuer certificate's keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)";
  return {};
}

void der_length(std::string& out, std::size_t n) {
  if (n < 0x80) {
    out += static_cast<char>(n);
    return;
  }
  std::string be;
  for (; n > 0; n >>= 8) be.insert(be.begin(), static_cast<char>(n & 0xff));
  out += static_cast<char>(0x80 | be.size());
  out += be;
}

std::string sha256(std::string_view data) {
  unsigned char h[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), h);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

}  // namespace

std::string_view to_string(CrlReason r) noexcept {
  switch (r) {
    case CrlReason::kUnspecified: return "unspecified";
    case CrlReason::kKeyCompromise: return "keyCompromise";
    case CrlReason::kSuperseded: return "superseded";
    case CrlReason::kCessationOfOperation: return "cessationOfOperation";
  }
  return "other";
}

std::optional<CrlReason> crl_reason_from_string(std::string_view s) noexcept {
  for (CrlReason r : {CrlReason::kUnspecified, CrlReason::kKeyCompromise, CrlReason::kSuperseded,
                      CrlReason::kCessationOfOperation}) {
    if (to_string(r) == s) return r;
  }
  return std::nullopt;
}

std::string_view to_string(CrlProblem p) noexcept {
  switch (p) {
    case CrlProblem::kNone: return "none";
    case CrlProblem::kSignature: return "signature";
    case CrlProblem::kIssuer: return "issuer";
    case CrlProblem::kIssuerRole: return "issuer-role";
    case CrlProblem::kNotYetValid: return "not-yet-valid";
    case CrlProblem::kExpired: return "expired";
  }
  return "unknown";
}

std::string Crl::sign(std::string_view issuer_cert_der, const DigestSigner& signer) const {
  if (next_update <= this_update) bad("nextUpdate must lie after thisUpdate (RFC 5280 §5.1.2.5)");
  // Entries by serial value (ascending), each serial once.
  std::map<std::pair<std::size_t, std::string>, const RevokedCertificate*> by_serial;
  for (const auto& r : revoked) {
    const auto s = normal_serial(r.serial_hex);
    if (!s) bad("entry serial '" + r.serial_hex + "' is not a hexadecimal number");
    if (!by_serial.emplace(std::make_pair(s->size(), *s), &r).second)
      bad("serial " + *s + " is listed twice");
  }
  ossl::X509Ptr ca;
  try {
    ca = load_cert(issuer_cert_der);
  } catch (const Error&) {
    crypto("the issuer certificate is not DER X.509");
  }
  if (std::string why = crl_signer_problem(ca.get()); !why.empty()) crypto(why);
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca.get());
  if (ca_pub == nullptr || !EVP_PKEY_is_a(ca_pub, "EC")) crypto("the issuer key is not an EC key");
  if (X509_get0_subject_key_id(ca.get()) == nullptr)
    crypto("the issuer certificate has no subjectKeyIdentifier (needed for the CRL's AKI)");

  CrlPtr crl(X509_CRL_new());
  ossl::check(crl != nullptr, "crl: X509_CRL_new");
  ossl::check(X509_CRL_set_version(crl.get(), 1) == 1, "crl: version");  // v2 (§5.1.2.1)
  ossl::check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) == 1,
              "crl: issuer");
  // ASN1_TIME_set writes UTCTime through 2049 and GeneralizedTime after (§5.1.2.4/§5.1.2.5).
  ossl::Asn1Time tu(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  ossl::Asn1Time nu(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  ossl::check(tu && nu && X509_CRL_set1_lastUpdate(crl.get(), tu.get()) == 1 &&
                  X509_CRL_set1_nextUpdate(crl.get(), nu.get()) == 1,
              "crl: thisUpdate/nextUpdate");
  for (const auto& [key, r] : by_serial) {
    RevokedPtr rev(X509_REVOKED_new());
    BIGNUM* raw = nullptr;
    ossl::check(rev != nullptr && BN_hex2bn(&raw, key.second.c_str()) > 0, "crl: entry serial");
    ossl::Bn bn(raw);
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ossl::Asn1Time date(ASN1_TIME_set(nullptr, static_cast<time_t>(r->revocation_date)));
    ossl::check(serial && date && X509_REVOKED_set_serialNumber(rev.get(), serial.get()) == 1 &&
                    X509_REVOKED_set_revocationDate(rev.get(), date.get()) == 1,
                "crl: entry " + key.second);
    // §5.3.1: "the reason code CRL entry extension SHOULD be absent instead of using the
    // unspecified (0) reasonCode value".
    if (r->reason != CrlReason::kUnspecified) {
      Enumerated e(ASN1_ENUMERATED_new());
      ossl::check(e && ASN1_ENUMERATED_set(e.get(), static_cast<long>(r->reason)) == 1 &&
                      X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, e.get(), 0, 0) == 1,
                  "crl: entry reasonCode");
    }
    // §5.3.2: invalidityDate is a GeneralizedTime, whatever the year.
    if (r->invalidity_date) {
      GenTime g(ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(*r->invalidity_date)));
      ossl::check(g && X509_REVOKED_add1_ext_i2d(rev.get(), NID_invalidity_date, g.get(), 0, 0) == 1,
                  "crl: entry invalidityDate");
    }
    ossl::check(X509_CRL_add0_revoked(crl.get(), rev.get()) == 1, "crl: add entry");
    rev.release();
  }
  ossl::check(X509_CRL_sort(crl.get()) == 1, "crl: sort");
  {
    // authorityKeyIdentifier = the CA's subjectKeyIdentifier (§5.2.1, MUST), cRLNumber (§5.2.3).
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.get(), nullptr, nullptr, crl.get(), 0);
    ossl::X509Ext aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier,
                                          "keyid:always"));
    ossl::check(aki && X509_CRL_add_ext(crl.get(), aki.get(), -1) == 1, "crl: authorityKeyIdentifier");
    ossl::Asn1Integer num(ASN1_INTEGER_new());
    ossl::check(num && ASN1_INTEGER_set_uint64(num.get(), number) == 1 &&
                    X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, num.get(), 0, 0) == 1,
                "crl: cRLNumber");
  }
  // The signature algorithm fields (TBSCertList.signature and CertificateList.signatureAlgorithm,
  // both ecdsa-with-SHA256) are written by OpenSSL signing once with a throwaway P-256 key; the
  // TBS it then encodes is signed through `signer`, whose key may sit in a token, and the
  // CertificateList is assembled from the TBS, that AlgorithmIdentifier and the new signature.
  {
    ossl::PKey tmp(EVP_EC_gen("P-256"));
    ossl::check(tmp && X509_CRL_sign(crl.get(), tmp.get(), EVP_sha256()) > 0, "crl: TBS encoding");
  }
  unsigned char* tbs_p = nullptr;
  const int tbs_n = i2d_re_X509_CRL_tbs(crl.get(), &tbs_p);
  ossl::check(tbs_n > 0, "crl: TBS encoding");
  const std::string tbs(reinterpret_cast<char*>(tbs_p), static_cast<std::size_t>(tbs_n));
  OPENSSL_free(tbs_p);
  const ASN1_BIT_STRING* unused = nullptr;
  const X509_ALGOR* alg = nullptr;
  X509_CRL_get0_signature(crl.get(), &unused, &alg);
  unsigned char* alg_p = nullptr;
  const int alg_n = i2d_X509_ALGOR(alg, &alg_p);
  ossl::check(alg_n > 0, "crl: signature algorithm encoding");
  const std::string alg_der(reinterpret_cast<char*>(alg_p), static_cast<std::size_t>(alg_n));
  OPENSSL_free(alg_p);

  const std::string digest = sha256(tbs);
  const std::string sig =
      signer(std::span(reinterpret_cast<const std::uint8_t*>(digest.data()), digest.size()));
  std::string bits;
  bits += '\x03';
  der_length(bits, sig.size() + 1);
  bits += '\0';  // no unused bits
  bits += sig;
  std::string body = tbs + alg_der + bits;
  std::string out;
  out += '\x30';
  der_length(out, body.size());
  out += body;

  // What was assembled must parse and verify with the issuer's key: a signer holding another key
  // (a wrong token object, a rotated CA) is caught here, not by every verifier later.
  const auto* p = reinterpret_cast<const unsigned char*>(out.data());
  CrlPtr reparsed(d2i_X509_CRL(nullptr, &p, static_cast<long>(out.size())));
  if (!reparsed || X509_CRL_verify(reparsed.get(), ca_pub) != 1)
    crypto("the signature does not verify with the issuer certificate's key");
  ERR_clear_error();
  return out;
}

Crl Crl::parse(std::string_view input) {
  if (input.size() > kMaxCrl)
    throw Error(ErrorCode::kLimitExceeded, "crl: larger than 16 MiB");
  CrlPtr crl;
  std::string bytes;
  if (input.substr(0, 11) == "-----BEGIN ") {
    ossl::Bio b(BIO_new_mem_buf(input.data(), static_cast<int>(input.size())));
    crl.reset(b ? PEM_read_bio_X509_CRL(b.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!crl) bad("not a PEM X509 CRL block");
    unsigned char* d = nullptr;
    const int n = i2d_X509_CRL(crl.get(), &d);
    if (n <= 0) bad("does not re-encode");
    bytes.assign(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
    OPENSSL_free(d);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(input.data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(input.size())));
    if (!crl) bad("not a DER CertificateList (RFC 5280 §5.1)");
    if (p != reinterpret_cast<const unsigned char*>(input.data()) + input.size())
      bad("trailing bytes after the CertificateList");
    bytes.assign(input);
  }
  Crl out;
  if (X509_CRL_get_version(crl.get()) != 1) bad("version is not v2 (RFC 5280 §5.1.2.1)");
  out.issuer = name_of(X509_CRL_get_issuer(crl.get()));
  out.this_update = unix_of(X509_CRL_get0_lastUpdate(crl.get()), "thisUpdate");
  if (X509_CRL_get0_nextUpdate(crl.get()) == nullptr)
    bad("nextUpdate missing (RFC 5280 §5.1.2.5)");
  out.next_update = unix_of(X509_CRL_get0_nextUpdate(crl.get()), "nextUpdate");
  // CRL extensions: a critical one we do not process (a delta-CRL indicator, an issuing
  // distribution point) makes the CRL unusable for us (§5.2).
  for (int i = 0; i < X509_CRL_get_ext_count(crl.get()); ++i) {
    X509_EXTENSION* e = X509_CRL_get_ext(crl.get(), i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
    if (X509_EXTENSION_get_critical(e) && nid != NID_crl_number &&
        nid != NID_authority_key_identifier) {
      char oid[80];
      OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);
      bad(std::string("critical extension ") + oid + " is not supported (RFC 5280 §5.2)");
    }
  }
  {
    int crit = -1;
    ossl::Asn1Integer num(static_cast<ASN1_INTEGER*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &crit, nullptr)));
    if (!num) bad("cRLNumber missing or malformed (RFC 5280 §5.2.3)");
    std::uint64_t v = 0;
    if (ASN1_INTEGER_get_uint64(&v, num.get()) != 1) bad("cRLNumber is not a 64-bit number");
    out.number = v;
  }
  {
    int crit = -1;
    AuthKeyId aki(static_cast<AUTHORITY_KEYID*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, &crit, nullptr)));
    if (aki && aki->keyid != nullptr) {
      out.authority_key_id_hex = libcert::hex(ASN1_STRING_get0_data(aki->keyid),
                                           static_cast<std::size_t>(ASN1_STRING_length(aki->keyid)));
    } else if (crit != -1) {
      bad("authorityKeyIdentifier malformed (RFC 5280 §5.2.1)");
    }
  }
  STACK_OF(X509_REVOKED)* revs = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; revs != nullptr && i < sk_X509_REVOKED_num(revs); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revs, i);
    RevokedCertificate e;
    e.serial_hex = serial_hex(X509_REVOKED_get0_serialNumber(r));
    e.revocation_date = unix_of(X509_REVOKED_get0_revocationDate(r),
                                ("entry " + e.serial_hex + " revocationDate").c_str());
    int crit = -1;
    Enumerated reason(
        static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr)));
    if (reason) {
      const long v = ASN1_ENUMERATED_get(reason.get());
      if (v < 0 || v > 10 || v == 7) bad("entry " + e.serial_hex + ": reasonCode " +
                                         std::to_string(v) + " is not a CRLReason (§5.3.1)");
      e.reason = static_cast<CrlReason>(v);
    } else if (crit != -1) {
      bad("entry " + e.serial_hex + ": reasonCode malformed (RFC 5280 §5.3.1)");
    }
    crit = -1;
    GenTime inv(static_cast<ASN1_GENERALIZEDTIME*>(
        X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit, nullptr)));
    if (inv) {
      e.invalidity_date = unix_of(inv.get(), ("entry " + e.serial_hex + " invalidityDate").c_str());
    } else if (crit != -1) {
      bad("entry " + e.serial_hex + ": invalidityDate malformed (RFC 5280 §5.3.2)");
    }
    out.revoked.push_back(std::move(e));
  }
  ERR_clear_error();
  out.der_ = std::move(bytes);
  return out;
}

CrlCheck Crl::check(std::string_view issuer_cert_der, std::int64_t now) const {
  ossl::X509Ptr ca = load_cert(issuer_cert_der);
  const std::string ca_name = name_of(X509_get_subject_name(ca.get()));
  if (der_.empty()) return {CrlProblem::kSignature, "the CRL was not parsed from signed bytes"};
  const auto* p = reinterpret_cast<const unsigned char*>(der_.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der_.size())));
  if (!crl) {
    ERR_clear_error();
    return {CrlProblem::kSignature, "the CRL no longer parses"};
  }
  // §6.3.3 (b)/(f): the CRL issuer is the certificate's issuer, and that CA may sign CRLs.
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) != 0) {
    return {CrlProblem::kIssuer, "the CRL's issuer " + issuer + " is not " + ca_name};
  }
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.get());
      ski != nullptr && !authority_key_id_hex.empty() &&
      libcert::hex(ASN1_STRING_get0_data(ski), static_cast<std::size_t>(ASN1_STRING_length(ski))) !=
          authority_key_id_hex) {
    return {CrlProblem::kIssuer, "the CRL's authorityKeyIdentifier " + authority_key_id_hex +
                                     " is not the subjectKeyIdentifier of " + ca_name};
  }
  if (std::string why = crl_signer_problem(ca.get()); !why.empty())
    return {CrlProblem::kIssuerRole, why};
  EVP_PKEY* pub = X509_get0_pubkey(ca.get());
  if (pub == nullptr || X509_CRL_verify(crl.get(), pub) != 1) {
    ERR_clear_error();
    return {CrlProblem::kSignature, "the CRL's signature does not verify with the key of " + ca_name};
  }
  ERR_clear_error();
  if (this_update > now) {
    return {CrlProblem::kNotYetValid, "thisUpdate " + std::to_string(this_update) +
                                          " lies after now " + std::to_string(now)};
  }
  if (next_update <= now) {
    return {CrlProblem::kExpired, "nextUpdate " + std::to_string(next_update) +
                                      " has passed (now " + std::to_string(now) +
                                      "): a newer CRL must be fetched (RFC 5280 §5.1.2.5)"};
  }
  return {CrlProblem::kNone, "CRL number " + std::to_string(number) + " of " + ca_name +
                                 " verifies and is current"};
}

const RevokedCertificate* Crl::find(std::string_view serial) const {
  const auto s = normal_serial(serial);
  if (!s) return nullptr;
  for (const auto& r : revoked)
    if (r.serial_hex == *s) return &r;
  return nullptr;
}

std::string crl_der_to_pem(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) bad("not a DER CertificateList");
  ossl::Bio b(BIO_new(BIO_s_mem()));
  ossl::check(b && PEM_write_bio_X509_CRL(b.get(), crl.get()) == 1, "crl: PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace libcert
