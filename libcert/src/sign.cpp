// sign.cpp — PAdES B-B sealing (see libcert/sign.h and docs/signing.md).
//
// The CMS SignedData is assembled as DER by hand rather than with CMS_sign(): that keeps the
// signed attributes exactly as ETSI EN 319 142-1 §5.2 requires (content-type, message-digest,
// signing-certificate-v2; no signingTime, which OpenSSL's CMS_SignerInfo_sign always adds) and
// lets the private-key operation be a single "sign this digest" call, which is what a PKCS#11
// token offers.
#include "libcert/sign.h"

#include <openssl/pem.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "libcert/pdf.h"
#include "libcert/tsa.h"
#include "ossl.h"

namespace libcert {

namespace {

// ---- DER (X.690) -------------------------------------------------------------------------------

std::string der_len(std::size_t n) {
  std::string out;
  if (n < 0x80) {
    out += static_cast<char>(n);
    return out;
  }
  std::string bytes;
  for (std::size_t v = n; v != 0; v >>= 8) bytes.insert(bytes.begin(), static_cast<char>(v & 0xFF));
  out += static_cast<char>(0x80 | bytes.size());
  return out + bytes;
}
std::string tlv(unsigned char tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  out += der_len(content.size());
  out += content;
  return out;
}
std::string seq(std::string_view c) { return tlv(0x30, c); }
std::string set_of(std::string_view c) { return tlv(0x31, c); }
std::string octets(std::string_view c) { return tlv(0x04, c); }
std::string small_int(unsigned v) { return tlv(0x02, std::string(1, static_cast<char>(v))); }

std::string oid(std::string_view dotted) {
  std::vector<unsigned long> arcs;
  unsigned long cur = 0;
  for (char c : dotted) {
    if (c == '.') {
      arcs.push_back(cur);
      cur = 0;
    } else {
      cur = cur * 10 + static_cast<unsigned long>(c - '0');
    }
  }
  arcs.push_back(cur);
  std::string body(1, static_cast<char>(arcs[0] * 40 + arcs[1]));
  for (std::size_t i = 2; i < arcs.size(); ++i) {
    std::string enc;
    unsigned long v = arcs[i];
    enc.insert(enc.begin(), static_cast<char>(v & 0x7F));
    while ((v >>= 7) != 0) enc.insert(enc.begin(), static_cast<char>(0x80 | (v & 0x7F)));
    body += enc;
  }
  return tlv(0x06, body);
}

// X.690 §11.6: the components of a SET OF are in ascending order of their encodings.
std::string der_set_of(std::vector<std::string> items) {
  std::sort(items.begin(), items.end(), [](const std::string& a, const std::string& b) {
    const std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0U;
      const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0U;
      if (x != y) return x < y;
    }
    return false;
  });
  std::string c;
  for (const auto& i : items) c += i;
  return c;  // content only: caller chooses the tag (SET or [0] IMPLICIT)
}

constexpr std::string_view kOidData = "1.2.840.113549.1.7.1";
constexpr std::string_view kOidSignedData = "1.2.840.113549.1.7.2";
constexpr std::string_view kOidContentType = "1.2.840.113549.1.9.3";
constexpr std::string_view kOidMessageDigest = "1.2.840.113549.1.9.4";
constexpr std::string_view kOidSigningCertificateV2 = "1.2.840.113549.1.9.16.2.47";
// id-aa-signatureTimeStampToken (RFC 3161 Appendix A): PAdES B-T's unsigned attribute.
constexpr std::string_view kOidSignatureTimeStampToken = "1.2.840.113549.1.9.16.2.14";
constexpr std::string_view kOidSha256 = "2.16.840.1.101.3.4.2.1";
constexpr std::string_view kOidEcdsaSha256 = "1.2.840.10045.4.3.2";
constexpr std::string_view kOidRsaSha256 = "1.2.840.113549.1.1.11";

std::string sha256(std::string_view a, std::string_view b = {}) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  ossl::check(ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx.get(), a.data(), a.size()) == 1 &&
                  EVP_DigestUpdate(ctx.get(), b.data(), b.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx.get(), md.data(), nullptr) == 1,
              "sha256");
  return {reinterpret_cast<const char*>(md.data()), md.size()};
}

