// PAdES B-LT and B-LTA (issue 19): a /DSS with the chains and CRLs, and document time-stamps,
// appended as incremental updates the change policy allows; verification at the proven time
// with the DSS after the certificates have expired (the verifier's clock moved past notAfter),
// CRLs (revoked before / after the proven time, forged), issuing-CA roles, and archive
// time-stamp semantics. The PKI is made per test run (tests/support/test_pki.h).
#include <gtest/gtest.h>

#include <algorithm>

#include "libcert/error.h"
#include "libcert/ltv.h"
#include "libcert/pdf.h"
#include "libcert/sign.h"
#include "libcert/tsa.h"
#include "libcert/verify.h"
#include "support/attack_corpus.h"
#include "support/test_pki.h"

using libcert::CheckStatus;
using libcert::PadesLevel;
using libcert::Verdict;
using namespace attack;  // NOLINT: the corpus helpers

namespace {

constexpr std::int64_t kDay = 86400, kYear = 365 * kDay;
constexpr std::int64_t kT0 = kSealTime - 30 * kDay;           // certificates issued
constexpr std::int64_t kSealNotAfter = kT0 + kYear;           // seal certificate: one year
constexpr std::int64_t kTsaNotAfter = kT0 + 2 * kYear;        // TSA certificate: two years
constexpr std::int64_t kLater = kT0 + 5 * kYear;              // both expired
constexpr std::int64_t kStampTime = kSealTime + 30;           // the signature time-stamp

struct ActiveKeys final : libcert::SealKeyDirectory {
  std::optional<libcert::SealKeyState> lookup(std::string_view) const override {
    return libcert::SealKeyState{"v1", libcert::SealKeyState::State::kActive, std::nullopt,
                                 std::nullopt, std::nullopt};
  }
};

struct Pki {
  testpki::Cert root = testpki::root(kT0 - kYear, kT0 + 30 * kYear);
  testpki::Cert ca = testpki::issuing_ca(root, kT0 - kYear, kT0 + 20 * kYear);
  testpki::Cert seal = testpki::seal(ca, 100, kSamrUscc, kT0, kSealNotAfter);
  testpki::Cert tsa = testpki::tsa(ca, 200, kT0, kTsaNotAfter);
  // A second TSA, valid much longer: the archive time-stamps of B-LTA.
  testpki::Cert tsa2 = testpki::tsa(ca, 201, kT0, kT0 + 15 * kYear);
};
const Pki& pki() {
  static const Pki p;
  return p;
}

struct Tsa {
  libcert::FixedClock clock;
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  libcert::TimeStampAuthority tsa;
  Tsa(const testpki::Cert& cert, std::int64_t at)
      : clock(at), tsa(libcert::TimeStampAuthority::from_pem(
                       cert.key.pem(), cert.pem(), pki().ca.pem(),
                       libcert::TsaOptions{&clock, &rng, &state, {}, 1})) {}
};

// The CRL of the issuing CA one hour after the proven signing time, listing `revoked`.
std::string ca_crl(const std::vector<std::pair<long, std::int64_t>>& revoked = {},
                   const testpki::Key* signer = nullptr) {
  return testpki::crl(pki().ca, kStampTime + 3600, kStampTime + 3600 + 7 * kDay, revoked, signer);
}

std::string seal(PadesLevel level, const libcert::ValidationData& vd) {
  static const std::string unsigned_pdf = cairo_licence();
  const auto signer = libcert::PemFileSigner::from_pem(pki().seal.key.pem(), pki().seal.pem(),
                                                       pki().ca.pem());
  const libcert::FixedClock m(kSealTime);
  libcert::SealOptions o;
  o.clock = &m;
  o.rect = {kSealX, kSealY, kSealSize, kSealSize};
  Tsa tsa(pki().tsa, kStampTime);
  return libcert::seal_to_level(unsigned_pdf, signer, o, level,
                                level == PadesLevel::b_b ? nullptr : &tsa.tsa, vd);
}

libcert::VerificationReport verify(const std::string& pdf, std::int64_t now) {
  static const ActiveKeys keys;
  libcert::TrustStore trust;
  trust.add_pem(pki().root.pem(), "test root");
  const libcert::FixedClock clock(now);
  libcert::VerifyOptions o;
  o.clock = &clock;
  o.keys = &keys;
  return libcert::verify_pdf(pdf, trust, o);
}

const libcert::SignatureReport& seal_report(const libcert::VerificationReport& r) {
  for (const auto& s : r.signatures)
    if (!s.doc_timestamp) return s;
  throw std::runtime_error("no seal");
}

TEST(Ltv, DssIsAnAllowedIncrementalUpdate) {
  const std::string bt = seal(PadesLevel::b_t, {});
  const std::string lt = libcert::add_dss(bt, {{pki().ca.der()}, {ca_crl()}});
  ASSERT_EQ(lt.compare(0, bt.size(), bt), 0) << "every earlier byte is kept";
  const auto doc = libcert::pdf::Document::open(lt);
  const auto dss = doc.resolve(doc.catalog().get("DSS"));
  ASSERT_TRUE(dss.is(libcert::pdf::Kind::kDict));
  EXPECT_EQ(doc.resolve(dss.as_dict().get("Certs")).as_array().size(), 1u);
  EXPECT_EQ(doc.resolve(dss.as_dict().get("CRLs")).as_array().size(), 1u);
  // /VRI keyed by the upper-case SHA-1 hex of the signature's /Contents (40 hex digits).
  const auto vri = doc.resolve(dss.as_dict().get("VRI"));
  ASSERT_EQ(vri.as_dict().size(), 1u);
  EXPECT_EQ(vri.as_dict().entries()[0].first.size(), 40u);

  const auto r = verify(lt, kVerifyTime);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  ASSERT_NE(r.check("validation-data"), nullptr);
  EXPECT_EQ(r.check("validation-data")->status, CheckStatus::kPass);
  const auto& s = seal_report(r);
  EXPECT_EQ(s.check("modifications")->status, CheckStatus::kPass) << r.to_text();
  ASSERT_FALSE(s.changes.empty());
  for (const auto& c : s.changes) EXPECT_EQ(c.kind, libcert::ChangeClass::kLtaUpdate);
  ASSERT_NE(s.check("ca-role"), nullptr) << r.to_text();
  EXPECT_EQ(s.check("ca-role")->status, CheckStatus::kPass);

  // A second DSS update only grows it: the same certificate is not added twice.
  const std::string lt2 = libcert::add_dss(lt, {{pki().ca.der(), pki().tsa.der()}, {}});
  const auto doc2 = libcert::pdf::Document::open(lt2);
  const auto dss2 = doc2.resolve(doc2.catalog().get("DSS"));
  EXPECT_EQ(doc2.resolve(dss2.as_dict().get("Certs")).as_array().size(), 2u);
  EXPECT_EQ(verify(lt2, kVerifyTime).result, Verdict::kValid);

  // Bad input: nothing, or bytes that are not a certificate.
  EXPECT_THROW((void)libcert::add_dss(bt, {}), libcert::Error);
  EXPECT_THROW((void)libcert::add_dss(bt, {{"not DER"}, {}}), libcert::Error);
}

TEST(Ltv, BltVerifiesOfflineAfterTheCertificatesExpired) {
  const std::string lt = seal(PadesLevel::b_lt, {{pki().ca.der()}, {ca_crl()}});
  const auto r = verify(lt, kLater);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  const auto& s = seal_report(r);
  EXPECT_EQ(*s.proven_time, kStampTime);
  ASSERT_NE(s.check("revocation"), nullptr) << r.to_text();
  EXPECT_EQ(s.check("revocation")->status, CheckStatus::kPass);
  EXPECT_EQ(s.check("signature-timestamp")->status, CheckStatus::kPass);
}

TEST(Ltv, BbAfterExpiryCannotProveWhenItWasSealed) {
  const std::string bb = seal(PadesLevel::b_b, {});
  EXPECT_EQ(verify(bb, kVerifyTime).result, Verdict::kValid);
  const auto r = verify(bb, kLater);
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  const auto* c = seal_report(r).check("proof-of-existence");
  ASSERT_NE(c, nullptr) << r.to_text();
  EXPECT_EQ(c->status, CheckStatus::kFail);
  EXPECT_NE(c->detail.find("no time-stamp proves"), std::string::npos) << c->detail;
}

TEST(Ltv, BtWithoutValidationDataAfterExpiryIsIndeterminate) {
  const auto r = verify(seal(PadesLevel::b_t, {}), kLater);
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  EXPECT_EQ(seal_report(r).check("signature-timestamp")->status, CheckStatus::kNotChecked);
}

TEST(Ltv, CrlRevocationBeforeTheProvenTimeIsRevokedAfterItValid) {
  // Revoked (key compromise) one hour before the time-stamp: REVOKED, even today.
  auto r = verify(seal(PadesLevel::b_lt, {{pki().ca.der()}, {ca_crl({{100, kStampTime - 3600}})}}),
                  kVerifyTime);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_EQ(seal_report(r).check("revocation")->status, CheckStatus::kFail);
  // Revoked after the time-stamp: the seal was made before; VALID after expiry too.
  r = verify(seal(PadesLevel::b_lt, {{pki().ca.der()}, {ca_crl({{100, kStampTime + 60}})}}),
             kLater);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  // A B-B seal listed in a CRL: nothing proves it was made before the revocation.
  const std::string bb = libcert::add_dss(seal(PadesLevel::b_b, {}),
                                          {{pki().ca.der()}, {ca_crl({{100, kSealTime + 60}})}});
  r = verify(bb, kVerifyTime);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
}

TEST(Ltv, ForgedOrStaleCrlsProveNothing) {
  // Signed by another key: ignored, so after expiry there is no revocation data.
  const testpki::Key other = testpki::ec_key();
  auto r = verify(seal(PadesLevel::b_lt, {{pki().ca.der()}, {ca_crl({}, &other)}}), kLater);
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  // Issued before the proven signing time: it says nothing about the seal at that time.
  const std::string early = testpki::crl(pki().ca, kSealTime - kDay, kSealTime + 6 * kDay, {});
  r = verify(seal(PadesLevel::b_lt, {{pki().ca.der()}, {early}}), kLater);
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << r.to_text();
  EXPECT_EQ(seal_report(r).check("revocation") != nullptr ||
                seal_report(r).check("signature-timestamp")->status == CheckStatus::kNotChecked,
            true);
}

TEST(Ltv, IntermediateWithoutTheIssuingCaRoleIsRefused) {
  // A CA without pathlen 0 (it could certify further CAs) may not issue seals (trust.md).
  const testpki::Cert loose = testpki::issuing_ca(pki().root, kT0 - kYear, kT0 + 20 * kYear,
                                                  "critical,CA:TRUE");
  const testpki::Cert s = testpki::seal(loose, 300, kSamrUscc, kT0, kSealNotAfter);
  const auto signer = libcert::PemFileSigner::from_pem(s.key.pem(), s.pem(), loose.pem());
  const libcert::FixedClock m(kSealTime);
  libcert::SealOptions o;
  o.clock = &m;
  const std::string pdf = libcert::seal_pdf(cairo_licence(), signer, o);
  const auto r = verify(pdf, kVerifyTime);
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(seal_report(r).check("ca-role")->status, CheckStatus::kFail);
}

TEST(Ltv, DocumentTimeStampIsVerifiedAndExtendsTheValidationData) {
  // B-LTA with the archive TSA: the seal's TSA has no CRL in the DSS, but the document
  // time-stamp (made while it was valid) freezes the validation data before it.
  std::string pdf = seal(PadesLevel::b_t, {});
  pdf = libcert::add_dss(pdf, {{pki().ca.der()}, {ca_crl()}});
  Tsa archive(pki().tsa2, kSealTime + 100 * kDay);
  pdf = libcert::add_document_timestamp(pdf, archive.tsa);
  auto r = verify(pdf, kLater);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  const libcert::SignatureReport* dts = nullptr;
  for (const auto& s : r.signatures)
    if (s.doc_timestamp) dts = &s;
  ASSERT_NE(dts, nullptr);
  EXPECT_EQ(dts->result, Verdict::kValid) << r.to_text();
  EXPECT_TRUE(dts->covers_whole_file);
  EXPECT_EQ(dts->check("timestamp-token")->status, CheckStatus::kPass);
  EXPECT_EQ(*dts->proven_time, kSealTime + 100 * kDay);
  EXPECT_EQ(dts->byte_range[2] + dts->byte_range[3], static_cast<std::int64_t>(pdf.size()));
  const std::size_t at = static_cast<std::size_t>(dts->byte_range[1]) + 200;  // in its token

  // Without a CRL, B-T + a document time-stamp made before the seal certificate expired:
  // at the archive time nothing had expired, so no revocation data is needed.
  std::string lta = libcert::add_document_timestamp(seal(PadesLevel::b_t, {}), archive.tsa);
  r = verify(lta, kLater);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  // The same B-T without it: INDETERMINATE.
  EXPECT_EQ(verify(seal(PadesLevel::b_t, {}), kLater).result, Verdict::kIndeterminate);

  // An altered token inside the document time-stamp: INVALID.
  std::string bad = pdf;
  bad[at] = bad[at] == 'A' ? 'B' : 'A';
  r = verify(bad, kVerifyTime);
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
}

// A thief of the seal key signs after compromised_at and backdates /M before it: refused with no
// time-stamp and with a (necessarily later) genuine one, also with B-LT validation data and with
// the clock past the certificate's expiry.
TEST(Ltv, BackdatedForgeryIsRefusedAtEveryLevel) {
  struct Compromised final : libcert::SealKeyDirectory {
    std::optional<libcert::SealKeyState> lookup(std::string_view) const override {
      return libcert::SealKeyState{"v1", libcert::SealKeyState::State::kRevoked,
                                   kSealTime + kDay, std::nullopt, std::nullopt};
    }
  } keys;
  const auto signer = libcert::PemFileSigner::from_pem(pki().seal.key.pem(), pki().seal.pem(),
                                                       pki().ca.pem());
  const libcert::FixedClock m(kSealTime);  // the claim: before the compromise
  libcert::SealOptions o;
  o.clock = &m;
  Tsa late(pki().tsa, kSealTime + 2 * kDay);  // the truth: after it
  const libcert::ValidationData vd{{pki().ca.der()}, {ca_crl()}};
  libcert::TrustStore trust;
  trust.add_pem(pki().root.pem(), "test root");
  for (PadesLevel l : {PadesLevel::b_b, PadesLevel::b_lt, PadesLevel::b_lta}) {
    const std::string pdf = libcert::seal_to_level(cairo_licence(), signer, o, l, &late.tsa, vd);
    for (std::int64_t now : {kVerifyTime, kLater}) {
      const libcert::FixedClock clock(now);
      libcert::VerifyOptions vo;
      vo.clock = &clock;
      vo.keys = &keys;
      const auto r = libcert::verify_pdf(pdf, trust, vo);
      EXPECT_NE(r.result, Verdict::kValid) << libcert::to_string(l) << "\n" << r.to_text();
      if (now == kVerifyTime) {
        EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
      }
    }
  }
}

TEST(Ltv, SealToEveryLevel) {
  const libcert::ValidationData vd{{pki().ca.der()}, {ca_crl()}};
  for (PadesLevel l : {PadesLevel::b_b, PadesLevel::b_t, PadesLevel::b_lt, PadesLevel::b_lta}) {
    const std::string pdf = seal(l, vd);
    const auto r = verify(pdf, kVerifyTime);
    EXPECT_EQ(r.result, Verdict::kValid) << libcert::to_string(l) << "\n" << r.to_text();
    EXPECT_EQ(r.signatures.size(), l == PadesLevel::b_lta ? 2u : 1u);
    EXPECT_EQ(r.check("validation-data") != nullptr, l >= PadesLevel::b_lt);
  }
  EXPECT_EQ(libcert::parse_pades_level("b_lta"), PadesLevel::b_lta);
}

// Issue 21: the certificates of the seal's CMS and of its signature and document time-stamp
// tokens are read from their DER (each certificate decoded once per process): the same set as
// OpenSSL's decoder gives — the seal certificate, its chain, the TSA's — each once; and the same again when every certificate is already known (the cached path).
TEST(Ltv, DocumentCertificatesAreTheSealAndTsaCertificatesEachOnce) {
  const std::string pdf = seal(PadesLevel::b_lta, {});
  for (int pass = 0; pass < 2; ++pass) {
    const libcert::ValidationData vd = libcert::document_certificates(pdf);
    ASSERT_EQ(vd.certs_der.size(), 3u) << "pass " << pass;
    EXPECT_EQ(std::count(vd.certs_der.begin(), vd.certs_der.end(), pki().seal.der()), 1);
    EXPECT_EQ(std::count(vd.certs_der.begin(), vd.certs_der.end(), pki().ca.der()), 1);
    EXPECT_EQ(std::count(vd.certs_der.begin(), vd.certs_der.end(), pki().tsa.der()), 1);
    EXPECT_TRUE(vd.crls_der.empty());
  }
  // A document without signatures has none.
  EXPECT_TRUE(libcert::document_certificates(cairo_licence()).certs_der.empty());
  // A CMS the DER reader does not take as is (here: a non-zero byte in the /Contents padding
  // after it, which OpenSSL's decoder ignores) goes through OpenSSL's decoder: the same three.
  std::string odd = seal(PadesLevel::b_lt, {});
  const std::size_t contents = odd.find("/Contents <");
  ASSERT_NE(contents, std::string::npos);
  const std::size_t end = odd.find('>', contents);
  ASSERT_EQ(odd.substr(end - 2, 2), "00");
  odd[end - 1] = '1';
  const libcert::ValidationData vd = libcert::document_certificates(odd);
  ASSERT_EQ(vd.certs_der.size(), 3u);
  for (const auto* c : {&pki().seal, &pki().ca, &pki().tsa})
    EXPECT_EQ(std::count(vd.certs_der.begin(), vd.certs_der.end(), c->der()), 1);
  EXPECT_EQ(libcert::parse_pades_level("B-LT"), PadesLevel::b_lt);
  EXPECT_FALSE(libcert::parse_pades_level("B-LTX").has_value());
}

}  // namespace
