// Registry tests, written against the Store interface: ctest runs every case on SQLite and, as
// pg.<name>, on PostgreSQL (issue 11; test_registry.h picks the engine). SQL that inspects or
// tampers with rows behind the store's back is portable unless a case branches on on_postgres().
#include "store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "auth.h"
#include "issuance_service.h"
#include "libcert/error.h"
#include "sqlite.h"
#include "sqlite_store.h"
#include "support/fault_vfs.h"
#include "support/process.h"
#include "test_registry.h"

namespace {

using certdtest::on_postgres;
using certdtest::RawDb;
using testsupport::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    location_ = certdtest::new_registry(dir_.path());
    store_ = open();
  }
  std::unique_ptr<certd::Store> open(std::int64_t status_list_size = 1 << 20,
                                     int busy_timeout_ms = 5000) {
    certd::StoreOptions o;
    o.rng = &rng_;
    o.status_list_size = status_list_size;
    o.busy_timeout_ms = busy_timeout_ms;
    o.reservation_lease_s = kLease;
    return certd::open_store(location_, o);
  }
  static constexpr std::int64_t kLease = 120;
  // A renderer stand-in for the registry's point of view: it derives the identifier from the
  // allocation exactly like the issuer does (type.issuer.serial), and produces stable bytes.
  certd::Rendered render(const certd::Allocation& a, const std::string& dept = "samr",
                         const std::string& type = "TYPEA") {
    certd::Rendered r;
    r.id = "1.2.156.3005.2." + type + "." + dept + "." + a.serial + ".001";
    r.number = a.serial;
    r.template_version = "1";
    r.data_json = R"({"name":"x"})";
    r.pdf = "%PDF-1.7 " + a.serial;
    r.pdf_sha256 = certd::sha256_hex(r.pdf);
    r.qr_text = "HTTPS://LIC.ALI.EXAMPLE/V#" + std::to_string(a.status_index);
    r.seal_version = "1";
    r.seal_cert_sha256 = std::string(64, 'a');
    r.issued_at = 1764000000;
    return r;
  }
  certd::IssueContext ctx(const std::string& dept = "samr", const std::string& type = "TYPEA") {
    certd::IssueContext c;
    c.department = dept;
    c.template_id = "business-licence-enterprise";
    c.type_code = type;
    c.issuer_code = dept == "samr" ? "115425000199003834" : "11542500019900455W";
    c.now = 1764000000;  // 2025-11-24
    c.actor = {"p_test", "req-1"};
    return c;
  }
  certd::LicenceRecord issue(const std::string& dept = "samr", const std::string& type = "TYPEA") {
    return certd::issue_licence(*store_, ctx(dept, type),
                                [&](const certd::Allocation& a) { return render(a, dept, type); });
  }
  std::int64_t count(const std::string& sqlq) { return RawDb(location_).int64(sqlq); }

  // samr's seal: version 1 imported active, versions 2..n pending with a certificate.
  void seal_versions(int n) {
    const certd::Actor by{"p_admin", "setup"};
    certd::SealKeyVersion v1;
    v1.department = "samr";
    v1.version = 1;
    v1.state = "active";
    v1.key_ref = "k1";
    v1.algorithm = "ecdsa-p256";
    v1.cert_der = "der-1";
    v1.not_before = 0;
    v1.not_after = 4102444800;
    v1.created_at = 10;
    v1.activated_at = 10;
    store_->import_seal_key(v1, 10, by);
    for (int v = 2; v <= n; ++v) {
      store_->create_seal_key("samr", "k" + std::to_string(v), "ecdsa-p256", 20, by);
      store_->install_seal_certificate("samr", v, "der-" + std::to_string(v), "", 0, 4102444800, 21,
                                       by);
    }
  }

  // The details of every licence.void audit row, in log order.
  std::vector<nlohmann::json> void_rows() {
    std::vector<nlohmann::json> out;
    for (const auto& row : store_->audit_entries(0, 100000)) {
      if (row.action == "licence.void") out.push_back(nlohmann::json::parse(row.details_json));
    }
    return out;
  }

  // store.h: every serial the counter handed out is exactly one of a licence, an open
  // reservation or a licence.void audit row (serial = 4-digit year + counter).
  void expect_every_serial_accounted() {
    RawDb db(location_);
    std::map<std::string, std::vector<int>> seen;  // "type/issuer" -> times each counter value
    for (const auto& r : db.rows("SELECT type_code, issuer_code, last FROM serial_counters", 3)) {
      seen[*r[0] + "/" + *r[1]].assign(static_cast<std::size_t>(std::stoll(*r[2])) + 1, 0);
    }
    auto mark = [&](const std::string& key, const std::string& serial, const char* what) {
      const auto n = static_cast<std::size_t>(std::stoll(serial.substr(4)));
      ASSERT_TRUE(seen.count(key) && n >= 1 && n < seen[key].size())
          << what << " " << key << " " << serial << " beyond its counter";
      ++seen[key][n];
    };
    for (const auto& r : db.rows("SELECT type_code, issuer_code, serial FROM licences", 3)) {
      mark(*r[0] + "/" + *r[1], *r[2], "licence");
    }
    for (const auto& r : db.rows("SELECT type_code, issuer_code, serial FROM reservations", 3)) {
      mark(*r[0] + "/" + *r[1], *r[2], "reservation");
    }
    for (const auto& d : void_rows()) {
      mark(d.at("type_code").get<std::string>() + "/" + d.at("issuer_code").get<std::string>(),
           d.at("serial").get<std::string>(), "licence.void");
    }
    for (const auto& [key, times] : seen) {
      for (std::size_t n = 1; n < times.size(); ++n) {
        EXPECT_EQ(times[n], 1) << key << " serial #" << n
                               << " is not exactly one licence, reservation or licence.void";
      }
    }
  }

  // A child process reserves a samr serial and dies (_exit) inside its render, as kill -9
  // between the reserve and the commit leaves it. Returns the reserved status index.
  std::int64_t crash_while_rendering() {
    const auto before = RawDb(location_).rows("SELECT serial FROM reservations", 1).size();
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      try {
        auto child = open();
        certd::issue_licence(*child, ctx(),
                             [](const certd::Allocation&) -> certd::Rendered { _exit(0); });
      } catch (...) {
      }
      _exit(3);  // did not reach the render
    }
    EXPECT_GT(pid, 0);
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
    const auto rows =
        RawDb(location_).rows("SELECT status_index FROM reservations ORDER BY serial DESC", 1);
    EXPECT_EQ(rows.size(), before + 1);
    return rows.empty() ? -1 : std::stoll(*rows[0][0]);
  }

  TempDir dir_;
  std::string location_;
  libcert::SeededRng rng_{42};
  std::unique_ptr<certd::Store> store_;
};

TEST_F(StoreTest, MigrationsAppliedOnceAndRecorded) {
  EXPECT_EQ(store_->schema_version(), 7);
  store_.reset();
  store_ = open();  // reopening applies nothing twice
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 7);
  // The catalogue each engine keeps of its own schema.
  const std::string indexes = on_postgres() ? "SELECT COUNT(*) FROM pg_indexes WHERE indexname='"
                                            : "SELECT COUNT(*) FROM sqlite_master WHERE name='";
  const std::string tables =
      on_postgres() ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_name='"
                    : "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='";
  for (const char* i : {"licences_by_pdf_sha256", "seal_keys_by_cert", "seal_keys_one_active",
                        "licences_by_department_issued_at", "renditions_by_sha256"}) {
    EXPECT_EQ(count(indexes + i + "'"), 1) << i;
  }
  for (const char* t : {"principals", "seal_keys", "licences", "idempotency", "audit_log",
                        "audit_checkpoints", "serial_counters", "reservations", "renditions"}) {
    EXPECT_EQ(count(tables + t + "'"), 1) << t;
  }
  if (on_postgres()) {
    // The one-active-version rule is a partial unique index on PostgreSQL too.
    EXPECT_EQ(count("SELECT COUNT(*) FROM pg_indexes WHERE indexname='seal_keys_one_active' AND "
                    "indexdef LIKE 'CREATE UNIQUE INDEX%WHERE (state = ''active''::text)'"),
              1);
  } else {
    auto db = certd::sql::Db::open(location_, 1000);
    auto st = db.prepare("PRAGMA journal_mode");
    st.step();
    EXPECT_EQ(st.text(0), "wal");
  }
}

