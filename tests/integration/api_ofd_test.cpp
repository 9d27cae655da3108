// certd over loopback, issue 22 (service side): a licence's renditions (format x version) served
// by GET /v1/licences/{id}, /pdf and /ofd, and POST /v1/verify with OFD uploads — the same report
// shape and verdict set as for PDF, specific problems for bad requests, never a 5xx.
#include <filesystem>

#include "certd_fixture.h"
#include "store.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;

// A problem+json answer with this status and type slug; its body (null when it is not one).
nlohmann::json expect_problem(const httplib::Result& r, int status, const std::string& slug) {
  EXPECT_TRUE(r) << "no response";
  if (!r) return nullptr;
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << r->body;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r->body;
  if (!j.is_object()) return nullptr;
  EXPECT_EQ(j["type"], "https://libcert.example/problems/" + slug) << r->body;
  EXPECT_EQ(j["status"], status) << r->body;
  return j;
}

constexpr const char* kTemplate = "business-licence-enterprise";
const std::string kOfdData = std::string(LIBCERT_SOURCE_DIR) + "/tests/data/ofd/";

std::string issue(httplib::Client& c, const std::string& key, const std::string& idem) {
  httplib::Headers h = {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}};
  auto r = c.Post("/v1/licences", h,
                  nlohmann::json{{"template", kTemplate},
                                 {"data", certdtest::template_sample(kTemplate)}}
                      .dump(),
                  "application/json");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, 201) << r->body;
  return nlohmann::json::parse(r->body)["id"];
}

// A GB/T 38540 seal by our own SM2 keys (certctl ses make-seal + seal-ofd) on ofdrw's unsigned
// "hello world" OFD: every cryptographic check passes; the document names no issuer.
std::string sealed_ofd(const CertdProcess& certd, const std::filesystem::path& dir) {
  const std::string keys = certd.private_keys_copy();
  const std::string esl = (dir / "samr.esl").string();
  const std::string out = (dir / "sealed.ofd").string();
  auto r = testsupport::run(std::string(CERTCTL_BIN) + " ses make-seal --department samr --keys " +
                            keys + " --templates " + LIBCERT_SOURCE_DIR + "/templates -o " + esl);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = testsupport::run(std::string(CERTCTL_BIN) + " ses seal-ofd --department samr --seal " + esl +
                       " --keys " + keys + " -o " + out + " " + kOfdData + "ofdrw_helloworld.ofd");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return testsupport::slurp(out);
}

// The status of check `id` of a signature report ("missing" if it has none).
std::string check_status(const nlohmann::json& sig, const std::string& id) {
  for (const auto& c : sig["checks"]) {
    if (c["id"] == id) return c["status"].get<std::string>();
  }
  return "missing";
}

// The id of the first failing check of a report (document checks, then each signature's).
std::string first_failure(const nlohmann::json& report) {
  for (const auto& c : report["checks"]) {
    if (c["status"] == "fail") return c["id"];
  }
  for (const auto& s : report["signatures"]) {
    for (const auto& c : s["checks"]) {
      if (c["status"] == "fail") return c["id"];
    }
  }
  return {};
}

