// certd — the licence issuance and verification daemon. See docs/service.md and README.md.
//
//   certd [--config FILE] [--listen ADDR] [--port N] [--store PATH] [--templates DIR]
//         [--keys DIR] [--web DIR] [--port-file PATH]
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app.h"
#include "audit.h"
#include "bundle.h"
#include "config.h"
#include "libcert/error.h"
#include "libcert/issuer.h"  // tune_allocator_for_issuing
#include "seal_keys.h"
#include "libcert/template.h"
#include "libcert/roles.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "seals.h"
#include "server.h"
#include "sqlite.h"
#include "store.h"
#include "tsa_service.h"

namespace {

void log_line(const std::string& line) {
  static std::mutex mu;
  std::lock_guard l(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

int usage() {
  std::cerr << "usage: certd [--config FILE] [--listen ADDR] [--port N] [--store PATH]\n"
               "             [--templates DIR] [--keys DIR] [--web DIR] [--port-file PATH]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists: SIGINT/SIGTERM/SIGHUP are taken by serve() alone (a SIGHUP
  // during start-up waits instead of killing certd), SIGPIPE/SIGXFSZ are ignored (server.h).
  certd::block_stop_signals();
  libcert::tune_allocator_for_issuing();
  std::string config_path, port_file;
  std::map<std::string, std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage() == 2 ? 0 : 0;
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--config") {
      config_path = v;
    } else if (a == "--port-file") {
      port_file = v;
    } else if (a == "--listen" || a == "--port" || a == "--store" || a == "--templates" ||
               a == "--keys" || a == "--web") {
      overrides[a] = v;
    } else {
      std::cerr << "certd: unknown option " << a << "\n";
      return usage();
    }
  }
  try {
    // Command-line options win over the environment, which wins over the file.
    const auto process_env = certd::Config::process_env();
    const certd::Config::Env env = [&](const char* name) -> std::optional<std::string> {
      static const std::map<std::string, std::string> kFlag = {
          {"CERTD_LISTEN", "--listen"},       {"CERTD_PORT", "--port"}, {"CERTD_STORE", "--store"},
          {"CERTD_TEMPLATES", "--templates"}, {"CERTD_KEYS", "--keys"}, {"CERTD_WEB", "--web"}};
      if (auto f = kFlag.find(name); f != kFlag.end()) {
        if (auto o = overrides.find(f->second); o != overrides.end()) return o->second;
      }
      return process_env(name);
    };
    const certd::Config config = certd::Config::load(config_path, env);

    // Before anything reads a private key: keys others may read are refused (issue 10).
    certd::check_private_key_modes(config.keys, {config.tls_key});
    libcert::SystemClock clock;
    libcert::SystemRng rng;
    certd::StoreOptions so;
    so.status_list_size = config.status_list_size;
    // An issuance reserved but not committed within the idempotency lease is abandoned (its
    // process died): the client may already retry under the same key, so the serial is voided.
    so.reservation_lease_s = config.idempotency_lease_s;
    auto store = certd::open_store(config.store, so);
    // Serials a crashed certd reserved and never committed become licence.void audit rows.
    const std::int64_t voided = store->void_abandoned_reservations(clock.now());

    // Templates, seal certificates and the trust anchor are loaded once; a broken template set or
    // key directory stops the start-up with the file and rule that failed.
    const libcert::TemplateSet templates = libcert::TemplateSet::load(config.templates);
    libcert::TrustStore trust;
    trust.add_path(config.keys + "/root/root.crt");
    // The URL policy every bundle carries (signed): QRs printed for this certd's qr_host.
    const libcert::BundlePolicy qr_policy = libcert::BundlePolicy::for_host(config.qr_host);
    const libcert::TrustBundle seals = [&] {
      libcert::TrustBundle b = certd::load_seal_bundle(templates, config.keys, clock.now());
      b.policy = qr_policy;
      return b;
    }();

    // Seal key versions live in the registry (issue 7); the keys-example seals become version 1
    // of their department the first time this registry starts.
    certd::SealKeyOptions sko;
    sko.keys_dir = config.keys;
    sko.seal_key_dir = config.seal_key_dir;
    sko.refuse_days = config.seal_refuse_days;
    sko.warn_days = config.seal_warn_days;
    sko.policy = qr_policy;
    certd::SealKeys seal_keys(*store, templates, sko, &rng);
    const int imported = seal_keys.bootstrap(clock.now(), {"certd", "startup"});
    // Signed audit checkpoints need the audit key; without it the log is still written and
    // verifiable, only the checkpoint/proof routes answer 503.
    std::string audit_key_path =
        config.audit_key.empty() ? config.keys + "/audit/audit.key" : config.audit_key;
    std::string origin = config.audit_origin;
    if (origin.empty()) {
      for (char c : config.qr_host)
        origin += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      origin += "/audit";
    }
    std::unique_ptr<certd::AuditLog> audit;
    if (std::filesystem::exists(audit_key_path)) {
      std::ifstream in(audit_key_path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      audit = std::make_unique<certd::AuditLog>(*store, origin, ss.str());
    }

    // The trust bundle for offline verifiers is signed with the bundle key (keys/bundle, issued
    // by the root); without it GET /v1/trust-bundle answers 503 and everything else works.
    std::unique_ptr<certd::BundlePublisher> bundle;
    const std::string bundle_dir = config.keys + "/bundle";
    if (std::filesystem::exists(bundle_dir + "/bundle.crt") &&
        std::filesystem::exists(bundle_dir + "/bundle.key")) {
      std::ifstream kin(bundle_dir + "/bundle.key", std::ios::binary);
      std::stringstream key_pem;
      key_pem << kin.rdbuf();
      bundle = std::make_unique<certd::BundlePublisher>(
          seals, certd::read_pem_certificate_der(bundle_dir + "/bundle.crt"),
          libcert::digest_signer_from_pem(key_pem.str()), config.status_list_size);
    }

    // The time-stamping authority (RFC 3161, POST /v1/tsa): keys/tsa, its genTime kept monotonic
    // across instances by the registry; without the key the route answers 503.
    certd::StoreTsaClockState tsa_state(*store);
    std::unique_ptr<libcert::TimeStampAuthority> tsa;
    if (std::filesystem::exists(config.keys + "/tsa/tsa.key") &&
        std::filesystem::exists(config.keys + "/tsa/tsa.crt")) {
      libcert::TsaOptions to;
      to.clock = &clock;
      to.rng = &rng;
      to.state = &tsa_state;
      tsa = std::make_unique<libcert::TimeStampAuthority>(libcert::TimeStampAuthority::from_files(
          config.keys + "/tsa/tsa.key", config.keys + "/tsa/tsa.crt", {}, to));
    }

    certd::Services s;
    s.tsa = tsa.get();
    // The page's pins (Services::page_bundle_pins): the pins file beside the bundle key, else the
    // key certd signs with. A pins file that does not parse stops the start-up.
    if (std::filesystem::exists(bundle_dir + "/pins.txt")) {
      std::ifstream pin(bundle_dir + "/pins.txt", std::ios::binary);
      std::stringstream pins;
      pins << pin.rdbuf();
      s.page_bundle_pins = libcert::read_pins(pins.str());
    } else if (bundle) {
      s.page_bundle_pins = {
          libcert::spki_sha256(certd::read_pem_certificate_der(bundle_dir + "/bundle.crt"))};
    }
    s.page_root_der = seals.root_der;
    if (bundle) bundle->use_seal_versions(&seal_keys);
    s.bundle = bundle.get();
    s.seal_keys = &seal_keys;
    s.audit = audit.get();
    s.templates = &templates;
    s.trust = &trust;
    s.seals = &seals;
    s.config = &config;
    s.store = store.get();
    s.clock = &clock;
    s.rng = &rng;
    s.log = log_line;
    certd::App app(s);
    // Scheduled checkpoints (service.md): stopped and joined before the store closes.
    std::unique_ptr<certd::AuditCheckpointer> checkpointer;
    if (audit) {
      certd::AuditCheckpointer::Options co;
      co.every_entries = config.audit_checkpoint_every_entries;
      co.every_seconds = config.audit_checkpoint_every_seconds;
      checkpointer = std::make_unique<certd::AuditCheckpointer>(
          *audit, *store, clock, co, [](const std::string& e) {
            log_line(nlohmann::json{{"level", "warn"}, {"msg", e}}.dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace));
          });
    }
    log_line(nlohmann::json{
        {"level", "info"},
        {"msg", "registry open"},
        {"schema_version", store->schema_version()},
        {"seal_versions_imported", imported},
        {"abandoned_reservations_voided", voided},
        {"audit_checkpoints", audit ? origin : std::string("disabled (no audit key)")},
        {"audit_checkpoint_every",
         audit ? std::to_string(config.audit_checkpoint_every_entries) + " entries or " +
                     std::to_string(config.audit_checkpoint_every_seconds) + " s"
               : std::string("-")}}
                 .dump());
    // SIGHUP re-reads the same file with the same overrides (server.h says what it applies).
    const auto reload = [&] {
      certd::Config next = certd::Config::load(config_path, env);
      certd::check_private_key_modes(next.keys, {next.tls_key});
      return next;
    };
    return certd::serve(config, app, port_file, log_line, reload);
  } catch (const libcert::Error& e) {
    log_line(
        nlohmann::json{{"level", "error"}, {"msg", "start-up failed"}, {"error", e.what()}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 1;
  } catch (const certd::RegistryError& e) {
    log_line(
        nlohmann::json{{"level", "error"}, {"msg", "registry failed"}, {"error", e.what()}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 1;
  }
}
