// verify_pdf and the trust model (issue 16 "What was seen" 4, trust.md): a seal is accepted only
// from a seal certificate of the licence's issuer (or a co-issuer the licence lists, for approval
// seals), key states come from the trust bundle, no trust data is INDETERMINATE, and a /M in the
// future is refused. Each case asserts the verdict and the failing check.
#include <gtest/gtest.h>

#include <string>

#include "libcert/roles.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "support/attack_corpus.h"
#include "support/process.h"

using libcert::CheckStatus;
using libcert::Verdict;
using testsupport::shell_quote;

using namespace attack;  // NOLINT: the corpus helpers

namespace {

libcert::PemFileSigner signer(const std::string& dir) { return {dir + ".key", dir + ".crt"}; }

class VerifyTrust : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ =
        new libcert::BundleSealKeys(libcert::TrustBundle::parse(example_bundle(), example_pins()));
    licence_ = new std::string(cairo_licence());
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete licence_;
  }
  void SetUp() override { trust_.add_path(kKeys + "/root/root.crt"); }

  [[nodiscard]] libcert::VerificationReport verify(
      const std::string& pdf, const libcert::SealKeyDirectory* keys = keys_) const {
    libcert::VerifyOptions o;
    o.clock = &clock_;
    o.keys = keys;
    auto r = libcert::verify_pdf(pdf, trust_, o);
    EXPECT_FALSE(r.to_json().dump().empty());
    return r;
  }
  static CheckStatus status(const libcert::VerificationReport& r, const std::string& id,
                            std::size_t sig = 0) {
    const auto* c = r.signatures.at(sig).check(id);
    return c == nullptr ? CheckStatus::kNotChecked : c->status;
  }

  static inline libcert::BundleSealKeys* keys_ = nullptr;
  static inline std::string* licence_ = nullptr;
  libcert::TrustStore trust_;
  libcert::FixedClock clock_{kVerifyTime};
};

TEST_F(VerifyTrust, GenuineLicenceIsValidWithTheBundle) {
  const auto r = verify(seal(*licence_, seal_of("samr"), 1));
  ASSERT_EQ(r.result, Verdict::kValid) << r.to_text();
  EXPECT_EQ(r.issuer_code, kSamrUscc);
  ASSERT_EQ(r.co_issuer_codes.size(), 1u);
  const auto& s = r.signatures.at(0);
  EXPECT_EQ(s.role, "seal");
  EXPECT_EQ(s.uscc, kSamrUscc);
  EXPECT_EQ(s.key_state, "active");
  for (const char* id : {"signer-role", "issuer-binding", "key-state"})
    EXPECT_EQ(status(r, id), CheckStatus::kPass) << id;
}

// "What was seen" 4: a market-regulator licence sealed with the water bureau's seal.
TEST_F(VerifyTrust, AnotherDepartmentsSealIsInvalid) {
  const auto r = verify(seal(*licence_, seal_of("water"), 1));
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding"), CheckStatus::kFail);
  EXPECT_EQ(status(r, "signer-role"), CheckStatus::kPass);
  EXPECT_EQ(status(r, "signature"), CheckStatus::kPass);  // the forgery is cryptographically fine
}

// ... with the trust-bundle signing key, and with the TSA key (EKU timeStamping).
TEST_F(VerifyTrust, BundleAndTsaKeysNeverSeal) {
  for (const char* who : {"bundle/bundle", "tsa/tsa"}) {
    const auto r = verify(seal(*licence_, signer(kKeys + "/" + who), 1));
    EXPECT_EQ(r.result, Verdict::kInvalid) << who << "\n" << r.to_text();
    EXPECT_EQ(status(r, "signer-role"), CheckStatus::kFail) << who;
    EXPECT_EQ(r.signatures.at(0).role, std::string(who) == "tsa/tsa" ? "tsa" : "bundle-signer");
    EXPECT_TRUE(r.signatures.at(0).uscc.empty());
  }
}

