// certctl seal — the seal key lifecycle on a registry file (docs/service.md "Seal key versions"):
// the same operations as certd's /v1/seals routes, for an administrator on the server host (as
// `certctl keys`). certd picks the active version inside every issuing transaction, so a rotation
// done here takes effect for the next licence without restarting certd.
// Compiled into certctl by daemon/CMakeLists.txt (only when certd_core is built).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/pkcs11.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "seal_keys.h"
#include "sqlite.h"
#include "store.h"

namespace {

using certctl::Options;
using certctl::UsageError;

std::int64_t now() { return libcert::SystemClock().now(); }

const certd::Actor kBy{"certctl", ""};

std::int64_t parse_version(const Options& o) {
  const std::string v = o.require("--version");
  return certctl::parse_int(v, "--version", 1, 999999999);
}

// "2026-11-22T10:00:00Z" or Unix seconds.
std::int64_t parse_time(const std::string& t, const char* what) {
  std::tm tm{};
  const char* end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end != nullptr && *end == '\0') return static_cast<std::int64_t>(timegm(&tm));
  bool digits = !t.empty() && t.size() <= 12;
  for (char c : t) digits = digits && c >= '0' && c <= '9';
  if (digits) return std::stoll(t);
  throw UsageError(std::string(what) + ": expected YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix seconds");
}

std::string iso(const std::optional<std::int64_t>& t) {
  return t ? libcert::rfc3339(*t) : "-";
}

nlohmann::json view(const certd::SealKeyVersion& v) {
  auto opt = [](const std::optional<std::int64_t>& t) {
    return t ? nlohmann::json(*t) : nlohmann::json();
  };
  nlohmann::json j = {{"department", v.department},
                      {"version", v.version},
                      {"state", v.state},
                      {"key_ref", v.key_ref},
                      {"cert_sha256", v.cert_sha256},
                      {"not_before", opt(v.not_before)},
                      {"not_after", opt(v.not_after)},
                      {"created_at", v.created_at},
                      {"activated_at", opt(v.activated_at)},
                      {"retired_at", opt(v.retired_at)},
                      {"revoked_at", opt(v.revoked_at)},
                      {"compromised_at", opt(v.compromised_at)}};
  if (v.reason) j["reason"] = *v.reason;
  return j;
}

void print(const certd::SealKeyVersion& v, bool json) {
  if (json) {
    std::cout << view(v).dump() << "\n";
    return;
  }
  std::cout << v.department << " v" << v.version << "  " << v.state << "  cert "
            << (v.cert_sha256.empty() ? std::string("(none)") : v.cert_sha256.substr(0, 16) + "…")
            << "  valid " << iso(v.not_before) << " .. " << iso(v.not_after) << "  active "
            << iso(v.activated_at) << " .. " << iso(v.retired_at);
  if (v.compromised_at) std::cout << "  COMPROMISED AT " << iso(v.compromised_at);
  std::cout << "\n";
}

struct Ctx {
  std::unique_ptr<certd::Store> store;
  libcert::TemplateSet templates;
  std::unique_ptr<certd::SealKeys> keys;
};

Ctx open_ctx(const Options& o) {
  Ctx c{certd::open_store(o.require("--store")),
        libcert::TemplateSet::load(certctl::templates_dir(o)), nullptr};
  certd::SealKeyOptions so;
  so.keys_dir = certctl::keys_dir(o);
  so.seal_key_dir = o.get("--seal-key-dir").value_or("seal-keys");
  c.keys = std::make_unique<certd::SealKeys>(*c.store, c.templates, so);
  // The same start-up import certd does: a fresh registry has the keys-example seals as v1.
  (void)c.keys->bootstrap(now(), kBy);
  return c;
}

const std::vector<std::string_view> kCommon = {"--store",        "--templates",  "--keys",
                                               "--seal-key-dir", "--department", "--version"};

std::vector<std::string_view> with(std::vector<std::string_view> extra) {
  extra.insert(extra.end(), kCommon.begin(), kCommon.end());
  return extra;
}

