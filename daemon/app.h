// daemon/app.h — certd's HTTP API (docs/service.md, docs/openapi.json) as a pure function of a
// request: routing, authentication and department scoping, problem+json errors, limits, metrics
// and one JSON log line per request. No sockets here (server.cpp adapts Boost.Beast to it), so
// the whole request path runs in tests and fuzzers.
//
//   certd::App app(services);
//   certd::HttpResponse r = app.handle(request);   // never throws
//
// Thread-safety: handle() may be called from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "http.h"
#include "libcert/clock.h"
#include "libcert/ltv.h"
#include "metrics.h"
#include "ratelimit.h"
#include "store.h"

namespace libcert {
class TemplateSet;
class TrustStore;
class SealKeyDirectory;
class OfdSealKeyring;
class TrustBundle;
class TimeStampAuthority;
}  // namespace libcert

namespace certd {

class BundlePublisher;
class SealKeys;
class AuditLog;
class TsaService;
class CrlService;

// Everything the API uses, owned elsewhere (main.cpp or a test) and outliving the App.
struct Services {
  const Config* config = nullptr;
  // config->keys is the demo PKI (libcert::is_example_keys_dir): every issuance answer carries
  // "example_keys": true and "notice" (libcert::kExampleKeysNotice); main.cpp logs it at start.
  bool example_keys = false;
  Store* store = nullptr;
  const libcert::Clock* clock = nullptr;
  libcert::Rng* rng = nullptr;                      // request ids
  const libcert::TemplateSet* templates = nullptr;  // nullptr: template routes answer 503
  const libcert::TrustStore* trust = nullptr;       // nullptr: verification answers 503
  // OFD verification (issue 22, docs/ofd.md): the SM2 seal root(s) (keys/sm2/root.crt) and the
  // key states of the departments' SM2 seals; nullptr ofd_trust: OFD uploads answer 503.
  const libcert::TrustStore* ofd_trust = nullptr;
  const libcert::SealKeyDirectory* ofd_keys = nullptr;
  // The departments' SM2 seals for issuing OFD renditions (libcert/ofd_writer.h, loaded from
  // <keys>/sm2/seals); nullptr: a request for an OFD answers 503 "ofd-unavailable".
  const libcert::OfdSealKeyring* ofd_seals = nullptr;
  const libcert::TrustBundle* seals = nullptr;      // root + seal certificates, for QR checks
  BundlePublisher* bundle = nullptr;                // nullptr: GET /v1/trust-bundle answers 503
  // What the inspector's page pins (trust.md "Roles"): the root certificate (DER) and the
  // SHA-256 of every bundle-signer SubjectPublicKeyInfo it accepts (keys/bundle/pins.txt:
  // current and next key). Served as /web/pins.js with the page; empty: the page refuses
  // every bundle (fail closed).
  std::string page_root_der;
  std::vector<std::string> page_bundle_pins;
  // Seal key versions in the registry (issue 7): issuance seals with the department's active
  // version (issuance_service.h), QR verification uses every version (seals is then unused) and
  // PDF reports name the version. nullptr: issuing answers 503.
  SealKeys* seal_keys = nullptr;
  AuditLog* audit = nullptr;  // checkpoints and proofs; nullptr: those routes answer 503
  // RFC 3161 TSA for POST /v1/tsa (tsa_service.h); nullptr: that route answers 503.
  const libcert::TimeStampAuthority* tsa = nullptr;
  // The issuing CA's CRL for GET /v1/crl (crl_service.h); nullptr: that route answers 503.
  CrlService* crl = nullptr;
  // Validation data for the /DSS of B-LT/B-LTA licences (certificates beyond those the seal and
  // its time-stamp carry, and CRLs of the issuing CA), read at each issuance. Empty (the
  // default): the DSS holds the seal chain and the TSA chain, no CRL. The CRL publication
  // (daemon/crl*) supplies the issuing CA's current CRL here.
  std::function<libcert::ValidationData()> validation_data;
  std::function<void(const std::string&)> log;  // one JSON line; nullptr: no logging
};

using Params = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const Params&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/v1/licences/{id}/pdf"; a segment may also be literal with ':' suffix
  bool is_public = false;
  Handler handler;
};

class App {
 public:
  explicit App(Services s);
  ~App();
  [[nodiscard]] HttpResponse handle(HttpRequest req) const;
  // The route table (method, pattern) — the OpenAPI test compares it with docs/openapi.json.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> routes() const;
  [[nodiscard]] Metrics& metrics() const { return *metrics_; }

 private:
  HttpResponse dispatch(const HttpRequest& req, std::string& route) const;

  Services s_;
  std::vector<Route> routes_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<RateLimiter> public_limiter_;
  std::unique_ptr<AuthFailureLimiter> auth_limiter_;
  std::unique_ptr<AuthFailureTally> auth_tally_;
  std::unique_ptr<TsaService> tsa_;
  void write_auth_failures(const std::vector<AuthFailureTally::Row>& rows) const;
  void record_lockout(const std::string& object, const std::string& request_id,
                      std::string& error) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certd
