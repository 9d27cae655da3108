// libcert/clock.h — injected time and randomness.
//
//   libcert::FixedClock clock(1735689600);      // tests: byte-stable output
//   libcert::SystemClock real;                   // production
//   auto now = clock.now();                      // seconds since the Unix epoch, UTC
//
// Nothing in libcert reads the wall clock or a global RNG directly: both come in through these
// interfaces (issuer options, signer options), so tests produce byte-identical PDFs.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace libcert {

// Seconds since 1970-01-01T00:00:00Z. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t now() const override;
};

// `t` as an RFC 3339 UTC date-time, "2026-12-05T22:35:00Z" (RFC 3339 §5.6 with "Z"): the one
// spelling of instants in JSON, logs and command output across libcert, certd and certctl.
std::string rfc3339(std::int64_t t);

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t t) : t_(t) {}
  [[nodiscard]] std::int64_t now() const override { return t_; }

 private:
  std::int64_t t_;
};

// Source of random bytes. Implementations must be thread-safe.
class Rng {
 public:
  virtual ~Rng() = default;
  // Fills `out` completely or throws libcert::Error(kCrypto).
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// OpenSSL's RAND_bytes (the CSPRNG); the default everywhere outside tests.
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Deterministic, NOT cryptographically secure: for tests and reproducible benchmarks only.
// (SplitMix64 stream from a seed.)
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace libcert
