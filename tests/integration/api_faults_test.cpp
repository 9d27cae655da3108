// Issue 17 against the real certd on loopback: the one error map (daemon/error_map.h) — faults of
// the environment are 503 + Retry-After without server paths, bad input is a 4xx naming the field
// — abuse limits by credential and by address, one aggregated auth.failure audit row per address,
// /metrics behind a scope, and one 404 for unknown and other departments' licences.
//
// Environment faults are real: the seal key file is made unreadable (chmod 000) while certd runs
// as the unprivileged user `nobody` (as root, chmod would change nothing); the disk is full on a
// 4 MB tmpfs holding the registry (skipped, saying so, where mount(8) is not permitted).
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "certd_fixture.h"
#include "store.h"

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::expect_problem;

namespace {

namespace fs = std::filesystem;

std::string sample_body() {
  const std::string sample = testsupport::slurp(
      std::string(LIBCERT_SOURCE_DIR) + "/templates/business-licence-enterprise/sample.json");
  return nlohmann::json{{"template", "business-licence-enterprise"},
                        {"data", nlohmann::json::parse(sample)}}
      .dump();
}

httplib::Headers with_key(const std::string& key, const std::string& idem) {
  return {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}};
}

// A 503 of the environment: Retry-After, and a detail that names no server file.
void expect_environment_fault(const httplib::Result& r, const std::string& server_dir,
                              const std::string& slug = "unavailable") {
  const auto j = expect_problem(r, 503, slug);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty()) << r->body;
  const std::string detail = j.value("detail", "");
  EXPECT_EQ(detail.find('/'), std::string::npos) << "a path in detail: " << detail;
  EXPECT_EQ(r->body.find(server_dir), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find(".key"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("registry.db"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("INSERT"), std::string::npos) << r->body;
}

std::vector<certd::AuditRow> audit_rows(const std::string& store, const std::string& action) {
  auto st = certd::open_store(store);
  std::vector<certd::AuditRow> out;
  for (auto& row : st->audit_entries(0, st->audit_size())) {
    if (row.action == action) out.push_back(row);
  }
  return out;
}

std::string write_config(const testsupport::TempDir& dir, const nlohmann::json& j) {
  const auto p = dir / "certd.json";
  testsupport::spit(p, j.dump());
  return p.string();
}

}  // namespace

// Issue 17 "seal key file unreadable": 500 io-error with the file's path in detail on main.
TEST(Faults, UnreadableSealKeyIs503WithRetryAfterAndNoPath) {
  CertdProcess d({}, {}, {}, "nobody");
  const std::string samr = d.make_key("samr");
  const fs::path key = fs::path(d.dir().path()) / "keys" / "seals" / "samr" / "seal.key";
  ASSERT_TRUE(fs::exists(key));
  fs::permissions(key, fs::perms::none);
  auto c = d.client();
  const auto r = c.Post("/v1/licences", with_key(samr, "unreadable-1"), sample_body(),
                        "application/json");
  // The issuance service names the fault (issuance_service.cpp), never the file.
  expect_environment_fault(r, d.dir().path().string(), "seal-key-unavailable");
  // The request is in the server log, under its id, with the problem.
  const std::string rid = r->get_header_value("X-Request-Id");
  const std::string log = d.log();
  EXPECT_NE(log.find(rid), std::string::npos);
  EXPECT_NE(log.find("seal-key-unavailable"), std::string::npos) << log;
  // Readable again: the same service issues (nothing was left behind by the failed attempt).
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  const auto ok = c.Post("/v1/licences", with_key(samr, "unreadable-2"), sample_body(),
                         "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
}

// Issue 17 "disk full": 500 internal on main.
TEST(Faults, FullDiskIs503WithRetryAfterAndNoPath) {
  if (certdtest::on_postgres()) GTEST_SKIP() << "the registry on a tmpfs is a SQLite file";
  testsupport::TempDir mnt;
  if (::mount("tmpfs", mnt.path().c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "mount(tmpfs) not permitted here (" << std::strerror(errno)
                 << "): the full-disk case is left to the fault-injecting registry connection";
  }
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt.path().string()};
  const std::string store = (mnt / "registry.db").string();
  {
    CertdProcess d({}, {}, store);
    const std::string samr = d.make_key("samr");
    const std::string admin = d.make_key("admin");
    auto c = d.client();
    const auto first = c.Post("/v1/licences", with_key(samr, "full-1"), sample_body(),
                              "application/json");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 201) << first->body;
    const std::string id = nlohmann::json::parse(first->body).at("id");
    // Fill the file system to the last byte.
    {
      std::ofstream fill(mnt / "filler", std::ios::binary);
      const std::string block(4096, 'x');
      for (int i = 0; i < 2048 && fill.write(block.data(), static_cast<std::streamsize>(block.size())); ++i) {
      }
    }
    bool any503 = false;
    for (int i = 0; i < 3; ++i) {
      const auto r = c.Post("/v1/licences", with_key(samr, "full-" + std::to_string(i + 2)),
                            sample_body(), "application/json");
      ASSERT_TRUE(r);
      ASSERT_NE(r->status, 500) << r->body;
      if (r->status == 503) {
        expect_environment_fault(r, mnt.path().string());
        any503 = true;
      }
    }
    EXPECT_TRUE(any503) << "the registry took three licences on a full disk";
    const auto rv = c.Post("/v1/licences/" + id + "/revoke", bearer(admin),
                           R"({"reason": "full disk test"})", "application/json");
    ASSERT_TRUE(rv);
    EXPECT_NE(rv->status, 500) << rv->body;
    if (rv->status == 503) expect_environment_fault(rv, mnt.path().string());
    fs::remove(mnt / "filler");
  }
}

