// certd over loopback, with real issuance: issue -> fetch PDF (bytes, ETag, pdfsig) -> verify
// VALID (PDF and QR) -> revoke -> verify REVOKED; department scoping; bad issuing input;
// idempotency (20 concurrent identical requests -> one licence); batch.
#include <atomic>
#include <set>
#include <thread>

#include "certd_fixture.h"
#include "sqlite.h"
#include "store.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::RawDb;
using certdtest::expect_problem;

const std::string kTemplate = "business-licence-enterprise";

nlohmann::json sample() { return certdtest::template_sample(kTemplate); }

std::string issue_body(const nlohmann::json& data) {
  return nlohmann::json{{"template", kTemplate}, {"data", data}}.dump();
}

httplib::Headers with_key(const std::string& api_key, const std::string& idem) {
  return {{"Authorization", "Bearer " + api_key}, {"Idempotency-Key", idem}};
}

// Rows of every table a request could write (licences, audit, idempotency, serial counters).
std::int64_t registry_rows(const CertdProcess& c) {
  return RawDb(c.store())
      .int64(
          "SELECT (SELECT COUNT(*) FROM licences) * 1000000 + (SELECT COUNT(*) FROM audit_log) * "
          "1000 + (SELECT COUNT(*) FROM idempotency) + (SELECT COALESCE(SUM(last), 0) FROM "
          "serial_counters) * 100000000");
}

std::int64_t licence_count(const CertdProcess& c) {
  return RawDb(c.store()).int64("SELECT COUNT(*) FROM licences");
}