// The TSA's clock state (libcert/tsa.h): forward and equal times move it, an earlier time is
// refused with the recorded time and changes nothing — across threads, the recorded time is the
// maximum ever offered.
TEST_F(StoreTest, TsaClockNeverMovesBackwards) {
  std::int64_t last = -1;
  EXPECT_TRUE(store_->advance_tsa_clock(1000, last));
  EXPECT_TRUE(store_->advance_tsa_clock(1000, last));  // same second: allowed
  EXPECT_EQ(last, -1);
  EXPECT_FALSE(store_->advance_tsa_clock(999, last));
  EXPECT_EQ(last, 1000);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([this, i] {
      for (std::int64_t t = 1001; t <= 1050; ++t) {
        std::int64_t l = 0;
        (void)store_->advance_tsa_clock(t + i * 100, l);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_FALSE(store_->advance_tsa_clock(1349, last));
  EXPECT_EQ(last, 1350);
  EXPECT_EQ(count("SELECT last_time FROM tsa_clock"), 1350);
}

// The issuing CA's CRL (docs/crl.md): only a greater CRL number replaces the stored one, also
// when instances race (RFC 5280 §5.2.3 — numbers only grow), on both engines.
TEST_F(StoreTest, CrlNumberOnlyGrows) {
  EXPECT_FALSE(store_->current_crl("ab12").has_value());
  EXPECT_TRUE(store_->publish_crl("ab12", {1, 100, 200, "k1", std::string("\x30\x00", 2)}));
  EXPECT_FALSE(store_->publish_crl("ab12", {1, 101, 201, "k2", "x"}));  // same number: refused
  EXPECT_TRUE(store_->publish_crl("ab12", {2, 150, 250, "k2", "y"}));
  EXPECT_FALSE(store_->publish_crl("ab12", {1, 300, 400, "k3", "z"}));  // older: refused
  const auto got = store_->current_crl("ab12");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->number, 2);
  EXPECT_EQ(got->this_update, 150);
  EXPECT_EQ(got->content_key, "k2");
  EXPECT_EQ(got->der, "y");
  std::atomic<int> won{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([this, &won, i] {
      if (store_->publish_crl("ab12", {3, 500, 600, "race", std::to_string(i)})) ++won;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(store_->current_crl("ab12")->number, 3);
  EXPECT_FALSE(store_->current_crl("other").has_value());
}

TEST_F(StoreTest, OneActiveSealVersionPerDepartmentIsEnforcedBySchema) {
  RawDb db(location_);
  db.exec(
      "INSERT INTO seal_keys(department, version, state, created_at) VALUES ('samr',1,'active',0)");
  db.exec(
      "INSERT INTO seal_keys(department, version, state, created_at) VALUES "
      "('samr',2,'pending',0)");
  try {
    db.exec("UPDATE seal_keys SET state='active' WHERE department='samr' AND version=2");
    FAIL() << "a second active version was written";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kConflict) << e.what();
  }
}

// The store API itself refuses a second active version: import_seal_key writes a row exactly as
// given (the path a careless admin tool or a direct write would take), and the schema's partial
// UNIQUE index rejects it; nothing of the failed write (row or audit leaf) remains.
TEST_F(StoreTest, SecondActiveSealVersionCannotBeWrittenThroughTheStoreApi) {
  certd::SealKeyVersion v1;
  v1.department = "samr";
  v1.version = 1;
  v1.state = "active";
  v1.key_ref = "k1";
  v1.algorithm = "ecdsa-p256";
  v1.cert_der = "cert-1";
  v1.created_at = 10;
  v1.activated_at = 10;
  store_->import_seal_key(v1, 10, {"certctl", ""});
  const auto audit_before = store_->audit_size();
  certd::SealKeyVersion v2 = v1;
  v2.version = 2;
  v2.cert_der = "cert-2";
  try {
    store_->import_seal_key(v2, 11, {"certctl", ""});
    FAIL() << "a second active version of samr was written";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kConflict) << e.what();
  }
  EXPECT_EQ(store_->audit_size(), audit_before);
  EXPECT_FALSE(store_->get_seal_key("samr", 2).has_value());
  // Another department may have its own active version.
  v2.department = "transport";
  v2.version = 1;
  EXPECT_EQ(store_->import_seal_key(v2, 11, {"certctl", ""}).state, "active");
  EXPECT_EQ(count("SELECT COUNT(*) FROM seal_keys WHERE state='active'"), 2);
}

TEST_F(StoreTest, SealLifecycleIsAtomicAuditedAndRefusesWrongSteps) {
  const certd::Actor by{"p_admin", "req-s"};
  auto v1 = store_->create_seal_key("samr", "/keys/samr/v1.key", "ecdsa-p256", 100, by);
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.state, "pending");
  // Activating without a certificate, retiring a pending version: refused, naming the rule.
  try {
    store_->activate_seal_key("samr", 1, 101, by);
    FAIL();
  } catch (const certd::SealStateError& e) {
    EXPECT_STREQ(e.what(), "seal key samr v1 has no certificate: install it before activating");
  }
  try {
    store_->retire_seal_key("samr", 1, 101, by);
    FAIL();
  } catch (const certd::SealStateError& e) {
    EXPECT_STREQ(e.what(), "seal key samr v1 is pending: only the active version can be retired");
  }
  store_->install_seal_certificate("samr", 1, "der-1", "", 50, 5000, 102, by);
  EXPECT_THROW(store_->install_seal_certificate("samr", 1, "der-x", "", 50, 5000, 102, by),
               certd::SealStateError);
  EXPECT_EQ(store_->activate_seal_key("samr", 1, 103, by).state, "active");
  auto v2 = store_->create_seal_key("samr", "/keys/samr/v2.key", "ecdsa-p256", 104, by);
  EXPECT_EQ(v2.version, 2);
  store_->install_seal_certificate("samr", 2, "der-2", "", 50, 5000, 105, by);
  // Issuance sees exactly one active version, inside its transaction.
  std::optional<certd::SealKeyVersion> seen;
  certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
    seen = a.seal;
    return render(a);
  });
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->version, 1);
  EXPECT_EQ(seen->cert_der, "der-1");
  // Activation retires v1 in the same transaction.
  EXPECT_EQ(store_->activate_seal_key("samr", 2, 106, by).state, "active");
  const auto old = store_->get_seal_key("samr", 1);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->state, "retired");
  // The rotation never predates the department's last issuance (issued_at 1764000000 here): the
  // retired version's usage window covers every licence it sealed.
  EXPECT_EQ(old->retired_at, 1764000000);
  EXPECT_EQ(count("SELECT COUNT(*) FROM seal_keys WHERE department='samr' AND state='active'"), 1);
  certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
    seen = a.seal;
    return render(a);
  });
  EXPECT_EQ(seen->version, 2);
  // Revocation from any state, once; compromised_at never moves.
  const auto r = store_->revoke_seal_key("samr", 1, 90, "key file leaked", 107, by);
  EXPECT_EQ(r.state, "revoked");
  EXPECT_EQ(r.compromised_at, 90);
  try {
    store_->revoke_seal_key("samr", 1, 80, "again", 108, by);
    FAIL();
  } catch (const certd::SealStateError& e) {
    EXPECT_NE(std::string(e.what()).find("already revoked (compromised at 90)"), std::string::npos);
  }
  EXPECT_EQ(store_->find_seal_key_by_cert(certd::sha256_hex("der-2"))->version, 2);
  EXPECT_THROW(store_->activate_seal_key("samr", 9, 109, by), libcert::Error);
  // Every step is one audit leaf, in order.
  std::vector<std::string> actions;
  for (const auto& row : store_->audit_entries(0, 100)) actions.push_back(row.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"seal.create", "seal.install", "seal.activate", "seal.create",
                                      "seal.install", "licence.issue", "seal.retire",
                                      "seal.activate", "licence.issue", "seal.revoke"}));
}

