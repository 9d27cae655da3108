// Identifier checks against real vectors (formats.md §1–2) and exhaustive single-character
// corruptions: every substitution of every character of every vector must be rejected.
#include "libcert/ids.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcert/error.h"

namespace {

using libcert::check_id_number;
using libcert::check_org_code;
using libcert::check_uscc;
using libcert::ErrorCode;
using libcert::LicenceId;

constexpr std::int32_t kToday = 20261122;

// Real identifiers taken from issued licences (formats.md §1).
const std::vector<std::string> kRealIds = {
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
};
const std::vector<std::string> kRealUsccs = {"91350100M000100Y43", "11100000000013338W",
                                             "11220000013544541J", "11430000006122244L",
                                             "11330105002500287C"};
const std::vector<std::string> kRealIdNumbers = {"11010519491231002X", "440524188001010014"};

std::string upper_lower_digits_dot() {
  std::string s = ".";
  for (char c = '0'; c <= '9'; ++c) s += c;
  for (char c = 'A'; c <= 'Z'; ++c) s += c;
  for (char c = 'a'; c <= 'z'; ++c) s += c;
  return s;
}

ErrorCode parse_error(const std::string& text) {
  try {
    (void)LicenceId::parse(text);
  } catch (const libcert::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "accepted: " << text;
  return ErrorCode::kInternal;
}

TEST(Mod37_36, RealIdentifiersVerify) {
  for (const auto& text : kRealIds) {
    const auto id = LicenceId::parse(text);
    EXPECT_EQ(id.str(), text);
  }
}

TEST(Mod37_36, MakeReproducesRealIdentifiers) {
  EXPECT_EQ(LicenceId::make("11100000000013338W032", "11220000013544541J", "2430599", 1).str(),
            kRealIds[0]);
  EXPECT_EQ(LicenceId::make("11100000000013338W011", "11430000006122244L", "20230000403", 1).str(),
            kRealIds[1]);
  const auto id = LicenceId::make("11100000000013338W009", "11330105002500287C", "2025052201", 2);
  EXPECT_EQ(id.str(), kRealIds[2]);
  EXPECT_EQ(id.check, '0');
  EXPECT_EQ(id.version, 2);
}

TEST(Mod37_36, ParsedFields) {
  const auto id = LicenceId::parse(kRealIds[3]);
  EXPECT_EQ(id.type_code, "11100000MB03271699022");
  EXPECT_EQ(id.issuer_code, "340100");  // area code as issuer: accepted when reading
  EXPECT_EQ(id.serial, "000000016");
  EXPECT_EQ(id.version, 1);
  EXPECT_EQ(id.check, '9');
}

TEST(Mod37_36, EveryPositionEverySubstitutionRejected) {
  const std::string alphabet = upper_lower_digits_dot();
  std::size_t tried = 0;
  for (const auto& text : kRealIds) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      for (char c : alphabet) {
        if (c == text[i]) continue;
        std::string bad = text;
        bad[i] = c;
        // 3005 → 3003 in the root alone is a legitimate alternative root (formats.md §1), not
        // a corruption that must be caught by the check.
        if (bad.substr(0, 15) == "1.2.156.3003.2.") {
          EXPECT_EQ(LicenceId::parse(bad).str(), text);
          continue;
        }
        EXPECT_EQ(parse_error(bad), ErrorCode::kValidation) << bad;
        ++tried;
      }
    }
  }
  EXPECT_GT(tried, 4u * 60u * 60u);
}

