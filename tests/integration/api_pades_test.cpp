// certd issues PAdES B-LT by default (issue 19): the stored PDF carries a signature time-stamp and
// a /DSS with the seal chain and the TSA chain, and verifies VALID; config "pades" selects the
// level per template and department (template wins), and a bad level stops certd with the field
// named.
#include <filesystem>
#include <fstream>

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

// Archive renewal over a whole registry (issue 19 point 4): `certctl ltv extend --store` adds a
// /DSS with certd's published CRL and a document time-stamp to each licence's latest PDF and
// stores it as pdf version 2 with its audit row; GET /pdf serves it (new ETag), it verifies VALID,
// and the holder's version 1 is still recognised by /v1/verify.
TEST(ApiPades, LtvExtendOverTheRegistryStoresTheNextVersion) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  auto h = bearer(key);
  h.emplace("Idempotency-Key", "ltv-store-1");
  auto r = c.Post("/v1/licences", h,
                  nlohmann::json{{"template", kTemplate},
                                 {"data", certdtest::template_sample(kTemplate)}}
                      .dump(),
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = nlohmann::json::parse(r->body)["id"];
  auto v1 = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(v1);
  ASSERT_EQ(v1->status, 200);
  EXPECT_EQ(v1->get_header_value("X-Rendition-Version"), "1");

  auto crl = c.Get("/v1/crl");
  ASSERT_TRUE(crl);
  ASSERT_EQ(crl->status, 200) << crl->body;
  const std::string crl_file = (std::filesystem::path(certd.dir().path()) / "ca.crl").string();
  std::ofstream(crl_file, std::ios::binary) << crl->body;
  const auto run = testsupport::run(std::string(CERTCTL_BIN) + " ltv extend --store " +
                                    testsupport::shell_quote(certd.store()) + " --crl " +
                                    crl_file);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("1 of 1 licence(s) extended, 0 refused"), std::string::npos) << run.out;

  auto v2 = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(v2);
  ASSERT_EQ(v2->status, 200);
  EXPECT_EQ(v2->get_header_value("X-Rendition-Version"), "2");
  EXPECT_NE(v2->get_header_value("ETag"), v1->get_header_value("ETag"));
  EXPECT_EQ(v2->body.compare(0, v1->body.size(), v1->body), 0) << "earlier bytes kept";
  EXPECT_EQ(shape(v2->body).doc_timestamps, 1);
  for (const auto* pdf : {&v2->body, &v1->body}) {
    auto v = c.Post("/v1/verify", *pdf, "application/pdf");
    ASSERT_TRUE(v);
    const auto j = nlohmann::json::parse(v->body);
    EXPECT_EQ(j["result"], "VALID") << v->body;
    EXPECT_EQ(j["registry"]["found"], true) << v->body;
  }
  const auto audit = certdtest::RawDb(certd.store())
                         .rows("SELECT details_json FROM audit_log WHERE action = "
                               "'licence.rendition'",
                               1);
  ASSERT_EQ(audit.size(), 1u);
  const auto d = nlohmann::json::parse(*audit[0][0]);
  EXPECT_EQ(d["version"], 2);
  EXPECT_EQ(d["format"], "pdf");
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
