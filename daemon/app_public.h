// daemon/app_public.h (private) — GET /v1/licences/{id}/preview.png and GET /v1/trust-bundle;
// see app_public.cpp.
#pragma once

#include "app.h"

namespace certd::detail {
HttpResponse preview_png(const Services& s, const HttpRequest& req, const Params& p);
HttpResponse trust_bundle(const Services& s, const HttpRequest& req, const Params& p);
// GET /v1/crl: the issuing CA's current CRL (crl_service.h), DER, cacheable until nextUpdate.
HttpResponse crl(const Services& s, const HttpRequest& req, const Params& p);
// The inspector's page (issue 8): GET /V and /v (index.html), /sw.js (its service worker, scope
// "/") and /web/{file} — static files from Config::web, no build step. 404 for anything not there.
HttpResponse web_file(const Services& s, const HttpRequest& req, const std::string& name);
// The proof of possession of a licence's QR code (docs/service.md "Preview"): the first 16 bytes
// of SHA-256 over the QR payload bytes, as 32 lower-case hex digits. Throws libcert::Error when
// `qr_text` is not a QR text.
std::string licence_proof(const std::string& qr_text);
// True when the request carries no API key (Authorization / X-Api-Key): the public preview path,
// which the App rate-limits like /v1/verify.
bool anonymous(const HttpRequest& req);
}  // namespace certd::detail
