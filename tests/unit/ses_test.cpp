// GB/T 38540 seals and SM2 with the distinguishing ID (libcert/ses.h).
#include "libcert/ses.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "libcert/roles.h"

namespace {

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/sm2";

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

libcert::Sm2PemSigner maker() {
  return {kKeys + "/maker/maker.key", kKeys + "/maker/maker.crt"};
}
libcert::Sm2PemSigner seal_signer(const std::string& dept) {
  return {kKeys + "/seals/" + dept + "/seal.key", kKeys + "/seals/" + dept + "/seal.crt"};
}

libcert::SesSealSpec spec_for(const libcert::Signer& s) {
  libcert::SesSealSpec spec;
  spec.es_id = "54250000000001";
  spec.name = "阿里地区市场监督管理局电子证照专用章";
  spec.signer_certs = {s.certificate()};
  spec.picture = {"PNG", std::string("\x89PNG\r\n\x1a\n fake picture", 22), 42, 42};
  spec.create_date = spec.valid_start = 1735689600;  // 2025-01-01
  spec.valid_end = 1924991999;                       // 2030-12-31
  return spec;
}

// Signs with OpenSSL directly WITHOUT setting the ID: what a careless implementation does.
std::string sign_without_id(const std::string& key_path, std::string_view msg) {
  FILE* f = fopen(key_path.c_str(), "r");
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestSignInit_ex(md, nullptr, "SM3", nullptr, nullptr, k, nullptr);
  std::size_t len = 0;
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(msg.data()),
                 msg.size());
  std::string sig(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  sig.resize(len);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(k);
  return sig;
}

TEST(Sm3, KnownAnswerGbT32905) {
  // GB/T 32905-2016 Appendix A.1: SM3("abc").
  EXPECT_EQ(hex(libcert::sm3("abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(Sm2, SignsAndVerifiesWithTheDistinguishingId) {
  const auto s = seal_signer("samr");
  EXPECT_EQ(s.algorithm(), libcert::SignatureAlgorithm::kSm2Sm3);
  const std::string msg = "licence bytes";
  const std::string sig =
      s.sign_message(std::span(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
  EXPECT_TRUE(libcert::sm2_verify(s.certificate(), msg, sig));
  EXPECT_FALSE(libcert::sm2_verify(s.certificate(), msg + "x", sig));
  // The same signature does not verify with the empty ID OpenSSL would use by default.
  EXPECT_FALSE(libcert::sm2_verify(s.certificate(), msg, sig, ""));
}

TEST(Sm2, ASignatureMadeWithoutTheIdDoesNotVerify) {
  const auto s = seal_signer("samr");
  const std::string msg = "licence bytes";
  const std::string bad = sign_without_id(kKeys + "/seals/samr/seal.key", msg);
  EXPECT_TRUE(libcert::sm2_verify(s.certificate(), msg, bad, ""));  // the empty-ID signature
  EXPECT_FALSE(libcert::sm2_verify(s.certificate(), msg, bad));     // refused with the ID
}

TEST(Sm2, DigestSigningIsRefused) {
  const auto s = seal_signer("samr");
  const std::uint8_t d[32] = {};
  try {
    (void)s.sign(d);
    FAIL() << "no exception";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
  }
}

TEST(Roles, SealMakerAndSm2SealCertificates) {
  auto der = [](const std::string& path) {
    FILE* f = fopen(path.c_str(), "r");
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    fclose(f);
    unsigned char* out = nullptr;
    const int n = i2d_X509(x, &out);
    std::string s(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    X509_free(x);
    return s;
  };
  const auto m = libcert::certificate_role(der(kKeys + "/maker/maker.crt"));
  EXPECT_EQ(m.role, libcert::CertRole::kSealMaker) << m.why;
  EXPECT_EQ(libcert::to_string(m.role), "seal-maker");
  const auto s = libcert::certificate_role(der(kKeys + "/seals/samr/seal.crt"));
  EXPECT_EQ(s.role, libcert::CertRole::kSeal) << s.why;
  EXPECT_EQ(s.uscc, "115425000199003834");
  EXPECT_EQ(libcert::certificate_role(der(kKeys + "/root.crt")).role, libcert::CertRole::kCa);
}

TEST(SesSeal, MakeAndParseRoundTrip) {
  const auto mk = maker();
  const auto s = seal_signer("samr");
  const auto spec = spec_for(s);
  const std::string esl = libcert::make_ses_seal(spec, mk);
  const libcert::SesSeal p = libcert::parse_ses_seal(esl);
  EXPECT_EQ(p.version, 4);
  EXPECT_EQ(p.format, "GB/T 38540-2020 v4");
  EXPECT_EQ(p.vid, "LIBCERT");
  EXPECT_EQ(p.es_id, spec.es_id);
  EXPECT_EQ(p.name, spec.name);
  EXPECT_EQ(p.type, 1);
  EXPECT_EQ(p.cert_list_type, 1);
  ASSERT_EQ(p.certs.size(), 1u);
  EXPECT_EQ(p.certs[0], s.certificate());
  EXPECT_EQ(p.valid_start, spec.valid_start);
  EXPECT_EQ(p.valid_end, spec.valid_end);
  EXPECT_EQ(p.picture.type, "PNG");
  EXPECT_EQ(p.picture.data, spec.picture.data);
  EXPECT_EQ(p.picture.width_mm, 42);
  EXPECT_EQ(p.maker_cert, mk.certificate());
  EXPECT_EQ(p.sign_alg, libcert::kOidSm2WithSm3);
  // The maker's signature covers DER(SES_SealInfo), with the ID.
  EXPECT_TRUE(libcert::sm2_verify(p.maker_cert, p.seal_info_der, p.maker_signature));
  // SES_SealInfo is the first element of the SESeal, byte for byte.
  EXPECT_NE(esl.find(p.seal_info_der), std::string::npos);
}

TEST(SesSeal, MalformedIsRefusedNamingTheField) {
  const std::string esl = libcert::make_ses_seal(spec_for(seal_signer("samr")), maker());
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, esl.size() / 2, esl.size() - 1}) {
    try {
      (void)libcert::parse_ses_seal(esl.substr(0, cut));
      FAIL() << "truncated at " << cut;
    } catch (const libcert::Error& e) {
      EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument) << e.what();
    }
  }
  EXPECT_THROW((void)libcert::parse_ses_seal(esl + std::string(1, '\0')), libcert::Error);
}

TEST(SesSeal, MakerMustBeSm2) {
  auto spec = spec_for(seal_signer("samr"));
  spec.valid_start = spec.valid_end + 1;
  try {
    (void)libcert::make_ses_seal(spec, maker());
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
  }
}

TEST(SesSignature, MakeAndParse) {
  const auto s = seal_signer("samr");
  const std::string esl = libcert::make_ses_seal(spec_for(s), maker());
  const std::string hash = libcert::sm3("<Signature/>");
  const std::string sv = libcert::make_ses_signature(esl, 1764900000, hash,
                                                     "/Doc_0/Signs/Sign_0/Signature.xml", s);
  const libcert::SesSignature p = libcert::parse_ses_signature(sv);
  EXPECT_EQ(p.version, 4);
  EXPECT_EQ(p.seal_der, esl);  // embedded byte for byte
  EXPECT_EQ(p.time, 1764900000);
  EXPECT_EQ(p.data_hash, hash);
  EXPECT_EQ(p.property_info, "/Doc_0/Signs/Sign_0/Signature.xml");
  EXPECT_EQ(p.signer_cert, s.certificate());
  EXPECT_FALSE(p.has_timestamp);
  EXPECT_TRUE(libcert::sm2_verify(p.signer_cert, p.tbs_der, p.signature));
  EXPECT_NE(sv.find(p.tbs_der), std::string::npos);
}

TEST(SesSeal, CertctlMakeSealWritesAParsableSeal) {
  const std::string out = testing::TempDir() + "/samr.esl";
  const std::string cmd = std::string(CERTCTL_BIN) + " ses make-seal --department samr -o " +
                          out + " --keys " + LIBCERT_SOURCE_DIR + "/keys-example --templates " +
                          LIBCERT_SOURCE_DIR + "/templates > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto p = libcert::parse_ses_seal(ss.str());
  EXPECT_EQ(p.version, 4);
  EXPECT_EQ(p.picture.type, "PNG");
  EXPECT_EQ(p.picture.width_mm, 42);
  EXPECT_EQ(p.es_id, "54250199003834");
  EXPECT_TRUE(libcert::sm2_verify(p.maker_cert, p.seal_info_der, p.maker_signature));
}

}  // namespace
