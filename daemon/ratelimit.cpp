#include "ratelimit.h"

#include <algorithm>
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

void AuthFailureLimiter::sweep(double now) {
  if (now - last_sweep_ <= 60) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = (now - it->second.last > 600 && now >= it->second.locked_until) ? entries_.erase(it)
                                                                         : std::next(it);
  }
  last_sweep_ = now;
}

std::optional<int> AuthFailureLimiter::locked(const std::string& client, double now) {
  std::lock_guard l(mu_);
  sweep(now);
  auto it = entries_.find(client);
  if (it == entries_.end() || now >= it->second.locked_until) return std::nullopt;
  return std::max(1, static_cast<int>(std::ceil(it->second.locked_until - now)));
}

bool AuthFailureLimiter::failed(const std::string& client, double now) {
  std::lock_guard l(mu_);
  sweep(now);
  Entry& e = entries_[client];
  e.last = now;
  if (now < e.locked_until) return false;
  if (now - e.window_start >= 60) {
    e.window_start = now;
    e.failures = 0;
  }
  if (++e.failures <= max_failures_) return false;
  e.locked_until = now + lockout_s_;
  e.failures = 0;
  e.window_start = e.locked_until;
  return true;
}

}  // namespace certd
