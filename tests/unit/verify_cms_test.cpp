// CMS verification (verify_cms.h) against signatures made by a tool nobody here wrote: the openssl
// CLI (`openssl cms -sign -cades`, detached), with the keys-example PKI and the negative key
// material of tests/data/make-bad-keys.sh.
#include "verify_cms.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "libcert/error.h"
#include "libcert/verify.h"
#include "support/process.h"

namespace {

using libcert::CheckStatus;
using testsupport::run;
using testsupport::shell_quote;

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t k2026 = 1767225600;  // 2026-01-01T00:00:00Z
constexpr std::int64_t k2031 = 1924992000;  // 2031-01-01T00:00:00Z

const libcert::Check* find(const libcert::detail::CmsVerification& r, const std::string& id) {
  for (const auto& c : r.checks)
    if (c.id == id) return &c;
  return nullptr;
}

class CmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_ = "%PDF-1.7 pretend signed byte ranges\n";
    testsupport::spit(dir_ / "content.bin", content_);
    trust_.add_path(kKeys + "/root/root.crt");
  }
  // Signs content.bin with `key`/`cert` via the openssl CLI, the issuing CA in its certificates
  // (keys-example: root → issuing CA → seal); returns the DER.
  std::string cli_sign(const std::string& key, const std::string& cert,
                       const std::string& chain = kKeys + "/ca/issuing-ca.crt") {
    const auto r =
        run("openssl cms -sign -binary -cades -md sha256 -outform DER -in " +
            shell_quote((dir_ / "content.bin").string()) + " -signer " + shell_quote(cert) +
            " -inkey " + shell_quote(key) + " -certfile " +
            shell_quote(chain) + " -out " +
            shell_quote((dir_ / "sig.der").string()));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return testsupport::slurp(dir_ / "sig.der");
  }
  testsupport::TempDir dir_;
  std::string content_;
  libcert::TrustStore trust_;
};

TEST_F(CmsTest, OpensslSignatureByExampleSealVerifies) {
  const std::string der = cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt");
  // Split the content in two parts like a ByteRange does, and pad the DER with zeros like
  // /Contents.
  const std::string_view c(content_);
  const auto r = libcert::detail::cms_verify({c.substr(0, 10), c.substr(10)},
                                             der + std::string(64, '\0'), trust_, k2026, true);
  for (const char* id : {"cms", "digest", "signature", "signing-certificate", "chain",
                         "validity-at-signing-time", "key-usage"}) {
    ASSERT_NE(find(r, id), nullptr) << id;
    EXPECT_EQ(find(r, id)->status, CheckStatus::kPass) << id << ": " << find(r, id)->detail;
  }
  // openssl cms adds signingTime, which PAdES forbids: a warning, not a failure.
  EXPECT_EQ(find(r, "signed-attributes")->status, CheckStatus::kWarn);
  EXPECT_EQ(r.department, "阿里地区市场监督管理局");
  EXPECT_EQ(r.uscc, "115425000199003834");
  EXPECT_EQ(r.digest_algorithm, "SHA256");
  EXPECT_EQ(r.cert_not_after, "2030-12-31T23:59:59Z");
  // The seal key identity equals the openssl CLI's SHA-256 fingerprint of the certificate.
  const auto fp = run("openssl x509 -noout -fingerprint -sha256 -in " +
                      shell_quote(kKeys + "/seals/samr/seal.crt"));
  std::string expected;
  for (char ch : fp.out.substr(fp.out.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(ch)) != 0)
      expected += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(r.cert_sha256, expected);
}

TEST_F(CmsTest, ChangedContentFailsDigestOnly) {
  const std::string der = cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt");
  std::string changed = content_;
  changed[3] = 'X';
  const auto r = libcert::detail::cms_verify({changed}, der, trust_, k2026, true);
  EXPECT_EQ(find(r, "digest")->status, CheckStatus::kFail);
  EXPECT_NE(find(r, "digest")->detail.find("the signed bytes were changed"), std::string::npos);
  EXPECT_EQ(find(r, "signature")->status, CheckStatus::kPass);  // the attributes are intact
}

TEST_F(CmsTest, SigningTimeAfterNotAfterFailsValidity) {
  const std::string der = cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt");
  const auto r = libcert::detail::cms_verify({content_}, der, trust_, k2031, true);
  EXPECT_EQ(find(r, "validity-at-signing-time")->status, CheckStatus::kFail);
  EXPECT_NE(find(r, "validity-at-signing-time")
                ->detail.find("after the certificate's notAfter 2030-12-31T23:59:59Z"),
            std::string::npos)
      << find(r, "validity-at-signing-time")->detail;
  EXPECT_EQ(find(r, "chain")->status, CheckStatus::kPass);
  EXPECT_EQ(find(r, "digest")->status, CheckStatus::kPass);
}

