#include "bundle.h"

#include <algorithm>

#include "libcert/error.h"
#include "seal_keys.h"

namespace certd {

BundlePublisher::BundlePublisher(const libcert::TrustBundle& seals, std::string bundle_cert_der,
                                 libcert::DigestSigner sign, std::int64_t status_bits,
                                 std::int64_t recheck_seconds)
    : seals_(seals),
      cert_der_(std::move(bundle_cert_der)),
      sign_(std::move(sign)),
      recheck_(recheck_seconds) {
  if (status_bits < 1 || status_bits > libcert::StatusList::kMaxBits) {
    throw libcert::Error(libcert::ErrorCode::kLimitExceeded,
                         "status_list_size: " + std::to_string(status_bits) + " is outside 1.." +
                             std::to_string(libcert::StatusList::kMaxBits) +
                             " (the largest status list a trust bundle may carry)");
  }
  bits_ = static_cast<std::uint32_t>(status_bits);
}

void BundlePublisher::invalidate() {
  std::lock_guard l(mu_);
  dirty_ = true;
}

std::shared_ptr<const PublishedBundle> BundlePublisher::current(Store& store, std::int64_t now) {
  std::lock_guard l(mu_);
  if (cached_ && !dirty_ && now - checked_at_ < recheck_) return cached_;

  libcert::TrustBundle b;
  b.root_der = seals_.root_der;
  b.seals = seals_.seals;
  b.policy = seals_.policy;
  if (versions_ != nullptr) {
    const auto v = versions_->bundle(now);
    b.root_der = v->root_der;
    b.seals = v->seals;
    b.policy = v->policy;
  }
  for (const auto& s : b.seals) b.status_lists.try_emplace(s.issuer_code, bits_);
  // Every revoked licence of the registry, newest first, a page at a time (keyset pagination).
  ListQuery q;
  q.status = "revoked";
  q.limit = 200;
  for (;;) {
    const ListPage page = store.list_licences(q);
    for (const auto& r : page.items) {
      auto it = b.status_lists.find(r.issuer_code);
      // An index outside the list cannot be published (it would need a larger list); such a
      // licence is still REVOKED online. A department without a seal has no list either.
      if (it == b.status_lists.end() || r.status_index < 0 || r.status_index >= bits_) continue;
      it->second.set(static_cast<std::uint32_t>(r.status_index), true);
    }
    if (!page.next_before) break;
    q.before_audit_index = page.next_before;
  }

  // The content without version/time: unchanged content keeps the published file (and its ETag).
  std::string content = b.root_der;
  for (const auto& s : b.seals) {
    content += s.kid() + std::string(libcert::to_string(s.state)) + std::to_string(s.usage_from) +
               "/" + std::to_string(s.usage_until.value_or(-1)) + "/" +
               std::to_string(s.compromised_at.value_or(-1)) + "/" + s.issuer_code + "/" +
               s.version;
  }
  for (const auto& [code, list] : b.status_lists) content += code + list.compressed();
  const std::string digest = sha256_hex(content);
  checked_at_ = now;
  dirty_ = false;
  if (cached_ && digest == content_sha256_) return cached_;

  const std::uint64_t floor = cached_ ? cached_->version + 1 : 1;
  b.version =
      std::max<std::uint64_t>(floor, static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0)));
  b.issued_at = now;
  auto pub = std::make_shared<PublishedBundle>();
  pub->file = b.sign(cert_der_, sign_);
  pub->etag = "\"" + sha256_hex(pub->file) + "\"";
  pub->version = b.version;
  pub->issued_at = now;
  cached_ = std::move(pub);
  content_sha256_ = digest;
  return cached_;
}

}  // namespace certd
