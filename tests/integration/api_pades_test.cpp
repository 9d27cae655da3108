// certd issues PAdES B-LT by default (issue 19): the stored PDF carries a signature time-stamp and
// a /DSS with the seal chain and the TSA chain, and verifies VALID; config "pades" selects the
// level per template and department (template wins), and a bad level stops certd with the field
// named.
#include "certd_fixture.h"
#include "config.h"
#include "libcert/error.h"
#include "libcert/pdf.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;

const std::string kTemplate = "business-licence-enterprise";

// Issues the template's sample as samr and returns the stored PDF.
std::string issue_pdf(CertdProcess& certd, const std::string& idem) {
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  auto h = bearer(key);
  h.emplace("Idempotency-Key", idem);
  auto r = c.Post("/v1/licences", h,
                  nlohmann::json{{"template", kTemplate},
                                 {"data", certdtest::template_sample(kTemplate)}}
                      .dump(),
                  "application/json");
  if (!r || r->status != 201) throw std::runtime_error("issue failed: " + (r ? r->body : ""));
  const std::string id = nlohmann::json::parse(r->body)["id"];
  auto pdf = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  if (!pdf || pdf->status != 200) throw std::runtime_error("GET pdf failed");
  return pdf->body;
}

struct Shape {
  bool dss = false;
  int doc_timestamps = 0;
};
Shape shape(const std::string& pdf) {
  const auto doc = libcert::pdf::Document::open(pdf);
  Shape s;
  s.dss = doc.catalog().has("DSS");
  for (std::size_t i = 0; pdf.find("/DocTimeStamp", i) != std::string::npos;
       i = pdf.find("/DocTimeStamp", i) + 1)
    ++s.doc_timestamps;
  return s;
}

TEST(ApiPades, DefaultIsBltAndVerifiesValid) {
  CertdProcess certd;
  const std::string pdf = issue_pdf(certd, "pades-default");
  const Shape s = shape(pdf);
  EXPECT_TRUE(s.dss);
  EXPECT_EQ(s.doc_timestamps, 0);
  auto c = certd.client();
  auto v = c.Post("/v1/verify", pdf, "application/pdf");
  ASSERT_TRUE(v);
  const auto j = nlohmann::json::parse(v->body);
  EXPECT_EQ(j["result"], "VALID") << v->body;
  bool dss_check = false;
  for (const auto& ch : j["report"]["checks"]) dss_check = dss_check || ch["id"] == "validation-data";
  EXPECT_TRUE(dss_check) << v->body;
}

TEST(ApiPades, LevelPerTemplateWinsOverDepartmentAndDefault) {
  testsupport::TempDir d;
  testsupport::spit(d / "b-lta.json",
                    R"({"pades": {"level": "B-B", "departments": {"samr": "B-T"},
                        "templates": {"business-licence-enterprise": "B-LTA"}}})");
  {
    CertdProcess certd({}, {"--config", (d / "b-lta.json").string()});
    const Shape s = shape(issue_pdf(certd, "pades-lta"));
    EXPECT_TRUE(s.dss);
    EXPECT_EQ(s.doc_timestamps, 1);
  }
  testsupport::spit(d / "b-b.json", R"({"pades": {"level": "B-LT", "departments": {"samr": "b_b"}}})");
  {
    CertdProcess certd({}, {"--config", (d / "b-b.json").string()});
    const std::string pdf = issue_pdf(certd, "pades-bb");
    EXPECT_FALSE(shape(pdf).dss);
    EXPECT_EQ(pdf.find("/DocTimeStamp"), std::string::npos);
  }
}

TEST(ApiPades, UnknownLevelIsAConfigurationError) {
  testsupport::TempDir d;
  testsupport::spit(d / "bad.json", R"({"pades": {"templates": {"x": "B-LTX"}}})");
  try {
    (void)certd::Config::load((d / "bad.json").string(), [](const char*) { return std::nullopt; });
    ADD_FAILURE();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()),
              "config pades.templates.x: expected one of \"B-B\", \"B-T\", \"B-LT\", \"B-LTA\"");
  }
  const auto ok = certd::Config::load("", [](const char*) { return std::nullopt; });
  EXPECT_EQ(ok.pades_level, "B-LT");
  EXPECT_EQ(ok.pades_level_for("any", "samr"), "B-LT");
}

}  // namespace
