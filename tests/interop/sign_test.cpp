// Interop: sealed PDFs checked by verifiers nobody here wrote — Poppler's pdfsig (NSS), MuPDF's
// mutool, the openssl CLI (cms -verify over the signed ranges) and qpdf --check.
// pdfsig's exit code is 0 even for invalid signatures, so its text is parsed (testing.md).
#include "libcert/sign.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "support/process.h"
#include "support/verifiers.h"
#include "support/test_pdf.h"

using testsupport::contains;
using testsupport::pdfsig_blocks;
using testsupport::run;
using testsupport::shell_quote;

namespace {

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kJune2025 = 1748736000;  // 2025-06-01T00:00:00Z

class SignInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    // NSS trust database with the example root trusted (testing.md).
    const std::string db = shell_quote("sql:" + (*dir_ / "nss").string());
    std::filesystem::create_directories(*dir_ / "nss");
    auto r = run("certutil -N -d " + db + " --empty-password");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = run("certutil -A -d " + db + " -n root -t C,C,C -i " +
            shell_quote(kKeys + "/root/root.crt"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = run(shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/make-bad-keys.sh") + " " +
            shell_quote((*dir_ / "bad").string()) + " " + shell_quote(kKeys));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::filesystem::path path(const std::string& name) { return *dir_ / name; }

  static std::string pdfsig(const std::string& file) {
    return run("pdfsig -nssdir " + shell_quote("sql:" + (*dir_ / "nss").string()) + " " +
               shell_quote(path(file).string()))
        .out;
  }

  static libcert::SealOptions opts(const libcert::Clock& clock) {
    libcert::SealOptions o;
    o.clock = &clock;
    o.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
              testsupport::kSealSize};
    o.reason = "电子证照签章";
    o.location = "阿里地区";
    return o;
  }

  static libcert::PemFileSigner seal(const std::string& dept) {
    return {kKeys + "/seals/" + dept + "/seal.key", kKeys + "/seals/" + dept + "/seal.crt"};
  }

  static testsupport::TempDir* dir_;
};
testsupport::TempDir* SignInterop::dir_ = nullptr;

TEST_F(SignInterop, PdfsigSaysValidTrustedAndWholeDocument) {
  libcert::FixedClock clock(kJune2025);
  testsupport::spit(path("one.pdf"),
                    libcert::seal_pdf(testsupport::make_cairo_pdf(), seal("samr"), opts(clock)));
  const std::string out = pdfsig("one.pdf");
  const auto blocks = pdfsig_blocks(out);
  ASSERT_EQ(blocks.size(), 1U) << out;
  EXPECT_TRUE(contains(blocks[0], "Signature Validation: Signature is Valid.")) << out;
  EXPECT_TRUE(contains(blocks[0], "Certificate Validation: Certificate is Trusted.")) << out;
  EXPECT_TRUE(contains(blocks[0], "Total document signed")) << out;
  EXPECT_TRUE(contains(blocks[0], "Signature Type: ETSI.CAdES.detached")) << out;
  EXPECT_TRUE(contains(blocks[0], "Signer Certificate Common Name: 阿里地区市场监督管理局")) << out;
  EXPECT_TRUE(contains(blocks[0], "Signing Time: Jun 01 2025 00:00:00")) << out;
}

TEST_F(SignInterop, MutoolSaysUnchangedSinceSigning) {
  libcert::FixedClock clock(kJune2025);
  testsupport::spit(path("mu.pdf"),
                    libcert::seal_pdf(testsupport::make_cairo_pdf(), seal("health"), opts(clock)));
  const auto r = run("mutool sign -v " + shell_quote(path("mu.pdf").string()));
  EXPECT_TRUE(contains(r.out, "The document is unchanged since signing.")) << r.out;
  EXPECT_FALSE(contains(r.out, "edits since signing")) << r.out;
  EXPECT_EQ(r.out.find("Verifying signature"), r.out.rfind("Verifying signature")) << r.out;
}

TEST_F(SignInterop, OpensslCmsVerifiesOverTheSignedRangesAndQpdfChecks) {
  libcert::FixedClock clock(kJune2025);
  const std::string sealed =
      libcert::seal_pdf(testsupport::make_cairo_pdf(), seal("education"), opts(clock));
  testsupport::spit(path("cms.pdf"), sealed);
  // The ranges are read from the raw bytes with a regex (not with libcert's PDF reader) and
  // the CMS is taken from pdfsig -dump.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sealed, m, std::regex(R"(/ByteRange \[0 (\d+) (\d+) (\d+) *\])")));
  const std::size_t a = std::stoul(m[1]), b = std::stoul(m[2]), c = std::stoul(m[3]);
  EXPECT_EQ(b + c, sealed.size());
  testsupport::spit(path("ranges.bin"), sealed.substr(0, a) + sealed.substr(b, c));
  auto r = run("cd " + shell_quote(dir_->path().string()) + " && pdfsig -dump cms.pdf");
  ASSERT_TRUE(std::filesystem::exists(path("cms.pdf.sig0"))) << r.out;
  r = run("openssl cms -verify -inform DER -binary -in " +
          shell_quote(path("cms.pdf.sig0").string()) + " -content " +
          shell_quote(path("ranges.bin").string()) + " -CAfile " +
          shell_quote(kKeys + "/root/root.crt") + " -purpose any -attime " +
          std::to_string(kJune2025) + " -out /dev/null");
  EXPECT_TRUE(contains(r.out, "Verification successful")) << r.out;
  // openssl's own view of the signed attributes: no signingTime, signing-certificate-v2 present.
  r = run("openssl cms -cmsout -print -inform DER -in " +
          shell_quote(path("cms.pdf.sig0").string()));
  EXPECT_TRUE(contains(r.out, "id-smime-aa-signingCertificateV2 (1.2.840.113549.1.9.16.2.47)"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "signingTime")) << r.out;
  EXPECT_FALSE(contains(r.out, "1.2.840.113549.1.9.5")) << r.out;
  EXPECT_FALSE(contains(r.out, "SMIMECapabilities")) << r.out;
  // A changed byte in the signed content fails.
  std::string bad = sealed.substr(0, a) + sealed.substr(b, c);
  bad[200] ^= 0x01;
  testsupport::spit(path("ranges-bad.bin"), bad);
  r = run("openssl cms -verify -inform DER -binary -in " +
          shell_quote(path("cms.pdf.sig0").string()) + " -content " +
          shell_quote(path("ranges-bad.bin").string()) + " -CAfile " +
          shell_quote(kKeys + "/root/root.crt") + " -purpose any -out /dev/null");
  EXPECT_FALSE(contains(r.out, "Verification successful")) << r.out;
  EXPECT_TRUE(contains(r.out, "CMS_SignerInfo_verify_content:verification failure")) << r.out;

  r = run("qpdf --check " + shell_quote(path("cms.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "No syntax or stream encoding errors found")) << r.out;
}

TEST_F(SignInterop, TwoSealsBothValidFirstCoversEarlierRevision) {
  libcert::FixedClock clock(kJune2025);
  auto o1 = opts(clock);
  o1.docmdp_p = 2;
  const std::string once = libcert::seal_pdf(testsupport::make_cairo_pdf(), seal("samr"), o1);
  auto o2 = opts(clock);
  o2.kind = libcert::SealKind::kApproval;
  o2.rect = {100, 90.5, 119, 119};
  testsupport::spit(path("two.pdf"), libcert::seal_pdf(once, seal("approval"), o2));
  const std::string out = pdfsig("two.pdf");
  const auto blocks = pdfsig_blocks(out);
  ASSERT_EQ(blocks.size(), 2U) << out;
  for (const auto& blk : blocks) {
    EXPECT_TRUE(contains(blk, "Signature Validation: Signature is Valid.")) << out;
    EXPECT_TRUE(contains(blk, "Certificate Validation: Certificate is Trusted.")) << out;
  }
  EXPECT_TRUE(contains(blocks[0], "Signed Ranges: [0 - ")) << out;
  EXPECT_FALSE(contains(blocks[0], "Total document signed")) << out;  // an earlier revision
  EXPECT_TRUE(contains(blocks[0], "Not total document signed")) << out;
  EXPECT_TRUE(contains(blocks[1], "Total document signed")) << out;
  EXPECT_TRUE(contains(blocks[1], "阿里地区行政审批和便民服务局")) << out;
  auto r = run("qpdf --check " + shell_quote(path("two.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // MuPDF: the first signature is valid with (permitted) edits after it, the second covers all.
  r = run("mutool sign -v " + shell_quote(path("two.pdf").string()));
  const std::size_t second =
      r.out.find("Verifying signature", r.out.find("Verifying signature") + 1);
  ASSERT_NE(second, std::string::npos) << r.out;
  EXPECT_TRUE(contains(r.out.substr(0, second),
                       "The signature is valid but there have been edits since signing."))
      << r.out;
  EXPECT_TRUE(contains(r.out.substr(second), "The document is unchanged since signing.")) << r.out;
}

TEST_F(SignInterop, SealsOnTopOfAnXrefStreamFile) {
  // qpdf rewrites the cairo PDF with object streams and a compressed xref stream; our update
  // appends an xref stream section (ISO 32000-1 §7.5.8.1) whose /Prev points at that stream.
  testsupport::spit(path("plain.pdf"), testsupport::make_cairo_pdf(2));
  auto r = run("qpdf --object-streams=generate " + shell_quote(path("plain.pdf").string()) + " " +
               shell_quote(path("objstm.pdf").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  libcert::FixedClock clock(kJune2025);
  auto o = opts(clock);
  o.page = 1;
  testsupport::spit(path("objstm-sealed.pdf"),
                    libcert::seal_pdf(testsupport::slurp(path("objstm.pdf")), seal("water"), o));
  {
    const std::string sealed = testsupport::slurp(path("objstm-sealed.pdf"));
    const auto doc = libcert::pdf::Document::open(sealed);
    ASSERT_EQ(doc.revisions().size(), 2U);
    EXPECT_TRUE(doc.revisions()[1].xref_stream);
  }
  const std::string out = pdfsig("objstm-sealed.pdf");
  EXPECT_TRUE(contains(out, "Signature is Valid.")) << out;
  EXPECT_TRUE(contains(out, "Certificate is Trusted.")) << out;
  EXPECT_TRUE(contains(out, "Total document signed")) << out;
  r = run("qpdf --check " + shell_quote(path("objstm-sealed.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "No syntax or stream encoding errors found")) << r.out;
  r = run("mutool sign -v " + shell_quote(path("objstm-sealed.pdf").string()));
  EXPECT_TRUE(contains(r.out, "The document is unchanged since signing.")) << r.out;
}

TEST_F(SignInterop, CertctlSignSealsWithTheDepartmentKey) {
  testsupport::spit(path("in.pdf"), testsupport::make_cairo_pdf());
  auto r = run(std::string(CERTCTL_BIN) +
               " sign --department civil-affairs --rect 410.5,90.5,119,119"
               " --time " +
               std::to_string(kJune2025) + " " + shell_quote(path("in.pdf").string()) + " -o " +
               shell_quote(path("cli.pdf").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string out = pdfsig("cli.pdf");
  EXPECT_TRUE(contains(out, "Signer Certificate Common Name: 阿里地区民政局")) << out;
  EXPECT_TRUE(contains(out, "Signature is Valid.")) << out;
  EXPECT_TRUE(contains(out, "Certificate is Trusted.")) << out;
  EXPECT_TRUE(contains(out, "Total document signed")) << out;
  // A second certification is refused (exit 3, bad input: docs/verdicts.md), and nothing is written.
  r = run(std::string(CERTCTL_BIN) + " sign --department samr " +
          shell_quote(path("cli.pdf").string()) + " -o " + shell_quote(path("cli2.pdf").string()));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "first signature")) << r.out;
  EXPECT_FALSE(std::filesystem::exists(path("cli2.pdf")));
  // Usage errors exit 2.
  r = run(std::string(CERTCTL_BIN) + " sign --department ../../etc " +
          shell_quote(path("in.pdf").string()) + " -o " + shell_quote(path("x.pdf").string()));
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(SignInterop, PdfsigDistrustsUnchainedAndExpiredSeals) {
  testsupport::spit(path("in2.pdf"), testsupport::make_cairo_pdf());
  for (const std::string kind : {"unchained", "expired"}) {
    const std::string out_pdf = kind + ".pdf";
    const auto r = run(std::string(CERTCTL_BIN) + " sign --key " +
                       shell_quote(path("bad/" + kind + "/seal.key").string()) + " --cert " +
                       shell_quote(path("bad/" + kind + "/seal.crt").string()) + " --time " +
                       std::to_string(kJune2025) + " " + shell_quote(path("in2.pdf").string()) +
                       " -o " + shell_quote(path(out_pdf).string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::string out = pdfsig(out_pdf);
    EXPECT_TRUE(contains(out, "Signature is Valid.")) << kind << "\n" << out;  // the maths holds
    EXPECT_FALSE(contains(out, "Certificate is Trusted.")) << kind << "\n" << out;
    if (kind == "expired") {
      EXPECT_TRUE(contains(out, "Certificate has Expired")) << out;
    } else {
      EXPECT_TRUE(contains(out, "Certificate issuer is unknown.")) << out;
    }
  }
}

}  // namespace
