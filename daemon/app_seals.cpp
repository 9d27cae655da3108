// Seal key lifecycle (POST /v1/seals/{department}/keys, PUT …/certificate, …:activate, :retire,
// :revoke, GET /v1/seals) and the audit log (GET /v1/audit/…): service.md, issue 7.
#include "app_seals.h"

#include "app_internal.h"
#include "audit.h"
#include "bundle.h"
#include "crl_service.h"
#include "libcert/error.h"
#include "seal_keys.h"

namespace certd::detail {

namespace {

void need_seals(const Services& s) {
  if (s.seal_keys == nullptr) {
    throw ApiError(503, "unavailable", "Service unavailable",
                   "seal key management is not configured on this server");
  }
}

void need_audit(const Services& s) {
  if (s.audit == nullptr) {
    throw ApiError(503, "unavailable", "Service unavailable",
                   "audit checkpoints are not configured on this server (no audit key)");
  }
}

std::string department_param(const Services& s, const Params& p) {
  const std::string& d = p.at("department");
  check_template_id(d, "path department");
  try {
    (void)s.seal_keys->department(d);
  } catch (const libcert::Error&) {
    throw ApiError(404, "not-found", "Not found", "path department: no department '" + d + "'");
  }
  return d;
}

std::int64_t version_param(const Params& p) {
  const std::string& v = p.at("version");
  std::int64_t n = 0;
  bool ok = !v.empty() && v.size() <= 9 && v[0] != '0';
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok) {
    throw ApiError(400, "invalid-id", "Invalid identifier",
                   "path version: a key version is a positive integer (1, 2, …)");
  }
  return n;
}

// A lifecycle step that changed something: the published trust bundle lists the versions, so it
// is rebuilt on the next request. Failures (SealStateError: 409) are translated in error_map.h.
template <typename F>
HttpResponse lifecycle(const Services& s, F&& f) {
  HttpResponse r = f();
  if (s.bundle != nullptr) s.bundle->invalidate();
  return r;
}

std::int64_t query_int(const HttpRequest& req, const char* name, std::int64_t lo, std::int64_t hi,
                       std::optional<std::int64_t> dflt) {
  auto it = req.query.find(name);
  if (it == req.query.end()) {
    if (dflt) return *dflt;
    throw ApiError(400, "invalid-request", "Invalid request",
                   std::string("query ") + name + ": required");
  }
  return detail::query_integer(name, it->second, lo, hi);
}

void only_query(const HttpRequest& req, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : req.query) {
    if (!allowed.count(k)) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "query " + k + ": unknown parameter");
    }
  }
}

// RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ", or Unix seconds.
std::int64_t parse_time(const nlohmann::json& j, const std::string& field) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_string()) {
    const std::string t = j.get<std::string>();
    std::tm tm{};
    const char* end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != nullptr && *end == '\0') return static_cast<std::int64_t>(timegm(&tm));
  }
  throw ApiError(400, "invalid-request", "Invalid request",
                 field + ": expected an RFC 3339 UTC time (2026-11-22T10:00:00Z) or Unix seconds");
}

}  // namespace

nlohmann::json seal_view(const SealKeyVersion& v) {
  auto opt = [](const std::optional<std::int64_t>& t) {
    return t ? nlohmann::json(rfc3339(*t)) : nlohmann::json();
  };
  nlohmann::json j = {
      {"department", v.department},
      {"version", v.version},
      {"state", v.state},
      {"algorithm", v.algorithm},
      {"cert_sha256", v.cert_sha256.empty() ? nlohmann::json() : nlohmann::json(v.cert_sha256)},
      {"not_before", opt(v.not_before)},
      {"not_after", opt(v.not_after)},
      {"created_at", rfc3339(v.created_at)},
      {"activated_at", opt(v.activated_at)},
      {"retired_at", opt(v.retired_at)},
      {"revoked_at", opt(v.revoked_at)},
      {"compromised_at", opt(v.compromised_at)}};
  if (v.reason) j["reason"] = *v.reason;
  if (!v.cert_der.empty()) j["certificate_pem"] = der_to_pem(v.cert_der);
  return j;
}

