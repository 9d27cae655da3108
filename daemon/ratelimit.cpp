#include "ratelimit.h"

#include <cmath>

namespace certd {

std::optional<int> RateLimiter::take(const std::string& client, double now) {
  std::lock_guard l(mu_);
  if (now - last_sweep_ > 60) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = (now - it->second.last > 600) ? buckets_.erase(it) : std::next(it);
    }
    last_sweep_ = now;
  }
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + (now - b.last) * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

}  // namespace certd
