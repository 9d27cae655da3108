#include "config.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "libcert/error.h"
#include "libcert/ltv.h"

namespace certd {

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& rule) {
  throw libcert::Error(libcert::ErrorCode::kInvalidArgument, "config " + field + ": " + rule);
}

void check_keys(const nlohmann::json& obj, const std::string& where,
                const std::set<std::string>& allowed) {
  for (const auto& [k, v] : obj.items()) {
    if (!allowed.count(k)) bad(where + k, "unknown field");
  }
}

std::string str(const nlohmann::json& obj, const char* key, const std::string& where,
                const std::string& dflt) {
  if (!obj.contains(key)) return dflt;
  if (!obj[key].is_string()) bad(where + key, "expected a string");
  return obj[key].get<std::string>();
}

std::int64_t num(const nlohmann::json& obj, const char* key, const std::string& where,
                 std::int64_t dflt, std::int64_t lo, std::int64_t hi) {
  if (!obj.contains(key)) return dflt;
  if (!obj[key].is_number_integer()) bad(where + key, "expected an integer");
  const auto v = obj[key].get<std::int64_t>();
  if (v < lo || v > hi) {
    bad(where + key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

std::int64_t env_num(const std::string& name, const std::string& text, std::int64_t lo,
                     std::int64_t hi) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < lo || v > hi) {
    bad(name, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

}  // namespace

Config::Env Config::process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Config Config::load(const std::string& path, const Env& env) {
  Config c;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw libcert::Error(libcert::ErrorCode::kIo, "config " + path + ": cannot read");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) bad(path, "not a JSON object");
    check_keys(j, "",
               {"listen", "port", "tls", "store", "templates", "keys", "web", "qr_host", "threads",
                "max_queue", "idempotency_lease_s", "status_list_size", "max_clock_skew_s",
                "limits", "seal", "audit", "trusted_proxies", "bundle_key", "ca", "pades", "_comment"});
    c.listen = str(j, "listen", "", c.listen);
    c.port = static_cast<int>(num(j, "port", "", c.port, 0, 65535));
    c.store = str(j, "store", "", c.store);
    c.templates = str(j, "templates", "", c.templates);
    c.keys = str(j, "keys", "", c.keys);
    c.web = str(j, "web", "", c.web);
    c.qr_host = str(j, "qr_host", "", c.qr_host);
    c.bundle_key = str(j, "bundle_key", "", c.bundle_key);
    c.threads = static_cast<int>(num(j, "threads", "", c.threads, 1, 256));
    c.max_queue = static_cast<std::size_t>(
        num(j, "max_queue", "", static_cast<std::int64_t>(c.max_queue), 1, 100000));
    c.idempotency_lease_s = num(j, "idempotency_lease_s", "", c.idempotency_lease_s, 1, 86400);
    c.status_list_size = num(j, "status_list_size", "", c.status_list_size, 8, 1LL << 32);
    c.max_clock_skew_s = num(j, "max_clock_skew_s", "", c.max_clock_skew_s, 0, 86400);
    if (j.contains("seal")) {
      const auto& t = j["seal"];
      if (!t.is_object()) bad("seal", "expected an object");
      check_keys(t, "seal.", {"key_dir", "refuse_days", "warn_days", "token"});
      c.seal_token = str(t, "token", "seal.", c.seal_token);
      c.seal_key_dir = str(t, "key_dir", "seal.", c.seal_key_dir);
      c.seal_refuse_days =
          static_cast<int>(num(t, "refuse_days", "seal.", c.seal_refuse_days, 0, 3650));
      c.seal_warn_days = static_cast<int>(num(t, "warn_days", "seal.", c.seal_warn_days, 0, 3650));
    }
    if (j.contains("ca")) {
      const auto& t = j["ca"];
      if (!t.is_object()) bad("ca", "expected an object");
      check_keys(t, "ca.", {"cert", "key", "crl_period_s"});
      c.issuing_ca_cert = str(t, "cert", "ca.", c.issuing_ca_cert);
      c.issuing_ca_key = str(t, "key", "ca.", c.issuing_ca_key);
      c.crl_period_s = num(t, "crl_period_s", "ca.", c.crl_period_s, 60, 366LL * 86400);
    }
    if (j.contains("pades")) {
      const auto& t = j["pades"];
      if (!t.is_object()) bad("pades", "expected an object");
      check_keys(t, "pades.", {"level", "templates", "departments"});
      auto level = [](const nlohmann::json& v, const std::string& field) {
        if (!v.is_string() || !libcert::parse_pades_level(v.get<std::string>()))
          bad(field, "expected one of \"B-B\", \"B-T\", \"B-LT\", \"B-LTA\"");
        return std::string(libcert::to_string(*libcert::parse_pades_level(v.get<std::string>())));
      };
      if (t.contains("level")) c.pades_level = level(t["level"], "pades.level");
      for (const char* k : {"templates", "departments"}) {
        if (!t.contains(k)) continue;
        if (!t[k].is_object()) bad(std::string("pades.") + k, "expected an object of levels");
        auto& m = std::string(k) == "templates" ? c.pades_template_levels
                                                : c.pades_department_levels;
        for (const auto& [id, v] : t[k].items())
          m[id] = level(v, std::string("pades.") + k + "." + id);
      }
    }
    if (j.contains("audit")) {
      const auto& t = j["audit"];
      if (!t.is_object()) bad("audit", "expected an object");
      check_keys(t, "audit.",
                 {"key", "origin", "checkpoint_every_entries", "checkpoint_every_seconds"});
      c.audit_key = str(t, "key", "audit.", c.audit_key);
      c.audit_origin = str(t, "origin", "audit.", c.audit_origin);
      c.audit_checkpoint_every_entries = num(t, "checkpoint_every_entries", "audit.",
                                             c.audit_checkpoint_every_entries, 1, 1LL << 40);
      c.audit_checkpoint_every_seconds = num(t, "checkpoint_every_seconds", "audit.",
                                             c.audit_checkpoint_every_seconds, 1, 366LL * 86400);
    }
    if (j.contains("trusted_proxies")) {
      const auto& t = j["trusted_proxies"];
      if (!t.is_array()) bad("trusted_proxies", "expected an array of addresses or CIDR networks");
      for (const auto& e : t) {
        if (!e.is_string()) bad("trusted_proxies", "expected an array of addresses or CIDR networks");
        c.trusted_proxies.push_back(e.get<std::string>());
      }
    }
    if (j.contains("tls")) {
      const auto& t = j["tls"];
      if (!t.is_object()) bad("tls", "expected an object");
      check_keys(t, "tls.", {"cert", "key", "client_ca"});
      c.tls_cert = str(t, "cert", "tls.", "");
      c.tls_key = str(t, "key", "tls.", "");
      c.tls_client_ca = str(t, "client_ca", "tls.", "");
    }
    if (j.contains("limits")) {
      const auto& l = j["limits"];
      if (!l.is_object()) bad("limits", "expected an object");
      check_keys(l, "limits.",
                 {"json_body_bytes", "pdf_body_bytes", "batch_items", "read_timeout_s",
                  "write_timeout_s", "verify_per_minute", "verify_burst", "tsa_per_minute", "tsa_burst", "header_bytes",
                  "body_timeout_s", "auth_failures_per_minute", "auth_lockout_s",
                  "auth_failure_audit_interval_s", "header_timeout_s", "keepalive_idle_s", "drain_timeout_s", "max_connections",
                  "connections_per_address"});
      auto& L = c.limits;
      L.json_body_bytes = static_cast<std::size_t>(num(l, "json_body_bytes", "limits.",
                                                       static_cast<std::int64_t>(L.json_body_bytes),
                                                       1024, 64LL << 20));
      L.pdf_body_bytes = static_cast<std::size_t>(num(l, "pdf_body_bytes", "limits.",
                                                      static_cast<std::int64_t>(L.pdf_body_bytes),
                                                      1024, 256LL << 20));
      L.batch_items = static_cast<std::size_t>(
          num(l, "batch_items", "limits.", static_cast<std::int64_t>(L.batch_items), 1, 10000));
      L.read_timeout_s =
          static_cast<int>(num(l, "read_timeout_s", "limits.", L.read_timeout_s, 1, 600));
      L.write_timeout_s =
          static_cast<int>(num(l, "write_timeout_s", "limits.", L.write_timeout_s, 1, 600));
      L.verify_per_minute =
          static_cast<int>(num(l, "verify_per_minute", "limits.", L.verify_per_minute, 1, 1000000));
      L.verify_burst =
          static_cast<int>(num(l, "verify_burst", "limits.", L.verify_burst, 1, 1000000));
      L.tsa_per_minute =
          static_cast<int>(num(l, "tsa_per_minute", "limits.", L.tsa_per_minute, 1, 1000000));
      L.tsa_burst = static_cast<int>(num(l, "tsa_burst", "limits.", L.tsa_burst, 1, 1000000));
      L.header_bytes = static_cast<std::size_t>(num(
          l, "header_bytes", "limits.", static_cast<std::int64_t>(L.header_bytes), 1024, 1 << 20));
      L.body_timeout_s =
          static_cast<int>(num(l, "body_timeout_s", "limits.", L.body_timeout_s, 1, 3600));
      L.auth_failures_per_minute = static_cast<int>(
          num(l, "auth_failures_per_minute", "limits.", L.auth_failures_per_minute, 1, 100000));
      L.auth_lockout_s =
          static_cast<int>(num(l, "auth_lockout_s", "limits.", L.auth_lockout_s, 1, 86400));
      L.auth_failure_audit_interval_s = static_cast<int>(num(l, "auth_failure_audit_interval_s",
                                                             "limits.",
                                                             L.auth_failure_audit_interval_s, 1,
                                                             86400));
      L.header_timeout_s =
          static_cast<int>(num(l, "header_timeout_s", "limits.", L.header_timeout_s, 1, 600));
      L.keepalive_idle_s =
          static_cast<int>(num(l, "keepalive_idle_s", "limits.", L.keepalive_idle_s, 1, 600));
      L.drain_timeout_s =
          static_cast<int>(num(l, "drain_timeout_s", "limits.", L.drain_timeout_s, 0, 600));
      L.max_connections = static_cast<std::size_t>(num(
          l, "max_connections", "limits.", static_cast<std::int64_t>(L.max_connections), 1, 100000));
      L.connections_per_address = static_cast<std::size_t>(
          num(l, "connections_per_address", "limits.",
              static_cast<std::int64_t>(L.connections_per_address), 1, 100000));
    }
  }
  auto s = [&](const char* name, std::string& field) {
    if (auto v = env(name)) field = *v;
  };
  s("CERTD_LISTEN", c.listen);
  s("CERTD_STORE", c.store);
  s("CERTD_TEMPLATES", c.templates);
  s("CERTD_KEYS", c.keys);
  s("CERTD_WEB", c.web);
  s("CERTD_QR_HOST", c.qr_host);
  s("CERTD_SEAL_KEY_DIR", c.seal_key_dir);
  if (auto v = env("CERTD_SEAL_REFUSE_DAYS")) {
    c.seal_refuse_days = static_cast<int>(env_num("CERTD_SEAL_REFUSE_DAYS", *v, 0, 3650));
  }
  if (auto v = env("CERTD_CRL_PERIOD_S")) {
    c.crl_period_s = env_num("CERTD_CRL_PERIOD_S", *v, 60, 366LL * 86400);
  }
  if (auto v = env("CERTD_MAX_CLOCK_SKEW_S")) {
    c.max_clock_skew_s = env_num("CERTD_MAX_CLOCK_SKEW_S", *v, 0, 86400);
  }
  if (auto v = env("CERTD_SEAL_WARN_DAYS")) {
    c.seal_warn_days = static_cast<int>(env_num("CERTD_SEAL_WARN_DAYS", *v, 0, 3650));
  }
  s("CERTD_TLS_CERT", c.tls_cert);
  s("CERTD_TLS_KEY", c.tls_key);
  s("CERTD_TLS_CLIENT_CA", c.tls_client_ca);
  if (auto v = env("CERTD_PORT")) c.port = static_cast<int>(env_num("CERTD_PORT", *v, 0, 65535));
  if (auto v = env("CERTD_THREADS")) {
    c.threads = static_cast<int>(env_num("CERTD_THREADS", *v, 1, 256));
  }
  if (auto v = env("CERTD_VERIFY_PER_MINUTE")) {
    c.limits.verify_per_minute =
        static_cast<int>(env_num("CERTD_VERIFY_PER_MINUTE", *v, 1, 1000000));
  }
  if (auto v = env("CERTD_AUDIT_CHECKPOINT_EVERY_ENTRIES")) {
    c.audit_checkpoint_every_entries =
        env_num("CERTD_AUDIT_CHECKPOINT_EVERY_ENTRIES", *v, 1, 1LL << 40);
  }
  if (auto v = env("CERTD_AUDIT_CHECKPOINT_EVERY_SECONDS")) {
    c.audit_checkpoint_every_seconds =
        env_num("CERTD_AUDIT_CHECKPOINT_EVERY_SECONDS", *v, 1, 366LL * 86400);
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    bad("tls", "cert and key must be given together");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    bad("tls.client_ca", "mutual TLS needs tls.cert and tls.key");
  }
  for (const auto& p : c.trusted_proxies) {
    auto r = IpRange::parse(p);
    if (!r) bad("trusted_proxies", "'" + p + "' is not an IP address or CIDR network");
    c.trusted_proxy_ranges.push_back(*r);
  }
  std::string host;
  for (char ch : c.qr_host) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')) {
      bad("qr_host", "upper-case letters, digits, '.' and '-' only (QR alphanumeric mode)");
    }
  }
  return c;
}

