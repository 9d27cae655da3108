#include "verify_tst.h"

#include <openssl/ts.h>

#include <algorithm>
#include <ctime>

#include "libcert/roles.h"
#include "ossl.h"
#include "trust_store.h"
#include "verify_cms.h"

namespace libcert::detail {

namespace {

using Pkcs7 = std::unique_ptr<PKCS7, ossl::Deleter<PKCS7_free>>;
using TstInfo = std::unique_ptr<TS_TST_INFO, ossl::Deleter<TS_TST_INFO_free>>;
using VerifyCtx = std::unique_ptr<TS_VERIFY_CTX, ossl::Deleter<TS_VERIFY_CTX_free>>;

struct One {
  bool ok = false;
  bool unproven = false;  // intact, but its TSA certificate cannot be relied on at `reference`
  std::int64_t gen_time = 0;
  std::string subject;
  std::string detail;
};

std::string subject_of(X509* c) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof buf);
  return buf;
}

// Verifies one token over the data `parts` hash (the token's own imprint algorithm, SHA-2 only).
One verify_token(std::string_view token_der, const std::vector<std::string_view>& parts,
                 const TrustStore& trust, std::int64_t reference, const Dss* dss) {
  One o;
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7 token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (!token) {
    o.detail = "the token is not a DER TimeStampToken: " + ossl::drain_errors();
    return o;
  }
  TstInfo info(PKCS7_to_TS_TST_INFO(token.get()));
  if (!info) {
    o.detail = "the token holds no TSTInfo: " + ossl::drain_errors();
    return o;
  }
  // The imprint, computed with the token's algorithm (RFC 3161 §2.4.1): SHA-256/384/512 only.
  const X509_ALGOR* alg = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info.get()));
  const EVP_MD* md = EVP_get_digestbyobj(alg->algorithm);
  const int nid = md != nullptr ? EVP_MD_get_type(md) : NID_undef;
  if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
    o.detail = "the token's imprint algorithm is not SHA-256/384/512";
    ERR_clear_error();
    return o;
  }
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned hn = 0;
  ossl::MdCtx mctx(EVP_MD_CTX_new());
  bool ok = mctx && EVP_DigestInit_ex(mctx.get(), md, nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(mctx.get(), part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(mctx.get(), h, &hn) == 1;
  if (!ok) {
    o.detail = "hashing the time-stamped data failed";
    ERR_clear_error();
    return o;
  }

  std::tm gtm{};
  if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(info.get()), &gtm) != 1) {
    o.detail = "the token's genTime does not parse";
    ERR_clear_error();
    return o;
  }
  const auto gen_time = static_cast<std::int64_t>(timegm(&gtm));

  VerifyCtx vctx(TS_VERIFY_CTX_new());
  X509_STORE* store = X509_STORE_new();
  auto* imprint = static_cast<unsigned char*>(OPENSSL_memdup(h, hn));
  if (!vctx || store == nullptr || imprint == nullptr) {
    X509_STORE_free(store);
    OPENSSL_free(imprint);
    o.detail = "out of memory";
    return o;
  }
  for (const auto& root : trust.impl().roots) X509_STORE_add_cert(store, root.get());
  // The TSA's chain is evaluated at genTime (the TSA certificate must have been valid when it
  // stamped); whether it can still be relied on at `reference` is past_validation's question
  // below (ETSI EN 319 102-1 §5.6.2: an expired TSA certificate needs revocation data from the
  // DSS, or a later document time-stamp made while it was valid).
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), static_cast<time_t>(gen_time));
  if (dss != nullptr && !dss->certs.empty()) {
    CertStack extra = dss_stack(*dss);
    TS_VERIFY_CTX_set_certs(vctx.get(), extra.release());  // owned by vctx from here
  }
  TS_VERIFY_CTX_set_store(vctx.get(), store);            // owned by vctx from here
  TS_VERIFY_CTX_set_imprint(vctx.get(), imprint, hn);    // likewise
  // VERSION, SIGNATURE (the SignedData and the ESSCertID(v2) of the signer, RFC 3161 §2.4.2),
  // SIGNER (chain with purpose timestampsign: critical EKU id-kp-timeStamping), IMPRINT.
  TS_VERIFY_CTX_set_flags(vctx.get(),
                          TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_IMPRINT);
  if (TS_RESP_verify_token(vctx.get(), token.get()) != 1) {
    o.detail = "the token does not verify: " + ossl::drain_errors();
    return o;
  }
  // The signer's role, read like every other certificate's (trust.md "Roles").
  STACK_OF(X509)* certs = token->d.sign->cert;
  STACK_OF(PKCS7_SIGNER_INFO)* sinfos = PKCS7_get_signer_info(token.get());
  X509* signer = nullptr;
  if (sinfos != nullptr && sk_PKCS7_SIGNER_INFO_num(sinfos) == 1 && certs != nullptr) {
    PKCS7_ISSUER_AND_SERIAL* ias = sk_PKCS7_SIGNER_INFO_value(sinfos, 0)->issuer_and_serial;
    signer = X509_find_by_issuer_and_serial(certs, ias->issuer, ias->serial);
  }
  if (signer == nullptr) {
    o.detail = "the token does not carry its signer's certificate";
    ERR_clear_error();
    return o;
  }
  unsigned char* der = nullptr;
  const int dn = i2d_X509(signer, &der);
  const CertificateRole role =
      dn > 0 ? certificate_role(std::string_view(reinterpret_cast<char*>(der),
                                                 static_cast<std::size_t>(dn)))
             : CertificateRole{};
  OPENSSL_free(der);
  if (role.role != CertRole::kTsa) {
    o.detail = "the token's signer is not a time-stamping authority (role " +
               std::string(to_string(role.role)) + "): " + role.why;
    ERR_clear_error();
    return o;
  }
  // The certificates above the TSA that the token carries: an issuing CA's role, like a seal's
  // chain (trust.md "Roles"; a self-signed anchor a token may carry is not an intermediate).
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    if (c == signer || X509_check_issued(c, c) == X509_V_OK) continue;
    if (std::string why = issuing_ca_problem(c); !why.empty()) {
      o.detail = "the token's chain: " + why;
      ERR_clear_error();
      return o;
    }
  }
  o.gen_time = gen_time;
  o.subject = subject_of(signer);
  {
    static const Dss kNoDss;
    const Dss& d = dss != nullptr ? *dss : kNoDss;
    CertStack extra = dss_stack(d);
    const CertStack chain = build_chain(signer, {certs, extra.get()}, trust, gen_time);
    const PastValidation pv = past_validation(chain.get(), gen_time, true, reference, d, "TSA");
    for (const auto& c : pv.checks) {
      if (c.status == CheckStatus::kFail && c.id != "proof-of-existence") {
        o.detail = "the TSA chain: " + c.id + ": " + c.detail;
        ERR_clear_error();
        return o;
      }
      if (c.status != CheckStatus::kPass) {
        o.unproven = true;
        o.detail = "the TSA chain: " + c.id + ": " + c.detail;
      }
    }
  }
  o.ok = !o.unproven;
  ERR_clear_error();
  return o;
}

