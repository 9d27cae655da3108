// Template manifests, glossary and holder-data validation.
#include "libcert/template.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "libcert/clock.h"
#include "libcert/error.h"
#include "support/process.h"

namespace fs = std::filesystem;
using libcert::ErrorCode;
using nlohmann::json;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
// 2026-11-22 12:00 UTC (20:00 in China).
const libcert::FixedClock kClock(1795348800);

json read_json(const fs::path& p) { return json::parse(testsupport::slurp(p)); }

std::set<std::pair<std::string, std::string>> field_rules(const libcert::Error& e) {
  std::set<std::pair<std::string, std::string>> s;
  for (const auto& p : e.problems()) s.insert({p.field, p.rule});
  return s;
}

// A small but complete template in a temp dir (real departments.json and glossary.json), so each
// test can break one thing.
json minimal_manifest() {
  return json::parse(R"({
    "id": "t", "version": 1, "type_code": "11100000000013338W001",
    "title": "title.business-licence-enterprise", "department": "samr",
    "page": {"size": "custom", "width_mm": 150, "height_mm": 100, "orientation": "landscape"},
    "holder": "name", "holder_code": "id", "number": "no",
    "fields": [
      {"name": "name", "label": "label.name", "type": "text", "required": true, "max_length": 10},
      {"name": "id", "label": "label.uscc", "type": "id-number", "required": true},
      {"name": "no", "label": "label.licence-number", "type": "pattern", "required": true,
       "pattern": "JY[1-3][0-9]{13}", "pattern_description": "JY + 14 digits"},
      {"name": "born", "label": "label.date-of-establishment", "type": "date", "not_future": true},
      {"name": "kind", "label": "label.type", "type": "enum", "values": [
         {"zh": "甲", "code": "A"}, {"zh": "乙", "code": "B"}]},
      {"name": "capital", "label": "label.registered-capital", "type": "number", "min": 0,
       "max": 1000, "decimals": 2},
      {"name": "scope", "label": "label.business-scope", "type": "multiline", "max_length": 50}
    ],
    "layout": {"items": [
      {"field": "name", "label_box": [5, 5, 20, 8], "value_box": [26, 5, 40, 8]},
      {"text": [{"text": "{@issue_date:bo}", "font": "bo", "size": 8},
                {"text": "{@issue_date}", "font": "zh", "size": 9}],
       "box": [40, 60, 40, 12], "under_seal": true}
    ]},
    "seal": {"centre_mm": [60, 62]},
    "qr": {"x_mm": 95, "y_mm": 12, "size_mm": 45},
    "metadata": {"holder": "{name}", "related_item": "测试"}
  })");
}

struct Dir {
  testsupport::TempDir tmp;
  explicit Dir(const json& manifest, const std::string& id = "t") {
    fs::copy_file(kTemplates / "departments.json", tmp / "departments.json");
    fs::copy_file(kTemplates / "glossary.json", tmp / "glossary.json");
    fs::create_directories(tmp / id);
    testsupport::spit(tmp / id / "manifest.json", manifest.dump(2));
  }
};

libcert::Error load_error(const fs::path& dir) {
  try {
    (void)libcert::TemplateSet::load(dir);
  } catch (const libcert::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected Error(kTemplate)";
  return libcert::Error(ErrorCode::kInternal, "none");
}

}  // namespace

