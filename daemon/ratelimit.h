// daemon/ratelimit.h — token bucket per client address for the public routes (429 + Retry-After).
//
//   certd::RateLimiter rl(60, 20);                 // 60 per minute, bursts of 20
//   if (auto wait = rl.take(addr, now_seconds)) { /* 429, Retry-After: *wait */ }
//
// Thread-safe. Buckets idle for 10 minutes are dropped, so memory stays bounded by active clients.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace certd {

class RateLimiter {
 public:
  RateLimiter(int per_minute, int burst) : rate_(per_minute / 60.0), burst_(burst) {}
  // nullopt: allowed (a token was taken). Otherwise the whole seconds to wait (>= 1).
  std::optional<int> take(const std::string& client, double now);

 private:
  struct Bucket {
    double tokens;
    double last;
  };
  double rate_;
  double burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
  double last_sweep_ = 0;
};

}  // namespace certd
