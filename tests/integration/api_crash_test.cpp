// Crash safety (issue 10): certd on SQLite (and as pg.* on PostgreSQL, issue 11), several clients
// issuing at once, certd killed with SIGKILL at random moments 10 times and restarted on the same
// registry. Afterwards every licence a client got a 2xx for is in the registry and verifies VALID,
// no serial and no status-list index was handed out twice, the audit log is complete: indices
// 0..n-1 without a gap, every leaf hash recomputes, every licence's audit row is its
// licence.issue; and (issue 9: issuance reserves a serial, renders unlocked, then commits) every
// serial the counter handed out is exactly one licence or one licence.void audit row — the
// reservations a kill left between reserve and commit are voided by the restart after the lease.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "certd_fixture.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "store.h"
#include "support/process.h"

using certdtest::bearer;
using certdtest::CertdProcess;

namespace {

constexpr int kCycles = 10;
constexpr int kClients = 4;
// Short idempotency (= reservation) lease, so that the final restart voids every reservation a
// kill left behind.
constexpr int kLeaseSeconds = 2;

struct Acked {
  std::string id;
  std::string serial;
  std::string department;
};

TEST(CrashSafety, KillNineDuringIssuanceLosesAndDuplicatesNothing) {
  testsupport::TempDir dir;
  const std::string store = certdtest::new_registry(dir.path());
  // Keys are made once on the registry; every restart of certd uses the same file.
  auto make_key = [&](const std::string& dept) {
    const auto r = testsupport::run(std::string(CERTCTL_BIN) + " keys create --store " + store +
                                    " --department " + dept + " --json");
    if (r.exit_code != 0) throw std::runtime_error("certctl keys create failed: " + r.out);
    return nlohmann::json::parse(r.out).at("key").get<std::string>();
  };
  const std::string samr_key = make_key("samr");
  const std::string health_key = make_key("health");
  const std::string tpl_dir = std::string(LIBCERT_SOURCE_DIR) + "/templates/";
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"business-licence-enterprise", samr_key}, {"medical-institution-licence", health_key}};
  std::vector<std::string> bodies;
  for (const auto& [tpl, key] : kinds) {
    bodies.push_back(nlohmann::json{
        {"template", tpl},
        {"data", nlohmann::json::parse(testsupport::slurp(tpl_dir + tpl + "/sample.json"))}}
                         .dump());
  }

  const unsigned seed = static_cast<unsigned>(
      std::chrono::steady_clock::now().time_since_epoch().count() & 0xffffffff);
  std::mt19937 rng(seed);
  std::printf("kill schedule seed %u\n", seed);
  std::mutex mu;
  std::vector<Acked> acked;
  int sent = 0, failed = 0;
  std::atomic<int> counter{0};

  // One keys directory for every restart: the registry records where the imported seal key is
  // (key_ref), so a restarted certd must find it at the same path.
  const std::string keys = (dir / "keys").string();
  std::filesystem::copy(std::string(LIBCERT_SOURCE_DIR) + "/keys-example", keys,
                        std::filesystem::copy_options::recursive);
  for (const auto& e : std::filesystem::recursive_directory_iterator(keys)) {
    if (e.path().extension() == ".key") {
      std::filesystem::permissions(
          e.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
  }
  const std::string config = (dir / "certd.json").string();
  testsupport::spit(config, nlohmann::json{{"idempotency_lease_s", kLeaseSeconds}}.dump());
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    CertdProcess d({}, {"--keys", keys, "--config", config}, store);
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      clients.emplace_back([&, t] {
        httplib::Client c("127.0.0.1", d.port());
        c.set_read_timeout(30, 0);
        const auto& [tpl, key] = kinds[static_cast<std::size_t>(t) % kinds.size()];
        const std::string& body = bodies[static_cast<std::size_t>(t) % kinds.size()];
        while (!stop) {
          httplib::Headers h = bearer(key);
          h.emplace("Idempotency-Key", "crash-" + std::to_string(counter++));
          const auto r = c.Post("/v1/licences", h, body, "application/json");
          std::lock_guard l(mu);
          ++sent;
          if (r && r->status / 100 == 2) {
            const auto j = nlohmann::json::parse(r->body);
            acked.push_back({j.at("id"), j.value("serial", ""), j.value("department", "")});
          } else {
            ++failed;  // connection cut by the kill (or 503 while busy): not acknowledged
            if (!r) return;
          }
        }
      });
    }
    // Kill at a random moment while issuing: 0 to 1.5 s after this cycle's first acknowledgement
    // (start-up takes longer under the sanitizers; a kill before any issuing proves nothing).
    const std::size_t before = [&] {
      std::lock_guard l(mu);
      return acked.size();
    }();
    for (int i = 0; i < 600; ++i) {
      {
        std::lock_guard l(mu);
        if (acked.size() > before) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::uniform_int_distribution<int> ms(0, 1500);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
    EXPECT_EQ(d.kill9(), 128 + 9);
    stop = true;
    for (auto& t : clients) t.join();
  }

  // Restart once more, after the lease (so the start-up voids what the last kill left reserved),
  // and check everything through the API and the registry.
  std::this_thread::sleep_for(std::chrono::seconds(kLeaseSeconds + 1));
  CertdProcess d({}, {"--keys", keys, "--config", config}, store);
  auto c = d.client();
  libcert::TrustStore trust;
  trust.add_path(std::string(LIBCERT_SOURCE_DIR) + "/keys-example/root/root.crt");
  // Key states from certd's own signed trust bundle (without trust data: INDETERMINATE).
  const auto tb = c.Get("/v1/trust-bundle");
  ASSERT_TRUE(tb);
  ASSERT_EQ(tb->status, 200) << tb->body;
  const std::string kdir = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
  const libcert::BundlePins pins{
      libcert::certificate_der_from_pem(testsupport::slurp(kdir + "/root/root.crt")),
      libcert::read_pins(testsupport::slurp(kdir + "/bundle/pins.txt"))};
  const libcert::BundleSealKeys seal_states(libcert::TrustBundle::parse(tb->body, pins));
  libcert::VerifyOptions vopts;
  vopts.keys = &seal_states;
  ASSERT_GE(acked.size(), static_cast<std::size_t>(kCycles)) << "a cycle issued nothing";
  std::set<std::string> ids;
  for (const auto& a : acked) {
    EXPECT_TRUE(ids.insert(a.id).second) << "one identifier acknowledged twice: " << a.id;
    const std::string& key = a.department == "health" ? health_key : samr_key;
    const auto meta = c.Get("/v1/licences/" + a.id, bearer(key));
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->status, 200) << a.id << " acknowledged but not in the registry";
    const auto pdf = c.Get("/v1/licences/" + a.id + "/pdf", bearer(key));
    ASSERT_TRUE(pdf);
    ASSERT_EQ(pdf->status, 200) << a.id;
    const auto rep = libcert::verify_pdf(pdf->body, trust, vopts);
    EXPECT_EQ(rep.result, libcert::Verdict::kValid) << a.id << "\n" << rep.to_text();
  }
  d.stop();

  // The registry: serials and status-list indices unique, audit log gap-free and consistent.
  auto reg = certd::open_store(store);
  std::vector<certd::LicenceRecord> all;
  certd::ListQuery q;
  q.limit = 200;
  for (;;) {
    const auto page = reg->list_licences(q);
    all.insert(all.end(), page.items.begin(), page.items.end());
    if (!page.next_before) break;
    q.before_audit_index = page.next_before;
  }
  EXPECT_EQ(static_cast<std::int64_t>(all.size()), reg->count_licences());
  EXPECT_GE(all.size(), acked.size());
  std::set<std::string> serials;
  std::set<std::pair<std::string, std::int64_t>> indices;
  std::set<std::string> registry_ids;
  for (const auto& r : all) {
    EXPECT_TRUE(serials.insert(r.type_code + "/" + r.issuer_code + "/" + r.serial).second)
        << "serial used twice: " << r.serial;
    EXPECT_TRUE(indices.insert({r.department, r.status_index}).second)
        << "status-list index used twice: " << r.department << " " << r.status_index;
    registry_ids.insert(r.id);
  }
  for (const auto& id : ids) EXPECT_TRUE(registry_ids.count(id)) << id;

  const std::int64_t n = reg->audit_size();
  const auto rows = reg->audit_entries(0, n);
  ASSERT_EQ(static_cast<std::int64_t>(rows.size()), n);
  std::map<std::int64_t, const certd::AuditRow*> by_idx;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].idx, static_cast<std::int64_t>(i)) << "gap in the audit log";
    EXPECT_EQ(rows[i].leaf_hash, certd::audit_leaf_hash(rows[i])) << "leaf " << i;
    by_idx[rows[i].idx] = &rows[i];
  }
  for (const auto& r : all) {
    ASSERT_TRUE(by_idx.count(r.audit_index)) << r.id;
    EXPECT_EQ(by_idx[r.audit_index]->action, "licence.issue");
    EXPECT_EQ(by_idx[r.audit_index]->object, r.id);
  }

  // Every serial handed out is accounted for: exactly one licence or one licence.void row, and
  // no reservation is left open.
  certdtest::RawDb raw(store);
  EXPECT_EQ(raw.int64("SELECT COUNT(*) FROM reservations"), 0) << "reservations left open";
  std::map<std::string, std::vector<int>> uses;  // "type/issuer" -> uses of each counter value
  for (const auto& r : raw.rows("SELECT type_code, issuer_code, last FROM serial_counters", 3)) {
    uses[*r[0] + "/" + *r[1]].assign(static_cast<std::size_t>(std::stoll(*r[2])) + 1, 0);
  }
  std::int64_t handed_out = 0;
  for (const auto& [k, v] : uses) handed_out += static_cast<std::int64_t>(v.size()) - 1;
  auto use = [&](const std::string& key, const std::string& serial, const std::string& what) {
    const auto i = static_cast<std::size_t>(std::stoll(serial.substr(4)));  // year + counter
    ASSERT_TRUE(uses.count(key) && i >= 1 && i < uses[key].size())
        << what << " " << key << "/" << serial << " beyond its counter";
    ++uses[key][i];
  };
  for (const auto& r : all) use(r.type_code + "/" + r.issuer_code, r.serial, "licence");
  std::map<std::string, int> void_reasons;
  for (const auto& row : rows) {
    if (row.action != "licence.void") continue;
    const auto det = nlohmann::json::parse(row.details_json);
    ++void_reasons[det.at("reason").get<std::string>()];
    use(det.at("type_code").get<std::string>() + "/" + det.at("issuer_code").get<std::string>(),
        det.at("serial").get<std::string>(), "licence.void");
  }
  for (const auto& [key, v] : uses) {
    for (std::size_t i = 1; i < v.size(); ++i) {
      EXPECT_EQ(v[i], 1) << key << " serial #" << i << " is " << v[i]
                         << " licences and licence.void rows together (must be exactly 1)";
    }
  }
  std::string reasons;
  for (const auto& [why, k] : void_reasons) reasons += " " + why + "=" + std::to_string(k);
  std::printf(
      "crash safety: %d kill -9 cycles, %d requests, %zu acknowledged (all present and VALID), "
      "%d cut off, %zu licences in the registry, %lld audit rows without a gap; %lld serials "
      "handed out = %zu licences + %lld voided (%s )\n",
      kCycles, sent, acked.size(), failed, all.size(), static_cast<long long>(n),
      static_cast<long long>(handed_out), all.size(),
      static_cast<long long>(handed_out) - static_cast<long long>(all.size()), reasons.c_str());
}

}  // namespace
