// Unit tests of PAdES sealing (libcert/sign.h): structure of the incremental update, the CMS
// (parsed and verified with OpenSSL, not with our own code), DocMDP rules, errors.
#include "libcert/sign.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "libcert/error.h"
#include "libcert/pdf.h"
#include "ossl.h"
#include "support/process.h"
#include "support/test_pdf.h"

namespace pdf = libcert::pdf;
using libcert::Error;
using libcert::ErrorCode;

namespace {

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kJune2025 = 1748736000;  // 2025-06-01T00:00:00Z

libcert::PemFileSigner seal_of(const std::string& dept) {
  return {kKeys + "/seals/" + dept + "/seal.key", kKeys + "/seals/" + dept + "/seal.crt"};
}

libcert::SealOptions options(const libcert::Clock& clock) {
  libcert::SealOptions o;
  o.clock = &clock;
  o.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
            testsupport::kSealSize};
  o.reason = "电子证照签章";
  o.location = "阿里地区";
  return o;
}

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no libcert::Error thrown";
  return ErrorCode::kInternal;
}

struct SigInfo {
  pdf::Ref ref;
  pdf::Dict dict;
  std::size_t a = 0, b = 0, c = 0;
  std::string cms;
  std::string signed_bytes;
};

// The signature dictionary referenced by field `index` of the AcroForm, with its ranges.
SigInfo signature(const pdf::Document& doc, std::size_t index) {
  const pdf::Dict af = *doc.acroform();
  const pdf::Object field = doc.resolve(af.get("Fields")->as_array().at(index));
  SigInfo s;
  s.ref = field.as_dict().get("V")->as_ref();
  s.dict = doc.object(s.ref).as_dict();
  const pdf::Array& br = s.dict.get("ByteRange")->as_array();
  EXPECT_EQ(br.size(), 4U);
  EXPECT_EQ(br[0].as_int(), 0);
  s.a = static_cast<std::size_t>(br[1].as_int());
  s.b = static_cast<std::size_t>(br[2].as_int());
  s.c = static_cast<std::size_t>(br[3].as_int());
  s.cms = s.dict.get("Contents")->as_string().bytes;
  s.signed_bytes =
      std::string(doc.bytes().substr(0, s.a)) + std::string(doc.bytes().substr(s.b, s.c));
  return s;
}

libcert::ossl::Cms parse_cms(const std::string& der) {
  // /Contents is zero-padded after the DER: d2i reads exactly one structure.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  libcert::ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_NE(cms, nullptr) << libcert::ossl::drain_errors();
  return cms;
}

libcert::ossl::X509Ptr load_cert(const std::string& path) {
  libcert::ossl::Bio b(BIO_new_file(path.c_str(), "r"));
  return libcert::ossl::X509Ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

// Verifies the CMS over `content` against keys-example's root with OpenSSL's CMS_verify.
bool openssl_verifies(CMS_ContentInfo* cms, const std::string& content) {
  libcert::ossl::X509Store store(X509_STORE_new());
  auto root = load_cert(kKeys + "/root/root.crt");
  X509_STORE_add_cert(store.get(), root.get());
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), kJune2025);
  libcert::ossl::Bio data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  const int ok =
      CMS_verify(cms, nullptr, store.get(), data.get(), nullptr, CMS_BINARY | CMS_DETACHED);
  if (ok != 1) ADD_FAILURE() << libcert::ossl::drain_errors();
  return ok == 1;
}

std::string sha256(const std::string& s) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return {reinterpret_cast<const char*>(md), 32};
}

}  // namespace