TEST_F(StoreTest, PrincipalsAreStoredByHashAndRevocationIsAudited) {
  libcert::SeededRng keyrng(7);
  const certd::NewKey k = certd::make_key(keyrng);
  ASSERT_EQ(k.key.size(), 56u);
  EXPECT_EQ(k.key.substr(0, 4), "lic_");
  const auto p = store_->create_principal(
      {"samr", {certd::kScopeIssue, certd::kScopeRead}, "batch", k.prefix, k.sha256}, 100,
      {"certctl", ""});
  EXPECT_EQ(p.id, "p_" + k.sha256.substr(0, 16));
  // The key itself is nowhere in the database (file, or every row as text on PostgreSQL).
  const std::string file =
      on_postgres()
          ? *RawDb(location_).rows(
                "SELECT (SELECT string_agg(t::text, '|') FROM principals t) || "
                "(SELECT string_agg(a::text, '|') FROM audit_log a)",
                1)[0][0]
          : testsupport::slurp(dir_ / "registry.db") + testsupport::slurp(dir_ / "registry.db-wal");
  EXPECT_EQ(file.find(k.key), std::string::npos);
  EXPECT_NE(file.find(k.sha256), std::string::npos);

  auto ok = certd::authenticate(*store_, "Bearer " + k.key, "");
  ASSERT_EQ(ok.kind, certd::AuthResult::kOk);
  EXPECT_EQ(ok.principal.department, std::optional<std::string>("samr"));
  EXPECT_TRUE(ok.principal.has("licence:issue"));
  EXPECT_FALSE(ok.principal.has("licence:revoke"));
  EXPECT_EQ(certd::authenticate(*store_, "", "").kind, certd::AuthResult::kMissing);
  EXPECT_EQ(certd::authenticate(*store_, "Basic abc", "").kind, certd::AuthResult::kMalformed);
  EXPECT_EQ(certd::authenticate(*store_, "Bearer lic_" + std::string(52, 'a'), "").kind,
            certd::AuthResult::kUnknown);

  EXPECT_TRUE(store_->revoke_principal(p.id, 200, {"certctl", ""}));
  EXPECT_TRUE(store_->revoke_principal(p.id, 300, {"certctl", ""}));  // keeps the first time
  EXPECT_FALSE(store_->revoke_principal("p_nope", 300, {"certctl", ""}));
  EXPECT_EQ(certd::authenticate(*store_, "Bearer " + k.key, "").kind, certd::AuthResult::kRevoked);
  const auto all = store_->list_principals();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].revoked_at, std::optional<std::int64_t>(200));
  // create + one revoke = two audit rows (the repeated revoke wrote nothing).
  const auto rows = store_->audit_entries(0, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].action, "principal.create");
  EXPECT_EQ(rows[1].action, "principal.revoke");
  EXPECT_EQ(rows[1].idx, 1);
}

TEST_F(StoreTest, Base32MatchesRfc4648Vectors) {
  // RFC 4648 §10 test vectors (lower-cased, no padding).
  EXPECT_EQ(certd::base32_lower("f"), "my");
  EXPECT_EQ(certd::base32_lower("fo"), "mzxq");
  EXPECT_EQ(certd::base32_lower("foo"), "mzxw6");
  EXPECT_EQ(certd::base32_lower("foob"), "mzxw6yq");
  EXPECT_EQ(certd::base32_lower("fooba"), "mzxw6ytb");
  EXPECT_EQ(certd::base32_lower("foobar"), "mzxw6ytboi");
}

TEST_F(StoreTest, ScopeParsingRejectsUnknownScopes) {
  EXPECT_EQ(certd::parse_department_scopes("licence:issue,licence:read"),
            (std::vector<std::string>{"licence:issue", "licence:read"}));
  try {
    (void)certd::parse_department_scopes("licence:issue,seal:admin");
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'seal:admin'"), std::string::npos) << e.what();
  }
}

TEST_F(StoreTest, SerialsCountPerTypeAndIssuerAndAreNeverReused) {
  EXPECT_EQ(issue("samr", "TYPEA").serial, "2025000001");
  EXPECT_EQ(issue("samr", "TYPEA").serial, "2025000002");
  EXPECT_EQ(issue("samr", "TYPEB").serial, "2025000001");
  EXPECT_EQ(issue("civil-affairs", "TYPEA").serial, "2025000001");
  // Rows deleted behind the store's back (a restore from an old backup, an admin's mistake) do
  // not make a serial come back: the counter is not MAX()+1.
  {
    RawDb db(location_);
    // (their renditions first: renditions.licence_id references licences.id)
    db.exec("DELETE FROM renditions WHERE licence_id IN (SELECT id FROM licences WHERE "
            "type_code = 'TYPEA' AND department = 'samr')");
    db.exec("DELETE FROM licences WHERE type_code = 'TYPEA' AND department = 'samr'");
  }
  EXPECT_EQ(issue("samr", "TYPEA").serial, "2025000003");
}

