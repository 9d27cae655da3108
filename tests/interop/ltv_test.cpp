// PAdES B-LT and B-LTA (issue 19), checked by tools nobody here wrote: for a B-LTA licence pdfsig
// says the seal signature is valid and its certificate trusted, mutool and qpdf are content, the
// document time-stamp's ByteRange ends at the end of the file, and both time-stamp tokens
// (the signature's, the document's) verify with `openssl ts -verify` against the demo root. The
// CRL is made with `openssl ca -gencrl`. With the clock moved past the seal certificate's notAfter
// (the injected clock, and `faketime` on `certctl verify`) the B-LT licence is VALID offline from
// its own DSS; a B-B licence says why it cannot be.
#include <gtest/gtest.h>

#include <regex>

#include "libcert/ltv.h"
#include "libcert/sign.h"
#include "libcert/tsa.h"
#include "libcert/verify.h"
#include "ossl.h"
#include "support/attack_corpus.h"
#include "support/process.h"
#include "support/verifiers.h"

namespace {

using testsupport::run;
using testsupport::shell_quote;
using testsupport::spit;

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kAfterSealExpiry = 1956528000;  // 2032-01-01: seal cert ends 2030-12-31

// A CRL of the demo issuing CA (which certifies the seals and the TSA, trust.md) made by
// `openssl ca -gencrl` (thisUpdate = now), DER.
std::string openssl_crl(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  spit(dir / "index.txt", "");
  spit(dir / "crlnumber", "1000\n");
  spit(dir / "ca.cnf", "[ca]\ndefault_ca = d\n[d]\ndatabase = " + (dir / "index.txt").string() +
                           "\ncrlnumber = " + (dir / "crlnumber").string() +
                           "\ndefault_md = sha256\ndefault_crl_days = 30\n");
  const auto r = run("openssl ca -batch -gencrl -config " + shell_quote((dir / "ca.cnf").string()) +
                     " -keyfile " + shell_quote(kKeys + "/ca/issuing-ca.key") + " -cert " +
                     shell_quote(kKeys + "/ca/issuing-ca.crt") + " -out " +
                     shell_quote((dir / "crl.pem").string()) + " 2>&1");
  if (r.exit_code != 0) throw std::runtime_error("openssl ca -gencrl: " + r.out);
  const auto d = run("openssl crl -in " + shell_quote((dir / "crl.pem").string()) +
                     " -outform DER -out " + shell_quote((dir / "crl.der").string()));
  if (d.exit_code != 0) throw std::runtime_error("openssl crl: " + d.out);
  return testsupport::slurp(dir / "crl.der");
}

struct Made {
  std::string bb, lt, lta;
};

Made make(const std::filesystem::path& dir) {
  const libcert::FixedClock m(attack::kSealTime);
  const libcert::FixedClock tsa_clock(attack::kSealTime + 5);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = libcert::TimeStampAuthority::from_files(
      kKeys + "/tsa/tsa.key", kKeys + "/tsa/tsa.crt", {},
      libcert::TsaOptions{&tsa_clock, &rng, &state, {}, 1});
  const auto samr = attack::seal_of("samr");
  libcert::SealOptions o;
  o.clock = &m;
  o.rect = {attack::kSealX, attack::kSealY, attack::kSealSize, attack::kSealSize};
  const std::string unsigned_pdf = attack::cairo_licence();
  const libcert::ValidationData vd{{}, {openssl_crl(dir / "ca")}};
  Made out;
  out.bb = libcert::seal_to_level(unsigned_pdf, samr, o, libcert::PadesLevel::b_b, nullptr);
  out.lt = libcert::seal_to_level(unsigned_pdf, samr, o, libcert::PadesLevel::b_lt, &tsa, vd);
  out.lta = libcert::seal_to_level(unsigned_pdf, samr, o, libcert::PadesLevel::b_lta, &tsa, vd);
  return out;
}

libcert::VerificationReport verify(const std::string& pdf, std::int64_t now) {
  libcert::TrustStore trust;
  trust.add_path(kKeys + "/root/root.crt");
  const libcert::FixedClock clock(now);
  libcert::VerifyOptions o;
  o.clock = &clock;
  o.keys = &attack::example_seal_states();
  return libcert::verify_pdf(pdf, trust, o);
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The n-th (0-based) /ByteRange of the file, read with a regular expression (not our parser).
std::vector<std::size_t> byte_range(const std::string& pdf, std::size_t n) {
  static const std::regex re(R"(/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\])");
  std::size_t i = 0;
  for (auto it = std::sregex_iterator(pdf.begin(), pdf.end(), re); it != std::sregex_iterator();
       ++it, ++i) {
    if (i == n)
      return {std::stoul((*it)[1]), std::stoul((*it)[2]), std::stoul((*it)[3]),
              std::stoul((*it)[4])};
  }
  return {};
}

TEST(LtvInterop, BltaLicenceVerifiesWithIndependentTools) {
  testsupport::TempDir dir;
  const Made m = make(dir.path());
  spit(dir.path() / "lta.pdf", m.lta);
  std::cout << "[ size ] B-B " << m.bb.size() << ", B-LT " << m.lt.size() << ", B-LTA "
            << m.lta.size() << " bytes\n";

  testsupport::NssTrust nss(dir.path() / "nss", kKeys + "/root/root.crt");
  const std::string ps = nss.pdfsig(dir.path() / "lta.pdf");
  const auto blocks = testsupport::pdfsig_blocks(ps);
  ASSERT_GE(blocks.size(), 1u) << ps;
  EXPECT_TRUE(testsupport::contains(blocks[0], "Signature Validation: Signature is Valid.")) << ps;
  EXPECT_TRUE(testsupport::contains(blocks[0], "Certificate Validation: Certificate is Trusted."))
      << ps;
  const auto mu = run("mutool sign -v " + shell_quote((dir.path() / "lta.pdf").string()) + " 2>&1");
  EXPECT_FALSE(testsupport::contains(mu.out, "Digest: failed")) << mu.out;
  EXPECT_FALSE(testsupport::contains(mu.out, "signature is not valid")) << mu.out;
  const auto qc = run("qpdf --check " + shell_quote((dir.path() / "lta.pdf").string()));
  EXPECT_EQ(qc.exit_code, 0) << qc.out;
  EXPECT_TRUE(testsupport::contains(qc.out, "No syntax or stream encoding errors found")) << qc.out;

  // Seal (first /ByteRange) and document time-stamp (last): the latter ends at EOF.
  const auto seal_br = byte_range(m.lta, 0), ts_br = byte_range(m.lta, 1);
  ASSERT_EQ(seal_br.size(), 4u);
  ASSERT_EQ(ts_br.size(), 4u);
  EXPECT_EQ(ts_br[2] + ts_br[3], m.lta.size());
  EXPECT_LT(seal_br[2] + seal_br[3], m.lta.size());

  // The document time-stamp token over the two byte ranges.
  const std::string ts_token_padded = unhex(m.lta.substr(ts_br[1] + 1, ts_br[2] - ts_br[1] - 2));
  const auto* p = reinterpret_cast<const unsigned char*>(ts_token_padded.data());
  std::unique_ptr<PKCS7, libcert::ossl::Deleter<PKCS7_free>> p7(
      d2i_PKCS7(nullptr, &p, static_cast<long>(ts_token_padded.size())));
  ASSERT_TRUE(p7);
  spit(dir.path() / "doc-ts.der",
       ts_token_padded.substr(0, static_cast<std::size_t>(
                                     p - reinterpret_cast<const unsigned char*>(
                                             ts_token_padded.data()))));
  spit(dir.path() / "ranges.bin",
       m.lta.substr(0, ts_br[1]) + m.lta.substr(ts_br[2], ts_br[3]));
  auto v = run("openssl ts -verify -token_in -in " + shell_quote((dir.path() / "doc-ts.der").string()) +
               " -data " + shell_quote((dir.path() / "ranges.bin").string()) + " -CAfile " +
               shell_quote(kKeys + "/root/root.crt") + " 2>&1");
  EXPECT_TRUE(testsupport::contains(v.out, "Verification: OK")) << v.out;

  // The signature time-stamp token, over the SignerInfo's signature value.
  const std::string cms_der = unhex(m.lta.substr(seal_br[1] + 1, seal_br[2] - seal_br[1] - 2));
  const auto* q = reinterpret_cast<const unsigned char*>(cms_der.data());
  libcert::ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &q, static_cast<long>(cms_der.size())));
  ASSERT_TRUE(cms);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  const ASN1_OCTET_STRING* sv = CMS_SignerInfo_get0_signature(si);
  spit(dir.path() / "sigvalue.bin",
       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sv)),
                   static_cast<std::size_t>(ASN1_STRING_length(sv))));
  const int loc = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
  ASSERT_GE(loc, 0);
  const ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, loc), 0);
  ASSERT_EQ(t->type, V_ASN1_SEQUENCE);
  spit(dir.path() / "sig-ts.der",
       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(t->value.sequence)),
                   static_cast<std::size_t>(ASN1_STRING_length(t->value.sequence))));
  v = run("openssl ts -verify -token_in -in " + shell_quote((dir.path() / "sig-ts.der").string()) +
          " -data " + shell_quote((dir.path() / "sigvalue.bin").string()) + " -CAfile " +
          shell_quote(kKeys + "/root/root.crt") + " 2>&1");
  EXPECT_TRUE(testsupport::contains(v.out, "Verification: OK")) << v.out;

  // Our own verifier: VALID, the document time-stamp verified.
  const auto r = verify(m.lta, attack::kVerifyTime);
  EXPECT_EQ(r.result, libcert::Verdict::kValid) << r.to_text();
}