std::optional<IpBytes> parse_ip(const std::string& text) {
  IpBytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::optional<IpRange> IpRange::parse(const std::string& text) {
  const auto slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  auto a = parse_ip(addr);
  if (!a) return std::nullopt;
  const bool v4 = addr.find(':') == std::string::npos;
  IpRange r;
  r.net = *a;
  r.prefix = 128;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    int n = -1;
    if (p.empty() || p.size() > 3 ||
        std::from_chars(p.data(), p.data() + p.size(), n).ptr != p.data() + p.size()) {
      return std::nullopt;
    }
    if (n < 0 || n > (v4 ? 32 : 128)) return std::nullopt;
    r.prefix = v4 ? n + 96 : n;
  }
  return r;
}

bool IpRange::contains(const IpBytes& a) const {
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8, mask = 0x80 >> (bit % 8);
    if ((a[static_cast<std::size_t>(byte)] & mask) != (net[static_cast<std::size_t>(byte)] & mask)) {
      return false;
    }
  }
  return true;
}

const std::string& Config::pades_level_for(const std::string& template_id,
                                           const std::string& department) const {
  if (auto it = pades_template_levels.find(template_id); it != pades_template_levels.end())
    return it->second;
  if (auto it = pades_department_levels.find(department); it != pades_department_levels.end())
    return it->second;
  return pades_level;
}

}  // namespace certd