TEST(Mod37_36, SubstitutionInsideSegmentsIsCaughtByTheCheck) {
  // Within type/issuer/serial/version, substitutions that keep every segment's format valid
  // can only be caught by MOD 37,36: prove the check itself rejects every one of them.
  const std::string alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (const auto& text : kRealIds) {
    const auto id = LicenceId::parse(text);
    const std::string body =
        id.type_code + id.issuer_code + id.serial + text.substr(text.size() - 5, 3);
    ASSERT_EQ(libcert::mod37_36_check(body), id.check);
    for (std::size_t i = 0; i < body.size(); ++i) {
      for (char c : alnum) {
        if (c == body[i]) continue;
        std::string bad = body;
        bad[i] = c;
        EXPECT_NE(libcert::mod37_36_check(bad), id.check) << bad;
      }
    }
  }
}

TEST(Mod37_36, ErrorNamesTheRule) {
  std::string bad = kRealIds[1];
  bad.back() = 'V';
  try {
    (void)LicenceId::parse(bad);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    EXPECT_EQ(std::string(e.what()).substr(0, 44), "licence_id: check character is V, expected U");
    EXPECT_EQ(e.problems()[0].message, "check character is V, expected U");
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].rule, "mod37-36-check");
    EXPECT_EQ(e.problems()[0].field, "licence_id");
  }
}

TEST(Mod37_36, AlternativeRootAcceptedCanonicalEmitted) {
  std::string alt = kRealIds[0];
  alt.replace(0, 14, "1.2.156.3003.2");
  EXPECT_EQ(LicenceId::parse(alt).str(), kRealIds[0]);
  // A root-included check on the canonical root (W for vector 0) is refused, because accepting
  // it would let a mistyped check character through.
  std::string with_root = kRealIds[0];
  with_root.back() = 'W';
  EXPECT_EQ(parse_error(with_root), ErrorCode::kValidation);
}

TEST(Mod37_36, StructuralErrors) {
  EXPECT_EQ(parse_error(""), ErrorCode::kValidation);
  EXPECT_EQ(parse_error("1.2.156.3005.2"), ErrorCode::kValidation);
  EXPECT_EQ(parse_error(kRealIds[0] + ".F"), ErrorCode::kValidation);
  EXPECT_EQ(parse_error(std::string(300, '1')), ErrorCode::kValidation);
  EXPECT_EQ(parse_error("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F"),
            ErrorCode::kValidation);
}

TEST(Mod37_36, MakeRejectsBadSegmentsAndNamesThemAll) {
  try {
    (void)LicenceId::make("11100000000013338X032", "340100", "ab", 1000);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    ASSERT_EQ(e.problems().size(), 4u);
    EXPECT_EQ(e.problems()[0].field, "type_code");
    EXPECT_EQ(e.problems()[0].message, "defining authority USCC: check character is X, expected W");
    EXPECT_EQ(e.problems()[1].field, "issuer_code");  // never emit an area code as issuer
    EXPECT_EQ(e.problems()[2].field, "serial");
    EXPECT_EQ(e.problems()[3].field, "version");
  }
  EXPECT_THROW(libcert::mod37_36_check("ab"), libcert::Error);
}

TEST(Uscc, RealCodesPass) {
  for (const auto& c : kRealUsccs) EXPECT_EQ(check_uscc(c), std::nullopt) << c;
}

TEST(Uscc, DepartmentCodesPass) {
  std::ifstream in(std::string(LIBCERT_SOURCE_DIR) + "/templates/departments.json");
  ASSERT_TRUE(in);
  const auto j = nlohmann::json::parse(in);
  ASSERT_GE(j.at("departments").size(), 12u);
  for (const auto& d : j.at("departments")) {
    const auto code = d.at("uscc").get<std::string>();
    EXPECT_EQ(check_uscc(code), std::nullopt) << d.at("id");
    EXPECT_EQ(code.substr(2, 6), d.at("area_code").get<std::string>());
  }
}

TEST(Uscc, EverySingleSubstitutionRejected) {
  const std::string alphabet = upper_lower_digits_dot() + " -";
  for (const auto& code : kRealUsccs) {
    for (std::size_t i = 0; i < code.size(); ++i) {
      for (char c : alphabet) {
        if (c == code[i]) continue;
        std::string bad = code;
        bad[i] = c;
        EXPECT_NE(check_uscc(bad), std::nullopt) << bad;
      }
    }
  }
}