TEST(ApiFlow, IssueFetchVerifyRevokeVerify) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");

  auto r =
      c.Post("/v1/licences", with_key(key, "flow-1"), issue_body(sample()), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto lic = nlohmann::json::parse(r->body);
  const std::string id = lic["id"];
  EXPECT_EQ(r->get_header_value("Location"), "/v1/licences/" + id);
  EXPECT_EQ(id.rfind("1.2.156.3005.2.", 0), 0u) << id;
  EXPECT_EQ(lic["status"], "valid");
  EXPECT_EQ(lic["template"], kTemplate);
  EXPECT_EQ(lic["department"], "samr");
  EXPECT_EQ(lic["seal"]["department"], "samr");
  EXPECT_EQ(lic["seal"]["cert_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(lic["qr_text"].get<std::string>().rfind("HTTPS://LIC.ALI.EXAMPLE/V#", 0), 0u);
  EXPECT_EQ(lic["number"], sample()["licence_number"]);

  // The exact stored bytes, with ETag = SHA-256.
  auto pdf = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(pdf);
  ASSERT_EQ(pdf->status, 200);
  EXPECT_EQ(pdf->get_header_value("Content-Type"), "application/pdf");
  EXPECT_EQ(certd::sha256_hex(pdf->body), lic["pdf_sha256"]);
  EXPECT_EQ(pdf->get_header_value("ETag"), "\"" + lic["pdf_sha256"].get<std::string>() + "\"");
  httplib::Headers inm = bearer(key);
  inm.emplace("If-None-Match", pdf->get_header_value("ETag"));
  auto cached = c.Get("/v1/licences/" + id + "/pdf", inm);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);

  // pdfsig (poppler, NSS) trusts the example root and finds the seal valid.
  testsupport::TempDir d;
  testsupport::spit(d / "lic.pdf", pdf->body);
  const std::string nss = (d / "nss").string();
  std::filesystem::create_directories(nss);
  ASSERT_EQ(testsupport::run("certutil -N -d sql:" + nss + " --empty-password").exit_code, 0);
  ASSERT_EQ(testsupport::run("certutil -A -d sql:" + nss + " -n root -t C,C,C -i " +
                             std::string(LIBCERT_SOURCE_DIR) + "/keys-example/root/root.crt")
                .exit_code,
            0);
  const auto sig = testsupport::run("pdfsig -nssdir sql:" + nss + " " + (d / "lic.pdf").string());
  EXPECT_NE(sig.out.find("Signature is Valid."), std::string::npos) << sig.out;
  EXPECT_NE(sig.out.find("Certificate is Trusted."), std::string::npos) << sig.out;
  // certd issues PAdES B-LT (docs/signing.md "Levels"): the /DSS update follows the seal, so
  // pdfsig sees the seal cover its revision, not the whole file.
  EXPECT_NE(sig.out.find("Not total document signed"), std::string::npos) << sig.out;

  // Verify through the API: VALID, and the registry knows it.
  auto v = c.Post("/v1/verify", pdf->body, "application/pdf");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->status, 200) << v->body;
  auto vj = nlohmann::json::parse(v->body);
  EXPECT_EQ(vj["result"], "VALID") << v->body;
  EXPECT_EQ(vj["registry"]["found"], true);
  EXPECT_EQ(vj["registry"]["id"], id);
  EXPECT_EQ(vj["registry"]["status"], "valid");
  auto q = c.Post("/v1/verify", nlohmann::json{{"qr", lic["qr_text"]}}.dump(), "application/json");
  ASSERT_TRUE(q);
  auto qj = nlohmann::json::parse(q->body);
  EXPECT_EQ(qj["result"], "VALID") << q->body;
  EXPECT_EQ(qj["claims"]["identifier"], id);
  EXPECT_EQ(qj["registry"]["status"], "valid");

  // Revoke (twice: same result), then both verifications say REVOKED.
  auto rv = c.Post("/v1/licences/" + id + "/revoke", bearer(key), R"({"reason":"issued in error"})",
                   "application/json");
  ASSERT_TRUE(rv);
  ASSERT_EQ(rv->status, 200) << rv->body;
  auto rvj = nlohmann::json::parse(rv->body);
  EXPECT_EQ(rvj["status"], "revoked");
  auto rv2 = c.Post("/v1/licences/" + id + "/revoke", bearer(key), R"({"reason":"again"})",
                    "application/json");
  ASSERT_TRUE(rv2);
  EXPECT_EQ(nlohmann::json::parse(rv2->body)["revoked_at"], rvj["revoked_at"]);
  EXPECT_EQ(nlohmann::json::parse(rv2->body)["revocation_reason"], "issued in error");
  v = c.Post("/v1/verify", pdf->body, "application/pdf");
  ASSERT_TRUE(v);
  vj = nlohmann::json::parse(v->body);
  EXPECT_EQ(vj["result"], "REVOKED") << v->body;
  EXPECT_EQ(vj["registry"]["status"], "revoked");
  q = c.Post("/v1/verify", nlohmann::json{{"qr", lic["qr_text"]}}.dump(), "application/json");
  ASSERT_TRUE(q);
  EXPECT_EQ(nlohmann::json::parse(q->body)["result"], "REVOKED") << q->body;

  // Listing: the licence, with its status; filters apply.
  auto list = c.Get("/v1/licences?status=revoked", bearer(key));
  ASSERT_TRUE(list);
  auto lj = nlohmann::json::parse(list->body);
  ASSERT_EQ(lj["items"].size(), 1u);
  EXPECT_EQ(lj["items"][0]["id"], id);
  EXPECT_EQ(lj["items"][0].contains("data"), false);  // no personal data in listings
  auto meta = c.Get("/v1/licences/" + id, bearer(key));
  ASSERT_TRUE(meta);
  EXPECT_EQ(nlohmann::json::parse(meta->body)["data"]["name"], sample()["name"]);

  // Issuing with Accept: application/pdf returns the sealed PDF itself.
  auto h = with_key(key, "flow-pdf");
  h.emplace("Accept", "application/pdf");
  auto p2 = c.Post("/v1/licences", h, issue_body(sample()), "application/json");
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->status, 201);
  EXPECT_EQ(p2->get_header_value("Content-Type"), "application/pdf");
  EXPECT_EQ(p2->body.rfind("%PDF-", 0), 0u);
  EXPECT_FALSE(p2->get_header_value("Location").empty());
  EXPECT_EQ(licence_count(certd), 2);
  // No key and no holder data in the log.
  const std::string log = certd.log();
  EXPECT_EQ(log.find(key), std::string::npos);
  EXPECT_EQ(log.find(sample()["legal_representative"].get<std::string>()), std::string::npos);
}

