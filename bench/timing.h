// bench/timing.h — the one timing loop of the benchmarks: warm up, run N times, sort.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <vector>

namespace bench {

struct Stats {
  double min_us = 0, median_us = 0, p90_us = 0;
  double cpu_median_us = 0;  // this thread's CPU time: less sensitive to other jobs on the machine
};

inline double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Runs `f` `warmup` times untimed, then `n` (>= 1) times timed with steady_clock.
inline Stats measure(int warmup, int n, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> us, cpu;
  us.reserve(static_cast<std::size_t>(n));
  cpu.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_us() - c0);
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::sort(cpu.begin(), cpu.end());
  return {us.front(), us[us.size() / 2], us[us.size() * 9 / 10], cpu[cpu.size() / 2]};
}

}  // namespace bench
