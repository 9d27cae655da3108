// certd configured with tokens only (issue 20): seal keys, the trust-bundle signer and the audit
// checkpoint key each in their own SoftHSM2 token (temp dir, softhsm2-util), with its own PIN
// file. Sealed licences are checked by pdfsig, mutool and openssl cms; the QR with the bundle
// certd publishes (signed in the bundle token); rotation under load generates new versions in the
// token; token faults are 503 problems naming the fault and write nothing; certctl exits 5.
// The test process itself never loads the PKCS#11 module: certctl, certd and pkcs11-tool do.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "certd_fixture.h"
#include "merkle.h"
#include "sqlite.h"
#include "support/softhsm.h"
#include "support/verifiers.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::post_json;
using certdtest::RawDb;
using testsupport::run;
using testsupport::shell_quote;

const std::string kTemplate = "business-licence-enterprise";  // department samr
const std::string kExample = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";

// A key directory with no private key file of any role: the example root (its certificate, and
// its key as the example CA that certifies new token keys), the NOT-FOR-PRODUCTION marker, and
// the bundle certificate issued here for the bundle token's key.
struct TokenInstallation {
  testsupport::SoftHsm& hsm = testsupport::SoftHsm::instance();
  testsupport::TempDir dir;
  std::string keys, store, config, seal_uri, bundle_uri, audit_uri, audit_pub, seal_label;

  static std::string certctl(const std::string& args) {
    return std::string(CERTCTL_BIN) + " " + args;
  }

  TokenInstallation() {
    namespace fs = std::filesystem;
    keys = (dir / "keys").string();
    fs::create_directories(dir / "keys/root");
    fs::create_directories(dir / "keys/bundle");
    fs::copy_file(kExample + "/root/root.crt", dir / "keys/root/root.crt");
    fs::copy_file(kExample + "/root/root.key", dir / "keys/root/root.key");
    fs::permissions(dir / "keys/root/root.key", fs::perms::owner_read | fs::perms::owner_write);
    fs::copy_file(kExample + "/NOT-FOR-PRODUCTION", dir / "keys/NOT-FOR-PRODUCTION");
    // The example issuing CA certifies the token's seal versions (--example-ca; docs/crl.md).
    fs::create_directories(dir / "keys/ca");
    fs::copy_file(kExample + "/ca/issuing-ca.crt", dir / "keys/ca/issuing-ca.crt");
    fs::copy_file(kExample + "/ca/issuing-ca.key", dir / "keys/ca/issuing-ca.key");
    fs::permissions(dir / "keys/ca/issuing-ca.key", fs::perms::owner_read | fs::perms::owner_write);
    store = (dir / "registry.db").string();
    seal_uri = hsm.token_uri("seals");
    const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(std::rand());

    // The bundle signer: generated in the bundle token, CSR signed there, certified by the
    // example root with the bundle-signer policy (as keys-example/make-bundle-key.sh does).
    auto r = run(certctl("token keygen --token " + shell_quote(hsm.token_uri("bundle")) +
                         " --label bundle-" + tag + " --csr-out " +
                         shell_quote((dir / "bundle.csr").string())));
    if (r.exit_code != 0) throw std::runtime_error("token keygen bundle: " + r.out);
    bundle_uri = r.out.substr(0, r.out.find('\n'));
    testsupport::spit(dir / "ext.cnf",
                      "[v3_bundle]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,"
                      "digitalSignature\ncertificatePolicies=2.25."
                      "173139380313850288678706241780509391059\nsubjectKeyIdentifier=hash\n"
                      "authorityKeyIdentifier=keyid\n");
    r = run("openssl x509 -req -in " + shell_quote((dir / "bundle.csr").string()) + " -CA " +
            shell_quote(kExample + "/root/root.crt") + " -CAkey " +
            shell_quote((dir / "keys/root/root.key").string()) + " -set_serial 0x" +
            std::to_string(1000 + std::rand() % 1000) + " -days 365 -extfile " +
            shell_quote((dir / "ext.cnf").string()) + " -extensions v3_bundle -out " +
            shell_quote(keys + "/bundle/bundle.crt"));
    if (r.exit_code != 0) throw std::runtime_error("openssl x509 -req: " + r.out);
    // The verifier's pin: SHA-256 of the token key's SubjectPublicKeyInfo.
    r = run("openssl x509 -in " + shell_quote(keys + "/bundle/bundle.crt") +
            " -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1");
    testsupport::spit(keys + "/bundle/pins.txt", r.out);

    // The audit checkpoint key: Ed25519 in the audit token (SoftHSM 2.6 has CKM_EDDSA).
    audit_pub = (dir / "audit.pub").string();
    r = run(certctl("token keygen --token " + shell_quote(hsm.token_uri("audit")) +
                    " --type ed25519 --label audit-" + tag + " --pub-out " +
                    shell_quote(audit_pub)));
    if (r.exit_code != 0) throw std::runtime_error("token keygen audit: " + r.out);
    audit_uri = r.out.substr(0, r.out.find('\n'));

    // samr's first seal version, generated in the seal token, certified by the example CA.
    r = run(certctl("seal create --store " + store + " --keys " + keys +
                    " --department samr --example-ca --token " + shell_quote(seal_uri) +
                    " --json"));
    if (r.exit_code != 0) throw std::runtime_error("seal create --token: " + r.out);
    {
      const std::string ref = nlohmann::json::parse(r.out.substr(r.out.find('{'))).at("key_ref");
      const auto o = ref.find("object=") + 7;
      seal_label = ref.substr(o, ref.find(';', o) - o);
    }
    r = run(certctl("seal activate --store " + store + " --keys " + keys +
                    " --department samr --version 1"));
    if (r.exit_code != 0) throw std::runtime_error("seal activate: " + r.out);

    config = (dir / "certd.json").string();
    testsupport::spit(config, nlohmann::json{{"seal", {{"token", seal_uri}}},
                                             {"bundle_key", bundle_uri},
                                             {"audit", {{"key", audit_uri}}}}
                                  .dump());
  }

