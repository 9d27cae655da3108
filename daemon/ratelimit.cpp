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
  for (Table* t : {&addresses_, &credentials_}) {
    for (auto it = t->begin(); it != t->end();) {
      it = (now - it->second.last > 600 && now >= it->second.locked_until) ? t->erase(it)
                                                                           : std::next(it);
    }
  }
  last_sweep_ = now;
}

std::optional<int> AuthFailureLimiter::locked(Table& t, const std::string& k, double now) const {
  auto it = t.find(k);
  if (it == t.end() || now >= it->second.locked_until) return std::nullopt;
  return std::max(1, static_cast<int>(std::ceil(it->second.locked_until - now)));
}

bool AuthFailureLimiter::fail(Table& t, const std::string& k, double now) const {
  // Bounded memory under a flood of distinct keys or addresses: beyond this many tracked entries a
  // new one is not tracked (the other table still limits it).
  constexpr std::size_t kMaxEntries = 100000;
  if (t.size() >= kMaxEntries && t.find(k) == t.end()) return false;
  Entry& e = t[k];
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

std::optional<int> AuthFailureLimiter::credential_locked(const std::string& credential,
                                                         double now) {
  std::lock_guard l(mu_);
  sweep(now);
  return locked(credentials_, credential, now);
}

std::optional<int> AuthFailureLimiter::address_locked(const std::string& address, double now) {
  std::lock_guard l(mu_);
  sweep(now);
  return locked(addresses_, address, now);
}

AuthFailureLimiter::Started AuthFailureLimiter::failed(const std::string& address,
                                                       const std::string& credential,
                                                       double now) {
  std::lock_guard l(mu_);
  sweep(now);
  Started s;
  s.address = fail(addresses_, address, now);
  if (!credential.empty()) s.credential = fail(credentials_, credential, now);
  return s;
}

void AuthFailureTally::add(const std::string& principal, const std::string& object,
                           const std::string& reason, const std::string& request_id, double now) {
  std::lock_guard l(mu_);
  if (window_start_ < 0) window_start_ = now;
  auto key = std::make_pair(principal, object);
  if (rows_.size() >= max_entries_ && !rows_.count(key)) key = {"anonymous", "address:*"};
  Row& r = rows_[key];
  if (r.count == 0) {
    r.principal = key.first;
    r.object = key.second;
    r.request_id = request_id;
  }
  ++r.count;
  ++r.reasons[reason];
}

std::vector<AuthFailureTally::Row> AuthFailureTally::take_due(double now, bool all) {
  std::lock_guard l(mu_);
  std::vector<Row> out;
  if (rows_.empty() || (!all && now - window_start_ < interval_s_)) return out;
  for (auto& [k, r] : rows_) out.push_back(std::move(r));
  rows_.clear();
  window_start_ = -1;
  return out;
}

}  // namespace certd