// A render that fails (a value that does not fit its box, a missing glyph) has already consumed
// its serial in the reserve transaction: the serial is voided with an audit row naming it, its
// status index and the reason, and is never handed out again; nothing else is written.
TEST_F(StoreTest, FailedRenderingVoidsItsSerialWithAnAuditRow) {
  issue();
  const auto audit_before = store_->audit_size();
  certd::Allocation seen;
  try {
    certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) -> certd::Rendered {
      seen = a;
      throw libcert::Error(libcert::ErrorCode::kRender, "field name: text does not fit its box");
    });
    FAIL() << "the render error was swallowed";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kRender);
  }
  EXPECT_EQ(seen.serial, "2025000002");
  EXPECT_EQ(store_->count_licences(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM licences WHERE serial = '2025000002'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  ASSERT_EQ(store_->audit_size(), audit_before + 1);
  const auto row = store_->audit_entries(audit_before, 1).at(0);
  EXPECT_EQ(row.action, "licence.void");
  EXPECT_EQ(row.object, "serial:TYPEA/115425000199003834/2025000002");
  EXPECT_EQ(row.principal, "p_test");
  EXPECT_EQ(row.request_id, "req-1");
  EXPECT_EQ(row.leaf_hash, certd::audit_leaf_hash(row));
  const auto d = nlohmann::json::parse(row.details_json);
  EXPECT_EQ(d.at("serial"), "2025000002");
  EXPECT_EQ(d.at("status_index"), seen.status_index);
  EXPECT_EQ(d.at("department"), "samr");
  EXPECT_EQ(d.at("type_code"), "TYPEA");
  EXPECT_EQ(d.at("issuer_code"), "115425000199003834");
  EXPECT_EQ(d.at("reason"), "render-failed");
  EXPECT_EQ(d.at("error_code"), "render");
  EXPECT_EQ(d.at("error"), "field name: text does not fit its box");
  // The serial is gone for good: the next issuance takes the one after it.
  EXPECT_EQ(issue().serial, "2025000003");
  expect_every_serial_accounted();
}

// The seal check of the reserve transaction (certd: no active version, certificate about to
// expire) refuses before a serial is taken: nothing is reserved, voided or audited.
TEST_F(StoreTest, SealCheckRefusalInTheReserveTransactionBurnsNoSerial) {
  auto c = ctx();
  c.check_seal = [](const std::optional<certd::SealKeyVersion>& v) {
    if (!v) throw libcert::Error(libcert::ErrorCode::kNotFound, "samr: no active seal version");
  };
  int renders = 0;
  auto counting = [&](const certd::Allocation& a) {
    ++renders;
    return render(a);
  };
  EXPECT_THROW(certd::issue_licence(*store_, c, counting), libcert::Error);
  EXPECT_EQ(renders, 0);
  EXPECT_EQ(store_->audit_size(), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM serial_counters"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  seal_versions(1);
  EXPECT_EQ(certd::issue_licence(*store_, c, counting).serial, "2025000001");
  EXPECT_EQ(renders, 1);
}

// Issue 9: the render (cairo/pango + PAdES, the CPU-heavy part) runs outside the write lock, so
// two issuances render at the same time. Each render waits until the other one has started; if
// renders were serialised (the old single-writer issuance), the first would wait in vain.
TEST_F(StoreTest, TwoIssuancesRenderAtTheSameTime) {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  std::atomic<int> timeouts{0};
  auto waiting_render = [&](const certd::Allocation& a) {
    {
      std::unique_lock l(mu);
      ++started;
      cv.notify_all();
      if (!cv.wait_for(l, std::chrono::seconds(5), [&] { return started >= 2; })) {
        ++timeouts;
        throw std::runtime_error("the other issuance did not start rendering within 5 s");
      }
    }
    return render(a);
  };
  std::vector<certd::LicenceRecord> recs(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> ts;
  for (std::size_t i = 0; i < 2; ++i) {
    ts.emplace_back([&, i] {
      try {
        recs[i] = certd::issue_licence(*store_, ctx(), waiting_render);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(timeouts.load(), 0);
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_NE(recs[0].serial, recs[1].serial);
  EXPECT_NE(recs[0].status_index, recs[1].status_index);
  EXPECT_EQ(store_->count_licences(), 2);
  const auto rows = store_->audit_entries(0, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].idx, 0);
  EXPECT_EQ(rows[1].idx, 1);
  expect_every_serial_accounted();
}

// While one issuance holds a reservation (rendering), another one of the same department runs to
// the end: its status-list index avoids the reserved one, and both commit.
TEST_F(StoreTest, StatusIndexIsUniqueAgainstOpenReservations) {
  store_.reset();
  store_ = open(8);
  std::set<std::int64_t> taken;
  for (int i = 0; i < 6; ++i) taken.insert(issue().status_index);
  // Two free indexes left: while the outer issuance holds one of them, the inner one must get the
  // other.
  certd::LicenceRecord inner;
  const auto outer = certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
    inner = issue();
    EXPECT_NE(inner.status_index, a.status_index);
    return render(a);
  });
  EXPECT_EQ(outer.serial, "2025000007");
  EXPECT_EQ(inner.serial, "2025000008");
  EXPECT_TRUE(taken.insert(outer.status_index).second);
  EXPECT_TRUE(taken.insert(inner.status_index).second);
  EXPECT_EQ(taken.size(), 8u);
  EXPECT_LT(inner.audit_index, outer.audit_index);  // committed first
  try {
    issue();  // every index of the list is taken
    ADD_FAILURE() << "an index was found in a full list";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kExhausted) << e.what();
  }
  expect_every_serial_accounted();
}

// A rotation that commits while a licence renders (the reserve read v1): the commit sees that v1
// is no longer active and the store renders again, with the same serial and status index and
// the version active now. The activation runs on another connection with a short busy timeout:
// it would fail if the issuance held the write lock while rendering.
TEST_F(StoreTest, SealRotationBetweenReserveAndCommitSealsAgainWithTheActiveVersion) {
  seal_versions(2);
  auto other = open(1 << 20, 500);
  std::vector<certd::Allocation> calls;
  const auto rec = certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
    calls.push_back(a);
    if (calls.size() == 1) other->activate_seal_key("samr", 2, 1764000000, {"p_admin", "rot"});
    auto r = render(a);
    r.seal_version = std::to_string(a.seal.value().version);
    r.seal_cert_sha256 = a.seal.value().cert_sha256;
    return r;
  });
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_TRUE(calls[0].seal && calls[1].seal);
  EXPECT_EQ(calls[0].seal->version, 1);
  EXPECT_EQ(calls[1].seal->version, 2);
  EXPECT_EQ(calls[1].seal->cert_der, "der-2");
  EXPECT_EQ(calls[0].serial, calls[1].serial);
  EXPECT_EQ(calls[0].status_index, calls[1].status_index);
  EXPECT_EQ(rec.seal_version, "2");
  EXPECT_EQ(rec.seal_cert_sha256, certd::sha256_hex("der-2"));
  EXPECT_EQ(store_->get_licence(rec.id, false)->seal_version, "2");
  // In the audit order the licence comes after the activation of the version it carries.
  std::vector<std::string> actions;
  for (const auto& row : store_->audit_entries(0, 100)) actions.push_back(row.action);
  ASSERT_GE(actions.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(actions.end() - 3, actions.end()),
            (std::vector<std::string>{"seal.retire", "seal.activate", "licence.issue"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  expect_every_serial_accounted();
}

// The re-render is bounded: a seal version that changes before every commit ends the issuance
// with busy (retry later) after detail::kMaxRenders renders, and the serial is voided.
TEST_F(StoreTest, SealChangingBeforeEveryCommitEndsInBusyAndAVoidedSerial) {
  seal_versions(4);
  auto other = open(1 << 20, 500);
  int calls = 0;
  try {
    certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
      ++calls;
      other->activate_seal_key("samr", 1 + calls, 1764000000, {"p_admin", "rot"});
      return render(a);
    });
    FAIL() << "issued although the seal version changed before every commit";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kBusy) << e.what();
    EXPECT_NE(std::string(e.what()).find("changed 3 times while serial 2025000001"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(store_->count_licences(), 0);
  const auto voids = void_rows();
  ASSERT_EQ(voids.size(), 1u);
  EXPECT_EQ(voids[0].at("reason"), "seal-changed");
  EXPECT_EQ(voids[0].at("renders"), 3);
  expect_every_serial_accounted();
}

// kill -9 between the reserve and the commit, for real: a child process reserves and dies inside
// its render. The reservation row stays (its status index is not handed out again meanwhile);
// once it is older than the lease it is voided, at re-open (certd's start-up) or lazily by the
// next reserve, with a licence.void row (reason "abandoned").
TEST_F(StoreTest, ReservationOfACrashedIssuerIsVoidedAtReopenAndLazily) {
  issue();
  const std::int64_t t0 = ctx().now;
  const std::int64_t crashed_index = crash_while_rendering();
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations WHERE serial = '2025000002'"), 1);
  // Within the lease the reservation is an issuance in progress: kept, and its index avoided
  // (the child drew from a copy of this process's seeded RNG, so the next draw here collides).
  const auto third = issue();
  EXPECT_EQ(third.serial, "2025000003");
  EXPECT_NE(third.status_index, crashed_index);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 1);

  // Restart.
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->void_abandoned_reservations(t0 + kLease - 1), 0);
  EXPECT_EQ(store_->void_abandoned_reservations(t0 + kLease), 1);
  EXPECT_EQ(store_->void_abandoned_reservations(t0 + kLease), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  auto voids = void_rows();
  ASSERT_EQ(voids.size(), 1u);
  EXPECT_EQ(voids[0].at("serial"), "2025000002");
  EXPECT_EQ(voids[0].at("status_index"), crashed_index);
  EXPECT_EQ(voids[0].at("reason"), "abandoned");
  EXPECT_EQ(voids[0].at("reserved_by"), "p_test");
  const auto last = store_->audit_entries(store_->audit_size() - 1, 1).at(0);
  EXPECT_EQ(last.action, "licence.void");
  EXPECT_EQ(last.object, "serial:TYPEA/115425000199003834/2025000002");
  EXPECT_EQ(last.principal, "certd");

  // Lazily: another crash, then an issuance after the lease voids it in its reserve transaction.
  (void)crash_while_rendering();
  auto c = ctx();
  c.now = t0 + kLease;
  const auto fifth =
      certd::issue_licence(*store_, c, [&](const certd::Allocation& a) { return render(a); });
  EXPECT_EQ(fifth.serial, "2025000005");
  voids = void_rows();
  ASSERT_EQ(voids.size(), 2u);
  EXPECT_EQ(voids[1].at("serial"), "2025000004");
  const auto rows = store_->audit_entries(0, 100);
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[rows.size() - 2].action, "licence.void");
  EXPECT_EQ(rows[rows.size() - 1].action, "licence.issue");
  expect_every_serial_accounted();
}

// An issuance that outlives the lease loses its reservation to the voiding (here by another
// instance) and must not commit: the serial is a licence.void row, never also a licence.
TEST_F(StoreTest, ReservationVoidedWhileRenderingNeverBecomesALicence) {
  auto other = open();
  try {
    certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
      EXPECT_EQ(other->void_abandoned_reservations(ctx().now + kLease), 1);
      return render(a);
    });
    FAIL() << "a voided serial was committed";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kBusy) << e.what();
    EXPECT_NE(std::string(e.what()).find("reservation of serial 2025000001 expired"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(store_->count_licences(), 0);
  const auto voids = void_rows();
  ASSERT_EQ(voids.size(), 1u);
  EXPECT_EQ(voids[0].at("reason"), "abandoned");
  expect_every_serial_accounted();
}

TEST_F(StoreTest, StatusIndexesAreRandomUniquePerDepartmentAndExhaustionIsAnError) {
  store_.reset();
  store_ = open(8);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 8; ++i) {
    const auto rec = issue();
    EXPECT_GE(rec.status_index, 0);
    EXPECT_LT(rec.status_index, 8);
    EXPECT_TRUE(seen.insert(rec.status_index).second) << rec.status_index;
  }
  // Another department has its own status list.
  EXPECT_NO_THROW(issue("civil-affairs"));
  try {
    issue();
    FAIL() << "a ninth index was found in a list of 8";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kExhausted) << e.what();
    EXPECT_NE(std::string(e.what()).find("status list of department samr"), std::string::npos);
  }
  EXPECT_EQ(store_->count_licences(), 9);
}