TEST(TemplateSet, LoadsTheRealTemplatesAndEveryGlossaryKeyIsUsed) {
  auto set = libcert::TemplateSet::load(kTemplates);
  auto ids = set.ids();
  ASSERT_NE(std::find(ids.begin(), ids.end(), "business-licence-enterprise"), ids.end());
  auto t = set.get("business-licence-enterprise");
  EXPECT_EQ(t->title().zh, "营业执照（企业）");
  EXPECT_EQ(t->title().bo, "ཚོང་ལས་ལག་ཁྱེར། (ཁེ་ལས)");
  EXPECT_EQ(t->department().id, "samr");
  EXPECT_EQ(t->department().name.bo, "མངའ་རིས་ས་ཁུལ་ཁྲོམ་ར་ལྟ་འདོམས་ཅུས།");
  EXPECT_EQ(t->department().seal.name_zh, "阿里地区市场监督管理局");
  EXPECT_DOUBLE_EQ(t->page().width_mm, 297);
  EXPECT_DOUBLE_EQ(t->page().height_mm, 210);
  EXPECT_EQ(t->field("uscc")->label.zh, "统一社会信用代码");
  // Missing keys would have failed load(); unused keys fail here (issue 4: one glossary, no
  // dead entries). Only departments.json and manifests count as users.
  EXPECT_EQ(set.unused_glossary_keys(), std::vector<std::string>{});
  // Every department has its Tibetan name and seal function text in the glossary.
  for (const auto& d : set.departments()) {
    EXPECT_FALSE(d.name.bo.empty()) << d.id;
    EXPECT_EQ(set.glossary().count("dept." + d.id), 1U) << d.id;
  }
  // The glossary marks itself as awaiting review by the bureau.
  auto g = read_json(kTemplates / "glossary.json");
  EXPECT_NE(g["_notice"].get<std::string>().find("awaits review by the bureau"), std::string::npos);
  for (const auto& [k, e] : g["entries"].items()) {
    EXPECT_TRUE(e["level"] == "H" || e["level"] == "M" || e["level"] == "L") << k;
  }
}

// The renderer reuses the layout of constant text only: literals, glossary entries, the title and
// the department. Holder data, the identifier, the issue date and the number vary per licence.
TEST(TemplateSet, ConstantExpressionsAreOnlyThoseWithoutLicenceData) {
  auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get("business-licence-enterprise");
  EXPECT_TRUE(t->is_constant("{@title:bo}"));
  EXPECT_TRUE(t->is_constant("{#label.scan-to-verify} / {#label.scan-to-verify:zh}"));
  EXPECT_TRUE(t->is_constant("{@department} {@department_uscc} plain {{braces}}"));
  EXPECT_FALSE(t->is_constant("{name}"));
  EXPECT_FALSE(t->is_constant("{#label.name:zh} {name}"));
  EXPECT_FALSE(t->is_constant("{@identifier}"));
  EXPECT_FALSE(t->is_constant("{@issue_date:zh}"));
  EXPECT_FALSE(t->is_constant("{@number}"));
  EXPECT_FALSE(t->is_constant("{unclosed"));  // not an expression: never cached
}

TEST(TemplateSet, CachedSharesOneParse) {
  auto a = libcert::TemplateSet::cached(kTemplates);
  auto b = libcert::TemplateSet::cached(kTemplates / ".");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->get("business-licence-enterprise").get(),
            b->get("business-licence-enterprise").get());
}

TEST(TemplateSet, MinimalManifestLoads) {
  Dir d(minimal_manifest());
  auto set = libcert::TemplateSet::load(d.tmp.path());
  auto t = set.get("t");
  EXPECT_DOUBLE_EQ(t->page().width_mm, 150);
  EXPECT_DOUBLE_EQ(t->page().height_mm, 100);
  EXPECT_THROW((void)set.get("nope"), libcert::Error);
}

