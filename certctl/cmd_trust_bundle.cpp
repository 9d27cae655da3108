// certctl trust-bundle — export (and show) the signed trust bundle that offline QR verifiers
// import (docs/qr.md "Trust bundle"). Until certd's registry publishes bundles, `export` builds one
// from keys-example (every department seal, state active) and a file of revoked status indexes.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/trust_bundle.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

std::string pem_to_der(const std::string& path) {
  return libcert::certificate_der_from_pem(certctl::read_file(path));
}

std::uint64_t parse_u64(const std::string& s, const char* what) {
  try {
    std::size_t used = 0;
    const auto v = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw certctl::UsageError(std::string(what) + " must be a non-negative integer, got '" + s +
                              "'");
  }
}

// "<department id or USCC> <index>" per line; '#' starts a comment.
void apply_revoked(const std::string& path, libcert::TrustBundle& b,
                   const std::map<std::string, std::string>& uscc_of) {
  std::istringstream in(certctl::read_file(path));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    std::string dept, idx, extra;
    if (!(ls >> dept)) continue;
    if (!(ls >> idx) || (ls >> extra))
      throw Error(ErrorCode::kInvalidArgument,
                  path + ":" + std::to_string(n) + ": expected '<department> <status index>'");
    const std::string code = uscc_of.count(dept) != 0 ? uscc_of.at(dept) : dept;
    auto it = b.status_lists.find(code);
    if (it == b.status_lists.end())
      throw Error(ErrorCode::kNotFound,
                  path + ":" + std::to_string(n) + ": no department '" + dept + "' in the bundle");
    const auto i = parse_u64(idx, "status index");
    if (i >= it->second.size())
      throw Error(ErrorCode::kInvalidArgument, path + ":" + std::to_string(n) + ": index " + idx +
                                                   " is outside the status list of " +
                                                   std::to_string(it->second.size()));
    it->second.set(static_cast<std::uint32_t>(i), true);
  }
}

int run_export(const certctl::Args& args) {
  certctl::Options o(args,
                     {"-o", "--version", "--revoked", "--keys", "--templates", "--now",
                      "--status-bits", "--qr-host", "--clock-skew"},
                     {});
  const std::string out = o.require("-o");
  const std::string keys = certctl::keys_dir(o);
  const std::string templates = certctl::templates_dir(o);
  libcert::SystemClock clock;
  const auto now =
      o.get("--now") ? static_cast<std::int64_t>(parse_u64(*o.get("--now"), "--now")) : clock.now();
  const auto bits = o.get("--status-bits")
                        ? parse_u64(*o.get("--status-bits"), "--status-bits")
                        : std::uint64_t{1} << 20;  // certd's default status_list_size
  if (bits == 0 || bits > libcert::StatusList::kMaxBits)
    throw certctl::UsageError("--status-bits must be 1.." +
                              std::to_string(libcert::StatusList::kMaxBits));

  libcert::TrustBundle b;
  // Default version: the issue time, so successive exports increase without any stored counter.
  b.version = o.get("--version") ? parse_u64(*o.get("--version"), "--version")
                                 : static_cast<std::uint64_t>(now);
  b.issued_at = now;
  b.root_der = pem_to_der(keys + "/root/root.crt");
  // Verifier policy (docs/qr.md): the URL prefix of certd's qr_host, and the clock skew.
  try {
    b.policy = libcert::BundlePolicy::for_host(o.get("--qr-host").value_or("LIC.ALI.EXAMPLE"));
  } catch (const libcert::Error& e) {  // a bad option value: usage (exit 2), not internal
    throw certctl::UsageError(std::string("--qr-host: ") + e.what());
  }
  if (auto sk = o.get("--clock-skew")) {
    const auto skew = parse_u64(*sk, "--clock-skew");
    if (skew > static_cast<std::uint64_t>(libcert::BundlePolicy::kMaxClockSkew))
      throw certctl::UsageError("--clock-skew must be 0.." +
                                std::to_string(libcert::BundlePolicy::kMaxClockSkew) + " seconds");
    b.policy.clock_skew_s = static_cast<std::int64_t>(skew);
  }

  const auto depts = nlohmann::json::parse(certctl::read_file(templates + "/departments.json"));
  std::map<std::string, std::string> uscc_of;
  for (const auto& d : depts.at("departments")) {
    const auto id = d.at("id").get<std::string>();
    const auto uscc = d.at("uscc").get<std::string>();
    uscc_of[id] = uscc;
    const std::string crt = keys + "/seals/" + id + "/seal.crt";
    if (!std::filesystem::exists(crt)) continue;
    b.seals.push_back(libcert::SealEntry::from_certificate(id, uscc, pem_to_der(crt),
                                                           libcert::SealState::kActive));
    b.status_lists.emplace(uscc, libcert::StatusList(static_cast<std::uint32_t>(bits)));
    // The department's OFD seal key (GB/T 38540, SM2), when it has one: its state is known to
    // verifiers of the OFD rendition the same way (verify_ofd key-state).
    const std::string sm2 = keys + "/sm2/seals/" + id + "/seal.crt";
    if (std::filesystem::exists(sm2))
      b.seals.push_back(libcert::SealEntry::from_certificate(id, uscc, pem_to_der(sm2),
                                                             libcert::SealState::kActive));
  }
  if (b.seals.empty())
    throw Error(ErrorCode::kNotFound, keys + "/seals: no department seal certificate found");
  if (auto r = o.get("--revoked")) apply_revoked(*r, b, uscc_of);

  const std::string file =
      b.sign(libcert::certificate_chain_der_from_pem(certctl::read_file(keys + "/bundle/bundle.crt")),
             libcert::digest_signer_from_pem(certctl::read_file(keys + "/bundle/bundle.key")));
  certctl::write_file_atomic(out, file);
  std::uint32_t revoked = 0;
  for (const auto& [k, l] : b.status_lists) revoked += l.count_set();
  std::cout << "trust bundle version " << b.version << ": " << b.seals.size() << " seal(s), "
            << b.status_lists.size() << " status list(s) of " << bits << " bits, " << revoked
            << " revoked, " << file.size() << " bytes -> " << out << "\n";
  return 0;
}

