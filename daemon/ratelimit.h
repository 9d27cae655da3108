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

// Failed authentications per client address (issue 10: credential guessing). More than
// `max_failures` within a minute locks the address out for `lockout_s`. Thread-safe; entries idle
// for 10 minutes are dropped.
class AuthFailureLimiter {
 public:
  AuthFailureLimiter(int max_failures, int lockout_s)
      : max_failures_(max_failures), lockout_s_(lockout_s) {}
  // nullopt: not locked out. Otherwise whole seconds until the lock-out ends (>= 1).
  std::optional<int> locked(const std::string& client, double now);
  // Records a failure; true when this failure starts a lock-out (once per lock-out).
  bool failed(const std::string& client, double now);

 private:
  struct Entry {
    double window_start = 0;
    int failures = 0;
    double locked_until = 0;
    double last = 0;
  };
  void sweep(double now);  // REQUIRES(mu_)
  int max_failures_;
  int lockout_s_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  double last_sweep_ = 0;
};

}  // namespace certd