// Renditions: pdf/1 from issuance; a renewed pdf/2 (as `certctl ltv extend` would store through
// Store::add_rendition) becomes what /pdf serves, with a new ETag; /ofd is a specific 404 until an
// OFD rendition exists; the licence view lists them all.
TEST(ApiOfd, RenditionsAreListedAndTheLatestIsServed) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  const std::string id = issue(c, key, "rend-1");
  ASSERT_FALSE(id.empty());

  auto pdf1 = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(pdf1);
  ASSERT_EQ(pdf1->status, 200);
  EXPECT_EQ(pdf1->get_header_value("X-Rendition-Version"), "1");
  const std::string etag1 = pdf1->get_header_value("ETag");
  EXPECT_EQ(etag1, "\"" + certd::sha256_hex(pdf1->body) + "\"");
  auto p = expect_problem(c.Get("/v1/licences/" + id + "/ofd", bearer(key)), 404,
                          "rendition-not-found");
  EXPECT_EQ(p["detail"], "ofd: licence '" + id +
                             "' has no OFD rendition (it was not issued in that format)");
  // Another department's key cannot tell whether the licence exists.
  const std::string civil = certd.make_key("civil-affairs", "licence:read");
  expect_problem(c.Get("/v1/licences/" + id + "/ofd", bearer(civil)), 404, "not-found");

  const std::string renewed = pdf1->body + "% archive renewal\n";
  const std::string ofd = sealed_ofd(certd, certd.dir().path());
  {
    auto store = certd::open_store(certd.store());
    ASSERT_TRUE(store->add_rendition(id, "pdf", renewed, "ltv-extend", 1764900000,
                                     {"certctl", "test"}));
    ASSERT_TRUE(store->add_rendition(id, "ofd", ofd, "issue-ofd", 1764900001, {"certctl", "t"}));
  }
  httplib::Headers inm = bearer(key);
  inm.emplace("If-None-Match", etag1);
  auto pdf2 = c.Get("/v1/licences/" + id + "/pdf", inm);
  ASSERT_TRUE(pdf2);
  ASSERT_EQ(pdf2->status, 200);  // the old ETag no longer matches: the new version is sent
  EXPECT_EQ(pdf2->body, renewed);
  EXPECT_EQ(pdf2->get_header_value("ETag"), "\"" + certd::sha256_hex(renewed) + "\"");
  EXPECT_EQ(pdf2->get_header_value("X-Rendition-Version"), "2");
  auto o = c.Get("/v1/licences/" + id + "/ofd", bearer(key));
  ASSERT_TRUE(o);
  ASSERT_EQ(o->status, 200);
  EXPECT_EQ(o->get_header_value("Content-Type"), "application/ofd");
  EXPECT_EQ(o->body, ofd);

  auto v = c.Get("/v1/licences/" + id, bearer(key));
  ASSERT_TRUE(v);
  ASSERT_EQ(v->status, 200);
  const auto j = nlohmann::json::parse(v->body);
  ASSERT_EQ(j["renditions"].size(), 3u) << v->body;
  EXPECT_EQ(j["renditions"][0]["format"], "ofd");
  EXPECT_EQ(j["renditions"][1]["format"], "pdf");
  EXPECT_EQ(j["renditions"][1]["reason"], "issue");
  EXPECT_EQ(j["renditions"][2]["version"], 2);
  EXPECT_EQ(j["renditions"][2]["sha256"], certd::sha256_hex(renewed));
  EXPECT_EQ(j["renditions"][2]["size"], renewed.size());
  EXPECT_EQ(j["links"]["ofd"], "/v1/licences/" + id + "/ofd");
  // The holder's older PDF copy is still the registry's licence when verified.
  auto old = c.Post("/v1/verify", pdf1->body, "application/pdf");
  ASSERT_TRUE(old);
  EXPECT_EQ(nlohmann::json::parse(old->body)["registry"]["found"], true) << old->body;
}

