// daemon/crl_service.h — the issuing CA's CRL (RFC 5280 §5; docs/crl.md), as certd publishes it
// at GET /v1/crl and as the B-LT step puts it into a licence's /DSS.
//
//   certd::CrlService crl(*store, issuing_ca_der, libcert::digest_signer_from_pem(ca_key_pem),
//                         clock, config.crl_period_s);
//   std::string der = crl.current_der();          // a current CRL, made or renewed on demand
//   auto p = crl.current();                       // + number, times, ETag for HTTP
//
// What it lists: every seal key version of the registry that is revoked and whose certificate
// this CA issued, as (serial, revocationDate = invalidityDate = compromised_at, reasonCode
// keyCompromise — or superseded / cessationOfOperation when the revocation's reason is exactly
// that word). compromised_at, not the time of the revocation request, is the revocation date:
// signatures made after it are void (trust.md "Time and state"), so a CRL-only verifier must not
// accept a signature from between the compromise and its discovery.
//
// When a new CRL is made (number = the stored one + 1, thisUpdate = now, nextUpdate = now +
// period): when the revoked set differs from the stored CRL's (a version was revoked, on this
// instance or another one on the same registry), and once half the period has passed, so a
// copy cached until its nextUpdate is never stale while certd runs. The CRL lives in the registry
// (Store::publish_crl): all instances serve the same bytes and the number only grows; an instance
// that loses the race to publish a number serves the winner's CRL. The registry is read at most
// once per clock second (invalidate() after a local revocation forces the next read); in between
// the cached CRL is returned.
//
// Failure: throws libcert::Error (kCrypto: the CA key cannot sign, e.g. its token is absent) or
// RegistryError (the registry is unavailable) from current(); a CRL made before stays cached and
// is returned while it is current. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "libcert/clock.h"
#include "libcert/qr_payload.h"  // DigestSigner
#include "store.h"

namespace certd {

class CrlService {
 public:
  struct Published {
    std::string der;
    std::string etag;  // "\"<sha256 hex of der>\""
    std::int64_t number = 0;
    std::int64_t this_update = 0;
    std::int64_t next_update = 0;
  };

  // `ca_cert_der`: the issuing CA (CA:TRUE, cRLSign, a subjectKeyIdentifier; throws
  // libcert::Error(kInvalidArgument) otherwise); `sign`: its key; `period_s`: nextUpdate -
  // thisUpdate, 60 .. 366 days.
  CrlService(Store& store, std::string ca_cert_der, libcert::DigestSigner sign,
             const libcert::Clock& clock, std::int64_t period_s);
  ~CrlService();

  // A CRL current at the clock's now (see the top).
  [[nodiscard]] std::shared_ptr<const Published> current();
  // DER of current(): what the B-LT step embeds. Thread-safe, cached.
  [[nodiscard]] std::string current_der() { return current()->der; }
  // After a revocation on this instance: the next current() re-reads the registry at once.
  void invalidate() {
    std::lock_guard l(mu_);
    checked_at_ = -1;
  }

  [[nodiscard]] const std::string& ca_der() const { return ca_der_; }
  // The registry key of this CA's CRL: its subjectKeyIdentifier, lower-case hex.
  [[nodiscard]] const std::string& issuer_id() const { return issuer_id_; }

 private:
  Store& store_;
  std::string ca_der_;
  std::string issuer_id_;
  libcert::DigestSigner sign_;
  const libcert::Clock& clock_;
  std::int64_t period_s_;
  std::mutex mu_;
  std::shared_ptr<const Published> cached_;  // GUARDED_BY(mu_)
  std::string cached_key_;                   // GUARDED_BY(mu_)
  std::int64_t checked_at_ = -1;             // GUARDED_BY(mu_): clock second of the last read
};

}  // namespace certd