TEST(ApiFlow, DepartmentScopingAtRouteAndResource) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string samr = certd.make_key("samr");
  const std::string civil = certd.make_key("civil-affairs");
  const std::string admin = certd.make_key("admin");
  const std::string readonly = certd.make_key("samr", "licence:read");
  auto r = c.Post("/v1/licences", with_key(samr, "s-1"), issue_body(sample()), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = nlohmann::json::parse(r->body)["id"];
  const auto before = registry_rows(certd);

  // Another department cannot issue samr's template (its seal), read or revoke samr's licence.
  auto j = expect_problem(
      c.Post("/v1/licences", with_key(civil, "c-1"), issue_body(sample()), "application/json"), 403,
      "forbidden-department");
  EXPECT_EQ(j["detail"],
            "body.template '" + kTemplate +
                "': belongs to department 'samr'; this key is bound to department 'civil-affairs'");
  // Reading or revoking it answers as for an unknown id (issue 17: no existence oracle).
  expect_problem(c.Get("/v1/licences/" + id, bearer(civil)), 404, "not-found");
  expect_problem(c.Get("/v1/licences/" + id + "/pdf", bearer(civil)), 404, "not-found");
  expect_problem(c.Post("/v1/licences/" + id + "/revoke", bearer(civil), R"({"reason":"x"})",
                        "application/json"),
                 404, "not-found");
  // Its listing does not show samr's licence.
  auto l = c.Get("/v1/licences", bearer(civil));
  ASSERT_TRUE(l);
  EXPECT_EQ(nlohmann::json::parse(l->body)["items"].size(), 0u);
  // Missing scope at the route; an admin key has no seal to issue with.
  expect_problem(
      c.Post("/v1/licences", with_key(readonly, "r-1"), issue_body(sample()), "application/json"),
      403, "forbidden");
  expect_problem(
      c.Post("/v1/licences", with_key(admin, "a-1"), issue_body(sample()), "application/json"), 403,
      "forbidden");
  expect_problem(c.Post("/v1/licences", {{"Idempotency-Key", "n-1"}}, issue_body(sample()),
                        "application/json"),
                 401, "unauthorized");
  // The two missing scopes (read-only key, admin key without licence:issue) and the missing key
  // are authentication failures: counted, and written as aggregated auth.failure rows only when
  // the interval ends (issue 17) — nothing is written now.
  EXPECT_EQ(registry_rows(certd), before) << "a refused request wrote to the registry";
  // The admin reads any department's licence.
  auto a = c.Get("/v1/licences/" + id, bearer(admin));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200);
}

