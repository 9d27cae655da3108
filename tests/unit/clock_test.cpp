#include "libcert/clock.h"

#include <gtest/gtest.h>

#include <array>

#include "libcert/error.h"

TEST(SeededRng, IsDeterministicPerSeed) {
  libcert::SeededRng a(42), b(42), c(43);
  std::array<std::uint8_t, 19> x{}, y{}, z{};
  a.fill(x);
  b.fill(y);
  c.fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(FixedClock, ReturnsItsTime) { EXPECT_EQ(libcert::FixedClock(1735689600).now(), 1735689600); }

TEST(Error, CarriesAllProblems) {
  libcert::Error e(libcert::ErrorCode::kValidation, "2 problems",
                   {{"a", "required", "is required"}, {"b", "max-length", "too long"}});
  ASSERT_EQ(e.problems().size(), 2U);
  EXPECT_EQ(e.problems()[1].rule, "max-length");
  EXPECT_EQ(libcert::to_string(e.code()), "validation");
  EXPECT_NE(std::string(e.what()).find("b: too long [max-length]"), std::string::npos);
}
