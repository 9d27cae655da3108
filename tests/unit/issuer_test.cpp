// The Issuer façade end to end in-process: validate → render → signed QR → seal; the result is
// checked with libcert's verifier and the QR payload decoder (interop with external tools is in
// tests/interop/issue_all_test.cpp).
#include "libcert/issuer.h"

#include <gtest/gtest.h>

#include "libcert/error.h"
#include "libcert/qr_payload.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "support/attack_corpus.h"
#include "support/process.h"

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
constexpr std::int64_t kNov2026 = 1793462400;  // 2026-11-01T00:00:00Z (08:00 China time)

class IssuerTest : public ::testing::Test {
 protected:
  IssuerTest()
      : templates_(libcert::TemplateSet::cached(kSrc + "/templates")),
        seals_(libcert::SealKeyring::load_dir(kSrc + "/keys-example")),
        clock_(kNov2026),
        issuer_(*templates_, seals_, {.clock = &clock_, .qr_host = "LIC.ALI.EXAMPLE"}) {}

  static nlohmann::json sample(const std::string& id) {
    return nlohmann::json::parse(testsupport::slurp(kSrc + "/templates/" + id + "/sample.json"));
  }

  std::shared_ptr<const libcert::TemplateSet> templates_;
  libcert::SealKeyring seals_;
  libcert::FixedClock clock_;
  libcert::Issuer issuer_;
};

TEST_F(IssuerTest, IssuesAVerifiableLicenceWithASignedQr) {
  libcert::IssueRequest req;
  req.template_id = "business-licence-enterprise";
  req.data = sample(req.template_id);
  req.serial = "2026000123";
  req.status_index = 4711;
  const auto lic = issuer_.issue(req);

  EXPECT_EQ(lic.identifier.rfind("1.2.156.3005.2.11100000000013338W001.115425000199003834."
                                 "2026000123.001.",
                                 0),
            0U)
      << lic.identifier;
  EXPECT_EQ(libcert::LicenceId::parse(lic.identifier).str(), lic.identifier);
  EXPECT_EQ(lic.department, "samr");
  EXPECT_EQ(lic.issued_at, kNov2026);
  EXPECT_EQ(lic.pdf_sha256.size(), 64U);

  libcert::TrustStore trust;
  trust.add_path(kSrc + "/keys-example/root/root.crt");
  // Trust data: the example trust bundle (key states), verified against the pinned bundle key.
  const libcert::BundleSealKeys keys(
      libcert::TrustBundle::parse(attack::example_bundle(), attack::example_pins()));
  const auto report = libcert::verify_pdf(lic.pdf, trust, {.clock = &clock_, .keys = &keys});
  EXPECT_EQ(report.result, libcert::Verdict::kValid) << report.to_text();

  // The QR carries the licence's key data, signed by the same seal.
  ASSERT_EQ(lic.qr_text.rfind("HTTPS://LIC.ALI.EXAMPLE/V#", 0), 0U) << lic.qr_text;
  const auto claims = libcert::decode_qr_payload(libcert::qr_payload_from_text(lic.qr_text));
  EXPECT_EQ(claims.issuer, "115425000199003834");
  EXPECT_EQ(claims.issued_at, kNov2026);
  EXPECT_EQ(claims.licence.identifier, lic.identifier);
  EXPECT_EQ(claims.licence.holder_name, req.data.at("name").get<std::string>());
  EXPECT_EQ(claims.licence.holder_code, req.data.at("uscc").get<std::string>());
  EXPECT_EQ(claims.licence.issue_date, 20261101U);
  EXPECT_EQ(claims.licence.status_index, 4711U);
}

TEST_F(IssuerTest, BadDataIsRejectedWithEveryProblemAndNothingIsMade) {
  libcert::IssueRequest req;
  req.template_id = "business-licence-enterprise";
  req.data = sample(req.template_id);
  req.data["uscc"] = "91542523MA6T1D4L2X";  // wrong check character
  req.data.erase("legal_representative");
  req.serial = "1";
  try {
    (void)issuer_.issue(req);
    FAIL() << "expected a validation error";
  } catch (const libcert::Error& e) {
    ASSERT_EQ(e.code(), libcert::ErrorCode::kValidation) << e.what();
    std::vector<std::string> fields;
    for (const auto& p : e.problems()) fields.push_back(p.field + "/" + p.rule);
    EXPECT_NE(std::find(fields.begin(), fields.end(), "uscc/uscc-check"), fields.end()) << e.what();
    EXPECT_NE(std::find(fields.begin(), fields.end(), "legal_representative/required"),
              fields.end())
        << e.what();
  }
}

TEST_F(IssuerTest, UnknownTemplateAndBadSerialAreSpecificErrors) {
  libcert::IssueRequest req;
  req.template_id = "no-such-template";
  req.serial = "1";
  try {
    (void)issuer_.issue(req);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kNotFound) << e.what();
  }
  req.template_id = "business-licence-enterprise";
  req.data = sample(req.template_id);
  req.serial = "lower-case";
  try {
    (void)issuer_.issue(req);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kValidation) << e.what();
  }
}

}  // namespace
