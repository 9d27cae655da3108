#include "verify_cms.h"

#include "roles_x509.h"

#include <openssl/ess.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "example_keys_priv.h"
#include "libcert/error.h"
#include "libcert/hex.h"
#include "libcert/ids.h"
#include "ossl.h"
#include "roles_x509.h"
#include "trust_store.h"

namespace libcert {

// ---- TrustStore --------------------------------------------------------------------------------

TrustStore::TrustStore() : impl_(std::make_unique<Impl>()) {}
TrustStore::~TrustStore() = default;
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;

void TrustStore::add_pem(std::string_view pem, std::string_view source) {
  if (pem.size() > (1u << 24)) {
    throw Error(ErrorCode::kInvalidArgument, std::string(source) + ": larger than 16 MiB");
  }
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::check(bio != nullptr, "trust store: BIO_new_mem_buf");
  std::size_t added = 0;
  for (;;) {
    ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    impl_->roots.push_back(std::move(cert));
    ++added;
  }
  // PEM_read_bio_X509 ends with PEM_R_NO_START_LINE at a clean end of input; anything else is a
  // damaged block.
  const unsigned long err = ERR_peek_last_error();
  const bool clean_end =
      err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE);
  const std::string q = ossl::drain_errors();
  if (!clean_end) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(source) + ": a certificate block does not parse: " + q);
  }
  if (added == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(source) + ": no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  }
}

void TrustStore::add_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(ErrorCode::kIo, p.string() + ": cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      const auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".pem" || ext == ".crt")) files.push_back(e.path());
    }
    if (ec) throw Error(ErrorCode::kIo, path + ": cannot list directory: " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      throw Error(ErrorCode::kInvalidArgument, path + ": directory holds no *.pem or *.crt file");
    }
    for (const auto& f : files) add_pem(read(f), f.string());
    return;
  }
  if (!fs::exists(path, ec)) throw Error(ErrorCode::kIo, path + ": no such file or directory");
  add_pem(read(path), path);
}

std::size_t TrustStore::size() const { return impl_->roots.size(); }

std::vector<std::string> TrustStore::fingerprints() const {
  std::vector<std::string> out;
  for (const auto& c : impl_->roots) out.push_back(detail::cert_sha256(c.get()));
  return out;
}

