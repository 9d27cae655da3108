#include "app.h"

#include <chrono>
#include <ctime>

#include "app_internal.h"
#include "app_issue.h"
#include "app_public.h"
#include "app_seals.h"
#include "audit.h"
#include "auth.h"
#include "bundle.h"
#include "error_map.h"
#include "issuance_service.h"
#include "libcert/example_keys.h"
#include "libcert/ofd.h"
#include "libcert/qr_payload.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "openapi.h"
#include "seal_keys.h"
#include "sqlite.h"
#include "tsa_service.h"

namespace certd {

namespace detail {

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Principal require(Store& store, const HttpRequest& req, std::string_view scope) {
  const auto a =
      authenticate(store, req.header_or_empty("Authorization"), req.header_or_empty("X-Api-Key"));
  // Every failure is counted by App::handle (error_map.h's caller): in /metrics, in the lock-outs
  // and in one aggregated auth.failure audit row per address and interval (service.md "Audit
  // log"), never a row per request. Nothing is written here.
  auto unauthorized = [](const std::string& detail, const char* reason,
                         const std::string& principal) {
    ApiError e(401, "unauthorized", "Authentication required", detail);
    e.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"certd\"");
    e.auth_failure = reason;
    e.auth_principal = principal;
    return e;
  };
  switch (a.kind) {
    case AuthResult::kOk:
      break;
    case AuthResult::kMissing:
      throw unauthorized("Authorization: missing; send 'Authorization: Bearer lic_…'", "missing",
                         "anonymous");
    case AuthResult::kMalformed:
      throw unauthorized("Authorization: not a certd API key ('Bearer lic_' + 52 base32 chars)",
                         "malformed", "anonymous");
    case AuthResult::kUnknown:
      throw unauthorized("Authorization: unknown API key", "unknown-key", "anonymous");
    case AuthResult::kRevoked:
      throw unauthorized("Authorization: this API key was revoked", "revoked-key",
                         a.principal.id);
  }
  if (!scope.empty() && !a.principal.has(scope)) {
    ApiError e(403, "forbidden", "Forbidden",
               "Authorization: this key lacks the scope '" + std::string(scope) + "'");
    e.auth_failure = "missing-scope";
    e.auth_principal = a.principal.id;
    throw e;
  }
  return a.principal;
}

namespace {
std::string media_type(const HttpRequest& req) {
  std::string ct = req.header_or_empty("Content-Type");
  const auto semi = ct.find(';');
  if (semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}
}  // namespace

nlohmann::json json_body(const HttpRequest& req, std::size_t limit,
                         const std::set<std::string>& allowed) {
  if (media_type(req) != "application/json") {
    throw ApiError(415, "unsupported-media-type", "Unsupported media type",
                   "Content-Type: expected application/json, got '" +
                       req.header_or_empty("Content-Type") + "'");
  }
  if (req.body.size() > limit) {
    throw ApiError(413, "payload-too-large", "Payload too large",
                   "body: " + std::to_string(req.body.size()) + " bytes exceeds the limit of " +
                       std::to_string(limit) + " bytes for JSON");
  }
  // Where the parser is, for a detail that names the field: "body.items[3].data.capital".
  struct Frame {
    bool array;
    std::size_t index;
    std::string key;
  };
  std::vector<Frame> at;
  auto where = [&at] {
    std::string w = "body";
    for (const auto& f : at) w += f.array ? "[" + std::to_string(f.index) + "]" : "." + f.key;
    return w;
  };
  using Event = nlohmann::json::parse_event_t;
  const nlohmann::json::parser_callback_t track = [&at](int, Event ev, nlohmann::json& parsed) {
    switch (ev) {
      case Event::object_start:
      case Event::array_start:
        at.push_back({ev == Event::array_start, 0, {}});
        break;
      case Event::key:
        if (!at.empty()) at.back().key = parsed.is_string() ? parsed.get<std::string>() : "";
        break;
      case Event::object_end:
      case Event::array_end:
        if (!at.empty()) at.pop_back();
        [[fallthrough]];
      case Event::value:
        if (!at.empty() && at.back().array) ++at.back().index;
        break;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(req.body, track);  // strict: rejects ill-formed UTF-8 and comments
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw ApiError(400, "malformed-json", "Malformed JSON", "body: " + what);
  } catch (const nlohmann::json::out_of_range&) {
    // RFC 8259 §6 lets a parser limit the range of numbers: one that overflows a double (1e400)
    // is refused here, naming the field, instead of escaping as an exception of the parser.
    throw ApiError(400, "invalid-request", "Invalid request",
                   where() + ": number out of range (beyond ±1.7976931348623157e308)");
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw ApiError(400, "malformed-json", "Malformed JSON", where() + ": " + what);
  }
  if (!j.is_object()) {
    throw ApiError(400, "invalid-request", "Invalid request", "body: expected a JSON object");
  }
  for (const auto& [k, v] : j.items()) {
    if (!allowed.count(k)) {
      throw ApiError(400, "invalid-request", "Invalid request", "body." + k + ": unknown field");
    }
  }
  return j;
}

void check_licence_id(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128 && id.find("..") == std::string::npos;
  for (char c : id) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                c == '.' || c == '-');
  }
  if (!ok) {
    throw ApiError(400, "invalid-id", "Invalid identifier",
                   "path id: a licence identifier has 1-128 characters [0-9A-Za-z.-] and no '..'");
  }
}

void check_template_id(const std::string& id, const std::string& what) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-');
  if (!ok) {
    throw ApiError(400, "invalid-id", "Invalid identifier",
                   what + ": a template id has 1-64 characters [a-z0-9-]");
  }
}