int seal_create(const certctl::Args& args) {
  Options o(args, with({"--validity-days", "--csr-out", "--token"}), {"--example-ca", "--json"});
  Ctx c = open_ctx(o);
  certd::CreateSealKey how;
  how.example_ca = o.flag("--example-ca");
  if (auto t = o.get("--token")) {
    // A token URI (RFC 7512) with module-path and pin-source: the key pair is generated inside
    // the token; the PIN is read from the pin-source, never from this command line.
    try {
      (void)libcert::pkcs11::Uri::parse(*t);
    } catch (const libcert::Error& e) {
      throw UsageError(std::string("--token: ") + e.what());
    }
    how.token = *t;
  }
  if (auto d = o.get("--validity-days"))
    how.validity_days = certctl::parse_int(*d, "--validity-days", 1, 3650);
  const auto r = c.keys->create(o.require("--department"), how, now(), kBy);
  if (auto out = o.get("--csr-out")) certctl::write_file_atomic(*out, r.csr_pem);
  if (o.flag("--json")) {
    auto j = view(r.version);
    j["csr_pem"] = r.csr_pem;
    std::cout << j.dump() << "\n";
  } else {
    print(r.version, false);
    if (!o.get("--csr-out") && !how.example_ca) std::cout << r.csr_pem;
    if (how.token.empty()) {
      std::cerr << "private key written to " << r.version.key_ref << " (mode 0600)\n";
    } else {
      std::cerr << "key pair generated in the token (sensitive, not extractable): "
                << r.version.key_ref << "\n";
    }
  }
  return 0;
}

int seal_install(const certctl::Args& args) {
  Options o(args, with({"--cert"}), {"--json"});
  Ctx c = open_ctx(o);
  print(c.keys->install(o.require("--department"), parse_version(o),
                        certctl::read_file(o.require("--cert")), now(), kBy),
        o.flag("--json"));
  return 0;
}

int seal_step(const certctl::Args& args, const std::string& action) {
  Options o(args, with({"--compromised-at", "--reason"}), {"--json"});
  Ctx c = open_ctx(o);
  const std::string dept = o.require("--department");
  const std::int64_t v = parse_version(o);
  certd::SealKeyVersion out;
  if (action == "activate") {
    out = c.store->activate_seal_key(dept, v, now(), kBy);
  } else if (action == "retire") {
    out = c.store->retire_seal_key(dept, v, now(), kBy);
  } else {
    const std::int64_t t = parse_time(o.require("--compromised-at"), "--compromised-at");
    const std::string reason = o.require("--reason");
    if (t > now()) throw UsageError("--compromised-at lies in the future");
    out = c.store->revoke_seal_key(dept, v, t, reason, now(), kBy);
  }
  print(out, o.flag("--json"));
  return 0;
}

int seal_list(const certctl::Args& args) {
  Options o(args, with({}), {"--json"});
  Ctx c = open_ctx(o);
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& v : c.store->list_seal_keys(o.get("--department"))) {
    if (o.flag("--json")) {
      arr.push_back(view(v));
    } else {
      print(v, false);
    }
  }
  if (o.flag("--json")) std::cout << arr.dump() << "\n";
  return 0;
}