TEST_F(CmsTest, UnchainedSealIsUntrustedAndEmptyStoreTrustsNothing) {
  const auto mk =
      run("sh " + shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/make-bad-keys.sh") +
          " " + shell_quote((dir_ / "bad").string()) + " " + shell_quote(kKeys));
  ASSERT_EQ(mk.exit_code, 0) << mk.out;
  const std::string der = cli_sign((dir_ / "bad/unchained/seal.key").string(),
                                   (dir_ / "bad/unchained/seal.crt").string());
  const auto r = libcert::detail::cms_verify({content_}, der, trust_, k2026, true);
  EXPECT_EQ(find(r, "chain")->status, CheckStatus::kFail);
  EXPECT_TRUE(r.chain_untrusted);
  EXPECT_EQ(find(r, "chain")->detail.rfind("does not chain to a trusted seal root", 0), 0u)
      << find(r, "chain")->detail;
  EXPECT_EQ(find(r, "signature")->status, CheckStatus::kPass);

  const libcert::TrustStore empty;
  const std::string good = cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt");
  const auto e = libcert::detail::cms_verify({content_}, good, empty, k2026, true);
  EXPECT_EQ(find(e, "chain")->status, CheckStatus::kFail);
  EXPECT_NE(find(e, "chain")->detail.find("the trust store is empty"), std::string::npos);
}

// A CA under the root that is not in the issuing-CA role (no pathLenConstraint 0): OpenSSL alone
// accepts the chain; the role check refuses it, naming the intermediate (trust.md "Roles").
TEST_F(CmsTest, IntermediateWithoutTheIssuingCaRoleFailsTheChain) {
  const std::string d = dir_.path().string();
  const std::string script =
      "set -e; cd " + shell_quote(d) +
      "; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key"
      "; openssl req -new -key ca.key -subj '/CN=Other CA' -out ca.csr"
      "; printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
      "subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid\\n' > ca.ext"
      "; openssl x509 -req -in ca.csr -CA " + shell_quote(kKeys + "/root/root.crt") + " -CAkey " +
      shell_quote(kKeys + "/root/root.key") +
      " -set_serial 901 -days 30 -extfile ca.ext -out ca.crt"
      "; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out seal.key"
      "; openssl req -new -key seal.key -subj "
      "'/CN=samr/organizationIdentifier=NTRCN-115425000199003834' -out seal.csr"
      "; printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature,"
      "nonRepudiation\\ncertificatePolicies=2.25.157078614424240747290383494601942707531\\n'"
      " > seal.ext"
      "; openssl x509 -req -in seal.csr -CA ca.crt -CAkey ca.key -set_serial 902 -days 30"
      " -extfile seal.ext -out seal.crt";
  const auto mk = run("sh -c " + shell_quote(script) + " 2>&1");
  ASSERT_EQ(mk.exit_code, 0) << mk.out;
  const std::string der = cli_sign(d + "/seal.key", d + "/seal.crt", d + "/ca.crt");
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const auto r = libcert::detail::cms_verify({content_}, der, trust_, now, true);
  ASSERT_NE(find(r, "chain"), nullptr);
  EXPECT_EQ(find(r, "chain")->status, CheckStatus::kFail);
  EXPECT_FALSE(r.chain_untrusted);
  EXPECT_NE(find(r, "chain")->detail.find("CN=Other CA is not an issuing CA: pathLenConstraint"),
            std::string::npos)
      << find(r, "chain")->detail;
  EXPECT_EQ(find(r, "signature")->status, CheckStatus::kPass);
  // The same seal signed with the example chain passes the chain check (control).
  const auto ok = libcert::detail::cms_verify(
      {content_}, cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt"),
      trust_, now, true);
  EXPECT_EQ(find(ok, "chain")->status, CheckStatus::kPass) << find(ok, "chain")->detail;
}

TEST_F(CmsTest, GarbageAndNonZeroPaddingAreNotCms) {
  auto r = libcert::detail::cms_verify({content_}, std::string("\x30\x03\x02\x01\x01", 5), trust_,
                                       k2026, true);
  EXPECT_EQ(find(r, "cms")->status, CheckStatus::kFail);
  EXPECT_EQ(r.checks.size(), 1u);
  const std::string der = cli_sign(kKeys + "/seals/samr/seal.key", kKeys + "/seals/samr/seal.crt");
  r = libcert::detail::cms_verify({content_}, der + "\x01", trust_, k2026, true);
  EXPECT_EQ(find(r, "cms")->status, CheckStatus::kFail);
  EXPECT_NE(find(r, "cms")->detail.find("non-zero bytes after the CMS"), std::string::npos);
}

TEST(TrustStore, LoadsFileAndDirectoryAndRejectsNonPem) {
  libcert::TrustStore t;
  t.add_path(kKeys + "/root");  // directory: root.crt (root.key is neither .pem nor .crt)
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.fingerprints().front().size(), 64u);
  try {
    t.add_pem("not a certificate", "junk.pem");
    FAIL() << "no throw";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("junk.pem: no PEM certificate"), std::string::npos);
  }
  try {
    t.add_path("/nonexistent/root.crt");
    FAIL() << "no throw";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kIo);
  }
}

}  // namespace
