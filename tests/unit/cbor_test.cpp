// Strict CBOR codec: deterministic encoding vectors from RFC 8949 Appendix A, and rejection of
// every non-deterministic form listed in RFC 8949 §4.2.1.
#include "cbor.h"

#include <gtest/gtest.h>

namespace {

using libcert::cbor::decode;
using libcert::cbor::DecodeError;
using libcert::cbor::encode;
using libcert::cbor::Value;

std::string hx(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string rule_of(const std::string& bytes) {
  try {
    (void)decode(bytes);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Cbor, EncodesRfc8949AppendixAVectors) {
  EXPECT_EQ(encode(Value::integer(0)), hx("00"));
  EXPECT_EQ(encode(Value::integer(23)), hx("17"));
  EXPECT_EQ(encode(Value::integer(24)), hx("1818"));
  EXPECT_EQ(encode(Value::integer(1000)), hx("1903e8"));
  EXPECT_EQ(encode(Value::integer(1000000)), hx("1a000f4240"));
  EXPECT_EQ(encode(Value::uint(18446744073709551615u)), hx("1bffffffffffffffff"));
  EXPECT_EQ(encode(Value::integer(-1)), hx("20"));
  EXPECT_EQ(encode(Value::integer(-1000)), hx("3903e7"));
  EXPECT_EQ(encode(Value::integer(-65537)), hx("3a00010000"));
  EXPECT_EQ(encode(Value::negative(18446744073709551615u)), hx("3bffffffffffffffff"));
  EXPECT_EQ(encode(Value::bytes(hx("01020304"))), hx("4401020304"));
  EXPECT_EQ(encode(Value::text("\u6c34")), hx("63e6b0b4"));
  EXPECT_EQ(encode(Value::array({Value::integer(1), Value::array({Value::integer(2)})})),
            hx("820181"
               "02"));
  EXPECT_EQ(encode(Value::tag(18, Value::array({}))), hx("d280"));
}

TEST(Cbor, SortsMapKeysByEncodedBytes) {
  // §4.2.1: 10 (0x0a) < 100 (0x1864) < -1 (0x20) < "z" (0x617a) < "aa" (0x626161).
  const Value m = Value::map({{Value::text("aa"), Value::integer(1)},
                              {Value::integer(-1), Value::integer(2)},
                              {Value::text("z"), Value::integer(3)},
                              {Value::integer(100), Value::integer(4)},
                              {Value::integer(10), Value::integer(5)}});
  EXPECT_EQ(encode(m), hx("a5"
                          "0a05"
                          "186404"
                          "2002"
                          "617a03"
                          "62616101"));
  const Value back = decode(encode(m));
  EXPECT_EQ(back.find("aa")->as_int(), 1);
  EXPECT_EQ(back.find(-1)->as_int(), 2);
  EXPECT_EQ(encode(back), encode(m));
}

TEST(Cbor, EncoderRefusesDuplicateKeys) {
  EXPECT_THROW((void)encode(Value::map({{Value::integer(1), Value::integer(1)},
                                        {Value::integer(1), Value::integer(2)}})),
               DecodeError);
}

TEST(Cbor, RejectsEveryNonDeterministicForm) {
  EXPECT_NE(rule_of(hx("1817")).find("shortest form"), std::string::npos);  // 23 in 2 bytes
  EXPECT_NE(rule_of(hx("190017")).find("shortest form"), std::string::npos);
  EXPECT_NE(rule_of(hx("1a0000ffff")).find("shortest form"), std::string::npos);
  EXPECT_NE(rule_of(hx("1b00000000ffffffff")).find("shortest form"), std::string::npos);
  EXPECT_NE(rule_of(hx("3800")).find("shortest form"), std::string::npos);    // -1 long
  EXPECT_NE(rule_of(hx("5801ff")).find("shortest form"), std::string::npos);  // length long
  EXPECT_NE(rule_of(hx("5f41ffff")).find("indefinite"), std::string::npos);
  EXPECT_NE(rule_of(hx("9fff")).find("indefinite"), std::string::npos);
  EXPECT_NE(rule_of(hx("bfff")).find("indefinite"), std::string::npos);
  EXPECT_NE(rule_of(hx("a202010101")).find("canonical order"), std::string::npos);
  EXPECT_NE(rule_of(hx("a201010102")).find("duplicate map key"), std::string::npos);
  EXPECT_NE(rule_of(hx("f5")).find("simple values"), std::string::npos);  // true
  EXPECT_NE(rule_of(hx("fb3ff0000000000000")).find("floats"), std::string::npos);
  EXPECT_NE(rule_of(hx("1c")).find("reserved"), std::string::npos);
  EXPECT_NE(rule_of(hx("0000")).find("trailing bytes"), std::string::npos);
  EXPECT_NE(rule_of(hx("62c328")).find("UTF-8"), std::string::npos);    // bad 2nd byte
  EXPECT_NE(rule_of(hx("62c0af")).find("UTF-8"), std::string::npos);    // overlong '/'
  EXPECT_NE(rule_of(hx("63eda080")).find("UTF-8"), std::string::npos);  // surrogate
  EXPECT_NE(rule_of(hx("61e6")).find("UTF-8"), std::string::npos);      // truncated
  EXPECT_NE(rule_of(hx("44010203")).find("exceeds the input"), std::string::npos);
  EXPECT_NE(rule_of(hx("9a7fffffff")).find("exceeds the input"), std::string::npos);
  EXPECT_NE(rule_of(hx("19")).find("truncated"), std::string::npos);
  EXPECT_NE(rule_of("").find("truncated"), std::string::npos);
}

TEST(Cbor, BoundsNestingDepth) {
  std::string deep(40, static_cast<char>(0x81));
  deep.push_back(0x00);
  EXPECT_NE(rule_of(deep).find("nesting deeper than 16"), std::string::npos);
  std::string ok(16, static_cast<char>(0x81));
  ok.push_back(0x00);
  EXPECT_EQ(rule_of(ok), "accepted");
}

TEST(Cbor, IntegerAccessorsCheckRange) {
  EXPECT_EQ(decode(hx("3a00010000")).as_int(), -65537);
  EXPECT_THROW((void)decode(hx("1bffffffffffffffff")).as_int(), DecodeError);
  EXPECT_THROW((void)decode(hx("3bffffffffffffffff")).as_int(), DecodeError);
  EXPECT_THROW((void)decode(hx("20")).as_uint(), DecodeError);
  EXPECT_THROW((void)decode(hx("00")).as_text(), DecodeError);
}

}  // namespace