template <typename T, typename F>
std::string i2d_string(const T* obj, F fn) {
  const int n = fn(obj, nullptr);
  ossl::check(n > 0, "DER-encoding a certificate field");
  std::string out(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  ossl::check(fn(obj, &p) == n, "DER-encoding a certificate field");
  return out;
}

ossl::X509Ptr parse_cert_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ossl::check(x != nullptr, "parsing the signer certificate (DER)");
  return x;
}

// What the CMS takes from the signer's certificate.
struct CertIds {
  std::string issuer;  // DER Name
  std::string serial;  // DER INTEGER
  std::string cn;      // subject CN as UTF-8 (empty if not a UTF-8-compatible string)
  int max_sig = 0;     // maximum signature size of the certificate's key
};

CertIds cert_ids(std::string_view der) {
  ossl::X509Ptr x = parse_cert_der(der);
  CertIds ids;
  ids.issuer = i2d_string(X509_get_issuer_name(x.get()), [](const X509_NAME* n, unsigned char** p) {
    return i2d_X509_NAME(n, p);
  });
  ids.serial =
      i2d_string(X509_get0_serialNumber(x.get()),
                 [](const ASN1_INTEGER* n, unsigned char** p) { return i2d_ASN1_INTEGER(n, p); });
  const X509_NAME* subj = X509_get_subject_name(x.get());
  const int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
    const int t = ASN1_STRING_type(s);
    if (t == V_ASN1_UTF8STRING || t == V_ASN1_PRINTABLESTRING || t == V_ASN1_IA5STRING) {
      ids.cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  ossl::check(pub != nullptr, "reading the signer certificate's public key");
  ids.max_sig = EVP_PKEY_get_size(pub);
  return ids;
}

std::string alg_id(std::string_view o, bool null_params) {
  return seq(oid(o) + (null_params ? std::string("\x05\x00", 2) : std::string()));
}

}  // namespace

// Everything of the SignedData that depends only on the signer's certificate and chain: built
// once per Signer (Signer::cms_parts) and copied into every seal's CMS.
struct Signer::CmsParts {
  std::string cn;           // subject CN (the signature dictionary's default /Name)
  std::size_t max_sig = 0;  // largest signature value of the key (placeholder measurement)
  std::string sid;          // SignerIdentifier: IssuerAndSerialNumber (RFC 5652 §5.3)
  std::string signing_cert_v2_attr;  // the whole Attribute (RFC 5035 §3)
  std::string certificates;          // [0] IMPLICIT CertificateSet: signer + chain
  std::string digest_alg;            // AlgorithmIdentifier sha256
  std::string sig_alg;               // AlgorithmIdentifier of the signature
  std::string content_type_attr;     // Attribute content-type = id-data
};

std::shared_ptr<const Signer::CmsParts> Signer::cms_parts() const {
  if (auto p = cms_parts_.load(std::memory_order_acquire)) return p;
  // Two threads may both derive it on first use; they build the same value, one is kept.
  const std::string& cert = certificate();
  const CertIds ids = cert_ids(cert);
  auto parts = std::make_shared<CmsParts>();
  parts->cn = ids.cn;
  parts->max_sig = static_cast<std::size_t>(ids.max_sig);
  parts->sid = seq(ids.issuer + ids.serial);
  // RFC 5035 §3: SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }, ESSCertIDv2 {
  // hashAlgorithm DEFAULT sha256 (so omitted), certHash, issuerSerial { GeneralNames
  // (directoryName [4] EXPLICIT Name), serialNumber } }.
  const std::string issuer_serial = seq(seq(tlv(0xA4, ids.issuer)) + ids.serial);
  const std::string ess_cert_id = seq(octets(sha256(cert)) + issuer_serial);
  parts->signing_cert_v2_attr = seq(oid(kOidSigningCertificateV2) + set_of(seq(seq(ess_cert_id))));
  std::vector<std::string> certs{cert};
  for (const auto& c : chain()) certs.push_back(c);
  parts->certificates = tlv(0xA0, der_set_of(certs));
  parts->digest_alg = alg_id(kOidSha256, false);
  parts->sig_alg = algorithm() == SignatureAlgorithm::kEcdsaP256Sha256
                       ? alg_id(kOidEcdsaSha256, false)
                       : alg_id(kOidRsaSha256, true);
  parts->content_type_attr = seq(oid(kOidContentType) + set_of(oid(kOidData)));
  std::shared_ptr<const CmsParts> out = std::move(parts);
  cms_parts_.store(out, std::memory_order_release);
  return out;
}

