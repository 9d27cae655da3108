// tests/support/test_pki.h — a throw-away PKI made with OpenSSL's X509 / X509_CRL API, with
// validity periods and CRL times chosen by the test (the example keys' dates are fixed): a root,
// an issuing CA (CA:TRUE, pathlen 0, keyCertSign + cRLSign; trust.md), seal and TSA certificates
// in their roles, and CRLs. For the PAdES B-LT/B-LTA tests (issue 19).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "libcert/roles.h"

namespace testpki {

struct Key {
  std::shared_ptr<EVP_PKEY> k;
  std::string pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(b.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* d = nullptr;
    const long n = BIO_get_mem_data(b.get(), &d);
    return {d, static_cast<std::size_t>(n)};
  }
};
inline Key ec_key() { return Key{std::shared_ptr<EVP_PKEY>(EVP_EC_gen("P-256"), EVP_PKEY_free)}; }

struct Cert {
  std::shared_ptr<X509> x;
  Key key;
  std::string der() const {
    unsigned char* d = nullptr;
    const int n = i2d_X509(x.get(), &d);
    std::string s(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
    OPENSSL_free(d);
    return s;
  }
  std::string pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(b.get(), x.get());
    char* d = nullptr;
    const long n = BIO_get_mem_data(b.get(), &d);
    return {d, static_cast<std::size_t>(n)};
  }
};

// name: {{"CN", "..."}, {"organizationIdentifier", "NTRCN-..."}}; ext: {{nid, "critical,..."}}.
inline Cert make_cert(const std::vector<std::pair<std::string, std::string>>& name,
                      const Cert* issuer, long serial, std::int64_t not_before,
                      std::int64_t not_after, const std::vector<std::pair<int, std::string>>& ext) {
  Cert c;
  c.key = ec_key();
  X509* x = X509_new();
  c.x.reset(x, X509_free);
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(not_after));
  X509_NAME* n = X509_get_subject_name(x);
  for (const auto& [k, v] : name) {
    X509_NAME_add_entry_by_txt(n, k.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer->x.get()) : n);
  X509_set_pubkey(x, c.key.k.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->x.get() : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& v) {
    X509_EXTENSION* e = nullptr;
    if (nid == NID_certificate_policies) {
      // One policy OID, no qualifiers (the conf syntax wants a config section for more).
      CERTIFICATEPOLICIES* pols = sk_POLICYINFO_new_null();
      POLICYINFO* pi = POLICYINFO_new();
      ASN1_OBJECT_free(pi->policyid);
      pi->policyid = OBJ_txt2obj(v.c_str(), 1);
      sk_POLICYINFO_push(pols, pi);
      e = X509V3_EXT_i2d(NID_certificate_policies, 0, pols);
      CERTIFICATEPOLICIES_free(pols);
    } else {
      e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, v.c_str());
    }
    if (e == nullptr) throw std::runtime_error("extension " + v);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  add(NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add(NID_authority_key_identifier, "keyid");
  for (const auto& [nid, v] : ext) add(nid, v);
  X509_sign(x, issuer != nullptr ? issuer->key.k.get() : c.key.k.get(), EVP_sha256());
  return c;
}

inline Cert root(std::int64_t from, std::int64_t to) {
  return make_cert({{"C", "CN"}, {"CN", "LTV Test Root"}}, nullptr, 1, from, to,
                   {{NID_basic_constraints, "critical,CA:TRUE"},
                    {NID_key_usage, "critical,keyCertSign,cRLSign"}});
}
inline Cert issuing_ca(const Cert& root, std::int64_t from, std::int64_t to,
                       const std::string& bc = "critical,CA:TRUE,pathlen:0") {
  return make_cert({{"C", "CN"}, {"CN", "LTV Test Issuing CA"}}, &root, 2, from, to,
                   {{NID_basic_constraints, bc}, {NID_key_usage, "critical,keyCertSign,cRLSign"}});
}
inline Cert seal(const Cert& ca, long serial, const std::string& uscc, std::int64_t from,
                 std::int64_t to) {
  return make_cert({{"C", "CN"}, {"O", "LTV Test Market Regulator"}, {"CN", "LTV Test Seal"},
                    {"organizationIdentifier", "NTRCN-" + uscc}},
                   &ca, serial, from, to,
                   {{NID_basic_constraints, "critical,CA:FALSE"},
                    {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                    {NID_certificate_policies, std::string(libcert::kSealPolicyOid)}});
}
inline Cert tsa(const Cert& ca, long serial, std::int64_t from, std::int64_t to) {
  return make_cert({{"C", "CN"}, {"CN", "LTV Test TSA " + std::to_string(serial)}}, &ca, serial,
                   from, to,
                   {{NID_basic_constraints, "critical,CA:FALSE"},
                    {NID_key_usage, "critical,digitalSignature"},
                    {NID_ext_key_usage, "critical,timeStamping"}});
}

// A CRL (v2) of `issuer` with thisUpdate/nextUpdate and (serial, revocationDate) entries,
// signed by `signer` (normally the issuer; another key makes a forged one).
inline std::string crl(const Cert& issuer, std::int64_t this_update, std::int64_t next_update,
                       const std::vector<std::pair<long, std::int64_t>>& revoked,
                       const Key* signer = nullptr) {
  X509_CRL* c = X509_CRL_new();
  X509_CRL_set_version(c, 1);
  X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer.x.get()));
  ASN1_TIME* t = ASN1_TIME_set(nullptr, static_cast<time_t>(this_update));
  X509_CRL_set1_lastUpdate(c, t);
  ASN1_TIME_set(t, static_cast<time_t>(next_update));
  X509_CRL_set1_nextUpdate(c, t);
  ASN1_TIME_free(t);
  for (const auto& [serial, when] : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    ASN1_INTEGER_free(s);
    ASN1_TIME* rt = ASN1_TIME_set(nullptr, static_cast<time_t>(when));
    X509_REVOKED_set_revocationDate(r, rt);
    ASN1_TIME_free(rt);
    X509_CRL_add0_revoked(c, r);
  }
  X509_CRL_sort(c);
  X509_CRL_sign(c, (signer != nullptr ? signer : &issuer.key)->k.get(), EVP_sha256());
  unsigned char* d = nullptr;
  const int n = i2d_X509_CRL(c, &d);
  std::string out(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
  OPENSSL_free(d);
  X509_CRL_free(c);
  return out;
}

}  // namespace testpki