HttpResponse seals_list(const Services& s, const HttpRequest& req) {
  (void)require(*s.store, req, kScopeSealAdmin);
  need_seals(s);
  only_query(req, {"department"});
  std::optional<std::string> dept;
  if (auto it = req.query.find("department"); it != req.query.end()) {
    check_template_id(it->second, "query department");
    dept = it->second;
  }
  nlohmann::json items = nlohmann::json::array();
  for (const auto& v : s.store->list_seal_keys(dept)) items.push_back(seal_view(v));
  return json_response(200, {{"items", items}});
}

HttpResponse seal_create(const Services& s, const HttpRequest& req, const Params& p) {
  const Principal who = require(*s.store, req, kScopeSealAdmin);
  need_seals(s);
  const std::string dept = department_param(s, p);
  nlohmann::json body = nlohmann::json::object();
  if (!req.body.empty()) {
    body = json_body(req, s.config->limits.json_body_bytes, {"example_ca", "validity_days"});
  }
  CreateSealKey how;
  if (body.contains("example_ca")) {
    if (!body["example_ca"].is_boolean()) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.example_ca: expected true or false");
    }
    how.example_ca = body["example_ca"].get<bool>();
  }
  if (body.contains("validity_days")) {
    if (!body["validity_days"].is_number_integer() ||
        body["validity_days"].get<std::int64_t>() < 1 ||
        body["validity_days"].get<std::int64_t>() > 3650) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.validity_days: expected an integer 1..3650");
    }
    how.validity_days = body["validity_days"].get<int>();
  }
  const CreatedSealKey c = s.seal_keys->create(dept, how, s.clock->now(), {who.id, req.request_id});
  nlohmann::json j = seal_view(c.version);
  j["csr_pem"] = c.csr_pem;
  HttpResponse r = json_response(201, j);
  r.headers.emplace_back("Location", "/v1/seals?department=" + dept);
  return r;
}

HttpResponse seal_install(const Services& s, const HttpRequest& req, const Params& p) {
  const Principal who = require(*s.store, req, kScopeSealAdmin);
  need_seals(s);
  const std::string dept = department_param(s, p);
  const std::int64_t ver = version_param(p);
  const auto body = json_body(req, s.config->limits.json_body_bytes, {"certificate_pem"});
  if (!body.contains("certificate_pem") || !body["certificate_pem"].is_string()) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   "body.certificate_pem: required, the PEM certificate issued for the CSR");
  }
  return lifecycle(s, [&] {
    return json_response(
        200, seal_view(s.seal_keys->install(dept, ver, body["certificate_pem"].get<std::string>(),
                                            s.clock->now(), {who.id, req.request_id})));
  });
}

HttpResponse seal_step(const Services& s, const HttpRequest& req, const Params& p,
                       const std::string& action) {
  const Principal who = require(*s.store, req, kScopeSealAdmin);
  need_seals(s);
  const std::string dept = department_param(s, p);
  const std::int64_t ver = version_param(p);
  const Actor by{who.id, req.request_id};
  const std::int64_t now = s.clock->now();
  return lifecycle(s, [&] {
    if (action == "activate") {
      if (!req.body.empty()) (void)json_body(req, s.config->limits.json_body_bytes, {});
      return json_response(200, seal_view(s.store->activate_seal_key(dept, ver, now, by)));
    }
    if (action == "retire") {
      if (!req.body.empty()) (void)json_body(req, s.config->limits.json_body_bytes, {});
      return json_response(200, seal_view(s.store->retire_seal_key(dept, ver, now, by)));
    }
    const auto body =
        json_body(req, s.config->limits.json_body_bytes, {"compromised_at", "reason"});
    if (!body.contains("compromised_at")) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.compromised_at: required, the earliest time the key may have been "
                     "compromised (licences sealed at or after it become invalid)");
    }
    const std::int64_t t = parse_time(body["compromised_at"], "body.compromised_at");
    if (!body.contains("reason") || !body["reason"].is_string() ||
        body["reason"].get<std::string>().empty() ||
        body["reason"].get<std::string>().size() > 500) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.reason: required, a string of 1-500 characters");
    }
    if (t > now) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.compromised_at: lies in the future (" + rfc3339(t) + " > now " +
                         rfc3339(now) + ")");
    }
    const auto revoked =
        s.store->revoke_seal_key(dept, ver, t, body["reason"].get<std::string>(), now, by);
    if (s.crl != nullptr) s.crl->invalidate();  // the next CRL lists it (docs/crl.md)
    return json_response(200, seal_view(revoked));
  });
}

