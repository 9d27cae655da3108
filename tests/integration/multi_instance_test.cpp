// Several certd processes on one PostgreSQL registry (issue 11 acceptance): three instances, each
// receiving concurrent issuance for the same department and template (12 s in the test suite;
// issue 11's >= 30 s with CERTD_TEST_LOAD_SECONDS=32, bench/soak.sh), while the same
// idempotency keys are also sent to two instances at once and samr's seal key is rotated through
// one instance. Afterwards the database and the tools nobody here wrote (the SQL of the server
// itself) and certctl audit verify check: no duplicate serials, no duplicate status indexes, one
// licence per idempotency key, a gap-free audit log that verifies against a signed checkpoint, and
// every instance sealing with the new version after the rotation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "certd_fixture.h"
#include "support/postgres.h"
#include "test_registry.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::post_json;
using certdtest::RawDb;

const std::string kTemplate = "business-licence-enterprise";  // department samr

nlohmann::json sample() { return certdtest::template_sample(kTemplate); }

struct Reply {
  int status = 0;
  std::string id, body;
};

// POST /v1/licences with an Idempotency-Key; a 409 idempotency-in-flight (the key is being served
// by another instance right now) is retried until the first request's result can be replayed.
Reply issue(httplib::Client& c, const std::string& key, const std::string& idem,
            const std::string& body) {
  Reply out;
  for (int attempt = 0; attempt < 400; ++attempt) {
    auto r = c.Post("/v1/licences", {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}},
                    body, "application/json");
    if (!r) {
      out.body = httplib::to_string(r.error());
      return out;
    }
    out.status = r->status;
    out.body = r->body;
    if (r->status == 409 && r->body.find("idempotency-in-flight") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      continue;
    }
    if (r->status == 201) {
      out.id = nlohmann::json::parse(r->body).at("id").get<std::string>();
    }
    return out;
  }
  return out;
}

