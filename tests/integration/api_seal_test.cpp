// Seal key rotation, revocation with compromised_at, the expiry guard and the audit log against
// the real certd over loopback (issue 7). The rotation test issues continuously for 12 s in CI
// (CERTD_TEST_LOAD_SECONDS overrides it: bench/soak.sh runs the issue's 32 s).
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "audit.h"
#include "certd_fixture.h"
#include "libcert/qr_payload.h"
#include "libcert/roles.h"
#include "merkle.h"
#include "sqlite.h"
#include "store.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::expect_problem;
using certdtest::post_json;
using certdtest::RawDb;

const std::string kTemplate = "business-licence-enterprise";  // department samr
const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";

nlohmann::json sample() { return certdtest::template_sample(kTemplate); }

std::map<std::string, std::string> env_for(const testsupport::TempDir& d,
                                           std::map<std::string, std::string> extra = {}) {
  extra["CERTD_SEAL_KEY_DIR"] = (d / "seal-keys").string();
  extra["CERTD_VERIFY_PER_MINUTE"] = "1000000";  // the tests verify hundreds of licences
  return extra;
}

struct Issued {
  int status = 0;
  nlohmann::json body;
  std::string error;
};

Issued issue(const httplib::Client& cc, const std::string& key, const std::string& idem) {
  auto& c = const_cast<httplib::Client&>(cc);
  auto r = c.Post("/v1/licences", {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}},
                  nlohmann::json{{"template", kTemplate}, {"data", sample()}}.dump(),
                  "application/json");
  Issued out;
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 201) out.error = r->body;
  return out;
}

// Creates a version with the example CA and activates it; returns its number.
std::int64_t rotate(httplib::Client& c, const std::string& admin, const std::string& dept,
                    int validity_days = 365) {
  const auto created = post_json(c, admin, "/v1/seals/" + dept + "/keys",
                                 {{"example_ca", true}, {"validity_days", validity_days}}, 201);
  const std::int64_t v = created.value("version", 0);
  EXPECT_EQ(created.value("state", ""), "pending");
  EXPECT_NE(created.value("csr_pem", "").find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  const auto act =
      post_json(c, admin, "/v1/seals/" + dept + "/keys/" + std::to_string(v) + ":activate",
                nlohmann::json::object(), 200);
  EXPECT_EQ(act.value("state", ""), "active");
  return v;
}

nlohmann::json verify_qr(httplib::Client& c, const std::string& qr) {
  auto r = c.Post("/v1/verify", nlohmann::json{{"qr", qr}}.dump(), "application/json");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  return nlohmann::json::parse(r->body);
}

nlohmann::json verify_pdf(httplib::Client& c, const std::string& pdf) {
  auto r = c.Post("/v1/verify", pdf, "application/pdf");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  return nlohmann::json::parse(r->body);
}

std::string get_pdf(httplib::Client& c, const std::string& key, const std::string& id) {
  auto r = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, 200);
  return r->body;
}

// The audit index of every samr activation, in order: (index, version).
std::vector<std::pair<std::int64_t, std::int64_t> > activations(const std::string& store) {
  std::vector<std::pair<std::int64_t, std::int64_t> > out;
  for (const auto& row : RawDb(store).rows(
           "SELECT idx, details_json FROM audit_log WHERE action = 'seal.activate' AND object "
           "LIKE 'seal:samr/%' ORDER BY idx",
           2)) {
    out.emplace_back(std::stoll(*row[0]),
                     nlohmann::json::parse(*row[1]).at("version").get<std::int64_t>());
  }
  return out;
}

