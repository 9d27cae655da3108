#include "libcert/clock.h"

#include <openssl/rand.h>

#include <chrono>
#include <climits>
#include <ctime>

#include "libcert/error.h"

namespace libcert {

std::int64_t SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339(std::int64_t t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) throw Error(ErrorCode::kInvalidArgument, "time out of range");
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void SystemRng::fill(std::span<std::uint8_t> out) {
  // RAND_bytes takes an int length; fill in chunks so huge spans cannot overflow it.
  while (!out.empty()) {
    const std::size_t n = out.size() < static_cast<std::size_t>(INT_MAX) ? out.size() : INT_MAX;
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      throw Error(ErrorCode::kCrypto, "RAND_bytes failed");
    }
    out = out.subspan(n);
  }
}

void SeededRng::fill(std::span<std::uint8_t> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::uint8_t>(z >> (8U * static_cast<unsigned>(b)));
    }
  }
}

}  // namespace libcert