namespace {

// The SignedData of RFC 5652 §5 with the PAdES signed attributes. `fixed_signature` set means
// "measure": that stands in for the signature value (zeros of the key's maximum size). With a
// `timestamper` (B-T) the signature value is time-stamped and the token added as an unsigned
// attribute; when measuring, `fixed_token` (zeros of the token bound) stands in for it.
std::string build_cms(std::string_view content_digest, const Signer& signer,
                      const Signer::CmsParts& parts, const std::string* fixed_signature,
                      const TimeStamper* timestamper = nullptr,
                      const std::string* fixed_token = nullptr) {
  if (content_digest.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument, "sign: content digest must be 32 bytes (SHA-256)");
  }
  // ETSI EN 319 142-1 §5.2: content-type, message-digest, signing-certificate-v2 — no
  // signingTime (/M carries the claimed time).
  std::string attrs_content = der_set_of(
      {parts.content_type_attr,
       seq(oid(kOidMessageDigest) + set_of(octets(content_digest))),
       parts.signing_cert_v2_attr});

  // RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag.
  std::string signature;
  if (fixed_signature != nullptr) {
    signature = *fixed_signature;
  } else {
    const std::string d = sha256(set_of(attrs_content));
    signature = signer.sign(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(d.data()), d.size()));
  }

  // ETSI EN 319 122-1 §5.3 / RFC 3161 Appendix A: the token's imprint is the hash of the
  // SignerInfo's signature value (the OCTET STRING's content), so it proves the signature
  // existed at genTime; unsignedAttrs is [1] IMPLICIT SET OF Attribute (RFC 5652 §5.3).
  std::string unsigned_attrs;
  if (timestamper != nullptr || fixed_token != nullptr) {
    std::string token;
    if (fixed_token != nullptr) {
      token = *fixed_token;
    } else {
      const std::string h = sha256(signature);
      token = timestamper->stamp(
          std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()));
    }
    unsigned_attrs = tlv(0xA1, seq(oid(kOidSignatureTimeStampToken) + set_of(token)));
  }
  const std::string signer_info =
      seq(small_int(1) + parts.sid + parts.digest_alg + tlv(0xA0, attrs_content) +
          parts.sig_alg + octets(signature) + unsigned_attrs);
  const std::string signed_data = seq(small_int(1) + set_of(parts.digest_alg) +
                                      seq(oid(kOidData)) + parts.certificates +
                                      set_of(signer_info));
  return seq(oid(kOidSignedData) + tlv(0xA0, signed_data));
}

// ---- PDF text ----------------------------------------------------------------------------------

// A PDF text string (§7.9.2.2): plain ASCII stays a literal string, anything else is UTF-16BE
// with a byte order mark. Throws kInvalidArgument on invalid UTF-8.
pdf::String text_string(std::string_view utf8, const char* field) {
  bool ascii = true;
  for (char c : utf8) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return pdf::String{std::string(utf8), false};
  std::string out = "\xFE\xFF";
  auto put16 = [&](unsigned v) {
    out += static_cast<char>((v >> 8) & 0xFF);
    out += static_cast<char>(v & 0xFF);
  };
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    unsigned cp = 0;
    std::size_t n = 0;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1Fu, n = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0Fu, n = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07u, n = 4;
    } else {
      throw Error(ErrorCode::kInvalidArgument, std::string(field) + ": invalid UTF-8");
    }
    if (i + n > utf8.size()) {
      throw Error(ErrorCode::kInvalidArgument, std::string(field) + ": truncated UTF-8");
    }
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(utf8[i + k]);
      if ((cc & 0xC0) != 0x80) {
        throw Error(ErrorCode::kInvalidArgument, std::string(field) + ": invalid UTF-8");
      }
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put16(0xD800 | (cp >> 10));
      put16(0xDC00 | (cp & 0x3FF));
    } else {
      put16(cp);
    }
  }
  return pdf::String{std::move(out), true};
}

// §7.9.4 date, in UTC: D:YYYYMMDDHHmmSSZ.
std::string pdf_date(std::int64_t t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) throw Error(ErrorCode::kInvalidArgument, "sign: bad time");
  char buf[32];
  std::strftime(buf, sizeof buf, "D:%Y%m%d%H%M%SZ", &tm);
  return buf;
}

pdf::Name name(const char* n) { return pdf::Name{n}; }