TEST(ApiFlow, BadIssuingInputIsAPreciseProblemAndWritesNothing) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  const auto before = registry_rows(certd);
  int n = 0;
  auto post = [&](const std::string& body, const std::string& ct = "application/json") {
    return c.Post("/v1/licences", with_key(key, "bad-" + std::to_string(++n)), body, ct);
  };
  auto j =
      expect_problem(c.Post("/v1/licences", bearer(key), issue_body(sample()), "application/json"),
                     400, "missing-idempotency-key");
  EXPECT_EQ(j["detail"], "Idempotency-Key: required header (1-255 printable ASCII characters)");
  j = expect_problem(post(R"({"template":)"), 400, "malformed-json");
  j = expect_problem(post(R"({"template":"business-licence-enterprise","data":"x"})"), 400,
                     "invalid-request");
  EXPECT_EQ(j["detail"], "body.data: required, an object of holder fields");
  j = expect_problem(post(R"({"template":7,"data":{}})"), 400, "invalid-request");
  EXPECT_EQ(j["detail"], "body.template: required, a template id (string)");
  j = expect_problem(post(R"({"template":"no-such","data":{}})"), 422, "unknown-template");
  EXPECT_EQ(j["detail"], "body.template: no template 'no-such'");
  j = expect_problem(post(R"({"template":"../../etc","data":{}})"), 400, "invalid-id");
  j = expect_problem(
      post(nlohmann::json{{"template", kTemplate}, {"data", sample()}, {"x", 1}}.dump()), 400,
      "invalid-request");
  EXPECT_EQ(j["detail"], "body.x: unknown field");
  auto bad = sample();
  bad["uscc"] = "91542523MA6T1D4L24";  // wrong check character
  j = expect_problem(post(issue_body(bad)), 422, "validation-failed");
  ASSERT_TRUE(j.contains("problems"));
  EXPECT_EQ(j["problems"][0]["field"], "uscc");
  EXPECT_EQ(j["problems"][0]["rule"], "uscc-check");
  EXPECT_EQ(j["detail"].get<std::string>().rfind("body.data.uscc: ", 0), 0u) << j["detail"];
  auto unknown = sample();
  unknown["favourite_colour"] = "red";
  j = expect_problem(post(issue_body(unknown)), 422, "validation-failed");
  EXPECT_EQ(j["problems"][0]["rule"], "unknown-field");
  auto wrong_type = sample();
  wrong_type["name"] = 12;
  j = expect_problem(post(issue_body(wrong_type)), 422, "validation-failed");
  EXPECT_EQ(j["problems"][0]["field"], "name");
  j = expect_problem(
      post(std::string("{\"template\":\"") + kTemplate + "\",\"data\":{\"name\":\"\xc3\x28\"}}"),
      400, "malformed-json");
  j = expect_problem(post(issue_body(sample()), "text/plain"), 415, "unsupported-media-type");
  auto huge = sample();
  huge["business_scope"] = std::string(1u << 20, 'x');
  j = expect_problem(post(issue_body(huge)), 413, "payload-too-large");
  EXPECT_EQ(registry_rows(certd), before);
  auto ok = c.Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(ApiFlow, IdempotencyReplayMismatchAndConcurrency) {
  CertdProcess certd;
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  const std::string body = issue_body(sample());
  auto a = c.Post("/v1/licences", with_key(key, "idem-1"), body, "application/json");
  auto b = c.Post("/v1/licences", with_key(key, "idem-1"), body, "application/json");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  ASSERT_EQ(a->status, 201);
  EXPECT_EQ(b->status, 201);
  EXPECT_EQ(a->body, b->body);
  EXPECT_EQ(a->get_header_value("Location"), b->get_header_value("Location"));
  EXPECT_EQ(licence_count(certd), 1);
  auto other = sample();
  other["name"] = "另一家公司";
  auto j = expect_problem(
      c.Post("/v1/licences", with_key(key, "idem-1"), issue_body(other), "application/json"), 422,
      "idempotency-key-reused");
  EXPECT_EQ(j["detail"], "Idempotency-Key: already used with a different request body");
  EXPECT_EQ(licence_count(certd), 1);

  // 20 concurrent identical requests with one key: exactly one licence; every answer is either
  // that licence (201, identical body) or "in flight" (409).
  constexpr int kClients = 20;
  std::vector<std::thread> ts;
  std::vector<int> status(kClients);
  std::vector<std::string> bodies(kClients);
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      auto cl = certd.client();
      auto r = cl.Post("/v1/licences", with_key(key, "idem-concurrent"), body, "application/json");
      status[static_cast<std::size_t>(i)] = r ? r->status : -1;
      bodies[static_cast<std::size_t>(i)] = r ? r->body : httplib::to_string(r.error());
    });
  }
  for (auto& t : ts) t.join();
  std::set<std::string> created;
  int conflicts = 0;
  for (int i = 0; i < kClients; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (status[k] == 201) {
      created.insert(bodies[k]);
    } else if (status[k] == -1) {
      // No HTTP answer at all (a transport failure on a loaded 2-core machine): such a client
      // would retry with the same key; what matters is that it could never cause a second
      // licence, which the count below checks.
      std::cerr << "client " << i << ": transport error: " << bodies[k] << "\n";
    } else {
      EXPECT_EQ(status[k], 409) << bodies[k];
      ++conflicts;
    }
  }
  EXPECT_EQ(created.size(), 1u);
  EXPECT_EQ(licence_count(certd), 2);
  // After the first finished, a retry of any of them gets the one licence.
  auto again = c.Post("/v1/licences", with_key(key, "idem-concurrent"), body, "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201);
  EXPECT_EQ(created.count(again->body), 1u);
}

TEST(ApiFlow, BatchGivesEachItemItsOwnResult) {
  CertdProcess certd;
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  auto bad = sample();
  bad["date_of_establishment"] = "2019-02-30";
  const nlohmann::json body = {{"items",
                                {{{"template", kTemplate}, {"data", sample()}},
                                 {{"template", kTemplate}, {"data", bad}},
                                 {{"template", "no-such"}, {"data", sample()}},
                                 {{"template", kTemplate}, {"data", sample()}}}}};
  auto r = c.Post("/v1/licences:batch", with_key(key, "batch-1"), body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["issued"], 2);
  EXPECT_EQ(j["failed"], 2);
  EXPECT_EQ(j["results"][0]["status"], 201);
  EXPECT_EQ(j["results"][1]["status"], 422);
  EXPECT_EQ(j["results"][1]["problem"]["problems"][0]["field"], "date_of_establishment");
  EXPECT_EQ(j["results"][2]["status"], 422);
  EXPECT_EQ(j["results"][2]["problem"]["detail"], "body.items[2].template: no template 'no-such'");
  EXPECT_EQ(j["results"][3]["status"], 201);
  EXPECT_NE(j["results"][0]["licence"]["id"], j["results"][3]["licence"]["id"]);
  // Replaying the batch issues nothing new.
  auto again =
      c.Post("/v1/licences:batch", with_key(key, "batch-1"), body.dump(), "application/json");
  ASSERT_TRUE(again);
  auto aj = nlohmann::json::parse(again->body);
  EXPECT_EQ(aj["results"][0]["licence"], j["results"][0]["licence"]);
  EXPECT_EQ(licence_count(certd), 2);
}

}  // namespace
