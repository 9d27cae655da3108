#include "seal_keys.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "libcert/error.h"
#include "libcert/pkcs11.h"
#include "libcert/roles.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "metrics.h"
#include "ossl.h"  // libcert/src: RAII aliases for OpenSSL objects
#include "sqlite.h"

namespace certd {

namespace {

using libcert::Error;
using libcert::ErrorCode;

// The project's RAII aliases for OpenSSL objects (libcert/src/ossl.h).
using Bio = libcert::ossl::Bio;
using Pkey = libcert::ossl::PKey;
using Cert = libcert::ossl::X509Ptr;

[[noreturn]] void crypto(const std::string& what) {
  ERR_clear_error();
  throw Error(ErrorCode::kCrypto, what);
}

std::string bio_text(BIO* b) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

Bio mem(std::string_view s) {
  Bio b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
  if (!b) crypto("out of memory");
  return b;
}

Cert parse_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Cert c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    throw Error(ErrorCode::kInvalidArgument, "certificate: not a DER X.509 certificate");
  }
  return c;
}

std::string to_der(X509* x) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  if (n <= 0) crypto("certificate: cannot encode");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::int64_t asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) crypto("certificate: unreadable validity time");
  return static_cast<std::int64_t>(timegm(&tm));
}

Pkey read_private_key(const std::string& pem, const std::string& what) {
  Bio b = mem(pem);
  Pkey k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  if (!k) crypto(what + ": not a PEM private key");
  return k;
}

void add_name(X509_NAME* n, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    crypto(std::string("CSR subject: cannot set ") + field);
  }
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  libcert::ossl::X509Ext e(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!e || X509_add_ext(cert, e.get(), -1) != 1)
    crypto(std::string("certificate extension ") + value);
}

// Writes a new private key file: created exclusively with mode 0600 (never over an existing key),
// flushed to disk before the registry records it.
void write_key_file(const std::filesystem::path& path, const std::string& pem) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw Error(ErrorCode::kIo, path.parent_path().string() + ": " + ec.message());
  ::chmod(path.parent_path().c_str(), 0700);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorCode::kIo, path.string() + ": cannot create the key file");
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    std::filesystem::remove(path, ec);
    throw Error(ErrorCode::kIo, path.string() + ": writing the key file failed");
  }
}

std::string read_text_file(const std::string& path) {
  Bio b(BIO_new_file(path.c_str(), "r"));
  if (!b) {
    ERR_clear_error();
    throw Error(ErrorCode::kIo, path + ": cannot read");
  }
  std::string out;
  char buf[4096];
  int n = 0;
  while ((n = BIO_read(b.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// The certificates after the first of a PEM "full chain" text (keys-example's seal.crt: seal +
// issuing CA), concatenated DER: what SealKeyVersion::chain_der holds.
std::string rest_of_chain_der(std::string_view pem) {
  Bio b = mem(pem);
  std::string out;
  for (bool first = true;; first = false) {
    Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!c) break;
    if (!first) out += to_der(c.get());
  }
  ERR_clear_error();  // the loop ends with a harmless "no start line"
  return out;
}

// chain_der (concatenated DER) back into certificates.
std::vector<std::string> split_der(const std::string& chain_der) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const unsigned char*>(chain_der.data());
  const auto* end = p + chain_der.size();
  while (p < end) {
    const unsigned char* start = p;
    Cert c(d2i_X509(nullptr, &p, static_cast<long>(end - p)));
    if (!c) crypto("seal key chain: not concatenated DER certificates");
    out.emplace_back(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
  }
  return out;
}

// key_ref of a version imported from the configured key directory: relative to it, so that the
// registry keeps working when that directory moves (a copy per deployment, a test's temp dir).
constexpr std::string_view kKeysDirRef = "keys-dir:";

std::string version_name(const SealKeyVersion& v) {
  return "seal key " + v.department + " v" + std::to_string(v.version);
}

}  // namespace

CertFacts cert_facts(const std::string& der) {
  Cert c = parse_der(der);
  CertFacts f;
  f.not_before = asn1_time(X509_get0_notBefore(c.get()));
  f.not_after = asn1_time(X509_get0_notAfter(c.get()));
  Bio b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), X509_get_subject_name(c.get()), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  f.subject = bio_text(b.get());
  return f;
}

std::string certificate_der(std::string_view text, const std::string& what) {
  if (text.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    Bio b = mem(text);
    Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!c) {
      ERR_clear_error();
      throw Error(ErrorCode::kInvalidArgument, what + ": PEM block is not an X.509 certificate");
    }
    return to_der(c.get());
  }
  try {
    return to_der(parse_der(std::string(text)).get());
  } catch (const Error&) {
    throw Error(ErrorCode::kInvalidArgument,
                what + ": neither a PEM certificate nor a DER X.509 certificate");
  }
}

