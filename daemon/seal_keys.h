// daemon/seal_keys.h — seal key versions of the departments (service.md "Seal key lifecycle"):
// key generation, CSRs, the example CA, certificate installation, the signers issuance uses, and
// the views verification needs (a trust bundle naming every version, a SealKeyDirectory for PDF
// signatures). Shared by certd's admin routes and `certctl seal`.
//
//   certd::SealKeys keys(store, templates, {.keys_dir = "keys-example", .seal_key_dir =
//   "seal-keys"}); keys.bootstrap(now, {"certd", ""});          // keys-example seals become
//   version 1, active auto created = keys.create("samr", {.example_ca = true}, now, actor);   //
//   pending v2 + CSR store.activate_seal_key("samr", created.version.version, now, actor);   // old
//   v1 → retired auto signer = keys.signer(version);          // PemFileSigner, cached per version
//   auto bundle = keys.bundle(now);              // root + every version with its state
//
// Private keys are ECDSA P-256 PEM files written with mode 0600 under seal_key_dir/<dept>/
// (key_ref in the registry is that path); the registry holds only public certificates, which are
// never deleted. Failure: libcert::Error naming the department, version and rule (kNotFound for
// an unknown department/version, kInvalidArgument for a certificate that does not match the key
// or is not a seal certificate, kIo for key files), SealStateError for a step the state forbids.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "libcert/clock.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "store.h"

namespace libcert {
class Signer;
class TemplateSet;
struct Department;
}  // namespace libcert

namespace certd {

class Metrics;

struct SealKeyOptions {
  std::string keys_dir = "keys-example";   // root/root.crt: the anchor (its key stays offline)
  // The issuing CA (trust.md "Roles") that certifies new versions (example_ca) and that every
  // installed certificate must be issued by; empty: keys_dir/ca/issuing-ca.{crt,key}. Without
  // that certificate file, seal certificates are expected directly under the root (old layout).
  std::string issuing_ca_cert;
  std::string issuing_ca_key;
  std::string seal_key_dir = "seal-keys";  // new private keys: <dir>/<dept>/v<N>.key
  int refuse_days = 7;  // issuing stops when the active certificate expires within this margin
  int warn_days = 30;   // a warning (log + gauge) starts this many days before expiry
  // A PKCS#11 token URI (RFC 7512, libcert/pkcs11.h, with module-path and pin-source): new
  // versions are generated inside that token (never extractable) and key_ref is the key's URI.
  // Empty: new versions are PEM files under seal_key_dir.
  std::string token;
  // Copied into every bundle built here (URL prefixes of config.qr_host, clock skew): verify_qr
  // refuses URL QRs that no policy lists.
  libcert::BundlePolicy policy = libcert::BundlePolicy::for_host("LIC.ALI.EXAMPLE");
};

struct CreateSealKey {
  bool example_ca = false;  // keys-example only: the example issuing CA issues the certificate
  std::string token;        // a token URI for this version (certctl seal create --token);
                            // empty: SealKeyOptions::token, else a PEM file
  int validity_days = 365;  // of that certificate (capped at the issuing CA's own expiry)
};

struct CreatedSealKey {
  SealKeyVersion version;  // pending; with the certificate installed if example_ca
  std::string csr_pem;     // PKCS#10 for the department's CA
};

// One certificate's facts (OpenSSL), for checks and views.
struct CertFacts {
  std::int64_t not_before = 0, not_after = 0;
  std::string subject;  // RFC 2253, UTF-8
};
CertFacts cert_facts(const std::string& der);
// DER of the first certificate in a PEM or DER text; throws Error(kInvalidArgument) naming `what`.
std::string certificate_der(std::string_view pem_or_der, const std::string& what);
std::string der_to_pem(const std::string& der);
// Empty when `ca_der` is an issuing CA issued by `root_der` (CA:TRUE pathlen 0, keyCertSign +
// cRLSign, trust.md "Roles"), else a sentence saying what is wrong.
std::string issuing_ca_role_problem(const std::string& ca_der, const std::string& root_der);

// SealKeyState for the PDF verifier from a registry row (usage window: activation .. the end of
// the retirement second, see docs/service.md).
libcert::SealKeyState seal_key_state(const SealKeyVersion& v);
// The bundle entry of a version (nullopt for a version without certificate or never activated).
std::optional<libcert::SealEntry> seal_entry(const SealKeyVersion& v, const std::string& uscc);

class SealKeys final : public libcert::SealKeyDirectory {
 public:
  SealKeys(Store& store, const libcert::TemplateSet& templates, SealKeyOptions options,
           libcert::Rng* rng = nullptr);
  ~SealKeys() override;

