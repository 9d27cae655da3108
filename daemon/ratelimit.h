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
#include <utility>
#include <vector>
#include <cstdint>

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

// Failed authentications (issues 10 and 17), counted twice: per PRESENTED credential (a hash
// prefix of the key as sent) and per client address. More than `max_failures` within a minute
// locks that credential, or that address, out for `lockout_s`. A locked address only turns the
// 401s of keys that fail into 429s: a key that authenticates is never throttled because other
// clients behind the same address (a reverse proxy, a NAT) failed. Thread-safe; entries idle for
// 10 minutes are dropped.
class AuthFailureLimiter {
 public:
  AuthFailureLimiter(int max_failures, int lockout_s)
      : max_failures_(max_failures), lockout_s_(lockout_s) {}
  // nullopt: not locked out. Otherwise whole seconds until the lock-out ends (>= 1).
  std::optional<int> credential_locked(const std::string& credential, double now);
  std::optional<int> address_locked(const std::string& address, double now);
  // Records one failure of `credential` from `address`; says which lock-outs it starts (each
  // once per lock-out).
  struct Started {
    bool address = false;
    bool credential = false;
  };
  Started failed(const std::string& address, const std::string& credential, double now);

 private:
  struct Entry {
    double window_start = 0;
    int failures = 0;
    double locked_until = 0;
    double last = 0;
  };
  using Table = std::map<std::string, Entry>;
  void sweep(double now);                                                     // REQUIRES(mu_)
  std::optional<int> locked(Table& t, const std::string& k, double now) const;  // REQUIRES(mu_)
  bool fail(Table& t, const std::string& k, double now) const;                // REQUIRES(mu_)
  int max_failures_;
  int lockout_s_;
  std::mutex mu_;
  Table addresses_;    // GUARDED_BY(mu_)
  Table credentials_;  // GUARDED_BY(mu_)
  double last_sweep_ = 0;
};

// Authentication failures for the audit log (issue 17): one aggregated `auth.failure` row per
// (principal, address) and interval, with the count and the kinds of failure, instead of one row
// per request — so an unauthenticated flood cannot grow the log faster than one row per address
// per interval. At most `max_entries` tallies are kept per interval; failures beyond them are
// added to one overflow tally (object "address:*"). Thread-safe.
class AuthFailureTally {
 public:
  struct Row {
    std::string principal;   // "anonymous", or the principal of a 403 missing-scope
    std::string object;      // "address:" + 16 hex digits of SHA-256 of the address
    std::string request_id;  // the first failing request of the interval
    std::map<std::string, std::uint64_t> reasons;  // missing, malformed, unknown-key, ...
    std::uint64_t count = 0;
  };
  AuthFailureTally(double interval_s, std::size_t max_entries)
      : interval_s_(interval_s), max_entries_(max_entries) {}
  void add(const std::string& principal, const std::string& object, const std::string& reason,
           const std::string& request_id, double now);
  // The tallies of intervals that have ended by `now` (every tally when `all`), removed.
  std::vector<Row> take_due(double now, bool all = false);
  [[nodiscard]] double interval_s() const { return interval_s_; }

 private:
  double interval_s_;
  std::size_t max_entries_;
  std::mutex mu_;
  double window_start_ = -1;                                  // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, Row> rows_;  // GUARDED_BY(mu_)
};

}  // namespace certd