std::int64_t query_integer(const std::string& name, const std::string& value, std::int64_t lo,
                           std::int64_t hi) {
  std::int64_t n = 0;
  bool ok = !value.empty() && value.size() <= 18;
  for (char c : value) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok || n < lo || n > hi) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   "query " + name + ": expected an integer between " + std::to_string(lo) +
                       " and " + std::to_string(hi));
  }
  return n;
}

nlohmann::json licence_view(const LicenceRecord& r, bool with_data) {
  nlohmann::json j = {{"id", r.id},
                      {"number", r.number},
                      {"serial", r.serial},
                      {"template", r.template_id},
                      {"template_version", r.template_version},
                      {"department", r.department},
                      {"status", r.status},
                      {"issued_at", rfc3339(r.issued_at)},
                      {"pdf_sha256", r.pdf_sha256},
                      {"seal",
                       {{"department", r.department},
                        {"version", r.seal_version},
                        {"cert_sha256", r.seal_cert_sha256}}},
                      {"qr_text", r.qr_text},
                      {"status_index", r.status_index},
                      {"audit_index", r.audit_index},
                      {"links",
                       {{"self", "/v1/licences/" + r.id},
                        {"pdf", "/v1/licences/" + r.id + "/pdf"},
                        {"preview", "/v1/licences/" + r.id + "/preview.png"}}}};
  if (r.revoked_at) j["revoked_at"] = rfc3339(*r.revoked_at);
  if (r.reason) j["revocation_reason"] = *r.reason;
  if (with_data) {
    auto d = nlohmann::json::parse(r.data_json, nullptr, false);
    if (!d.is_discarded()) j["data"] = d;
  }
  return j;
}

void require_department(const Principal& p, const std::string& department,
                        const std::string& what) {
  if (p.is_admin()) return;
  if (p.department != department) {
    throw ApiError(403, "forbidden-department", "Forbidden",
                   what + ": belongs to department '" + department +
                       "'; this key is bound to department '" + p.department.value_or("") + "'");
  }
}

LicenceRecord visible_licence(Store& store, const Principal& who, const std::string& id,
                              bool with_pdf) {
  auto rec = store.get_licence(id, with_pdf);
  if (!rec || (!who.is_admin() && who.department != rec->department)) {
    throw ApiError(404, "not-found", "Not found", "id: no licence '" + id + "'");
  }
  return std::move(*rec);
}

}  // namespace detail

using detail::json_response;

namespace {

std::string_view field_type_name(libcert::FieldType t) {
  switch (t) {
    case libcert::FieldType::kText:
      return "text";
    case libcert::FieldType::kMultiline:
      return "multiline";
    case libcert::FieldType::kDate:
      return "date";
    case libcert::FieldType::kUscc:
      return "uscc";
    case libcert::FieldType::kIdNumber:
      return "id-number";
    case libcert::FieldType::kEnum:
      return "enum";
    case libcert::FieldType::kNumber:
      return "number";
    case libcert::FieldType::kPattern:
      return "pattern";
  }
  return "text";
}

nlohmann::json template_summary(const libcert::Template& t) {
  return {{"id", t.id()},
          {"version", t.version()},
          {"type_code", t.type_code()},
          {"title", {{"bo", t.title().bo}, {"zh", t.title().zh}}},
          {"department",
           {{"id", t.department().id},
            {"name", {{"bo", t.department().name.bo}, {"zh", t.department().name.zh}}}}}};
}

nlohmann::json template_detail(const libcert::Template& t) {
  nlohmann::json j = template_summary(t);
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : t.fields()) {
    nlohmann::json fj = {{"name", f.name},
                         {"label", {{"bo", f.label.bo}, {"zh", f.label.zh}}},
                         {"type", field_type_name(f.type)},
                         {"required", f.required}};
    if (f.max_length != 0) fj["max_length"] = f.max_length;
    if (!f.pattern.empty()) fj["pattern"] = f.pattern;
    if (!f.pattern_description.empty()) fj["pattern_description"] = f.pattern_description;
    if (!f.values.empty()) {
      nlohmann::json vals = nlohmann::json::array();
      for (const auto& v : f.values) {
        nlohmann::json vj = {{"zh", v.zh}};
        if (!v.code.empty()) vj["code"] = v.code;
        if (!v.bo.empty()) vj["bo"] = v.bo;
        vals.push_back(vj);
      }
      fj["values"] = vals;
    }
    if (f.min) fj["min"] = *f.min;
    if (f.max) fj["max"] = *f.max;
    if (f.type == libcert::FieldType::kNumber) fj["decimals"] = f.decimals;
    if (f.not_future) fj["not_future"] = true;
    if (!f.not_before.empty()) fj["not_before"] = f.not_before;
    fields.push_back(fj);
  }
  j["fields"] = fields;
  j["holder_field"] = t.holder_field();
  j["holder_code_field"] = t.holder_code_field();
  return j;
}

nlohmann::json registry_view(const std::optional<LicenceRecord>& rec) {
  if (!rec) return {{"found", false}};
  nlohmann::json j = {{"found", true},
                      {"id", rec->id},
                      {"status", rec->status},
                      {"department", rec->department},
                      {"template", rec->template_id},
                      {"issued_at", detail::rfc3339(rec->issued_at)}};
  if (rec->revoked_at) j["revoked_at"] = detail::rfc3339(*rec->revoked_at);
  return j;
}

}  // namespace

struct App::Impl {
  Impl(const Services& services, Metrics& metrics) : s(services), issuance(services, metrics) {}
  const Services& s;
  IssuanceService issuance;