TEST(TemplateSet, ReportsEveryManifestProblemWithFileAndJsonPointer) {
  json m = minimal_manifest();
  m["colour"] = "red";                                                  // unknown key
  m["department"] = "bakery";                                           // unknown department
  m["fields"][0]["label"] = "label.nope";                               // unknown glossary key
  m["fields"][1]["type"] = "passport";                                  // unknown type
  m["fields"][2]["pattern"] = "JY[";                                    // bad regex
  m["layout"]["items"][0]["value_box"] = json::array({140, 5, 20, 8});  // off the page
  m["layout"]["items"][0]["bogus"] = 1;                                 // unknown key in an item
  m["layout"]["items"].push_back(
      json::parse(R"({"text": [{"text": "{nosuchfield}", "size": 8}], "box": [92, 14, 10, 10]})"));
  m["qr"]["x_mm"] = 100;  // 150 - 100 - 45 < 10 mm to the edge
  Dir d(m);
  auto e = load_error(d.tmp.path());
  EXPECT_EQ(e.code(), ErrorCode::kTemplate);
  const std::string f = "t/manifest.json#";
  auto got = field_rules(e);
  const std::set<std::pair<std::string, std::string>> want = {
      {f + "/colour", "unknown-key"},
      {f + "/department", "department"},
      {f + "/fields/0/label", "glossary-key"},
      {f + "/fields/1/type", "enum"},
      {f + "/fields/2/pattern", "regex"},
      {f + "/layout/items/0/bogus", "unknown-key"},
      {f + "/layout/items/2/text/0/text", "expression"},
      {f + "/qr", "outside-page"},
  };
  for (const auto& w : want) EXPECT_TRUE(got.count(w)) << w.first << " " << w.second;
  // The item with the unknown key is reported, and the later item still checked: all at once.
  EXPECT_GE(e.problems().size(), want.size());
}

TEST(TemplateSet, RejectsBadPositions) {
  json m = minimal_manifest();
  m["layout"]["items"][0]["value_box"] = json::array({140, 5, 20, 8});  // beyond 150 mm
  m["layout"]["items"].push_back(json::parse(
      R"({"text": [{"text": "x", "size": 8}], "box": [88, 20, 10, 5]})"));  // over the QR
  m["layout"]["items"].push_back(json::parse(
      R"({"text": [{"text": "y", "size": 8}], "box": [42, 45, 30, 6]})"));  // under the seal
  m["layout"]["items"].push_back(json::parse(
      R"({"text": [{"text": "z", "size": 8}], "box": [6, 6, 10, 4]})"));  // overlaps label
  Dir d(m);
  auto got = field_rules(load_error(d.tmp.path()));
  const std::string f = "t/manifest.json#";
  EXPECT_TRUE(got.count({f + "/layout/items/0/value_box", "outside-page"}));
  EXPECT_TRUE(got.count({f + "/layout/items/2/box", "overlap-qr"}));
  EXPECT_TRUE(got.count({f + "/layout/items/3/box", "overlap-seal"}));
  EXPECT_TRUE(got.count({f + "/layout/items/4/box", "overlap"}));
}

// Issue 21's geometry rule: on a framed face every text box, the QR square (quiet zone included)
// and the seal's disc keep kFrameClearanceMm inside the inner rule's inside edge. Frame of the test:
// inset 10, outer 1, gap 1, inner 0.3 -> inside edge 10 + 0.5 + 1 + 0.15 = 11.65 mm, so the
// allowed area of the 150 x 100 mm page is [13.65, 136.35] x [13.65, 86.35].
static json framed(json m) {
  m["layout"]["frame"] =
      json::parse(R"({"inset_mm": 10, "outer_mm": 1, "gap_mm": 1, "inner_mm": 0.3})");
  return m;
}

TEST(TemplateSet, FrameInnerEdgeIsWhereTheInnerRuleEnds) {
  libcert::Frame f;
  f.inset_mm = 10, f.outer_mm = 1, f.gap_mm = 1, f.inner_mm = 0.3;
  EXPECT_DOUBLE_EQ(f.inner_edge_mm(), 11.65);
  f.inner_mm = 0;  // outer rule only
  EXPECT_DOUBLE_EQ(f.inner_edge_mm(), 10.5);
  f.inset_mm = 0;  // no frame
  EXPECT_DOUBLE_EQ(f.inner_edge_mm(), 0);
  EXPECT_DOUBLE_EQ(libcert::kFrameClearanceMm, 2.0);
}

