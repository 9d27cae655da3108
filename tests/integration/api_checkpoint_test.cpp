// Scheduled audit checkpoints (service.md "Audit log": a checkpoint every N entries or T seconds):
// the decision rule of certd::AuditCheckpointer against a real registry with a controlled clock,
// and the real certd signing one on its own, with nobody calling the checkpoint route. Both run
// on SQLite and, as pg.*, on PostgreSQL.
#include <atomic>
#include <chrono>
#include <thread>

#include "audit.h"
#include "certd_fixture.h"
#include "merkle.h"
#include "store.h"

namespace {

using certdtest::CertdProcess;

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";

class StepClock final : public libcert::Clock {
 public:
  explicit StepClock(std::int64_t t) : t_(t) {}
  [[nodiscard]] std::int64_t now() const override { return t_.load(); }
  void advance(std::int64_t s) { t_ += s; }

 private:
  std::atomic<std::int64_t> t_;
};

// One audit row per call (principal.create).
void add_entry(certd::Store& store, int n, std::int64_t now) {
  certd::NewPrincipal p;
  p.department = "samr";
  p.scopes = {certd::kScopeIssue};
  p.label = "checkpoint test " + std::to_string(n);
  p.key_prefix = "lic_test" + std::to_string(n);
  p.key_sha256 = certd::sha256_hex("key " + std::to_string(n));
  store.create_principal(p, now, {"certctl", "test"});
}

TEST(AuditCheckpointer, SignsAfterNEntriesOrTSecondsOnlyWhenTheLogGrew) {
  testsupport::TempDir d;
  auto store = certd::open_store(certdtest::new_registry(d.path()));
  certd::AuditLog log(*store, "lic.ali.example/audit",
                      testsupport::slurp(kKeys + "/audit/audit.key"));
  StepClock clock(1'780'000'000);
  certd::AuditCheckpointer::Options o;
  o.every_entries = 3;
  o.every_seconds = 60;
  o.start_thread = false;
  certd::AuditCheckpointer cp(log, *store, clock, o, nullptr);

  const std::int64_t base = store->audit_size();
  if (base == 0) {
    EXPECT_FALSE(cp.tick().has_value()) << "an empty log has nothing to commit to";
    add_entry(*store, 0, clock.now());
  }
  // No checkpoint stored yet: the first is due as soon as the log has an entry.
  auto first = cp.tick();
  ASSERT_TRUE(first.has_value());
  const std::int64_t s0 = first->tree_size;
  EXPECT_EQ(s0, store->audit_size());

  add_entry(*store, 1, clock.now());
  add_entry(*store, 2, clock.now());
  EXPECT_FALSE(cp.tick().has_value()) << "2 new entries < 3, 0 s < 60 s";
  add_entry(*store, 3, clock.now());
  auto by_count = cp.tick();
  ASSERT_TRUE(by_count.has_value()) << "3 new entries";
  EXPECT_EQ(by_count->tree_size, s0 + 3);

  add_entry(*store, 4, clock.now());
  clock.advance(59);
  EXPECT_FALSE(cp.tick().has_value()) << "1 new entry, 59 s";
  clock.advance(1);
  auto by_time = cp.tick();
  ASSERT_TRUE(by_time.has_value()) << "1 new entry, 60 s";
  EXPECT_EQ(by_time->tree_size, s0 + 4);
  EXPECT_EQ(by_time->created_at, clock.now());

  clock.advance(100'000);
  EXPECT_FALSE(cp.tick().has_value()) << "no new entry: no new checkpoint, however long";

  // Every stored checkpoint is a signed note over the recomputed root of its size.
  const std::string pub = testsupport::slurp(kKeys + "/audit/audit.pub");
  const auto stored = store->audit_checkpoints();
  ASSERT_EQ(stored.size(), 3U);
  for (const auto& c : stored) {
    const auto note = certd::open_checkpoint(c.signed_note, pub);
    EXPECT_EQ(static_cast<std::int64_t>(note.size), c.tree_size);
    EXPECT_EQ(note.root, certd::merkle::root(log.leaves(c.tree_size)));
  }
}

TEST(AuditCheckpointer, CertdSignsACheckpointOnItsOwnWithinItsPeriod) {
  testsupport::TempDir d;
  CertdProcess certd({{"CERTD_SEAL_KEY_DIR", (d / "seal-keys").string()},
                      {"CERTD_AUDIT_CHECKPOINT_EVERY_SECONDS", "1"},
                      {"CERTD_AUDIT_CHECKPOINT_EVERY_ENTRIES", "1000000"}});
  (void)certd.make_key("samr");  // an audit entry written behind certd's back, by certctl
  auto store = certd::open_store(certd.store());
  const std::int64_t size = store->audit_size();
  ASSERT_GT(size, 0);
  // The thread polls every second and the period is 1 s: a checkpoint of this size within ~3 s.
  std::vector<certd::AuditCheckpointRow> cps;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    cps = store->audit_checkpoints();
    if (!cps.empty() && cps.back().tree_size >= size) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(cps.empty()) << certd.log();
  EXPECT_GE(cps.back().tree_size, size);
  const auto note = certd::open_checkpoint(cps.back().signed_note,
                                           testsupport::slurp(kKeys + "/audit/audit.pub"));
  EXPECT_EQ(static_cast<std::int64_t>(note.size), cps.back().tree_size);
  EXPECT_NE(certd.log().find("\"audit_checkpoint_every\":\"1000000 entries or 1 s\""),
            std::string::npos)
      << certd.log();
  EXPECT_EQ(certd.stop(), 0);
}

}  // namespace