void add_check(TimestampVerification& r, const char* id, bool ok, std::string detail) {
  r.checks.push_back(Check{id, ok ? CheckStatus::kPass : CheckStatus::kFail, std::move(detail)});
}

}  // namespace

TimestampVerification signature_timestamps(std::string_view cms_der, const TrustStore& trust,
                                           std::int64_t reference, const Dss* dss) {
  TimestampVerification r;
  // A CMS without a signature time-stamp (PAdES B-B) is not parsed a second time (cms_verify
  // parses it; a parse is ~40 % of verifying a licence, issue 21): an attribute of type
  // id-aa-signatureTimeStampToken holds that OID's content octets, which have one encoding in
  // BER as in DER (X.690 §8.19.2: every subidentifier in the fewest octets), whatever its tag
  // and length octets look like. Without those octets there is no such attribute to check.
  static constexpr std::string_view kTstOidContent{
      "\x2A\x86\x48\x86\xF7\x0D\x01\x09\x10\x02\x0E", 11};  // 1.2.840.113549.1.9.16.2.14
  if (cms_der.find(kTstOidContent) == std::string_view::npos) return r;
  const auto* p = reinterpret_cast<const unsigned char*>(cms_der.data());
  ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(cms_der.size())));
  if (!cms) {
    ERR_clear_error();
    return r;  // the CMS check reports it
  }
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  if (sis == nullptr || sk_CMS_SignerInfo_num(sis) != 1) {
    ERR_clear_error();
    return r;
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
  const ASN1_OCTET_STRING* sigval = CMS_SignerInfo_get0_signature(si);
  const std::string_view sig(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sigval)),
                             static_cast<std::size_t>(ASN1_STRING_length(sigval)));
  ossl::Asn1Object oid(OBJ_txt2obj("1.2.840.113549.1.9.16.2.14", 1));  // RFC 3161 Appendix A
  std::vector<std::string> problems, unproven;
  for (int loc = -1; (loc = CMS_unsigned_get_attr_by_OBJ(si, oid.get(), loc)) >= 0;) {
    X509_ATTRIBUTE* attr = CMS_unsigned_get_attr(si, loc);
    for (int i = 0; i < X509_ATTRIBUTE_count(attr); ++i) {
      const ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, i);
      r.present = true;
      if (t == nullptr || t->type != V_ASN1_SEQUENCE) {
        problems.push_back("a signature time-stamp attribute value is not a SEQUENCE");
        continue;
      }
      // An ANY holding a SEQUENCE keeps its whole encoding: the token's ContentInfo DER.
      const ASN1_STRING* s = t->value.sequence;
      const std::string token(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<std::size_t>(ASN1_STRING_length(s)));
      r.tokens.push_back(token);
      const One o = verify_token(token, {sig}, trust, reference, dss);
      if (o.unproven) {
        unproven.push_back(o.detail);
      } else if (!o.ok) {
        problems.push_back(o.detail);
      } else if (!r.proven_time || o.gen_time < *r.proven_time) {
        r.proven_time = o.gen_time;
        r.tsa_subject = o.subject;
      }
    }
  }
  ERR_clear_error();
  if (!r.present) return r;
  if (!problems.empty()) {
    std::string d;
    for (const auto& s : problems) d += (d.empty() ? "" : "; ") + s;
    add_check(r, "signature-timestamp", false, "signature time-stamp: " + d);
  } else if (!r.proven_time) {
    std::string d;
    for (const auto& s : unproven) d += (d.empty() ? "" : "; ") + s;
    r.checks.push_back(Check{"signature-timestamp", CheckStatus::kNotChecked,
                             "the signature time-stamp proves no time: " + d});
  } else {
    add_check(r, "signature-timestamp", true,
              "RFC 3161 signature time-stamp over the signature value, genTime " +
                  iso8601(*r.proven_time) + " by " + r.tsa_subject);
  }
  return r;
}