TEST_F(StoreTest, StatusIndexDrawsComeFromTheInjectedRng) {
  // Two stores with the same seed allocate the same indexes: nothing reads a global RNG.
  const auto a = issue().status_index;
  TempDir other;
  libcert::SeededRng rng2{42};
  certd::StoreOptions o;
  o.rng = &rng2;
  auto s2 = certd::open_store(certdtest::new_registry(other.path(), "r.db"), o);
  const auto b = certd::issue_licence(*s2, ctx(), [&](const certd::Allocation& al) {
                   return render(al);
                 }).status_index;
  EXPECT_EQ(a, b);
}

TEST_F(StoreTest, IdempotencyStatesAndReplay) {
  const certd::IdempotencyRef ref{"p_test", "key-1"};
  EXPECT_EQ(store_->begin_idempotent(ref, "h1", 1000, 60).kind, certd::IdempotencyBegin::kStarted);
  EXPECT_EQ(store_->begin_idempotent(ref, "h1", 1001, 60).kind, certd::IdempotencyBegin::kInFlight);
  EXPECT_EQ(store_->begin_idempotent(ref, "h2", 1001, 60).kind, certd::IdempotencyBegin::kMismatch);
  auto c = ctx();
  c.idempotency = ref;
  c.response = [](const certd::LicenceRecord& r) {
    return std::pair<int, std::string>{201, R"({"id":")" + r.id + R"("})"};
  };
  const auto rec =
      certd::issue_licence(*store_, c, [&](const certd::Allocation& a) { return render(a); });
  const auto replay = store_->begin_idempotent(ref, "h1", 1002, 60);
  ASSERT_EQ(replay.kind, certd::IdempotencyBegin::kReplay);
  EXPECT_EQ(replay.status_code, 201);
  EXPECT_EQ(replay.response, R"({"id":")" + rec.id + R"("})");
  // Same key for another principal is another key.
  EXPECT_EQ(store_->begin_idempotent({"p_other", "key-1"}, "h9", 1002, 60).kind,
            certd::IdempotencyBegin::kStarted);
}

// Issue 21: the Idempotency-Key begun in the reserve transaction (IssueContext::begin_idempotency)
// keeps begin_idempotent's answers: a started key issues once; a replay, a request in flight and a
// reused key reserve nothing (no serial, no reservation, no audit row); a reserve refused by the
// seal check rolls the begin back with it, so the key is unused afterwards.
TEST_F(StoreTest, IdempotencyBegunInTheReserveTransaction) {
  const certd::IdempotencyRef ref{"p_test", "fold-1"};
  auto c = ctx();
  c.idempotency = ref;
  c.begin_idempotency = certd::IssueContext::IdempotencyStart{"h1", 60};
  c.response = [](const certd::LicenceRecord& r) {
    return std::pair<int, std::string>{201, R"({"id":")" + r.id + R"("})"};
  };
  int reserved = 0;
  c.on_reserved = [&] { ++reserved; };
  auto kind_of = [&](certd::IssueContext x) {
    try {
      (void)certd::issue_licence(*store_, x, [&](const certd::Allocation& a) { return render(a); });
    } catch (const certd::IdempotencyNotStarted& e) {
      return std::optional<certd::IdempotencyBegin>(e.begin);
    }
    return std::optional<certd::IdempotencyBegin>();
  };
  // A seal refusal in the same transaction: nothing written, the key not begun.
  auto refused = c;
  refused.check_seal = [](const std::optional<certd::SealKeyVersion>&) {
    throw libcert::Error(libcert::ErrorCode::kNotFound, "samr: no active seal version");
  };
  EXPECT_THROW((void)kind_of(refused), libcert::Error);
  EXPECT_EQ(reserved, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM idempotency"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM serial_counters"), 0);
  // Started: one licence, the key done with its response.
  EXPECT_FALSE(kind_of(c).has_value());
  EXPECT_EQ(reserved, 1);
  ASSERT_EQ(store_->count_licences(), 1);
  const std::int64_t audit = store_->audit_size();
  // The same request again: a replay of the stored answer, nothing reserved.
  const auto replay = kind_of(c);
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->kind, certd::IdempotencyBegin::kReplay);
  EXPECT_EQ(replay->status_code, 201);
  EXPECT_EQ(replay->response.substr(0, 7), R"({"id":")");
  // Another body with the same key: a mismatch, nothing reserved.
  auto other = c;
  other.begin_idempotency->request_sha256 = "h2";
  const auto mismatch = kind_of(other);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->kind, certd::IdempotencyBegin::kMismatch);
  // A key in flight (begun by another request, not completed): 409's case, nothing reserved.
  ASSERT_EQ(store_->begin_idempotent({"p_test", "fold-2"}, "h1", c.now, 60).kind,
            certd::IdempotencyBegin::kStarted);
  auto in_flight = c;
  in_flight.idempotency = certd::IdempotencyRef{"p_test", "fold-2"};
  const auto busy = kind_of(in_flight);
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->kind, certd::IdempotencyBegin::kInFlight);
  EXPECT_EQ(reserved, 1);
  EXPECT_EQ(store_->count_licences(), 1);
  EXPECT_EQ(store_->audit_size(), audit);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  EXPECT_EQ(count("SELECT last FROM serial_counters"), 1);
}

TEST_F(StoreTest, AbandonedOrExpiredInFlightKeysCanBeRetried) {
  const certd::IdempotencyRef ref{"p_test", "k"};
  ASSERT_EQ(store_->begin_idempotent(ref, "h", 1000, 60).kind, certd::IdempotencyBegin::kStarted);
  store_->abandon_idempotent(ref);
  ASSERT_EQ(store_->begin_idempotent(ref, "h", 1001, 60).kind, certd::IdempotencyBegin::kStarted);
  // The holder "crashed": after the lease a retry takes the key over...
  ASSERT_EQ(store_->begin_idempotent(ref, "h", 1062, 60).kind, certd::IdempotencyBegin::kStarted);
  // ...and the old holder can no longer complete it (no second licence for one key).
  auto c = ctx();
  c.idempotency = certd::IdempotencyRef{"p_test", "never-begun"};
  c.response = [](const certd::LicenceRecord&) { return std::pair<int, std::string>{201, "{}"}; };
  try {
    certd::issue_licence(*store_, c, [&](const certd::Allocation& a) { return render(a); });
    ADD_FAILURE() << "a key that was never begun completed an issuance";
  } catch (const certd::RegistryError& e) {
    EXPECT_EQ(e.code(), certd::RegistryError::Code::kConflict) << e.what();
  }
  EXPECT_EQ(store_->count_licences(), 0);
  store_->finish_idempotent(ref, 422, "problem");
  const auto r = store_->begin_idempotent(ref, "h", 1063, 60);
  EXPECT_EQ(r.kind, certd::IdempotencyBegin::kReplay);
  EXPECT_EQ(r.status_code, 422);
}

TEST_F(StoreTest, RevocationIsIdempotentAndAudited) {
  const auto rec = issue();
  const auto first = store_->revoke_licence(rec.id, "mistake", 2000, {"p_test", "r2"});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->record.status, "revoked");
  const auto again = store_->revoke_licence(rec.id, "other reason", 3000, {"p_test", "r3"});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->record.revoked_at, std::optional<std::int64_t>(2000));
  EXPECT_EQ(again->record.reason, std::optional<std::string>("mistake"));
  EXPECT_FALSE(store_->revoke_licence("nope", "x", 1, {"p_test", ""}));
  const auto rows = store_->audit_entries(0, 100);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].action, "licence.revoke");
  EXPECT_EQ(rows[1].request_id, "r2");
  const auto by_pdf = store_->find_licence_by_pdf(rec.pdf_sha256);
  ASSERT_TRUE(by_pdf);
  EXPECT_EQ(by_pdf->id, rec.id);
  EXPECT_FALSE(store_->find_licence_by_pdf(std::string(64, '0')));
  const auto got = store_->get_licence(rec.id, true);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->pdf, "%PDF-1.7 " + rec.serial);
  EXPECT_EQ(got->status, "revoked");
}

