// Status list: bit layout, zlib round trip, size per million, allocation without reuse.
#include "libcert/status_list.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>
#include <iostream>
#include <set>

#include "libcert/error.h"

namespace {

using libcert::ErrorCode;
using libcert::StatusIndexAllocator;
using libcert::StatusList;

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const libcert::Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

TEST(StatusList, SetGetAndMsbFirstLayout) {
  StatusList l(20);
  l.set(0, true);
  l.set(9, true);
  l.set(19, true);
  EXPECT_TRUE(l.get(0));
  EXPECT_FALSE(l.get(1));
  EXPECT_TRUE(l.get(9));
  EXPECT_EQ(l.count_set(), 3u);
  // Inflate with zlib directly (not our reader) to check the published layout.
  const std::string z = l.compressed();
  unsigned char raw[3] = {};
  uLongf n = sizeof raw;
  ASSERT_EQ(uncompress(raw, &n, reinterpret_cast<const Bytef*>(z.data()), z.size()), Z_OK);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(raw[0], 0x80);
  EXPECT_EQ(raw[1], 0x40);
  EXPECT_EQ(raw[2], 0x10);
  l.set(9, false);
  EXPECT_FALSE(l.get(9));
  EXPECT_EQ(code_of([&] { (void)l.get(20); }), ErrorCode::kInvalidArgument);
}

TEST(StatusList, MillionLicencesCompressToAbout14KB) {
  // One million licences, 1% revoked at random indexes (allocation is random, so revoked bits are
  // scattered): qr.md budgets ~14 KB.
  libcert::SeededRng rng(42);
  StatusList l(1000000);
  StatusIndexAllocator alloc(1000000);
  for (int i = 0; i < 10000; ++i) l.set(alloc.allocate(rng), true);
  const std::string z = l.compressed();
  std::cout << "1M bits, 10000 revoked: " << z.size() << " bytes compressed\n";
  EXPECT_LT(z.size(), 20000u);
  EXPECT_GT(z.size(), 8000u);
  EXPECT_EQ(StatusList::from_compressed(z, 1000000), l);
  EXPECT_EQ(StatusList(1000000).compressed().size() < 200u, true);
}

TEST(StatusList, RejectsBadStreams) {
  StatusList l(64);
  const std::string z = l.compressed();
  EXPECT_EQ(code_of([&] { (void)StatusList::from_compressed(z, 128); }),
            ErrorCode::kInvalidArgument);  // too short
  EXPECT_EQ(code_of([&] { (void)StatusList::from_compressed(StatusList(1024).compressed(), 64); }),
            ErrorCode::kInvalidArgument);  // inflates to more: bomb refused
  EXPECT_EQ(code_of([&] { (void)StatusList::from_compressed("not zlib", 64); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { (void)StatusList::from_compressed(z, StatusList::kMaxBits + 1); }),
            ErrorCode::kLimitExceeded);
  StatusList odd(12);
  odd.set(11, true);
  // 12 bits declared as 10: bit 11 lies beyond the list.
  EXPECT_EQ(code_of([&] { (void)StatusList::from_compressed(odd.compressed(), 10); }),
            ErrorCode::kInvalidArgument);
}

TEST(StatusIndexAllocator, NeverReusesAndFillsCompletely) {
  libcert::SeededRng rng(7);
  StatusIndexAllocator a(1000);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto idx = a.allocate(rng);
    ASSERT_LT(idx, 1000u);
    ASSERT_TRUE(seen.insert(idx).second) << "index " << idx << " handed out twice";
  }
  EXPECT_EQ(a.allocated(), 1000u);
  EXPECT_EQ(code_of([&] { (void)a.allocate(rng); }), ErrorCode::kLimitExceeded);
  // Random, not sequential: the first ten indexes of a fresh allocator are not 0..9.
  libcert::SeededRng rng2(7);
  StatusIndexAllocator b(1000000);
  std::uint32_t below_ten = 0;
  for (int i = 0; i < 10; ++i) below_ten += b.allocate(rng2) < 10 ? 1u : 0u;
  EXPECT_EQ(below_ten, 0u);
  // Same seed, same sequence (injected Rng: byte-stable tests).
  libcert::SeededRng r1(99), r2(99);
  StatusIndexAllocator c1(5000), c2(5000);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(c1.allocate(r1), c2.allocate(r2));
}

TEST(StatusIndexAllocator, MarkUsedRestoresState) {
  StatusIndexAllocator a(3);
  a.mark_used(0);
  a.mark_used(2);
  EXPECT_EQ(code_of([&] { a.mark_used(2); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { a.mark_used(3); }), ErrorCode::kInvalidArgument);
  libcert::SeededRng rng(1);
  EXPECT_EQ(a.allocate(rng), 1u);
}

}  // namespace