std::string der_to_pem(const std::string& der) {
  Cert c = parse_der(der);
  Bio b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), c.get()) != 1) crypto("certificate: cannot write PEM");
  return bio_text(b.get());
}

libcert::SealKeyState seal_key_state(const SealKeyVersion& v) {
  using S = libcert::SealKeyState::State;
  libcert::SealKeyState s;
  s.version = std::to_string(v.version);
  s.state = v.state == "active"    ? S::kActive
            : v.state == "retired" ? S::kRetired
            : v.state == "pending" ? S::kPending
                                   : S::kRevoked;
  s.compromised_at = v.compromised_at;
  if (v.activated_at) s.usage_from = v.activated_at;
  // Times are whole seconds and a retirement shares its second with the last licences of the
  // old version: the window ends at the end of that second.
  if (v.retired_at) s.usage_until = *v.retired_at + 1;
  return s;
}

std::optional<libcert::SealEntry> seal_entry(const SealKeyVersion& v, const std::string& uscc) {
  if (v.cert_der.empty() || !v.activated_at) return std::nullopt;  // never sealed anything
  using S = libcert::SealState;
  const S st = v.state == "active"    ? S::kActive
               : v.state == "retired" ? S::kRetired
               : v.state == "pending" ? S::kPending
                                      : S::kRevoked;
  auto e = libcert::SealEntry::from_certificate(v.department, uscc, v.cert_der, st);
  e.version = std::to_string(v.version);
  e.usage_from = *v.activated_at;
  if (v.retired_at) e.usage_until = *v.retired_at + 1;
  e.compromised_at = v.compromised_at;
  return e;
}

SealKeys::SealKeys(Store& store, const libcert::TemplateSet& templates, SealKeyOptions options,
                   libcert::Rng* rng)
    : store_(store), templates_(templates), options_(std::move(options)), rng_(rng) {
  if (rng_ == nullptr) {
    own_rng_ = std::make_unique<libcert::SystemRng>();
    rng_ = own_rng_.get();
  }
  root_der_ = certificate_der(read_text_file(options_.keys_dir + "/root/root.crt"),
                              options_.keys_dir + "/root/root.crt");
  // The issuing CA (trust.md "Roles"): it certifies new seal versions, the root stays offline.
  if (options_.issuing_ca_cert.empty()) options_.issuing_ca_cert = options_.keys_dir + "/ca/issuing-ca.crt";
  if (options_.issuing_ca_key.empty()) options_.issuing_ca_key = options_.keys_dir + "/ca/issuing-ca.key";
  std::error_code ec;
  if (std::filesystem::is_regular_file(options_.issuing_ca_cert, ec)) {
    issuing_ca_der_ = certificate_der(read_text_file(options_.issuing_ca_cert), options_.issuing_ca_cert);
    const std::string why = issuing_ca_role_problem(issuing_ca_der_, root_der_);
    if (!why.empty()) throw Error(ErrorCode::kInvalidArgument, options_.issuing_ca_cert + ": " + why);
  }
}

std::string issuing_ca_role_problem(const std::string& ca_der, const std::string& root_der) {
  Cert ca = parse_der(ca_der);
  Cert root = parse_der(root_der);
  const uint32_t flags = X509_get_extension_flags(ca.get());
  const uint32_t ku = X509_get_key_usage(ca.get());
  const long pathlen = X509_get_pathlen(ca.get());
  std::string why;
  if ((flags & EXFLAG_CA) == 0 || pathlen != 0) {
    why = "not an issuing CA (CA:TRUE with pathlen 0, RFC 5280 §4.2.1.9)";
  } else if ((ku & KU_KEY_CERT_SIGN) == 0 || (ku & KU_CRL_SIGN) == 0) {
    why = "keyUsage lacks keyCertSign + cRLSign";
  } else if (X509_check_issued(root.get(), ca.get()) != X509_V_OK ||
             X509_verify(ca.get(), X509_get0_pubkey(root.get())) != 1) {
    why = "not issued by the seal root " + cert_facts(root_der).subject;
  }
  ERR_clear_error();
  return why;
}

SealKeys::~SealKeys() = default;

