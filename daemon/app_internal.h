// daemon/app_internal.h (private to app*.cpp) — helpers shared by the route handlers.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "app.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "problem.h"

namespace certd::detail {

HttpResponse json_response(int status, const nlohmann::json& body);
using libcert::rfc3339;  // clock.h: the one RFC 3339 spelling

// Authenticates the request and checks the scope: 401 (missing/malformed/unknown/revoked key,
// with WWW-Authenticate) or 403 (scope). Writes nothing to the registry.
Principal require(Store& store, const HttpRequest& req, std::string_view scope);

// Checks Content-Type (415), size (413) and parses strict JSON (400: malformed, not UTF-8);
// the body must be an object whose keys are all in `allowed` (400 naming the unknown field).
nlohmann::json json_body(const HttpRequest& req, std::size_t limit,
                         const std::set<std::string>& allowed);

// Ids in paths: licence identifiers ([0-9A-Za-z.-], 1..128) and template ids ([a-z0-9-], 1..64);
// anything else (e.g. "..", "/", "%00") is a 400 naming the parameter.
void check_licence_id(const std::string& id);
void check_template_id(const std::string& id, const std::string& what);

// A query parameter that must be a decimal integer in [lo, hi] (digits only, at most 18 of them:
// no sign, no overflow); otherwise a 400 naming the parameter and the range.
std::int64_t query_integer(const std::string& name, const std::string& value, std::int64_t lo,
                           std::int64_t hi);

// The JSON view of a licence (service.md); `with_data` adds the holder data (own department).
nlohmann::json licence_view(const LicenceRecord& r, bool with_data);

// 403 unless the principal may act on `department`'s resources (its own, or an admin key). Not
// for licences by id: see visible_licence().
void require_department(const Principal& p, const std::string& department, const std::string& what);

// The licence `id` as `who` may see it: an unknown id and another department's licence answer the
// same 404 (same type, same detail, after the same single registry lookup), so a department key
// cannot probe which identifiers exist elsewhere (issue 17: no existence oracle).
LicenceRecord visible_licence(Store& store, const Principal& who, const std::string& id,
                              bool with_pdf);

}  // namespace certd::detail
