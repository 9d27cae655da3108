#include "libcert/status_list.h"

#include <zlib.h>

#include <array>
#include <bit>

#include "libcert/error.h"

namespace libcert {

namespace {
std::size_t byte_len(std::uint32_t bits) { return (static_cast<std::size_t>(bits) + 7) / 8; }

void check_size(std::uint32_t bits) {
  if (bits > StatusList::kMaxBits)
    throw Error(ErrorCode::kLimitExceeded, "status list: " + std::to_string(bits) +
                                               " bits exceeds the limit of " +
                                               std::to_string(StatusList::kMaxBits));
}

std::uint8_t mask(std::uint32_t index) { return static_cast<std::uint8_t>(0x80u >> (index % 8)); }
}  // namespace

StatusList::StatusList(std::uint32_t bits) : bits_(bits) {
  check_size(bits);
  bytes_.assign(byte_len(bits), 0);
}

bool StatusList::get(std::uint32_t index) const {
  if (index >= bits_)
    throw Error(ErrorCode::kInvalidArgument, "status list: index " + std::to_string(index) +
                                                 " is outside the list of " +
                                                 std::to_string(bits_));
  return (bytes_[index / 8] & mask(index)) != 0;
}

void StatusList::set(std::uint32_t index, bool revoked) {
  (void)get(index);  // range check
  if (revoked)
    bytes_[index / 8] = static_cast<std::uint8_t>(bytes_[index / 8] | mask(index));
  else
    bytes_[index / 8] = static_cast<std::uint8_t>(bytes_[index / 8] & ~mask(index));
}

std::uint32_t StatusList::count_set() const noexcept {
  std::uint32_t n = 0;
  for (auto b : bytes_) n += static_cast<std::uint32_t>(std::popcount(b));
  return n;
}

std::string StatusList::compressed() const {
  uLongf out_len = compressBound(static_cast<uLong>(bytes_.size()));
  std::string out(out_len, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &out_len, bytes_.data(),
                           static_cast<uLong>(bytes_.size()), Z_BEST_COMPRESSION);
  if (rc != Z_OK) throw Error(ErrorCode::kInternal, "status list: zlib compress2 failed");
  out.resize(out_len);
  return out;
}

StatusList StatusList::from_compressed(std::string_view zlib, std::uint32_t bits) {
  StatusList list(bits);
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK)
    throw Error(ErrorCode::kInternal, "status list: inflateInit failed");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zlib.data()));
  zs.avail_in = static_cast<uInt>(zlib.size());
  zs.next_out = list.bytes_.data();
  zs.avail_out = static_cast<uInt>(list.bytes_.size());
  int rc = inflate(&zs, Z_FINISH);
  if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
    // Output full but the stream is not finished: it inflates to more than the declared size.
    throw Error(ErrorCode::kInvalidArgument, "status list: inflates to more than " +
                                                 std::to_string(list.bytes_.size()) + " bytes");
  }
  if (rc != Z_STREAM_END)
    throw Error(ErrorCode::kInvalidArgument, "status list: not a complete zlib stream");
  if (zs.avail_out != 0 || zs.avail_in != 0)
    throw Error(ErrorCode::kInvalidArgument,
                "status list: inflated size or trailing data does not match " +
                    std::to_string(bits) + " bits");
  if (bits % 8 != 0 && !list.bytes_.empty() &&
      (list.bytes_.back() & static_cast<std::uint8_t>(0xFFu >> (bits % 8))) != 0)
    throw Error(ErrorCode::kInvalidArgument, "status list: bits set beyond the list size");
  return list;
}

StatusIndexAllocator::StatusIndexAllocator(std::uint32_t capacity) : capacity_(capacity) {
  check_size(capacity);
  used_.assign(byte_len(capacity), 0);
}

bool StatusIndexAllocator::used(std::uint32_t index) const {
  return index < capacity_ && (used_[index / 8] & mask(index)) != 0;
}

void StatusIndexAllocator::mark_used(std::uint32_t index) {
  if (index >= capacity_)
    throw Error(ErrorCode::kInvalidArgument, "status index " + std::to_string(index) +
                                                 " is outside capacity " +
                                                 std::to_string(capacity_));
  if (used(index))
    throw Error(ErrorCode::kInvalidArgument,
                "status index " + std::to_string(index) + " is already allocated");
  used_[index / 8] = static_cast<std::uint8_t>(used_[index / 8] | mask(index));
  ++allocated_;
}

std::uint32_t StatusIndexAllocator::allocate(Rng& rng) {
  if (allocated_ >= capacity_)
    throw Error(ErrorCode::kLimitExceeded,
                "status list full: all " + std::to_string(capacity_) + " indexes allocated");
  auto uniform = [&]() {
    // Rejection sampling: no modulo bias (the largest multiple of capacity below 2^32).
    const std::uint64_t range = capacity_;
    const std::uint64_t limit = (std::uint64_t{1} << 32) - ((std::uint64_t{1} << 32) % range);
    for (;;) {
      std::array<std::uint8_t, 4> b{};
      rng.fill(b);
      const std::uint64_t v = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) |
                              (std::uint64_t{b[2]} << 8) | b[3];
      if (v < limit) return static_cast<std::uint32_t>(v % range);
    }
  };
  std::uint32_t i = uniform();
  if (allocated_ <= capacity_ / 2) {
    // At most half full: each draw hits a free slot with p >= 1/2; 64 misses is ~2^-64.
    for (int tries = 0; tries < 64 && used(i); ++tries) i = uniform();
  }
  while (used(i)) i = (i + 1) % capacity_;
  mark_used(i);
  return i;
}

}  // namespace libcert
