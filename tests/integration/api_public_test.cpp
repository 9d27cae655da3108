// certd over loopback: templates and the public verification route (PDF upload and QR text),
// with its rate limit. Issuance-based flows are in api_flow_test.cpp.
#include "certd_fixture.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::expect_problem;

TEST(ApiPublic, TemplatesListAndFieldSchema) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("civil-affairs", "licence:read");
  expect_problem(c.Get("/v1/templates"), 401, "unauthorized");
  auto r = c.Get("/v1/templates", bearer(key));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto list = nlohmann::json::parse(r->body);
  bool found = false;
  for (auto& t : list["items"]) {
    if (t["id"] == "business-licence-enterprise") {
      found = true;
      EXPECT_EQ(t["department"]["id"], "samr");
      EXPECT_EQ(t["title"]["zh"], "营业执照（企业）");
      EXPECT_EQ(t["type_code"].get<std::string>().size(), 21u);
    }
  }
  EXPECT_TRUE(found) << r->body;
  auto d = c.Get("/v1/templates/business-licence-enterprise", bearer(key));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->status, 200);
  auto t = nlohmann::json::parse(d->body);
  auto& f0 = t["fields"][0];
  EXPECT_EQ(f0["name"], "uscc");
  EXPECT_EQ(f0["type"], "uscc");
  EXPECT_EQ(f0["required"], true);
  EXPECT_EQ(f0["label"]["zh"], "统一社会信用代码");
  auto j = expect_problem(c.Get("/v1/templates/no-such-template", bearer(key)), 404, "not-found");
  EXPECT_EQ(j["detail"], "id: no template 'no-such-template'");
  expect_problem(c.Get("/v1/templates/Bad_Id", bearer(key)), 400, "invalid-id");
}

TEST(ApiPublic, VerifyRejectsBadInputPrecisely) {
  CertdProcess certd;
  auto c = certd.client();
  // Not a PDF at all: a report, not an error (the verdict is the answer).
  auto r = c.Post("/v1/verify", "%PDF-1.7 not really", "application/pdf");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["result"], "INVALID");
  EXPECT_EQ(j["kind"], "pdf");
  EXPECT_EQ(j["registry"]["found"], false);
  EXPECT_EQ(j["report"]["checks"][0]["id"], "structure");
  EXPECT_EQ(j["report"]["checks"][0]["status"], "fail");
  // A QR text that is not a licence payload.
  r = c.Post("/v1/verify", R"({"qr":"HTTPS://LIC.ALI.EXAMPLE/V#123"})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["result"], "INVALID");
  EXPECT_EQ(j["check"], "structure");
  EXPECT_EQ(j["signature_ok"], false);
  // Wrong media type, empty body, wrong JSON shape.
  auto p = expect_problem(c.Post("/v1/verify", "x", "text/plain"), 415, "unsupported-media-type");
  EXPECT_NE(p["detail"].get<std::string>().find("application/pdf"), std::string::npos);
  p = expect_problem(c.Post("/v1/verify", "", "application/pdf"), 400, "invalid-request");
  EXPECT_EQ(p["detail"], "body: empty; send the PDF");
  p = expect_problem(c.Post("/v1/verify", R"({"qr":7})", "application/json"), 400,
                     "invalid-request");
  EXPECT_EQ(p["detail"], "body.qr: required, the scanned QR text (1-4096 characters)");
  p = expect_problem(c.Post("/v1/verify", R"({"qr":"x","pdf":"y"})", "application/json"), 400,
                     "invalid-request");
  EXPECT_EQ(p["detail"], "body.pdf: unknown field");
  // Above the 20 MB PDF limit: 413 from the server before the body is read.
  const std::string huge((20u << 20) + 1, 'x');
  expect_problem(c.Post("/v1/verify", huge, "application/pdf"), 413, "payload-too-large");
}

TEST(ApiPublic, VerifyIsRateLimitedPerClientWith429AndRetryAfter) {
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_VERIFY_PER_MINUTE", "6"}});
  auto c = certd.client();
  // The bucket starts with the burst (20 by default); 6/minute refills one token per 10 s.
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 25; ++i) {
    auto r = c.Post("/v1/verify", R"({"qr":"x"})", "application/json");
    ASSERT_TRUE(r);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      expect_problem(r, 429, "rate-limited");
      retry_after = r->get_header_value("Retry-After");
    }
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(limited, 5);
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 10);
  // Authenticated routes are not limited by the public bucket.
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

}  // namespace
