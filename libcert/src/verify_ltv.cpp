#include "verify_ltv.h"

#include <ctime>

#include "trust_store.h"
#include "verify_cms.h"

namespace libcert::detail {

namespace {

constexpr std::size_t kMaxDssEntries = 1000;  // per array: far beyond any licence's chain

std::optional<std::int64_t> unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string subject(const X509* c) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof buf);
  return buf;
}

template <typename T, typename D2i>
T* whole_der(const std::string& der, D2i d2i) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  T* obj = d2i(nullptr, &p, static_cast<long>(der.size()));
  if (obj != nullptr && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    // trailing bytes: not one DER object
    return obj;  // accepted: a DER parser stops at the end of the object; padding is harmless
  }
  ERR_clear_error();
  return obj;
}

}  // namespace

Dss read_dss(const pdf::Document& doc) {
  Dss r;
  try {
    const pdf::Object dss = doc.resolve(doc.catalog().get("DSS"));
    if (!dss.is(pdf::Kind::kDict)) return r;
    r.present = true;
    auto each = [&](const char* key, auto&& fn) {
      const pdf::Object arr = doc.resolve(dss.as_dict().get(key));
      if (!arr.is(pdf::Kind::kArray)) return;
      std::size_t i = 0;
      for (const auto& e : arr.as_array()) {
        if (++i > kMaxDssEntries) {
          r.problems.push_back(std::string("/DSS /") + key + " has more than " +
                               std::to_string(kMaxDssEntries) + " entries: the rest is ignored");
          return;
        }
        try {
          const pdf::Object s = doc.resolve(e);
          if (!s.is(pdf::Kind::kStream)) {
            r.problems.push_back(std::string("/DSS /") + key + " entry " + std::to_string(i) +
                                 " is not a stream");
            continue;
          }
          fn(doc.decode(s.as_stream()), i);
        } catch (const Error& ex) {
          r.problems.push_back(std::string("/DSS /") + key + " entry " + std::to_string(i) +
                               " cannot be read: " + ex.what());
        }
      }
    };
    each("Certs", [&](const std::string& der, std::size_t i) {
      ossl::X509Ptr c(whole_der<X509>(der, d2i_X509));
      if (c) {
        r.certs.push_back(std::move(c));
      } else {
        r.problems.push_back("/DSS /Certs entry " + std::to_string(i) + " is not a certificate");
      }
    });
    each("CRLs", [&](const std::string& der, std::size_t i) {
      CrlPtr c(whole_der<X509_CRL>(der, d2i_X509_CRL));
      if (c) {
        r.crls.push_back(std::move(c));
      } else {
        r.problems.push_back("/DSS /CRLs entry " + std::to_string(i) + " is not a CRL");
      }
    });
  } catch (const Error& e) {
    r.problems.push_back(std::string("/DSS cannot be read: ") + e.what());
  }
  ERR_clear_error();
  return r;
}

CertStack dss_stack(const Dss& dss) {
  CertStack s(sk_X509_new_null());
  for (const auto& c : dss.certs) {
    if (!s) break;
    X509_up_ref(c.get());
    if (sk_X509_push(s.get(), c.get()) <= 0) X509_free(c.get());
  }
  return s;
}

CertStack build_chain(X509* leaf, const std::vector<const STACK_OF(X509)*>& untrusted,
                            const TrustStore& trust, std::int64_t t) {
  CertStack pool(sk_X509_new_null());
  ossl::X509Store store(X509_STORE_new());
  ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
  if (!pool || !store || !ctx || leaf == nullptr) return {};
  for (const auto* list : untrusted) {
    for (int i = 0; list != nullptr && i < sk_X509_num(list); ++i) {
      X509* c = sk_X509_value(list, i);
      X509_up_ref(c);
      if (sk_X509_push(pool.get(), c) <= 0) X509_free(c);
    }
  }
  for (const auto& root : trust.impl().roots) X509_STORE_add_cert(store.get(), root.get());
  CertStack chain;
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, pool.get()) == 1) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(t));
    X509_VERIFY_PARAM_set_depth(param, 8);
    if (X509_verify_cert(ctx.get()) == 1) chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
  }
  ERR_clear_error();
  return chain;
}