// Renditions (store.h Rendition): issuance stores pdf/1 (and ofd/1 when made) in the licence's
// transaction; add_rendition appends versions with an audit row; the latest one is served; every
// version's hash still finds the licence.
TEST_F(StoreTest, RenditionsAreVersionedPerFormatWithAuditRows) {
  const auto rec = issue();
  auto list = store_->list_renditions(rec.id);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].format, "pdf");
  EXPECT_EQ(list[0].version, 1);
  EXPECT_EQ(list[0].sha256, rec.pdf_sha256);
  EXPECT_EQ(list[0].size, static_cast<std::int64_t>(("%PDF-1.7 " + rec.serial).size()));
  EXPECT_EQ(list[0].reason, "issue");
  EXPECT_EQ(list[0].audit_index, rec.audit_index);
  // pdf/1 is not stored twice: its bytes are the licence row's.
  EXPECT_EQ(count("SELECT COUNT(*) FROM renditions WHERE content IS NULL"), 1);
  auto latest = store_->latest_rendition(rec.id, "pdf", true);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->bytes, "%PDF-1.7 " + rec.serial);
  EXPECT_FALSE(store_->latest_rendition(rec.id, "ofd", false));
  EXPECT_EQ(nlohmann::json::parse(store_->audit_entries(0, 1)[0].details_json)["formats"],
            nlohmann::json::array({"pdf"}));

  const std::string renewed = "%PDF-1.7 renewed " + rec.serial;
  const auto v2 = store_->add_rendition(rec.id, "pdf", renewed, "ltv-extend", 1764100000,
                                        {"certctl", "r-2"});
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->sha256, certd::sha256_hex(renewed));
  EXPECT_EQ(v2->size, static_cast<std::int64_t>(renewed.size()));
  const auto ofd = store_->add_rendition(rec.id, "ofd", "PK\x03\x04ofd", "issue-ofd", 1764100001,
                                         {"certctl", "r-3"});
  ASSERT_TRUE(ofd);
  EXPECT_EQ(ofd->version, 1);
  latest = store_->latest_rendition(rec.id, "pdf", true);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->bytes, renewed);
  EXPECT_EQ(latest->created_at, 1764100000);
  EXPECT_EQ(store_->latest_rendition(rec.id, "ofd", true)->bytes, "PK\x03\x04ofd");
  list = store_->list_renditions(rec.id);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].format + std::to_string(list[0].version), "ofd1");
  EXPECT_EQ(list[2].format + std::to_string(list[2].version), "pdf2");
  // The audit rows name format, version and hash; the sequence stays gap-free.
  const auto rows = store_->audit_entries(0, 10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].action, "licence.rendition");
  EXPECT_EQ(rows[1].object, rec.id);
  EXPECT_EQ(rows[1].request_id, "r-2");
  EXPECT_EQ(v2->audit_index, rows[1].idx);
  const auto d = nlohmann::json::parse(rows[1].details_json);
  EXPECT_EQ(d["format"], "pdf");
  EXPECT_EQ(d["version"], 2);
  EXPECT_EQ(d["sha256"], v2->sha256);
  EXPECT_EQ(d["reason"], "ltv-extend");
  EXPECT_EQ(d["department"], "samr");
  for (const auto& r : rows) EXPECT_EQ(r.leaf_hash, certd::audit_leaf_hash(r));
  // A holder's older copy and the renewed one both find the licence (verification).
  EXPECT_EQ(store_->find_licence_by_pdf(rec.pdf_sha256)->id, rec.id);
  EXPECT_EQ(store_->find_licence_by_pdf(v2->sha256)->id, rec.id);
  EXPECT_EQ(store_->find_licence_by_rendition(ofd->sha256, "ofd")->id, rec.id);
  EXPECT_FALSE(store_->find_licence_by_rendition(ofd->sha256, "pdf"));
  // The licence row keeps the issued PDF (pdf_sha256 is the issued version's).
  EXPECT_EQ(store_->get_licence(rec.id, true)->pdf, "%PDF-1.7 " + rec.serial);
}

TEST_F(StoreTest, AddRenditionRefusesBadInputAndUnknownLicences) {
  const auto rec = issue();
  const auto code = [&](auto&& f) {
    try {
      f();
    } catch (const libcert::Error& e) {
      return e.code();
    }
    return libcert::ErrorCode::kInternal;
  };
  EXPECT_EQ(code([&] { (void)store_->add_rendition(rec.id, "docx", "x", "r", 1, {"p", ""}); }),
            libcert::ErrorCode::kInvalidArgument);
  EXPECT_EQ(code([&] { (void)store_->add_rendition(rec.id, "pdf", "", "r", 1, {"p", ""}); }),
            libcert::ErrorCode::kInvalidArgument);
  EXPECT_EQ(code([&] { (void)store_->add_rendition(rec.id, "pdf", "x", "", 1, {"p", ""}); }),
            libcert::ErrorCode::kInvalidArgument);
  EXPECT_EQ(code([&] { (void)store_->latest_rendition(rec.id, "PDF", false); }),
            libcert::ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->add_rendition("no-such-licence", "pdf", "x", "r", 1, {"p", ""}));
  EXPECT_TRUE(store_->list_renditions("no-such-licence").empty());
  // Nothing was written by the refusals.
  EXPECT_EQ(store_->audit_size(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM renditions"), 1);
}

// Issuance with an OFD (issue 22): both renditions and the audit row's formats in one commit.
TEST_F(StoreTest, IssuanceWithAnOfdStoresBothRenditions) {
  const auto rec = certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
    auto r = render(a);
    r.ofd = "PK\x03\x04 ofd " + a.serial;
    r.ofd_sha256 = certd::sha256_hex(r.ofd);
    return r;
  });
  const auto list = store_->list_renditions(rec.id);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].format, "ofd");
  EXPECT_EQ(list[0].audit_index, rec.audit_index);
  EXPECT_EQ(store_->latest_rendition(rec.id, "ofd", true)->bytes, "PK\x03\x04 ofd " + rec.serial);
  const auto d = nlohmann::json::parse(store_->audit_entries(0, 1)[0].details_json);
  EXPECT_EQ(d["formats"], nlohmann::json::array({"pdf", "ofd"}));
  EXPECT_EQ(d["ofd_sha256"], list[0].sha256);
}

// Migration 6 on a registry that already holds licences: each becomes pdf/1, bytes not copied.
TEST_F(StoreTest, MigrationMakesExistingLicencesPdfVersionOne) {
  const auto a = issue();
  const auto b = issue("civil-affairs");
  store_.reset();
  {
    RawDb db(location_);
    db.exec("DROP TABLE renditions");
    db.exec("DELETE FROM schema_migrations WHERE version = 6");
  }
  store_ = open();
  for (const auto& rec : {a, b}) {
    const auto list = store_->list_renditions(rec.id);
    ASSERT_EQ(list.size(), 1u) << rec.id;
    EXPECT_EQ(list[0].format, "pdf");
    EXPECT_EQ(list[0].version, 1);
    EXPECT_EQ(list[0].sha256, rec.pdf_sha256);
    EXPECT_EQ(list[0].size, static_cast<std::int64_t>(("%PDF-1.7 " + rec.serial).size()));
    EXPECT_EQ(list[0].created_at, rec.issued_at);
    EXPECT_EQ(list[0].audit_index, rec.audit_index);
    EXPECT_EQ(store_->latest_rendition(rec.id, "pdf", true)->bytes, "%PDF-1.7 " + rec.serial);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM renditions WHERE content IS NOT NULL"), 0);
}

TEST_F(StoreTest, ListingUsesKeysetCursorsAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(issue().id);
  issue("civil-affairs");
  (void)store_->revoke_licence(ids[1], "x", 5, {"p", ""});
  certd::ListQuery q;
  q.department = "samr";
  q.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    const auto p = store_->list_licences(q);
    for (const auto& r : p.items) {
      EXPECT_EQ(r.department, "samr");
      EXPECT_TRUE(r.pdf.empty());
      seen.push_back(r.id);
    }
    if (!p.next_before) break;
    q.before_audit_index = p.next_before;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  certd::ListQuery revoked;
  revoked.department = "samr";
  revoked.status = "revoked";
  const auto r = store_->list_licences(revoked);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].id, ids[1]);
  EXPECT_FALSE(r.next_before);
}