  void need(const void* component, const char* what) const {
    if (component == nullptr) {
      ApiError e(503, "unavailable", "Service unavailable",
                 std::string(what) + " is not loaded on this server");
      e.headers.emplace_back("Retry-After", "30");
      throw e;
    }
  }

  HttpResponse list_templates(const HttpRequest& req, const Params&) const {
    (void)detail::require(*s.store, req, "");
    need(s.templates, "the template set");
    nlohmann::json items = nlohmann::json::array();
    for (const auto& id : s.templates->ids()) {
      items.push_back(template_summary(*s.templates->get(id)));
    }
    return json_response(200, {{"items", items}});
  }

  HttpResponse get_template(const HttpRequest& req, const Params& p) const {
    (void)detail::require(*s.store, req, "");
    need(s.templates, "the template set");
    const std::string& id = p.at("id");
    detail::check_template_id(id, "path id");
    const auto ids = s.templates->ids();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      throw ApiError(404, "not-found", "Not found", "id: no template '" + id + "'");
    }
    return json_response(200, template_detail(*s.templates->get(id)));
  }

  // POST /v1/verify: a PDF (application/pdf) or {"qr": "..."} (application/json). Public and
  // rate-limited; the answer joins the cryptographic verdict with the registry's status.
  HttpResponse verify(const HttpRequest& req, const Params&) const {
    std::string ct = req.header_or_empty("Content-Type");
    if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
    for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // A licence file: a PDF, or an OFD (issue 22) — declared as application/ofd, or recognised
    // by its ZIP local-header magic under application/pdf or application/octet-stream (clients
    // that label every file alike). Both answer in one report shape with one verdict set.
    const bool zip = libcert::looks_like_ofd(req.body);
    if (ct == "application/ofd" || ((ct == "application/pdf" || ct == kOctetStream) && zip)) {
      return verify_file(req, true);
    }
    if (ct == "application/pdf" || ct == kOctetStream) return verify_file(req, false);
    if (ct == "application/json") {
      return verify_qr_text(req);
    }
    throw ApiError(415, "unsupported-media-type", "Unsupported media type",
                   "Content-Type: expected application/pdf or application/ofd (a licence file) or "
                   "application/json ({\"qr\": ...}), got '" +
                       req.header_or_empty("Content-Type") + "'");
  }

  static constexpr const char* kOctetStream = "application/octet-stream";

  HttpResponse verify_file(const HttpRequest& req, bool ofd) const {
    const char* what = ofd ? "OFD" : "PDF";
    if (ofd) {
      need(s.ofd_trust, "the SM2 seal root (keys/sm2/root.crt)");
    } else {
      need(s.trust, "the trust store");
    }
    {
      if (req.body.size() > s.config->limits.pdf_body_bytes) {
        throw ApiError(413, "payload-too-large", "Payload too large",
                       "body: " + std::to_string(req.body.size()) + " bytes exceeds the limit of " +
                           std::to_string(s.config->limits.pdf_body_bytes) + " bytes for " + what);
      }
      if (req.body.empty()) {
        throw ApiError(400, "invalid-request", "Invalid request",
                       std::string("body: empty; send the ") + what);
      }
      libcert::VerifyOptions opts;
      opts.clock = s.clock;
      opts.max_file_size = s.config->limits.pdf_body_bytes;
      // Key versions and states: the registry's (issue 7) for PDF seals; the configured SM2
      // seals for OFD (main.cpp). A bad or hostile file is a report (INVALID / INDETERMINATE
      // with the check named), never an error: verify_ofd and verify_pdf never throw for input.
      const libcert::VerificationReport rep =
          ofd ? libcert::verify_ofd(req.body, *s.ofd_trust, with_keys(opts, s.ofd_keys))
              : libcert::verify_pdf(req.body, *s.trust, with_keys(opts, s.seal_keys));
      const auto rec =
          s.store->find_licence_by_rendition(sha256_hex(req.body), ofd ? kFormatOfd : kFormatPdf);
      // The one verdict set (libcert/verdict.h, docs/verdicts.md), as certctl prints it.
      std::string overall(libcert::to_string(rep.result));
      std::vector<std::string> reasons = rep.reasons;
      if (rep.result == libcert::Verdict::kValid && rec && rec->status == "revoked") {
        overall = "REVOKED";
        reasons.push_back("registry: licence " + rec->id + " was revoked on " +
                          detail::rfc3339(*rec->revoked_at));
      }
      nlohmann::json seal = nullptr;
      if (!rep.signatures.empty()) {
        const auto& sig = rep.signatures.front();
        seal = {{"department", rec ? nlohmann::json(rec->department) : nlohmann::json()},
                {"version",
                 sig.key_version.empty() ? nlohmann::json() : nlohmann::json(sig.key_version)},
                {"state", sig.key_state.empty() ? nlohmann::json() : nlohmann::json(sig.key_state)},
                {"cert_sha256", sig.cert_sha256}};
      }
      nlohmann::json body = {{"result", overall},
                             {"kind", ofd ? kFormatOfd : kFormatPdf},
                             {"seal", seal},
                             {"reasons", reasons},
                             {"registry", registry_view(rec)},
                             {"report", rep.to_json()}};
      // Sealed with the demo PKI: the report says so at the top as well (issue 18).
      body["example_keys"] = rep.example_keys();
      if (rep.example_keys()) body["notice"] = std::string(libcert::kExampleKeysNotice);
      return json_response(200, body);
    }
  }

  static libcert::VerifyOptions with_keys(libcert::VerifyOptions o,
                                          const libcert::SealKeyDirectory* keys) {
    o.keys = keys;
    return o;
  }

  HttpResponse verify_qr_text(const HttpRequest& req) const {
    {
      std::shared_ptr<const libcert::TrustBundle> versions;
      if (s.seal_keys != nullptr) {
        versions = s.seal_keys->bundle(s.clock->now());
      } else {
        need(s.seals, "the seal certificates");
      }
      const libcert::TrustBundle& bundle = versions ? *versions : *s.seals;
      const auto j = detail::json_body(req, s.config->limits.json_body_bytes, {"qr"});
      if (!j.contains("qr") || !j["qr"].is_string() || j["qr"].get<std::string>().empty() ||
          j["qr"].get<std::string>().size() > 4096) {
        throw ApiError(400, "invalid-request", "Invalid request",
                       "body.qr: required, the scanned QR text (1-4096 characters)");
      }
      const libcert::QrVerdict v =
          libcert::verify_qr(j["qr"].get<std::string>(), bundle, s.clock->now());
      std::optional<LicenceRecord> rec;
      if (v.signature_ok && v.claims) {
        const std::string& id = v.claims->licence.identifier;
        bool plausible = !id.empty() && id.size() <= 128;
        if (plausible) rec = s.store->get_licence(id, false);
      }
      std::string overall(libcert::to_string(v.verdict));
      std::string check = v.check;
      std::string reason = v.reason;
      // Online: the registry is the authority on revocation (the QR's status bit is only as fresh
      // as the verifier's bundle). certd's own bundle carries no status lists, so verify_qr stops
      // at INDETERMINATE "status" and the registry decides; with no registry record the verdict
      // stays INDETERMINATE (fail closed).
      const bool status_open =
          v.verdict == libcert::Verdict::kValid || v.verdict == libcert::Verdict::kExpired ||
          (v.verdict == libcert::Verdict::kIndeterminate && v.check == "status");
      if (status_open && rec && rec->status == "revoked") {
        overall = "REVOKED";
        check = "status";
        reason =
            "registry: licence " + rec->id + " was revoked on " + detail::rfc3339(*rec->revoked_at);
      } else if (v.verdict == libcert::Verdict::kIndeterminate && v.check == "status" && rec &&
                 rec->status == "valid") {
        if (v.claims->expires_at && s.clock->now() >= *v.claims->expires_at) {
          overall = "EXPIRED";
          check = "expiry";
          reason = "licence expired at " + std::to_string(*v.claims->expires_at);
        } else {
          overall = "VALID";
          check.clear();
          reason = "status from the registry: licence " + rec->id + " is valid";
        }
      }
      nlohmann::json claims = nullptr;
      if (v.claims && v.signature_ok) {
        const auto& l = v.claims->licence;
        claims = {{"identifier", l.identifier},
                  {"type_code", l.type_code},
                  {"holder_name", l.holder_name},
                  {"holder_code", l.holder_code},
                  {"title", l.title},
                  {"issue_date", l.issue_date},
                  {"area_code", l.area_code},
                  {"status_index", l.status_index},
                  {"issuer", v.claims->issuer},
                  {"issued_at", v.claims->issued_at}};
      }
      nlohmann::json body = {{"result", overall},
                             {"kind", "qr"},
                             {"check", check.empty() ? nlohmann::json() : nlohmann::json(check)},
                             {"reason", reason},
                             {"signature_ok", v.signature_ok},
                             {"kid", v.kid_hex},
                             {"seal_department", v.seal_department},
                             {"seal_version", v.seal_version},
                             {"claims", claims},
                             {"registry", registry_view(rec)}};
      const bool example = libcert::is_example_certificate(bundle.root_der);
      body["example_keys"] = example;
      if (example) body["notice"] = std::string(libcert::kExampleKeysNotice);
      return json_response(200, body);
    }
  }

  HttpResponse healthz(const HttpRequest&, const Params&) const {
    return json_response(200, {{"status", "ok"}});
  }

  HttpResponse readyz(const HttpRequest&, const Params&) const {
    // The issuing path's own checks (issuance_service.h): registry writable, clock within the
    // skew, active seal keys readable; cached about a second.
    Readiness rd = issuance.readiness();
    rd.checks["trust"] = s.trust != nullptr ? "ok" : "not loaded";
    auto r = json_response(rd.ready ? 200 : 503,
                           {{"status", rd.ready ? "ready" : "not-ready"}, {"checks", rd.checks}});
    if (!rd.ready) r.headers.emplace_back("Retry-After", "5");
    return r;
  }

  HttpResponse openapi(const HttpRequest&, const Params&) const {
    HttpResponse r;
    r.content_type = "application/json";
    r.body = openapi_json();
    return r;
  }

  HttpResponse get_licence(const HttpRequest& req, const Params& p) const {
    const Principal who = detail::require(*s.store, req, kScopeRead);
    const std::string& id = p.at("id");
    detail::check_licence_id(id);
    const LicenceRecord rec = detail::visible_licence(*s.store, who, id, false);
    nlohmann::json view = detail::licence_view(rec, true);
    // Every stored rendition (format x version, store.h Rendition); links to the latest of each.
    view["renditions"] = nlohmann::json::array();
    for (const auto& x : s.store->list_renditions(id)) {
      view["renditions"].push_back({{"format", x.format},
                                    {"version", x.version},
                                    {"sha256", x.sha256},
                                    {"size", x.size},
                                    {"created_at", detail::rfc3339(x.created_at)},
                                    {"reason", x.reason},
                                    {"audit_index", x.audit_index}});
      view["links"][x.format] = "/v1/licences/" + id + "/" + x.format;
    }
    return json_response(200, view);
  }

  // GET /v1/licences/{id}/pdf and /ofd: the latest stored version of that rendition, exactly as
  // stored; the ETag is its SHA-256, so it changes with each new version (archive renewal).
  HttpResponse get_rendition(const HttpRequest& req, const Params& p, const char* format) const {
    const Principal who = detail::require(*s.store, req, kScopeRead);
    const std::string& id = p.at("id");
    detail::check_licence_id(id);
    (void)detail::visible_licence(*s.store, who, id, false);
    auto rend = s.store->latest_rendition(id, format, true);
    if (!rend) {
      throw ApiError(404, "rendition-not-found", "Rendition not found",
                     std::string(format) + ": licence '" + id + "' has no " +
                         (std::string(format) == kFormatOfd ? "OFD" : "PDF") +
                         " rendition (it was not issued in that format)");
    }
    HttpResponse r;
    const std::string etag = "\"" + rend->sha256 + "\"";
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "private, max-age=0, must-revalidate");
    if (req.header_or_empty("If-None-Match") == etag) {
      r.status = 304;
      r.content_type.clear();
      return r;
    }
    r.content_type = std::string(format) == kFormatOfd ? "application/ofd" : "application/pdf";
    r.headers.emplace_back("X-Rendition-Version", std::to_string(rend->version));
    r.body = std::move(rend->bytes);
    return r;
  }

  HttpResponse list_licences(const HttpRequest& req, const Params&) const {
    const Principal who = detail::require(*s.store, req, kScopeRead);
    ListQuery q;
    if (!who.is_admin()) q.department = who.department;
    static const std::set<std::string> kAllowed = {"status", "template", "issued_after",
                                                   "limit",  "cursor",   "department"};
    for (const auto& [k, v] : req.query) {
      if (!kAllowed.count(k)) {
        throw ApiError(400, "invalid-request", "Invalid request",
                       "query " + k + ": unknown parameter");
      }
      if (req.query.count(k) > 1) {
        throw ApiError(400, "invalid-request", "Invalid request", "query " + k + ": given twice");
      }
    }
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = req.query.find(k);
      if (it == req.query.end()) return std::nullopt;
      return it->second;
    };
    const auto integer = detail::query_integer;
    if (auto v = get("status")) {
      if (*v != "valid" && *v != "revoked") {
        throw ApiError(400, "invalid-request", "Invalid request",
                       "query status: expected 'valid' or 'revoked'");
      }
      q.status = *v;
    }
    if (auto v = get("template")) {
      detail::check_template_id(*v, "query template");
      q.template_id = *v;
    }
    if (auto v = get("department")) {
      if (!who.is_admin() && *v != who.department) {
        detail::require_department(who, *v, "query department");
      }
      q.department = *v;
    }
    if (auto v = get("issued_after")) q.issued_after = integer("issued_after", *v, 0, 1LL << 40);
    if (auto v = get("limit")) q.limit = static_cast<int>(integer("limit", *v, 1, 200));
    if (auto v = get("cursor")) {
      // Opaque to clients; "a" + the audit index to continue below (keyset pagination).
      if (v->size() < 2 || (*v)[0] != 'a') {
        throw ApiError(400, "invalid-request", "Invalid request",
                       "query cursor: not a cursor returned by this API");
      }
      q.before_audit_index = integer("cursor", v->substr(1), 0, 1LL << 62);
    }
    const ListPage page = s.store->list_licences(q);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : page.items) items.push_back(detail::licence_view(r, false));
    nlohmann::json body = {{"items", items}};
    body["next_cursor"] = page.next_before ? nlohmann::json("a" + std::to_string(*page.next_before))
                                           : nlohmann::json();
    return json_response(200, body);
  }

  HttpResponse revoke(const HttpRequest& req, const Params& p) const {
    const Principal who = detail::require(*s.store, req, kScopeRevoke);
    const std::string& id = p.at("id");
    detail::check_licence_id(id);
    const auto body = detail::json_body(req, s.config->limits.json_body_bytes, {"reason"});
    if (!body.contains("reason") || !body["reason"].is_string()) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.reason: required, a string of 1-500 characters");
    }
    const std::string reason = body["reason"].get<std::string>();
    if (reason.empty() || reason.size() > 2000) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "body.reason: required, a string of 1-500 characters");
    }
    // Resource check before any write: a key of another department changes nothing.
    (void)detail::visible_licence(*s.store, who, id, false);
    const auto res = s.store->revoke_licence(id, reason, s.clock->now(), {who.id, req.request_id});
    if (!res) throw ApiError(404, "not-found", "Not found", "id: no licence '" + id + "'");
    if (res->changed && s.bundle != nullptr) s.bundle->invalidate();  // its status bit is set now
    return json_response(200, detail::licence_view(res->record, true));
  }
};

