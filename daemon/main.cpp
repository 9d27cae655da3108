// certd — the licence issuance and verification daemon. See docs/service.md and README.md.
//
//   certd [--config FILE] [--listen ADDR] [--port N] [--store PATH] [--templates DIR]
//         [--keys DIR] [--web DIR] [--seal-key-dir DIR] [--port-file PATH] [--check-config]
#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "app.h"
#include "audit.h"
#include "bundle.h"
#include "config.h"
#include "libcert/error.h"
#include "libcert/example_keys.h"
#include "libcert/issuer.h"  // tune_allocator_for_issuing
#include "libcert/ofd_writer.h"
#include "libcert/pkcs11.h"
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
#include "crl_service.h"

namespace {

// The key states of the departments' SM2 (OFD) seals for POST /v1/verify (issue 22). SM2 seals are
// configured files (<keys>/sm2/seals/<dept>/seal.crt, docs/ofd.md), not registry versions: each
// certificate found there is an active key, version "sm2", without a usage window — its chain,
// role, department binding and the seal's own validity are still checked by verify_ofd. A seal
// that is not listed there is unknown (UNKNOWN-SIGNER through "key-state").
class Sm2SealKeys final : public libcert::SealKeyDirectory {
 public:
  explicit Sm2SealKeys(const std::string& keys_dir) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(keys_dir) / "sm2" / "seals";
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const auto crt = e.path() / "seal.crt";
      if (!std::filesystem::is_regular_file(crt, ec)) continue;
      std::ifstream in(crt, std::ios::binary);
      std::ostringstream pem;
      pem << in.rdbuf();
      known_.insert(certd::sha256_hex(libcert::certificate_der_from_pem(pem.str())));
    }
  }
  [[nodiscard]] std::optional<libcert::SealKeyState> lookup(
      std::string_view cert_sha256) const override {
    if (known_.count(std::string(cert_sha256)) == 0) return std::nullopt;
    libcert::SealKeyState st;
    st.version = "sm2";
    st.state = libcert::SealKeyState::State::kActive;
    return st;
  }

 private:
  std::set<std::string> known_;
};

