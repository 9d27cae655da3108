// certd under faults of its environment (issue 17), the real binary on loopback: a clock set back
// after a seal rotation or before the certificate's notBefore (libfaketime preloaded into certd,
// as `faketime -f -10m certd …` does), a seal key file that cannot be read, a full disk (the
// registry on a small tmpfs). Each case: 503 with a specific problem and no server path, nothing
// written, no serial burnt, /readyz unready; and service back without a restart once the fault
// is gone.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "certd_fixture.h"

namespace {

using certdtest::CertdProcess;
using certdtest::expect_problem;
using certdtest::post_json;
using certdtest::RawDb;

const std::string kTemplate = "business-licence-enterprise";  // department samr

nlohmann::json sample() { return certdtest::template_sample(kTemplate); }

httplib::Result post_issue(httplib::Client& c, const std::string& key, const std::string& idem) {
  return c.Post("/v1/licences", {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}},
                nlohmann::json{{"template", kTemplate}, {"data", sample()}}.dump(),
                "application/json");
}

// libfaketime, as the faketime(1) wrapper preloads it.
std::string libfaketime() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                        "/usr/lib/faketime/libfaketime.so.1"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

// Preloading libfaketime ahead of an ASan-built certd (preset asan-ubsan) would stop it at
// start-up ("ASan runtime does not come first"); ASan's own option allows that order, and
// LeakSanitizer is kept out of libfaketime's own allocations at exit. A build without ASan
// ignores the variable.
std::string asan_options_for_preload() {
  const char* cur = std::getenv("ASAN_OPTIONS");
  return std::string(cur != nullptr && *cur != '\0' ? std::string(cur) + ":" : "") +
         "verify_asan_link_order=0:detect_leaks=0";
}

std::map<std::string, std::string> env_for(const testsupport::TempDir& d,
                                           std::map<std::string, std::string> extra = {}) {
  extra["CERTD_SEAL_KEY_DIR"] = (d / "seal-keys").string();
  return extra;
}

// The registry's accounting: licences, serials handed out (reservations + void rows + licences).
struct Counts {
  std::int64_t licences = 0, voids = 0, audit = 0;
  bool operator==(const Counts& o) const {
    return licences == o.licences && voids == o.voids && audit == o.audit;
  }
};
Counts counts(const std::string& store) {
  RawDb db(store);
  return {db.int64("SELECT COUNT(*) FROM licences"),
          db.int64("SELECT COUNT(*) FROM audit_log WHERE action = 'licence.void'"),
          db.int64("SELECT COUNT(*) FROM audit_log WHERE action <> 'auth.failure'")};
}