std::string SealKeys::key_path(const std::string& key_ref) const {
  if (key_ref.rfind(kKeysDirRef, 0) == 0) {
    return options_.keys_dir + "/" + key_ref.substr(kKeysDirRef.size());
  }
  return key_ref;
}

const libcert::Department& SealKeys::department(const std::string& id) const {
  for (const auto& d : templates_.departments()) {
    if (d.id == id) return d;
  }
  throw Error(ErrorCode::kNotFound, "department '" + id + "': not in templates/departments.json");
}

int SealKeys::bootstrap(std::int64_t now, const Actor& by) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& d : templates_.departments()) {
    const fs::path dir = fs::path(options_.keys_dir) / "seals" / d.id;
    std::error_code ec;
    if (!fs::is_regular_file(dir / "seal.key", ec) || !fs::is_regular_file(dir / "seal.crt", ec)) {
      continue;
    }
    if (!store_.list_seal_keys(d.id).empty()) continue;
    SealKeyVersion v;
    v.department = d.id;
    v.version = 1;
    v.state = "active";
    v.key_ref = std::string(kKeysDirRef) + "seals/" + d.id + "/seal.key";
    v.algorithm = "ecdsa-p256";
    const std::string pem = read_text_file((dir / "seal.crt").string());
    v.cert_der = certificate_der(pem, (dir / "seal.crt").string());
    v.chain_der = rest_of_chain_der(pem);  // seal.crt is a full chain: + the issuing CA
    const CertFacts f = cert_facts(v.cert_der);
    v.not_before = f.not_before;
    v.not_after = f.not_after;
    v.created_at = now;
    v.activated_at = f.not_before;  // it has been the department's seal since it was issued
    try {
      store_.import_seal_key(v, now, by);
      ++n;
    } catch (const RegistryError& e) {
      // Another process (a second certd, certctl) imported it first: that is the same outcome.
      if (!e.conflict()) throw;
    }
  }
  return n;
}

