// daemon/app_issue.h (private) — the issuing routes; see app_issue.cpp.
#pragma once

#include "app.h"

namespace certd {
class IssuanceService;
}

namespace certd::detail {
HttpResponse issue_licence(const Services& s, Metrics& metrics, const IssuanceService& svc,
                           const HttpRequest& req);
HttpResponse issue_batch(const Services& s, Metrics& metrics, const IssuanceService& svc,
                         const HttpRequest& req);
}  // namespace certd::detail
