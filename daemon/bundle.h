// daemon/bundle.h — the signed trust bundle certd publishes at GET /v1/trust-bundle (docs/qr.md
// "Trust bundle and revocation"): the root, every seal certificate certd verifies with, and one
// status list per department in which the bits of the registry's revoked licences are set. The
// file has the format of `certctl trust-bundle export` (libcert/trust_bundle.h), so offline
// verifiers (certctl verify-qr --bundle, the inspector's page) import either.
//
//   certd::BundlePublisher pub(seals, bundle_cert_der, libcert::digest_signer_from_pem(key_pem),
//                              config.status_list_size);
//   auto b = pub.current(store, clock.now());   // b->file, b->etag, b->version
//   pub.invalidate();                            // after a revocation: rebuild on the next call
//
// Versions only increase (qr.md: verifiers refuse a rollback): a new file gets
// max(previous version + 1, now in seconds), so a restarted certd (whose clock moved on) also
// publishes higher versions. The file is rebuilt only when its content changes (a revocation,
// another seal set); it is re-checked against the registry after invalidate() or every
// `recheck_seconds` (revocations made by another certd process on the same registry).
// Failure: current() throws RegistryError (registry) or libcert::Error (signing). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "libcert/qr_payload.h"
#include "libcert/trust_bundle.h"
#include "store.h"

namespace certd {

class SealKeys;

struct PublishedBundle {
  std::string file;  // the signed bundle bytes
  std::string etag;  // "\"<sha256 hex of file>\""
  // The same file gzip-compressed (RFC 1952), made once per bundle, served as Content-Encoding:
  // gzip to clients that accept it: 1,203 seal versions are ~1 MB, ~0.3 MB compressed (the
  // certificates repeat their issuer, extensions and name prefix), so a phone on 3G loads it
  // in ~3 s instead of ~11 s (bench/README.md "Scale").
  std::string gzip;
  std::string gzip_etag;  // "\"<sha256 hex of file>+gzip\"": another representation (RFC 9110 §8.8.3)
  std::uint64_t version = 0;
  std::int64_t issued_at = 0;
};

// True when an Accept-Encoding header value (RFC 9110 §12.5.3) accepts gzip: a "gzip" (or
// "x-gzip", or "*") coding whose q is not 0.
bool accepts_gzip(std::string_view accept_encoding);
// gzip (RFC 1952) of `data` at zlib's best compression. Throws libcert::Error(kInternal).
std::string gzip_compress(std::string_view data);

class BundlePublisher {
 public:
  // `seals`: root + seal certificates (their status lists are built here). Throws
  // libcert::Error(kLimitExceeded) if status_bits exceeds libcert::StatusList::kMaxBits.
  BundlePublisher(const libcert::TrustBundle& seals, std::string bundle_cert_der,
                  libcert::DigestSigner sign, std::int64_t status_bits,
                  std::int64_t recheck_seconds = 60);

  [[nodiscard]] std::shared_ptr<const PublishedBundle> current(Store& store, std::int64_t now);
  void invalidate();
  // Issue 7: take the seals from the registry's seal key versions (every version that ever
  // sealed, with state, usage window, compromise time and version) instead of `seals`. Set once at
  // start-up, before current() is first called.
  void use_seal_versions(const SealKeys* keys) { versions_ = keys; }

 private:
  const libcert::TrustBundle& seals_;
  const SealKeys* versions_ = nullptr;
  std::string cert_der_;
  libcert::DigestSigner sign_;
  std::uint32_t bits_;
  std::int64_t recheck_;
  std::mutex mu_;
  std::shared_ptr<const PublishedBundle> cached_;  // GUARDED_BY(mu_)
  std::string content_sha256_;                     // GUARDED_BY(mu_)
  std::int64_t checked_at_ = 0;                    // GUARDED_BY(mu_)
  bool dirty_ = true;                              // GUARDED_BY(mu_)
};

}  // namespace certd