// Acceptance: while several clients issue continuously for >= 30 s, an admin rotates samr's key
// twice. Zero failed requests; every licence verifies VALID (QR and PDF, through the API) and
// names the version that was active at its issuance.
TEST(ApiSeal, RotationUnderLoadFailsNoRequestAndEveryLicenceNamesItsVersion) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d));
  const std::string key = certd.make_key("samr");
  const std::string admin = certd.make_key("admin");
  constexpr int kThreads = 4;
  // Bounded for CI (12 s: ~260 licences, ~60 before the first rotation, at load 10 on 2 cores);
  // the 32 s soak of issue 7 is bench/soak.sh. The assertions are the same at any length.
  const std::chrono::milliseconds duration = std::chrono::seconds(certdtest::load_seconds(12));
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<nlohmann::json> licences;
  std::vector<std::string> failures;
  std::vector<std::thread> ts;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      auto c = certd.client();
      for (int i = 0; !stop.load(); ++i) {
        const Issued r = issue(c, key, "load-" + std::to_string(t) + "-" + std::to_string(i));
        std::lock_guard l(mu);
        if (r.status == 201) {
          licences.push_back(r.body);
        } else {
          failures.push_back("thread " + std::to_string(t) + " request " + std::to_string(i) +
                             ": " + std::to_string(r.status) + " " + r.error);
        }
      }
    });
  }
  auto admin_client = certd.client();
  // The rotations at 9/32 and 19/32 of the run (9 s and 19 s of the 32 s soak): each version
  // seals for over a quarter of it.
  std::this_thread::sleep_until(t0 + duration * 9 / 32);
  const std::int64_t v2 = rotate(admin_client, admin, "samr");
  std::this_thread::sleep_until(t0 + duration * 19 / 32);
  const std::int64_t v3 = rotate(admin_client, admin, "samr");
  std::this_thread::sleep_until(t0 + duration);
  stop = true;
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(v2, 2);
  EXPECT_EQ(v3, 3);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  ASSERT_GE(secs, std::chrono::duration<double>(duration).count());

  // The version active at each licence's issuance, from the order of the audit log (the
  // activation leaf and the licence leaf are written in their own transactions).
  const auto acts = activations(certd.store());
  ASSERT_EQ(acts.size(), 2u);
  std::map<std::string, int> per_version;
  for (const auto& lic : licences) {
    const std::int64_t at = lic.at("audit_index").get<std::int64_t>();
    std::int64_t want = 1;
    for (const auto& [idx, v] : acts) {
      if (idx < at) want = v;
    }
    const std::string version = lic.at("seal").at("version").get<std::string>();
    EXPECT_EQ(version, std::to_string(want)) << lic.at("id");
    ++per_version[version];
  }
  // Every licence's PDF and QR verified, on kThreads connections (each ~0.1 s of certd's CPU:
  // one connection would leave the second core idle while this test runs alone).
  std::atomic<std::size_t> next{0};
  std::atomic<int> pdf_checked{0};
  ts.clear();
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      auto c = certd.client();
      for (std::size_t i = next++; i < licences.size(); i = next++) {
        const auto& lic = licences[i];
        const std::string version = lic.at("seal").at("version").get<std::string>();
        const auto q = verify_qr(c, lic.at("qr_text").get<std::string>());
        EXPECT_EQ(q.value("result", ""), "VALID") << q.dump();
        EXPECT_EQ(q.value("seal_version", ""), version) << q.dump();
        const auto p = verify_pdf(c, get_pdf(c, key, lic.at("id").get<std::string>()));
        EXPECT_EQ(p.value("result", ""), "VALID") << p.dump();
        EXPECT_EQ(p["seal"].value("version", ""), version) << p.dump();
        ++pdf_checked;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(pdf_checked.load(), static_cast<int>(licences.size()));
  std::cout << "rotation under load: " << kThreads << " clients, " << secs << " s, "
            << licences.size() << " licences (" << (static_cast<double>(licences.size()) / secs)
            << "/s), " << failures.size() << " failed; per version: v1 " << per_version["1"]
            << ", v2 " << per_version["2"] << ", v3 " << per_version["3"] << "; " << pdf_checked.load()
            << " PDFs and QRs verified VALID naming their version\n";
  EXPECT_GT(per_version["1"], 0);
  EXPECT_GT(per_version["2"], 0);
  EXPECT_GT(per_version["3"], 0);
  EXPECT_EQ(certd.stop(), 0);
}