CreatedSealKey SealKeys::create(const std::string& department, const CreateSealKey& how,
                                std::int64_t now, const Actor& by) {
  const libcert::Department& dept = this->department(department);
  if (how.validity_days < 1 || how.validity_days > 3650) {
    throw Error(ErrorCode::kInvalidArgument, "validity_days: must be 1..3650");
  }
  // The issuing CA certifies the version (never the root: it stays offline, trust.md).
  const std::filesystem::path ca_key_path = options_.issuing_ca_key;
  if (how.example_ca &&
      (!std::filesystem::exists(std::filesystem::path(options_.keys_dir) / "NOT-FOR-PRODUCTION") ||
       issuing_ca_der_.empty() || !std::filesystem::exists(ca_key_path))) {
    throw Error(ErrorCode::kInvalidArgument,
                "example_ca: only with the example keys (" + options_.keys_dir +
                    " has no NOT-FOR-PRODUCTION marker, or no issuing CA " +
                    options_.issuing_ca_cert + " + " + options_.issuing_ca_key +
                    "); send the CSR to the department's CA and install the certificate instead");
  }
  // The version number is allocated by the store; the file name (or token label) carries a
  // random part so that two concurrent creations never race for one name: key_ref is whatever
  // was written.
  std::uint8_t rnd[6];
  rng_->fill(rnd);
  std::string tag;
  for (std::uint8_t b : rnd) {
    static constexpr char kHex[] = "0123456789abcdef";
    tag += kHex[b >> 4];
    tag += kHex[b & 15];
  }
  const std::string token = how.token.empty() ? options_.token : how.token;
  Pkey key;                     // a PEM key, or
  std::optional<libcert::pkcs11::Key> token_key;  // a key generated inside the token
  std::string key_ref;
  if (!token.empty()) {
    // Generated inside the token: CKA_SENSITIVE, never extractable (libcert/pkcs11.h); only the
    // public key and the key's URI (no PIN: a pin-source) leave it.
    const auto made = libcert::pkcs11::generate_key_pair(
        libcert::pkcs11::Uri::parse(token), libcert::pkcs11::KeyType::kEcP256,
        "seal-" + department + "-" + std::to_string(now) + "-" + tag);
    key_ref = made.uri.str();
    token_key.emplace(made.uri);
    const auto* p = reinterpret_cast<const unsigned char*>(made.spki_der.data());
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(made.spki_der.size())));
    if (!key) crypto("seal key: the token's public key does not parse");
  } else {
    // The key: ECDSA P-256 (signing.md; ES256 for the QR), generated by OpenSSL's DRBG.
    key.reset(EVP_EC_gen("P-256"));
    if (!key) crypto("seal key: EC P-256 key generation failed");
    Bio kb(BIO_new(BIO_s_mem()));
    if (!kb ||
        PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      crypto("seal key: cannot encode the private key");
    }
    const std::string key_pem = bio_text(kb.get());
    const std::filesystem::path path =
        std::filesystem::absolute(std::filesystem::path(options_.seal_key_dir) / department /
                                  ("seal-" + std::to_string(now) + "-" + tag + ".key"))
            .lexically_normal();
    write_key_file(path, key_pem);
    key_ref = path.string();
  }
  CreatedSealKey out;
  out.version = store_.create_seal_key(department, key_ref, "ecdsa-p256", now, by);

  // The CSR: the department's seal subject (as keys-example/make-keys.sh), plus the version in OU
  // so that a certificate names the key version it belongs to.
  const std::vector<std::pair<std::string, std::string>> subject = {
      {"C", "CN"},
      {"ST", "西藏自治区"},
      {"L", "阿里地区"},
      {"O", dept.name.zh},
      {"OU", "seal key v" + std::to_string(out.version.version)},
      {"organizationIdentifier", libcert::organization_identifier(dept.uscc)},
      {"CN", dept.name.zh}};
  libcert::ossl::X509Name name(X509_NAME_new());
  if (!name) crypto("CSR: out of memory");
  for (const auto& [f, v] : subject) add_name(name.get(), f.c_str(), v);
  if (token_key) {
    out.csr_pem = libcert::pkcs11::make_csr(*token_key, subject);  // signed inside the token
  } else {
    libcert::ossl::X509Req req(X509_REQ_new());
    if (!req) crypto("CSR: out of memory");
    if (X509_REQ_set_version(req.get(), 0) != 1 ||
        X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
        X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
        X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
      crypto("CSR: signing failed");
    }
    Bio rb(BIO_new(BIO_s_mem()));
    if (!rb || PEM_write_bio_X509_REQ(rb.get(), req.get()) != 1) crypto("CSR: cannot encode");
    out.csr_pem = bio_text(rb.get());
  }
  if (!how.example_ca) return out;

  // The example issuing CA issues the certificate in-process (what keys-example/make-keys.sh does
  // with `openssl ca`, with the same v3_seal extensions: RFC 5280 §4.2.1.3/§4.2.1.9).
  Cert ca = parse_der(issuing_ca_der_);
  Pkey ca_key = read_private_key(read_text_file(ca_key_path.string()), ca_key_path.string());
  Cert cert(X509_new());
  if (!cert) crypto("certificate: out of memory");
  std::uint8_t serial[16];
  rng_->fill(serial);
  serial[0] &= 0x7f;  // a positive INTEGER (RFC 5280 §4.1.2.2)
  serial[0] |= 0x01;
  libcert::ossl::Bn bn(BN_bin2bn(serial, sizeof serial, nullptr));
  const std::int64_t ca_not_after = asn1_time(X509_get0_notAfter(ca.get()));
  const std::int64_t nb = now - 300;  // tolerate verifiers whose clock is a little behind
  const std::int64_t na = std::min<std::int64_t>(
      now + static_cast<std::int64_t>(how.validity_days) * 86400, ca_not_after);
  if (!bn || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(nb)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(na)) == nullptr) {
    crypto("certificate: cannot fill the TBSCertificate");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation");
  {
    // certificatePolicies = the seal policy (RFC 5280 §4.2.1.4), built directly: the config-string
    // route (X509V3_EXT_conf_nid) needs a CONF for policy sections.
    CERTIFICATEPOLICIES* pols = sk_POLICYINFO_new_null();
    POLICYINFO* pi = POLICYINFO_new();
    const bool ok =
        pols != nullptr && pi != nullptr &&
        (pi->policyid = OBJ_txt2obj(std::string(libcert::kSealPolicyOid).c_str(), 1)) != nullptr &&
        sk_POLICYINFO_push(pols, pi) > 0;
    if (!ok) POLICYINFO_free(pi);
    const bool added = ok && X509_add1_ext_i2d(cert.get(), NID_certificate_policies, pols, 0,
                                               X509V3_ADD_DEFAULT) == 1;
    sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
    if (!added) crypto("certificate extension certificatePolicies");
  }
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid");
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) crypto("certificate: signing failed");
  out.version = install(department, out.version.version, to_der(cert.get()), now, by);
  return out;
}