TEST(Uscc, MessagesNameTheRule) {
  EXPECT_EQ(check_uscc("91350100M000100Y44"), "check character is 4, expected 3");
  EXPECT_EQ(check_uscc("91350100M000100Y4"), "must be 18 characters, got 17");
  EXPECT_EQ(check_uscc("91350100M00I100Y43"),
            "character 12 'I' is not allowed (GB 32100 alphabet 0-9 A-H J-N P-R T U W-Y)");
  EXPECT_EQ(check_uscc("913501A0M000100Y43"),
            "character 7 'A' must be a digit (characters 3-8 are the administrative area code)");
  // Organisation code M000100Y4 → M000100Y5 breaks GB 11714 before the USCC check is reached.
  EXPECT_EQ(check_uscc("91350100M000100Y53"), "organisation code check character is 5, expected 4");
}

TEST(OrgCode, Gb11714) {
  EXPECT_EQ(check_org_code("M000100Y4"), std::nullopt);
  EXPECT_EQ(check_org_code("000013338"), std::nullopt);
  EXPECT_EQ(check_org_code("01990080X"), std::nullopt);  // 10 → X
  EXPECT_EQ(check_org_code("019900800"), "organisation code check character is 0, expected X");
  EXPECT_EQ(check_org_code("M000100Y"), "organisation code must be 9 characters, got 8");
}

TEST(IdNumber, RealNumbersPass) {
  for (const auto& n : kRealIdNumbers) EXPECT_EQ(check_id_number(n, kToday), std::nullopt) << n;
  EXPECT_EQ(check_id_number("11010519491231002x", kToday), std::nullopt);
  EXPECT_EQ(libcert::normalise_id_number("11010519491231002x"), "11010519491231002X");
  EXPECT_EQ(libcert::normalise_id_number("440524188001010014"), "440524188001010014");
}

TEST(IdNumber, EverySingleSubstitutionRejected) {
  const std::string alphabet = upper_lower_digits_dot();
  for (const auto& n : kRealIdNumbers) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      for (char c : alphabet) {
        if (c == n[i]) continue;
        if (i == 17 && n[i] == 'X' && c == 'x') continue;  // same check character
        std::string bad = n;
        bad[i] = c;
        EXPECT_NE(check_id_number(bad, kToday), std::nullopt) << bad;
      }
    }
  }
}

TEST(IdNumber, DateRules) {
  // Valid check characters computed for each body so that only the date rule can fail.
  auto with_check = [](std::string body17) {
    static constexpr int kW[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (std::size_t i = 0; i < 17; ++i) sum += (body17[i] - '0') * kW[i];
    return body17 + "10X98765432"[sum % 11];
  };
  EXPECT_EQ(check_id_number(with_check("11010519490231002"), kToday),
            "birth date 19490231 (characters 7-14) is not a real date");
  EXPECT_EQ(check_id_number(with_check("11010520230229002"), kToday),
            "birth date 20230229 (characters 7-14) is not a real date");
  EXPECT_EQ(check_id_number(with_check("11010520240229002"), kToday), std::nullopt);  // leap
  EXPECT_EQ(check_id_number(with_check("11010520261123002"), kToday),
            "birth date 20261123 (characters 7-14) is in the future");
  EXPECT_EQ(check_id_number(with_check("11010520261122002"), kToday), std::nullopt);
  EXPECT_EQ(check_id_number(with_check("11010517991231002"), kToday),
            "birth year 1799 (characters 7-10) is before 1800");
  EXPECT_EQ(check_id_number("110105194912310021", kToday), "check character is 1, expected X");
  EXPECT_EQ(check_id_number("11010519491231002Y", kToday), "character 18 'Y' must be a digit or X");
}

}  // namespace