// OFD uploads to /v1/verify: the report shape and verdicts of the PDF route (docs/verdicts.md).
TEST(ApiOfd, VerifyTakesOfdWithTheSameReportShape) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string ofd = sealed_ofd(certd, certd.dir().path());
  ASSERT_FALSE(ofd.empty());

  // Declared application/ofd, and recognised by its ZIP magic under application/pdf or
  // application/octet-stream: the same answer.
  for (const char* ct : {"application/ofd", "application/pdf", "application/octet-stream"}) {
    auto r = c.Post("/v1/verify", ofd, ct);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << ct << ": " << r->body;
    const auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["kind"], "ofd") << ct;
    // Our root, our seal maker, our samr seal; the document names no issuing department, so the
    // department binding cannot be checked: INDETERMINATE (fail closed), never VALID.
    EXPECT_EQ(j["result"], "INDETERMINATE") << r->body;
    EXPECT_EQ(j["registry"]["found"], false);
    ASSERT_EQ(j["report"]["signatures"].size(), 1u) << r->body;
    const auto& sig = j["report"]["signatures"][0];
    for (const char* id : {"references", "data-hash", "signature", "cert-in-seal",
                           "seal-signature", "chain", "maker-role", "signer-role", "key-state"}) {
      EXPECT_EQ(check_status(sig, id), "pass") << id << ": " << sig.dump();
    }
    EXPECT_EQ(check_status(sig, "issuer-binding"), "not-checked");
    EXPECT_EQ(j["seal"]["version"], "sm2");
    EXPECT_EQ(j["seal"]["state"], "active");
  }

  // Third-party seals (tax e-invoice, ofdrw test data): intact, signer not ours.
  auto r = c.Post("/v1/verify", testsupport::slurp(kOfdData + "ofdrw_signedFile.ofd"),
                  "application/ofd");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["result"], "UNKNOWN-SIGNER") << r->body;
  // GM/T 0031 v1 seal: a distinct format, recognised and not supported.
  r = c.Post("/v1/verify", testsupport::slurp(kOfdData + "ofdrw_n.ofd"), "application/ofd");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["result"], "INDETERMINATE") << r->body;
  EXPECT_NE(j["report"].dump().find("seal-format"), std::string::npos);

  // A page edited after sealing: INVALID, the check named.
  std::string tampered = ofd;
  // Flip one byte inside the stored (deflated) data of the first entry: the ZIP's CRC or the
  // reference fails, whichever the verifier meets first — INVALID in every case, with a check.
  tampered[200] = static_cast<char>(tampered[200] ^ 0x20);
  r = c.Post("/v1/verify", tampered, "application/ofd");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["result"], "INVALID") << r->body;
  EXPECT_FALSE(first_failure(j["report"]).empty()) << r->body;
}

TEST(ApiOfd, BadOfdUploadsAreSpecificNeverServerErrors) {
  CertdProcess certd;
  auto c = certd.client();
  // ZIP magic and nothing else; a PDF declared as OFD; random bytes declared as OFD: reports.
  for (const std::string& body :
       {std::string("PK\x03\x04", 4) + std::string(64, '\0'), std::string("%PDF-1.7\n%%EOF\n"),
        std::string(4096, '\x7f')}) {
    auto r = c.Post("/v1/verify", body, "application/ofd");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["kind"], "ofd");
    EXPECT_EQ(j["result"], "INVALID") << r->body;
    EXPECT_EQ(j["report"]["checks"][0]["id"], "structure") << r->body;
    EXPECT_EQ(j["report"]["checks"][0]["status"], "fail");
  }
  auto p = expect_problem(c.Post("/v1/verify", "", "application/ofd"), 400, "invalid-request");
  EXPECT_EQ(p["detail"], "body: empty; send the OFD");
  // Above the file limit (limits.pdf_body_bytes, 20 MB, for every licence file): 413 before the
  // body is read.
  const std::string huge((20u << 20) + 1, 'x');
  expect_problem(c.Post("/v1/verify", huge, "application/ofd"), 413, "payload-too-large");
  p = expect_problem(c.Post("/v1/verify", "x", "application/zip"), 415, "unsupported-media-type");
  EXPECT_NE(p["detail"].get<std::string>().find("application/ofd"), std::string::npos);
}

