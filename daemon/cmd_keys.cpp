// certctl keys — create, list and revoke certd API keys directly on a registry file.
// Compiled into certctl by daemon/CMakeLists.txt (only when certd_core is built).
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "auth.h"
#include "command.h"
#include "libcert/error.h"
#include "sqlite.h"
#include "store.h"

namespace {

using certctl::Options;
using certctl::UsageError;

std::set<std::string> known_departments(const Options& o) {
  const std::string path = certctl::templates_dir(o) + "/departments.json";
  const auto j = nlohmann::json::parse(certctl::read_file(path), nullptr, false);
  if (j.is_discarded() || !j.contains("departments") || !j["departments"].is_array()) {
    throw libcert::Error(libcert::ErrorCode::kTemplate, path + ": no departments array");
  }
  std::set<std::string> out;
  for (const auto& d : j["departments"]) {
    if (d.contains("id") && d["id"].is_string()) out.insert(d["id"].get<std::string>());
  }
  return out;
}

std::int64_t now() { return libcert::SystemClock().now(); }

int keys_create(const certctl::Args& args) {
  Options o(args, {"--store", "--department", "--scopes", "--label", "--templates"},
            {"--admin", "--json"});
  const std::string store_path = o.require("--store");
  certd::NewPrincipal np;
  if (o.flag("--admin")) {
    if (o.get("--department")) throw UsageError("--admin keys have no department");
    // All admin scopes, or a subset (e.g. only metrics:read for a Prometheus scraper).
    np.scopes = o.get("--scopes") ? certd::parse_admin_scopes(*o.get("--scopes"))
                                  : certd::admin_scopes();
  } else {
    const std::string dept = o.require("--department");
    const auto depts = known_departments(o);
    if (!depts.count(dept)) {
      throw libcert::Error(
          libcert::ErrorCode::kNotFound,
          "--department: unknown department '" + dept + "' (not in templates/departments.json)");
    }
    np.department = dept;
    np.scopes = certd::parse_department_scopes(
        o.get("--scopes").value_or("licence:issue,licence:read,licence:revoke"));
  }
  np.label = o.get("--label").value_or("");
  libcert::SystemRng rng;
  const certd::NewKey k = certd::make_key(rng);
  np.key_prefix = k.prefix;
  np.key_sha256 = k.sha256;
  auto store = certd::open_store(store_path);
  const certd::Principal p = store->create_principal(np, now(), {"certctl", ""});
  if (o.flag("--json")) {
    std::cout << nlohmann::json{{"id", p.id},
                                {"key", k.key},
                                {"department",
                                 p.department ? nlohmann::json(*p.department) : nlohmann::json()},
                                {"scopes", p.scopes}}
                     .dump()
              << "\n";
  } else {
    // The only time the key is ever shown: the registry keeps its SHA-256 only.
    std::cout << k.key << "\n";
    std::cerr << "created " << p.id << " (" << (p.department ? *p.department : "admin")
              << "); store the key now, it cannot be shown again\n";
  }
  return 0;
}

int keys_list(const certctl::Args& args) {
  Options o(args, {"--store"}, {"--json"});
  auto store = certd::open_store(o.require("--store"));
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : store->list_principals()) {
    nlohmann::json j = {
        {"id", p.id},
        {"department", p.department ? nlohmann::json(*p.department) : nlohmann::json()},
        {"key_prefix", p.key_prefix},
        {"scopes", p.scopes},
        {"label", p.label},
        {"created_at", p.created_at},
        {"revoked_at", p.revoked_at ? nlohmann::json(*p.revoked_at) : nlohmann::json()}};
    if (o.flag("--json")) {
      arr.push_back(j);
      continue;
    }
    std::string scopes;
    for (const auto& s : p.scopes) scopes += (scopes.empty() ? "" : ",") + s;
    std::cout << p.id << "  " << p.key_prefix << "…  "
              << (p.department ? *p.department : std::string("(admin)")) << "  " << scopes
              << (p.revoked_at ? "  REVOKED" : "") << "\n";
  }
  if (o.flag("--json")) std::cout << arr.dump() << "\n";
  return 0;
}

int keys_revoke(const certctl::Args& args) {
  Options o(args, {"--store", "--id"}, {});
  const std::string id = o.require("--id");
  auto store = certd::open_store(o.require("--store"));
  if (!store->revoke_principal(id, now(), {"certctl", ""})) {
    throw libcert::Error(libcert::ErrorCode::kNotFound, "--id: no key with id '" + id + "'");
  }
  std::cout << "revoked " << id << "\n";
  return 0;
}

int dispatch(const certctl::Args& args) {
  if (args.empty()) throw UsageError("missing subcommand (create, list, revoke)");
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args[0] == "create") return keys_create(rest);
  if (args[0] == "list") return keys_list(rest);
  if (args[0] == "revoke") return keys_revoke(rest);
  throw UsageError("unknown subcommand '" + args[0] + "' (create, list, revoke)");
}

int run_keys(const certctl::Args& args) {
  try {
    return dispatch(args);
  } catch (const certd::RegistryError& e) {
    // certctl reports libcert::Error; a registry failure is an I/O error there.
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }
}

const certctl::Command kKeys{
    "keys", "manage certd API keys in a registry (create prints the key once)",
    "certctl keys create --store DB (--department ID [--scopes licence:issue,licence:read,"
    "licence:revoke] | --admin [--scopes seal:admin,audit:read,licence:read,licence:revoke,"
    "metrics:read]) [--label TEXT] [--json]\n"
    "       certctl keys list --store DB [--json]\n"
    "       certctl keys revoke --store DB --id ID",
    run_keys};

}  // namespace