// Issue 17 "JSON number 1e400 in any field": 500 on main.
TEST(Errors, NumberOutOfRangeIs400NamingTheField) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  const std::string admin = d.make_key("admin");
  auto c = d.client();
  auto j = expect_problem(
      c.Post("/v1/licences", with_key(samr, "big-1"),
             R"({"template": "business-licence-enterprise", "data": {"registered_capital": 1e400}})",
             "application/json"),
      400, "invalid-request");
  EXPECT_NE(j.value("detail", "").find("body.data.registered_capital"), std::string::npos)
      << j.dump();
  EXPECT_NE(j.value("detail", "").find("out of range"), std::string::npos) << j.dump();
  j = expect_problem(c.Post("/v1/licences:batch", with_key(samr, "big-2"),
                            R"({"items": [{"template": "x", "data": {}}, {"data": {"a": [1, -1e400]}}]})",
                            "application/json"),
                     400, "invalid-request");
  EXPECT_NE(j.value("detail", "").find("body.items[1].data.a[1]"), std::string::npos) << j.dump();
  j = expect_problem(c.Post("/v1/licences/X/revoke", bearer(admin), R"({"reason": 1e400})",
                            "application/json"),
                     400, "invalid-request");
  EXPECT_NE(j.value("detail", "").find("body.reason"), std::string::npos) << j.dump();
  j = expect_problem(c.Post("/v1/verify", R"({"qr": 1E+999})", "application/json"), 400,
                     "invalid-request");
  EXPECT_NE(j.value("detail", "").find("body.qr"), std::string::npos) << j.dump();
}

// Issue 17 "GET /v1/licences/%FF": 500 on main. Every route's path is checked in one place.
TEST(Errors, PathThatIsNotUtf8IsA400OnEveryRoute) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  auto c = d.client();
  c.set_url_encode(false);  // send %FF as it is
  for (const std::string path :
       {"/v1/licences/%FF", "/v1/licences/%C0%AF/pdf", "/v1/licences/%ED%A0%80/preview.png",
        "/v1/templates/%FF", "/web/%FE", "/v1/seals/%F5%80%80%80/keys"}) {
    for (const bool key : {false, true}) {
      const auto r = key ? c.Get(path, bearer(samr)) : c.Get(path);
      const auto j = expect_problem(r, 400, "invalid-path");
      EXPECT_NE(j.value("detail", "").find("UTF-8"), std::string::npos) << path;
    }
  }
  // Well-formed UTF-8 that is not an id is still a 400 of the id rule, not a 500.
  expect_problem(c.Get("/v1/licences/%E4%B8%AD", bearer(samr)), 400, "invalid-id");
}