TEST(TemplateSet, RejectsEveryElementOutsideTheFrame) {
  json m = framed(minimal_manifest());
  // items/0 label [5, 5, 20, 8] and value [26, 5, 40, 8] start above 13.65 mm; the QR [95, 12,
  // 45, 45] starts above it and ends at 140 > 136.35 (yet 10 mm from the page edge); the seal of
  // 42 mm at (60, 66) reaches 87 > 86.35 (and still overlaps the issue date).
  m["seal"]["centre_mm"] = json::array({60, 66});
  Dir d(m);
  auto e = load_error(d.tmp.path());
  const std::string f = "t/manifest.json#";
  const std::set<std::pair<std::string, std::string>> want = {
      {f + "/layout/items/0/label_box", "outside-frame"},
      {f + "/layout/items/0/value_box", "outside-frame"},
      {f + "/qr", "outside-frame"},
      {f + "/seal/centre_mm", "outside-frame"},
  };
  EXPECT_EQ(field_rules(e), want);  // and nothing else: the page rules still hold
  for (const auto& p : e.problems()) {
    EXPECT_NE(p.message.find("[13.65, 13.65, 122.7, 72.7]"), std::string::npos) << p.message;
    EXPECT_NE(p.message.find("by 2 mm"), std::string::npos) << p.message;
  }
  const auto qr = std::find_if(e.problems().begin(), e.problems().end(),
                               [](const auto& p) { return p.field.ends_with("#/qr"); });
  ASSERT_NE(qr, e.problems().end());
  EXPECT_NE(qr->message.find("quiet zone [95, 12, 45, 45]"), std::string::npos) << qr->message;
}

TEST(TemplateSet, AcceptsAFramedFaceLaidOutInsideTheClearance) {
  json m = framed(minimal_manifest());
  m["layout"]["items"][0]["label_box"] = json::array({13.65, 13.65, 20, 8});  // on the limit
  m["layout"]["items"][0]["value_box"] = json::array({35, 14, 40, 8});
  m["qr"] = json::parse(R"({"x_mm": 91.35, "y_mm": 14, "size_mm": 45})");  // ends at 136.35
  m["seal"]["centre_mm"] = json::array({60, 65.35});                       // disc ends at 86.35
  Dir d(m);
  EXPECT_NO_THROW((void)libcert::TemplateSet::load(d.tmp.path()));
}

TEST(TemplateSet, RejectsQrModulesSmallerThanHalfAMillimetre) {
  json m = minimal_manifest();
  m["qr"]["size_mm"] = 44;  // 89 modules (version 16 + quiet zone) of 0.494 mm
  Dir d(m);
  auto e = load_error(d.tmp.path());
  auto got = field_rules(e);
  EXPECT_TRUE(got.count({"t/manifest.json#/qr/size_mm", "module-size"}));
  EXPECT_EQ(got.size(), 1U);  // nothing else is wrong: 44 mm is still inside the page
  const auto it = std::find_if(e.problems().begin(), e.problems().end(),
                               [](const auto& p) { return p.rule == "module-size"; });
  ASSERT_NE(it, e.problems().end());
  EXPECT_NE(it->message.find("44 mm"), std::string::npos) << it->message;
  EXPECT_NE(it->message.find("44.5 mm"), std::string::npos) << it->message;

  m["qr"]["size_mm"] = 44.5;  // exactly 0.5 mm modules at version 16: accepted
  Dir ok(m);
  EXPECT_NO_THROW((void)libcert::TemplateSet::load(ok.tmp.path()));
}

TEST(TemplateSet, SealMustOverlapTheIssueDate) {
  json m = minimal_manifest();
  m["seal"]["centre_mm"] = json::array({25, 40});
  Dir d(m);
  auto got = field_rules(load_error(d.tmp.path()));
  EXPECT_TRUE(got.count({"t/manifest.json#/seal/centre_mm", "seal-position"}));
}

