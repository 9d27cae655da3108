// The RFC 3161 TSA (libcert/tsa.h), checked with the openssl CLI: queries made by `openssl ts
// -query`, replies and tokens verified by `openssl ts -verify` against the demo root, rejections
// read back as PKIFailureInfo bits.
#include "libcert/tsa.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <atomic>
#include <iostream>
#include <thread>
#include <set>
#include <stdexcept>

#include "libcert/error.h"
#include "libcert/roles.h"
#include "libcert/sign.h"
#include "libcert/verify.h"
#include "ossl.h"
#include "support/attack_corpus.h"
#include "support/process.h"
#include "support/verifiers.h"
#include "verify_tst.h"

namespace {

using testsupport::run;
using testsupport::shell_quote;
using testsupport::slurp;
using testsupport::spit;

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kJune2025 = 1748736000;  // 2025-06-01T00:00:00Z

libcert::TsaOptions options(const libcert::Clock& clock, libcert::Rng& rng,
                            libcert::TsaClockState& state) {
  libcert::TsaOptions o;
  o.clock = &clock;
  o.rng = &rng;
  o.state = &state;
  return o;
}

libcert::TimeStampAuthority demo_tsa(const libcert::TsaOptions& o) {
  return libcert::TimeStampAuthority::from_files(kKeys + "/tsa/tsa.key", kKeys + "/tsa/tsa.crt",
                                                 {}, o);
}

std::string openssl_verify_reply(const std::string& data_file, const std::string& reply_file) {
  return run("openssl ts -verify -data " + shell_quote(data_file) + " -in " +
             shell_quote(reply_file) + " -CAfile " + shell_quote(kKeys + "/root/root.crt") +
             " -untrusted " + shell_quote(kKeys + "/tsa/tsa.crt"))
      .out;
}

TEST(Tsa, OpensslQueryIsGrantedAndVerifiesWithOpenssl) {
  testsupport::TempDir dir;
  spit(dir / "msg.bin", "a licence signature value");
  ASSERT_EQ(run("openssl ts -query -data " + shell_quote((dir / "msg.bin").string()) +
                " -sha256 -cert -out " + shell_quote((dir / "q.tsq").string()))
                .exit_code,
            0);
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = demo_tsa(options(clock, rng, state));
  const std::string reply = tsa.respond(slurp(dir / "q.tsq"));
  spit(dir / "r.tsr", reply);

  const std::string v = openssl_verify_reply((dir / "msg.bin").string(),
                                             (dir / "r.tsr").string());
  EXPECT_NE(v.find("Verification: OK"), std::string::npos) << v;

  const std::string text =
      run("openssl ts -reply -in " + shell_quote((dir / "r.tsr").string()) + " -text").out;
  EXPECT_NE(text.find("Status: Granted."), std::string::npos) << text;
  EXPECT_NE(text.find("Policy OID: " + std::string(libcert::kTsaPolicyOid)), std::string::npos)
      << text;
  EXPECT_NE(text.find("Jun  1 00:00:00 2025 GMT"), std::string::npos) << text;
  EXPECT_NE(text.find("Accuracy: 0x01 seconds"), std::string::npos) << text;

  const libcert::TimeStampReply r = libcert::parse_timestamp_reply(reply);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.gen_time, kJune2025);
  EXPECT_EQ(r.policy_oid, libcert::kTsaPolicyOid);
  EXPECT_EQ(r.serial_hex.size(), 32u);  // 127-bit random serial, top byte non-zero
  EXPECT_EQ(state.last(), kJune2025);

  // A different message does not verify against this token (the imprint binds it).
  spit(dir / "other.bin", "another signature value");
  const std::string bad = openssl_verify_reply((dir / "other.bin").string(),
                                               (dir / "r.tsr").string());
  EXPECT_EQ(bad.find("Verification: OK"), std::string::npos) << bad;
  EXPECT_NE(bad.find("message imprint mismatch"), std::string::npos) << bad;
}

TEST(Tsa, StampedTokenVerifiesAsATokenWithOpenssl) {
  testsupport::TempDir dir;
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = demo_tsa(options(clock, rng, state));
  const std::string sigval = "the DER signature value of a seal";
  std::array<std::uint8_t, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(sigval.data()), sigval.size(), d.data());
  spit(dir / "sig.bin", sigval);
  spit(dir / "token.der", tsa.stamp(d));
  const std::string v = run("openssl ts -verify -token_in -in " +
                            shell_quote((dir / "token.der").string()) + " -data " +
                            shell_quote((dir / "sig.bin").string()) + " -CAfile " +
                            shell_quote(kKeys + "/root/root.crt"))
                            .out;
  // certReq is set by stamp(): the token carries the TSA certificate, so no -untrusted needed.
  EXPECT_NE(v.find("Verification: OK"), std::string::npos) << v;
}