// Acceptance: retired versions keep verifying; a version revoked with compromised_at = T
// invalidates exactly the licences sealed at or after T — online (PDF and QR) and offline
// (certctl verify-qr against a trust bundle exported from the registry).
TEST(ApiSeal, RetiredStaysValidAndCompromiseInvalidatesFromItsTimeOnly) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d));
  const std::string key = certd.make_key("samr");
  const std::string admin = certd.make_key("admin");
  auto c = certd.client();
  const Issued l1 = issue(c, key, "l1");
  ASSERT_EQ(l1.status, 201) << l1.error;
  EXPECT_EQ(l1.body["seal"]["version"], "1");
  ASSERT_EQ(rotate(c, admin, "samr"), 2);
  const Issued l2a = issue(c, key, "l2a");
  ASSERT_EQ(l2a.status, 201) << l2a.error;
  EXPECT_EQ(l2a.body["seal"]["version"], "2");
  // T: a whole second after l2a, so that l2a is strictly before it.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const std::int64_t t = static_cast<std::int64_t>(std::time(nullptr));
  const Issued l2b = issue(c, key, "l2b");
  ASSERT_EQ(l2b.status, 201) << l2b.error;

  // v1 is retired: its licence is still VALID, naming v1 and its state.
  auto q1 = verify_qr(c, l1.body["qr_text"]);
  EXPECT_EQ(q1["result"], "VALID") << q1.dump();
  EXPECT_EQ(q1["seal_version"], "1");
  auto p1 = verify_pdf(c, get_pdf(c, key, l1.body["id"]));
  EXPECT_EQ(p1["result"], "VALID") << p1.dump();
  EXPECT_EQ(p1["seal"]["version"], "1");
  EXPECT_EQ(p1["seal"]["state"], "retired");

  // Revoke v2 (the active one) as compromised at T.
  char iso[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const auto rv = post_json(c, admin, "/v1/seals/samr/keys/2:revoke",
                            {{"compromised_at", iso}, {"reason", "key file copied"}}, 200);
  EXPECT_EQ(rv["state"], "revoked");
  EXPECT_EQ(rv["compromised_at"], iso);
  // Revoking again, or activating a revoked version: 409 naming the rule.
  auto j = expect_problem(
      c.Post("/v1/seals/samr/keys/2:revoke", bearer(admin),
             nlohmann::json{{"compromised_at", iso}, {"reason", "x"}}.dump(), "application/json"),
      409, "seal-state-conflict");
  EXPECT_NE(j["detail"].get<std::string>().find("already revoked"), std::string::npos);
  // With its active version revoked, samr cannot issue until another version is activated.
  const Issued none = issue(c, key, "none");
  EXPECT_EQ(none.status, 503);
  EXPECT_EQ(none.body.value("type", ""), "https://libcert.example/problems/no-active-seal-key");

  auto q2a = verify_qr(c, l2a.body["qr_text"]);
  EXPECT_EQ(q2a["result"], "VALID") << q2a.dump();
  EXPECT_EQ(q2a["seal_version"], "2");
  auto p2a = verify_pdf(c, get_pdf(c, key, l2a.body["id"]));
  EXPECT_EQ(p2a["result"], "VALID") << p2a.dump();
  EXPECT_EQ(p2a["seal"]["version"], "2");
  EXPECT_EQ(p2a["seal"]["state"], "revoked");

  auto q2b = verify_qr(c, l2b.body["qr_text"]);
  EXPECT_EQ(q2b["result"], "REVOKED") << q2b.dump();
  EXPECT_EQ(q2b["seal_version"], "2");
  EXPECT_NE(q2b["reason"].get<std::string>().find("seal key v2 revoked: compromised at " +
                                                  std::to_string(t)),
            std::string::npos)
      << q2b.dump();
  auto p2b = verify_pdf(c, get_pdf(c, key, l2b.body["id"]));
  EXPECT_EQ(p2b["result"], "REVOKED") << p2b.dump();  // as the QR path (docs/verdicts.md)
  EXPECT_EQ(p2b["seal"]["version"], "2");
  bool named = false;
  for (const auto& r : p2b["reasons"]) {
    named =
        named || r.get<std::string>().find("key-state: seal key 2 was revoked (compromised at " +
                                           std::string(iso) + ")") != std::string::npos;
  }
  EXPECT_TRUE(named) << p2b["reasons"].dump();

  // Offline: the bundle exported from the registry carries the versions and the revocation, and
  // certctl verify-qr gives the same answers without certd.
  const std::string bundle = (d / "bundle.cbor").string();
  auto exp = testsupport::run(std::string(CERTCTL_BIN) + " seal bundle --store " + certd.store() +
                              " --keys " + kKeys + " --templates " + LIBCERT_SOURCE_DIR +
                              "/templates -o " + bundle);
  ASSERT_EQ(exp.exit_code, 0) << exp.out;
  auto offline = [&](const Issued& l) {
    return testsupport::run(std::string(CERTCTL_BIN) + " verify-qr --bundle " + bundle +
                            " --keys " + kKeys + " --json '" +
                            l.body["qr_text"].get<std::string>() + "'");
  };
  const auto o1 = offline(l1), o2a = offline(l2a), o2b = offline(l2b);
  std::cout << "offline: l1 " << o1.out << "offline: l2a " << o2a.out << "offline: l2b " << o2b.out;
  EXPECT_NE(o1.out.find("\"VALID\""), std::string::npos) << o1.out;
  EXPECT_NE(o2a.out.find("\"VALID\""), std::string::npos) << o2a.out;
  EXPECT_NE(o2b.out.find("\"REVOKED\""), std::string::npos) << o2b.out;
  EXPECT_NE(o2b.out.find("seal key v2 revoked"), std::string::npos) << o2b.out;
  EXPECT_NE(o1.out.find("\"seal_version\": \"1\""), std::string::npos) << o1.out;
  EXPECT_NE(o2a.out.find("\"seal_version\": \"2\""), std::string::npos) << o2a.out;

  // A new version restores issuing.
  EXPECT_EQ(rotate(c, admin, "samr"), 3);
  const Issued l3 = issue(c, key, "l3");
  EXPECT_EQ(l3.status, 201) << l3.error;
  EXPECT_EQ(l3.body["seal"]["version"], "3");
}

