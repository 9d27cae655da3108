// certctl crl make / certctl crl show — the issuing CA's CRL offline (docs/crl.md): `make` makes
// the registry's next CRL with the CA key (the same number sequence and content certd publishes
// at GET /v1/crl: daemon/crl_service.h), `show` prints and checks a CRL file.
// Compiled into certctl by daemon/CMakeLists.txt (only when certd_core is built).
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "crl_service.h"
#include "libcert/clock.h"
#include "libcert/crl.h"
#include "libcert/error.h"
#include "libcert/trust_bundle.h"
#include "registry_error.h"
#include "store.h"

namespace {

using certctl::Options;
using certctl::UsageError;


std::string ca_cert_path(const Options& o) {
  if (auto c = o.get("--ca-cert")) return *c;
  return certctl::keys_dir(o) + "/ca/issuing-ca.crt";
}

int run_make(const certctl::Args& args) {
  const Options o(args, {"--store", "--keys", "--ca-cert", "--ca-key", "--period", "-o"},
                  {"--pem", "--json"});
  if (!o.positional().empty()) throw UsageError("unexpected argument " + o.positional()[0]);
  const std::string out = o.require("-o");
  std::int64_t period = 86400;
  if (auto p = o.get("--period")) {
    try {
      period = std::stoll(*p);
    } catch (const std::exception&) {
      throw UsageError("--period: expected seconds");
    }
  }
  const std::string ca_key = o.get("--ca-key").value_or(certctl::keys_dir(o) + "/ca/issuing-ca.key");
  const std::string ca_der = libcert::certificate_der_from_pem(certctl::read_file(ca_cert_path(o)));
  auto store = certd::open_store(o.require("--store"));
  libcert::SystemClock clock;
  certd::CrlService svc(*store, ca_der, libcert::digest_signer_from_pem(certctl::read_file(ca_key)),
                        clock, period);
  const auto p = svc.current();
  {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << (o.flag("--pem") ? libcert::crl_der_to_pem(p->der) : p->der);
    if (!f.flush()) throw libcert::Error(libcert::ErrorCode::kIo, out + ": cannot write");
  }
  const libcert::Crl crl = libcert::Crl::parse(p->der);
  if (o.flag("--json")) {
    std::cout << nlohmann::json{{"file", out},
                                {"number", p->number},
                                {"this_update", libcert::rfc3339(p->this_update)},
                                {"next_update", libcert::rfc3339(p->next_update)},
                                {"revoked", crl.revoked.size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << out << ": CRL number " << p->number << ", " << crl.revoked.size()
              << " revoked certificate(s), next update " << libcert::rfc3339(p->next_update) << "\n";
  }
  return 0;
}

int run_show(const certctl::Args& args) {
  const Options o(args, {"--keys", "--ca-cert", "--at"}, {"--json"});
  if (o.positional().size() != 1) throw UsageError("expected one CRL file");
  const libcert::Crl crl = libcert::Crl::parse(certctl::read_file(o.positional()[0]));
  const std::string ca_der = libcert::certificate_der_from_pem(certctl::read_file(ca_cert_path(o)));
  std::int64_t at = libcert::SystemClock().now();
  if (auto a = o.get("--at")) {
    try {
      at = std::stoll(*a);
    } catch (const std::exception&) {
      throw UsageError("--at: expected Unix seconds");
    }
  }
  const libcert::CrlCheck check = crl.check(ca_der, at);
  if (o.flag("--json")) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& r : crl.revoked) {
      entries.push_back({{"serial", r.serial_hex},
                         {"revocation_date", libcert::rfc3339(r.revocation_date)},
                         {"reason", std::string(libcert::to_string(r.reason))},
                         {"invalidity_date", r.invalidity_date ? nlohmann::json(libcert::rfc3339(*r.invalidity_date))
                                                               : nlohmann::json()}});
    }
    std::cout << nlohmann::json{{"issuer", crl.issuer},
                                {"number", crl.number},
                                {"this_update", libcert::rfc3339(crl.this_update)},
                                {"next_update", libcert::rfc3339(crl.next_update)},
                                {"revoked", entries},
                                {"check", std::string(libcert::to_string(check.problem))},
                                {"detail", check.detail}}
                     .dump()
              << "\n";
  } else {
    std::cout << "issuer:      " << crl.issuer << "\nnumber:      " << crl.number
              << "\nthisUpdate:  " << libcert::rfc3339(crl.this_update) << "\nnextUpdate:  "
              << libcert::rfc3339(crl.next_update) << "\nrevoked:     " << crl.revoked.size() << "\n";
    for (const auto& r : crl.revoked) {
      std::cout << "  " << r.serial_hex << "  " << libcert::rfc3339(r.revocation_date) << "  "
                << libcert::to_string(r.reason)
                << (r.invalidity_date ? "  invalidity " + libcert::rfc3339(*r.invalidity_date) : "") << "\n";
    }
    std::cout << "check:       " << libcert::to_string(check.problem) << ": " << check.detail
              << "\n";
  }
  // A CRL that does not check is a verification that did not reach VALID (docs/verdicts.md).
  return check.problem == libcert::CrlProblem::kNone ? 0 : 1;
}

int run_crl(const certctl::Args& args) {
  if (args.empty()) throw UsageError("expected make or show");
  const std::string sub = args[0];
  const certctl::Args rest(args.begin() + 1, args.end());
  try {
    if (sub == "make") return run_make(rest);
    if (sub == "show") return run_show(rest);
  } catch (const certd::RegistryError& e) {
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }
  throw UsageError("unknown crl command '" + sub + "' (make, show)");
}

const certctl::Command kCrl{
    "crl", "the issuing CA's CRL: make the registry's next one, show and check a file",
    "certctl crl make --store DB -o FILE [--pem] [--period SECONDS] [--json]\n"
    "                 [--ca-cert FILE --ca-key FILE]  (default: <keys>/ca/issuing-ca.{crt,key})\n"
    "       certctl crl show FILE [--ca-cert FILE] [--at UNIX_SECONDS] [--json]\n"
    "  make: the same CRL certd serves at GET /v1/crl (number and content kept in the registry);\n"
    "  show: exit 0 when the CRL verifies with the CA and is current at --at (default now), 1 not.",
    run_crl};

}  // namespace
