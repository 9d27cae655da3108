// daemon/app_seals.h (private to app*.cpp) — the seal key lifecycle routes (seal:admin) and the
// audit log routes (audit:read) of docs/service.md.
#pragma once

#include <nlohmann/json.hpp>

#include "app.h"

namespace certd::detail {

HttpResponse seals_list(const Services& s, const HttpRequest& req);
HttpResponse seal_create(const Services& s, const HttpRequest& req, const Params& p);
HttpResponse seal_install(const Services& s, const HttpRequest& req, const Params& p);
// action: "activate", "retire" or "revoke".
HttpResponse seal_step(const Services& s, const HttpRequest& req, const Params& p,
                       const std::string& action);

HttpResponse audit_checkpoint(const Services& s, const HttpRequest& req);
HttpResponse audit_entries(const Services& s, const HttpRequest& req);
HttpResponse audit_inclusion(const Services& s, const HttpRequest& req);
HttpResponse audit_consistency(const Services& s, const HttpRequest& req);

nlohmann::json seal_view(const SealKeyVersion& v);

}  // namespace certd::detail