void log_line(const std::string& line) {
  static std::mutex mu;
  std::lock_guard l(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

constexpr const char* kUsage =
    "usage: certd [--config FILE] [--listen ADDR] [--port N] [--store PATH] [--templates DIR]\n"
    "             [--keys DIR] [--web DIR] [--seal-key-dir DIR] [--port-file PATH]\n"
    "       certd --check-config [--config FILE] [options as above]\n"
    "       certd --help | --version\n"
    "Options take their value as --opt VALUE or --opt=VALUE. Without --config, $CERTD_CONFIG names\n"
    "the file; without either only the environment (CERTD_*) and the defaults apply: templates and\n"
    "web files in /usr/share/certd, keys in /etc/certd/keys, the registry and runtime keys in\n"
    "/var/lib/certd (certd.json(5)).\n";

int usage() {
  std::cerr << kUsage;
  return 2;
}

// What --check-config checks beyond parsing (certd(8)): every path certd reads at start is there
// and readable, private keys are 0600, the templates load. Nothing is created or written.
void check_config(const certd::Config& config) {
  certd::check_private_key_modes(config.keys, {config.tls_key});
  (void)libcert::TemplateSet::load(config.templates);
  libcert::TrustStore trust;
  trust.add_path(config.keys + "/root/root.crt");
  if (!config.web.empty() && !std::filesystem::is_directory(config.web)) {
    throw libcert::Error(libcert::ErrorCode::kIo, "web: " + config.web + " is not a directory");
  }
  if (config.store.find("://") == std::string::npos) {
    const auto dir = std::filesystem::absolute(config.store).parent_path();
    if (!std::filesystem::is_directory(dir)) {
      throw libcert::Error(libcert::ErrorCode::kIo,
                           "store: the registry's directory " + dir.string() + " does not exist");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Files certd creates (the registry and its -wal/-shm, new seal keys) are the service user's
  // alone (issue 18: registry 0600 in a 0700 directory), whatever umask it was started with.
  ::umask(077);
  // First, before any thread exists: SIGINT/SIGTERM/SIGHUP are taken by serve() alone (a SIGHUP
  // during start-up waits instead of killing certd), SIGPIPE/SIGXFSZ are ignored (server.h).
  certd::block_stop_signals();
  libcert::tune_allocator_for_issuing();
  std::string config_path, port_file;
  bool check_only = false;
  std::map<std::string, std::string> overrides;
  {
    // Parsing is CLI11's (Debian libcli11-dev; `--opt value` and `--opt=value`, specific errors),
    // as certctl's; the usage text stays ours (kUsage, the man page's source).
    CLI::App app;
    app.set_help_flag();
    app.allow_windows_style_options(false);
    bool help = false, version = false;
    app.add_flag("-h,--help", help);
    app.add_flag("--version", version);
    app.add_flag("--check-config", check_only);
    app.add_option("--config", config_path)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--port-file", port_file)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    std::map<std::string, std::string> given;
    std::vector<std::pair<std::string, CLI::Option*>> opts;
    for (const char* name :
         {"--listen", "--port", "--store", "--templates", "--keys", "--web", "--seal-key-dir"}) {
      opts.emplace_back(name, app.add_option(name, given[name])
                                  ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast));
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      std::cerr << "certd: " << e.what() << "\n";
      return usage();
    }
    if (help) {
      std::cout << kUsage;
      return 0;
    }
    if (version) {
      std::cout << "certd " << LIBCERT_VERSION << "\n";
      return 0;
    }
    for (const auto& [name, opt] : opts) {
      if (opt->count() > 0) overrides[name] = given[name];
    }
  }
  if (config_path.empty()) {
    if (const char* c = std::getenv("CERTD_CONFIG"); c != nullptr) config_path = c;
  }
  try {
    // Command-line options win over the environment, which wins over the file.
    const auto process_env = certd::Config::process_env();
    const certd::Config::Env env = [&](const char* name) -> std::optional<std::string> {
      static const std::map<std::string, std::string> kFlag = {
          {"CERTD_LISTEN", "--listen"},       {"CERTD_PORT", "--port"}, {"CERTD_STORE", "--store"},
          {"CERTD_TEMPLATES", "--templates"}, {"CERTD_KEYS", "--keys"}, {"CERTD_WEB", "--web"},
          {"CERTD_SEAL_KEY_DIR", "--seal-key-dir"}};
      if (auto f = kFlag.find(name); f != kFlag.end()) {
        if (auto o = overrides.find(f->second); o != overrides.end()) return o->second;
      }
      return process_env(name);
    };
    const certd::Config config = certd::Config::load(config_path, env);
    if (check_only) {
      check_config(config);
      std::cout << "certd: configuration OK"
                << (config_path.empty() ? std::string(" (defaults and environment)")
                                        : " (" + config_path + ")")
                << (libcert::is_example_keys_dir(config.keys)
                        ? "; " + std::string(libcert::kExampleKeysNotice)
                        : std::string())
                << "\n";
      return 0;
    }

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
    // OFD verification (issue 22): the SM2 seal root, when the keys directory has one.
    libcert::TrustStore ofd_trust;
    const bool has_sm2 = std::filesystem::is_regular_file(config.keys + "/sm2/root.crt");
    if (has_sm2) ofd_trust.add_path(config.keys + "/sm2/root.crt");
    const Sm2SealKeys ofd_keys(config.keys);
    // The departments' GB/T 38540 seals for OFD renditions (docs/ofd.md): without any, a request
    // for an OFD answers 503 ofd-unavailable before a serial is taken; a seal that is present but
    // broken stops certd here, naming it.
    std::optional<libcert::OfdSealKeyring> ofd_seals;
    if (std::filesystem::is_directory(config.keys + "/sm2/seals")) {
      try {
        ofd_seals.emplace(libcert::OfdSealKeyring::load_dir(config.keys));
      } catch (const libcert::Error& e) {
        if (e.code() != libcert::ErrorCode::kNotFound) throw;
      }
    }
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
    sko.issuing_ca_cert = config.issuing_ca_cert;
    sko.issuing_ca_key = config.issuing_ca_key;
    sko.policy = qr_policy;
    if (!config.seal_token.empty()) {
      (void)libcert::pkcs11::Uri::parse(config.seal_token);  // a bad URI stops the start-up
      sko.token = config.seal_token;
    }
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
    if (libcert::pkcs11::Uri::is_uri(audit_key_path)) {
      // The checkpoint key in a token (Ed25519, CKM_EDDSA): its own slot and PIN (trust.md).
      auto key = std::make_shared<libcert::pkcs11::Key>(libcert::pkcs11::Uri::parse(audit_key_path));
      certd::NoteSigner ns;
      ns.public_raw = [key] {
        const std::string spki = key->public_key_spki();  // Ed25519 SPKI: the key is its tail
        return spki.substr(spki.size() - 32);
      };
      ns.sign = [key](std::string_view text) { return key->sign_message(text); };
      audit = std::make_unique<certd::AuditLog>(*store, origin, std::move(ns));
    } else if (std::filesystem::exists(audit_key_path)) {
      std::ifstream in(audit_key_path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      audit = std::make_unique<certd::AuditLog>(*store, origin, ss.str());
    }

    // The trust bundle for offline verifiers is signed with the bundle key (keys/bundle, issued
    // by the root); without it GET /v1/trust-bundle answers 503 and everything else works.
    std::unique_ptr<certd::BundlePublisher> bundle;
    const std::string bundle_dir = config.keys + "/bundle";
    // bundle.crt is a full chain (signer + issuing CA): both go into the bundle's x5chain.
    const auto bundle_chain_der = [&bundle_dir] {
      std::ifstream in(bundle_dir + "/bundle.crt", std::ios::binary);
      std::stringstream pem;
      pem << in.rdbuf();
      return libcert::certificate_chain_der_from_pem(pem.str());
    };
    if (libcert::pkcs11::Uri::is_uri(config.bundle_key)) {
      // The bundle signer in a token of its own, so the issuing path (seal token) cannot sign
      // bundles (trust.md); its certificate stays <keys>/bundle/bundle.crt.
      auto key =
          std::make_shared<libcert::pkcs11::Key>(libcert::pkcs11::Uri::parse(config.bundle_key));
      bundle = std::make_unique<certd::BundlePublisher>(
          seals, bundle_chain_der(),
          [key](std::span<const std::uint8_t> d) { return key->sign_digest(d); },
          config.status_list_size);
    } else if (!config.bundle_key.empty()) {
      throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                           "config bundle_key: expected a pkcs11: URI");
    } else if (std::filesystem::exists(bundle_dir + "/bundle.crt") &&
               std::filesystem::exists(bundle_dir + "/bundle.key")) {
      std::ifstream kin(bundle_dir + "/bundle.key", std::ios::binary);
      std::stringstream key_pem;
      key_pem << kin.rdbuf();
      bundle = std::make_unique<certd::BundlePublisher>(
          seals, bundle_chain_der(),
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

    // The issuing CA's CRL (GET /v1/crl, docs/crl.md): with its certificate and key (a PEM file
    // or a pkcs11: URI — the CA may live in certd's token, trust.md); else that route answers 503.
    std::unique_ptr<certd::CrlService> crl;
    {
      const std::string ca_crt = config.issuing_ca_cert.empty() ? config.keys + "/ca/issuing-ca.crt"
                                                                : config.issuing_ca_cert;
      const std::string ca_key = config.issuing_ca_key.empty() ? config.keys + "/ca/issuing-ca.key"
                                                               : config.issuing_ca_key;
      libcert::DigestSigner ca_sign;
      if (libcert::pkcs11::Uri::is_uri(ca_key)) {
        auto key = std::make_shared<libcert::pkcs11::Key>(libcert::pkcs11::Uri::parse(ca_key));
        ca_sign = [key](std::span<const std::uint8_t> d) { return key->sign_digest(d); };
      } else if (std::filesystem::exists(ca_key)) {
        std::ifstream kin(ca_key, std::ios::binary);
        std::stringstream key_pem;
        key_pem << kin.rdbuf();
        ca_sign = libcert::digest_signer_from_pem(key_pem.str());
      }
      if (ca_sign && std::filesystem::exists(ca_crt)) {
        crl = std::make_unique<certd::CrlService>(
            *store, certd::read_pem_certificate_der(ca_crt), std::move(ca_sign), clock,
            config.crl_period_s);
      }
    }

    certd::Services s;
    s.crl = crl.get();
    // B-LT/B-LTA: the DSS gets the issuing CA's current CRL (the chains come from the seal's CMS
    // and its time-stamp token); read at each issuance, cached by the CRL service.
    if (crl) {
      s.validation_data = [c = crl.get()] {
        libcert::ValidationData vd;
        vd.crls_der.push_back(c->current_der());
        return vd;
      };
    }
    s.example_keys = libcert::is_example_keys_dir(config.keys);
    if (s.example_keys) {
      log_line(nlohmann::json{{"level", "warn"},
                              {"msg", std::string(libcert::kExampleKeysNotice)},
                              {"keys", config.keys}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
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
    if (has_sm2) s.ofd_trust = &ofd_trust;
    s.ofd_keys = &ofd_keys;
    if (ofd_seals) s.ofd_seals = &*ofd_seals;
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
  } catch (const std::system_error& e) {
    // std::filesystem errors of the start-up (a path of the configuration that cannot be used).
    log_line(
        nlohmann::json{{"level", "error"}, {"msg", "start-up failed"}, {"error", e.what()}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 1;
  }
}