namespace detail {

namespace {

using libcert::hex;  // hex.h

std::string asn1_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) {
    ERR_clear_error();
    return {};
  }
  std::string r(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return r;
}

std::string name_entry(const X509_NAME* name, int nid) {
  const int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return {};
  return asn1_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
}

std::string name_rfc2253(const X509_NAME* name) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  // RFC 2253 order and escaping, but UTF-8 kept as UTF-8 (the department names are Chinese).
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string asn1_time_iso(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return {};
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string subject_line(X509* c) { return name_rfc2253(X509_get_subject_name(c)); }

struct ChainErrors {
  std::vector<std::pair<int, std::string>> errors;  // (X509_V_ERR_*, "depth N (subject): text")
};

int collect_errors(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* sink = static_cast<ChainErrors*>(X509_STORE_CTX_get_app_data(ctx));
  const int err = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  std::string where = "depth " + std::to_string(depth);
  if (cert != nullptr) where += " (" + subject_line(cert) + ")";
  if (sink != nullptr) {
    sink->errors.emplace_back(err, where + ": " + X509_verify_cert_error_string(err));
  }
  // Continue, so every problem of the chain is reported, not only the first (RFC 5280 §6.1 is
  // still applied in full; the collected errors decide the outcome).
  return 1;
}

bool is_time_error(int e) {
  return e == X509_V_ERR_CERT_NOT_YET_VALID || e == X509_V_ERR_CERT_HAS_EXPIRED ||
         e == X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD ||
         e == X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
}

bool is_trust_error(int e) {
  return e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
         e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || e == X509_V_ERR_CERT_UNTRUSTED ||
         e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

void add(std::vector<Check>& v, std::string id, CheckStatus s, std::string detail) {
  v.push_back(Check{std::move(id), s, std::move(detail)});
}

}  // namespace

std::string issuing_ca_problem(const void* cert) {
  auto* c = const_cast<X509*>(static_cast<const X509*>(cert));
  const uint32_t flags = X509_get_extension_flags(c);
  const long pathlen = X509_get_pathlen(c);
  const uint32_t ku = X509_get_key_usage(c);
  ERR_clear_error();
  std::string why;
  if ((flags & EXFLAG_CA) == 0) why = "not CA:TRUE";
  else if (pathlen != 0) why = "pathLenConstraint is not 0 (an issuing CA certifies leaves only)";
  else if ((flags & EXFLAG_KUSAGE) == 0 || (ku & KU_KEY_CERT_SIGN) == 0 || (ku & KU_CRL_SIGN) == 0)
    why = "keyUsage lacks keyCertSign + cRLSign";
  if (why.empty()) return {};
  return "intermediate " + subject_line(c) + " is not an issuing CA: " + why;
}

std::string cert_sha256(const X509* c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(c, EVP_sha256(), md, &n) != 1) {
    ERR_clear_error();
    return {};
  }
  return hex(md, n);
}

std::string iso8601(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

CmsVerification cms_verify(const std::vector<std::string_view>& parts, std::string_view der,
                           const TrustStore& trust, std::int64_t signing_time, bool cades,
                           const Dss* dss, bool proven, std::optional<std::int64_t> reference) {
  CmsVerification r;
  auto& checks = r.checks;
  ERR_clear_error();

  // RFC 5652 §3: ContentInfo with contentType id-signedData. /Contents is zero-padded after the
  // DER (signing.md), so d2i reads one object and the rest must be zero bytes.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) {
    add(checks, "cms", CheckStatus::kFail,
        "/Contents is not a DER CMS ContentInfo: " + ossl::drain_errors());
    return r;
  }
  const std::size_t used =
      static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(der.data()));
  if (std::any_of(der.begin() + static_cast<std::ptrdiff_t>(used), der.end(),
                  [](char c) { return c != 0; })) {
    add(checks, "cms", CheckStatus::kFail,
        "/Contents holds non-zero bytes after the CMS (" + std::to_string(der.size() - used) +
            " bytes of padding expected to be zero)");
    return r;
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    add(checks, "cms", CheckStatus::kFail, "CMS content type is not id-signedData (RFC 5652 §5)");
    return r;
  }
  ASN1_OCTET_STRING** econtent = CMS_get0_content(cms.get());
  if (econtent != nullptr && *econtent != nullptr) {
    add(checks, "cms", CheckStatus::kFail,
        "CMS is not detached: it encapsulates content (PAdES requires a detached signature)");
    return r;
  }
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  if (sis == nullptr || sk_CMS_SignerInfo_num(sis) != 1) {
    add(checks, "cms", CheckStatus::kFail,
        "CMS has " + std::to_string(sis == nullptr ? 0 : sk_CMS_SignerInfo_num(sis)) +
            " signer infos; PAdES requires exactly one (ETSI EN 319 142-1 §5.1)");
    return r;
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
  ossl::X509Stack certs(CMS_get1_certs(cms.get()));
  ERR_clear_error();
  X509* signer = nullptr;
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    X509* c = sk_X509_value(certs.get(), i);
    if (CMS_SignerInfo_cert_cmp(si, c) == 0) {
      signer = c;
      break;
    }
  }
  if (signer == nullptr) {
    add(checks, "cms", CheckStatus::kFail,
        "the signer's certificate (by issuer and serial / subject key id) is not in the CMS");
    return r;
  }
  add(checks, "cms", CheckStatus::kPass,
      "detached SignedData, one signer, " + std::to_string(sk_X509_num(certs.get())) +
          " certificate(s)");