// The DocMDP permission of a certified document (catalog /Perms /DocMDP), or 0 if not certified.
std::int64_t docmdp_permission(const pdf::Document& doc, const pdf::Dict& catalog) {
  const pdf::Object perms = doc.resolve(catalog.get("Perms"));
  if (!perms.is(pdf::Kind::kDict)) return 0;
  const pdf::Object sig = doc.resolve(perms.as_dict().get("DocMDP"));
  if (!sig.is(pdf::Kind::kDict)) return 0;
  const pdf::Object refs = doc.resolve(sig.as_dict().get("Reference"));
  if (refs.is(pdf::Kind::kArray)) {
    for (const auto& r : refs.as_array()) {
      const pdf::Object rd = doc.resolve(r);
      if (!rd.is(pdf::Kind::kDict)) continue;
      const pdf::Object* tm = rd.as_dict().get("TransformMethod");
      if (tm == nullptr || !tm->is_name("DocMDP")) continue;
      const pdf::Object tp = doc.resolve(rd.as_dict().get("TransformParams"));
      if (tp.is(pdf::Kind::kDict)) {
        const pdf::Object p = doc.resolve(tp.as_dict().get("P"));
        if (p.is(pdf::Kind::kInt)) return p.as_int();
      }
      return 2;  // §12.8.2.2.2: default P is 2
    }
  }
  return 2;
}

}  // namespace

// ---- PemFileSigner -----------------------------------------------------------------------------

struct PemFileSigner::Impl {
  ossl::PKey key;
  std::string cert;
  std::vector<std::string> chain;
  SignatureAlgorithm alg = SignatureAlgorithm::kEcdsaP256Sha256;
};

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) throw Error(ErrorCode::kIo, "error reading " + path);
  return ss.str();
}
ossl::Bio mem_bio(std::string_view s) {
  ossl::Bio b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
  ossl::check(b != nullptr, "BIO_new_mem_buf");
  return b;
}
std::string cert_der(X509* x) {
  return i2d_string(x, [](const X509* c, unsigned char** p) { return i2d_X509(c, p); });
}
}  // namespace

PemFileSigner::PemFileSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PemFileSigner::PemFileSigner(PemFileSigner&&) noexcept = default;
PemFileSigner& PemFileSigner::operator=(PemFileSigner&&) noexcept = default;
PemFileSigner::~PemFileSigner() = default;

PemFileSigner::PemFileSigner(const std::string& key_path, const std::string& cert_path,
                             const std::vector<std::string>& chain_paths) {
  std::string chain;
  for (const auto& p : chain_paths) chain += read_all(p) + "\n";
  *this = from_pem(read_all(key_path), read_all(cert_path), chain);
}

PemFileSigner PemFileSigner::from_pem(std::string_view key_pem, std::string_view cert_pem,
                                      std::string_view chain_pem) {
  auto impl = std::make_unique<Impl>();
  {
    ossl::Bio b = mem_bio(key_pem);
    impl->key.reset(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    ossl::check(impl->key != nullptr, "seal key: not an unencrypted PEM private key");
  }
  ossl::X509Ptr cert;
  {
    ossl::Bio b = mem_bio(cert_pem);
    cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    ossl::check(cert != nullptr, "seal certificate: not a PEM certificate");
  }
  ossl::check(X509_check_private_key(cert.get(), impl->key.get()) == 1,
              "seal key: does not match the certificate's public key");
  const int type = EVP_PKEY_get_base_id(impl->key.get());
  if (type == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t glen = 0;
    ossl::check(EVP_PKEY_get_group_name(impl->key.get(), group, sizeof group, &glen) == 1,
                "seal key: reading the EC curve");
    if (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256") {
      throw Error(ErrorCode::kCrypto, std::string("seal key: EC curve ") + group +
                                          " is not P-256 (signing.md profile)");
    }
    impl->alg = SignatureAlgorithm::kEcdsaP256Sha256;
  } else if (type == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(impl->key.get()) < 2048) {
      throw Error(ErrorCode::kCrypto, "seal key: RSA key shorter than 2048 bits");
    }
    impl->alg = SignatureAlgorithm::kRsaSha256;
  } else {
    throw Error(ErrorCode::kCrypto, "seal key: only EC P-256 and RSA keys are supported");
  }
  impl->cert = cert_der(cert.get());
  // Certificates after the first in `cert_pem` are its chain (a "full chain" file, as
  // keys-example writes them: seal certificate + issuing CA), then those of `chain_pem`.
  const auto read_rest = [&impl](std::string_view pem, bool skip_first) {
    ossl::Bio b = mem_bio(pem);
    std::size_t n = 0;
    for (bool first = true;; first = false) {
      ossl::X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
      if (!c) break;
      if (first && skip_first) continue;
      impl->chain.push_back(cert_der(c.get()));
      ++n;
    }
    ossl::drain_errors();  // the loop ends with a harmless "no start line"
    return n;
  };
  read_rest(cert_pem, true);
  if (!chain_pem.empty() && read_rest(chain_pem, false) == 0) {
    throw Error(ErrorCode::kCrypto, "seal chain: no PEM certificate");
  }
  return PemFileSigner(std::move(impl));
}