// Issue 17 "11 bad keys from one address → every valid key from that address 429 for 60 s".
TEST(Abuse, ValidKeysPassAfterElevenBadKeysFromTheirAddress) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  const std::string admin = d.make_key("admin");
  auto c = d.client();
  // Eleven different unknown keys (the default limit is 10 a minute).
  for (int i = 0; i < 11; ++i) {
    std::string k = "lic_" + std::string(52, 'a');
    k[4 + static_cast<std::size_t>(i)] = 'b';
    const auto r = c.Get("/v1/templates", bearer(k));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, i < 10 ? 401 : 429) << i << ": " << r->body;
  }
  // Keys that authenticate are never throttled for others' failures at the same address.
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/v1/templates", bearer(samr));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    r = c.Get("/v1/licences", bearer(admin));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  // Another unknown key from that address: 429 (the address is locked for failing keys).
  auto r = c.Get("/v1/templates", bearer("lic_" + std::string(52, 'c')));
  auto j = expect_problem(r, 429, "auth-rate-limited");
  EXPECT_NE(j.value("detail", "").find("this address presented more than 10"), std::string::npos);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  // One lock-out row, naming the hashed address only.
  const auto rows = audit_rows(d.store(), "auth.lockout");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].object.rfind("address:", 0), 0u);
  EXPECT_EQ(rows[0].object.find("127.0.0.1"), std::string::npos);
}

// The same wrong key, again and again: locked per presented credential (before any lookup).
TEST(Abuse, ARepeatedWrongKeyIsLockedOutByItself) {
  testsupport::TempDir cfg;
  CertdProcess d({}, {"--config", write_config(cfg, {{"limits", {{"auth_failures_per_minute", 3}}}})});
  const std::string samr = d.make_key("samr");
  auto c = d.client();
  const std::string wrong = "lic_" + std::string(52, 'q');
  for (int i = 0; i < 3; ++i) expect_problem(c.Get("/v1/templates", bearer(wrong)), 401, "unauthorized");
  auto j = expect_problem(c.Get("/v1/templates", bearer(wrong)), 429, "auth-rate-limited");
  EXPECT_NE(j.value("detail", "").find("this API key failed more than 3"), std::string::npos)
      << j.dump();
  j = expect_problem(c.Get("/v1/templates", bearer(wrong)), 429, "auth-rate-limited");
  EXPECT_NE(j.value("detail", "").find("this API key"), std::string::npos) << j.dump();
  const auto ok = c.Get("/v1/templates", bearer(samr));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  bool key_row = false;
  for (const auto& row : audit_rows(d.store(), "auth.lockout")) {
    key_row = key_row || row.object.rfind("key:", 0) == 0;
    EXPECT_EQ(row.object.find(wrong.substr(4, 16)), std::string::npos);
  }
  EXPECT_TRUE(key_row);
}

// Issue 17 "requests without any key, flooded → 8,994 auth.failure rows".
TEST(Abuse, UnauthenticatedFloodIsOneAggregatedAuditRow) {
  CertdProcess d;  // the default interval, 60 s: the flood takes about a second
  const std::string admin = d.make_key("admin");
  auto c = d.client();
  constexpr int kFlood = 300;
  for (int i = 0; i < kFlood; ++i) {
    const auto r = c.Get("/v1/licences");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 401);
  }
  const auto m = c.Get("/metrics", bearer(admin));
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_NE(m->body.find("certd_auth_failures_total{reason=\"missing\"} " + std::to_string(kFlood)),
            std::string::npos)
      << m->body;
  // Nothing written per request while the interval runs; one row at its end (here: shutdown).
  EXPECT_TRUE(audit_rows(d.store(), "auth.failure").empty());
  ASSERT_EQ(d.stop(), 0);
  const auto rows = audit_rows(d.store(), "auth.failure");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].principal, "anonymous");
  EXPECT_EQ(rows[0].object.rfind("address:", 0), 0u);
  EXPECT_EQ(rows[0].object.find("127.0.0.1"), std::string::npos);
  const auto details = nlohmann::json::parse(rows[0].details_json);
  EXPECT_EQ(details.at("count").get<int>(), kFlood) << rows[0].details_json;
  EXPECT_EQ(details.at("reasons").at("missing").get<int>(), kFlood) << rows[0].details_json;
  EXPECT_EQ(rows[0].leaf_hash, certd::audit_leaf_hash(rows[0]));
}

