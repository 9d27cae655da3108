#include "bundle.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "libcert/error.h"
#include "seal_keys.h"

namespace certd {

bool accepts_gzip(std::string_view v) {
  auto trim = [](std::string_view x) {
    while (!x.empty() && (x.front() == ' ' || x.front() == '\t')) x.remove_prefix(1);
    while (!x.empty() && (x.back() == ' ' || x.back() == '\t')) x.remove_suffix(1);
    return x;
  };
  auto lower = [](std::string_view x) {
    std::string out(x);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  bool gzip = false, star = false, gzip_listed = false;
  while (!v.empty()) {
    const std::size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    const std::size_t semi = item.find(';');
    const std::string coding = lower(trim(item.substr(0, semi)));
    bool zero = false;
    if (semi != std::string_view::npos) {
      const std::string param = lower(trim(item.substr(semi + 1)));
      // q=0, q=0.0, q=0.00, q=0.000 refuse the coding (RFC 9110 §12.4.2).
      if (param.rfind("q=", 0) == 0) {
        const std::string q = param.substr(2);
        zero = !q.empty() && q[0] == '0' &&
               q.find_first_not_of("0.", 0) == std::string::npos;
      }
    }
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_listed = true;
      gzip = !zero;
    } else if (coding == "*") {
      star = !zero;
    }
  }
  return gzip_listed ? gzip : star;
}

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's (RFC 1952).
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw libcert::Error(libcert::ErrorCode::kInternal, "gzip: deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw libcert::Error(libcert::ErrorCode::kInternal, "gzip: deflate failed");
  return out;
}

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
  pub->gzip = gzip_compress(pub->file);
  pub->gzip_etag = pub->etag.substr(0, pub->etag.size() - 1) + "+gzip\"";
  pub->version = b.version;
  pub->issued_at = now;
  cached_ = std::move(pub);
  content_sha256_ = digest;
  return cached_;
}

}  // namespace certd