const std::string& PemFileSigner::certificate() const { return impl_->cert; }
const std::vector<std::string>& PemFileSigner::chain() const { return impl_->chain; }
SignatureAlgorithm PemFileSigner::algorithm() const { return impl_->alg; }

std::string PemFileSigner::sign(std::span<const std::uint8_t> digest) const {
  if (digest.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument, "sign: digest must be 32 bytes (SHA-256)");
  }
  // One EVP_PKEY_CTX per call: the shared EVP_PKEY is only read, so this is thread-safe.
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new(impl_->key.get(), nullptr));
  ossl::check(ctx != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1, "sign: init");
  if (impl_->alg == SignatureAlgorithm::kRsaSha256) {
    ossl::check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
                    EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1,
                "sign: RSA PKCS#1 v1.5 parameters");
  }
  std::size_t len = 0;
  ossl::check(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) == 1,
              "sign: size");
  std::string sig(len, '\0');
  ossl::check(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                            digest.data(), digest.size()) == 1,
              "sign: signing the digest");
  sig.resize(len);
  return sig;
}

// ---- CMS + seal_pdf ----------------------------------------------------------------------------

std::string cades_detached_signature(std::span<const std::uint8_t> content_digest,
                                     const Signer& signer) {
  return build_cms(
      std::string_view(reinterpret_cast<const char*>(content_digest.data()), content_digest.size()),
      signer, *signer.cms_parts(), nullptr);
}