// Issue 17 "public /metrics".
TEST(Access, MetricsNeedTheMetricsScope) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  const std::string admin = d.make_key("admin");
  auto c = d.client();
  expect_problem(c.Get("/metrics"), 401, "unauthorized");
  auto j = expect_problem(c.Get("/metrics", bearer(samr)), 403, "forbidden");
  EXPECT_NE(j.value("detail", "").find("metrics:read"), std::string::npos);
  auto r = c.Get("/metrics", bearer(admin));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("certd_http_requests_total"), std::string::npos);
  // A scraper's key: only metrics:read.
  const auto made = testsupport::run(std::string(CERTCTL_BIN) + " keys create --store " +
                                     d.store() + " --admin --scopes metrics:read --json");
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const std::string scraper = nlohmann::json::parse(made.out).at("key");
  r = c.Get("/metrics", bearer(scraper));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  expect_problem(c.Get("/v1/licences", bearer(scraper)), 403, "forbidden");
  // Unknown scope: bad input, exit 3 (docs/verdicts.md).
  const auto bad = testsupport::run(std::string(CERTCTL_BIN) + " keys create --store " +
                                    d.store() + " --admin --scopes metrics:write --json");
  EXPECT_EQ(bad.exit_code, 3) << bad.out;
}

// Issue 17 "another department's key on an existing vs an unknown id: 403 vs 404".
TEST(Access, AnotherDepartmentsLicenceLooksLikeAnUnknownId) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  const std::string civil = d.make_key("civil-affairs");
  auto c = d.client();
  const auto issued = c.Post("/v1/licences", with_key(samr, "oracle-1"), sample_body(),
                             "application/json");
  ASSERT_TRUE(issued);
  ASSERT_EQ(issued->status, 201) << issued->body;
  const std::string id = nlohmann::json::parse(issued->body).at("id");
  std::string unknown = id;
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  auto shape = [](nlohmann::json j, const std::string& which) {
    std::string detail = j.value("detail", "");
    if (auto p = detail.find(which); p != std::string::npos) detail.replace(p, which.size(), "ID");
    return std::make_tuple(j.value("type", ""), j.value("title", ""), j.value("status", 0), detail);
  };
  for (const std::string suffix : {"", "/pdf", "/preview.png"}) {
    const auto a = expect_problem(c.Get("/v1/licences/" + id + suffix, bearer(civil)), 404,
                                  "not-found");
    const auto b = expect_problem(c.Get("/v1/licences/" + unknown + suffix, bearer(civil)), 404,
                                  "not-found");
    EXPECT_EQ(shape(a, id), shape(b, unknown)) << a.dump() << "\n" << b.dump();
  }
  const auto a = expect_problem(c.Post("/v1/licences/" + id + "/revoke", bearer(civil),
                                       R"({"reason": "probe"})", "application/json"),
                                404, "not-found");
  const auto b = expect_problem(c.Post("/v1/licences/" + unknown + "/revoke", bearer(civil),
                                       R"({"reason": "probe"})", "application/json"),
                                404, "not-found");
  EXPECT_EQ(shape(a, id), shape(b, unknown));
  // Nothing changed: the owner still sees it valid.
  const auto own = c.Get("/v1/licences/" + id, bearer(samr));
  ASSERT_TRUE(own);
  EXPECT_EQ(nlohmann::json::parse(own->body).value("status", ""), "valid");
}
