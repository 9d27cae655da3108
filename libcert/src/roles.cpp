#include "libcert/roles.h"

#include "roles_x509.h"

#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "libcert/error.h"
#include "libcert/ids.h"
#include "ossl.h"

namespace libcert {

namespace {

ossl::X509Ptr parse(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return c;
}

std::string oid_text(const ASN1_OBJECT* o) {
  char buf[256];
  const int n = OBJ_obj2txt(buf, sizeof buf, o, 1);  // numeric form, never a short name
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf
             ? std::string(buf, static_cast<std::size_t>(n))
             : std::string();
}

struct Policies {
  bool seal = false, bundle = false, maker = false, unreadable = false;
};

Policies policies(X509* c) {
  Policies out;
  int crit = 0;
  auto* pol = static_cast<CERTIFICATEPOLICIES*>(
      X509_get_ext_d2i(c, NID_certificate_policies, &crit, nullptr));
  if (pol == nullptr) {
    out.unreadable = crit != -1;  // -1: absent; anything else: present but malformed or repeated
    ERR_clear_error();
    return out;
  }
  for (int i = 0; i < sk_POLICYINFO_num(pol); ++i) {
    const std::string oid = oid_text(sk_POLICYINFO_value(pol, i)->policyid);
    out.seal = out.seal || oid == kSealPolicyOid;
    out.bundle = out.bundle || oid == kBundleSignerPolicyOid;
    out.maker = out.maker || oid == kSealMakerPolicyOid;
  }
  CERTIFICATEPOLICIES_free(pol);
  return out;
}

std::string org_identifier(X509* c) {
  const X509_NAME* n = X509_get_subject_name(c);
  const int idx = X509_NAME_get_index_by_NID(n, NID_organizationIdentifier, -1);
  if (idx < 0) return {};
  // A second organizationIdentifier would make the department ambiguous.
  if (X509_NAME_get_index_by_NID(n, NID_organizationIdentifier, idx) >= 0) return "\n";
  unsigned char* out = nullptr;
  const int len = ASN1_STRING_to_UTF8(&out, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)));
  if (len < 0) {
    ERR_clear_error();
    return {};
  }
  std::string s(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return s;
}

}  // namespace

std::string_view to_string(CertRole r) noexcept {
  switch (r) {
    case CertRole::kNone:
      return "none";
    case CertRole::kSeal:
      return "seal";
    case CertRole::kBundleSigner:
      return "bundle-signer";
    case CertRole::kTsa:
      return "tsa";
    case CertRole::kCa:
      return "ca";
    case CertRole::kSealMaker:
      return "seal-maker";
  }
  return "none";
}

CertificateRole certificate_role(std::string_view der) {
  ossl::X509Ptr c = parse(der);
  if (!c) {
    CertificateRole r;
    r.why = "not a DER X.509 certificate";
    return r;
  }
  return detail::certificate_role_of(c.get());
}

CertificateRole detail::certificate_role_of(void* cert) {
  CertificateRole r;
  X509* const x = static_cast<X509*>(cert);
  const uint32_t flags = X509_get_extension_flags(x);  // also caches the extensions
  if ((flags & EXFLAG_INVALID) != 0) {
    ERR_clear_error();
    r.why = "the certificate has an invalid or repeated extension";
    return r;
  }
  if ((flags & EXFLAG_CA) != 0) {
    r.role = CertRole::kCa;
    r.why = "basicConstraints CA:TRUE (a CA certificate signs certificates, never documents)";
    return r;
  }
  const bool has_eku = (flags & EXFLAG_XKUSAGE) != 0;
  const uint32_t eku = X509_get_extended_key_usage(x);
  if (has_eku && (eku & XKU_TIMESTAMP) != 0) {
    r.role = CertRole::kTsa;
    r.why = "extendedKeyUsage id-kp-timeStamping (RFC 3161 §2.3: time-stamp tokens only)";
    return r;
  }
  const Policies pol = policies(x);
  if (pol.unreadable) {
    r.why = "certificatePolicies is malformed";
    return r;
  }
  if (int{pol.seal} + int{pol.bundle} + int{pol.maker} > 1) {
    r.why = "certificatePolicies names more than one of the seal, bundle-signer and seal-maker "
            "policies (one role only)";
    return r;
  }
  const bool has_ku = (flags & EXFLAG_KUSAGE) != 0;
  const uint32_t ku = X509_get_key_usage(x);
  if (pol.seal) {
    if (!has_ku || (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
      r.why = "seal policy without keyUsage digitalSignature/nonRepudiation";
      return r;
    }
    if (has_eku && (eku & XKU_SMIME) == 0) {
      r.why = "seal policy with an extendedKeyUsage lacking emailProtection";
      return r;
    }
    const std::string oi = org_identifier(x);
    if (oi.rfind(kOrgIdPrefix, 0) != 0 || oi.size() != kOrgIdPrefix.size() + 18 ||
        check_uscc(std::string_view(oi).substr(kOrgIdPrefix.size()))) {
      r.why = "seal policy, but the subject organizationIdentifier is not NTRCN-<valid USCC> (" +
              (oi == "\n" ? std::string("repeated") : "'" + oi + "'") + ")";
      return r;
    }
    r.role = CertRole::kSeal;
    r.uscc = oi.substr(kOrgIdPrefix.size());
    r.why = "seal policy " + std::string(kSealPolicyOid) + ", organizationIdentifier " + oi;
    return r;
  }
  if (pol.bundle) {
    if (!has_ku || (ku & KU_DIGITAL_SIGNATURE) == 0) {
      r.why = "bundle-signer policy without keyUsage digitalSignature";
      return r;
    }
    r.role = CertRole::kBundleSigner;
    r.why = "bundle-signer policy " + std::string(kBundleSignerPolicyOid);
    return r;
  }
  if (pol.maker) {
    if (!has_ku || (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
      r.why = "seal-maker policy without keyUsage digitalSignature/nonRepudiation";
      return r;
    }
    r.role = CertRole::kSealMaker;
    r.why = "seal-maker policy " + std::string(kSealMakerPolicyOid) + " (GB/T 38540 制章者)";
    return r;
  }
  r.why = "no policy of this system (neither the seal, the bundle-signer nor the seal-maker "
          "policy OID)";
  return r;
}

std::string spki_sha256(std::string_view der) {
  ossl::X509Ptr c = parse(der);
  if (!c) throw Error(ErrorCode::kCrypto, "spki_sha256: not a DER X.509 certificate");
  unsigned char* spki = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c.get()), &spki);
  if (n <= 0) {
    ERR_clear_error();
    throw Error(ErrorCode::kCrypto, "spki_sha256: cannot encode the SubjectPublicKeyInfo");
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(spki, static_cast<std::size_t>(n), md);
  OPENSSL_free(spki);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace libcert
