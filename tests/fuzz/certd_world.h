// certd_world.h — certd as the fuzz_certd_* targets drive it: App::handle over a real SQLite
// registry in a temporary directory, the real template set, the keys-example seal keys imported as
// registry version 1 (the production issuing path: registry, issuance service, seal keys) and the
// keys-example trust anchor. Built once per process; a fuzzer run shares one registry.
//
//   static fuzz::CertdWorld world("fuzz_certd_http");
//   certd::HttpResponse r = world.handle(request);   // App::handle; aborts if it throws
//
// Fixed API keys: fuzz::kAdminKey (admin scopes), and one department key per department of the
// template set (dept_key("samr") == fuzz::kSamrKey, the one the seeds use).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app.h"
#include "auth.h"
#include "fuzz_support.h"
#include "libcert/clock.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "seal_keys.h"
#include "seals.h"
#include "store.h"

namespace fuzz {

inline const std::string kAdminKey = "lic_" + std::string(52, 'a');
inline const std::string kSamrKey = "lic_" + std::string(52, 'b');

struct CertdWorld {
  std::filesystem::path dir;
  certd::Config config;
  libcert::FixedClock clock{1780272000};  // 2026-06-01
  libcert::SeededRng rng{10};
  std::unique_ptr<certd::Store> store;
  libcert::TemplateSet templates;
  libcert::TrustStore trust;
  libcert::TrustStore ofd_trust;  // the SM2 seal root: OFD uploads reach verify_ofd
  libcert::TrustBundle seals;
  std::unique_ptr<certd::SealKeys> seal_keys;
  std::map<std::string, std::string> dept_keys;  // department id → API key
  std::mutex log_mu;
  std::string last_log;
  std::unique_ptr<certd::App> app;

  explicit CertdWorld(const std::string& name)
      : dir(make_dir(name)),
        store(certd::open_store((dir / "registry.db").string())),
        templates(libcert::TemplateSet::load(LIBCERT_SOURCE_DIR "/templates")),
        seals(certd::load_seal_bundle(templates, LIBCERT_SOURCE_DIR "/keys-example", clock.now())) {
    config.limits.verify_per_minute = 1000000;
    config.limits.verify_burst = 1000000;
    config.limits.auth_failures_per_minute = 100000;
    trust.add_path(LIBCERT_SOURCE_DIR "/keys-example/root/root.crt");
    ofd_trust.add_path(LIBCERT_SOURCE_DIR "/keys-example/sm2/root.crt");
    const certd::Actor by{"fuzz", ""};
    certd::SealKeyOptions sko;
    sko.keys_dir = LIBCERT_SOURCE_DIR "/keys-example";
    sko.seal_key_dir = (dir / "seal-keys").string();
    seal_keys = std::make_unique<certd::SealKeys>(*store, templates, sko, &rng);
    (void)seal_keys->bootstrap(clock.now(), by);
    auto add = [&](const std::string& key, std::optional<std::string> dept,
                   std::vector<std::string> scopes) {
      certd::NewPrincipal p;
      p.department = std::move(dept);
      p.scopes = std::move(scopes);
      p.label = "fuzz";
      p.key_prefix = key.substr(0, 12);
      p.key_sha256 = certd::sha256_hex(key);
      (void)store->create_principal(p, clock.now(), by);
    };
    add(kAdminKey, std::nullopt, certd::admin_scopes());
    // samr keeps the key the seeds use; the other departments get c…, d…, in id order.
    dept_keys["samr"] = kSamrKey;
    char letter = 'c';
    for (const auto& id : templates.ids()) {
      const std::string dept = templates.get(id)->department().id;
      if (dept_keys.count(dept) == 0) dept_keys[dept] = "lic_" + std::string(52, letter++);
    }
    for (const auto& [dept, key] : dept_keys) add(key, dept, certd::department_scopes());
    certd::Services s;
    s.config = &config;
    s.store = store.get();
    s.clock = &clock;
    s.rng = &rng;
    s.templates = &templates;
    s.seal_keys = seal_keys.get();
    s.trust = &trust;
    s.ofd_trust = &ofd_trust;
    s.seals = &seals;
    s.log = [this](const std::string& line) {
      std::lock_guard l(log_mu);
      last_log = line;
    };
    app = std::make_unique<certd::App>(s);
  }
  ~CertdWorld() {
    app.reset();
    seal_keys.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  CertdWorld(const CertdWorld&) = delete;
  CertdWorld& operator=(const CertdWorld&) = delete;

  // App::handle, which promises never to throw: anything escaping it, even libcert::Error, is a
  // bug (abort). FUZZ_VERBOSE=1 prints each request line and answer.
  certd::HttpResponse handle(const certd::HttpRequest& req) {
    bool returned = false;
    certd::HttpResponse r;
    fuzz::run([&] {
      r = app->handle(req);
      returned = true;
    });
    fuzz::require(returned, "App::handle threw");
    static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
    if (verbose) {
      std::fprintf(stderr, "%s %s -> %d %.200s\n", req.method.c_str(), req.path.c_str(), r.status,
                   r.body.c_str());
    }
    return r;
  }

  [[nodiscard]] const std::string& dept_key(const std::string& dept) const {
    return dept_keys.at(dept);
  }

  static std::filesystem::path make_dir(const std::string& name) {
    std::string t = (std::filesystem::temp_directory_path() / (name + ".XXXXXX")).string();
    if (mkdtemp(t.data()) == nullptr) std::abort();
    return t;
  }
};

}  // namespace fuzz