TEST(TemplateSet, RejectsUnknownGlossaryKeyInDepartments) {
  Dir d(minimal_manifest());
  auto deps = read_json(d.tmp / "departments.json");
  deps["departments"][1]["name_bo"] = "dept.nowhere";
  testsupport::spit(d.tmp / "departments.json", deps.dump());
  auto got = field_rules(load_error(d.tmp.path()));
  EXPECT_TRUE(got.count({"departments.json#/departments/1/name_bo", "glossary-key"}));
}

TEST(Validate, SampleDataNormalises) {
  auto set = libcert::TemplateSet::load(kTemplates);
  auto t = set.get("business-licence-enterprise");
  auto data =
      t->validate(read_json(kTemplates / "business-licence-enterprise" / "sample.json"), kClock);
  EXPECT_EQ(data.value("uscc"), "91542523MA6T1D4L25");
  EXPECT_EQ(data.value("legal_representative"), "次仁多吉");
  EXPECT_EQ(data.value("date_of_establishment"), "2019-05-20");
  EXPECT_EQ(data.value("term_end"), "");
  auto md = t->metadata(data, {"1.2.156.3005.2.X", "2026-11-22", 1});
  EXPECT_EQ(md["holder"], "阿里狮泉河高原牧业发展有限公司");
  EXPECT_EQ(md["holder_code"], "91542523MA6T1D4L25");
  EXPECT_EQ(md["holder_code_type"], "001");
  EXPECT_EQ(md["issuer_code"], "115425000199003834");
  EXPECT_EQ(md["valid_from"], "2019-05-20");
  EXPECT_EQ(md["area_code"], "542500");
  EXPECT_EQ(t->expand("{term_start} 至 {term_end|长期}", data, {}), "2019年05月20日 至 长期");
  EXPECT_EQ(t->expand("{@issue_date:bo}", data, {"", "2025-03-15", 1}), "2025ལོའི་ཟླ་3ཚེས་15ཉིན།");
}

TEST(Validate, ReportsEveryProblemWithFieldAndRule) {
  auto set = libcert::TemplateSet::load(kTemplates);
  auto t = set.get("business-licence-enterprise");
  json d = read_json(kTemplates / "business-licence-enterprise" / "sample.json");
  d["uscc"] = "91542523MA6T1D4L24";           // wrong check character
  d.erase("legal_representative");            // required
  d["name"] = std::string(61, 'A');           // 61 > 60
  d["domicile"] = "噶尔县\x01狮泉河镇";       // control character
  d["type"] = "无限公司";                     // not in the enum
  d["date_of_establishment"] = "2019-02-30";  // impossible date
  d["registered_capital"] = "12.345678";      // > 4 decimals
  d["licence_number"] = "JY12345";            // pattern
  d["colour"] = "red";                        // unknown field
  d["business_scope"] = "\xEF\x8C\x80 牧业";  // U+F300 legacy Tibetan PUA
  try {
    (void)t->validate(d, kClock);
    FAIL() << "expected kValidation";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    const std::set<std::pair<std::string, std::string>> want = {
        {"uscc", "uscc-check"},
        {"legal_representative", "required"},
        {"name", "max-length"},
        {"domicile", "control-character"},
        {"type", "enum"},
        {"date_of_establishment", "date-invalid"},
        {"registered_capital", "number-precision"},
        {"licence_number", "pattern"},
        {"colour", "unknown-field"},
        {"business_scope", "legacy-tibetan-pua"},
    };
    EXPECT_EQ(field_rules(e), want);
    for (const auto& p : e.problems()) {
      if (p.rule == "uscc-check") {
        EXPECT_NE(p.message.find("'91542523MA6T1D4L24'"), std::string::npos) << p.message;
      }
      if (p.rule == "legacy-tibetan-pua") {
        EXPECT_NE(p.message.find("U+F300"), std::string::npos) << p.message;
        EXPECT_NE(p.message.find("GB/T 20524"), std::string::npos) << p.message;
      }
      if (p.rule == "control-character") {
        EXPECT_NE(p.message.find("U+0001 at position 4"), std::string::npos) << p.message;
      }
    }
  }
}

