#include "crl_service.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <vector>

#include "libcert/crl.h"
#include "libcert/error.h"
#include "libcert/hex.h"
#include "ossl.h"  // libcert/src: RAII aliases for OpenSSL objects

namespace certd {

namespace {

using libcert::Error;
using libcert::ErrorCode;

using libcert::hex;  // hex.h

libcert::ossl::X509Ptr parse(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  libcert::ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  return c;
}

struct Entry {
  libcert::RevokedCertificate rc;
  std::string key;  // the entry's part of the content key
};

// The revoked versions whose certificates `ca` issued (issuer name and AKI/SKI, RFC 5280 §4.1.2.4
// and §4.2.1.1, via X509_check_issued).
std::vector<Entry> revoked_entries(Store& store, X509* ca) {
  std::vector<Entry> out;
  for (const auto& v : store.list_seal_keys(std::nullopt)) {
    if (v.state != "revoked" || v.cert_der.empty() || !v.compromised_at) continue;
    auto cert = parse(v.cert_der);
    if (!cert || X509_check_issued(ca, cert.get()) != X509_V_OK) {
      ERR_clear_error();
      continue;  // a certificate of another CA (an older root-issued version): not our CRL's
    }
    libcert::ossl::Bn bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
    char* h = bn ? BN_bn2hex(bn.get()) : nullptr;
    if (h == nullptr) continue;
    Entry e;
    e.rc.serial_hex = h;
    OPENSSL_free(h);
    e.rc.revocation_date = *v.compromised_at;
    e.rc.invalidity_date = *v.compromised_at;
    const std::string reason = v.reason.value_or("");
    e.rc.reason = reason == "superseded"             ? libcert::CrlReason::kSuperseded
                  : reason == "cessationOfOperation" ? libcert::CrlReason::kCessationOfOperation
                                                     : libcert::CrlReason::kKeyCompromise;
    e.key = e.rc.serial_hex + ":" + std::to_string(*v.compromised_at) + ":" +
            std::string(libcert::to_string(e.rc.reason)) + ";";
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return out;
}

std::shared_ptr<const CrlService::Published> published(const CrlRow& row) {
  auto p = std::make_shared<CrlService::Published>();
  p->der = row.der;
  p->etag = "\"" + sha256_hex(row.der) + "\"";
  p->number = row.number;
  p->this_update = row.this_update;
  p->next_update = row.next_update;
  return p;
}

}  // namespace

CrlService::CrlService(Store& store, std::string ca_cert_der, libcert::DigestSigner sign,
                       const libcert::Clock& clock, std::int64_t period_s)
    : store_(store),
      ca_der_(std::move(ca_cert_der)),
      sign_(std::move(sign)),
      clock_(clock),
      period_s_(period_s) {
  if (period_s_ < 60 || period_s_ > 366LL * 86400) {
    throw Error(ErrorCode::kInvalidArgument, "ca.crl_period_s: must be 60 .. 31622400 seconds");
  }
  auto ca = parse(ca_der_);
  if (!ca) throw Error(ErrorCode::kInvalidArgument, "issuing CA: not a DER certificate");
  const uint32_t flags = X509_get_extension_flags(ca.get());
  const uint32_t ku = X509_get_key_usage(ca.get());
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.get());
  ERR_clear_error();
  if ((flags & EXFLAG_CA) == 0 || (ku & KU_CRL_SIGN) == 0 || ski == nullptr) {
    throw Error(ErrorCode::kInvalidArgument,
                "issuing CA: must be CA:TRUE with keyUsage cRLSign and a subjectKeyIdentifier "
                "(trust.md \"Roles\")");
  }
  issuer_id_ = hex(ASN1_STRING_get0_data(ski), static_cast<std::size_t>(ASN1_STRING_length(ski)));
}

CrlService::~CrlService() = default;

std::shared_ptr<const CrlService::Published> CrlService::current() {
  const std::int64_t now = clock_.now();
  std::lock_guard l(mu_);
  if (cached_ && now == checked_at_ && now < cached_->next_update) return cached_;
  auto ca = parse(ca_der_);
  const std::vector<Entry> entries = revoked_entries(store_, ca.get());
  std::string key;
  for (const auto& e : entries) key += e.key;
  key = sha256_hex(key);
  // Up to two rounds: a lost race re-reads the winner's CRL, which normally lists the same set.
  for (int round = 0; round < 2; ++round) {
    const std::optional<CrlRow> row = store_.current_crl(issuer_id_);
    const bool fresh = row && row->content_key == key && now >= row->this_update &&
                       now < row->this_update + std::max<std::int64_t>(period_s_ / 2, 1) &&
                       now < row->next_update;
    if (fresh) {
      if (!cached_ || cached_->number != row->number) cached_ = published(*row);
      cached_key_ = key;
      checked_at_ = now;
      return cached_;
    }
    libcert::Crl crl;
    crl.number = static_cast<std::uint64_t>(row ? row->number + 1 : 1);
    crl.this_update = now;
    crl.next_update = now + period_s_;
    for (const auto& e : entries) crl.revoked.push_back(e.rc);
    CrlRow made{static_cast<std::int64_t>(crl.number), crl.this_update, crl.next_update, key,
                crl.sign(ca_der_, sign_)};
    if (store_.publish_crl(issuer_id_, made)) {
      cached_ = published(made);
      cached_key_ = key;
      checked_at_ = now;
      return cached_;
    }
  }
  // Two lost races in a row: serve what the registry holds now (it is someone's newer CRL).
  if (auto row = store_.current_crl(issuer_id_)) {
    cached_ = published(*row);
    checked_at_ = now;
    return cached_;
  }
  throw Error(ErrorCode::kInternal, "crl: the registry holds no CRL after publishing one");
}

}  // namespace certd
