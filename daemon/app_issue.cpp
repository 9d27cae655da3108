// POST /v1/licences and POST /v1/licences:batch — request checks and Idempotency-Key semantics
// (service.md); the issuance itself is the issuance service's (issuance_service.h).
#include "app_issue.h"

#include <map>
#include <memory>
#include <mutex>

#include "app_internal.h"
#include "error_map.h"
#include "libcert/example_keys.h"
#include "libcert/issuer.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "issuance_service.h"
#include "seal_keys.h"

namespace certd::detail {

namespace {

std::string idempotency_key(const HttpRequest& req) {
  const auto k = req.header("Idempotency-Key");
  auto bad = [](const std::string& d) {
    return ApiError(400, "missing-idempotency-key", "Idempotency-Key required", d);
  };
  if (!k) throw bad("Idempotency-Key: required header (1-255 printable ASCII characters)");
  if (k->empty() || k->size() > 255) {
    throw bad("Idempotency-Key: must have 1-255 printable ASCII characters");
  }
  for (char c : *k) {
    if (c < 0x21 || c > 0x7e) {
      throw bad("Idempotency-Key: must have 1-255 printable ASCII characters");
    }
  }
  return *k;
}

struct Item {
  std::shared_ptr<const libcert::Template> tmpl;
  nlohmann::json data;           // as requested (valid_from/valid_to merged in)
  libcert::LicenceData checked;  // the issuance service's validation of `data`
  bool ofd = false;              // also make the OFD rendition (formats / Accept, issue 22)
};

// `formats` of an issuing request (issue 22 "one licence, two renditions"): distinct names from
// "pdf" and "ofd", always with "pdf" — every licence has its PDF (the registry row, the preview,
// the holder's copy); "ofd" adds the GB/T 38540-sealed OFD of the same licence. Absent: ["pdf"].
bool wants_ofd_format(const nlohmann::json& body, const std::string& where) {
  if (!body.contains("formats")) return false;
  const auto& f = body["formats"];
  const auto bad = [&] {
    return ApiError(400, "invalid-request", "Invalid request",
                    where + ".formats: expected distinct formats from \"pdf\", \"ofd\", "
                            "including \"pdf\" (e.g. [\"pdf\", \"ofd\"])");
  };
  if (!f.is_array() || f.empty() || f.size() > 2) throw bad();
  std::set<std::string> seen;
  for (const auto& e : f) {
    if (!e.is_string()) throw bad();
    const std::string v = e.get<std::string>();
    if ((v != kFormatPdf && v != kFormatOfd) || !seen.insert(v).second) throw bad();
  }
  if (seen.count(kFormatPdf) == 0) throw bad();
  return seen.count(kFormatOfd) > 0;
}

// Checks one issuing request object and everything that needs no write: the template exists and
// belongs to the key's department, and the holder data passes the template's rules (422 with
// every problem). Nothing is written for a request rejected here.
Item check_item(const Services& s, const IssuanceService& svc, const Principal& who,
                const nlohmann::json& body, const std::string& where) {
  static const std::set<std::string> kAllowed = {"template", "data", "valid_from", "valid_to",
                                                 "formats"};
  for (const auto& [k, v] : body.items()) {
    if (!kAllowed.count(k)) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     where + "." + k + ": unknown field");
    }
  }
  if (!body.contains("template") || !body["template"].is_string()) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   where + ".template: required, a template id (string)");
  }
  const std::string id = body["template"].get<std::string>();
  check_template_id(id, where + ".template");
  if (!body.contains("data") || !body["data"].is_object()) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   where + ".data: required, an object of holder fields");
  }
  const auto ids = s.templates->ids();
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    throw ApiError(422, "unknown-template", "Unknown template",
                   where + ".template: no template '" + id + "'");
  }
  Item item{s.templates->get(id), body["data"], {}, wants_ofd_format(body, where)};
  // A department issues only its own templates, with its own seal (checked here, at the
  // resource; the route already required licence:issue).
  require_department(who, item.tmpl->department().id, where + ".template '" + id + "'");
  // valid_from / valid_to fill the template's fields of the same name, when it has them.
  for (const char* k : {"valid_from", "valid_to"}) {
    if (!body.contains(k)) continue;
    if (item.tmpl->field(k) == nullptr) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     where + "." + k + ": template '" + id + "' has no field '" + k + "'");
    }
    if (item.data.contains(k)) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     where + "." + k + ": given both here and in " + where + ".data");
    }
    item.data[k] = body[k];
  }
  try {
    item.checked = svc.validate(*item.tmpl, item.data);
  } catch (const libcert::Error& e) {
    if (e.code() != libcert::ErrorCode::kValidation) throw;  // translated once, in error_map.h
    const ApiError a = map_current_exception("").problem;
    // Name the fields relative to the request body.
    std::string detail;
    for (const auto& p : e.problems()) {
      if (!detail.empty()) detail += "; ";
      detail += where + ".data." + p.field + ": " + p.message + " [" + p.rule + "]";
    }
    throw ApiError(a.status(), a.slug(), a.title(), detail.empty() ? a.what() : detail, a.extra());
  }
  return item;
}