TEST(Validate, NormalisesNfcTrimIdNumberDatesAndEnumCodes) {
  Dir dir(minimal_manifest());
  auto t = libcert::TemplateSet::load(dir.tmp.path()).get("t");
  json d = {{"name", " \u3000Cafe\u0301 "},  // decomposed é, ideographic space
            {"id", "11010519491231002x"},
            {"no", "JY15425230012345"},
            {"born", "2019年5月2日"},
            {"kind", "B"},
            {"capital", 12.5},
            {"scope", "第一行\r\n第二行"}};
  auto v = t->validate(d, kClock);
  EXPECT_EQ(v.value("name"), "Caf\u00e9");
  EXPECT_EQ(v.value("id"), "11010519491231002X");
  EXPECT_EQ(v.value("born"), "2019-05-02");
  EXPECT_EQ(v.value("kind"), "乙");
  EXPECT_EQ(v.value("capital"), "12.5");
  EXPECT_EQ(v.value("scope"), "第一行\n第二行");
}

TEST(Validate, MaxLengthCountsCharactersNotBytes) {
  Dir dir(minimal_manifest());
  auto t = libcert::TemplateSet::load(dir.tmp.path()).get("t");
  json d = {{"name", "阿里地区噶尔县狮泉河"},  // 10 characters, 30 bytes: fits max_length 10
            {"id", "11010519491231002X"},
            {"no", "JY15425230012345"}};
  EXPECT_EQ(t->validate(d, kClock).value("name"), "阿里地区噶尔县狮泉河");
  d["name"] = "阿里地区噶尔县狮泉河镇";  // 11 characters
  try {
    (void)t->validate(d, kClock);
    FAIL();
  } catch (const libcert::Error& e) {
    ASSERT_EQ(e.problems().size(), 1U);
    EXPECT_EQ(e.problems()[0].rule, "max-length");
    EXPECT_EQ(e.problems()[0].message, "has 11 characters, at most 10 allowed");
  }
}

TEST(Validate, IdNumberDateFutureAndTypeRules) {
  Dir dir(minimal_manifest());
  auto t = libcert::TemplateSet::load(dir.tmp.path()).get("t");
  json d = {{"name", 5},                   // not a string
            {"id", "110105202712310011"},  // born 2027-12-31: after "today"
            {"no", "JY15425230012345"},
            {"born", "2026-11-23"},  // tomorrow in China
            {"kind", "丙"},
            {"capital", "1001"},
            {"scope", "a\tb"}};  // tab is a control character
  try {
    (void)t->validate(d, kClock);
    FAIL();
  } catch (const libcert::Error& e) {
    const std::set<std::pair<std::string, std::string>> want = {
        {"name", "type"}, {"id", "id-number-check"},   {"born", "date-future"},
        {"kind", "enum"}, {"capital", "number-range"}, {"scope", "control-character"}};
    EXPECT_EQ(field_rules(e), want);
  }
  // Today itself is not in the future (China date of the fixed clock is 2026-11-22).
  d = {{"name", "x"},
       {"id", "11010519491231002X"},
       {"no", "JY15425230012345"},
       {"born", "2026-11-22"}};
  EXPECT_EQ(t->validate(d, kClock).value("born"), "2026-11-22");
}

TEST(Dates, ChinaDateAndFormats) {
  EXPECT_EQ(libcert::china_date(1795348800), 20261122);
  EXPECT_EQ(libcert::china_date(1795363200 - 1), 20261122);  // 23:59:59 China time
  EXPECT_EQ(libcert::china_date(1795363200), 20261123);
  EXPECT_EQ(libcert::format_date("2025-03-15", "zh"), "2025年03月15日");
  EXPECT_EQ(libcert::format_date("2025-03-15", "bo"), "2025ལོའི་ཟླ་3ཚེས་15ཉིན།");
  EXPECT_EQ(libcert::format_date("2028-12-31", "bo-until"), "2028ལོའི་ཟླ་12ཚེས་31ཉིན་བར།");
}
