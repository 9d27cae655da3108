// GET /v1/licences/{id}/preview.png — a PNG of the first page of the exact stored PDF; and
// GET /v1/trust-bundle — the signed trust bundle for offline QR verification.
//
// Who may fetch a preview (docs/service.md "Preview"): a department key for its own licences and
// an admin key for any (as for /pdf); and anyone who presents the licence's QR proof in the
// X-Licence-Proof header. The preview shows the holder's personal data, and licence identifiers
// are structured (type, issuer, serial: guessable), so the id alone must not be enough; the proof
// is derived from the signed QR payload (an ECDSA signature makes it unguessable), which only a
// person holding the paper (or the PDF) has. It travels in a header, not the URL (service.md: no
// secrets in URLs; URLs end up in proxies' logs), and proof-based requests are rate-limited per
// address like /v1/verify.
#include "app_public.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>

#include "app_internal.h"
#include "bundle.h"
#include "crl_service.h"
#include "libcert/preview.h"
#include "libcert/qr_payload.h"

namespace certd::detail {

namespace {

constexpr int kMinDpi = 50, kMaxDpi = 200, kDefaultDpi = 100;

int dpi_param(const HttpRequest& req) {
  for (const auto& [k, v] : req.query) {
    if (k != "dpi") {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "query " + k + ": unknown parameter");
    }
  }
  if (req.query.count("dpi") > 1) {
    throw ApiError(400, "invalid-request", "Invalid request", "query dpi: given twice");
  }
  auto it = req.query.find("dpi");
  if (it == req.query.end()) return kDefaultDpi;
  const std::string& v = it->second;
  int n = 0;
  bool ok = !v.empty() && v.size() <= 3;
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok || n < kMinDpi || n > kMaxDpi) {
    throw ApiError(400, "invalid-request", "Invalid request",
                   "query dpi: expected an integer between " + std::to_string(kMinDpi) + " and " +
                       std::to_string(kMaxDpi));
  }
  return n;
}

// RFC 9110 §5.6.7 IMF-fixdate.
std::string http_date(std::int64_t t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool is_proof(const std::string& s) {
  if (s.size() != 32) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string licence_proof(const std::string& qr_text) {
  return sha256_hex(libcert::qr_payload_from_text(qr_text)).substr(0, 32);
}

bool anonymous(const HttpRequest& req) {
  return !req.header("Authorization") && !req.header("X-Api-Key");
}

HttpResponse preview_png(const Services& s, const HttpRequest& req, const Params& p) {
  const std::string& id = p.at("id");
  check_licence_id(id);
  const int dpi = dpi_param(req);
  std::optional<LicenceRecord> rec;
  std::string cache_control;
  if (!anonymous(req)) {
    const Principal who = require(*s.store, req, kScopeRead);
    rec = visible_licence(*s.store, who, id, false);
  } else {
    const auto proof = req.header("X-Licence-Proof");
    if (!proof) {
      ApiError e(401, "unauthorized", "Authentication required",
                 "Authorization: missing; send a department API key, or X-Licence-Proof with the "
                 "proof read from the licence's QR code");
      e.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"certd\"");
      throw e;
    }
    if (!is_proof(*proof)) {
      throw ApiError(400, "invalid-request", "Invalid request",
                     "X-Licence-Proof: expected 32 lower-case hex digits (the first 16 bytes of "
                     "SHA-256 over the QR payload)");
    }
    rec = s.store->get_licence(id, false);
    // Unknown id and wrong proof answer alike: an anonymous caller learns nothing about which
    // identifiers exist.
    bool ok = false;
    if (rec) {
      std::string want;
      try {
        want = licence_proof(rec->qr_text);
      } catch (const libcert::Error&) {
        want.clear();
      }
      ok = want.size() == proof->size() && CRYPTO_memcmp(want.data(), proof->data(), 32) == 0;
    }
    if (!ok) {
      throw ApiError(404, "not-found", "Not found",
                     "id: no licence '" + id + "' with this X-Licence-Proof");
    }
  }
  HttpResponse r;
  // The stored PDF never changes (its SHA-256 is the licence's), so the picture for one dpi never
  // changes either: cacheable for a day, but only by the client (personal data, and it depends on
  // who asks: Vary).
  const std::string etag = "\"" + rec->pdf_sha256.substr(0, 32) + "-" + std::to_string(dpi) + "\"";
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "private, max-age=86400");
  r.headers.emplace_back("Vary", "Authorization, X-Api-Key, X-Licence-Proof");
  if (req.header_or_empty("If-None-Match") == etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  const auto full = s.store->get_licence(id, true);
  if (!full) throw ApiError(404, "not-found", "Not found", "id: no licence '" + id + "'");
  libcert::PreviewOptions o;
  o.dpi = dpi;
  r.content_type = "image/png";
  r.body = libcert::pdf_page_png(full->pdf, o);
  return r;
}

HttpResponse web_file(const Services& s, const HttpRequest& req, const std::string& name) {
  if (name == "pins.js") {
    // Generated, not a file: the trust anchors of the page's verifier (verify.js parseBundle),
    // delivered and cached with the page's code, so a bundle signed by any other key under the
    // root (a seal, the TSA) is refused in the browser as in certctl (docs/qr.md).
    nlohmann::json pins = s.page_bundle_pins;
    HttpResponse r;
    r.content_type = "text/javascript; charset=utf-8";
    r.body = "// Generated by certd from its bundle pins (docs/qr.md \"Trust bundle: who may sign it\").\n"
             "export const bundleSignerPins = " + pins.dump() + ";\n"
             "export const rootSha256 = '" + (s.page_root_der.empty() ? std::string() : sha256_hex(s.page_root_der)) + "';\n";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
  }
  // Names are a fixed shape (no dots but the extension, no slashes): no path can leave the folder.
  static const std::map<std::string, std::string> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"png", "image/png"},
      {"svg", "image/svg+xml"},
      {"webmanifest", "application/manifest+json"}};
  const auto dot = name.find('.');
  bool ok = dot != std::string::npos && dot > 0 && dot < 64 &&
            name.find('.', dot + 1) == std::string::npos;
  for (std::size_t i = 0; ok && i < dot; ++i) {
    const char c = name[i];
    ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  }
  const auto type = ok ? kTypes.find(name.substr(dot + 1)) : kTypes.end();
  if (type == kTypes.end() || s.config->web.empty()) {
    throw ApiError(404, "not-found", "Not found", "path: no such file of the inspector's page");
  }
  std::ifstream in(s.config->web + "/" + name, std::ios::binary);
  if (!in)
    throw ApiError(404, "not-found", "Not found", "path: no such file of the inspector's page");
  std::stringstream ss;
  ss << in.rdbuf();
  HttpResponse r;
  r.content_type = type->second;
  r.body = ss.str();
  // Always revalidated online; the service worker keeps the copies used offline.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (type->first == "html") {
    // Only our own scripts and styles; images also from blob: (the preview); API calls to us.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
  }
  if (name == "sw.js") r.headers.emplace_back("Service-Worker-Allowed", "/");
  // The page's text files are ~70 KB and compress to a third: on a phone's 3G link that is ~0.5 s
  // of the first load (bench/README.md "The inspector page's first verify over throttled 3G").
  if (type->first != "png") {
    r.headers.emplace_back("Vary", "Accept-Encoding");
    if (accepts_gzip(req.header_or_empty("Accept-Encoding"))) {
      r.body = gzip_compress(r.body);
      r.headers.emplace_back("Content-Encoding", "gzip");
    }
  }
  return r;
}