  // Signer identity.
  const X509_NAME* subj = X509_get_subject_name(signer);
  r.signer_subject = name_rfc2253(subj);
  r.department = name_entry(subj, NID_organizationName);
  if (r.department.empty()) r.department = name_entry(subj, NID_commonName);
  // The department comes only from the seal role: organizationIdentifier NTRCN-<USCC> of a
  // certificate with the seal policy (trust.md), never from any 18 characters of the subject.
  {
    r.role = certificate_role_of(signer);
    if (r.role.role == CertRole::kSeal) r.uscc = r.role.uscc;
  }
  r.cert_sha256 = cert_sha256(signer);
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(signer); serial != nullptr) {
    ossl::Bn bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (bn) {
      char* h = BN_bn2hex(bn.get());
      if (h != nullptr) {
        r.cert_serial = h;
        OPENSSL_free(h);
      }
    }
  }
  r.cert_not_before = asn1_time_iso(X509_get0_notBefore(signer));
  r.cert_not_after = asn1_time_iso(X509_get0_notAfter(signer));

  // ---- digest: message-digest attribute == hash of the signed byte ranges (RFC 5652 §11.2) ----
  X509_ALGOR* digalg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digalg, nullptr);
  const ASN1_OBJECT* dobj = nullptr;
  if (digalg != nullptr) X509_ALGOR_get0(&dobj, nullptr, nullptr, digalg);
  const int dnid = dobj != nullptr ? OBJ_obj2nid(dobj) : NID_undef;
  const EVP_MD* md = nullptr;
  if (dnid == NID_sha256 || dnid == NID_sha384 || dnid == NID_sha512 || dnid == NID_sha3_256 ||
      dnid == NID_sha3_512 || dnid == NID_sm3) {
    md = EVP_get_digestbynid(dnid);
  }
  r.digest_algorithm = dnid != NID_undef ? OBJ_nid2sn(dnid) : "unknown";
  const bool has_signed_attrs = CMS_signed_get_attr_count(si) > 0;
  if (md == nullptr) {
    add(checks, "digest", CheckStatus::kFail,
        "digest algorithm " + r.digest_algorithm + " is not accepted (SHA-2/SHA-3/SM3 only)");
  } else if (!has_signed_attrs) {
    add(checks, "digest", CheckStatus::kFail,
        "no signed attributes: PAdES requires the message-digest attribute (ETSI EN 319 142-1 "
        "§5.2.1)");
  } else {
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hn = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1;
    for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx.get(), h, &hn) == 1;
    ERR_clear_error();
    const auto* attr = static_cast<const ASN1_OCTET_STRING*>(CMS_signed_get0_data_by_OBJ(
        si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING));
    if (!ok) {
      add(checks, "digest", CheckStatus::kFail, "hashing the signed ranges failed");
    } else if (attr == nullptr) {
      add(checks, "digest", CheckStatus::kFail,
          "message-digest signed attribute missing or malformed");
    } else if (static_cast<unsigned>(ASN1_STRING_length(attr)) != hn ||
               std::memcmp(ASN1_STRING_get0_data(attr), h, hn) != 0) {
      add(checks, "digest", CheckStatus::kFail,
          "message-digest attribute " +
              hex(ASN1_STRING_get0_data(attr), static_cast<std::size_t>(ASN1_STRING_length(attr))) +
              " != " + r.digest_algorithm + " of the signed ranges " + hex(h, hn) +
              ": the signed bytes were changed");
    } else {
      add(checks, "digest", CheckStatus::kPass,
          r.digest_algorithm + " of the signed ranges matches the message-digest attribute");
    }
  }

  // ---- signature over the signed attributes with the signer's public key (RFC 5652 §5.4) ----
  CMS_SignerInfo_set1_signer_cert(si, signer);
  if (!has_signed_attrs) {
    add(checks, "signature", CheckStatus::kFail, "no signed attributes to verify");
  } else if (CMS_SignerInfo_verify(si) == 1) {
    add(checks, "signature", CheckStatus::kPass,
        "signature value verifies with the signer certificate's public key");
  } else {
    add(checks, "signature", CheckStatus::kFail,
        "signature value does not verify with the signer certificate's public key: " +
            ossl::drain_errors());
  }

  // ---- signed attributes profile (ETSI EN 319 142-1 §5.2) ----
  {
    std::vector<std::string> problems, warnings;
    const auto* ct = static_cast<const ASN1_OBJECT*>(
        CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT));
    if (ct == nullptr || OBJ_obj2nid(ct) != NID_pkcs7_data) {
      problems.push_back("content-type attribute missing or not id-data (RFC 5652 §11.1)");
    }
    if (cades && CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0) {
      warnings.push_back(
          "signingTime attribute present (ETSI EN 319 142-1 §5.2.3 forbids it; "
          "the time is taken from /M)");
    }
    ERR_clear_error();
    if (!problems.empty()) {
      std::string d;
      for (auto& s : problems) d += (d.empty() ? "" : "; ") + s;
      add(checks, "signed-attributes", CheckStatus::kFail, d);
    } else if (!warnings.empty()) {
      add(checks, "signed-attributes", CheckStatus::kWarn, warnings.front());
    } else {
      add(checks, "signed-attributes", CheckStatus::kPass,
          cades ? "content-type id-data, no signingTime" : "content-type id-data");
    }
  }

  // ---- signing-certificate(-v2): binds the signer certificate (RFC 5035, ETSI EN 319 122-1
  // §5.2.2.3); without it a signer could swap in another certificate with the same key.
  {
    const auto* v2 = static_cast<const ASN1_STRING*>(CMS_signed_get0_data_by_OBJ(
        si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3, V_ASN1_SEQUENCE));
    const auto* v1 = static_cast<const ASN1_STRING*>(CMS_signed_get0_data_by_OBJ(
        si, OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3, V_ASN1_SEQUENCE));
    ERR_clear_error();
    ESS_SIGNING_CERT_V2* ssv2 = nullptr;
    ESS_SIGNING_CERT* ss = nullptr;
    if (v2 != nullptr) {
      const unsigned char* q = ASN1_STRING_get0_data(v2);
      ssv2 = d2i_ESS_SIGNING_CERT_V2(nullptr, &q, ASN1_STRING_length(v2));
    }
    if (v1 != nullptr) {
      const unsigned char* q = ASN1_STRING_get0_data(v1);
      ss = d2i_ESS_SIGNING_CERT(nullptr, &q, ASN1_STRING_length(v1));
    }
    std::unique_ptr<ESS_SIGNING_CERT_V2, ossl::Deleter<ESS_SIGNING_CERT_V2_free>> own2(ssv2);
    std::unique_ptr<ESS_SIGNING_CERT, ossl::Deleter<ESS_SIGNING_CERT_free>> own1(ss);
    if ((v2 != nullptr && ssv2 == nullptr) || (v1 != nullptr && ss == nullptr)) {
      add(checks, "signing-certificate", CheckStatus::kFail,
          "signing-certificate attribute does not parse: " + ossl::drain_errors());
    } else if (ssv2 == nullptr && ss == nullptr) {
      add(checks, "signing-certificate", cades ? CheckStatus::kFail : CheckStatus::kWarn,
          "no signing-certificate-v2 attribute (required by ETSI.CAdES.detached, ETSI EN 319 "
          "142-1 §5.2.2)");
    } else {
      ossl::X509Stack chain(sk_X509_new_null());
      X509_up_ref(signer);
      sk_X509_push(chain.get(), signer);
      const int ok = OSSL_ESS_check_signing_certs(ss, ssv2, chain.get(), 1);
      if (ok > 0) {
        add(checks, "signing-certificate", CheckStatus::kPass,
            std::string(ssv2 != nullptr ? "signing-certificate-v2" : "signing-certificate") +
                " names the signer certificate");
      } else {
        add(checks, "signing-certificate", CheckStatus::kFail,
            "signing-certificate attribute does not match the signer certificate: " +
                ossl::drain_errors());
      }
    }
  }

  // ---- chain to the trust store at the signing time (RFC 5280 §6.1, validation time = /M) ----
  ChainErrors sink;
  PastValidation past;
  const CertStack dss_certs = dss != nullptr ? dss_stack(*dss) : CertStack();
  {
    ossl::X509Store store(X509_STORE_new());
    ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
    bool ok = store && ctx;
    for (const auto& root : trust.impl().roots)
      ok = ok && X509_STORE_add_cert(store.get(), root.get()) == 1;
    if (ok) X509_STORE_set_verify_cb(store.get(), collect_errors);
    // The DSS certificates are candidate intermediates too (PAdES B-LT): a chain through an
    // issuing CA that the CMS does not carry is still built.
    CertStack untrusted(sk_X509_new_null());
    ok = ok && untrusted != nullptr;
    for (const STACK_OF(X509)* list : {static_cast<const STACK_OF(X509)*>(certs.get()),
                                       static_cast<const STACK_OF(X509)*>(dss_certs.get())}) {
      for (int i = 0; ok && list != nullptr && i < sk_X509_num(list); ++i) {
        X509* c = sk_X509_value(list, i);
        X509_up_ref(c);
        if (sk_X509_push(untrusted.get(), c) <= 0) X509_free(c);
      }
    }
    ok = ok && X509_STORE_CTX_init(ctx.get(), store.get(), signer, untrusted.get()) == 1;
    if (ok) {
      X509_STORE_CTX_set_app_data(ctx.get(), &sink);
      X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
      X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(signing_time));
      X509_VERIFY_PARAM_set_depth(param, 8);
      const int v = X509_verify_cert(ctx.get());
      // The anchor the chain ends at (its last element): a demo-PKI root marks the report.
      if (v == 1) {
        const STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
        const int n = built != nullptr ? sk_X509_num(built) : 0;
        r.example_root = n > 0 && is_example_x509(sk_X509_value(built, n - 1));
        // Every certificate between the anchor and the signer must be in the issuing-CA role
        // (trust.md): OpenSSL checks CA:TRUE and keyCertSign, not that the CA is ours.
        for (int i = 1; i + 1 < n; ++i) {
          std::string why = issuing_ca_problem(sk_X509_value(built, i));
          if (!why.empty()) sink.errors.emplace_back(X509_V_ERR_INVALID_CA, std::move(why));
        }
        static const Dss kNoDss;
        past = past_validation(built, signing_time, proven, reference.value_or(signing_time),
                               dss != nullptr ? *dss : kNoDss, "seal");
      }
      if (v != 1 && sink.errors.empty()) {
        sink.errors.emplace_back(
            X509_STORE_CTX_get_error(ctx.get()),
            X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
      }
    } else {
      sink.errors.emplace_back(X509_V_ERR_UNSPECIFIED,
                               "building the chain failed: " + ossl::drain_errors());
    }
    ERR_clear_error();
  }
  {
    std::string trust_d, other_d, time_d;
    for (const auto& [e, text] : sink.errors) {
      std::string& d = is_time_error(e) ? time_d : is_trust_error(e) ? trust_d : other_d;
      d += (d.empty() ? "" : "; ") + text;
    }
    if (trust.size() == 0) trust_d = "the trust store is empty";
    if (!trust_d.empty() || !other_d.empty()) {
      r.chain_untrusted = other_d.empty();
      std::string d = other_d.empty() ? trust_d : other_d + (trust_d.empty() ? "" : "; " + trust_d);
      if (r.chain_untrusted) d = "does not chain to a trusted seal root: " + d;
      add(checks, "chain", CheckStatus::kFail, d);
    } else {
      add(checks, "chain", CheckStatus::kPass,
          "chains to a trusted seal root at " + iso8601(signing_time));
    }
    // The signer certificate's own validity is checked directly too, so it is reported even when
    // the chain could not be built.
    const std::time_t t = static_cast<std::time_t>(signing_time);
    const int nb = X509_cmp_time(X509_get0_notBefore(signer), const_cast<std::time_t*>(&t));
    const int na = X509_cmp_time(X509_get0_notAfter(signer), const_cast<std::time_t*>(&t));
    ERR_clear_error();
    std::string leaf_d;
    if (nb == 0 || na == 0) {
      leaf_d = "the certificate's validity dates do not parse";
    } else if (nb > 0) {
      leaf_d = "signing time " + iso8601(signing_time) + " is before the certificate's notBefore " +
               r.cert_not_before;
    } else if (na < 0) {
      leaf_d = "signing time " + iso8601(signing_time) + " is after the certificate's notAfter " +
               r.cert_not_after;
    }
    if (!leaf_d.empty() || !time_d.empty()) {
      add(checks, "validity-at-signing-time", CheckStatus::kFail,
          leaf_d.empty() ? time_d : (time_d.empty() ? leaf_d : leaf_d + "; " + time_d));
    } else {
      add(checks, "validity-at-signing-time", CheckStatus::kPass,
          "certificate valid " + r.cert_not_before + " .. " + r.cert_not_after + ", signing time " +
              iso8601(signing_time));
    }
  }

  // ---- PAdES B-LT: issuing CAs, CRLs, an expired certificate (verify_ltv.h) ----
  for (auto& c : past.checks) checks.push_back(std::move(c));
  r.revoked = past.revoked;
  r.unproven = past.unproven;

  // ---- key usage: digitalSignature or nonRepudiation (RFC 5280 §4.2.1.3; signing.md) ----
  {
    const uint32_t flags = X509_get_extension_flags(signer);
    const uint32_t ku = X509_get_key_usage(signer);
    ERR_clear_error();
    if ((flags & EXFLAG_KUSAGE) == 0) {
      add(checks, "key-usage", CheckStatus::kWarn, "no keyUsage extension (usage unrestricted)");
    } else if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
      add(checks, "key-usage", CheckStatus::kFail,
          "keyUsage allows neither digitalSignature nor nonRepudiation: the key may not sign "
          "documents");
    } else {
      std::string d = "keyUsage";
      if (ku & KU_DIGITAL_SIGNATURE) d += " digitalSignature";
      if (ku & KU_NON_REPUDIATION) d += " nonRepudiation";
      add(checks, "key-usage", CheckStatus::kPass, d);
    }
  }
  return r;
}

}  // namespace detail
}  // namespace libcert