TEST(ApiSeal, LifecycleRoutesRefuseWrongStepsAndForeignCertificates) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d));
  const std::string admin = certd.make_key("admin");
  const std::string dept_key = certd.make_key("samr");
  auto c = certd.client();
  // Department keys have no seal:admin scope.
  expect_problem(c.Post("/v1/seals/samr/keys", bearer(dept_key), "{}", "application/json"), 403,
                 "forbidden");
  auto list = c.Get("/v1/seals?department=samr", bearer(admin));
  ASSERT_TRUE(list);
  auto lj = nlohmann::json::parse(list->body);
  ASSERT_EQ(lj["items"].size(), 1u);
  EXPECT_EQ(lj["items"][0]["state"], "active");  // keys-example's seal, imported as v1
  // A pending version without a certificate cannot be activated.
  const auto created = post_json(c, admin, "/v1/seals/samr/keys", nlohmann::json::object(), 201);
  ASSERT_EQ(created["version"], 2);
  EXPECT_TRUE(created["cert_sha256"].is_null());
  auto j = expect_problem(
      c.Post("/v1/seals/samr/keys/2:activate", bearer(admin), "", "application/json"), 409,
      "seal-state-conflict");
  EXPECT_EQ(j["detail"], "seal key samr v2 has no certificate: install it before activating");
  // Its key file is private.
  const auto key_dir = d / "seal-keys" / "samr";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(key_dir)) {
    ++files;
    EXPECT_EQ(std::filesystem::status(e.path()).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  EXPECT_EQ(files, 1);
  // The CSR signed by the example CA with the openssl CLI (a tool we did not write) installs.
  testsupport::spit(d / "v2.csr", created["csr_pem"].get<std::string>());
  // With the seal profile (trust.md "Roles"): the seal policy OID; the CSR's subject carries
  // organizationIdentifier NTRCN-<USCC>. Without the policy the certificate has no role and is
  // refused (nothing installed).
  testsupport::spit(d / "seal.ext",
                    "keyUsage=critical,digitalSignature,nonRepudiation\n"
                    "certificatePolicies=" +
                        std::string(libcert::kSealPolicyOid) + "\n");
  auto ca = testsupport::run("openssl x509 -req -in " + (d / "v2.csr").string() + " -CA " + kKeys +
                             "/ca/issuing-ca.crt -CAkey " + kKeys + "/ca/issuing-ca.key -days 200 " +
                             "-sha256 -set_serial 0x77 -out " + (d / "v2-nopolicy.crt").string() +
                             " 2>&1");
  ASSERT_EQ(ca.exit_code, 0) << ca.out;
  j = expect_problem(
      c.Put("/v1/seals/samr/keys/2/certificate", bearer(admin),
            nlohmann::json{{"certificate_pem", testsupport::slurp(d / "v2-nopolicy.crt")}}.dump(),
            "application/json"),
      400, "invalid-argument");
  EXPECT_NE(j["detail"].get<std::string>().find("not a seal certificate (role none"),
            std::string::npos)
      << j["detail"];
  ca = testsupport::run("openssl x509 -req -in " + (d / "v2.csr").string() + " -CA " + kKeys +
                        "/ca/issuing-ca.crt -CAkey " + kKeys + "/ca/issuing-ca.key -days 200 " +
                        "-sha256 -set_serial 0x78 -extfile " + (d / "seal.ext").string() +
                        " -out " + (d / "v2.crt").string() + " 2>&1");
  ASSERT_EQ(ca.exit_code, 0) << ca.out;
  // samr v1's certificate does not match v2's key: a precise 400, nothing installed.
  const std::string v1_cert = testsupport::slurp(kKeys + "/seals/samr/seal.crt");
  j = expect_problem(c.Put("/v1/seals/samr/keys/2/certificate", bearer(admin),
                           nlohmann::json{{"certificate_pem", v1_cert}}.dump(), "application/json"),
                     400, "invalid-argument");
  EXPECT_EQ(j["detail"],
            "certificate: its public key does not match the private key of seal key samr v2 (was "
            "it issued for another CSR?)");
  auto ok = c.Put("/v1/seals/samr/keys/2/certificate", bearer(admin),
                  nlohmann::json{{"certificate_pem", testsupport::slurp(d / "v2.crt")}}.dump(),
                  "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // Installing twice is a conflict; retiring a pending version too.
  expect_problem(c.Put("/v1/seals/samr/keys/2/certificate", bearer(admin),
                       nlohmann::json{{"certificate_pem", testsupport::slurp(d / "v2.crt")}}.dump(),
                       "application/json"),
                 409, "seal-state-conflict");
  j = expect_problem(c.Post("/v1/seals/samr/keys/2:retire", bearer(admin), "", "application/json"),
                     409, "seal-state-conflict");
  EXPECT_EQ(j["detail"], "seal key samr v2 is pending: only the active version can be retired");
  expect_problem(c.Post("/v1/seals/samr/keys/9:activate", bearer(admin), "", "application/json"),
                 404, "not-found");
  expect_problem(c.Post("/v1/seals/nowhere/keys", bearer(admin), "", "application/json"), 404,
                 "not-found");
  j = expect_problem(c.Post("/v1/seals/samr/keys/2:revoke", bearer(admin),
                            R"({"compromised_at":"yesterday","reason":"x"})", "application/json"),
                     400, "invalid-request");
  EXPECT_NE(j["detail"].get<std::string>().find("body.compromised_at"), std::string::npos);
  post_json(c, admin, "/v1/seals/samr/keys/2:activate", nlohmann::json::object(), 200);
  const Issued l = issue(c, dept_key, "after-install");
  EXPECT_EQ(l.status, 201) << l.error;
  EXPECT_EQ(l.body["seal"]["version"], "2");
}

// Expiry guard: issuing stops when the active certificate expires within the margin (503 with a
// precise detail), and a warning (log line, gauge) starts earlier.
TEST(ApiSeal, ExpiryGuardRefusesInsideTheMarginAndWarnsBefore) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d, {{"CERTD_SEAL_REFUSE_DAYS", "7"}, {"CERTD_SEAL_WARN_DAYS", "30"}}));
  const std::string admin = certd.make_key("admin");
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  // 20 days left: issues, warns.
  ASSERT_EQ(rotate(c, admin, "samr", 20), 2);
  const Issued ok = issue(c, key, "warned");
  ASSERT_EQ(ok.status, 201) << ok.error;
  auto m = c.Get("/metrics", bearer(admin));  // metrics:read (issue 17)
  ASSERT_TRUE(m);
  const std::string gauge = "certd_seal_certificate_days_left{department=\"samr\"} ";
  const auto at = m->body.find(gauge);
  ASSERT_NE(at, std::string::npos) << m->body;
  const double days = std::stod(m->body.substr(at + gauge.size()));
  EXPECT_GT(days, 19.9);
  EXPECT_LT(days, 20.01);
  EXPECT_NE(m->body.find("certd_seal_certificate_days_left{department=\"transport\"} "),
            std::string::npos);
  EXPECT_NE(certd.log().find("\"msg\":\"seal certificate expires soon\""), std::string::npos);
  // 5 days left: refused with the version, the date and the margin.
  ASSERT_EQ(rotate(c, admin, "samr", 5), 3);
  const Issued no = issue(c, key, "refused");
  EXPECT_EQ(no.status, 503) << no.error;
  EXPECT_EQ(no.body.value("type", ""),
            "https://libcert.example/problems/seal-certificate-expiring");
  const std::string detail = no.body.value("detail", "");
  EXPECT_EQ(detail.rfind("seal key samr v3: its certificate expires ", 0), 0u) << detail;
  EXPECT_NE(detail.find("within the 7-day issuing margin (seal.refuse_days)"), std::string::npos)
      << detail;
  std::cout << "expiry guard: " << days
            << " days left -> issued with a warning; 5 days -> 503: " << detail << "\n";
}