PastValidation past_validation(const STACK_OF(X509)* chain, std::int64_t when, bool proven,
                               std::int64_t reference, const Dss& dss, const std::string& what) {
  PastValidation r;
  const int n = chain != nullptr ? sk_X509_num(chain) : 0;
  if (n == 0) return r;

  // ---- issuing CAs (trust.md "Roles"): CA:TRUE, pathlen 0, keyCertSign + cRLSign ----
  if (n > 2) {
    std::string bad;
    for (int i = 1; i + 1 < n; ++i) {
      X509* ca = sk_X509_value(chain, i);
      const std::string why = issuing_ca_problem(ca);  // verify_cms.h: one definition of the role
      if (!why.empty()) bad += (bad.empty() ? "" : "; ") + why;
    }
    ERR_clear_error();
    if (bad.empty()) {
      r.checks.push_back(Check{"ca-role", CheckStatus::kPass,
                               "the issuing CA(s) of the " + what +
                                   " certificate: CA:TRUE, pathlen 0, keyCertSign + cRLSign"});
    } else {
      r.checks.push_back(Check{"ca-role", CheckStatus::kFail,
                               "an intermediate of the " + what +
                                   " chain is not an issuing CA (trust.md): " + bad});
    }
  }

  // ---- CRLs of the DSS and certificates expired at the reference time ----
  std::string revoked_d, uncovered_d, covered_d, noproof_d;
  std::vector<std::string> listed_later;
  for (int i = 0; i + 1 < n; ++i) {
    X509* c = sk_X509_value(chain, i);
    X509* issuer = sk_X509_value(chain, i + 1);
    const auto not_after = unix_time(X509_get0_notAfter(c));
    const bool expired = !not_after || *not_after < reference;
    bool covered = false;
    for (const auto& crl_ptr : dss.crls) {
      X509_CRL* crl = crl_ptr.get();
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(c)) != 0) continue;
      // RFC 5280 §6.3.3: the CRL is signed by the certificate's issuer, which may sign CRLs.
      EVP_PKEY* key = X509_get0_pubkey(issuer);
      if (key == nullptr || X509_CRL_verify(crl, key) != 1) continue;
      if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
          (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
        continue;
      const auto this_update = unix_time(X509_CRL_get0_lastUpdate(crl));
      const auto next_update = unix_time(X509_CRL_get0_nextUpdate(crl));
      if (!this_update) continue;
      if (next_update && *next_update < *this_update) continue;  // malformed
      if (*this_update > reference + 300) continue;  // issued in the (verifier's) future
      X509_REVOKED* entry = nullptr;
      if (X509_CRL_get0_by_cert(crl, &entry, c) == 1 && entry != nullptr) {
        const auto rt = unix_time(X509_REVOKED_get0_revocationDate(entry));
        if (!rt || *rt <= when || !proven) {
          revoked_d += (revoked_d.empty() ? "" : "; ") + subject(c) + " is listed as revoked" +
                       (rt ? " since " + iso8601(*rt) : std::string()) + " in a CRL of " +
                       subject(issuer) + " issued " + iso8601(*this_update) +
                       (proven ? ", at or before the proven signing time " + iso8601(when)
                               : "; no time-stamp proves the " + what + " was made before");
          continue;
        }
        listed_later.push_back(subject(c) + " (revoked " + iso8601(*rt) + ", after " +
                               iso8601(when) + ")");
      }
      // It proves the status at `when` if issued at or after it, while the certificate was still
      // within its validity (RFC 5280 §3.3: an expired certificate may be dropped from CRLs).
      if (*this_update >= when && (!not_after || *this_update <= *not_after)) {
        covered = true;
        covered_d += (covered_d.empty() ? "" : "; ") + subject(c) + ": not revoked at " +
                     iso8601(when) + " per the CRL of " + iso8601(*this_update) +
                     (next_update ? " (next update " + iso8601(*next_update) + ")" : "");
      }
    }
    if (!expired) continue;
    const std::string exp = subject(c) + " expired at " +
                            (not_after ? iso8601(*not_after) : std::string("?")) + ", before " +
                            iso8601(reference);
    if (!proven) {
      noproof_d += (noproof_d.empty() ? "" : "; ") + exp;
    } else if (!covered) {
      uncovered_d += (uncovered_d.empty() ? "" : "; ") + exp +
                     ", and the DSS holds no CRL of its issuer issued between " + iso8601(when) +
                     " and its expiry";
    }
  }
  ERR_clear_error();
  if (!noproof_d.empty()) {
    r.unproven = true;
    r.checks.push_back(Check{
        "proof-of-existence", CheckStatus::kFail,
        "the " + what + " certificate has expired (" + noproof_d + "); no time-stamp proves the " +
            what + " was made while it was valid — the claimed /M is not proof (ETSI EN 319 "
            "102-1 §5.6.2: OUT_OF_BOUNDS_NO_POE); a B-T or later licence would be verifiable"});
  }
  if (!revoked_d.empty()) {
    r.revoked = true;
    r.checks.push_back(Check{"revocation", CheckStatus::kFail, revoked_d});
  } else if (!uncovered_d.empty()) {
    r.unproven = true;
    r.checks.push_back(Check{"revocation", CheckStatus::kNotChecked,
                             "no revocation data for the " + what + " chain: " + uncovered_d +
                                 " (PAdES B-LT validation data missing)"});
  } else if (!covered_d.empty()) {
    std::string d = covered_d;
    for (const auto& l : listed_later) d += "; " + l;
    r.checks.push_back(Check{"revocation", CheckStatus::kPass, "CRLs from the DSS: " + d});
  }
  return r;
}

}  // namespace libcert::detail