TimestampVerification document_timestamp(const std::vector<std::string_view>& parts,
                                          std::string_view token_der, const TrustStore& trust,
                                          std::int64_t reference, const Dss* dss) {
  TimestampVerification r;
  r.present = true;
  // /Contents is zero-padded after the DER token.
  const auto* p = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7 probe(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  const std::size_t used =
      probe ? static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(token_der.data()))
            : token_der.size();
  ERR_clear_error();
  const std::string_view tok = token_der.substr(0, used);
  r.tokens.emplace_back(tok);
  const One o = verify_token(tok, parts, trust, reference, dss);
  if (o.unproven) {
    r.tsa_subject = o.subject;
    r.checks.push_back(Check{"timestamp-token", CheckStatus::kNotChecked,
                             "the document time-stamp (genTime " + iso8601(o.gen_time) +
                                 ") proves no time: " + o.detail});
  } else if (o.ok) {
    r.proven_time = o.gen_time;
    r.tsa_subject = o.subject;
    add_check(r, "timestamp-token", true,
              "RFC 3161 document time-stamp over the byte ranges, genTime " + iso8601(o.gen_time) +
                  " by " + o.subject);
  } else {
    add_check(r, "timestamp-token", false, "document time-stamp: " + o.detail);
  }
  return r;
}

}  // namespace libcert::detail