// The old profile (plain USCC, no seal policy) and a certificate claiming two roles.
TEST_F(VerifyTrust, CertificatesWithoutExactlyTheSealRoleNeverSeal) {
  testsupport::TempDir t;
  const auto mk = testsupport::run(
      "sh " + shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/make-bad-keys.sh") + " " +
      shell_quote(t.path().string()) + " " + shell_quote(kKeys));
  ASSERT_EQ(mk.exit_code, 0) << mk.out;
  for (const char* who : {"no-policy", "two-roles"}) {
    const auto r = verify(seal(*licence_, signer((t / who / "seal").string()), 1));
    EXPECT_EQ(r.result, Verdict::kInvalid) << who << "\n" << r.to_text();
    EXPECT_EQ(status(r, "signer-role"), CheckStatus::kFail) << who;
    EXPECT_EQ(r.signatures.at(0).role, "none") << who;
  }
}

TEST_F(VerifyTrust, ApprovalSealOnlyFromAListedCoIssuer) {
  const std::string once = seal(*licence_, seal_of("samr"), 2);
  const std::string listed = seal(once, seal_of("approval"), 2, libcert::SealKind::kApproval, 100);
  auto r = verify(listed);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding", 1), CheckStatus::kPass);
  // The water bureau is not listed by this licence.
  r = verify(seal(once, seal_of("water"), 2, libcert::SealKind::kApproval, 100));
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding", 0), CheckStatus::kPass);
  EXPECT_EQ(status(r, "issuer-binding", 1), CheckStatus::kFail);
  // A licence that lists no co-issuer accepts no other department's approval seal.
  const std::string alone = seal(cairo_licence(kSamrUscc, {}), seal_of("samr"), 2);
  r = verify(seal(alone, seal_of("approval"), 2, libcert::SealKind::kApproval, 100));
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding", 1), CheckStatus::kFail);
}

// Approval-only licence: the first seal covers the XMP naming the co-issuers, so it must be the
// issuer's own; a co-issuer cannot seal a licence alone.
TEST_F(VerifyTrust, ApprovalOnlyLicenceMustBeSealedFirstByTheIssuer) {
  auto r = verify(seal(*licence_, seal_of("samr"), 2, libcert::SealKind::kApproval));
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  r = verify(seal(*licence_, seal_of("approval"), 2, libcert::SealKind::kApproval));
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding"), CheckStatus::kFail);
}

// Without trust data nobody can say the key was not revoked: INDETERMINATE, never VALID.
TEST_F(VerifyTrust, NoTrustDataIsIndeterminate) {
  const auto r = verify(seal(*licence_, seal_of("samr"), 1), nullptr);
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  EXPECT_EQ(status(r, "key-state"), CheckStatus::kNotChecked);
  const auto failed = r.failed_checks();
  EXPECT_NE(std::find(failed.begin(), failed.end(), "Seal1:key-state"), failed.end());
}

// A PDF that names no issuer is not a licence the verifier can bind a seal to.
TEST_F(VerifyTrust, DocumentWithoutIssuerIsIndeterminate) {
  std::string bare = *licence_;
  const auto pos = bare.find("<lic:IssuingAuthorityCode>");
  ASSERT_NE(pos, std::string::npos);
  bare.replace(pos, 5, "<lic_");  // same length: the XMP no longer states the issuer
  const auto r = verify(seal(bare, seal_of("samr"), 1));
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  EXPECT_EQ(status(r, "issuer-binding"), CheckStatus::kNotChecked);
}