TEST(Seal, CertificationSignatureStructure) {
  const std::string unsigned_pdf = testsupport::make_cairo_pdf();
  libcert::FixedClock clock(kJune2025);
  const auto signer = seal_of("samr");
  const std::string sealed = libcert::seal_pdf(unsigned_pdf, signer, options(clock));

  EXPECT_EQ(sealed.substr(0, unsigned_pdf.size()), unsigned_pdf);  // incremental, prefix kept
  const pdf::Document doc = pdf::Document::open(sealed);
  ASSERT_EQ(doc.revisions().size(), 2U);
  EXPECT_FALSE(doc.revisions()[1].xref_stream);

  const SigInfo s = signature(doc, 0);
  EXPECT_TRUE(s.dict.get("Type")->is_name("Sig"));
  EXPECT_TRUE(s.dict.get("Filter")->is_name("Adobe.PPKLite"));
  EXPECT_TRUE(s.dict.get("SubFilter")->is_name("ETSI.CAdES.detached"));
  EXPECT_EQ(s.dict.get("M")->as_string().bytes, "D:20250601000000Z");
  // /Name defaults to the certificate CN, written as UTF-16BE with BOM.
  EXPECT_EQ(s.dict.get("Name")->as_string().bytes.substr(0, 4), "\xFE\xFF\x96\x3F");    // 阿
  EXPECT_EQ(s.dict.get("Reason")->as_string().bytes.substr(0, 4), "\xFE\xFF\x75\x35");  // 电
  // ByteRange [0 a b c]: gap is exactly the /Contents hex string, b + c = end of file.
  EXPECT_EQ(sealed[s.a], '<');
  EXPECT_EQ(sealed[s.b - 1], '>');
  EXPECT_EQ(s.dict.get("Contents")->pos, s.a);
  EXPECT_EQ(s.dict.get("Contents")->end, s.b);
  EXPECT_EQ(s.b + s.c, sealed.size());
  // DocMDP P=1 certification (§12.8.2.2).
  const pdf::Dict& ref = s.dict.get("Reference")->as_array().at(0).as_dict();
  EXPECT_TRUE(ref.get("TransformMethod")->is_name("DocMDP"));
  EXPECT_EQ(ref.get("TransformParams")->as_dict().get("P")->as_int(), 1);
  EXPECT_TRUE(ref.get("TransformParams")->as_dict().get("V")->is_name("1.2"));
  const pdf::Dict cat = doc.catalog();
  EXPECT_EQ(cat.get("Perms")->as_dict().get("DocMDP")->as_ref(), s.ref);
  // Field + widget on page 1, in /Annots and /AcroForm.
  const pdf::Dict af = *doc.acroform();
  EXPECT_EQ(af.get("SigFlags")->as_int(), 3);
  const pdf::Ref field_ref = af.get("Fields")->as_array().at(0).as_ref();
  const pdf::Dict field = doc.object(field_ref).as_dict();
  EXPECT_TRUE(field.get("FT")->is_name("Sig"));
  EXPECT_TRUE(field.get("Subtype")->is_name("Widget"));
  EXPECT_EQ(field.get("T")->as_string().bytes, "Seal1");
  EXPECT_EQ(field.get("F")->as_int(), 4);
  EXPECT_EQ(field.get("P")->as_ref(), doc.page_ref(0));
  const pdf::Array& rect = field.get("Rect")->as_array();
  EXPECT_DOUBLE_EQ(rect[0].as_number(), testsupport::kSealX);
  EXPECT_DOUBLE_EQ(rect[3].as_number(), testsupport::kSealY + testsupport::kSealSize);
  EXPECT_TRUE(
      doc.resolve(field.get("AP")->as_dict().get("N")).as_dict().get("Subtype")->is_name("Form"));
  const pdf::Array annots =
      doc.resolve(doc.object(doc.page_ref(0)).as_dict().get("Annots")).as_array();
  EXPECT_NE(std::find(annots.begin(), annots.end(), pdf::Object(field_ref)), annots.end());
}