TEST(LtvInterop, BltAfterTheSealCertificateExpiredIsValidOfflineBbIsNot) {
  testsupport::TempDir dir;
  const Made m = make(dir.path());
  auto r = verify(m.lt, kAfterSealExpiry);
  EXPECT_EQ(r.result, libcert::Verdict::kValid) << r.to_text();
  r = verify(m.bb, kAfterSealExpiry);
  EXPECT_EQ(r.result, libcert::Verdict::kIndeterminate) << r.to_text();
  ASSERT_NE(r.signatures.at(0).check("proof-of-existence"), nullptr) << r.to_text();

  // The same with certctl under faketime (its wall clock in 2032).
  spit(dir.path() / "lt.pdf", m.lt);
  spit(dir.path() / "bb.pdf", m.bb);
  spit(dir.path() / "bundle.cbor", attack::example_bundle());
  const std::string cmd = "faketime '2032-01-01 00:00:00' " + shell_quote(CERTCTL_BIN) +
                          " verify --keys " + shell_quote(kKeys) + " --bundle " +
                          shell_quote((dir.path() / "bundle.cbor").string()) + " ";
  auto c = run(cmd + shell_quote((dir.path() / "lt.pdf").string()) + " 2>&1");
  EXPECT_EQ(c.exit_code, 0) << c.out;
  EXPECT_TRUE(testsupport::contains(c.out, "Result: VALID")) << c.out;
  c = run(cmd + shell_quote((dir.path() / "bb.pdf").string()) + " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_TRUE(testsupport::contains(c.out, "proof-of-existence")) << c.out;
  EXPECT_TRUE(testsupport::contains(c.out, "no time-stamp proves")) << c.out;
}

TEST(LtvInterop, CertctlLtvExtendAddsDssAndDocumentTimeStamp) {
  testsupport::TempDir dir;
  const Made m = make(dir.path());
  std::filesystem::create_directories(dir.path() / "batch");
  spit(dir.path() / "batch" / "a.pdf", m.lt);
  spit(dir.path() / "batch" / "b.pdf", m.lta);
  std::string broken = m.lt;
  broken[broken.size() / 3] ^= 1;  // inside the signed bytes
  spit(dir.path() / "batch" / "c.pdf", broken);
  const std::string crl = (dir.path() / "ca" / "crl.pem").string();
  const auto c = run(shell_quote(CERTCTL_BIN) + " ltv extend --keys " + shell_quote(kKeys) + " --crl " +
                     shell_quote(crl) + " --batch " + shell_quote((dir.path() / "batch").string()) +
                     " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;  // c.pdf refused
  EXPECT_TRUE(testsupport::contains(c.out, "[3/3]")) << c.out;
  EXPECT_TRUE(testsupport::contains(c.out, "c.pdf: refused")) << c.out;
  EXPECT_EQ(testsupport::slurp(dir.path() / "batch" / "c.pdf"), broken);  // unchanged
  for (const char* f : {"a.pdf", "b.pdf"}) {
    const std::string out = testsupport::slurp(dir.path() / "batch" / f);
    const std::string& before = std::string(f) == "a.pdf" ? m.lt : m.lta;
    EXPECT_EQ(out.compare(0, before.size(), before), 0) << f << ": earlier bytes kept";
    const auto r = verify(out, attack::kVerifyTime);
    EXPECT_EQ(r.result, libcert::Verdict::kValid) << f << "\n" << r.to_text();
    std::size_t dts = 0;
    for (const auto& s : r.signatures) dts += s.doc_timestamp ? 1 : 0;
    EXPECT_EQ(dts, std::string(f) == "a.pdf" ? 1u : 2u);
  }
}

}  // namespace
