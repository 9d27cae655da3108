// libcert/trust_bundle.h — the signed trust bundle that offline verifiers import (qr.md).
//
//   libcert::TrustBundle b;
//   b.version = 7;  b.issued_at = clock.now();  b.root_der = root;
//   b.seals.push_back(libcert::SealEntry::from_certificate("samr", "115425000199003834", der,
//                                                           libcert::SealState::kActive));
//   b.status_lists["115425000199003834"] = list;
//   std::string file = b.sign(bundle_cert_der, libcert::digest_signer_from_pem(bundle_key_pem));
//
//   libcert::BundlePins pins{root_der, libcert::read_pins(pins_txt)};  // verifier configuration
//   auto got = libcert::TrustBundle::parse(file, pins);   // verifies pin, role, chain, signature
//   libcert::BundleVersionGuard guard(state.highest);     // persisted by the verifier
//   guard.accept(got);                                    // throws on rollback
//   libcert::BundleSealKeys keys(got);                    // key states for verify_pdf
//   opts.keys = &keys;
//
// Format (docs/qr.md): COSE_Sign1 (tag 18), ES256, protected {1: -7, 4: kid}, unprotected
// {33: bundle certificate DER, or [bundle certificate DER, issuing CA DER]} (x5chain, RFC 9360); payload = deterministic CBOR map
// {1: "libcert-trust-bundle/1", 2: version, 3: issued_at, 4: root DER, 5: [seal...],
//  6: {issuer USCC: {1: bits, 2: zlib bitstring}}, 7: policy?}; policy = {1: [URL prefix, ...],
// 2: clock skew seconds}; seal = {1: department id, 2: issuer USCC,
// 3: certificate DER, 4: state, 5: usage_from, 6: usage_until?, 7: compromised_at?,
// 8: key version?} (8 is certd's seal key version, e.g. "2"; issue 7).
// Who may sign a bundle (trust.md "Roles"): the bundle certificate's public key must be one of the
// PINNED bundle-signer keys (SHA-256 of its SubjectPublicKeyInfo, the verifier's configuration),
// it must carry the bundle-signer policy OID (libcert/roles.h), be issued by the pinned root —
// directly, or by the issuing CA that x5chain carries after it, which must be issued by the root
// and be in the issuing-CA role (CA:TRUE pathlen 0, keyCertSign + cRLSign: docs/crl.md) — and
// the bundle's root must be that same root: a bundle cannot introduce a new trust anchor,
// and no other key under the root (a seal, the TSA) can sign one. Pins are a set so a rollover
// needs no flag day: verifiers first pin current + next key, then the service switches, then the
// old pin is dropped (docs/qr.md "Trust bundle: who may sign it").
//
// Thread-safety: a parsed TrustBundle is immutable in use; const functions may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/qr_payload.h"
#include "libcert/status_list.h"
#include "libcert/verify.h"

namespace libcert {

namespace cbor {
class Value;
}

enum class SealState { kPending = 0, kActive = 1, kRetired = 2, kRevoked = 3 };
std::string_view to_string(SealState s) noexcept;  // "pending", "active", "retired", "revoked"

struct SealEntry {
  std::string department;   // department id, e.g. "samr"
  std::string issuer_code;  // the department's USCC: must equal the QR's iss
  std::string certificate_der;
  SealState state = SealState::kActive;
  std::int64_t not_before = 0;  // certificate validity (read from the certificate)
  std::int64_t not_after = 0;
  std::int64_t usage_from = 0;                 // signing allowed from (activation)
  std::optional<std::int64_t> usage_until;     // end of signing use (retirement)
  std::optional<std::int64_t> compromised_at;  // kRevoked: signatures at or after it are void
  std::string version;  // the registry's key version ("1", "2", …); empty when unversioned

  // Reads not_before/not_after from the certificate; usage_from defaults to not_before.
  // Throws Error(kCrypto) if `der` is not an X.509 certificate.
  static SealEntry from_certificate(std::string department, std::string issuer_code,
                                    std::string der, SealState state);
  [[nodiscard]] std::string kid() const;  // cose_kid(certificate_der)
};

// What a verifier accepts besides keys (qr.md "Verifier policy"), signed with the rest of the
// bundle so that no verifier needs its own configuration for it.
struct BundlePolicy {
  // Exact text before the payload digits of a URL-form QR, e.g. "HTTPS://LIC.ALI.EXAMPLE/V#":
  // "HTTPS://" + host ([A-Z0-9.-:], upper case) + "/V#". Compared case-insensitively (cameras
  // lower-case scheme and host). Empty = the bundle states no policy: URL QRs are INDETERMINATE.
  std::vector<std::string> url_prefixes;
  // How far a claimed signing time (QR iat) may lie after the verifier's clock (0..86400 s).
  std::int64_t clock_skew_s = kDefaultClockSkew;
  static constexpr std::int64_t kDefaultClockSkew = 300;
  static constexpr std::int64_t kMaxClockSkew = 86400;
  friend bool operator==(const BundlePolicy&, const BundlePolicy&) = default;