nlohmann::json readyz(httplib::Client& c, int want) {
  // The readiness checks are cached about a second.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto r = c.Get("/readyz");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, want) << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

TEST(ApiFaults, ClockSetBackAfterARotationIsRefusedWith503AndNothingWritten) {
  const std::string faketime = libfaketime();
  if (faketime.empty()) GTEST_SKIP() << "libfaketime is not installed (scripts/deps.sh)";
  testsupport::TempDir d;
  // The first certd stays alive (stopped) until the end: its directory holds the SQLite file.
  auto first = std::make_unique<CertdProcess>(env_for(d));
  const std::string store = first->store();
  const std::string key = first->make_key("samr");
  {
    CertdProcess& certd = *first;
    const std::string admin = certd.make_key("admin");
    auto c = certd.client();
    ASSERT_EQ(post_issue(c, key, "before")->status, 201);
    // A rotation now: version 2 is active from this second on.
    const auto created = post_json(c, admin, "/v1/seals/samr/keys", {{"example_ca", true}}, 201);
    post_json(c, admin,
              "/v1/seals/samr/keys/" + std::to_string(created.value("version", 0)) + ":activate",
              nlohmann::json::object(), 200);
    ASSERT_EQ(certd.stop(), 0);
  }
  // The same registry, served by a certd whose clock was set back 10 minutes.
  CertdProcess certd(env_for(d, {{"LD_PRELOAD", faketime},
                                         {"ASAN_OPTIONS", asan_options_for_preload()},
                                         {"FAKETIME", "-10m"}}), {}, store);
  auto c = certd.client();
  const Counts before = counts(store);
  const auto j = expect_problem(post_issue(c, key, "after"), 503, "clock-out-of-range");
  const std::string detail = j.value("detail", "");
  EXPECT_NE(detail.find("before seal key samr v2 was activated"), std::string::npos) << detail;
  EXPECT_EQ(detail.find(d.path().string()), std::string::npos) << detail;
  // Nothing written, no serial burnt (no licence.void row).
  EXPECT_EQ(counts(store), before);
  const auto ready = readyz(c, 503);
  EXPECT_EQ(ready["status"], "not-ready");
  EXPECT_NE(ready["checks"].value("clock", "").find("was activated"), std::string::npos)
      << ready.dump();
}

TEST(ApiFaults, ClockBeforeTheCertificatesNotBeforeIsRefusedWith503) {
  const std::string faketime = libfaketime();
  if (faketime.empty()) GTEST_SKIP() << "libfaketime is not installed (scripts/deps.sh)";
  testsupport::TempDir d;
  auto first = std::make_unique<CertdProcess>(env_for(d));  // its directory holds the SQLite file
  const std::string store = first->store();
  const std::string key = first->make_key("samr");
  ASSERT_EQ(first->stop(), 0);
  // Mid-2024: after the sample holder's dates, before the keys-example seal certificates'
  // notBefore (2025-01-01), from which the imported version 1 is active.
  CertdProcess certd(env_for(d, {{"LD_PRELOAD", faketime},
                                         {"ASAN_OPTIONS", asan_options_for_preload()},
                                         {"FAKETIME", "@2024-06-01 00:00:00"}}),
                     {}, store);
  auto c = certd.client();
  const Counts before = counts(store);
  const auto j = expect_problem(post_issue(c, key, "early"), 503, "clock-out-of-range");
  EXPECT_NE(j.value("detail", "").find("a licence sealed now would never verify"),
            std::string::npos)
      << j.dump();
  EXPECT_EQ(counts(store), before);
  (void)readyz(c, 503);
}

TEST(ApiFaults, UnreadableSealKeyIs503WithoutAPathAndReadyzUnreadyUntilRestored) {
  testsupport::TempDir d;
  CertdProcess certd(env_for(d));
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  (void)readyz(c, 200);
  // The active samr key of this certd (keys-example copy, version 1).
  const std::filesystem::path k = std::filesystem::path(certd.private_keys_copy()) / "seals" /
                                  "samr" / "seal.key";
  ASSERT_TRUE(std::filesystem::exists(k));
  std::filesystem::rename(k, k.string() + ".away");
  const Counts before = counts(certd.store());
  const auto j = expect_problem(post_issue(c, key, "nokey"), 503, "seal-key-unavailable");
  EXPECT_EQ(j.value("detail", "").find('/'), std::string::npos) << j.dump();
  EXPECT_EQ(counts(certd.store()), before);
  const auto ready = readyz(c, 503);
  EXPECT_NE(ready["checks"].value("seal_keys", "").find("seal key samr v1"), std::string::npos)
      << ready.dump();
  EXPECT_EQ(ready.dump().find(d.path().string()), std::string::npos) << ready.dump();
  std::filesystem::rename(k.string() + ".away", k);
  (void)readyz(c, 200);
  auto ok = post_issue(c, key, "nokey");  // the same key: the 503 was not remembered
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
}

// A full disk: the registry on a 2 MB tmpfs that a file then fills (root may mount; elsewhere the
// store suite's fault VFS covers SQLITE_FULL).
TEST(ApiFaults, DiskFullIs503WithoutAPathAndWritesResumeWithoutRestart) {
  if (certdtest::on_postgres()) GTEST_SKIP() << "the SQLite file's disk";
  testsupport::TempDir d;
  const std::filesystem::path mnt = d / "small";
  std::filesystem::create_directory(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (not root)";
  }
  struct Unmount {
    std::string p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt.string()};
  const std::string store = (mnt / "registry.db").string();
  CertdProcess certd(env_for(d), {}, store);
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  ASSERT_EQ(post_issue(c, key, "first")->status, 201);
  // Fill the disk.
  {
    std::ofstream fill(mnt / "fill", std::ios::binary);
    const std::string mb(1 << 20, 'x');
    for (int i = 0; i < 8 && fill; ++i) fill.write(mb.data(), static_cast<std::streamsize>(mb.size()));
  }
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = post_issue(c, key, "full-" + std::to_string(i));
    ASSERT_TRUE(r);
    if (r->status == 201) continue;  // a WAL frame could still be reused
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_FALSE(r->get_header_value("Retry-After").empty());
    EXPECT_EQ(r->body.find(mnt.string()), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("registry.db"), std::string::npos) << r->body;
    ++refused;
  }
  EXPECT_GT(refused, 0);
  std::filesystem::remove(mnt / "fill");
  auto r = post_issue(c, key, "after-full");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
}

}  // namespace