int run_show(const certctl::Args& args) {
  certctl::Options o(args, {"--root", "--bundle-pins", "--keys"}, {});
  if (o.positional().size() != 1) throw certctl::UsageError("show needs exactly one FILE");
  const auto b =
      libcert::TrustBundle::parse(certctl::read_file(o.positional()[0]), certctl::bundle_pins(o));
  std::cout << "version: " << b.version << "\nissued_at: " << b.issued_at
            << "\nsha256: " << b.file_sha256() << "\nseals:\n";
  for (const auto& s : b.seals) {
    std::cout << "  " << s.department << " " << s.issuer_code << " " << libcert::to_string(s.state)
              << " valid " << s.not_before << ".." << s.not_after;
    if (!s.version.empty()) std::cout << " key version " << s.version;
    std::cout << " in use " << s.usage_from << ".."
              << (s.usage_until ? std::to_string(*s.usage_until) : std::string());
    if (s.compromised_at) std::cout << " compromised_at " << *s.compromised_at;
    std::cout << "\n";
  }
  std::cout << "policy: url prefixes";
  for (const auto& u : b.policy.url_prefixes) std::cout << " " << u;
  if (b.policy.url_prefixes.empty()) std::cout << " (none: URL QRs are INDETERMINATE)";
  std::cout << ", clock skew " << b.policy.clock_skew_s << " s\n";
  std::cout << "status lists:\n";
  for (const auto& [code, l] : b.status_lists)
    std::cout << "  " << code << " " << l.size() << " bits, " << l.count_set() << " revoked\n";
  return 0;
}

int run(const certctl::Args& args) {
  if (args.empty()) throw certctl::UsageError("missing subcommand (export | show)");
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args[0] == "export") return run_export(rest);
  if (args[0] == "show") return run_show(rest);
  throw certctl::UsageError("unknown subcommand '" + args[0] + "' (export | show)");
}

const certctl::Command kTrustBundle{
    "trust-bundle", "export or show the signed trust bundle for offline QR verification",
    "certctl trust-bundle export -o FILE [--version N] [--revoked FILE] [--now T] "
    "[--status-bits N] [--qr-host HOST] [--clock-skew S] [--keys DIR] [--templates DIR]\n"
    "       certctl trust-bundle show FILE [--root CERT.pem] [--bundle-pins PINS.txt]\n"
    "  --revoked FILE: lines '<department id or USCC> <status index>' whose bit is set",
    run};

}  // namespace
