// ses.cpp — SM2/SM3 with the distinguishing ID, and the GB/T 38540 seal and signature structures
// (libcert/ses.h). The ASN.1 lives in OpenSSL templates (ses_asn1.h, implemented at the top).
#include "libcert/ses.h"

#include <openssl/asn1t.h>
#include <openssl/pem.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "ossl.h"
#include "ses_asn1.h"

// ---- the ASN.1 module (GB/T 38540-2020 §7.1 seal, §8.1 signature) --------------------------------
extern "C" {
ASN1_SEQUENCE(LC_SES_Header) = {
    ASN1_SIMPLE(LC_SES_Header, id, ASN1_IA5STRING),
    ASN1_SIMPLE(LC_SES_Header, version, ASN1_INTEGER),
    ASN1_SIMPLE(LC_SES_Header, vid, ASN1_IA5STRING),
} ASN1_SEQUENCE_END(LC_SES_Header)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_Header)

ASN1_SEQUENCE(LC_SES_ESPropertyInfo) = {
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, type, ASN1_INTEGER),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, name, ASN1_UTF8STRING),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, cert_list_type, ASN1_INTEGER),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, cert_list, ASN1_ANY),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, create_date, ASN1_GENERALIZEDTIME),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, valid_start, ASN1_GENERALIZEDTIME),
    ASN1_SIMPLE(LC_SES_ESPropertyInfo, valid_end, ASN1_GENERALIZEDTIME),
} ASN1_SEQUENCE_END(LC_SES_ESPropertyInfo)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_ESPropertyInfo)

ASN1_ITEM_TEMPLATE(LC_SES_CertInfoList) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, LC_SES_CertInfoList, ASN1_OCTET_STRING)
ASN1_ITEM_TEMPLATE_END(LC_SES_CertInfoList)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_CertInfoList)

ASN1_SEQUENCE(LC_SES_CertDigestObj) = {
    ASN1_SIMPLE(LC_SES_CertDigestObj, type, ASN1_PRINTABLESTRING),
    ASN1_SIMPLE(LC_SES_CertDigestObj, value, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(LC_SES_CertDigestObj)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_CertDigestObj)

ASN1_ITEM_TEMPLATE(LC_SES_CertDigestList) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, LC_SES_CertDigestList, LC_SES_CertDigestObj)
ASN1_ITEM_TEMPLATE_END(LC_SES_CertDigestList)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_CertDigestList)

ASN1_SEQUENCE(LC_SES_ESPictrueInfo) = {
    ASN1_SIMPLE(LC_SES_ESPictrueInfo, type, ASN1_IA5STRING),
    ASN1_SIMPLE(LC_SES_ESPictrueInfo, data, ASN1_OCTET_STRING),
    ASN1_SIMPLE(LC_SES_ESPictrueInfo, width, ASN1_INTEGER),
    ASN1_SIMPLE(LC_SES_ESPictrueInfo, height, ASN1_INTEGER),
} ASN1_SEQUENCE_END(LC_SES_ESPictrueInfo)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_ESPictrueInfo)

ASN1_SEQUENCE_enc(LC_SES_SealInfo, enc, 0) = {
    ASN1_SIMPLE(LC_SES_SealInfo, header, LC_SES_Header),
    ASN1_SIMPLE(LC_SES_SealInfo, es_id, ASN1_IA5STRING),
    ASN1_SIMPLE(LC_SES_SealInfo, property, LC_SES_ESPropertyInfo),
    ASN1_SIMPLE(LC_SES_SealInfo, picture, LC_SES_ESPictrueInfo),
    ASN1_OPT(LC_SES_SealInfo, ext_datas, ASN1_ANY),
} ASN1_SEQUENCE_END_enc(LC_SES_SealInfo, LC_SES_SealInfo)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_SealInfo)