// The signed trust bundle for offline verifiers from the registry: every seal version that has
// sealed anything (state, usage window, compromise time, version) and one status list per
// department with the registry's revoked licences.
int seal_bundle(const certctl::Args& args) {
  Options o(args, with({"-o", "--bundle-version", "--status-bits", "--qr-host", "--bundle-key"}), {});
  Ctx c = open_ctx(o);
  const std::string out = o.require("-o");
  const std::int64_t t = now();
  const auto bits = static_cast<std::uint32_t>(
      certctl::parse_int(o.get("--status-bits").value_or("1048576"), "--status-bits", 8, 1 << 30));
  libcert::TrustBundle b = c.keys->publishable_bundle(t, bits);
  if (auto v = o.get("--bundle-version")) b.version = static_cast<std::uint64_t>(std::stoull(*v));
  // certd's qr_host: the URL prefix verifiers accept (docs/qr.md "Verifier policy").
  try {
    b.policy = libcert::BundlePolicy::for_host(o.get("--qr-host").value_or("LIC.ALI.EXAMPLE"));
  } catch (const libcert::Error& e) {  // a bad option value: usage (exit 2), not internal
    throw UsageError(std::string("--qr-host: ") + e.what());
  }
  const std::string keys = certctl::keys_dir(o);
  libcert::DigestSigner signer;
  if (auto uri = o.get("--bundle-key")) {
    // The bundle signer in its own token (docs/pkcs11.md); its certificate stays bundle.crt.
    std::shared_ptr<libcert::pkcs11::Key> key;
    try {
      key = std::make_shared<libcert::pkcs11::Key>(libcert::pkcs11::Uri::parse(*uri));
    } catch (const libcert::Error& e) {
      throw UsageError(std::string("--bundle-key: ") + e.what());
    }
    signer = [key](std::span<const std::uint8_t> d) { return key->sign_digest(d); };
  } else {
    signer = libcert::digest_signer_from_pem(certctl::read_file(keys + "/bundle/bundle.key"));
  }
  const std::string file = b.sign(
      libcert::certificate_chain_der_from_pem(certctl::read_file(keys + "/bundle/bundle.crt")),
      signer);
  certctl::write_file_atomic(out, file);
  std::cout << "trust bundle version " << b.version << ": " << b.seals.size()
            << " seal version(s), " << b.status_lists.size() << " status list(s), " << file.size()
            << " bytes -> " << out << "\n";
  return 0;
}

int dispatch(const certctl::Args& args) {
  if (args.empty()) {
    throw UsageError(
        "missing subcommand (create, install, activate, retire, revoke, list, bundle)");
  }
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args[0] == "create") return seal_create(rest);
  if (args[0] == "install") return seal_install(rest);
  if (args[0] == "activate" || args[0] == "retire" || args[0] == "revoke") {
    return seal_step(rest, args[0]);
  }
  if (args[0] == "list") return seal_list(rest);
  if (args[0] == "bundle") return seal_bundle(rest);
  throw UsageError("unknown subcommand '" + args[0] +
                   "' (create, install, activate, retire, revoke, list, bundle)");
}

int run_seal(const certctl::Args& args) {
  try {
    return dispatch(args);
  } catch (const certd::RegistryError& e) {
    // A lifecycle step the state forbids is the operator's mistake, not the registry's.
    if (e.code() == certd::RegistryError::Code::kState) {
      throw libcert::Error(libcert::ErrorCode::kInvalidArgument, e.what());
    }
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }
}

const certctl::Command kSeal{
    "seal", "seal key versions in a registry: create, install, activate, retire, revoke, list",
    "certctl seal create --store DB --department ID [--example-ca [--validity-days N]]\n"
    "                    [--seal-key-dir DIR | --token PKCS11-URI] [--csr-out FILE] [--json]\n"
    "       certctl seal install --store DB --department ID --version N --cert FILE\n"
    "       certctl seal activate|retire --store DB --department ID --version N\n"
    "       certctl seal revoke --store DB --department ID --version N\n"
    "                    --compromised-at YYYY-MM-DDTHH:MM:SSZ --reason TEXT\n"
    "       certctl seal list --store DB [--department ID] [--json]\n"
    "       certctl seal bundle --store DB -o FILE [--bundle-version N] [--status-bits N] "
    "[--qr-host HOST]\n"
    "                    [--bundle-key PKCS11-URI]  (default: <keys>/bundle/bundle.key)\n"
    "  (--keys DIR: root/root.crt (the anchor), ca/issuing-ca.{crt,key} (the example issuing CA,\n"
    "   which certifies new versions), bundle/ key; --templates DIR)",
    run_seal};

}  // namespace
