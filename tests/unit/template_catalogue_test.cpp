// The 24 licence templates of templates/ (design/templates.md): every manifest loads, every sample
// validates, and for every field of every template, data that breaks that field's rule is rejected
// with a problem naming that field and the rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ids.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"

namespace fs = std::filesystem;
using libcert::ErrorCode;
using libcert::FieldDef;
using libcert::FieldType;
using nlohmann::json;

namespace {

using testsupport::template_ids;

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
// 2026-11-22 12:00 UTC (20:00 in China).
const libcert::FixedClock kClock(1795348800);

json read_json(const fs::path& p) { return json::parse(testsupport::slurp(p)); }

const libcert::TemplateSet& set() {
  static const libcert::TemplateSet s = libcert::TemplateSet::load(kTemplates);
  return s;
}

// Template ids from the directory listing, so a new template is covered without editing this file.
std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// The field/rule pairs of a validation failure; fails the test if validation passed.
std::set<std::pair<std::string, std::string>> rejected(const libcert::Template& t, const json& d) {
  std::set<std::pair<std::string, std::string>> s;
  try {
    (void)t.validate(d, kClock);
    ADD_FAILURE() << "expected Error(kValidation) for " << d.dump();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << e.what();
    for (const auto& p : e.problems()) s.insert({p.field, p.rule});
  }
  return s;
}

// Replaces the last character of a code by another one of the same alphabet, so only the check
// character is wrong.
std::string wrong_check(const std::string& code, const std::string& alphabet) {
  std::string s = code;
  const auto pos = alphabet.find(s.back());
  s.back() = alphabet[(pos == std::string::npos ? 0 : pos + 1) % alphabet.size()];
  return s;
}

// One broken value per rule that applies to the field: {value (null = remove), expected rule}.
std::vector<std::pair<json, std::string>> breakers(const FieldDef& f, const std::string& good) {
  std::vector<std::pair<json, std::string>> b;
  if (f.required) b.emplace_back(json(), "required");
  switch (f.type) {
    case FieldType::kText:
    case FieldType::kMultiline: {
      std::string s;  // one character too many (max_length counts characters, not bytes)
      for (std::size_t i = 0; i <= f.max_length; ++i) s += "藏";
      b.emplace_back(s, "max-length");
      break;
    }
    case FieldType::kPattern: {
      b.emplace_back("#0", "pattern");
      std::string s;
      for (std::size_t i = 0; i <= f.max_length; ++i) s += "9";
      b.emplace_back(s, "max-length");
      break;
    }
    case FieldType::kUscc:
      b.emplace_back(wrong_check(good, "0123456789ABCDEFGHJKLMNPQRTUWXY"), "uscc-check");
      break;
    case FieldType::kIdNumber:
      b.emplace_back(wrong_check(good, "0123456789X"), "id-number-check");
      break;
    case FieldType::kEnum:
      b.emplace_back("不在列表中的值", "enum");
      break;
    case FieldType::kDate:
      b.emplace_back("2023-02-29", "date-invalid");
      if (f.not_future) b.emplace_back("2099-01-01", "date-future");
      break;
    case FieldType::kNumber:
      b.emplace_back("十二", "number-format");
      if (f.max) b.emplace_back(std::to_string(static_cast<long long>(*f.max) + 1), "number-range");
      break;
  }
  return b;
}

class Catalogue : public testing::TestWithParam<std::string> {};

TEST(CatalogueSet, HasTheTwentyFourTemplatesWithDistinctTypeCodes) {
  const auto ids = set().ids();
  EXPECT_EQ(ids.size(), 24U);
  EXPECT_EQ(ids, template_ids());
  std::set<std::string> codes;
  for (const auto& id : ids) {
    const auto t = set().get(id);
    EXPECT_TRUE(codes.insert(t->type_code()).second) << id << " reuses " << t->type_code();
    // The defining authority's USCC of formats.md §1 (national catalogue).
    EXPECT_EQ(t->type_code().substr(0, 18), "11100000000013338W") << id;
  }
  EXPECT_EQ(set().unused_glossary_keys(), std::vector<std::string>{});
}

TEST_P(Catalogue, ManifestLoadsWithBilingualTitleAndLabels) {
  const auto t = set().get(GetParam());
  EXPECT_EQ(t->id(), GetParam());
  EXPECT_FALSE(t->title().bo.empty());
  EXPECT_FALSE(t->title().zh.empty());
  EXPECT_FALSE(t->department().uscc.empty());
  for (const auto& f : t->fields()) {
    EXPECT_FALSE(f.label.bo.empty()) << f.name;
    EXPECT_FALSE(f.label.zh.empty()) << f.name;
    // Every Tibetan label is Tibetan script (U+0F00..U+0FFF: UTF-8 lead bytes E0 BC..BF).
    EXPECT_EQ(f.label.bo.rfind("\xE0\xBD", 0) == 0 || f.label.bo.rfind("\xE0\xBC", 0) == 0 ||
                  f.label.bo.rfind("\xE0\xBE", 0) == 0,
              true)
        << f.name << ": " << f.label.bo;
  }
  // Every field is shown on the face (a value block or an expression that names it).
  std::string shown;
  for (const auto& b : t->layout().blocks) {
    shown += b.field + " ";
    for (const auto& l : b.lines) shown += l.text + " ";
  }
  for (const auto& f : t->fields()) {
    EXPECT_NE(shown.find(f.name), std::string::npos) << f.name << " is not on the face";
  }
}

TEST_P(Catalogue, SampleValidatesAndKeepsItsCodes) {
  const auto t = set().get(GetParam());
  const json sample = read_json(kTemplates / GetParam() / "sample.json");
  const libcert::LicenceData d = t->validate(sample, kClock);
  EXPECT_TRUE(d.warnings.empty());
  for (const auto& f : t->fields()) {
    if (!sample.contains(f.name)) {
      EXPECT_FALSE(f.required) << f.name;
      continue;
    }
    const std::string v =
        sample[f.name].is_string() ? sample[f.name].get<std::string>() : sample[f.name].dump();
    // Codes are computed by tests/data/gen_codes.py; check them again with libcert's own rules.
    if (f.type == FieldType::kUscc) {
      EXPECT_EQ(libcert::check_uscc(v), std::nullopt) << f.name;
    }
    if (f.type == FieldType::kIdNumber) {
      EXPECT_EQ(libcert::check_id_number(v, 20261122), std::nullopt) << f.name;
    }
    EXPECT_EQ(d.value(f.name), v) << f.name;
  }
}

TEST_P(Catalogue, EveryFieldRejectsDataThatBreaksItsRule) {
  const auto t = set().get(GetParam());
  const json sample = read_json(kTemplates / GetParam() / "sample.json");
  for (const auto& f : t->fields()) {
    const std::string good = sample.contains(f.name) && sample[f.name].is_string()
                                 ? sample[f.name].get<std::string>()
                                 : "";
    for (const auto& [bad, rule] : breakers(f, good)) {
      json d = sample;
      if (bad.is_null()) {
        d.erase(f.name);
      } else {
        d[f.name] = bad;
      }
      const auto got = rejected(*t, d);
      EXPECT_TRUE(got.count({f.name, rule}))
          << GetParam() << ": " << f.name << " with " << (bad.is_null() ? "(absent)" : bad.dump())
          << " should break rule " << rule;
      // Only the broken field is blamed (a date order rule may also name the dependent date).
      for (const auto& [field, r] : got) {
        if (r != "date-order") {
          EXPECT_EQ(field, f.name) << r;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, Catalogue, testing::ValuesIn(template_ids()), param_name);

// Structured numbers whose check digit the format cannot express (templates/README.md): the sample
// values were computed with tests/data/gen_codes.py; recompute them here independently.
int mod11_10(const std::string& digits) {  // ISO 7064 MOD 11,10 (GB/T 17710)
  int p = 10;
  for (char c : digits) {
    int r = (p + (c - '0')) % 10;
    p = (2 * (r == 0 ? 10 : r)) % 11;
  }
  return (11 - p) % 10;
}

TEST(CatalogueCodes, FoodLicenceNumbersCarryTheirMod1110CheckDigit) {
  // Real numbers printed in public sources (vectors for the rule, see tests/data/gen_codes.py).
  for (const std::string n :
       {"JY11108071215650", "JY11105050876919", "JY13301080111719", "SC11351090100010",
        "SC10741018302531", "SC12434017430075", "SC10744030704994"}) {
    EXPECT_EQ(mod11_10(n.substr(2, 13)), n[15] - '0') << n;
  }
  for (const char* id : {"food-business-licence", "food-production-licence"}) {
    const json s = read_json(kTemplates / id / "sample.json");
    const std::string n = s["licence_number"].get<std::string>();
    ASSERT_EQ(n.size(), 16U) << id;
    EXPECT_EQ(mod11_10(n.substr(2, 13)), n[15] - '0') << id << " " << n;
  }
  // The main-format digit of the JY number matches the main-format field (code 2 = 餐饮服务经营者).
  const json fb = read_json(kTemplates / "food-business-licence" / "sample.json");
  EXPECT_EQ(fb["licence_number"].get<std::string>()[2], '2');
  EXPECT_EQ(fb["main_format"], "餐饮服务经营者");
}

TEST(CatalogueCodes, CrossFieldNumbersAgreeInTheSamples) {
  // Disability certificate number = ID number + category digit + grade digit.
  const json dis = read_json(kTemplates / "disability-certificate" / "sample.json");
  const auto t = set().get("disability-certificate");
  const std::string num = dis["certificate_number"].get<std::string>();
  EXPECT_EQ(num.substr(0, 18), dis["id_number"].get<std::string>());
  auto code_of = [&](const char* field, const std::string& zh) {
    for (const auto& v : t->field(field)->values) {
      if (v.zh == zh) return v.code;
    }
    return std::string("?");
  };
  EXPECT_EQ(num.substr(18, 1), code_of("disability_category", dis["disability_category"]));
  EXPECT_EQ(num.substr(19, 1), code_of("disability_grade", dis["disability_grade"]));
  // Teacher qualification number: digit 10 = qualification type, digit 11 = sex (1 male, 2 female).
  const json tq = read_json(kTemplates / "teacher-qualification-certificate" / "sample.json");
  const auto tt = set().get("teacher-qualification-certificate");
  const std::string tn = tq["certificate_number"].get<std::string>();
  for (const auto& v : tt->field("qualification_type")->values) {
    if (v.zh == tq["qualification_type"]) {
      EXPECT_EQ(tn.substr(9, 1), v.code);
    }
  }
  EXPECT_EQ(tn.substr(10, 1), tq["sex"] == "男" ? "1" : "2");
  // Pollutant discharge permit number = the unit's USCC + 3-digit sequence + letter (HJ 608).
  const json pd = read_json(kTemplates / "pollutant-discharge-permit" / "sample.json");
  EXPECT_EQ(pd["certificate_number"].get<std::string>().substr(0, 18), pd["uscc"]);
  // Road transport practitioner: the certificate number is the ID number (number field =
  // id_number).
  EXPECT_EQ(set().get("road-transport-practitioner-certificate")->number_field(), "id_number");
  // The sex digit of every sample ID number agrees with the sex field next to it.
  for (const auto& id : set().ids()) {
    const auto tp = set().get(id);
    const json s = read_json(kTemplates / id / "sample.json");
    for (const auto& f : tp->fields()) {
      if (f.type != FieldType::kIdNumber || !s.contains(f.name)) continue;
      std::string sex_field = f.name;
      const auto pos = sex_field.rfind("id_number");
      sex_field.replace(pos, 9, "sex");
      if (!s.contains(sex_field)) continue;
      const int digit = s[f.name].get<std::string>()[16] - '0';
      EXPECT_EQ(s[sex_field].get<std::string>(), digit % 2 == 1 ? "男" : "女")
          << id << " " << f.name;
    }
  }
}

}  // namespace