  std::vector<std::string> args() const { return {"--config", config, "--keys", keys}; }
  std::map<std::string, std::string> env() const {
    return {{"CERTD_SEAL_KEY_DIR", (dir / "no-pem-keys").string()},
            {"CERTD_VERIFY_PER_MINUTE", "1000000"}};
  }
};

struct Issued {
  int status = 0;
  nlohmann::json body;
  std::string error;
};

Issued issue(httplib::Client& c, const std::string& key, const std::string& idem) {
  auto r = c.Post(
      "/v1/licences", {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}},
      nlohmann::json{{"template", kTemplate}, {"data", certdtest::template_sample(kTemplate)}}
          .dump(),
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

nlohmann::json verify(httplib::Client& c, const std::string& body, const std::string& type) {
  auto r = c.Post("/v1/verify", body, type);
  if (!r || r->status != 200) return {};
  return nlohmann::json::parse(r->body);
}

std::string get_pdf(httplib::Client& c, const std::string& key, const std::string& id) {
  auto r = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  return r && r->status == 200 ? r->body : std::string();
}

std::int64_t count(const std::string& store, const std::string& sql) {
  return std::stoll(*RawDb(store).rows(sql, 1).at(0).at(0));
}

std::int64_t rotate(httplib::Client& c, const std::string& admin, const std::string& store) {
  const auto created = post_json(c, admin, "/v1/seals/samr/keys", {{"example_ca", true}}, 201);
  const std::int64_t v = created.value("version", 0);
  // Generated in the token: the registry's key_ref is the key's pkcs11: URI (a pin-source, no
  // PIN); the API view does not show it.
  EXPECT_FALSE(created.contains("key_ref"));
  const auto ref = *RawDb(store)
                        .rows(
                            "SELECT key_ref FROM seal_keys WHERE department = 'samr' AND "
                            "version = " +
                                std::to_string(v),
                            1)
                        .at(0)
                        .at(0);
  EXPECT_EQ(ref.rfind("pkcs11:token=seals;object=seal-samr-", 0), 0u) << ref;
  EXPECT_NE(ref.find("&pin-source=file:"), std::string::npos) << ref;
  post_json(c, admin, "/v1/seals/samr/keys/" + std::to_string(v) + ":activate",
            nlohmann::json::object(), 200);
  return v;
}

// Acceptance: a token-only certd starts, issues, and its licences verify with pdfsig, mutool and
// openssl cms; the QR verifies offline with the bundle certd signed in the bundle token; audit
// checkpoints are signed with the Ed25519 key of the audit token; the seal key in the token is
// sensitive and not extractable (OpenSC's pkcs11-tool).
TEST(ApiPkcs11, TokenOnlyCertdIssuesLicencesThatThirdPartyVerifiersAccept) {
  if (certdtest::on_postgres())
    GTEST_SKIP() << "token signing does not depend on the registry engine";
  TokenInstallation inst;
  CertdProcess certd(inst.env(), inst.args(), inst.store);
  const std::string key = certd.make_key("samr");
  const std::string admin = certd.make_key("admin");
  auto c = certd.client();
  const Issued lic = issue(c, key, "first");
  ASSERT_EQ(lic.status, 201) << lic.error << certd.log();
  EXPECT_EQ(lic.body["seal"]["version"], "1");
  const std::string pdf = get_pdf(c, key, lic.body["id"]);
  ASSERT_FALSE(pdf.empty());
  const auto& d = inst.dir;
  testsupport::spit(d / "lic.pdf", pdf);

  testsupport::NssTrust nss(d / "nss", kExample + "/root/root.crt");
  const std::string ps = nss.pdfsig(d / "lic.pdf");
  EXPECT_TRUE(testsupport::contains(ps, "Signature Validation: Signature is Valid.")) << ps;
  EXPECT_TRUE(testsupport::contains(ps, "Certificate Validation: Certificate is Trusted.")) << ps;
  EXPECT_TRUE(testsupport::contains(ps, "Total document signed")) << ps;
  const auto mu = run("mutool sign -v " + shell_quote((d / "lic.pdf").string()));
  EXPECT_TRUE(testsupport::contains(mu.out, "The document is unchanged since signing.")) << mu.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(pdf, m, std::regex(R"(/ByteRange \[0 (\d+) (\d+) (\d+) *\])")));
  const std::size_t a = std::stoul(m[1]), b = std::stoul(m[2]), cc = std::stoul(m[3]);
  testsupport::spit(d / "ranges.bin", pdf.substr(0, a) + pdf.substr(b, cc));
  auto r = run("cd " + shell_quote(d.path().string()) + " && pdfsig -dump lic.pdf");
  r = run("openssl cms -verify -inform DER -binary -in " +
          shell_quote((d / "lic.pdf.sig0").string()) + " -content " +
          shell_quote((d / "ranges.bin").string()) + " -CAfile " +
          shell_quote(kExample + "/root/root.crt") + " -purpose any -out /dev/null");
  EXPECT_TRUE(testsupport::contains(r.out, "Verification successful")) << r.out;
  // Online verification names the version.
  const auto p = verify(c, pdf, "application/pdf");
  EXPECT_EQ(p.value("result", ""), "VALID") << p.dump();

  // The QR, offline, with the bundle certd publishes (signed by the bundle token's key, pinned).
  auto tb = c.Get("/v1/trust-bundle");
  ASSERT_TRUE(tb);
  ASSERT_EQ(tb->status, 200) << tb->body << certd.log();
  testsupport::spit(d / "bundle.cbor", tb->body);
  testsupport::spit(d / "qr.txt", lic.body["qr_text"].get<std::string>());
  r = run(std::string(CERTCTL_BIN) + " verify-qr --bundle " +
          shell_quote((d / "bundle.cbor").string()) + " --keys " + shell_quote(inst.keys) +
          " --state " + shell_quote((d / "state").string()) + " \"$(cat " +
          shell_quote((d / "qr.txt").string()) + ")\"");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(testsupport::contains(r.out, "VALID")) << r.out;

  // The same from the registry with certctl, the bundle signed in the bundle token: it lists the
  // token seal version, and the QR verifies offline with it.
  r = run(std::string(CERTCTL_BIN) + " seal bundle --store " + inst.store + " --keys " +
          shell_quote(inst.keys) + " --bundle-key " + shell_quote(inst.bundle_uri) + " -o " +
          shell_quote((d / "bundle2.cbor").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(testsupport::contains(r.out, "1 seal version(s)")) << r.out;
  r = run(std::string(CERTCTL_BIN) + " verify-qr --bundle " +
          shell_quote((d / "bundle2.cbor").string()) + " --keys " + shell_quote(inst.keys) +
          " --state " + shell_quote((d / "state2").string()) + " \"$(cat " +
          shell_quote((d / "qr.txt").string()) + ")\"");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(testsupport::contains(r.out, "VALID")) << r.out;

  // An audit checkpoint signed in the audit token verifies with its public key.
  auto cp = c.Get("/v1/audit/checkpoint", bearer(admin));
  ASSERT_TRUE(cp);
  ASSERT_EQ(cp->status, 200) << cp->body << certd.log();
  const auto note = nlohmann::json::parse(cp->body).at("checkpoint").get<std::string>();
  const certd::Checkpoint opened = certd::open_checkpoint(note, testsupport::slurp(inst.audit_pub));
  EXPECT_GT(opened.size, 0u);

  // OpenSC: the seal key in the token is sensitive and never extractable.
  const auto objs = inst.hsm.tool("seals", "--list-objects --type privkey");
  EXPECT_TRUE(testsupport::contains(objs.out, "sensitive, always sensitive, never extractable"))
      << objs.out;
  EXPECT_EQ(certd.stop(), 0);
}

// Acceptance: rotation under load with token keys — no failed request, every licence names the
// version active at its issuance and verifies (QR and PDF) naming it.
TEST(ApiPkcs11, RotationUnderLoadWithTokenKeys) {
  if (certdtest::on_postgres())
    GTEST_SKIP() << "token signing does not depend on the registry engine";
  TokenInstallation inst;
  CertdProcess certd(inst.env(), inst.args(), inst.store);
  const std::string key = certd.make_key("samr");
  const std::string admin = certd.make_key("admin");
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<nlohmann::json> licences;
  std::vector<std::string> failures;
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&, t] {
      auto c = certd.client();
      for (int i = 0; !stop.load() && i < 400; ++i) {
        const Issued r = issue(c, key, "rot-" + std::to_string(t) + "-" + std::to_string(i));
        std::lock_guard l(mu);
        if (r.status == 201) {
          licences.push_back(r.body);
        } else {
          failures.push_back(std::to_string(r.status) + " " + r.error);
        }
      }
    });
  }
  // Each version seals kPerVersion licences before the next step (rotation, then the end), while
  // the 3 clients keep issuing: counted, not timed, so that a loaded machine (the sanitizers on a
  // shared core) cannot leave a version without a licence; bounded by kPhase per step.
  constexpr std::size_t kPerVersion = 9;
  constexpr auto kPhase = std::chrono::seconds(120);
  bool every_phase_issued = true;
  auto issue_some = [&] {
    std::size_t want = 0;
    {
      std::lock_guard l(mu);
      want = licences.size() + kPerVersion;
    }
    const auto deadline = std::chrono::steady_clock::now() + kPhase;
    for (;;) {
      {
        std::lock_guard l(mu);
        if (licences.size() >= want || !failures.empty()) return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        every_phase_issued = false;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  auto ac = certd.client();
  issue_some();
  const std::int64_t v2 = rotate(ac, admin, certd.store());
  issue_some();
  const std::int64_t v3 = rotate(ac, admin, certd.store());
  issue_some();
  stop = true;
  for (auto& t : ts) t.join();
  EXPECT_TRUE(every_phase_issued) << "fewer than " << kPerVersion << " licences in "
                                  << kPhase.count() << " s";
  EXPECT_EQ(v2, 2);
  EXPECT_EQ(v3, 3);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  std::map<std::string, int> per_version;
  auto c = certd.client();
  for (const auto& lic : licences) {
    const std::string v = lic.at("seal").at("version").get<std::string>();
    ++per_version[v];
    const auto q = verify(c, nlohmann::json{{"qr", lic.at("qr_text")}}.dump(), "application/json");
    EXPECT_EQ(q.value("result", ""), "VALID") << q.dump();
    EXPECT_EQ(q.value("seal_version", ""), v);
    const auto pv = verify(c, get_pdf(c, key, lic.at("id")), "application/pdf");
    EXPECT_EQ(pv.value("result", ""), "VALID") << pv.dump();
    EXPECT_EQ(pv["seal"].value("version", ""), v);
  }
  std::cout << "token rotation under load: " << licences.size() << " licences, " << failures.size()
            << " failed; v1 " << per_version["1"] << ", v2 " << per_version["2"] << ", v3 "
            << per_version["3"] << "\n";
  EXPECT_GT(per_version["1"], 0);
  EXPECT_GT(per_version["2"], 0);
  EXPECT_GT(per_version["3"], 0);
  EXPECT_EQ(certd.stop(), 0);
}

// Acceptance: wrong PIN, token missing (its directory moved away and back under load), key
// deleted at runtime — a 503 problem naming the fault, nothing written (no licence, no voided
// serial), and issuing resumes when the token is back. certctl exits 5 naming the fault.
TEST(ApiPkcs11, TokenFaultsAre503NamingTheFaultWriteNothingAndIssuingResumes) {
  if (certdtest::on_postgres())
    GTEST_SKIP() << "token signing does not depend on the registry engine";
  TokenInstallation inst;
  auto& hsm = inst.hsm;
  // Wrong PIN from the start: certd still starts (the token is touched on use).
  testsupport::spit(hsm.pin_file("seals"), "not-the-pin\n");
  CertdProcess certd(inst.env(), inst.args(), inst.store);
  const std::string key = certd.make_key("samr");
  auto c = certd.client();
  auto expect_fault = [&](const Issued& r, const std::string& fault) {
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_EQ(r.body.value("type", ""), "https://libcert.example/problems/token-unavailable")
        << r.error;
    EXPECT_EQ(r.body.value("token_fault", ""), fault) << r.error;
    EXPECT_EQ(r.error.find("pin-source"), std::string::npos) << "no paths or PIN sources leak";
  };
  expect_fault(issue(c, key, "pin-1"), "pin-incorrect");
  expect_fault(issue(c, key, "pin-2"), "pin-incorrect");
  EXPECT_EQ(count(certd.store(), "SELECT COUNT(*) FROM licences"), 0);
  EXPECT_EQ(count(certd.store(), "SELECT COUNT(*) FROM audit_log WHERE action = 'licence.void'"),
            0);
  // certctl: the same fault, exit 5 (docs/verdicts.md: environment).
  auto cr = run(std::string(CERTCTL_BIN) + " seal create --store " + inst.store + " --keys " +
                inst.keys + " --department samr --token " + shell_quote(inst.seal_uri));
  EXPECT_EQ(cr.exit_code, 5) << cr.out;
  EXPECT_TRUE(testsupport::contains(cr.out, "pin-incorrect")) << cr.out;
  EXPECT_FALSE(testsupport::contains(cr.out, "not-the-pin")) << cr.out;
  // The PIN file is fixed: issuing resumes without a restart.
  testsupport::spit(hsm.pin_file("seals"), "pin-seals\n");
  const Issued ok = issue(c, key, "pin-3");
  ASSERT_EQ(ok.status, 201) << ok.error << certd.log();

  // Token missing under load: its directory moved away and back while 2 clients issue. Each step
  // waits for what the clients saw, not for a fixed time: under the sanitizers on a loaded
  // machine one request may take longer than any fixed window, and a window nobody's request
  // fell into checks nothing (bounded: kPhase per step).
  std::atomic<bool> stop{false}, token_back{false};
  std::mutex mu;
  int created = 1, refused = 0, created_after_back = 0;
  std::set<std::string> faults;
  std::vector<std::string> other;
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t) {
    ts.emplace_back([&, t] {
      auto cl = certd.client();
      for (int i = 0; !stop.load() && i < 1000; ++i) {
        const bool sent_after_back = token_back.load();
        const Issued r = issue(cl, key, "mv-" + std::to_string(t) + "-" + std::to_string(i));
        std::lock_guard l(mu);
        if (r.status == 201) {
          ++created;
          if (sent_after_back) ++created_after_back;
        } else if (r.status == 503 && r.body.value("type", "") ==
                                          "https://libcert.example/problems/token-unavailable") {
          ++refused;
          faults.insert(r.body.value("token_fault", ""));
        } else {
          other.push_back(std::to_string(r.status) + " " + r.error);
        }
      }
    });
  }
  constexpr auto kPhase = std::chrono::seconds(120);
  // True once `holds` (called under mu) is true, false after kPhase.
  auto wait_for = [&](auto holds) {
    const auto deadline = std::chrono::steady_clock::now() + kPhase;
    for (;;) {
      {
        std::lock_guard l(mu);
        if (holds()) return true;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  // 1. The clients issue (2 licences more than the one above).
  const bool issuing = wait_for([&] { return created >= 3; });
  const auto tdir = hsm.token_dir("seals");
  const auto away = hsm.dir() / "seals-away";
  std::filesystem::rename(tdir, away);
  // 2. Token gone: the clients' requests are refused (503 token-unavailable), and so is this one.
  const bool refusing = wait_for([&] { return refused > 0; });
  const Issued during = issue(c, key, "during");
  // 3. Token back: the clients' next requests issue again, without a restart.
  std::filesystem::rename(away, tdir);
  token_back = true;
  const bool resumed = wait_for([&] { return created_after_back > 0; });
  stop = true;
  for (auto& t : ts) t.join();
  EXPECT_TRUE(issuing) << "the clients issued nothing in " << kPhase.count() << " s";
  EXPECT_TRUE(refusing) << "no request refused in " << kPhase.count() << " s without the token";
  EXPECT_TRUE(resumed) << "no licence issued in " << kPhase.count() << " s after the token came back"
                       << certd.log();
  EXPECT_EQ(during.status, 503) << during.error;
  EXPECT_TRUE(other.empty()) << other.size() << ": " << other.front();
  EXPECT_GT(refused, 0);
  const Issued after = issue(c, key, "after-move");
  EXPECT_EQ(after.status, 201) << after.error << certd.log();
  if (after.status == 201) ++created;
  // Every licence row is one the client was told about (201); a refusal wrote nothing.
  EXPECT_EQ(count(certd.store(), "SELECT COUNT(*) FROM licences"), created);
  const std::int64_t voided =
      count(certd.store(), "SELECT COUNT(*) FROM audit_log WHERE action = 'licence.void'");
  std::string names;
  for (const auto& f : faults) {
    names += f + " ";
    // A token whose files vanished is absent, or its key gone, or the device failing: never a
    // PIN problem (the PIN did not change) and never an unnamed fault.
    EXPECT_TRUE(f == "token-absent" || f == "key-not-found" || f == "device") << f;
  }
  std::cout << "token moved away under load: " << created << " issued, " << refused
            << " refused with 503 token-unavailable (" << names << "), " << voided
            << " serial(s) voided\n";

  // The key deleted at runtime (by OpenSC's pkcs11-tool, another process): key-not-found,
  // nothing written; a new version generated in the token brings issuing back.
  const auto del = hsm.tool("seals", "--delete-object --type privkey --label " + inst.seal_label);
  ASSERT_EQ(del.exit_code, 0) << del.out;
  const std::int64_t licences_before = count(certd.store(), "SELECT COUNT(*) FROM licences");
  expect_fault(issue(c, key, "deleted-1"), "key-not-found");
  EXPECT_EQ(count(certd.store(), "SELECT COUNT(*) FROM licences"), licences_before);
  const std::string admin = certd.make_key("admin");
  EXPECT_EQ(rotate(c, admin, certd.store()), 2);
  const Issued back = issue(c, key, "deleted-2");
  EXPECT_EQ(back.status, 201) << back.error;
  EXPECT_EQ(back.body["seal"]["version"], "2");
  EXPECT_EQ(certd.stop(), 0);
}

}  // namespace
