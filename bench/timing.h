// bench/timing.h — the one timing loop of the benchmarks: warm up, run N times, sort.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace bench {

struct Stats {
  double min_us = 0, median_us = 0, p90_us = 0;
};

// Runs `f` `warmup` times untimed, then `n` (>= 1) times timed with steady_clock.
inline Stats measure(int warmup, int n, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us.front(), us[us.size() / 2], us[us.size() * 9 / 10]};
}

}  // namespace bench