// Key states from the bundle, offline (the same rules as the QR path).
TEST_F(VerifyTrust, KeyStatesFromTheBundle) {
  const std::string sealed = seal(*licence_, seal_of("samr"), 1);
  auto with = [&](auto edit) {
    return libcert::BundleSealKeys(
        libcert::TrustBundle::parse(example_bundle(edit), example_pins()));
  };
  // Retired before the signing time: sealed outside its usage window.
  const auto retired = with([](libcert::TrustBundle& b) {
    for (auto& e : b.seals)
      if (e.department == "samr") {
        e.state = libcert::SealState::kRetired;
        e.usage_until = kSealTime - 60;
      }
  });
  auto r = verify(sealed, &retired);
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "key-state"), CheckStatus::kFail);
  // Revoked with compromised_at before /M: REVOKED; after /M: REVOKED as well for this B-B seal,
  // whose /M no time-stamp proves (issue 19; verify_bt_test.cpp has the B-T cases).
  for (const std::int64_t at : {kSealTime - 60, kSealTime + 60}) {
    const auto revoked = with([at](libcert::TrustBundle& b) {
      for (auto& e : b.seals)
        if (e.department == "samr") {
          e.state = libcert::SealState::kRevoked;
          e.compromised_at = at;
        }
    });
    r = verify(sealed, &revoked);
    EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
    EXPECT_EQ(status(r, "key-state"), CheckStatus::kFail);
    EXPECT_EQ(r.signatures.at(0).key_state, "revoked");
  }
  // A bundle that does not know the key: UNKNOWN-SIGNER.
  const auto without = with([](libcert::TrustBundle& b) {
    std::erase_if(b.seals, [](const libcert::SealEntry& e) { return e.department == "samr"; });
  });
  r = verify(sealed, &without);
  EXPECT_EQ(r.result, Verdict::kUnknownSigner) << r.to_text();
  EXPECT_EQ(status(r, "key-state"), CheckStatus::kFail);
}

// A bundle entry cannot move a seal certificate to another department.
TEST_F(VerifyTrust, BundleEntryWithAnotherIssuerCodeIsIgnored) {
  const auto moved = libcert::BundleSealKeys(
      libcert::TrustBundle::parse(example_bundle([](libcert::TrustBundle& b) {
                                    for (auto& e : b.seals)
                                      if (e.department == "samr") e.issuer_code = kWaterUscc;
                                  }),
                                  example_pins()));
  const auto r = verify(seal(*licence_, seal_of("samr"), 1), &moved);
  EXPECT_EQ(r.result, Verdict::kUnknownSigner) << r.to_text();
}

// /M in the future beyond the clock skew: INVALID "signing-time"; within the skew: accepted.
TEST_F(VerifyTrust, SigningTimeInTheFutureIsInvalid) {
  auto sealed_at = [&](std::int64_t t) {
    const libcert::FixedClock c(t);
    libcert::SealOptions o;
    o.clock = &c;
    o.docmdp_p = 1;
    o.rect = {kSealX, kSealY, kSealSize, kSealSize};
    return libcert::seal_pdf(*licence_, seal_of("samr"), o);
  };
  auto r = verify(sealed_at(kVerifyTime + 3600));
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "signing-time"), CheckStatus::kFail);
  r = verify(sealed_at(kVerifyTime + 200));
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  EXPECT_EQ(r.signatures.at(0).check("signing-time"), nullptr);
}

TEST(CertificateRole, KeysExampleProfiles) {
  auto der = [](const std::string& p) {
    return libcert::certificate_der_from_pem(slurp_file(kKeys + "/" + p));
  };
  auto r = libcert::certificate_role(der("seals/water/seal.crt"));
  EXPECT_EQ(r.role, libcert::CertRole::kSeal) << r.why;
  EXPECT_EQ(r.uscc, kWaterUscc);
  EXPECT_EQ(libcert::certificate_role(der("bundle/bundle.crt")).role,
            libcert::CertRole::kBundleSigner);
  EXPECT_EQ(libcert::certificate_role(der("tsa/tsa.crt")).role, libcert::CertRole::kTsa);
  EXPECT_EQ(libcert::certificate_role(der("root/root.crt")).role, libcert::CertRole::kCa);
  EXPECT_EQ(libcert::certificate_role("not a certificate").role, libcert::CertRole::kNone);
  // The pin file names the example bundle signer's key.
  EXPECT_EQ(libcert::read_pins(slurp_file(kKeys + "/bundle/pins.txt")).front(),
            libcert::spki_sha256(der("bundle/bundle.crt")));
}

}  // namespace