SealKeyVersion SealKeys::install(const std::string& department, std::int64_t version,
                                 std::string_view cert_pem_or_der, std::int64_t now,
                                 const Actor& by) {
  const libcert::Department& dept = this->department(department);
  const auto v = store_.get_seal_key(department, version);
  if (!v) {
    throw Error(ErrorCode::kNotFound,
                "seal key " + department + " v" + std::to_string(version) + ": no such version");
  }
  if (v->state != "pending" || !v->cert_der.empty()) {
    throw SealStateError(version_name(*v) + " is " + v->state +
                         (v->cert_der.empty() ? "" : " with a certificate installed") +
                         ": a certificate can be installed only once, on a pending version");
  }
  const std::string der = certificate_der(cert_pem_or_der, "certificate");
  Cert cert = parse_der(der);
  // 1. The certificate must certify this version's key (not another version's, not a stray one).
  Pkey key;
  if (libcert::pkcs11::Uri::is_uri(v->key_ref)) {
    // The token's public key (TokenError if the token or key cannot be reached now).
    const std::string spki =
        libcert::pkcs11::Key(libcert::pkcs11::Uri::parse(v->key_ref)).public_key_spki();
    const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
    if (!key) crypto(version_name(*v) + ": the token's public key does not parse");
  } else {
    key = read_private_key(read_text_file(key_path(v->key_ref)), version_name(*v) + " key");
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
    ERR_clear_error();
    throw Error(ErrorCode::kInvalidArgument,
                "certificate: its public key does not match the private key of " +
                    version_name(*v) + " (was it issued for another CSR?)");
  }
  // 2. It is a seal certificate of this department (trust.md "Roles"): the seal policy OID and
  //    organizationIdentifier NTRCN-<USCC> — what every verifier will require of it.
  const libcert::CertificateRole role = libcert::certificate_role(der);
  if (role.role != libcert::CertRole::kSeal) {
    throw Error(ErrorCode::kInvalidArgument, "certificate: not a seal certificate (role " +
                                                 std::string(libcert::to_string(role.role)) + ": " +
                                                 role.why + ")");
  }
  if (role.uscc != dept.uscc) {
    throw Error(ErrorCode::kInvalidArgument, "certificate: subject organizationIdentifier is '" +
                                                 libcert::organization_identifier(role.uscc) +
                                                 "', expected " + department + "'s " +
                                                 libcert::organization_identifier(dept.uscc));
  }
  // 3. Issued by the issuing CA (trust.md "Roles": the root certifies only the issuing CA and
  //    stays offline); the chain stored with the version is that CA's certificate. A key
  //    directory without an issuing CA (an old layout) has its seals issued by the root itself.
  const std::string& issuer_der = issuing_ca_der_.empty() ? root_der_ : issuing_ca_der_;
  Cert issuer = parse_der(issuer_der);
  if (X509_verify(cert.get(), X509_get0_pubkey(issuer.get())) != 1 ||
      X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(issuer.get())) != 0) {
    ERR_clear_error();
    throw Error(ErrorCode::kInvalidArgument,
                std::string("certificate: not issued by the ") +
                    (issuing_ca_der_.empty() ? "seal root " : "issuing CA ") +
                    cert_facts(issuer_der).subject);
  }
  const CertFacts f = cert_facts(der);
  if (f.not_after <= now) {
    throw Error(ErrorCode::kInvalidArgument,
                "certificate: already expired (notAfter " + std::to_string(f.not_after) + ")");
  }
  return store_.install_seal_certificate(department, version, der, issuing_ca_der_, f.not_before,
                                         f.not_after, now, by);
}

std::shared_ptr<const libcert::Signer> SealKeys::signer(const SealKeyVersion& v) const {
  if (v.cert_der.empty()) {
    throw Error(ErrorCode::kNotFound, version_name(v) + " has no certificate");
  }
  const auto k = std::make_pair(v.department, v.version);
  {
    std::lock_guard l(mu_);
    auto it = signers_.find(k);
    if (it != signers_.end() && it->second.first == v.cert_sha256) return it->second.second;
  }
  // Loaded outside the lock (file I/O); two threads may both load it, the second insert wins.
  std::shared_ptr<const libcert::Signer> s;
  if (libcert::pkcs11::Uri::is_uri(v.key_ref)) {
    // A token key: nothing is read now; the signer's session pool logs in on first use and
    // again after the token came back (libcert/pkcs11.h). Cached, so the pool is kept.
    s = std::make_shared<libcert::pkcs11::Pkcs11Signer>(libcert::pkcs11::Uri::parse(v.key_ref),
                                                        v.cert_der, split_der(v.chain_der));
  } else {
    // The version's chain (the issuing CA) goes into every CMS after the seal certificate.
    const std::string key_pem = read_text_file(key_path(v.key_ref));
    std::string cert_pem = der_to_pem(v.cert_der);
    for (const auto& c : split_der(v.chain_der)) cert_pem += der_to_pem(c);
    s = std::make_shared<libcert::PemFileSigner>(libcert::PemFileSigner::from_pem(key_pem, cert_pem));
  }
  std::lock_guard l(mu_);
  signers_[k] = {v.cert_sha256, s};
  return s;
}

