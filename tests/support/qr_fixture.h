// tests/support/qr_fixture.h — test keys (made by the openssl CLI,
// tests/data/qr/make-test-keys.sh), realistic QR claims and a signed trust bundle, shared by the QR
// payload and bundle tests.
#pragma once

#include <string>

#include "libcert/qr_payload.h"
#include "libcert/roles.h"
#include "libcert/trust_bundle.h"
#include "support/process.h"

namespace testsupport {

inline std::string qr_data(const std::string& name) {
  return slurp(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/qr/" + name);
}

// DER of a PEM certificate, converted by the openssl CLI (not by libcert).
inline std::string qr_cert_der(const std::string& name) {
  TempDir t;
  const auto out = t / "c.der";
  const auto r = run("openssl x509 -in " +
                     shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/qr/" + name) +
                     " -outform DER -out " + shell_quote(out.string()));
  if (r.exit_code != 0) throw std::runtime_error("openssl x509: " + r.out);
  return slurp(out);
}

inline constexpr const char* kSamrUscc = "115425000199003834";

// A realistic business licence (qr.md's typical case).
inline libcert::QrClaims realistic_claims(std::int64_t iat) {
  libcert::QrClaims c;
  c.issuer = kSamrUscc;
  c.issued_at = iat;
  c.expires_at = iat + 20LL * 365 * 86400;
  auto& l = c.licence;
  l.identifier = "1.2.156.3005.2.11100000000013338W032.115425000199003834.2025000123.001.J";
  l.type_code = "11100000000013338W032";
  l.holder_name = "阿里地区噶尔县雪域高原牧业有限公司";
  l.holder_code = "91350100M000100Y43";
  l.title = "营业执照";
  l.issue_date = 20261122;
  l.area_code = 542521;
  l.status_index = 734211;
  l.digest = std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10", 16);
  return c;
}

struct QrKeys {
  std::string root = qr_cert_der("root.crt");
  std::string seal = qr_cert_der("seal.crt");
  std::string seal2 = qr_cert_der("seal2.crt");
  std::string unknown = qr_cert_der("unknown.crt");
  std::string bundle = qr_cert_der("bundle.crt");
  std::string rogue = qr_cert_der("rogue.crt");
  libcert::DigestSigner seal_sign = libcert::digest_signer_from_pem(qr_data("seal.key"));
  libcert::DigestSigner seal2_sign = libcert::digest_signer_from_pem(qr_data("seal2.key"));
  libcert::DigestSigner unknown_sign = libcert::digest_signer_from_pem(qr_data("unknown.key"));
  libcert::DigestSigner bundle_sign = libcert::digest_signer_from_pem(qr_data("bundle.key"));
  libcert::DigestSigner rogue_sign = libcert::digest_signer_from_pem(qr_data("rogue.key"));

  // Bundle with seal (active) and seal2 (active), status list of 2^20 bits for SAMR.
  [[nodiscard]] libcert::TrustBundle bundle_v(std::uint64_t version, std::int64_t issued_at) const {
    libcert::TrustBundle b;
    b.version = version;
    b.issued_at = issued_at;
    b.root_der = root;
    b.seals.push_back(
        libcert::SealEntry::from_certificate("samr", kSamrUscc, seal, libcert::SealState::kActive));
    b.seals.push_back(libcert::SealEntry::from_certificate("samr", kSamrUscc, seal2,
                                                           libcert::SealState::kActive));
    b.status_lists.emplace(kSamrUscc, libcert::StatusList(1u << 20));
    // The hosts the tests print QRs for (the policy is signed with the bundle).
    b.policy.url_prefixes = {"HTTPS://LIC.ALI.EXAMPLE/V#", "HTTPS://H/V#", "HTTPS://H.EXAMPLE/V#"};
    return b;
  }
  // The verifier's configuration: the root and the pinned bundle-signer key.
  [[nodiscard]] libcert::BundlePins pins() const { return {root, {libcert::spki_sha256(bundle)}}; }
  // Signs and re-parses (what a verifier holds).
  [[nodiscard]] libcert::TrustBundle published(const libcert::TrustBundle& b) const {
    return libcert::TrustBundle::parse(b.sign(bundle, bundle_sign), pins());
  }
};

}  // namespace testsupport