TEST(Seal, CmsHasPadesAttributesAndVerifiesWithOpenSsl) {
  libcert::FixedClock clock(kJune2025);
  const auto signer = seal_of("samr");
  const std::string sealed =
      libcert::seal_pdf(testsupport::make_cairo_pdf(), signer, options(clock));
  const pdf::Document doc = pdf::Document::open(sealed);
  const SigInfo s = signature(doc, 0);
  auto cms = parse_cms(s.cms);
  ASSERT_NE(cms, nullptr);
  EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
  EXPECT_EQ(CMS_is_detached(cms.get()), 1);
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  ASSERT_EQ(sk_CMS_SignerInfo_num(sis), 1);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
  EXPECT_EQ(CMS_signed_get_attr_count(si), 3);
  // No signingTime (1.2.840.113549.1.9.5), no SMIMECapabilities.
  EXPECT_EQ(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1), -1);
  EXPECT_EQ(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1), -1);
  // signing-certificate-v2 (1.2.840.113549.1.9.16.2.47) holding SHA-256 of the signer cert.
  libcert::ossl::Asn1Object v2oid(OBJ_txt2obj("1.2.840.113549.1.9.16.2.47", 1));
  const int v2 = CMS_signed_get_attr_by_OBJ(si, v2oid.get(), -1);
  ASSERT_GE(v2, 0);
  const ASN1_TYPE* v2val = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, v2), 0);
  ASSERT_EQ(v2val->type, V_ASN1_SEQUENCE);
  const std::string v2der(reinterpret_cast<const char*>(v2val->value.sequence->data),
                          static_cast<std::size_t>(v2val->value.sequence->length));
  EXPECT_NE(v2der.find(sha256(signer.certificate())), std::string::npos);
  // message-digest = SHA-256 of the two signed byte ranges.
  const int md = CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1);
  ASSERT_GE(md, 0);
  const ASN1_TYPE* mdval = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, md), 0);
  ASSERT_EQ(mdval->type, V_ASN1_OCTET_STRING);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(mdval->value.octet_string->data),
                        static_cast<std::size_t>(mdval->value.octet_string->length)),
            sha256(s.signed_bytes));
  EXPECT_GE(CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1), 0);
  // Signer identified by issuer + serial; certificates = the signer's, then the issuing CA's
  // (seal.crt is a full chain), never the root (docs/crl.md).
  libcert::ossl::X509Stack certs(CMS_get1_certs(cms.get()));
  ASSERT_EQ(sk_X509_num(certs.get()), 2);
  // (CertificateSet is a SET OF: its DER order is by encoding, not by role.)
  auto seal_crt = load_cert(kKeys + "/seals/samr/seal.crt");
  auto ca_crt = load_cert(kKeys + "/ca/issuing-ca.crt");
  const bool seal_first = X509_cmp(sk_X509_value(certs.get(), 0), seal_crt.get()) == 0;
  EXPECT_EQ(X509_cmp(sk_X509_value(certs.get(), seal_first ? 0 : 1), seal_crt.get()), 0);
  EXPECT_EQ(X509_cmp(sk_X509_value(certs.get(), seal_first ? 1 : 0), ca_crt.get()), 0);
  EXPECT_EQ(X509_check_issued(ca_crt.get(), seal_crt.get()), X509_V_OK);
  EXPECT_EQ(CMS_SignerInfo_cert_cmp(si, seal_crt.get()), 0);
  ASN1_OCTET_STRING* keyid = nullptr;
  X509_NAME* issuer = nullptr;
  ASN1_INTEGER* serial = nullptr;
  ASSERT_EQ(CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial), 1);
  EXPECT_EQ(keyid, nullptr);
  EXPECT_NE(issuer, nullptr);
  EXPECT_TRUE(openssl_verifies(cms.get(), s.signed_bytes));
  // A flipped byte inside the signed range breaks it.
  std::string tampered = s.signed_bytes;
  tampered[100] ^= 1;
  auto cms2 = parse_cms(s.cms);
  libcert::ossl::X509Store store(X509_STORE_new());
  auto root = load_cert(kKeys + "/root/root.crt");
  X509_STORE_add_cert(store.get(), root.get());
  libcert::ossl::Bio data(BIO_new_mem_buf(tampered.data(), static_cast<int>(tampered.size())));
  EXPECT_NE(
      CMS_verify(cms2.get(), nullptr, store.get(), data.get(), nullptr, CMS_BINARY | CMS_DETACHED),
      1);
  libcert::ossl::drain_errors();
}

TEST(Seal, SecondSealKeepsFirstRevisionAndBothVerify) {
  libcert::FixedClock clock(kJune2025);
  const std::string unsigned_pdf = testsupport::make_cairo_pdf();
  auto o1 = options(clock);
  o1.docmdp_p = 2;  // more seals follow
  const std::string once = libcert::seal_pdf(unsigned_pdf, seal_of("samr"), o1);
  auto o2 = options(clock);
  o2.kind = libcert::SealKind::kApproval;
  o2.rect = {100, 90.5, 119, 119};
  const std::string twice = libcert::seal_pdf(once, seal_of("approval"), o2);

  EXPECT_EQ(twice.substr(0, once.size()), once);
  const pdf::Document doc = pdf::Document::open(twice);
  ASSERT_EQ(doc.revisions().size(), 3U);
  EXPECT_EQ(doc.revisions()[1].end, once.size());
  const SigInfo first = signature(doc, 0);
  const SigInfo second = signature(doc, 1);
  EXPECT_EQ(first.b + first.c, once.size());  // covers an earlier revision
  EXPECT_EQ(second.b + second.c, twice.size());
  EXPECT_FALSE(second.dict.has("Reference"));  // approval: no DocMDP
  EXPECT_EQ(doc.object(doc.acroform()->get("Fields")->as_array()[1].as_ref())
                .as_dict()
                .get("T")
                ->as_string()
                .bytes,
            "Seal2");
  auto c1 = parse_cms(first.cms);
  auto c2 = parse_cms(second.cms);
  EXPECT_TRUE(openssl_verifies(c1.get(), first.signed_bytes));
  EXPECT_TRUE(openssl_verifies(c2.get(), second.signed_bytes));
  EXPECT_EQ(doc.catalog().get("Perms")->as_dict().get("DocMDP")->as_ref(), first.ref);  // unchanged
}