  // For each department with keys_dir/seals/<id>/seal.{key,crt} and no version in the registry:
  // imports it as version 1, active from the certificate's notBefore. Returns how many.
  int bootstrap(std::int64_t now, const Actor& by);

  // Generates the key (0600), records the pending version (audit seal.create), builds the CSR;
  // with example_ca also issues and installs the certificate (audit seal.install).
  CreatedSealKey create(const std::string& department, const CreateSealKey& how, std::int64_t now,
                        const Actor& by);
  // Installs a PEM/DER certificate on a pending version after checking that its public key is the
  // version's key, that it is a seal certificate of the department (organizationIdentifier =
  // USCC), and that it chains to the root.
  SealKeyVersion install(const std::string& department, std::int64_t version,
                         std::string_view cert_pem_or_der, std::int64_t now, const Actor& by);

  // The signer of a version with a certificate (cached; loads key_ref). Throws Error(kIo) if the
  // key file is unreadable, (kInvalidArgument) if it no longer matches the certificate.
  std::shared_ptr<const libcert::Signer> signer(const SealKeyVersion& v) const;

  // For a version whose key lives in a token (key_ref "pkcs11:..."): nullopt when the token
  // answers and holds the key, else the fault ("token-absent", "pin-incorrect", ...) — for
  // /readyz. check_token_key() throws the libcert::pkcs11::TokenError instead (503 naming the
  // fault, before a serial is reserved). Both do nothing for a PEM key.
  [[nodiscard]] std::optional<std::string> token_key_problem(const SealKeyVersion& v) const;
  void check_token_key(const SealKeyVersion& v) const;

  // Every version that sealed or may seal, with states and usage windows; root from keys_dir.
  // `version` of the bundle is `now` (increases with time). Cached until a version changes.
  std::shared_ptr<const libcert::TrustBundle> bundle(std::int64_t now) const;

  // The bundle to publish for offline verifiers (GET /v1/trust-bundle, `certctl seal bundle`):
  // bundle(now) plus one status list of `status_bits` per department with the registry's revoked
  // licences set. Unsigned: TrustBundle::sign it with the bundle key.
  [[nodiscard]] libcert::TrustBundle publishable_bundle(std::int64_t now,
                                                        std::uint32_t status_bits) const;

  // libcert::SealKeyDirectory (PDF verification).
  [[nodiscard]] std::optional<libcert::SealKeyState> lookup(
      std::string_view cert_sha256) const override;

  // Seconds until the active certificate of `department` expires (nullopt: no active version).
  // Refusal is the caller's (issuance) decision, with this margin.
  [[nodiscard]] const SealKeyOptions& options() const { return options_; }
  // Sets certd_seal_certificate_days_left{department} for every active version; returns the
  // departments inside the warning margin (days left).
  std::map<std::string, double> update_expiry_gauges(Metrics& m, std::int64_t now) const;

  [[nodiscard]] const libcert::Department& department(const std::string& id) const;
  [[nodiscard]] const std::string& root_der() const { return root_der_; }
  // DER of the issuing CA certificate (empty in a key directory without one).
  [[nodiscard]] const std::string& issuing_ca_der() const { return issuing_ca_der_; }
  // The file of a key_ref ("keys-dir:<path>" is relative to options().keys_dir).
  [[nodiscard]] std::string key_path(const std::string& key_ref) const;

 private:
  Store& store_;
  const libcert::TemplateSet& templates_;
  SealKeyOptions options_;
  libcert::Rng* rng_;
  std::unique_ptr<libcert::Rng> own_rng_;
  std::string root_der_;
  std::string issuing_ca_der_;
  mutable std::mutex mu_;
  mutable std::map<std::pair<std::string, std::int64_t>,
                   std::pair<std::string, std::shared_ptr<const libcert::Signer>>>
      signers_;                     // (dept, version) → (cert sha256, signer)   GUARDED_BY(mu_)
  mutable std::string bundle_key_;  // GUARDED_BY(mu_)
  mutable std::shared_ptr<const libcert::TrustBundle> bundle_;  // GUARDED_BY(mu_)
};

}  // namespace certd