// The 201 answer of an issuance: the licence view with the renditions made, marked when it was
// sealed with the demo keys.
std::string issued_body(const Services& s, const LicenceRecord& r, bool ofd) {
  nlohmann::json j = licence_view(r, false);
  j["formats"] = ofd ? nlohmann::json::array({kFormatPdf, kFormatOfd})
                     : nlohmann::json::array({kFormatPdf});
  if (ofd) j["links"]["ofd"] = "/v1/licences/" + r.id + "/ofd";
  if (s.example_keys) {
    j["example_keys"] = true;
    j["notice"] = std::string(libcert::kExampleKeysNotice);
  }
  return j.dump();
}

struct Outcome {
  int status = 0;
  std::string body;        // JSON (licence view) or problem+json
  std::string licence_id;  // when issued
};

// The answer to a key that was not started (nothing issued, nothing written).
Outcome not_started(const IdempotencyBegin& begun) {
  switch (begun.kind) {
    case IdempotencyBegin::kReplay: {
      Outcome o{begun.status_code, begun.response, ""};
      if (o.status == 201) {
        const auto j = nlohmann::json::parse(o.body, nullptr, false);
        if (j.is_object() && j.contains("id")) o.licence_id = j["id"].get<std::string>();
      }
      return o;
    }
    case IdempotencyBegin::kInFlight:
      throw ApiError(409, "idempotency-in-flight", "Request in progress",
                     "Idempotency-Key: a request with this key is still being processed; retry "
                     "later for its result");
    case IdempotencyBegin::kMismatch:
      throw ApiError(422, "idempotency-key-reused", "Idempotency key reused",
                     "Idempotency-Key: already used with a different request body");
    case IdempotencyBegin::kStarted:
      break;
  }
  throw ApiError(500, "internal", "Internal error", "idempotency: a started key was refused");
}