HttpResponse audit_checkpoint(const Services& s, const HttpRequest& req) {
  (void)require(*s.store, req, kScopeAuditRead);
  need_audit(s);
  only_query(req, {});
  const AuditCheckpointRow c = s.audit->checkpoint(s.clock->now());
  return json_response(200, {{"origin", s.audit->origin()},
                             {"tree_size", c.tree_size},
                             {"root_hash", base64_encode(c.root_hash)},
                             {"checkpoint", c.signed_note},
                             {"created_at", rfc3339(c.created_at)}});
}

HttpResponse audit_entries(const Services& s, const HttpRequest& req) {
  (void)require(*s.store, req, kScopeAuditRead);
  only_query(req, {"start", "limit"});
  const std::int64_t start = query_int(req, "start", 0, 1LL << 50, 0);
  const std::int64_t limit = query_int(req, "limit", 1, 1000, 100);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : s.store->audit_entries(start, limit)) {
    items.push_back({{"idx", r.idx},
                     {"ts", r.ts},
                     {"principal", r.principal},
                     {"action", r.action},
                     {"object", r.object},
                     {"request_id", r.request_id},
                     {"details_json", r.details_json},
                     {"leaf_hash", base64_encode(r.leaf_hash)}});
  }
  return json_response(200, {{"tree_size", s.store->audit_size()}, {"entries", items}});
}

HttpResponse audit_inclusion(const Services& s, const HttpRequest& req) {
  (void)require(*s.store, req, kScopeAuditRead);
  need_audit(s);
  only_query(req, {"index", "tree_size"});
  const std::int64_t current = s.store->audit_size();
  const std::int64_t size =
      query_int(req, "tree_size", 1, std::max<std::int64_t>(current, 1), current);
  const std::int64_t index = query_int(req, "index", 0, size - 1, std::nullopt);
  const auto leaves = s.audit->leaves(size);
  nlohmann::json proof = nlohmann::json::array();
  for (const auto& h : merkle::inclusion_proof(leaves, static_cast<std::uint64_t>(index),
                                               static_cast<std::uint64_t>(size))) {
    proof.push_back(base64_encode(h));
  }
  return json_response(200, {{"index", index},
                             {"tree_size", size},
                             {"leaf_hash", base64_encode(leaves[static_cast<std::size_t>(index)])},
                             {"root_hash", base64_encode(merkle::root(leaves))},
                             {"proof", proof}});
}

HttpResponse audit_consistency(const Services& s, const HttpRequest& req) {
  (void)require(*s.store, req, kScopeAuditRead);
  need_audit(s);
  only_query(req, {"first", "second"});
  const std::int64_t current = s.store->audit_size();
  const std::int64_t second =
      query_int(req, "second", 1, std::max<std::int64_t>(current, 1), current);
  const std::int64_t first = query_int(req, "first", 1, second, std::nullopt);
  const auto leaves = s.audit->leaves(second);
  nlohmann::json proof = nlohmann::json::array();
  for (const auto& h : merkle::consistency_proof(leaves, static_cast<std::uint64_t>(first),
                                                 static_cast<std::uint64_t>(second))) {
    proof.push_back(base64_encode(h));
  }
  return json_response(
      200,
      {{"first", first},
       {"second", second},
       {"first_root_hash", base64_encode(merkle::root(leaves, 0, static_cast<std::size_t>(first)))},
       {"second_root_hash", base64_encode(merkle::root(leaves))},
       {"proof", proof}});
}

}  // namespace certd::detail