void SealKeys::check_token_key(const SealKeyVersion& v) const {
  if (!libcert::pkcs11::Uri::is_uri(v.key_ref) || v.cert_der.empty()) return;
  const auto s = signer(v);
  const auto* p11 = dynamic_cast<const libcert::pkcs11::Pkcs11Signer*>(s.get());
  if (p11 == nullptr) return;
  // One attribute read in a pooled session: finds a missing token, a refused PIN or a deleted
  // key before a serial is reserved (the signer itself recovers when the token is back).
  (void)p11->key().attributes();
}

std::optional<std::string> SealKeys::token_key_problem(const SealKeyVersion& v) const {
  try {
    check_token_key(v);
  } catch (const libcert::pkcs11::TokenError& e) {
    return std::string(libcert::pkcs11::to_string(e.fault()));
  } catch (const Error& e) {
    return std::string(libcert::to_string(e.code()));
  }
  return std::nullopt;
}

std::shared_ptr<const libcert::TrustBundle> SealKeys::bundle(std::int64_t now) const {
  // Read before the versions: a change between the two only makes the next call rebuild.
  const std::string key = store_.seal_keys_fingerprint();
  {
    std::lock_guard l(mu_);
    if (bundle_ && bundle_key_ == key) return bundle_;
  }
  const auto versions = store_.list_seal_keys(std::nullopt);
  auto b = std::make_shared<libcert::TrustBundle>();
  b->version = static_cast<std::uint64_t>(now);
  b->issued_at = now;
  b->root_der = root_der_;
  b->policy = options_.policy;
  for (const auto& v : versions) {
    std::string uscc;
    try {
      uscc = department(v.department).uscc;
    } catch (const Error&) {
      continue;  // a department no longer in the template set: nothing to verify against
    }
    if (auto e = seal_entry(v, uscc)) b->seals.push_back(std::move(*e));
  }
  std::lock_guard l(mu_);
  bundle_ = b;
  bundle_key_ = key;
  return b;
}

libcert::TrustBundle SealKeys::publishable_bundle(std::int64_t now,
                                                  std::uint32_t status_bits) const {
  libcert::TrustBundle b = *bundle(now);
  for (const auto& d : templates_.departments()) {
    libcert::StatusList list(status_bits);
    ListQuery q;
    q.department = d.id;
    q.status = "revoked";
    q.limit = 200;
    for (;;) {
      const auto page = store_.list_licences(q);
      for (const auto& r : page.items) {
        if (r.status_index >= 0 && static_cast<std::uint64_t>(r.status_index) < status_bits) {
          list.set(static_cast<std::uint32_t>(r.status_index), true);
        }
      }
      if (!page.next_before) break;
      q.before_audit_index = page.next_before;
    }
    b.status_lists.emplace(d.uscc, std::move(list));
  }
  return b;
}

std::optional<libcert::SealKeyState> SealKeys::lookup(std::string_view cert_sha256) const {
  const auto v = store_.find_seal_key_by_cert(std::string(cert_sha256));
  if (!v) return std::nullopt;
  return seal_key_state(*v);
}

std::map<std::string, double> SealKeys::update_expiry_gauges(Metrics& m, std::int64_t now) const {
  std::map<std::string, double> warn;
  for (const auto& v : store_.list_seal_keys(std::nullopt)) {
    if (v.state != "active" || !v.not_after) continue;
    const double days = static_cast<double>(*v.not_after - now) / 86400.0;
    m.set_labeled_gauge("certd_seal_certificate_days_left",
                        "Days until the active seal certificate of a department expires.",
                        "department", v.department, days);
    if (days < options_.warn_days) warn[v.department] = days;
  }
  return warn;
}

}  // namespace certd