TEST(Tsa, Sha1ImprintIsRejectedWithBadAlg) {
  testsupport::TempDir dir;
  spit(dir / "msg.bin", "x");
  ASSERT_EQ(run("openssl ts -query -data " + shell_quote((dir / "msg.bin").string()) +
                " -sha1 -out " + shell_quote((dir / "q.tsq").string()))
                .exit_code,
            0);
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto r = libcert::parse_timestamp_reply(
      demo_tsa(options(clock, rng, state)).respond(slurp(dir / "q.tsq")));
  EXPECT_EQ(r.status, 2);  // rejection
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadAlg});
  EXPECT_TRUE(r.token.empty());
  EXPECT_EQ(state.last(), 0);  // nothing was stamped
}

TEST(Tsa, GarbageIsRejectedWithBadDataFormat) {
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto r = libcert::parse_timestamp_reply(
      demo_tsa(options(clock, rng, state)).respond("this is not DER"));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadDataFormat});
}

TEST(Tsa, ClockBehindTheLastTokenIsRejectedWithTimeNotAvailable) {
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state(kJune2025 + 10);  // another instance stamped 10 s later
  libcert::FixedClock clock(kJune2025);
  const auto tsa = demo_tsa(options(clock, rng, state));
  std::array<std::uint8_t, 32> d{};
  const auto r = libcert::parse_timestamp_reply(tsa.respond(libcert::timestamp_query(d, {})));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.failures,
            std::vector<libcert::TsaFailure>{libcert::TsaFailure::kTimeNotAvailable});
  EXPECT_NE(r.status_text.find("clock behind the last token"), std::string::npos) << r.status_text;
  EXPECT_EQ(state.last(), kJune2025 + 10);
  try {
    (void)tsa.stamp(d);
    ADD_FAILURE() << "stamp() with a clock behind the last token must throw";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("time not available"), std::string::npos) << e.what();
  }
  // The same second as the last token is not backwards: granted.
  libcert::FixedClock same(kJune2025 + 10);
  const auto ok = libcert::parse_timestamp_reply(
      demo_tsa(options(same, rng, state)).respond(libcert::timestamp_query(d, {})));
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.gen_time, kJune2025 + 10);
}

TEST(Tsa, StateFailureIsRejectedWithSystemFailure) {
  struct Broken final : libcert::TsaClockState {
    bool advance(std::int64_t, std::int64_t&) override {
      throw std::runtime_error("registry unavailable");
    }
  } broken;
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  std::array<std::uint8_t, 32> d{};
  const auto r = libcert::parse_timestamp_reply(
      demo_tsa(options(clock, rng, broken)).respond(libcert::timestamp_query(d, {})));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kSystemFailure});
}

TEST(Tsa, SerialsAreUniqueAcrossInstancesSharingNothingButTheClockState) {
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng1, rng2;
  libcert::MemoryTsaClockState state;
  const auto a = demo_tsa(options(clock, rng1, state));
  const auto b = demo_tsa(options(clock, rng2, state));
  std::set<std::string> serials;
  std::array<std::uint8_t, 32> d{};
  for (int i = 0; i < 100; ++i) {
    d[0] = static_cast<std::uint8_t>(i);
    for (const auto* t : {&a, &b}) {
      const auto r = libcert::parse_timestamp_reply(t->respond(libcert::timestamp_query(d, {})));
      ASSERT_EQ(r.status, 0);
      EXPECT_EQ(r.serial_hex.size(), 32u);
      EXPECT_TRUE(serials.insert(r.serial_hex).second) << "duplicate serial " << r.serial_hex;
    }
  }
  EXPECT_EQ(serials.size(), 200u);
}