// keys-example without the OFD seals (sm2/seals): a server that cannot make OFDs.
std::string keys_without_ofd_seals(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const fs::path keys = dir / "keys-no-ofd";
  fs::copy(fs::path(LIBCERT_SOURCE_DIR) / "keys-example", keys, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(keys)) {
    if (e.path().extension() == ".key") {
      fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  fs::remove_all(keys / "sm2" / "seals");
  return keys.string();
}

// Issuing with formats / Accept: application/ofd (issue 22): bad `formats` are 400 with the rule;
// a server without OFD seals answers 503 ofd-unavailable before any serial is taken (nothing
// written: no licence, no audit row, no serial counter moved).
TEST(ApiOfd, IssuingFormatsAreCheckedAndOfdNeedsItsSeals) {
  testsupport::TempDir keys_dir;
  CertdProcess certd({}, {"--keys", keys_without_ofd_seals(keys_dir.path())});
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  const auto post = [&](const nlohmann::json& formats, const std::string& idem,
                        const std::string& accept = "") {
    httplib::Headers h = {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}};
    if (!accept.empty()) h.emplace("Accept", accept);
    nlohmann::json body = {{"template", kTemplate},
                           {"data", certdtest::template_sample(kTemplate)}};
    if (!formats.is_null()) body["formats"] = formats;
    return c.Post("/v1/licences", h, body.dump(), "application/json");
  };
  const std::string rule =
      "body.formats: expected distinct formats from \"pdf\", \"ofd\", including \"pdf\" (e.g. "
      "[\"pdf\", \"ofd\"])";
  int n = 0;
  for (const auto& bad : {nlohmann::json::array(), nlohmann::json::array({"ofd"}), nlohmann::json{"pdf", "pdf"},
                          nlohmann::json{"pdf", "docx"}, nlohmann::json("pdf"),
                          nlohmann::json{"pdf", 1}, nlohmann::json{"pdf", "ofd", "pdf"}}) {
    auto p = expect_problem(post(bad, "bad-" + std::to_string(n++)), 400, "invalid-request");
    EXPECT_EQ(p["detail"], rule) << bad.dump();
  }
  const auto rows = [&] {
    return certdtest::RawDb(certd.store())
        .int64("SELECT (SELECT COUNT(*) FROM licences) * 1000 + (SELECT COUNT(*) FROM audit_log) "
               "+ (SELECT COALESCE(SUM(last), 0) FROM serial_counters) * 1000000");
  };
  const std::int64_t before = rows();
  auto p = expect_problem(post({"pdf", "ofd"}, "ofd-1"), 503, "ofd-unavailable");
  EXPECT_NE(p["detail"].get<std::string>().find("no OFD seals"), std::string::npos);
  expect_problem(post(nullptr, "ofd-2", "application/ofd"), 503, "ofd-unavailable");
  EXPECT_EQ(rows(), before);
  // A PDF-only issuance still works and says which renditions were made.
  auto r = post({"pdf"}, "pdf-1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["formats"], nlohmann::json::array({"pdf"}));
  EXPECT_FALSE(j["links"].contains("ofd"));
  const auto audit = certdtest::RawDb(certd.store())
                         .rows("SELECT details_json FROM audit_log WHERE action = 'licence.issue'", 1);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(*audit[0][0])["formats"], nlohmann::json::array({"pdf"}));
}

}  // namespace

// The whole OFD path through certd (issue 22 point 6): one issuance with formats [pdf, ofd]
// stores both renditions; /ofd serves the sealed OFD, which /v1/verify finds in the registry and
// reports VALID with kind "ofd"; Accept: application/ofd answers with the OFD itself.
TEST(ApiOfd, IssuedOfdRenditionIsServedAndVerifiesValid) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  httplib::Headers h = {{"Authorization", "Bearer " + key}, {"Idempotency-Key", "both-1"}};
  const nlohmann::json body = {{"template", kTemplate},
                               {"data", certdtest::template_sample(kTemplate)},
                               {"formats", {"pdf", "ofd"}}};
  auto r = c.Post("/v1/licences", h, body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["formats"], nlohmann::json::array({"pdf", "ofd"}));
  const std::string id = j["id"];

  auto o = c.Get("/v1/licences/" + id + "/ofd", {{"Authorization", "Bearer " + key}});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->status, 200) << o->body;
  EXPECT_EQ(o->get_header_value("Content-Type"), "application/ofd");
  ASSERT_GE(o->body.size(), 4u);
  EXPECT_EQ(o->body.substr(0, 2), "PK");

  auto v = c.Post("/v1/verify", o->body, "application/ofd");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->status, 200) << v->body;
  const auto vj = nlohmann::json::parse(v->body);
  EXPECT_EQ(vj["kind"], "ofd");
  EXPECT_EQ(vj["result"], "VALID") << v->body;
  EXPECT_TRUE(first_failure(vj["report"]).empty()) << v->body;

  httplib::Headers h2 = {{"Authorization", "Bearer " + key},
                         {"Idempotency-Key", "accept-ofd-1"},
                         {"Accept", "application/ofd"}};
  const nlohmann::json body2 = {{"template", kTemplate},
                                {"data", certdtest::template_sample(kTemplate)}};
  auto a = c.Post("/v1/licences", h2, body2.dump(), "application/json");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 201) << a->body.substr(0, 300);
  EXPECT_EQ(a->get_header_value("Content-Type"), "application/ofd");
  EXPECT_EQ(a->body.substr(0, 2), "PK");
}