Outcome issue_item(const Services& s, Metrics& metrics, const IssuanceService& svc,
                   const Principal& who, const Item& item,
                   const IdempotencyRef& ref, const std::string& request_sha256,
                   const HttpRequest& req) {
  const libcert::Template& t = *item.tmpl;
  IssueContext ctx;
  ctx.department = t.department().id;
  ctx.template_id = t.id();
  ctx.type_code = t.type_code();
  ctx.issuer_code = t.department().uscc;
  ctx.actor = {who.id, req.request_id};
  ctx.idempotency = ref;
  // The key is begun in the reserve transaction (store.h IssueContext::begin_idempotency): a
  // replay, a request in flight or a reused key with another body is answered from there with
  // nothing reserved; otherwise the key, the serial and the reservation commit together, one
  // write transaction fewer per licence than a begin of its own (issue 21).
  ctx.begin_idempotency = IssueContext::IdempotencyStart{request_sha256,
                                                         s.config->idempotency_lease_s};
  // Only a key that was begun is completed or abandoned below: a reserve that failed rolled
  // its begin back, and the same key may meanwhile belong to a concurrent request.
  bool begun = false;  // ctx and its callback live only for the synchronous svc.issue below
  ctx.on_reserved = [&begun] { begun = true; };
  const bool ofd = item.ofd;
  // The 201 body is made once, in the commit transaction (the idempotency row stores it), and
  // the same string answers this request: a replay and the first answer are byte-identical, and
  // the view is not serialised twice per licence (issue 21). A commit that runs again (the seal
  // version changed) makes it again; one that fails throws past the answer below.
  auto answer = std::make_shared<std::string>();
  ctx.response = [&s, ofd, answer](const LicenceRecord& r) {
    *answer = issued_body(s, r, ofd);
    return std::pair<int, std::string>{201, *answer};
  };
  // The holder data passed the template's rules in check_item() (the one validation: the
  // issuance service seals item.checked as it is); the seal version, the clock and
  // the key are checked by the issuance service in the reserve transaction, before a serial is
  // taken: a request refused for any of these burns no serial. What can still fail is the
  // render/seal itself (a value that does not fit its box, a missing glyph); that serial becomes
  // a licence.void audit row.
  try {
    const LicenceRecord rec = svc.issue(t, item.checked, std::move(ctx), ofd);
    metrics.count_issued(t.id());
    return {201, answer->empty() ? issued_body(s, rec, ofd) : std::move(*answer), rec.id};
  } catch (const IdempotencyNotStarted& e) {
    return not_started(e.begin);
  } catch (const libcert::Error&) {
    if (!begun) throw;
    const MappedError m = map_current_exception(req.request_id);
    if (m.fault == Fault::kBadInput) {
      // A deterministic rejection: remember it, so the same request gets the same answer.
      const HttpResponse p = problem_response(m.problem, req.path, req.request_id);
      s.store->finish_idempotent(ref, m.problem.status(), p.body);
    } else {
      s.store->abandon_idempotent(ref);
    }
    throw;  // the dispatcher maps it again, to the same problem
  } catch (...) {
    if (begun) s.store->abandon_idempotent(ref);
    throw;
  }
}

bool accepts(const HttpRequest& req, const char* type) {
  return req.header_or_empty("Accept").find(type) != std::string::npos;
}

HttpResponse to_http(const Services& s, const HttpRequest& req, const Outcome& o) {
  HttpResponse r;
  r.status = o.status;
  r.body = o.body;
  r.content_type = o.status >= 400 ? "application/problem+json" : "application/json";
  if (o.status == 201 && !o.licence_id.empty()) {
    r.headers.emplace_back("Location", "/v1/licences/" + o.licence_id);
    // Accept: application/ofd returns the OFD itself (when the licence has one: a replay of a
    // PDF-only issuance answers with the JSON view), application/pdf the PDF.
    if (accepts(req, "application/ofd")) {
      if (auto ofd = s.store->latest_rendition(o.licence_id, kFormatOfd, true)) {
        r.content_type = "application/ofd";
        r.body = std::move(ofd->bytes);
        r.headers.emplace_back("ETag", "\"" + ofd->sha256 + "\"");
        r.headers.emplace_back("X-Licence-Id", o.licence_id);
      }
    } else if (accepts(req, "application/pdf")) {
      const auto rec = s.store->get_licence(o.licence_id, true);
      if (rec) {
        r.content_type = "application/pdf";
        r.body = rec->pdf;
        r.headers.emplace_back("ETag", "\"" + rec->pdf_sha256 + "\"");
        r.headers.emplace_back("X-Licence-Id", rec->id);
      }
    }
  }
  return r;
}

