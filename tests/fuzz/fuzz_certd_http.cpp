// fuzz_certd_http — certd's whole request path without sockets (issue 10): a raw HTTP/1.1 request
// (request line, headers, body) is split the way cpp-httplib would hand it over (server.cpp
// to_request: method, percent-decoded path, query parameters, headers, body) and dispatched by
// certd::App::handle against a real SQLite registry in a temporary directory, the real template
// set, seal keys and trust anchor (keys-example). Two principals exist with fixed keys the seeds
// use: an admin (lic_aaaa…) and a samr department key (lic_bbbb…).
//
// Invariants: handle() returns (it promises never to throw); no response is a 500 (an internal
// error is a bug: bad input must be a 4xx, overload a 503); a problem response is problem+json
// whose "status" equals the HTTP status; every response carries an X-Request-Id; no response body
// or log line contains an API key.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

namespace {

const std::string kAdminKey = "lic_" + std::string(52, 'a');
const std::string kSamrKey = "lic_" + std::string(52, 'b');

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "METHOD TARGET VERSION\r\n" headers "\r\n" body — lenient (LF or CRLF), as the fuzz data comes.
certd::HttpRequest parse_request(std::string_view in) {
  certd::HttpRequest r;
  r.remote_addr = "127.0.0.1";
  auto take_line = [&in]() {
    const auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const std::string_view start = take_line();
  const auto sp1 = start.find(' ');
  r.method = std::string(start.substr(0, sp1));
  std::string_view target =
      sp1 == std::string_view::npos ? std::string_view() : start.substr(sp1 + 1);
  target = target.substr(0, target.find(' '));
  const auto q = target.find('?');
  r.path = percent_decode(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      const auto amp = qs.find('&');
      const std::string_view kv = qs.substr(0, amp);
      const auto eq = kv.find('=');
      r.query.emplace(percent_decode(kv.substr(0, eq)),
                      eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1)));
      qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    }
  }
  for (;;) {
    if (in.empty()) break;
    const std::string_view line = take_line();
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
  }
  r.body = std::string(in);
  return r;
}

// Everything the App needs, built once per process (a fuzzer run shares one registry).
struct World {
  std::filesystem::path dir;
  certd::Config config;
  libcert::FixedClock clock{1780272000};  // 2026-06-01
  libcert::SeededRng rng{10};
  std::unique_ptr<certd::Store> store;
  libcert::TemplateSet templates;
  libcert::TrustStore trust;
  libcert::TrustBundle seals;
  std::unique_ptr<certd::SealKeys> seal_keys;
  std::mutex log_mu;
  std::string last_log;
  std::unique_ptr<certd::App> app;

  World()
      : dir(make_dir()),
        store(certd::open_store((dir / "registry.db").string())),
        templates(libcert::TemplateSet::load(LIBCERT_SOURCE_DIR "/templates")),
        seals(certd::load_seal_bundle(templates, LIBCERT_SOURCE_DIR "/keys-example", clock.now())) {
    config.limits.verify_per_minute = 1000000;
    config.limits.verify_burst = 1000000;
    config.limits.auth_failures_per_minute = 100000;
    trust.add_path(LIBCERT_SOURCE_DIR "/keys-example/root/root.crt");
    const certd::Actor by{"fuzz", ""};
    // The production issuing path: seal key versions in the registry (the keys-example seals
    // imported as version 1), sealed through certd's issuance service.
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
    add(kSamrKey, "samr", certd::department_scopes());
    certd::Services s;
    s.config = &config;
    s.store = store.get();
    s.clock = &clock;
    s.rng = &rng;
    s.templates = &templates;
    s.seal_keys = seal_keys.get();
    s.trust = &trust;
    s.seals = &seals;
    s.log = [this](const std::string& line) {
      std::lock_guard l(log_mu);
      last_log = line;
    };
    app = std::make_unique<certd::App>(s);
  }
  ~World() {
    app.reset();
    seal_keys.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  static std::filesystem::path make_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "fuzz_certd_http.XXXXXX").string();
    if (mkdtemp(t.data()) == nullptr) std::abort();
    return t;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const certd::HttpRequest req = parse_request(raw);
  // handle() promises never to throw: anything escaping it, even libcert::Error, is a bug.
  bool returned = false;
  certd::HttpResponse r;
  fuzz::run([&] {
    r = world.app->handle(req);
    returned = true;
  });
  fuzz::require(returned, "App::handle threw");
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "%s %s -> %d %.200s\n", req.method.c_str(), req.path.c_str(), r.status,
                 r.body.c_str());
  fuzz::require(r.status >= 200 && r.status <= 599, "status outside 200..599");
  if (r.status == 500)
    std::fprintf(stderr, "500: %s\nlog: %s\n", r.body.c_str(), world.last_log.c_str());
  fuzz::require(r.status != 500, "internal error (500) for a request");
  bool has_id = false;
  for (const auto& [k, v] : r.headers) has_id = has_id || k == "X-Request-Id";
  fuzz::require(has_id, "response without X-Request-Id");
  if (r.content_type == "application/problem+json") {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    fuzz::require(j.is_object() && j.value("status", 0) == r.status,
                  "problem+json body does not parse or names another status");
  }
  // A key the request itself carries outside its credentials (say in the path, which a problem
  // names as "instance") may come back; one that was only a credential must not.
  std::string elsewhere = req.method + req.path + req.body;
  for (const auto& [k, v] : req.query) elsewhere += k + v;
  for (const auto& [k, v] : req.headers) {
    if (req.header("Authorization") != v && req.header("X-Api-Key") != v) elsewhere += k + v;
  }
  for (const auto* key : {&kAdminKey, &kSamrKey}) {
    if (elsewhere.find(*key) != std::string::npos) continue;
    fuzz::require(r.body.find(*key) == std::string::npos, "an API key in a response body");
    fuzz::require(world.last_log.find(*key) == std::string::npos, "an API key in the log");
  }
  return 0;
}