// Many threads of one TSA with a clock that ticks on every reading: reading the clock and
// advancing the state are one step, so no thread records an earlier time after a later one and
// none is refused (a race here refused 1 issuance in 2,000 under load in certd).
TEST(Tsa, ConcurrentStampsNeverRaceTheClockState) {
  struct Ticking final : libcert::Clock {
    mutable std::atomic<std::int64_t> n{0};
    std::int64_t now() const override { return kJune2025 + n.fetch_add(1); }
  } clock;
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = demo_tsa(options(clock, rng, state));
  std::atomic<int> refused{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&] {
      std::array<std::uint8_t, 32> d{};
      for (int i = 0; i < 40; ++i) {
        const auto r = libcert::parse_timestamp_reply(tsa.respond(libcert::timestamp_query(d, {})));
        if (r.status != 0) ++refused;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(refused.load(), 0);
}

TEST(Tsa, OnlyACertificateInTheTsaRoleMaySignTokens) {
  libcert::FixedClock clock(kJune2025);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  try {
    (void)libcert::TimeStampAuthority::from_files(kKeys + "/seals/samr/seal.key",
                                                  kKeys + "/seals/samr/seal.crt", {},
                                                  options(clock, rng, state));
    ADD_FAILURE() << "a seal certificate must not become a TSA";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("not in the TSA role"), std::string::npos) << e.what();
  }
  try {
    auto o = options(clock, rng, state);
    o.state = nullptr;
    (void)demo_tsa(o);
    ADD_FAILURE() << "a TSA without a clock state must be refused";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
  }
}

// PAdES B-T, checked by tools nobody here wrote: pdfsig says the seal is valid and trusted,
// mutool sees the document unchanged, qpdf finds the structure clean, and the signature
// time-stamp token taken out of the CMS verifies with `openssl ts -verify` against the demo root,
// its imprint being SHA-256 of the SignerInfo's signature value (RFC 3161 Appendix A).
TEST(TsaPadesBt, SealWithSignatureTimeStampVerifiesWithIndependentTools) {
  testsupport::TempDir dir;
  libcert::FixedClock m(attack::kSealTime);
  libcert::FixedClock tsa_clock(attack::kSealTime + 5);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = demo_tsa(options(tsa_clock, rng, state));
  const auto samr = attack::seal_of("samr");
  libcert::SealOptions o;
  o.clock = &m;
  o.rect = {attack::kSealX, attack::kSealY, attack::kSealSize, attack::kSealSize};
  o.timestamper = &tsa;
  const std::string unsigned_pdf = attack::cairo_licence();
  const std::string bt = libcert::seal_pdf(unsigned_pdf, samr, o);
  o.timestamper = nullptr;
  const std::string bb = libcert::seal_pdf(unsigned_pdf, samr, o);
  spit(dir / "bt.pdf", bt);
  std::cout << "[ size ] B-B " << bb.size() << " bytes, B-T " << bt.size() << " bytes (+"
            << bt.size() - bb.size() << ")\n";
  EXPECT_GT(bt.size(), bb.size());

  testsupport::NssTrust nss(dir / "nss", kKeys + "/root/root.crt");
  const std::string ps = nss.pdfsig(dir / "bt.pdf");
  EXPECT_TRUE(testsupport::contains(ps, "Signature Validation: Signature is Valid.")) << ps;
  EXPECT_TRUE(testsupport::contains(ps, "Certificate Validation: Certificate is Trusted.")) << ps;
  EXPECT_TRUE(testsupport::contains(ps, "Total document signed")) << ps;
  const auto mu = run("mutool sign -v " + shell_quote((dir / "bt.pdf").string()));
  EXPECT_TRUE(testsupport::contains(mu.out, "The document is unchanged since signing.")) << mu.out;
  const auto qc = run("qpdf --check " + shell_quote((dir / "bt.pdf").string()));
  EXPECT_EQ(qc.exit_code, 0) << qc.out;
  EXPECT_TRUE(testsupport::contains(qc.out, "No syntax or stream encoding errors found")) << qc.out;

  // The token and the signature value, read from /Contents with OpenSSL's CMS parser.
  const attack::SigPos p = attack::sig_pos(bt);
  std::string hex = bt.substr(p.ct_pos + 1, p.ct_end - p.ct_pos - 2);
  std::string cms_der;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    cms_der += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  libcert::TrustStore trust;
  trust.add_path(kKeys + "/root/root.crt");
  const auto ts = libcert::detail::signature_timestamps(cms_der, trust, attack::kVerifyTime);
  ASSERT_EQ(ts.tokens.size(), 1u);
  EXPECT_EQ(ts.proven_time, attack::kSealTime + 5);
  spit(dir / "token.der", ts.tokens[0]);
  const auto* q = reinterpret_cast<const unsigned char*>(cms_der.data());
  libcert::ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &q, static_cast<long>(cms_der.size())));
  ASSERT_TRUE(cms);
  const ASN1_OCTET_STRING* sv =
      CMS_SignerInfo_get0_signature(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0));
  spit(dir / "sigvalue.bin",
       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sv)),
                   static_cast<std::size_t>(ASN1_STRING_length(sv))));
  const auto v = run("openssl ts -verify -token_in -in " + shell_quote((dir / "token.der").string()) +
                     " -data " + shell_quote((dir / "sigvalue.bin").string()) + " -CAfile " +
                     shell_quote(kKeys + "/root/root.crt"));
  EXPECT_TRUE(testsupport::contains(v.out, "Verification: OK")) << v.out;
}

}  // namespace