HttpResponse trust_bundle(const Services& s, const HttpRequest& req, const Params&) {
  if (s.bundle == nullptr) {
    ApiError e(503, "unavailable", "Service unavailable",
               "the trust bundle signing key (keys/bundle) is not loaded on this server");
    e.headers.emplace_back("Retry-After", "30");
    throw e;
  }
  const auto b = s.bundle->current(*s.store, s.clock->now());
  HttpResponse r;
  const bool gz = accepts_gzip(req.header_or_empty("Accept-Encoding"));
  r.headers.emplace_back("ETag", gz ? b->gzip_etag : b->etag);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  // Verifiers poll it; five minutes bounds how stale a cached revocation list gets on the way.
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  r.headers.emplace_back("X-Bundle-Version", std::to_string(b->version));
  r.headers.emplace_back("Last-Modified", http_date(b->issued_at));
  // Either representation's tag names the same bundle: nothing to send again.
  const std::string inm = req.header_or_empty("If-None-Match");
  if (inm == b->etag || inm == b->gzip_etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  // RFC 9052 §9.1 media type of a COSE_Sign1 message.
  r.content_type = "application/cose; cose-type=\"cose-sign1\"";
  if (gz) r.headers.emplace_back("Content-Encoding", "gzip");
  r.body = gz ? b->gzip : b->file;
  return r;
}

HttpResponse crl(const Services& s, const HttpRequest& req, const Params&) {
  if (s.crl == nullptr) {
    ApiError e(503, "unavailable", "Service unavailable",
               "the issuing CA (config ca.cert/ca.key, keys/ca) is not loaded on this server");
    e.headers.emplace_back("Retry-After", "30");
    throw e;
  }
  const auto c = s.crl->current();
  HttpResponse r;
  r.headers.emplace_back("ETag", c->etag);
  // Cacheable until its nextUpdate (RFC 5280 §5.1.2.5): certd renews it halfway through, so a
  // cached copy is never past nextUpdate while a newer one exists only for revocations.
  const std::int64_t left = std::max<std::int64_t>(c->next_update - s.clock->now(), 0);
  r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(left));
  r.headers.emplace_back("Expires", http_date(c->next_update));
  r.headers.emplace_back("Last-Modified", http_date(c->this_update));
  r.headers.emplace_back("X-CRL-Number", std::to_string(c->number));
  if (req.header_or_empty("If-None-Match") == c->etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = "application/pkix-crl";  // RFC 5280 §4.2.1.13 / RFC 2585 §4.2
  r.body = c->der;
  return r;
}

}  // namespace certd::detail