TEST(Seal, OutputIsStableExceptTheSignatureValue) {
  libcert::FixedClock clock(kJune2025);
  const std::string in = testsupport::make_cairo_pdf();
  const auto signer = seal_of("health");
  const std::string a = libcert::seal_pdf(in, signer, options(clock));
  const std::string b = libcert::seal_pdf(in, signer, options(clock));
  ASSERT_EQ(a.size(), b.size());
  const SigInfo sa = signature(pdf::Document::open(a), 0);
  EXPECT_EQ(a.substr(0, sa.a), b.substr(0, sa.a));
  EXPECT_EQ(a.substr(sa.b), b.substr(sa.b));
}

// The /Contents reservation (sign.cpp "Placeholder") is the CMS measured with the key's largest
// signature and nothing more: ECDSA P-256 signatures are 70-72 bytes of DER (72 when both r and
// s have their top bit set, one in four), so in 64 seals every CMS fits and the largest fills the
// reservation exactly (a chance of (3/4)^64 ~ 1e-8 that none is 72 bytes).
TEST(Seal, PlaceholderIsTheLargestCms) {
  libcert::FixedClock clock(kJune2025);
  const std::string in = testsupport::make_cairo_pdf();
  const auto signer = seal_of("health");
  std::size_t capacity = 0, largest = 0, smallest = SIZE_MAX;
  for (int i = 0; i < 64; ++i) {
    const std::string sealed = libcert::seal_pdf(in, signer, options(clock));
    const SigInfo s = signature(pdf::Document::open(sealed), 0);
    const std::size_t cap = (s.b - s.a - 2) / 2;  // the hex string's bytes without < >
    if (i == 0) capacity = cap;
    ASSERT_EQ(cap, capacity) << "the reservation depends on the key, not on the signature";
    ASSERT_EQ(s.cms.size(), capacity);
    // The DER's own length (X.690 §8.1.3: 30 82 hh ll for these sizes); zeros after it.
    ASSERT_EQ(static_cast<unsigned char>(s.cms[0]), 0x30);
    ASSERT_EQ(static_cast<unsigned char>(s.cms[1]), 0x82);
    const std::size_t der = 4 + (std::size_t{static_cast<unsigned char>(s.cms[2])} << 8 |
                                 std::size_t{static_cast<unsigned char>(s.cms[3])});
    ASSERT_LE(der, capacity);
    EXPECT_EQ(s.cms.find_first_not_of('\0', der), std::string::npos);
    largest = std::max(largest, der);
    smallest = std::min(smallest, der);
  }
  EXPECT_EQ(largest, capacity) << "a margin the largest signature does not need";
  std::printf("CMS %zu-%zu bytes in a reservation of %zu\n", smallest, largest, capacity);
}

TEST(Seal, RejectsBadRequestsWithSpecificCodes) {
  libcert::FixedClock clock(kJune2025);
  const std::string in = testsupport::make_cairo_pdf();
  const auto signer = seal_of("samr");
  {
    libcert::SealOptions o = options(clock);
    o.clock = nullptr;
    EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(in, signer, o); }),
              ErrorCode::kInvalidArgument);
  }
  {
    libcert::SealOptions o = options(clock);
    o.page = 1;
    EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(in, signer, o); }),
              ErrorCode::kInvalidArgument);
  }
  {
    libcert::SealOptions o = options(clock);
    o.docmdp_p = 4;
    EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(in, signer, o); }),
              ErrorCode::kInvalidArgument);
  }
  const std::string certified = libcert::seal_pdf(in, signer, options(clock));  // P=1
  {
    libcert::SealOptions o = options(clock);
    o.kind = libcert::SealKind::kApproval;
    EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(certified, signer, o); }),
              ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(certified, signer, options(clock)); }),
            ErrorCode::kInvalidArgument);  // second certification
  {
    libcert::SealOptions o = options(clock);
    o.kind = libcert::SealKind::kApproval;
    const std::string approved = libcert::seal_pdf(in, signer, o);
    o.field_name = "Seal1";
    EXPECT_EQ(code_of([&] { (void)libcert::seal_pdf(approved, signer, o); }),
              ErrorCode::kInvalidArgument);  // duplicate field name
  }
  EXPECT_EQ(
      code_of([&] { (void)libcert::seal_pdf("%PDF-1.7\nnot a pdf", signer, options(clock)); }),
      ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([&] {
              (void)libcert::PemFileSigner(kKeys + "/seals/samr/seal.key",
                                           kKeys + "/seals/health/seal.crt");
            }),
            ErrorCode::kCrypto);  // key does not match certificate
  EXPECT_EQ(code_of([&] {
              (void)libcert::PemFileSigner(kKeys + "/seals/nope/seal.key",
                                           kKeys + "/seals/samr/seal.crt");
            }),
            ErrorCode::kIo);
  const std::uint8_t short_digest[5] = {};
  EXPECT_EQ(code_of([&] { (void)signer.sign(short_digest); }), ErrorCode::kInvalidArgument);
}

