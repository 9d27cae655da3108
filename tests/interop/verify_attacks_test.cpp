// `certctl verify` on files of the attack corpus (exit code, the verdict and the failed check in
// its output), with pdfsig (Poppler/NSS, nobody here wrote it) as a second opinion where it has
// one: it must agree on the intact and the byte-changed licence.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "libcert/trust_bundle.h"
#include "support/attack_corpus.h"
#include "support/process.h"

namespace {

using testsupport::run;
using testsupport::shell_quote;

class CertctlVerify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    const std::string unsigned_pdf = attack::cairo_licence();
    const std::string p1 = attack::seal(unsigned_pdf, attack::seal_of("samr"), 1);
    const std::string p2 = attack::seal(unsigned_pdf, attack::seal_of("samr"), 2);
    testsupport::spit(*dir_ / "valid.pdf", p1);
    testsupport::spit(*dir_ / "two-seals.pdf", attack::seal(p2, attack::seal_of("approval"), 2,
                                                            libcert::SealKind::kApproval, 260));
    testsupport::spit(*dir_ / "water-seal.pdf",
                      attack::seal(unsigned_pdf, attack::seal_of("water"), 1));
    // Trust bundles (what `certctl trust-bundle export` publishes): the genuine one, one where the
    // market regulator's key was compromised before the licence was sealed, and a forgery signed
    // by a seal key (issued by the root, but not the pinned bundle signer).
    testsupport::spit(*dir_ / "bundle.cbor", attack::example_bundle());
    testsupport::spit(*dir_ / "revoked.cbor", attack::example_bundle(
                                                  [](libcert::TrustBundle& b) {
                                                    for (auto& e : b.seals)
                                                      if (e.department == "samr") {
                                                        e.state = libcert::SealState::kRevoked;
                                                        e.compromised_at = attack::kSealTime - 60;
                                                      }
                                                  },
                                                  2));
    {
      libcert::TrustBundle forged =
          libcert::TrustBundle::parse(attack::example_bundle(), attack::example_pins());
      forged.version = UINT64_MAX;
      testsupport::spit(*dir_ / "forged.cbor",
                        forged.sign(libcert::certificate_der_from_pem(
                                        attack::slurp_file(attack::kKeys + "/seals/samr/seal.crt")),
                                    libcert::digest_signer_from_pem(attack::slurp_file(
                                        attack::kKeys + "/seals/samr/seal.key"))));
    }
    std::string changed = p1;
    changed[changed.find("cairo")] = 'C';
    testsupport::spit(*dir_ / "byte-changed.pdf", changed);
    testsupport::spit(*dir_ / "face-value.pdf", attack::face_value_changed(p2));
    const attack::SigPos p = attack::sig_pos(p1);
    testsupport::spit(*dir_ / "contents-null.pdf",
                      attack::overwrite(p1, p.ct_pos, p.ct_end, "null"));
    const auto size = static_cast<std::int64_t>(p1.size());
    testsupport::spit(*dir_ / "short-range.pdf",
                      attack::with_byte_range(p1, static_cast<std::int64_t>(p.ct_pos),
                                              static_cast<std::int64_t>(p.ct_end),
                                              size - static_cast<std::int64_t>(p.ct_end) - 30));
    // NSS database trusting the example root, for pdfsig (testing.md).
    const std::string db = (*dir_ / "nss").string();
    const auto r = run("mkdir -p " + shell_quote(db) + " && certutil -N -d sql:" + shell_quote(db) +
                       " --empty-password && certutil -A -d sql:" + shell_quote(db) +
                       " -n root -t C,C,C -i " + shell_quote(attack::kKeys + "/root/root.crt"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }

  // With the example trust bundle (key states) unless the test names another one.
  static testsupport::RunResult certctl(const std::string& args,
                                        const std::string& bundle = "bundle.cbor") {
    return run(std::string(CERTCTL_BIN) + " verify " +
               (bundle.empty() ? std::string() : "--bundle " + file(bundle) + " ") + args);
  }
  static std::string file(const std::string& name) { return shell_quote((*dir_ / name).string()); }
  static testsupport::TempDir* dir_;
};
testsupport::TempDir* CertctlVerify::dir_ = nullptr;

TEST_F(CertctlVerify, ValidLicenceExitsZeroAndPdfsigAgrees) {
  const auto r = certctl(file("valid.pdf"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Result: VALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("阿里地区市场监督管理局 (USCC 115425000199003834)"), std::string::npos);
  const auto s =
      run("pdfsig -nssdir sql:" + shell_quote((*dir_ / "nss").string()) + " " + file("valid.pdf"));
  EXPECT_NE(s.out.find("Signature is Valid."), std::string::npos) << s.out;
}

TEST_F(CertctlVerify, TwoSealsVerifyValidWithBothListed) {
  const auto r = certctl("--json " + file("two-seals.pdf"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"], "VALID");
  ASSERT_EQ(j["signatures"].size(), 2u);
  EXPECT_EQ(j["signatures"][0]["field"], "Seal1");
  EXPECT_EQ(j["signatures"][0]["kind"], "certification");
  EXPECT_EQ(j["signatures"][1]["field"], "Seal2");
  EXPECT_EQ(j["signatures"][1]["kind"], "approval");
  EXPECT_EQ(j["signatures"][0]["changes"][0]["class"], "form-filling");
}

TEST_F(CertctlVerify, ByteChangedIsInvalidAndPdfsigAgrees) {
  const auto r = certctl(file("byte-changed.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("signature 'Seal1': digest:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Failed checks: Seal1:digest"), std::string::npos) << r.out;
  const auto s = run("pdfsig -nssdir sql:" + shell_quote((*dir_ / "nss").string()) + " " +
                     file("byte-changed.pdf"));
  EXPECT_EQ(s.out.find("Signature is Valid."), std::string::npos) << s.out;
}

TEST_F(CertctlVerify, FaceValueUpdateIsModified) {
  const auto r = certctl(file("face-value.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: MODIFIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[fail] modifications"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("page 1: /Contents changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[fail] rendering"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, ForgedStructuresNameTheirCheck) {
  auto r = certctl("--json " + file("contents-null.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"], "INVALID");
  EXPECT_EQ(j["reasons"][0], "signature 'Seal1': contents: /Contents is missing or null");
  r = certctl(file("short-range.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("[fail] byte-range: the signed range ends at byte"), std::string::npos)
      << r.out;
}

TEST_F(CertctlVerify, UsageAndUnreadableInput) {
  EXPECT_EQ(certctl("").exit_code, 2);
  EXPECT_EQ(certctl("--bogus " + file("valid.pdf")).exit_code, 2);
  const auto r = certctl(file("missing.pdf"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.out.find("missing.pdf"), std::string::npos);
  // Another trust root: the licence's signer is unknown.
  const auto u =
      certctl("--trust " + shell_quote(attack::kKeys + "/tsa/tsa.crt") + " " + file("valid.pdf"));
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.out.find("Result: UNKNOWN-SIGNER"), std::string::npos) << u.out;
}

// issue 16: key roles, the signer-issuer binding and key states, through the CLI.
TEST_F(CertctlVerify, AnotherDepartmentsSealIsInvalid) {
  const auto r = certctl(file("water-seal.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:issuer-binding"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, WithoutTrustDataIsIndeterminate) {
  const auto r = certctl(file("valid.pdf"), "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INDETERMINATE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:key-state"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, KeyCompromisedBeforeSealingIsRevoked) {
  const auto r = certctl(file("valid.pdf"), "revoked.cbor");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: REVOKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:key-state"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, BundleSignedByASealKeyIsRefused) {
  const auto r = certctl(file("valid.pdf"), "forged.cbor");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("not pinned"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Result:"), std::string::npos) << r.out;
}

}  // namespace