void need_issuing(const Services& s) {
  if (s.templates == nullptr || s.seal_keys == nullptr) {
    ApiError e(503, "unavailable", "Service unavailable",
               "issuing is not available: templates or seal keys are not loaded");
    e.headers.emplace_back("Retry-After", "30");
    throw e;
  }
}

Principal issuing_principal(const Services& s, const HttpRequest& req) {
  Principal who = require(*s.store, req, kScopeIssue);
  if (who.is_admin()) {
    throw ApiError(403, "forbidden-department", "Forbidden",
                   "Authorization: an admin key has no department seal; issue with a key of the "
                   "template's department");
  }
  return who;
}

}  // namespace

HttpResponse issue_licence(const Services& s, Metrics& metrics, const IssuanceService& svc,
                           const HttpRequest& req) {
  const Principal who = issuing_principal(s, req);
  const std::string key = idempotency_key(req);
  need_issuing(s);
  const auto body = json_body(req, s.config->limits.json_body_bytes,
                              {"template", "data", "valid_from", "valid_to", "formats"});
  Item item = check_item(s, svc, who, body, "body");
  // Accept: application/ofd asks for the OFD as the answer, so it is made (formats may say so too).
  if (accepts(req, "application/ofd")) item.ofd = true;
  const std::string hash = sha256_hex(req.method + " " + req.path + "\n" + req.body);
  return to_http(s, req, issue_item(s, metrics, svc, who, item, {who.id, key}, hash, req));
}

HttpResponse issue_batch(const Services& s, Metrics& metrics, const IssuanceService& svc,
                         const HttpRequest& req) {
  const Principal who = issuing_principal(s, req);
  const std::string key = idempotency_key(req);
  need_issuing(s);
  const auto body = json_body(req, s.config->limits.json_body_bytes, {"items"});
  if (!body.contains("items") || !body["items"].is_array() || body["items"].empty()) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   "body.items: required, a non-empty array of issuing requests");
  }
  if (body["items"].size() > s.config->limits.batch_items) {
    throw ApiError(413, "payload-too-large", "Too many items",
                   "body.items: " + std::to_string(body["items"].size()) +
                       " items exceeds the limit of " +
                       std::to_string(s.config->limits.batch_items));
  }
  nlohmann::json results = nlohmann::json::array();
  int ok = 0, failed = 0;
  for (std::size_t i = 0; i < body["items"].size(); ++i) {
    const std::string where = "body.items[" + std::to_string(i) + "]";
    const auto& it = body["items"][i];
    nlohmann::json res = {{"index", i}};
    try {
      if (!it.is_object()) {
        throw ApiError(400, "invalid-request", "Invalid request", where + ": expected an object");
      }
      const Item item = check_item(s, svc, who, it, where);
      // Each item is its own idempotent request: key#index, bound to the item's own content.
      const Outcome o = issue_item(s, metrics, svc, who, item,
                                   {who.id, key + "#" + std::to_string(i)}, sha256_hex(it.dump()),
                                   req);
      res["status"] = o.status;
      res[o.status == 201 ? "licence" : "problem"] = nlohmann::json::parse(o.body);
      (o.status == 201 ? ok : failed)++;
    } catch (...) {
      // The same translation as a single request's (error_map.h), per item.
      const MappedError m = map_current_exception(req.request_id);
      res["status"] = m.problem.status();
      res["problem"] =
          nlohmann::json::parse(problem_response(m.problem, req.path, req.request_id).body);
      ++failed;
      if (!m.cause.empty() && s.log) {
        s.log(nlohmann::json{{"ts", rfc3339(s.clock->now())},
                             {"level", "error"},
                             {"msg", "batch item failed"},
                             {"request_id", req.request_id},
                             {"index", i},
                             {"status", m.problem.status()},
                             {"error", m.cause}}
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
    results.push_back(res);
  }
  return json_response(200, {{"results", results}, {"issued", ok}, {"failed", failed}});
}

}  // namespace certd::detail