App::App(Services s) : s_(std::move(s)), metrics_(std::make_unique<Metrics>()) {
  auth_limiter_ = std::make_unique<AuthFailureLimiter>(s_.config->limits.auth_failures_per_minute,
                                                       s_.config->limits.auth_lockout_s);
  auth_tally_ = std::make_unique<AuthFailureTally>(
      static_cast<double>(s_.config->limits.auth_failure_audit_interval_s), 10000);
  public_limiter_ = std::make_unique<RateLimiter>(s_.config->limits.verify_per_minute,
                                                  s_.config->limits.verify_burst);
  tsa_ = std::make_unique<TsaService>(*s_.store, *s_.clock, s_.tsa, s_.config->limits);
  impl_ = std::make_unique<Impl>(s_, *metrics_);
  auto bind = [this](HttpResponse (Impl::*fn)(const HttpRequest&, const Params&) const) {
    return [this, fn](const HttpRequest& r, const Params& p) { return (impl_.get()->*fn)(r, p); };
  };
  routes_ = {
      {"GET", "/healthz", true, bind(&Impl::healthz)},
      {"GET", "/readyz", true, bind(&Impl::readyz)},
      // Operational counts (issuance per template, errors) are not public (issue 17): a key with
      // metrics:read — an admin key, or a scraper's key with only that scope.
      {"GET", "/metrics", false,
       [this](const HttpRequest& req, const Params&) {
         (void)detail::require(*s_.store, req, kScopeMetricsRead);
         HttpResponse r;
         r.content_type = "text/plain; version=0.0.4";
         if (s_.seal_keys != nullptr) {
           try {
             (void)s_.seal_keys->update_expiry_gauges(*metrics_, s_.clock->now());
           } catch (const RegistryError&) {
             // the gauges keep their last values; /readyz reports the registry
           }
         }
         r.body = metrics_->render();
         return r;
       }},
      {"GET", "/v1/openapi.json", true, bind(&Impl::openapi)},
      {"GET", "/v1/templates", false, bind(&Impl::list_templates)},
      {"GET", "/v1/templates/{id}", false, bind(&Impl::get_template)},
      {"POST", "/v1/verify", true, bind(&Impl::verify)},
      {"POST", "/v1/licences", false,
       [this](const HttpRequest& r, const Params&) {
         return detail::issue_licence(s_, *metrics_, impl_->issuance, r);
       }},
      {"POST", "/v1/licences:batch", false,
       [this](const HttpRequest& r, const Params&) {
         return detail::issue_batch(s_, *metrics_, impl_->issuance, r);
       }},
      {"GET", "/v1/licences", false, bind(&Impl::list_licences)},
      {"GET", "/v1/licences/{id}", false, bind(&Impl::get_licence)},
      {"GET", "/v1/licences/{id}/pdf", false,
       [this](const HttpRequest& r, const Params& p) {
         return impl_->get_rendition(r, p, kFormatPdf);
       }},
      {"GET", "/v1/licences/{id}/ofd", false,
       [this](const HttpRequest& r, const Params& p) {
         return impl_->get_rendition(r, p, kFormatOfd);
       }},
      {"POST", "/v1/licences/{id}/revoke", false, bind(&Impl::revoke)},
      {"GET", "/v1/licences/{id}/preview.png", false,
       [this](const HttpRequest& r, const Params& p) { return detail::preview_png(s_, r, p); }},
      {"GET", "/v1/trust-bundle", true,
       [this](const HttpRequest& r, const Params& p) { return detail::trust_bundle(s_, r, p); }},
      {"GET", "/v1/crl", true,
       [this](const HttpRequest& r, const Params& p) { return detail::crl(s_, r, p); }},
      // The inspector's page: the QR's URL is HTTPS://HOST/V#<digits> (qr.md).
      {"GET", "/V", true,
       [this](const HttpRequest& r, const Params&) {
         return detail::web_file(s_, r, "index.html");
       }},
      {"GET", "/v", true,
       [this](const HttpRequest& r, const Params&) {
         return detail::web_file(s_, r, "index.html");
       }},
      {"GET", "/sw.js", true,
       [this](const HttpRequest& r, const Params&) { return detail::web_file(s_, r, "sw.js"); }},
      {"GET", "/web/{file}", true,
       [this](const HttpRequest& r, const Params& p) {
         return detail::web_file(s_, r, p.at("file"));
       }},
      // Seal key lifecycle (seal:admin) and the audit log (audit:read): app_seals.cpp.
      {"GET", "/v1/seals", false,
       [this](const HttpRequest& r, const Params&) { return detail::seals_list(s_, r); }},
      {"POST", "/v1/seals/{department}/keys", false,
       [this](const HttpRequest& r, const Params& p) { return detail::seal_create(s_, r, p); }},
      {"PUT", "/v1/seals/{department}/keys/{version}/certificate", false,
       [this](const HttpRequest& r, const Params& p) { return detail::seal_install(s_, r, p); }},
      {"POST", "/v1/seals/{department}/keys/{version}:activate", false,
       [this](const HttpRequest& r, const Params& p) {
         return detail::seal_step(s_, r, p, "activate");
       }},
      {"POST", "/v1/seals/{department}/keys/{version}:retire", false,
       [this](const HttpRequest& r, const Params& p) {
         return detail::seal_step(s_, r, p, "retire");
       }},
      {"POST", "/v1/seals/{department}/keys/{version}:revoke", false,
       [this](const HttpRequest& r, const Params& p) {
         return detail::seal_step(s_, r, p, "revoke");
       }},
      // RFC 3161 time-stamps (tsa_service.h): authentication errors are problem+json like every
      // route; everything after them is a TimeStampResp.
      {"POST", "/v1/tsa", false,
       [this](const HttpRequest& r, const Params&) {
         return tsa_->handle(r, detail::require(*s_.store, r, kScopeTsa));
       }},
      {"GET", "/v1/audit/checkpoint", false,
       [this](const HttpRequest& r, const Params&) { return detail::audit_checkpoint(s_, r); }},
      {"GET", "/v1/audit/entries", false,
       [this](const HttpRequest& r, const Params&) { return detail::audit_entries(s_, r); }},
      {"GET", "/v1/audit/proof/inclusion", false,
       [this](const HttpRequest& r, const Params&) { return detail::audit_inclusion(s_, r); }},
      {"GET", "/v1/audit/proof/consistency", false,
       [this](const HttpRequest& r, const Params&) { return detail::audit_consistency(s_, r); }},
  };
}