// The audit log over HTTP: a consistency proof between two signed checkpoints and an inclusion
// proof of a licence's leaf verify with RFC 9162's algorithms, against roots from signatures
// checked with the audit public key.
TEST(ApiAudit, CheckpointsAndProofsVerify) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d));
  const std::string auditor = certd.make_key("admin");
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  const std::string pub = testsupport::slurp(kKeys + "/audit/audit.pub");
  auto checkpoint = [&]() {
    auto r = c.Get("/v1/audit/checkpoint", bearer(auditor));
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const auto j = nlohmann::json::parse(r->body);
    return certd::open_checkpoint(j["checkpoint"].get<std::string>(), pub);
  };
  const certd::Checkpoint a = checkpoint();
  const Issued l1 = issue(c, key, "a1");
  ASSERT_EQ(l1.status, 201);
  ASSERT_EQ(issue(c, key, "a2").status, 201);
  // An auth failure is not a leaf of its own (issue 17: one aggregated row per address and
  // interval, written when the interval ends).
  expect_problem(c.Get("/v1/licences", bearer("lic_" + std::string(52, 'a'))), 401, "unauthorized");
  const certd::Checkpoint b = checkpoint();
  EXPECT_EQ(a.origin, "lic.ali.example/audit");
  ASSERT_EQ(b.size, a.size + 2);
  auto r = c.Get("/v1/audit/proof/consistency?first=" + std::to_string(a.size) +
                     "&second=" + std::to_string(b.size),
                 bearer(auditor));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<std::string> proof;
  const auto cj = nlohmann::json::parse(r->body);
  for (const auto& h : cj["proof"]) {
    proof.push_back(certd::base64_decode(h.get<std::string>(), "proof"));
  }
  EXPECT_TRUE(certd::merkle::verify_consistency(a.size, b.size, a.root, b.root, proof))
      << r->body << " a=" << certd::base64_encode(a.root) << " b=" << certd::base64_encode(b.root);
  EXPECT_FALSE(certd::merkle::verify_consistency(a.size, b.size, b.root, a.root, proof));
  const std::int64_t idx = l1.body["audit_index"].get<std::int64_t>();
  r = c.Get("/v1/audit/proof/inclusion?index=" + std::to_string(idx) +
                "&tree_size=" + std::to_string(b.size),
            bearer(auditor));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto ij = nlohmann::json::parse(r->body);
  std::vector<std::string> path;
  for (const auto& h : ij["proof"]) path.push_back(certd::base64_decode(h.get<std::string>(), "p"));
  const std::string leaf = certd::base64_decode(ij["leaf_hash"].get<std::string>(), "leaf");
  EXPECT_TRUE(
      certd::merkle::verify_inclusion(static_cast<std::uint64_t>(idx), b.size, leaf, path, b.root));
  // The leaf is the licence's own entry, recomputed here from /v1/audit/entries.
  r = c.Get("/v1/audit/entries?start=" + std::to_string(idx) + "&limit=1", bearer(auditor));
  ASSERT_TRUE(r);
  const auto e = nlohmann::json::parse(r->body)["entries"][0];
  certd::AuditRow row{e["idx"],    e["ts"],         e["principal"],    e["action"],
                      e["object"], e["request_id"], e["details_json"], ""};
  EXPECT_EQ(row.action, "licence.issue");
  EXPECT_EQ(row.object, l1.body["id"]);
  EXPECT_EQ(certd::audit_leaf_hash(row), leaf);
  // Department keys lack audit:read.
  expect_problem(c.Get("/v1/audit/checkpoint", bearer(key)), 403, "forbidden");
  expect_problem(c.Get("/v1/audit/proof/inclusion?index=999999", bearer(auditor)), 400,
                 "invalid-request");
}

}  // namespace
