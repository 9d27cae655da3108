// libcert/status_list.h — offline revocation: one bit per licence at a random index.
//
//   libcert::StatusList list(1 << 20);                 // 1,048,576 licences, all "not revoked"
//   libcert::StatusIndexAllocator alloc(list.size());
//   std::uint32_t i = alloc.allocate(rng);            // random, never handed out twice
//   list.set(i, true);                                 // revoke licence i
//   std::string z = list.compressed();                // zlib: ~14 KB per million when sparse
//   auto back = libcert::StatusList::from_compressed(z, list.size());
//
// Why random indexes (qr.md): sequential indexes would let anyone reading a bundle count the
// licences issued per day and link neighbours; a random index leaks nothing but the bit.
//
// Thread-safety: const member functions may be called concurrently; set/allocate need exclusive
// access. Failures throw libcert::Error as documented per function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/clock.h"

namespace libcert {

class StatusList {
 public:
  // Largest list accepted (bits): 2^24 = 16.7 M licences, 2 MB uncompressed. Bounds what a hostile
  // bundle can make a verifier allocate.
  static constexpr std::uint32_t kMaxBits = 1u << 24;

  StatusList() = default;
  // `bits` licences, all not revoked. Throws Error(kLimitExceeded) above kMaxBits.
  explicit StatusList(std::uint32_t bits);

  [[nodiscard]] std::uint32_t size() const noexcept { return bits_; }
  // Throws Error(kInvalidArgument) naming the index when index >= size().
  [[nodiscard]] bool get(std::uint32_t index) const;
  void set(std::uint32_t index, bool revoked);
  [[nodiscard]] std::uint32_t count_set() const noexcept;

  // zlib (RFC 1950) stream of the bitstring; bit i is bit (7 - i % 8) of byte i / 8 (MSB first,
  // as in the IETF Token Status List draft). Deterministic for a given content.
  [[nodiscard]] std::string compressed() const;
  // Inverse of compressed(). Throws Error(kInvalidArgument) if the stream is not zlib, does not
  // inflate to exactly ceil(bits/8) bytes (refusing to inflate more: no decompression bombs), or
  // sets bits beyond `bits`; Error(kLimitExceeded) above kMaxBits.
  static StatusList from_compressed(std::string_view zlib, std::uint32_t bits);

  friend bool operator==(const StatusList&, const StatusList&) = default;

 private:
  std::uint32_t bits_ = 0;
  std::vector<std::uint8_t> bytes_;
};

// Hands out status-list indexes at random without reuse. The allocation map itself is private to
// the issuer (certd's registry persists it); only the StatusList is published.
class StatusIndexAllocator {
 public:
  // Throws Error(kLimitExceeded) above StatusList::kMaxBits.
  explicit StatusIndexAllocator(std::uint32_t capacity);

  // A uniformly random index not handed out before (rejection sampling on `rng`, then a scan from
  // a random start once the list is more than half full). Throws Error(kLimitExceeded) when every
  // index is taken, Error(kCrypto) if the Rng fails.
  [[nodiscard]] std::uint32_t allocate(Rng& rng);
  // Marks an index taken (restoring state from a registry). Throws Error(kInvalidArgument) if it
  // is out of range or already taken.
  void mark_used(std::uint32_t index);
  [[nodiscard]] bool used(std::uint32_t index) const;
  [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint32_t allocated() const noexcept { return allocated_; }

 private:
  std::uint32_t capacity_;
  std::uint32_t allocated_ = 0;
  std::vector<std::uint8_t> used_;
};

}  // namespace libcert