std::string seal_pdf(std::string_view bytes, const Signer& signer, const SealOptions& options) {
  if (options.clock == nullptr)
    throw Error(ErrorCode::kInvalidArgument, "seal: options.clock is required");
  if (options.kind == SealKind::kCertification && (options.docmdp_p < 1 || options.docmdp_p > 3)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal: docmdp_p must be 1, 2 or 3 (ISO 32000-1 §12.8.2.2.2), got " +
                    std::to_string(options.docmdp_p));
  }
  const Rect& r = options.rect;
  if (!(r.w >= 0 && r.h >= 0 && std::isfinite(r.x) && std::isfinite(r.y) && std::isfinite(r.w) &&
        std::isfinite(r.h))) {
    throw Error(ErrorCode::kInvalidArgument, "seal: rect must be finite with w, h >= 0");
  }
  const pdf::Document doc = pdf::Document::open(bytes);
  const pdf::Ref catalog_ref = doc.catalog_ref();
  pdf::Dict catalog = doc.catalog();
  const pdf::Ref page_ref = doc.page_ref(options.page);  // kInvalidArgument if out of range

  // Existing form and signatures.
  const pdf::Object* af_entry = catalog.get("AcroForm");
  pdf::Dict acroform;
  if (af_entry != nullptr) {
    const pdf::Object af = doc.resolve(af_entry);
    if (!af.is(pdf::Kind::kDict))
      throw Error(ErrorCode::kPdfMalformed, "seal: /AcroForm is not a dictionary");
    acroform = af.as_dict();
  }
  pdf::Array fields;
  if (const pdf::Object* f = acroform.get("Fields")) fields = doc.resolve(f).as_array();
  std::size_t sig_fields = 0;
  bool signed_before = false;
  std::vector<std::string> names;
  for (const auto& f : fields) {
    const pdf::Object fd = doc.resolve(f);
    if (!fd.is(pdf::Kind::kDict)) continue;
    if (const pdf::Object* t = fd.as_dict().get("T"); t && t->is(pdf::Kind::kString)) {
      names.push_back(t->as_string().bytes);
    }
    const pdf::Object* ft = fd.as_dict().get("FT");
    if (ft != nullptr && ft->is_name("Sig")) {
      ++sig_fields;
      signed_before |= fd.as_dict().has("V");
    }
  }
  const std::int64_t mdp = docmdp_permission(doc, catalog);
  if (options.kind == SealKind::kCertification && (signed_before || mdp != 0)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal: a certification (DocMDP) signature must be the document's first signature "
                "(ISO 32000-1 §12.8.2.2); use SealKind::kApproval");
  }
  if (options.kind == SealKind::kApproval && mdp == 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal: the document is certified with DocMDP P=1 (no changes allowed); a further "
                "seal would invalidate it — certify with docmdp_p = 2 when more seals follow");
  }
  std::string field_name = options.field_name;
  if (field_name.empty()) {
    for (std::size_t n = sig_fields + 1;; ++n) {
      field_name = "Seal" + std::to_string(n);
      if (std::find(names.begin(), names.end(), field_name) == names.end()) break;
    }
  } else if (std::find(names.begin(), names.end(), field_name) != names.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal: field name '" + field_name + "' already exists");
  }

  const std::shared_ptr<const Signer::CmsParts> parts = signer.cms_parts();
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref sig_ref = up.allocate();
  const pdf::Ref field_ref = up.allocate();

  // §12.8.1 signature dictionary (all entries direct objects, signing.md).
  pdf::Dict sig;
  sig.set("Type", name("Sig"));
  sig.set("Filter", name("Adobe.PPKLite"));
  sig.set("SubFilter", name("ETSI.CAdES.detached"));
  sig.set("M", pdf::String{pdf_date(options.clock->now()), false});
  const std::string signer_name = options.name.empty() ? parts->cn : options.name;
  if (!signer_name.empty()) sig.set("Name", text_string(signer_name, "name"));
  if (!options.reason.empty()) sig.set("Reason", text_string(options.reason, "reason"));
  if (!options.location.empty()) sig.set("Location", text_string(options.location, "location"));
  if (options.kind == SealKind::kCertification) {
    // §12.8.2.2: DocMDP transform; P=1 forbids any change, P=2 allows form filling and signing.
    pdf::Dict params;
    params.set("Type", name("TransformParams"));
    params.set("P", pdf::Object(options.docmdp_p));
    params.set("V", name("1.2"));
    pdf::Dict ref;
    ref.set("Type", name("SigRef"));
    ref.set("TransformMethod", name("DocMDP"));
    ref.set("TransformParams", pdf::Object(std::move(params)));
    sig.set("Reference", pdf::Array{pdf::Object(std::move(ref))});
  }

  // §12.7.4.5 signature field merged with its widget annotation (§12.5.6.19).
  const bool visible = r.w > 0 && r.h > 0;
  pdf::Dict field;
  field.set("Type", name("Annot"));
  field.set("Subtype", name("Widget"));
  field.set("FT", name("Sig"));
  field.set("T", text_string(field_name, "field_name"));
  field.set("V", sig_ref);
  field.set("F", pdf::Object(4));  // Print
  field.set("P", page_ref);
  field.set("Rect",
            visible ? pdf::Array{pdf::Object(r.x), pdf::Object(r.y), pdf::Object(r.x + r.w),
                                 pdf::Object(r.y + r.h)}
                    : pdf::Array{pdf::Object(0), pdf::Object(0), pdf::Object(0), pdf::Object(0)});
  if (visible) {
    // The seal itself is drawn in the page content; the appearance is an empty form XObject so
    // viewers neither hide nor repaint the seal (§12.5.5).
    const pdf::Ref ap_ref = up.allocate();
    pdf::Stream ap;
    ap.dict.set("Type", name("XObject"));
    ap.dict.set("Subtype", name("Form"));
    ap.dict.set("BBox",
                pdf::Array{pdf::Object(0), pdf::Object(0), pdf::Object(r.w), pdf::Object(r.h)});
    ap.dict.set("Resources", pdf::Dict{});
    up.set(ap_ref, pdf::Object(std::move(ap)));
    pdf::Dict apd;
    apd.set("N", ap_ref);
    field.set("AP", pdf::Object(std::move(apd)));
  }
  up.set(field_ref, pdf::Object(std::move(field)));

  // The page's /Annots gets the widget: update the array object if /Annots is indirect, else the
  // page dictionary.
  pdf::Dict page = doc.object(page_ref).as_dict();
  const pdf::Object* annots_entry = page.get("Annots");
  pdf::Array annots;
  if (annots_entry != nullptr) annots = doc.resolve(annots_entry).as_array();
  annots.push_back(pdf::Object(field_ref));
  if (annots_entry != nullptr && annots_entry->is(pdf::Kind::kRef)) {
    up.set(annots_entry->as_ref(), pdf::Object(std::move(annots)));
  } else {
    page.set("Annots", pdf::Object(std::move(annots)));
    up.set(page_ref, pdf::Object(std::move(page)));
  }

  // AcroForm (§12.7.2): /Fields += field, /SigFlags 3 (SignaturesExist | AppendOnly).
  fields.push_back(pdf::Object(field_ref));
  acroform.set("Fields", pdf::Object(std::move(fields)));
  acroform.set("SigFlags", pdf::Object(3));
  bool catalog_changed = false;
  if (af_entry != nullptr && af_entry->is(pdf::Kind::kRef)) {
    up.set(af_entry->as_ref(), pdf::Object(std::move(acroform)));
  } else {
    catalog.set("AcroForm", pdf::Object(std::move(acroform)));
    catalog_changed = true;
  }
  if (options.kind == SealKind::kCertification) {
    pdf::Dict perms;
    if (const pdf::Object* p = catalog.get("Perms")) perms = doc.resolve(p).as_dict();
    perms.set("DocMDP", sig_ref);
    catalog.set("Perms", pdf::Object(std::move(perms)));
    catalog_changed = true;
  }
  if (catalog_changed) {
    if (!catalog.has("Extensions")) {
      // ETSI EN 319 142-1 / ISO 32000-1 extension marker for ETSI.CAdES.detached (ESIC level 2).
      pdf::Dict esic;
      esic.set("BaseVersion", name("1.7"));
      esic.set("ExtensionLevel", pdf::Object(2));
      pdf::Dict ext;
      ext.set("ESIC", pdf::Object(std::move(esic)));
      catalog.set("Extensions", pdf::Object(std::move(ext)));
    }
    up.set(catalog_ref, pdf::Object(std::move(catalog)));
  }

  // Placeholder: the CMS measured with a maximum-size signature (and the TSA's largest token).
  // Without a time-stamp that is the exact bound, so no margin: the signature value is at most
  // EVP_PKEY_get_size() bytes (an RSA signature exactly the modulus; an ECDSA-Sig-Value's DER at
  // most 2 + 2 x (2 + 33) = 72 bytes for P-256, SEC 1 §C.8 / RFC 3279 §2.2.3), every other field
  // has the same size in the measurement as in the real CMS (the digest is 32 bytes either way,
  // the attributes and certificates are the same), and a DER length (X.690 §8.1.3) never grows
  // when its content shrinks. Seal.PlaceholderIsTheLargestCms (sign_test) seals 64 times and
  // finds the largest CMS exactly filling it. A time-stamp token's size is the TSA's estimate
  // (max_token_size): 32 bytes of margin there. Each byte of slack costs two in the file (hex):
  // a licence's median must stay within 40 KB (issue 21) with the issuing CA in the CMS.
  std::size_t capacity = options.contents_capacity;
  if (capacity == 0) {
    const std::string zero32(32, '\0');
    const std::string max_sig(parts->max_sig, '\0');
    std::string token_bound;
    if (options.timestamper != nullptr) token_bound.assign(options.timestamper->max_token_size(), '\0');
    capacity = build_cms(zero32, signer, *parts, &max_sig, nullptr,
                         options.timestamper != nullptr ? &token_bound : nullptr)
                   .size() +
               (options.timestamper != nullptr ? 32 : 0);
  }
  up.set_signature(sig_ref, std::move(sig), capacity);
  pdf::Output out = up.write();
  const pdf::ByteRange br = pdf::fill_byte_range(out.pdf, *out.signature);
  const std::string digest = sha256(std::string_view(out.pdf).substr(0, br.a),
                                    std::string_view(out.pdf).substr(br.b, br.c));
  const std::string cms = build_cms(digest, signer, *parts, nullptr, options.timestamper);
  pdf::fill_contents(out.pdf, *out.signature, cms);
  return std::move(out.pdf);
}

}  // namespace libcert
