// PAdES B-T (issue 19): a seal carrying a signature time-stamp from the TSA (libcert/tsa.h) is
// verified at the token's genTime — the proven signing time — and /M is only a claim. Key
// compromise after the proven time leaves the seal VALID; before it, or without a token, it is
// REVOKED; a forgery with a backdated /M and no token, or a token made after the compromise, is
// refused.
#include <gtest/gtest.h>

#include "libcert/sign.h"
#include "libcert/tsa.h"
#include "libcert/verify.h"
#include "support/attack_corpus.h"

using libcert::CheckStatus;
using libcert::Verdict;
using namespace attack;  // NOLINT: the corpus helpers

namespace {

const std::string kDemoKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";

// The trust data of the service: one seal key version, active or revoked with compromised_at.
struct Keys final : libcert::SealKeyDirectory {
  std::optional<std::int64_t> compromised;
  std::optional<libcert::SealKeyState> lookup(std::string_view) const override {
    using S = libcert::SealKeyState::State;
    return libcert::SealKeyState{"v1", compromised ? S::kRevoked : S::kActive, compromised,
                                 std::nullopt, std::nullopt};
  }
};

// Seals the corpus licence with /M = `claimed` and, if `stamp_at` is set, a signature time-stamp
// made by the demo TSA at that time.
std::string seal_at(std::int64_t claimed, std::optional<std::int64_t> stamp_at) {
  static const std::string unsigned_pdf = cairo_licence();
  const auto samr = seal_of("samr");
  const libcert::FixedClock m(claimed);
  libcert::SealOptions o;
  o.clock = &m;
  o.rect = {kSealX, kSealY, kSealSize, kSealSize};
  o.reason = "电子证照签章";
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  std::optional<libcert::FixedClock> tsa_clock;
  std::optional<libcert::TimeStampAuthority> tsa;
  if (stamp_at) {
    tsa_clock.emplace(*stamp_at);
    libcert::TsaOptions to;
    to.clock = &*tsa_clock;
    to.rng = &rng;
    to.state = &state;
    tsa.emplace(libcert::TimeStampAuthority::from_files(kDemoKeys + "/tsa/tsa.key",
                                                        kDemoKeys + "/tsa/tsa.crt", {}, to));
    o.timestamper = &*tsa;
  }
  return libcert::seal_pdf(unsigned_pdf, samr, o);
}

libcert::VerificationReport verify(const std::string& pdf, const Keys& keys) {
  libcert::TrustStore trust;
  trust.add_path(kDemoKeys + "/root/root.crt");
  const libcert::FixedClock now(kVerifyTime);
  libcert::VerifyOptions o;
  o.clock = &now;
  o.keys = &keys;
  return libcert::verify_pdf(pdf, trust, o);
}

class VerifyBt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Sealed at kSealTime, time-stamped 30 s later (the TSA's answer takes some time).
    bt_ = new std::string(seal_at(kSealTime, kSealTime + 30));
    bb_ = new std::string(seal_at(kSealTime, std::nullopt));
  }
  static void TearDownTestSuite() {
    delete bt_;
    delete bb_;
  }
  static std::string* bt_;
  static std::string* bb_;
};
std::string* VerifyBt::bt_ = nullptr;
std::string* VerifyBt::bb_ = nullptr;

TEST_F(VerifyBt, TimeStampIsTheProvenSigningTime) {
  const Keys active;
  const auto r = verify(*bt_, active);
  ASSERT_EQ(r.signatures.size(), 1u);
  const auto& s = r.signatures[0];
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  ASSERT_NE(s.check("signature-timestamp"), nullptr) << r.to_text();
  EXPECT_EQ(s.check("signature-timestamp")->status, CheckStatus::kPass);
  ASSERT_TRUE(s.proven_time.has_value());
  EXPECT_EQ(*s.proven_time, kSealTime + 30);
  EXPECT_EQ(s.signing_time_unix, kSealTime);  // /M: still reported, as the claim
  EXPECT_NE(s.signing_time_source.find("proven by an RFC 3161 signature time-stamp"),
            std::string::npos);
  // A B-B seal has no such check and no proven time.
  const auto b = verify(*bb_, active);
  EXPECT_EQ(b.result, Verdict::kValid) << b.to_text();
  EXPECT_EQ(b.signatures[0].check("signature-timestamp"), nullptr);
  EXPECT_FALSE(b.signatures[0].proven_time.has_value());
}

TEST_F(VerifyBt, CompromiseAfterTheProvenTimeStaysValidBeforeItIsRevoked) {
  Keys later;
  later.compromised = kSealTime + 3600;
  auto r = verify(*bt_, later);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  EXPECT_EQ(r.signatures[0].key_state, "revoked");
  EXPECT_EQ(r.signatures[0].check("key-state")->status, CheckStatus::kPass);

  // Compromised between /M and the token's genTime: the proof says only "by genTime", which is
  // after the compromise — REVOKED.
  Keys between;
  between.compromised = kSealTime + 10;
  r = verify(*bt_, between);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_EQ(r.signatures[0].check("key-state")->status, CheckStatus::kFail);

  // The same compromise time on a B-B seal: its /M proves nothing — REVOKED.
  r = verify(*bb_, later);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_NE(r.signatures[0].check("key-state")->detail.find("no time-stamp proves"),
            std::string::npos);
}

// A thief of the seal key, after compromised_at, backdates /M to before it.
TEST_F(VerifyBt, BackdatedForgeryIsRefusedWithOrWithoutATimeStamp) {
  const std::int64_t compromised_at = kSealTime + 86400;
  const std::int64_t forged_at = compromised_at + 3600;  // when the thief really signs
  Keys keys;
  keys.compromised = compromised_at;
  // No token: /M says kSealTime (before the compromise), nothing proves it.
  const std::string no_token = seal_at(kSealTime, std::nullopt);
  auto r = verify(no_token, keys);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_EQ(r.signatures[0].check("key-state")->status, CheckStatus::kFail);
  // A genuine token, necessarily made after the compromise: the proven time wins over /M.
  const std::string late_token = seal_at(kSealTime, forged_at);
  r = verify(late_token, keys);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_EQ(*r.signatures[0].proven_time, forged_at);
  EXPECT_NE(r.signatures[0].check("key-state")->detail.find("at or before the signing time"),
            std::string::npos)
      << r.to_text();
}

// A token that is not a valid time-stamp of this signature (its bytes altered inside /Contents)
// proves nothing and invalidates the signature (failing check signature-timestamp).
TEST_F(VerifyBt, AlteredTokenIsInvalid) {
  std::string bad = *bt_;
  // The token is the last element of the CMS (SignerInfo.unsignedAttrs), and its own signature
  // value is the token's last field: flip a hex digit 20 digits before the zero padding.
  const SigPos p = sig_pos(bad);
  std::size_t i = p.ct_end - 1;  // the closing '>'
  while (i > p.ct_pos && bad[i - 1] == '0') --i;
  i -= 20;
  bad[i] = bad[i] == '1' ? '2' : '1';
  const Keys active;
  const auto r = verify(bad, active);
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  ASSERT_NE(r.signatures[0].check("signature-timestamp"), nullptr) << r.to_text();
  EXPECT_EQ(r.signatures[0].check("signature-timestamp")->status, CheckStatus::kFail);
}

}  // namespace