TEST(Seal, RsaSignerProducesVerifiableCms) {
  // An RSA-3072 seal made here with the openssl CLI, issued by the example root.
  testsupport::TempDir dir;
  const std::string d = testsupport::shell_quote(dir.path().string());
  const std::string k = testsupport::shell_quote(kKeys);
  const auto r = testsupport::run(
      "cd " + d +
      " && openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.key &&"
      " openssl req -new -key rsa.key -subj /CN=rsa-seal -out rsa.csr &&"
      " openssl x509 -req -in rsa.csr -CA " +
      k + "/root/root.crt -CAkey " + k + "/root/root.key -set_serial 77 -days 3650 -out rsa.crt");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  libcert::PemFileSigner rsa((dir / "rsa.key").string(), (dir / "rsa.crt").string());
  EXPECT_EQ(rsa.algorithm(), libcert::SignatureAlgorithm::kRsaSha256);
  libcert::FixedClock clock(kJune2025);
  libcert::SealOptions o = options(clock);
  const std::string sealed = libcert::seal_pdf(testsupport::make_cairo_pdf(), rsa, o);
  const SigInfo s = signature(pdf::Document::open(sealed), 0);
  auto cms = parse_cms(s.cms);
  libcert::ossl::X509Store store(X509_STORE_new());
  auto root = load_cert(kKeys + "/root/root.crt");
  X509_STORE_add_cert(store.get(), root.get());
  libcert::ossl::Bio data(
      BIO_new_mem_buf(s.signed_bytes.data(), static_cast<int>(s.signed_bytes.size())));
  EXPECT_EQ(
      CMS_verify(cms.get(), nullptr, store.get(), data.get(), nullptr, CMS_BINARY | CMS_DETACHED),
      1)
      << libcert::ossl::drain_errors();
}

// Issue 21: the CMS parts a Signer derives from its certificate are built once and reused by
// every seal (from many threads), and a Signer given another key by assignment seals with that
// key's certificate, not with the parts of the one it had.
TEST(Seal, CmsPartsAreDerivedOncePerSignerAndFollowAssignment) {
  libcert::FixedClock clock(kJune2025);
  libcert::PemFileSigner signer = seal_of("samr");
  const auto first = signer.cms_parts();
  EXPECT_EQ(signer.cms_parts().get(), first.get());

  // Sealed concurrently with one Signer: every CMS verifies and names the samr seal.
  const std::string in = testsupport::make_cairo_pdf();
  std::vector<std::string> out(8);
  {
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < out.size(); ++i)
      pool.emplace_back([&, i] { out[i] = libcert::seal_pdf(in, signer, options(clock)); });
    for (auto& t : pool) t.join();
  }
  auto samr = load_cert(kKeys + "/seals/samr/seal.crt");
  for (const auto& sealed : out) {
    const SigInfo s = signature(pdf::Document::open(sealed), 0);
    auto cms = parse_cms(s.cms);
    ASSERT_NE(cms, nullptr);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    EXPECT_EQ(CMS_SignerInfo_cert_cmp(si, samr.get()), 0);
    EXPECT_TRUE(openssl_verifies(cms.get(), s.signed_bytes));
  }
  EXPECT_EQ(signer.cms_parts().get(), first.get());

  // Reassigned to the health department's key: its certificate identifies the signer and its
  // hash is in signing-certificate-v2.
  signer = seal_of("health");
  EXPECT_NE(signer.cms_parts().get(), first.get());
  const std::string sealed = libcert::seal_pdf(in, signer, options(clock));
  const SigInfo s = signature(pdf::Document::open(sealed), 0);
  auto cms = parse_cms(s.cms);
  ASSERT_NE(cms, nullptr);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  auto health = load_cert(kKeys + "/seals/health/seal.crt");
  EXPECT_EQ(CMS_SignerInfo_cert_cmp(si, health.get()), 0);
  EXPECT_NE(s.cms.find(sha256(signer.certificate())), std::string::npos);
  EXPECT_EQ(s.cms.find(sha256(seal_of("samr").certificate())), std::string::npos);
  EXPECT_TRUE(openssl_verifies(cms.get(), s.signed_bytes));
}