TEST_F(StoreTest, ConcurrentIssuanceKeepsSerialsUniqueAndTheAuditGapFree) {
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::thread> ts;
  std::mutex mu;
  std::set<std::string> serials;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        try {
          const auto rec = issue();
          std::lock_guard l(mu);
          serials.insert(rec.serial);
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(serials.size(), static_cast<std::size_t>(kThreads * kEach));
  const auto rows = store_->audit_entries(0, 1000);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kEach));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].idx, static_cast<std::int64_t>(i));
    EXPECT_EQ(rows[i].leaf_hash, certd::audit_leaf_hash(rows[i]));
  }
}

// Group commit (registry.h Registry::group_write): writes queued while another one holds the
// transaction commit together, each in its own savepoint. A writes first and holds the lead
// inside its reserve; B, C and D queue meanwhile and then share one transaction, in which C's
// seal check refuses: C alone is rolled back (no serial burned), B and D commit.
TEST_F(StoreTest, GroupCommitRollsBackARefusedWriteAloneAndCommitsTheRestOfItsBatch) {
  std::mutex mu;
  std::condition_variable cv;
  bool a_inside = false, release_a = false;
  auto a_ctx = ctx();
  a_ctx.check_seal = [&](const std::optional<certd::SealKeyVersion>&) {
    std::unique_lock l(mu);
    a_inside = true;
    cv.notify_all();
    cv.wait(l, [&] { return release_a; });
  };
  auto refusing = ctx();
  refusing.check_seal = [](const std::optional<certd::SealKeyVersion>&) {
    throw libcert::Error(libcert::ErrorCode::kNotFound, "samr: no active seal version");
  };
  auto plain = [&](const certd::Allocation& a) { return render(a); };
  std::string a_serial, b_serial, d_serial;
  std::atomic<int> c_refused{0};
  std::thread ta([&] { a_serial = certd::issue_licence(*store_, a_ctx, plain).serial; });
  {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return a_inside; });
  }
  std::thread tb([&] { b_serial = issue().serial; });
  std::thread tc([&] {
    try {
      certd::issue_licence(*store_, refusing, plain);
    } catch (const libcert::Error& e) {
      if (e.code() == libcert::ErrorCode::kNotFound) ++c_refused;
    }
  });
  std::thread td([&] { d_serial = issue().serial; });
  // Let B, C and D reach the queue behind A (if one is late it simply commits in a later
  // transaction: every expectation below holds either way).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard l(mu);
    release_a = true;
  }
  cv.notify_all();
  for (auto* t : {&ta, &tb, &tc, &td}) t->join();
  EXPECT_EQ(a_serial, "2025000001");
  EXPECT_EQ(c_refused.load(), 1);
  EXPECT_EQ(std::set<std::string>({b_serial, d_serial}),
            std::set<std::string>({"2025000002", "2025000003"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM licences"), 3);
  EXPECT_EQ(count("SELECT last FROM serial_counters"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
  const auto rows = store_->audit_entries(0, 100);
  ASSERT_EQ(rows.size(), 3U);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].idx, static_cast<std::int64_t>(i));
    EXPECT_EQ(rows[i].action, "licence.issue");
  }
  expect_every_serial_accounted();
}

// ---- faults of the environment (SQLite through tests/support/fault_vfs.h) ----------------------
// The errors come out of the real SQLite driver, raised by the VFS below it exactly where a full
// disk or a write-protected file raises them.

class StoreFaultTest : public StoreTest {
 protected:
  void SetUp() override {
    if (on_postgres()) GTEST_SKIP() << "the fault VFS is SQLite's; PostgreSQL maps SQLSTATEs";
    vfs_.clear();
    location_ = certdtest::new_registry(dir_.path());
    certd::StoreOptions o;
    o.rng = &rng_;
    o.reservation_lease_s = kLease;
    o.pool_size = 1;
    o.sqlite_vfs = vfs_.name();
    store_ = certd::open_store(location_, o);
  }
  void TearDown() override { vfs_.clear(); }
  testsupport::FaultVfs& vfs_ = testsupport::FaultVfs::instance();
};

certd::RegistryError::Code code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const certd::RegistryError& e) {
    return e.code();
  }
  ADD_FAILURE() << "no RegistryError";
  return certd::RegistryError::Code::kInternal;
}

TEST_F(StoreFaultTest, FailedCommitLeavesNoPartialWriteVoidsTheSerialAndTheNextIssueSucceeds) {
  for (const int rc : {SQLITE_FULL, SQLITE_IOERR_WRITE}) {
    SCOPED_TRACE(rc);
    const std::int64_t before_licences = store_->count_licences();
    // The disk fills up while the licence renders: the commit transaction's first page write
    // fails, SQLite rolls it back.
    const auto code = code_of([&] {
      certd::issue_licence(*store_, ctx(), [&](const certd::Allocation& a) {
        vfs_.fail_writes(rc, 1);
        return render(a);
      });
    });
    EXPECT_EQ(code, certd::RegistryError::Code::kUnavailable);
    EXPECT_EQ(vfs_.failed_writes() > 0, true);
    // Nothing of the licence was written: no row, no licence.issue audit row, no reservation.
    EXPECT_EQ(store_->count_licences(), before_licences);
    EXPECT_EQ(count("SELECT COUNT(*) FROM reservations"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'licence.issue'"),
              before_licences);
    // The serial is accounted for by a licence.void row naming the registry failure.
    const auto voids = void_rows();
    ASSERT_FALSE(voids.empty());
    EXPECT_EQ(voids.back()["reason"], "commit-failed");
    EXPECT_EQ(voids.back()["error_code"], "registry.unavailable");
    // The fault is gone: the next issuance succeeds on a fresh connection.
    const auto rec = issue();
    EXPECT_EQ(rec.status, "valid");
    EXPECT_EQ(store_->count_licences(), before_licences + 1);
  }
  expect_every_serial_accounted();
}

TEST_F(StoreFaultTest, AConnectionThatHitAnIoErrorIsDroppedNotPooled) {
  (void)store_->count_licences();
  const int opens = vfs_.main_db_opens();
  vfs_.fail_writes(SQLITE_IOERR_WRITE, 1);
  EXPECT_EQ(code_of([&] { (void)store_->record_event("test.event", "x", "{}", 1, {"p", "r"}); }),
            certd::RegistryError::Code::kUnavailable);
  // The pooled connection saw the I/O error: the next call opens a new one...
  EXPECT_EQ(store_->record_event("test.event", "x", "{}", 2, {"p", "r"}), 0);
  EXPECT_EQ(vfs_.main_db_opens(), opens + 1);
  // ...which, being healthy, is pooled and reused.
  (void)store_->count_licences();
  EXPECT_EQ(vfs_.main_db_opens(), opens + 1);
}

TEST_F(StoreFaultTest, AMomentOfAReadOnlyRegistryDoesNotBreakLaterWrites) {
  // The registry file is write-protected while a second connection is opened (an issuance holds
  // the first one in its reserve transaction, a read needs another): SQLite opens that one
  // read-only without an error. On main it was pooled and every later write failed with
  // "attempt to write a readonly database" until a restart.
  auto c = ctx();
  bool probed = false;
  c.check_seal = [&](const std::optional<certd::SealKeyVersion>&) {
    vfs_.read_only(true);
    (void)store_->count_licences();  // the second connection, opened read-only
    vfs_.read_only(false);           // the moment is over
    probed = true;
  };
  const auto rec =
      certd::issue_licence(*store_, c, [&](const certd::Allocation& a) { return render(a); });
  EXPECT_TRUE(probed);
  EXPECT_EQ(rec.status, "valid");
  // Writes keep working without a restart.
  EXPECT_NO_THROW(issue());
  EXPECT_NO_THROW((void)store_->record_event("test.event", "x", "{}", 3, {"p", "r"}));
  EXPECT_EQ(store_->count_licences(), 2);
}

TEST_F(StoreFaultTest, WritesDuringAReadOnlyMomentFailAsUnavailableAndRecover) {
  // A fresh connection is the only one that can see the file as read-only: empty the pool by
  // failing it once, then protect the file.
  vfs_.fail_writes(SQLITE_IOERR_WRITE, 1);
  EXPECT_EQ(code_of([&] { (void)store_->record_event("test.event", "x", "{}", 1, {"p", "r"}); }),
            certd::RegistryError::Code::kUnavailable);
  vfs_.read_only(true);
  EXPECT_EQ(code_of([&] { issue(); }), certd::RegistryError::Code::kUnavailable);
  EXPECT_EQ(store_->count_licences(), 0);
  vfs_.read_only(false);
  EXPECT_EQ(issue().status, "valid");
  expect_every_serial_accounted();
}

TEST_F(StoreTest, AuditLeafHashMatchesOpenSslOverTheCanonicalLeaf) {
  certd::AuditRow row;
  row.idx = 3;
  row.ts = 1764000000;
  row.principal = "p_x";
  row.action = "licence.issue";
  row.object = "1.2.3";
  row.request_id = "r";
  row.details_json = R"({"a":1})";
  // The leaf, written out by hand in canonical form (sorted keys, no spaces), hashed by the
  // openssl CLI with the RFC 6962 0x00 prefix.
  const std::string details = certd::sha256_hex(row.details_json);
  const std::string leaf = R"({"action":"licence.issue","details_sha256":")" + details +
                           R"(","idx":3,"object":"1.2.3","principal":"p_x","request_id":"r",)"
                           R"("ts":1764000000,"v":1})";
  TempDir d;
  testsupport::spit(d / "leaf", std::string(1, '\0') + leaf);
  const auto out = testsupport::run("openssl dgst -sha256 -r " +
                                    testsupport::shell_quote((d / "leaf").string()));
  ASSERT_EQ(out.exit_code, 0) << out.out;
  const std::string raw = certd::audit_leaf_hash(row);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    hex += {kHex[c >> 4], kHex[c & 15]};
  }
  EXPECT_EQ(out.out.substr(0, 64), hex);
}

}  // namespace