TEST(MultiInstance, ThreeCertdsOnOnePostgresKeepEveryRegistryInvariantUnderLoad) {
  testsupport::TempDir d;
  const std::string store = testsupport::postgres_new_database("multi");
  const std::map<std::string, std::string> env = {
      // One seal key directory for every instance (as a shared volume would be in production):
      // a version created through one instance is usable by all of them.
      {"CERTD_SEAL_KEY_DIR", (d / "seal-keys").string()},
      {"CERTD_VERIFY_PER_MINUTE", "1000000"}};
  constexpr int kInstances = 3;
  std::vector<std::unique_ptr<CertdProcess> > certd;
  for (int i = 0; i < kInstances; ++i) {
    certd.push_back(std::make_unique<CertdProcess>(env, std::vector<std::string>{}, store));
  }
  const std::string key = certd[0]->make_key("samr");
  const std::string admin = certd[0]->make_key("admin");
  const std::string body = nlohmann::json{{"template", kTemplate}, {"data", sample()}}.dump();

  // Bounded for CI; the assertions are the same at any length (bench/soak.sh: 32 s).
  const std::chrono::milliseconds duration = std::chrono::seconds(certdtest::load_seconds(12));
  constexpr int kPerInstance = 2;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> failures;
  std::map<std::string, std::set<std::string> > ids_by_key;  // idempotency key -> licence ids
  std::atomic<int> shared_keys{0}, requests{0};
  std::vector<std::thread> ts;
  const auto t0 = std::chrono::steady_clock::now();
  for (int inst = 0; inst < kInstances; ++inst) {
    for (int w = 0; w < kPerInstance; ++w) {
      ts.emplace_back([&, inst, w] {
        auto c = certd[static_cast<std::size_t>(inst)]->client();
        auto other = certd[static_cast<std::size_t>((inst + 1) % kInstances)]->client();
        for (int i = 0; !stop.load(); ++i) {
          const std::string idem =
              "k-" + std::to_string(inst) + "-" + std::to_string(w) + "-" + std::to_string(i);
          std::vector<Reply> got;
          if (i % 4 == 0) {
            // The same key to two instances at once (a client retrying through another node of
            // the load balancer): both must answer with the same, single licence.
            Reply a, b;
            std::thread tb([&] { b = issue(other, key, idem, body); });
            a = issue(c, key, idem, body);
            tb.join();
            got = {a, b};
            ++shared_keys;
          } else {
            got = {issue(c, key, idem, body)};
          }
          requests += static_cast<int>(got.size());
          std::lock_guard l(mu);
          for (const auto& r : got) {
            if (r.status == 201) {
              ids_by_key[idem].insert(r.id);
            } else {
              failures.push_back(idem + " on instance " + std::to_string(inst) + ": " +
                                 std::to_string(r.status) + " " + r.body);
            }
          }
        }
      });
    }
  }
  // Rotate samr's seal key through instance 2 while the load runs.
  std::this_thread::sleep_until(t0 + duration * 12 / 32);  // 12 s into the 32 s soak
  auto admin_client = certd[2]->client();
  const auto created = post_json(admin_client, admin, "/v1/seals/samr/keys",
                                 {{"example_ca", true}, {"validity_days", 365}}, 201);
  const std::int64_t v2 = created.value("version", 0);
  post_json(admin_client, admin, "/v1/seals/samr/keys/" + std::to_string(v2) + ":activate",
            nlohmann::json::object(), 200);
  const auto rotated_at = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(t0 + duration);
  stop = true;
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_GE(secs, std::chrono::duration<double>(duration).count());
  EXPECT_EQ(v2, 2);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();

  // Exactly one licence per idempotency key, also for the keys sent to two instances.
  std::size_t multi = 0;
  for (const auto& [k, ids] : ids_by_key) {
    EXPECT_EQ(ids.size(), 1u) << k;
    if (ids.size() > 1) ++multi;
  }
  RawDb db(store);
  const auto licences = db.int64("SELECT COUNT(*) FROM licences");
  EXPECT_EQ(licences, static_cast<std::int64_t>(ids_by_key.size()));
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM idempotency WHERE state = 'done'"), licences);
  EXPECT_EQ(db.int64("SELECT COUNT(DISTINCT licence_id) FROM idempotency"), licences);
  // No duplicate serial, no duplicate status index (counted by the server, not by the schema's
  // own UNIQUE constraints — these queries would show a duplicate if the constraints were gone).
  EXPECT_EQ(db.int64("SELECT COUNT(DISTINCT (type_code, issuer_code, serial)) FROM licences"),
            licences);
  EXPECT_EQ(db.int64("SELECT COUNT(DISTINCT (department, status_index)) FROM licences"), licences);
  // Every serial handed out (1..MAX(last) for this type and issuer) is a licence or a
  // licence.void audit leaf (docs/service.md "Issuance"): no allocation was lost or repeated.
  EXPECT_EQ(db.int64("SELECT MAX(last) FROM serial_counters"),
            licences + db.int64("SELECT COUNT(*) FROM audit_log WHERE action = 'licence.void'"));
  // Gap-free audit log: indexes 0..n-1.
  const auto audit_n = db.int64("SELECT COUNT(*) FROM audit_log");
  EXPECT_EQ(db.int64("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_log"), audit_n);
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM audit_log WHERE action = 'licence.issue'"), licences);
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM seal_keys WHERE department = 'samr' AND state = "
                     "'active'"),
            1);

  // The rotation took effect on every instance: each one issues with v2 now, and every licence
  // after the activation's audit index names v2.
  for (int i = 0; i < kInstances; ++i) {
    auto c = certd[static_cast<std::size_t>(i)]->client();
    const Reply r = issue(c, key, "after-rotation-" + std::to_string(i), body);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(nlohmann::json::parse(r.body).at("seal").at("version").get<std::string>(), "2")
        << "instance " << i;
  }
  const auto act_idx = db.int64(
      "SELECT idx FROM audit_log WHERE action = 'seal.activate' AND object = 'seal:samr/2'");
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM licences WHERE audit_index > " +
                     std::to_string(act_idx) + " AND seal_version <> '2'"),
            0);
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM licences WHERE audit_index < " +
                     std::to_string(act_idx) + " AND seal_version <> '1'"),
            0);
  const auto per_version =
      db.rows("SELECT seal_version, COUNT(*) FROM licences GROUP BY seal_version ORDER BY 1", 2);

  // certctl audit verify over the shared registry against a freshly signed checkpoint.
  const std::string cp = (d / "checkpoint.txt").string();
  const std::string kKeys = certd[0]->private_keys_copy();  // keys-example, private keys 0600
  const auto sign = testsupport::run(std::string(CERTCTL_BIN) + " audit checkpoint --store " +
                                     store + " --keys " + kKeys + " -o " + cp);
  ASSERT_EQ(sign.exit_code, 0) << sign.out;
  const auto ver = testsupport::run(std::string(CERTCTL_BIN) + " audit verify --store " + store +
                                    " --keys " + kKeys + " --checkpoint " + cp);
  EXPECT_EQ(ver.exit_code, 0) << ver.out;
  EXPECT_EQ(ver.out.rfind("OK: ", 0), 0u) << ver.out;

  std::cout << "multi-instance: " << kInstances << " certd on one PostgreSQL, "
            << kInstances * kPerInstance << " clients, " << secs << " s, " << requests.load()
            << " requests, " << licences << " licences (" << static_cast<double>(licences) / secs
            << "/s), " << shared_keys.load() << " keys sent to two instances at once, " << multi
            << " keys with >1 licence, " << failures.size() << " failed; audit " << audit_n
            << " entries gap-free; rotation to v" << v2 << " after "
            << std::chrono::duration<double>(rotated_at - t0).count() << " s; per version:";
  for (const auto& row : per_version) std::cout << " v" << *row[0] << " " << *row[1];
  std::cout << "\n" << ver.out;
  for (auto& c : certd) EXPECT_EQ(c->stop(), 0);
}

}  // namespace
