// Backup and restore of a SQLite registry (issue 18; daemon/backup.h, docs/operations.md
// "Backups"): `certctl backup` while certd issues under load, `certctl restore` into a new
// directory; the restored registry passes `certctl audit verify`, a certd on it serves every
// licence acknowledged before the backup, and issue → backup → issue → restore → issue repeats no
// identifier (restore advanced the serial counters from the exported checkpoint). A restore
// without a serial bound, or of a damaged copy, leaves nothing behind.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "certd_fixture.h"
#include "support/process.h"

using certdtest::bearer;
using certdtest::CertdProcess;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777u;
}

testsupport::RunResult certctl(const std::string& args) {
  return testsupport::run(std::string(CERTCTL_BIN) + " " + args);
}

struct Issued {
  std::string id;  // the licence identifier (GB/T 36904; serial inside)
};

TEST(Backup, UnderLoadThenRestoreServesEveryLicenceAndRepeatsNoIdentifier) {
  if (certdtest::on_postgres()) GTEST_SKIP() << "certctl backup copies SQLite registries (pg_dump for PostgreSQL)";
  CertdProcess d;
  const std::string keys = (d.dir() / "keys").string();
  const std::string key = d.make_key("samr");
  const std::string body =
      nlohmann::json{{"template", "business-licence-enterprise"},
                     {"data", certdtest::template_sample("business-licence-enterprise")}}
          .dump();
  std::mutex mu;
  std::vector<Issued> issued;
  std::atomic<bool> stop{false};
  std::atomic<int> counter{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&] {
      auto c = d.client();
      while (!stop) {
        auto h = bearer(key);
        h.emplace("Idempotency-Key", "bk-" + std::to_string(counter++));
        const auto r = c.Post("/v1/licences", h, body, "application/json");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 201) << r->body;
        const auto j = nlohmann::json::parse(r->body);
        std::lock_guard l(mu);
        issued.push_back({j.at("id")});
      }
    });
  }
  const auto wait_for = [&](std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard l(mu);
        if (issued.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "fewer than " << n << " licences issued in 120 s";
  };
  wait_for(8);
  // Every licence acknowledged before the backup starts must be in it.
  std::vector<Issued> before;
  {
    std::lock_guard l(mu);
    before = issued;
  }
  const fs::path bk = d.dir() / "backup";
  const auto b = certctl("backup --json --store " + d.store() + " -o " + bk.string() + " --keys " + keys);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  std::size_t during;
  {
    std::lock_guard l(mu);
    during = issued.size();
  }
  wait_for(during + 6);  // issuance continues after the backup: these are not in it
  stop = true;
  for (auto& t : clients) t.join();
  const auto bj = nlohmann::json::parse(b.out);
  EXPECT_GE(bj.at("licences").get<std::int64_t>(), static_cast<std::int64_t>(before.size()));

  // The backup: private files, a manifest without private keys, a signed checkpoint.
  EXPECT_EQ(mode_of(bk), 0700u);
  EXPECT_EQ(mode_of(bk / "registry.db"), 0600u);
  EXPECT_EQ(mode_of(bk / "manifest.json"), 0600u);
  const std::string manifest = testsupport::slurp((bk / "manifest.json").string());
  EXPECT_EQ(manifest.find("PRIVATE KEY"), std::string::npos);
  const auto m = nlohmann::json::parse(manifest);
  EXPECT_FALSE(m.at("keys").at("certificates").empty());
  EXPECT_FALSE(m.at("keys").at("private_keys_not_in_backup").empty());
  ASSERT_TRUE(fs::exists(bk / "checkpoint.txt"));

  // The latest checkpoint exported from the live registry (after the post-backup issuance).
  const fs::path latest = d.dir() / "latest-checkpoint.txt";
  ASSERT_EQ(certctl("audit checkpoint --store " + d.store() + " --keys " + keys + " -o " +
                    latest.string()).exit_code, 0);
  d.stop();

  // Restore into a new directory.
  const fs::path restored_dir = d.dir() / "restored";
  fs::create_directory(restored_dir);
  const std::string restored = (restored_dir / "registry.db").string();
  const auto r = certctl("restore --json --from " + bk.string() + " --store " + restored +
                         " --checkpoint " + latest.string() + " --keys " + keys);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto rj = nlohmann::json::parse(r.out);
  EXPECT_EQ(rj.at("audit").get<std::string>().rfind("OK", 0), 0u) << r.out;
  EXPECT_GT(rj.at("serial_advance").get<std::int64_t>(), 0);
  EXPECT_EQ(mode_of(restored), 0600u);
  // The restored registry passes audit verify (against the backup's checkpoint).
  const auto v = certctl("audit verify --store " + restored + " --checkpoint " +
                         (bk / "checkpoint.txt").string() + " --keys " + keys);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(v.out.rfind("OK", 0), 0u) << v.out;

  // certd on the restored registry (the same key directory: the registry records key paths).
  CertdProcess d2({}, {"--keys", keys}, restored);
  auto c = d2.client();
  for (const auto& lic : before) {
    const auto g = c.Get("/v1/licences/" + lic.id, bearer(key));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 200) << lic.id;
  }
  std::set<std::string> ids;
  for (const auto& lic : issued) ids.insert(lic.id);
  ASSERT_EQ(ids.size(), issued.size());
  for (int i = 0; i < 4; ++i) {
    auto h = bearer(key);
    h.emplace("Idempotency-Key", "after-restore-" + std::to_string(i));
    const auto p = c.Post("/v1/licences", h, body, "application/json");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->status, 201) << p->body;
    const std::string id = nlohmann::json::parse(p->body).at("id");
    EXPECT_TRUE(ids.insert(id).second) << "identifier issued twice: " << id;
  }
  std::printf("backup: %zu licences before the backup, %zu in all before the restore, 4 after; "
              "serial advance %lld\n",
              before.size(), issued.size(),
              static_cast<long long>(rj.at("serial_advance").get<std::int64_t>()));
}

TEST(Backup, RestoreRefusesWithoutSerialBoundOrWithDamagedCopy) {
  if (certdtest::on_postgres()) GTEST_SKIP() << "certctl backup copies SQLite registries";
  CertdProcess d;
  const std::string keys = (d.dir() / "keys").string();
  (void)d.make_key("samr");
  d.stop();
  const fs::path bk = d.dir() / "backup";
  ASSERT_EQ(certctl("backup --store " + d.store() + " -o " + bk.string() + " --keys " + keys).exit_code, 0);
  const std::string target = (d.dir() / "restored.db").string();

  // No --checkpoint / --advance: usage (2), naming what is needed; nothing written.
  auto r = certctl("restore --from " + bk.string() + " --store " + target + " --keys " + keys);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--checkpoint FILE"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(target));

  // A byte of the copy changed: bad input (3), nothing written.
  {
    std::fstream f((bk / "registry.db").string(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x5a');
  }
  r = certctl("restore --from " + bk.string() + " --store " + target + " --advance 100 --keys " + keys);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("does not match its manifest"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(target + ".restoring"));
}

}  // namespace