namespace {

TEST(CertctlKeys, CreateListRevokeOnARegistryFile) {
  TempDir d;
  const std::string db = certdtest::new_registry(d.path(), "r.db");
  const std::string bin = CERTCTL_BIN;
  auto created = testsupport::run(bin + " keys create --store " + db +
                                  " --department samr --scopes licence:issue,licence:read --json");
  ASSERT_EQ(created.exit_code, 0) << created.out;
  const auto j = nlohmann::json::parse(created.out);
  const std::string key = j.at("key").get<std::string>();
  const std::string id = j.at("id").get<std::string>();
  EXPECT_EQ(j.at("scopes"), nlohmann::json({"licence:issue", "licence:read"}));

  auto store = certd::open_store(db);
  auto who = certd::authenticate(*store, "Bearer " + key, "");
  ASSERT_EQ(who.kind, certd::AuthResult::kOk);
  EXPECT_EQ(who.principal.id, id);

  const auto listed = testsupport::run(bin + " keys list --store " + db);
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find(key.substr(0, 12)), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(key), std::string::npos) << "the key itself must never be listed";

  const auto bad = testsupport::run(bin + " keys create --store " + db + " --department tibet");
  EXPECT_EQ(bad.exit_code, 3);  // bad input (docs/verdicts.md "Exit codes")
  EXPECT_NE(bad.out.find("--department: unknown department 'tibet'"), std::string::npos) << bad.out;
  const auto badscope = testsupport::run(bin + " keys create --store " + db +
                                         " --department samr --scopes seal:admin");
  EXPECT_EQ(badscope.exit_code, 3);
  EXPECT_NE(badscope.out.find("unknown department scope 'seal:admin'"), std::string::npos);
  EXPECT_EQ(store->list_principals().size(), 1u);  // the rejected commands wrote nothing

  ASSERT_EQ(testsupport::run(bin + " keys revoke --store " + db + " --id " + id).exit_code, 0);
  EXPECT_EQ(certd::authenticate(*store, "Bearer " + key, "").kind, certd::AuthResult::kRevoked);
}

// Acceptance (audit): deleting, editing or reordering any audit row, or truncating the log, makes
// `certctl audit verify` fail naming the first bad index; a rewrite that also recomputes the
// stored leaf hash is located by the registry's signed checkpoints.
class CertctlAudit : public ::testing::Test {
 protected:
  const std::string bin_ = CERTCTL_BIN;
  const std::string keys_ = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
  TempDir dir_;
  const std::string location_ = certdtest::new_registry(dir_.path(), "audit.db");

  std::string db() const { return location_; }

  // A log of 12 entries with a saved checkpoint at 10 (checkpoint.txt) and registry checkpoints
  // at 5, 6 and 10.
  void build() {
    auto store = certd::open_store(db());
    auto add = [&](int i) {
      certd::NewPrincipal np;
      np.department = "samr";
      np.scopes = {"licence:read"};
      np.key_prefix = "lic_" + std::to_string(i);
      np.key_sha256 = certd::sha256_hex("key " + std::to_string(i));
      store->create_principal(np, 1000 + i, {"certctl", "r" + std::to_string(i)});
    };
    for (int i = 0; i < 12; ++i) {
      add(i);
      if (i == 4 || i == 5 || i == 9) {
        const auto r = run_certctl("audit checkpoint --store " + db() + " --keys " + keys_ +
                                   (i == 9 ? " -o " + (dir_ / "checkpoint.txt").string() : ""));
        ASSERT_EQ(r.exit_code, 0) << r.out;
      }
    }
  }
  testsupport::RunResult run_certctl(const std::string& args) const {
    return testsupport::run(bin_ + " " + args);
  }
  testsupport::RunResult verify() const {
    return run_certctl("audit verify --store " + db() + " --keys " + keys_ + " --checkpoint " +
                       (dir_ / "checkpoint.txt").string());
  }
  void exec(const std::string& sqlq) { RawDb(db()).exec(sqlq); }
};

TEST_F(CertctlAudit, IntactLogVerifies) {
  build();
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("OK: 12 entries; the first 10 match the checkpoint's root ", 0), 0u)
      << r.out;
}

TEST_F(CertctlAudit, EditedRowIsNamed) {
  build();
  exec("UPDATE audit_log SET details_json = '{\"scopes\":[\"seal:admin\"]}' WHERE idx = 4");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(
      r.out,
      "FAILED: first bad index 4: entry 4 does not match its leaf hash (edited, or moved from "
      "another index)\n");
}

TEST_F(CertctlAudit, DeletedRowIsNamed) {
  build();
  exec("DELETE FROM audit_log WHERE idx = 6");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(
      r.out,
      "FAILED: first bad index 6: entry 6 is missing (deleted): the next entry has index 7\n");
}

TEST_F(CertctlAudit, ReorderedRowsAreNamed) {
  build();
  // Rows 2 and 3 swap places (each keeps its own content and stored hash).
  exec(
      "UPDATE audit_log SET idx = -1 WHERE idx = 2; UPDATE audit_log SET idx = 2 WHERE idx = 3; "
      "UPDATE audit_log SET idx = 3 WHERE idx = -1");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAILED: first bad index 2: entry 2 does not match its leaf hash"),
            std::string::npos)
      << r.out;
}

TEST_F(CertctlAudit, TruncatedLogIsNamed) {
  build();
  exec("DELETE FROM audit_log WHERE idx >= 7");
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out,
            "FAILED: first bad index 7: the log has 7 entries but the checkpoint covers 10 "
            "(truncated)\n");
}

TEST_F(CertctlAudit, RewriteWithRecomputedLeafHashIsLocatedBySignedCheckpoints) {
  build();
  {
    // The attacker knows the leaf format and rewrites row 5 and its stored hash consistently.
    auto store = certd::open_store(db());
    auto row = store->audit_entries(5, 1).at(0);
    row.principal = "someone-else";
    const std::string h = certd::audit_leaf_hash(row);
    RawDb(db()).exec_bound("UPDATE audit_log SET principal = $1, leaf_hash = $2 WHERE idx = 5",
                           "UPDATE audit_log SET principal = ?1, leaf_hash = ?2 WHERE idx = 5",
                           {{row.principal, false}, {h, true}});
  }
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(
      r.out,
      "FAILED: first bad index 5: entry 5 and its stored leaf hash were rewritten (the root at "
      "size 6 does not match its signed checkpoint)\n");
  // A forged checkpoint file is refused before anything else.
  std::string note = testsupport::slurp(dir_ / "checkpoint.txt");
  note.replace(note.find("\n10\n"), 4, "\n11\n");
  testsupport::spit(dir_ / "forged.txt", note);
  const auto f = run_certctl("audit verify --store " + db() + " --keys " + keys_ +
                             " --checkpoint " + (dir_ / "forged.txt").string());
  EXPECT_EQ(f.exit_code, 1) << f.out;  // a verification that failed
  EXPECT_NE(f.out.find("does not verify with the given audit public key"), std::string::npos)
      << f.out;
}

}  // namespace