  // The policy of a deployment whose QRs are printed for `host` (certd's qr_host): its one URL
  // prefix and the default clock skew. Throws Error(kInvalidArgument) for a host qr_url refuses.
  static BundlePolicy for_host(std::string_view host);
};

// The verifier's bundle trust configuration.
struct BundlePins {
  std::string root_der;                         // the pinned root certificate (DER)
  std::vector<std::string> signer_spki_sha256;  // lower-case hex, 64 chars each; at least one
};

// Reads a pins file: one SHA-256 (64 hex digits) per line, optionally followed by whitespace and a
// comment; blank lines and lines starting with '#' are ignored (keys-example/bundle/pins.txt).
// Throws Error(kInvalidArgument) naming the line for anything else, or when no pin is found.
std::vector<std::string> read_pins(std::string_view text);

class TrustBundle {
 public:
  std::uint64_t version = 0;  // strictly increasing between published bundles
  std::int64_t issued_at = 0;
  std::string root_der;
  std::vector<SealEntry> seals;
  std::map<std::string, StatusList> status_lists;  // by issuer USCC
  BundlePolicy policy;                             // payload key 7

  // The signed bundle file. `bundle_cert_der` is the signer's DER certificate, optionally
  // followed by the DER of the issuing CA that issued it (concatenated, as
  // certificate_chain_der_from_pem returns a full-chain PEM file): x5chain then carries both.
  // Throws Error(kInvalidArgument) on inconsistent content (a revoked seal without
  // compromised_at, a seal without issuer code, more than one certificate after the signer's),
  // Error(kCrypto) on signing failure or certificates that do not parse.
  [[nodiscard]] std::string sign(std::string_view bundle_cert_der, const DigestSigner& sign) const;

  // Parses and verifies a bundle file against the verifier's pins. The signer is checked before
  // any payload field is read (so a rogue version number never reaches BundleVersionGuard):
  // Error(kCrypto) when the bundle certificate's key is not pinned, it lacks the bundle-signer
  // role, is not issued by the pinned root, the signature does not verify, or the bundle's root is
  // not the pinned root; Error(kInvalidArgument) when malformed (naming the field) or `pins` holds
  // no signer pin; Error(kLimitExceeded) above 64 MB or StatusList::kMaxBits.
  static TrustBundle parse(std::string_view file, const BundlePins& pins);

  // Seals whose kid equals `kid` (8 bytes): kids may collide, so a verifier tries them all.
  [[nodiscard]] std::vector<const SealEntry*> seals_with_kid(std::string_view kid) const;
  // SHA-256 of the signed file parse() read (empty for a bundle built in memory).
  [[nodiscard]] const std::string& file_sha256() const noexcept { return file_sha256_; }

 private:
  static TrustBundle parse_body(const cbor::Value& body, std::string_view bundle_cert,
                                std::string_view pinned_root_der, std::string_view file);
  static void check_signer(std::string_view bundle_cert, std::string_view issuing_ca,
                           const BundlePins& pins);
  std::string file_sha256_;
};

// A SealKeyDirectory over a verified trust bundle: the key states and usage windows the bundle
// publishes, for verify_pdf (certctl verify --bundle), so the PDF and QR paths apply the same
// rules offline. A seal whose bundle entry names another issuer code than the certificate's own
// organizationIdentifier is left out (the bundle cannot move a key to another department).
// Keeps a reference to nothing: copies what it needs. Thread-safe (immutable after construction).
class BundleSealKeys final : public SealKeyDirectory {
 public:
  explicit BundleSealKeys(const TrustBundle& bundle);
  [[nodiscard]] std::optional<SealKeyState> lookup(std::string_view cert_sha256) const override;

 private:
  std::map<std::string, SealKeyState, std::less<>> by_cert_;
};

// DER of the first certificate in a PEM text (helper for callers that hold PEM files). Throws
// Error(kCrypto) if there is none.
std::string certificate_der_from_pem(std::string_view pem);
// DER of every certificate in a PEM text, concatenated (a full-chain file such as
// keys-example/bundle/bundle.crt: signer, then issuing CA). Throws Error(kCrypto) if there is none.
std::string certificate_chain_der_from_pem(std::string_view pem);

// Rollback protection: a verifier keeps the highest version it has accepted (and the hash of that
// file) and refuses anything older, or a different file claiming the same version.
class BundleVersionGuard {
 public:
  BundleVersionGuard() = default;
  BundleVersionGuard(std::uint64_t highest, std::string file_sha256)
      : highest_(highest), sha256_(std::move(file_sha256)) {}
  // Accepts `b` (and remembers it) or throws Error(kInvalidArgument) "rollback refused" naming
  // both versions.
  void accept(const TrustBundle& b);
  [[nodiscard]] std::uint64_t highest() const noexcept { return highest_; }
  [[nodiscard]] const std::string& file_sha256() const noexcept { return sha256_; }

 private:
  std::uint64_t highest_ = 0;
  std::string sha256_;
};

}  // namespace libcert