App::~App() {
  // The failures of the last, unfinished interval: written at shutdown rather than lost.
  try {
    write_auth_failures(auth_tally_->take_due(0, true));
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to report to at shutdown
  }
}

void App::write_auth_failures(const std::vector<AuthFailureTally::Row>& rows) const {
  for (const auto& row : rows) {
    const nlohmann::json details = {{"count", row.count},
                                    {"reasons", row.reasons},
                                    {"interval_s", auth_tally_->interval_s()}};
    try {
      (void)s_.store->record_event("auth.failure", row.object, details.dump(), s_.clock->now(),
                                   Actor{row.principal, row.request_id});
    } catch (...) {
      // A registry that cannot take the row now does not fail the request that flushed it; the
      // counts stay in /metrics (certd_auth_failures_total).
      const MappedError m = map_current_exception(row.request_id);
      if (s_.log) {
        s_.log(nlohmann::json{{"ts", detail::rfc3339(s_.clock->now())},
                              {"level", "warn"},
                              {"msg", "auth.failure audit row not written"},
                              {"request_id", row.request_id},
                              {"count", row.count},
                              {"error", m.cause}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
  }
}

void App::record_lockout(const std::string& object, const std::string& request_id,
                         std::string& error) const {
  // A lock-out is a state change of the service: one audit row per lock-out, naming the hashed
  // address or the hashed credential, never the address or the key.
  const nlohmann::json details = {
      {"failures_per_minute", s_.config->limits.auth_failures_per_minute},
      {"lockout_s", s_.config->limits.auth_lockout_s}};
  try {
    (void)s_.store->record_event("auth.lockout", object, details.dump(), s_.clock->now(),
                                 Actor{"anonymous", request_id});
  } catch (...) {
    error = "audit row for auth.lockout not written: " + map_current_exception(request_id).cause;
  }
  if (s_.log) {
    s_.log(nlohmann::json{{"ts", detail::rfc3339(s_.clock->now())},
                          {"level", "warn"},
                          {"msg", object.rfind("address:", 0) == 0
                                      ? "authentication failures: address locked out"
                                      : "authentication failures: API key locked out"},
                          {"request_id", request_id},
                          {"client", object},
                          {"lockout_s", s_.config->limits.auth_lockout_s}}
               .dump());
  }
}

std::vector<std::pair<std::string, std::string>> App::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segs;
  std::size_t i = 1;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    segs.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return segs;
}

bool match(const std::string& pattern, const std::vector<std::string>& segs, Params& out) {
  const auto pat = split_path(pattern);
  if (pat.size() != segs.size()) return false;
  Params p;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const auto close = pat[i].find('}');
    if (pat[i].size() > 2 && pat[i].front() == '{' && close == pat[i].size() - 1) {
      if (segs[i].empty()) return false;
      p[pat[i].substr(1, pat[i].size() - 2)] = segs[i];
    } else if (pat[i].size() > 2 && pat[i].front() == '{' && close != std::string::npos &&
               pat[i][close + 1] == ':') {
      // "{version}:activate" (AIP-136 custom method): a parameter, then a literal suffix.
      const std::string suffix = pat[i].substr(close + 1);
      if (segs[i].size() <= suffix.size() ||
          segs[i].compare(segs[i].size() - suffix.size(), suffix.size(), suffix) != 0) {
        return false;
      }
      p[pat[i].substr(1, close - 1)] = segs[i].substr(0, segs[i].size() - suffix.size());
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  out = std::move(p);
  return true;
}

// RFC 3629 §4: well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

bool valid_request_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

HttpResponse App::dispatch(const HttpRequest& req, std::string& route) const {
  if (req.path.empty() || req.path[0] != '/') {
    throw ApiError(400, "invalid-request", "Invalid request", "path: must start with '/'");
  }
  // Every route's path parameters are decoded by the server (percent-decoding) and checked here,
  // once: a decoded path that is not UTF-8 (%FF, %C0%AF) names no resource.
  if (!valid_utf8(req.path)) {
    throw ApiError(400, "invalid-path", "Invalid path",
                   "path: not valid UTF-8 after percent-decoding (RFC 3986 §2.5, RFC 3629)");
  }
  const auto segs = split_path(req.path);
  for (const auto& seg : segs) {
    // Dot segments, empty segments and control bytes (a decoded %2F..%2F or %00) never name a
    // resource: refuse them before any route sees them.
    bool ctl = false;
    for (char c : seg) ctl = ctl || static_cast<unsigned char>(c) < 0x20;
    if (seg == "." || seg == ".." || ctl || (seg.empty() && &seg != &segs.back())) {
      throw ApiError(400, "invalid-path", "Invalid path",
                     "path: dot segments, empty segments and control characters are not allowed");
    }
  }
  std::vector<std::string> allow;
  for (const auto& r : routes_) {
    Params p;
    if (!match(r.pattern, segs, p)) continue;
    if (r.method != req.method) {
      allow.push_back(r.method);
      continue;
    }
    route = r.pattern;
    // Public routes that do work per request are limited per address: verification, and the
    // preview fetched with a QR proof instead of a key.
    if ((r.is_public && r.pattern.rfind("/v1/verify", 0) == 0) ||
        (r.pattern == "/v1/licences/{id}/preview.png" && detail::anonymous(req))) {
      const double now =
          std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
              .count();
      if (auto wait = public_limiter_->take(req.remote_addr, now)) {
        ApiError e(
            429, "rate-limited", "Too many requests",
            "this address sent more than " + std::to_string(s_.config->limits.verify_per_minute) +
                " verification requests per minute; retry after " + std::to_string(*wait) + " s");
        e.headers.emplace_back("Retry-After", std::to_string(*wait));
        throw e;
      }
    }
    return r.handler(req, p);
  }
  if (!allow.empty()) {
    std::string a;
    for (const auto& m : allow) a += (a.empty() ? "" : ", ") + m;
    ApiError e(405, "method-not-allowed", "Method not allowed",
               "method " + req.method + " is not allowed on this path; allowed: " + a);
    e.headers.emplace_back("Allow", a);
    throw e;
  }
  throw ApiError(404, "not-found", "Not found", "path: no such route");
}

HttpResponse App::handle(HttpRequest req) const {
  const auto t0 = std::chrono::steady_clock::now();
  if (!valid_request_id(req.request_id)) {
    std::string incoming = req.header_or_empty("X-Request-Id");
    if (valid_request_id(incoming)) {
      req.request_id = incoming;
    } else {
      std::uint8_t b[12];
      s_.rng->fill(b);
      req.request_id = base32_lower(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
    }
  }
  std::string route = "(unmatched)";
  HttpResponse r;
  std::string internal_error;
  // Abuse limits by credential and by address (issues 10, 17; ratelimit.h). The credential is a
  // hash of the key as presented: a key that keeps failing is refused before any lookup, from any
  // address; an address where keys keep failing gets 429 instead of 401 for keys that fail, but a
  // key that authenticates always passes, whoever else shares the address.
  const std::string presented = req.header("Authorization").value_or(req.header_or_empty("X-Api-Key"));
  const bool has_credentials = req.header("Authorization") || req.header("X-Api-Key");
  const std::string credential =
      has_credentials ? "key:" + sha256_hex("certd-credential\n" + presented).substr(0, 16) : "";
  // The address is personal data: logs and audit rows name only a truncated hash of it.
  const std::string client = "address:" + sha256_hex(req.remote_addr).substr(0, 16);
  const double steady_now =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const int per_minute = s_.config->limits.auth_failures_per_minute;
  auto rate_limited = [](const std::string& detail, int wait) {
    ApiError e(429, "auth-rate-limited", "Too many failed authentications",
               detail + "; retry after " + std::to_string(wait) + " s");
    e.headers.emplace_back("Retry-After", std::to_string(wait));
    return e;
  };
  std::string auth_failure, auth_principal;
  try {
    if (has_credentials) {
      if (auto wait = auth_limiter_->credential_locked(credential, steady_now)) {
        ApiError e = rate_limited("this API key failed more than " + std::to_string(per_minute) +
                                      " times in a minute",
                                  *wait);
        e.auth_failure = "locked-key";
        e.auth_principal = "anonymous";
        throw e;
      }
    }
    r = dispatch(req, route);
  } catch (...) {
    // The one translation (error_map.h): 4xx naming the field, 503 + Retry-After for the
    // environment, 500 only for bugs; the full cause goes to this request's log line only.
    MappedError m = map_current_exception(req.request_id);
    internal_error = std::move(m.cause);
    auth_failure = m.problem.auth_failure;
    auth_principal = m.problem.auth_principal;
    if (m.problem.status() == 401 && has_credentials) {
      const auto started = auth_limiter_->failed(req.remote_addr, credential, steady_now);
      for (const auto& [yes, object] :
           {std::pair{started.address, client}, std::pair{started.credential, credential}}) {
        if (yes) record_lockout(object, req.request_id, internal_error);
      }
      const auto by_address = auth_limiter_->address_locked(req.remote_addr, steady_now);
      const auto by_key = auth_limiter_->credential_locked(credential, steady_now);
      if (by_address || by_key) {
        ApiError e = rate_limited(
            by_key ? "this API key failed more than " + std::to_string(per_minute) +
                         " times in a minute"
                   : "this address presented more than " + std::to_string(per_minute) +
                         " invalid API keys in a minute",
            std::max(by_address.value_or(0), by_key.value_or(0)));
        e.auth_failure = m.problem.auth_failure;
        e.auth_principal = m.problem.auth_principal;
        m.problem = std::move(e);
      }
    }
    r = problem_response(m.problem, req.path, req.request_id);
  }
  if (!auth_failure.empty()) {
    metrics_->count_auth_failure(auth_failure);
    auth_tally_->add(auth_principal.empty() ? "anonymous" : auth_principal, client, auth_failure,
                     req.request_id, steady_now);
  }
  write_auth_failures(auth_tally_->take_due(steady_now));
  tsa_->flush(steady_now);  // aggregated tsa.stamp rows of ended intervals
  r.route = route;
  r.headers.emplace_back("X-Request-Id", req.request_id);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics_->observe_request(route, req.method, r.status, secs);
  if (!r.problem_type.empty()) metrics_->count_error(r.problem_type);
  if (s_.log) {
    // One line per request. No keys, no bodies, no query strings, no client addresses (personal
    // data): the request id ties it to the client's own records.
    nlohmann::json line = {
        {"ts", detail::rfc3339(s_.clock->now())},
        {"level", r.status >= 500 ? "error" : "info"},
        {"msg", "request"},
        {"request_id", req.request_id},
        {"method", Metrics::method_label(req.method)},
        {"route", route},
        {"status", r.status},
        {"latency_ms", static_cast<double>(static_cast<std::int64_t>(secs * 1e5)) / 100.0}};
    if (!r.problem_type.empty()) line["problem"] = r.problem_type;
    if (!internal_error.empty()) line["error"] = internal_error;
    s_.log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return r;
}

}  // namespace certd