ASN1_SEQUENCE_enc(LC_SESeal, enc, 0) = {
    ASN1_SIMPLE(LC_SESeal, seal_info, LC_SES_SealInfo),
    ASN1_SIMPLE(LC_SESeal, cert, ASN1_OCTET_STRING),
    ASN1_SIMPLE(LC_SESeal, sign_alg, ASN1_OBJECT),
    ASN1_SIMPLE(LC_SESeal, signed_value, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END_enc(LC_SESeal, LC_SESeal)
IMPLEMENT_ASN1_FUNCTIONS(LC_SESeal)

ASN1_SEQUENCE_enc(LC_TBS_Sign, enc, 0) = {
    ASN1_SIMPLE(LC_TBS_Sign, version, ASN1_INTEGER),
    ASN1_SIMPLE(LC_TBS_Sign, eseal, LC_SESeal),
    ASN1_SIMPLE(LC_TBS_Sign, time_info, ASN1_GENERALIZEDTIME),
    ASN1_SIMPLE(LC_TBS_Sign, data_hash, ASN1_BIT_STRING),
    ASN1_SIMPLE(LC_TBS_Sign, property_info, ASN1_IA5STRING),
    ASN1_EXP_OPT(LC_TBS_Sign, ext_datas, ASN1_ANY, 0),
} ASN1_SEQUENCE_END_enc(LC_TBS_Sign, LC_TBS_Sign)
IMPLEMENT_ASN1_FUNCTIONS(LC_TBS_Sign)

ASN1_SEQUENCE(LC_SES_Signature) = {
    ASN1_SIMPLE(LC_SES_Signature, to_sign, LC_TBS_Sign),
    ASN1_SIMPLE(LC_SES_Signature, cert, ASN1_OCTET_STRING),
    ASN1_SIMPLE(LC_SES_Signature, sign_alg, ASN1_OBJECT),
    ASN1_SIMPLE(LC_SES_Signature, signature, ASN1_BIT_STRING),
    ASN1_EXP_OPT(LC_SES_Signature, time_stamp, ASN1_BIT_STRING, 0),
} ASN1_SEQUENCE_END(LC_SES_Signature)
IMPLEMENT_ASN1_FUNCTIONS(LC_SES_Signature)
}  // extern "C"

namespace libcert {

namespace {

using SealInfoPtr = std::unique_ptr<LC_SES_SealInfo, ossl::Deleter<LC_SES_SealInfo_free>>;
using SealPtr = std::unique_ptr<LC_SESeal, ossl::Deleter<LC_SESeal_free>>;
using TbsPtr = std::unique_ptr<LC_TBS_Sign, ossl::Deleter<LC_TBS_Sign_free>>;
using SigPtr = std::unique_ptr<LC_SES_Signature, ossl::Deleter<LC_SES_Signature_free>>;
using CertListPtr = std::unique_ptr<LC_SES_CertInfoList, ossl::Deleter<LC_SES_CertInfoList_free>>;
using DigestListPtr =
    std::unique_ptr<LC_SES_CertDigestList, ossl::Deleter<LC_SES_CertDigestList_free>>;

constexpr std::size_t kMaxDer = 16u << 20;

[[noreturn]] void malformed(const std::string& what) {
  ERR_clear_error();
  throw Error(ErrorCode::kInvalidArgument, what);
}

const unsigned char* uc(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
std::string str(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}
std::string oid_text(const ASN1_OBJECT* o) {
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof buf, o, 1);
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf
             ? std::string(buf, static_cast<std::size_t>(n))
             : std::string();
}
// The encoding of one item (SEQUENCE_enc items re-encode to their cached original bytes).
template <typename T>
std::string der_of(T* obj, int (*i2d)(const T*, unsigned char**)) {
  unsigned char* out = nullptr;
  const int n = i2d(obj, &out);
  ossl::check(n > 0, "DER encoding");
  std::string s(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return s;
}
long small_int(const ASN1_INTEGER* i, const char* field) {
  if (i == nullptr) malformed(std::string(field) + ": missing");
  const long v = ASN1_INTEGER_get(i);
  if (v < 0 || v > 1000000) malformed(std::string(field) + ": out of range");
  return v;
}
bool is_ascii(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// GeneralizedTime <-> Unix seconds (UTC). Only the DER form YYYYMMDDHHMMSS[.f]Z is accepted
// (X.690 §11.7), which ASN1_TIME_to_tm checks.
std::int64_t to_unix(const ASN1_TIME* t, const char* field) {
  if (t == nullptr) malformed(std::string(field) + ": missing");
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) malformed(std::string(field) + ": not a valid time");
  return static_cast<std::int64_t>(timegm(&tm));
}
void set_str(ASN1_STRING* s, std::string_view v) {
  ossl::check(ASN1_STRING_set(s, v.data(), static_cast<int>(v.size())) == 1, "ASN1_STRING_set");
}
void set_int(ASN1_INTEGER* i, long v) { ossl::check(ASN1_INTEGER_set(i, v) == 1, "INTEGER"); }
void set_bits(ASN1_BIT_STRING* b, std::string_view v) {
  set_str(b, v);
  // No unused bits (DER: a whole number of octets). Clear the flag so OpenSSL does not trim.
  b->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  b->flags |= ASN1_STRING_FLAG_BITS_LEFT;
}
ASN1_OBJECT* sm2_oid() {
  ASN1_OBJECT* o = OBJ_txt2obj(std::string(kOidSm2WithSm3).c_str(), 1);
  ossl::check(o != nullptr, "OID");
  return o;
}

// The header version of the seal's first element: GB/T 38540 v4 and GM/T 0031-2014 share the
// header SEQUENCE { "ES", version, vid } as the first field of SES_SealInfo, which comes first
// in both SESeal layouts, so the version tells the layout before a full decode.
struct Probe {
  int version = -1;
  std::string vid, es_id;
};
// Reads the TLV header at p (OpenSSL's ASN1_get_object); returns the content span.
bool tlv(const unsigned char*& p, long& len, long avail, int& tag, int& cls) {
  // ASN1_get_object checks the length against `avail` (0x80: error); 0x21 = constructed with
  // indefinite length, which DER forbids.
  const unsigned char* q = p;
  const int r = ASN1_get_object(&q, &len, &tag, &cls, avail);
  if ((r & 0x80) != 0 || r == 0x21) {
    ERR_clear_error();
    return false;
  }
  p = q;
  return true;
}
Probe probe_header(std::string_view der, int depth) {
  // depth: how many leading SEQUENCEs to enter before the header (seal: 2, signature: 3).
  Probe pr;
  const unsigned char* p = uc(der);
  const unsigned char* end = p + der.size();
  long len = 0;
  int tag = 0, cls = 0;
  for (int d = 0; d < depth; ++d) {
    if (!tlv(p, len, end - p, tag, cls) || tag != V_ASN1_SEQUENCE) return pr;
    end = p + len;
  }
  // header SEQUENCE { IA5 id, INTEGER version, IA5 vid }
  std::unique_ptr<LC_SES_Header, ossl::Deleter<LC_SES_Header_free>> h(
      d2i_LC_SES_Header(nullptr, &p, end - p));
  if (!h) {
    ERR_clear_error();
    return pr;
  }
  pr.version = static_cast<int>(ASN1_INTEGER_get(h->version));
  pr.vid = str(h->vid);
  std::unique_ptr<ASN1_IA5STRING, ossl::Deleter<ASN1_IA5STRING_free>> esid(
      d2i_ASN1_IA5STRING(nullptr, &p, end - p));
  if (esid) pr.es_id = str(esid.get());
  ERR_clear_error();
  return pr;
}
std::string format_name(int version) {
  switch (version) {
    case 4:
      return "GB/T 38540-2020 v4";
    case 1:
    case 2:
    case 3:
      return "GM/T 0031-2014 v" + std::to_string(version);
    case 5:
      return "GM/T 0031-2025 v5";
    default:
      return "unknown (header version " + std::to_string(version) + ")";
  }
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void require_sm2(const Signer& s, const char* who) {
  if (s.algorithm() != SignatureAlgorithm::kSm2Sm3)
    throw Error(ErrorCode::kInvalidArgument,
                std::string(who) + ": GB/T 38540 seals are signed with SM2-with-SM3 only");
}
std::string sign_bytes(const Signer& s, std::string_view msg) {
  return s.sign_message(std::span(uc(msg), msg.size()));
}

ossl::X509Ptr parse_cert(std::string_view der) {
  const unsigned char* p = uc(der);
  ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c || p != uc(der) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return c;
}

}  // namespace

// ---- SM3 / SM2 --------------------------------------------------------------------------------

std::string sm3(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  ossl::check(EVP_Digest(data.data(), data.size(), md, &n, EVP_sm3(), nullptr) == 1, "SM3");
  return std::string(reinterpret_cast<const char*>(md), n);
}

bool sm2_verify(std::string_view cert_der, std::string_view message, std::string_view sig_der,
                std::string_view id) {
  ossl::X509Ptr cert = parse_cert(cert_der);
  if (!cert) return false;
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (pub == nullptr || !EVP_PKEY_is_a(pub, "SM2")) {
    ERR_clear_error();
    return false;
  }
  ossl::MdCtx md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  // The ID is set on the EVP_PKEY_CTX after init and before the first update; passing it as an
  // OSSL_PARAM to EVP_DigestVerifyInit_ex fails in OpenSSL 3.0 (docs/ofd.md "Pitfalls").
  bool ok = md && EVP_DigestVerifyInit_ex(md.get(), &pctx, "SM3", nullptr, nullptr, pub,
                                          nullptr) == 1;
  ok = ok && EVP_PKEY_CTX_set1_id(pctx, id.data(), static_cast<int>(id.size())) == 1;
  ok = ok && EVP_DigestVerify(md.get(), uc(sig_der), sig_der.size(), uc(message),
                              message.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string Signer::sign_message(std::span<const std::uint8_t>) const {
  throw Error(ErrorCode::kInvalidArgument,
              "sign_message: this signer signs SHA-256 digests (use sign); only SM2 signers "
              "sign messages");
}

struct Sm2PemSigner::Impl {
  ossl::PKey key;
  std::string cert;
  std::vector<std::string> chain;
};

Sm2PemSigner::Sm2PemSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sm2PemSigner::Sm2PemSigner(Sm2PemSigner&&) noexcept = default;
Sm2PemSigner& Sm2PemSigner::operator=(Sm2PemSigner&&) noexcept = default;
Sm2PemSigner::~Sm2PemSigner() = default;

Sm2PemSigner::Sm2PemSigner(const std::string& key_path, const std::string& cert_path,
                           const std::vector<std::string>& chain_paths) {
  std::string chain;
  for (const auto& p : chain_paths) chain += read_all(p) + "\n";
  *this = from_pem(read_all(key_path), read_all(cert_path), chain);
}

Sm2PemSigner Sm2PemSigner::from_pem(std::string_view key_pem, std::string_view cert_pem,
                                    std::string_view chain_pem) {
  auto impl = std::make_unique<Impl>();
  auto bio = [](std::string_view s) {
    ossl::Bio b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
    ossl::check(b != nullptr, "BIO_new_mem_buf");
    return b;
  };
  {
    ossl::Bio b = bio(key_pem);
    impl->key.reset(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    ossl::check(impl->key != nullptr, "SM2 key: not an unencrypted PEM private key");
  }
  // OpenSSL 3.0 loads a `genpkey -algorithm SM2` key as an SM2 key (no alias dance as in 1.1.1).
  if (!EVP_PKEY_is_a(impl->key.get(), "SM2"))
    throw Error(ErrorCode::kCrypto, "SM2 key: the key is not an SM2 key");
  ossl::X509Ptr cert;
  {
    ossl::Bio b = bio(cert_pem);
    cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    ossl::check(cert != nullptr, "SM2 certificate: not a PEM certificate");
  }
  ossl::check(X509_check_private_key(cert.get(), impl->key.get()) == 1,
              "SM2 key: does not match the certificate's public key");
  impl->cert = der_of<X509>(cert.get(), i2d_X509);
  if (!chain_pem.empty()) {
    ossl::Bio b = bio(chain_pem);
    for (;;) {
      ossl::X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
      if (!c) break;
      impl->chain.push_back(der_of<X509>(c.get(), i2d_X509));
    }
    ERR_clear_error();
  }
  return Sm2PemSigner(std::move(impl));
}

const std::string& Sm2PemSigner::certificate() const { return impl_->cert; }
const std::vector<std::string>& Sm2PemSigner::chain() const { return impl_->chain; }
SignatureAlgorithm Sm2PemSigner::algorithm() const { return SignatureAlgorithm::kSm2Sm3; }

std::string Sm2PemSigner::sign(std::span<const std::uint8_t>) const {
  throw Error(ErrorCode::kInvalidArgument,
              "sign: an SM2 signer signs messages (sign_message); the SM2 digest depends on the "
              "key and the distinguishing ID");
}

std::string Sm2PemSigner::sign_message(std::span<const std::uint8_t> message) const {
  // One context per call: the shared EVP_PKEY is only read (thread-safe).
  ossl::MdCtx md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  ossl::check(md != nullptr && EVP_DigestSignInit_ex(md.get(), &pctx, "SM3", nullptr, nullptr,
                                                     impl_->key.get(), nullptr) == 1,
              "SM2 sign: init");
  // GM/T 0009 §10 default ID, set explicitly: OpenSSL 3.0 would hash an empty ID otherwise.
  ossl::check(EVP_PKEY_CTX_set1_id(pctx, kSm2DefaultId.data(),
                                   static_cast<int>(kSm2DefaultId.size())) == 1,
              "SM2 sign: distinguishing ID");
  std::size_t len = 0;
  ossl::check(EVP_DigestSign(md.get(), nullptr, &len, message.data(), message.size()) == 1,
              "SM2 sign: size");
  std::string sig(len, '\0');
  ossl::check(EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                             message.data(), message.size()) == 1,
              "SM2 sign");
  sig.resize(len);
  return sig;
}

// ---- seal -------------------------------------------------------------------------------------

std::string make_ses_seal(const SesSealSpec& spec, const Signer& maker) {
  require_sm2(maker, "seal maker");
  auto bad = [](const std::string& m) { throw Error(ErrorCode::kInvalidArgument, m); };
  if (spec.es_id.empty() || !is_ascii(spec.es_id)) bad("seal: esID must be non-empty ASCII");
  if (spec.vid.empty() || !is_ascii(spec.vid)) bad("seal: vid must be non-empty ASCII");
  if (spec.name.empty()) bad("seal: name is empty");
  if (spec.signer_certs.empty()) bad("seal: the certificate list is empty");
  for (const auto& c : spec.signer_certs)
    if (!parse_cert(c)) bad("seal: a signer certificate is not a DER certificate");
  if (spec.picture.data.empty() || spec.picture.type.empty() || !is_ascii(spec.picture.type))
    bad("seal: picture type and data are required");
  if (spec.picture.width_mm < 1 || spec.picture.width_mm > 200 || spec.picture.height_mm < 1 ||
      spec.picture.height_mm > 200)
    bad("seal: picture size must be 1..200 mm");
  if (spec.valid_start > spec.valid_end) bad("seal: validStart is after validEnd");
  if (spec.type < 1 || spec.type > 100) bad("seal: type out of range");

  SealPtr seal(LC_SESeal_new());
  ossl::check(seal != nullptr, "SESeal_new");
  LC_SES_SealInfo* info = seal->seal_info;
  set_str(info->header->id, "ES");
  set_int(info->header->version, 4);
  set_str(info->header->vid, spec.vid);
  set_str(info->es_id, spec.es_id);
  LC_SES_ESPropertyInfo* prop = info->property;
  set_int(prop->type, spec.type);
  set_str(prop->name, spec.name);
  set_int(prop->cert_list_type, 1);
  {
    CertListPtr list(sk_ASN1_OCTET_STRING_new_null());
    ossl::check(list != nullptr, "cert list");
    for (const auto& c : spec.signer_certs) {
      ossl::Asn1OctetString o(ASN1_OCTET_STRING_new());
      ossl::check(o != nullptr, "OCTET STRING");
      set_str(o.get(), c);
      ossl::check(sk_ASN1_OCTET_STRING_push(list.get(), o.get()) > 0, "cert list push");
      o.release();
    }
    const std::string der = der_of<LC_SES_CertInfoList>(list.get(), i2d_LC_SES_CertInfoList);
    const unsigned char* p = uc(der);
    ASN1_TYPE* any = d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(der.size()));
    ossl::check(any != nullptr, "cert list as ANY");
    ASN1_TYPE_free(prop->cert_list);
    prop->cert_list = any;
  }
  ossl::check(ASN1_GENERALIZEDTIME_set(prop->create_date, static_cast<time_t>(spec.create_date)) &&
                  ASN1_GENERALIZEDTIME_set(prop->valid_start,
                                           static_cast<time_t>(spec.valid_start)) &&
                  ASN1_GENERALIZEDTIME_set(prop->valid_end, static_cast<time_t>(spec.valid_end)),
              "seal dates");
  set_str(info->picture->type, spec.picture.type);
  set_str(info->picture->data, spec.picture.data);
  set_int(info->picture->width, spec.picture.width_mm);
  set_int(info->picture->height, spec.picture.height_mm);

  // GB/T 38540 §7.2: the maker signs DER(SES_SealInfo) (confirmed on tax and ofdrw seals).
  const std::string info_der = der_of<LC_SES_SealInfo>(info, i2d_LC_SES_SealInfo);
  const std::string sig = sign_bytes(maker, info_der);
  set_str(seal->cert, maker.certificate());
  ASN1_OBJECT_free(seal->sign_alg);
  seal->sign_alg = sm2_oid();
  set_bits(seal->signed_value, sig);
  return der_of<LC_SESeal>(seal.get(), i2d_LC_SESeal);
}

SesSeal parse_ses_seal(std::string_view der) {
  if (der.size() > kMaxDer) throw Error(ErrorCode::kLimitExceeded, "seal: larger than 16 MiB");
  SesSeal out;
  const Probe pr = probe_header(der, 2);
  if (pr.version < 0) malformed("seal: not a DER SESeal (no header SEQUENCE {\"ES\", version, vid})");
  out.version = pr.version;
  out.format = format_name(pr.version);
  out.vid = pr.vid;
  out.es_id = pr.es_id;
  if (pr.version != 4) return out;  // a GM/T 0031 layout: recognised, not decoded further

  const unsigned char* p = uc(der);
  SealPtr s(d2i_LC_SESeal(nullptr, &p, static_cast<long>(der.size())));
  if (!s) malformed("seal: not a DER SESeal v4 (GB/T 38540 §7.1): " + ossl::drain_errors());
  if (p != uc(der) + der.size()) malformed("seal: trailing bytes after the SESeal");
  const LC_SES_SealInfo* info = s->seal_info;
  if (str(info->header->id) != "ES") malformed("seal: header ID is not \"ES\"");
  const LC_SES_ESPropertyInfo* prop = info->property;
  out.type = static_cast<int>(small_int(prop->type, "seal: property.type"));
  out.name = str(prop->name);
  out.cert_list_type = static_cast<int>(small_int(prop->cert_list_type, "seal: certListType"));
  {
    // The CHOICE alternative by certListType (GB/T 38540 §7.1, SES_CertList).
    unsigned char* raw = nullptr;
    const int n = i2d_ASN1_TYPE(prop->cert_list, &raw);
    if (n <= 0) malformed("seal: certList unreadable");
    const std::string list_der(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(n));
    OPENSSL_free(raw);
    const unsigned char* q = uc(list_der);
    if (out.cert_list_type == 1) {
      CertListPtr list(d2i_LC_SES_CertInfoList(nullptr, &q, n));
      if (!list) malformed("seal: certList is not a SEQUENCE OF OCTET STRING");
      for (int i = 0; i < sk_ASN1_OCTET_STRING_num(list.get()); ++i)
        out.certs.push_back(str(sk_ASN1_OCTET_STRING_value(list.get(), i)));
    } else if (out.cert_list_type == 2) {
      DigestListPtr list(d2i_LC_SES_CertDigestList(nullptr, &q, n));
      if (!list) malformed("seal: certDigestList is not a SEQUENCE OF CertDigestObj");
      for (int i = 0; i < sk_LC_SES_CertDigestObj_num(list.get()); ++i) {
        const LC_SES_CertDigestObj* o = sk_LC_SES_CertDigestObj_value(list.get(), i);
        out.cert_digests.emplace_back(str(o->type), str(o->value));
      }
    } else {
      malformed("seal: certListType " + std::to_string(out.cert_list_type) + " is not 1 or 2");
    }
  }
  out.create_date = to_unix(prop->create_date, "seal: createDate");
  out.valid_start = to_unix(prop->valid_start, "seal: validStart");
  out.valid_end = to_unix(prop->valid_end, "seal: validEnd");
  out.picture.type = str(info->picture->type);
  out.picture.data = str(info->picture->data);
  out.picture.width_mm = static_cast<int>(small_int(info->picture->width, "seal: picture.width"));
  out.picture.height_mm =
      static_cast<int>(small_int(info->picture->height, "seal: picture.height"));
  out.seal_info_der = der_of<LC_SES_SealInfo>(s->seal_info, i2d_LC_SES_SealInfo);
  out.maker_cert = str(s->cert);
  out.sign_alg = oid_text(s->sign_alg);
  out.maker_signature = str(s->signed_value);
  return out;
}

// ---- signature --------------------------------------------------------------------------------

std::string make_ses_signature(std::string_view seal_der, std::int64_t time,
                               std::string_view data_hash, std::string_view property_info,
                               const Signer& signer) {
  require_sm2(signer, "signer");
  if (data_hash.size() != 32)
    throw Error(ErrorCode::kInvalidArgument, "signature: dataHash must be 32 bytes (SM3)");
  if (property_info.empty() || !is_ascii(property_info))
    throw Error(ErrorCode::kInvalidArgument, "signature: propertyInfo must be non-empty ASCII");
  const unsigned char* p = uc(seal_der);
  SealPtr seal(d2i_LC_SESeal(nullptr, &p, static_cast<long>(seal_der.size())));
  if (!seal || p != uc(seal_der) + seal_der.size())
    malformed("signature: the seal is not a DER SESeal v4");

  SigPtr sig(LC_SES_Signature_new());
  ossl::check(sig != nullptr, "SES_Signature_new");
  LC_TBS_Sign* tbs = sig->to_sign;
  set_int(tbs->version, 4);
  LC_SESeal_free(tbs->eseal);
  tbs->eseal = seal.release();  // keeps its original encoding (SEQUENCE_enc)
  ossl::check(ASN1_GENERALIZEDTIME_set(tbs->time_info, static_cast<time_t>(time)) != nullptr,
              "timeInfo");
  set_bits(tbs->data_hash, data_hash);
  set_str(tbs->property_info, property_info);
  // GB/T 38540 §8.2: the signer signs DER(TBS_Sign).
  const std::string tbs_der = der_of<LC_TBS_Sign>(tbs, i2d_LC_TBS_Sign);
  const std::string value = sign_bytes(signer, tbs_der);
  set_str(sig->cert, signer.certificate());
  ASN1_OBJECT_free(sig->sign_alg);
  sig->sign_alg = sm2_oid();
  set_bits(sig->signature, value);
  return der_of<LC_SES_Signature>(sig.get(), i2d_LC_SES_Signature);
}

SesSignature parse_ses_signature(std::string_view der) {
  if (der.size() > kMaxDer)
    throw Error(ErrorCode::kLimitExceeded, "signature: larger than 16 MiB");
  SesSignature out;
  // TBS_Sign starts with INTEGER version in both v4 and GM/T 0031 (where TBS_Sign is nested one
  // level deeper only in naming): read it before a full decode.
  {
    const unsigned char* q = uc(der);
    const unsigned char* end = q + der.size();
    long len = 0;
    int tag = 0, cls = 0;
    if (!tlv(q, len, end - q, tag, cls) || tag != V_ASN1_SEQUENCE)
      malformed("signature: not a DER SEQUENCE");
    end = q + len;
    if (!tlv(q, len, end - q, tag, cls) || tag != V_ASN1_SEQUENCE)
      malformed("signature: toSign is not a SEQUENCE");
    end = q + len;
    std::unique_ptr<ASN1_INTEGER, ossl::Deleter<ASN1_INTEGER_free>> v(
        d2i_ASN1_INTEGER(nullptr, &q, end - q));
    if (!v) malformed("signature: toSign.version is not an INTEGER");
    out.version = static_cast<int>(ASN1_INTEGER_get(v.get()));
    out.format = format_name(out.version);
  }
  if (out.version != 4) return out;
  const unsigned char* p = uc(der);
  SigPtr s(d2i_LC_SES_Signature(nullptr, &p, static_cast<long>(der.size())));
  if (!s) malformed("signature: not a DER SES_Signature v4 (GB/T 38540 §8.1): " +
                    ossl::drain_errors());
  if (p != uc(der) + der.size()) malformed("signature: trailing bytes after SES_Signature");
  out.tbs_der = der_of<LC_TBS_Sign>(s->to_sign, i2d_LC_TBS_Sign);
  out.seal_der = der_of<LC_SESeal>(s->to_sign->eseal, i2d_LC_SESeal);
  out.time = to_unix(s->to_sign->time_info, "signature: timeInfo");
  out.data_hash = str(s->to_sign->data_hash);
  out.property_info = str(s->to_sign->property_info);
  out.signer_cert = str(s->cert);
  out.sign_alg = oid_text(s->sign_alg);
  out.signature = str(s->signature);
  out.has_timestamp = s->time_stamp != nullptr;
  return out;
}

}  // namespace libcert
