// Every template of templates/ rendered with its sample data by `certctl render`, checked with
// tools nobody here wrote: pdftotext (every holder value on the page as printed, dates in the zh
// form), pdfinfo (one page of the manifest's size), zbarimg on a 150 dpi render (the QR decodes to
// the text given), file size (issue 4: at most 60 KB); and every template renders with every text
// field at its maximum length (values wrap or shrink inside their boxes, never an overflow).
#include "support/templates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/template.h"
#include "support/process.h"

namespace fs = std::filesystem;
using nlohmann::json;
using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const libcert::FixedClock kClock(1795348800);  // 2026-11-22 12:00 UTC

std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// pdftotext breaks wrapped values into lines and pads columns: compare without white space.
std::string squeeze(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\f') o += c;
  }
  return o;
}

class RenderedTemplate : public testing::TestWithParam<std::string> {};

TEST_P(RenderedTemplate, SampleRendersWithEveryValueOnThePage) {
  const std::string id = GetParam();
  const auto set = libcert::TemplateSet::load(kTemplates);
  const auto t = set.get(id);
  const fs::path sample = kTemplates / id / "sample.json";
  const libcert::LicenceData data = t->validate(json::parse(testsupport::slurp(sample)), kClock);

  testsupport::TempDir tmp;
  const fs::path pdf = tmp / (id + ".pdf");
  const std::string qr_text = "HTTPS://LIC.ALI.EXAMPLE/V/TEST-" + std::to_string(id.size());
  const auto r = run(std::string(CERTCTL_BIN) + " render --templates " +
                     shell_quote(kTemplates.string()) + " --template " + shell_quote(id) +
                     " --data " + shell_quote(sample.string()) + " --issued 2025-11-20" +
                     " --qr-text " + shell_quote(qr_text) + " -o " + shell_quote(pdf.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(fs::exists(pdf));

  const auto txt = run("pdftotext -enc UTF-8 " + shell_quote(pdf.string()) + " -");
  ASSERT_EQ(txt.exit_code, 0) << txt.out;
  const std::string page = squeeze(txt.out);
  EXPECT_NE(page.find(squeeze(t->title().zh)), std::string::npos) << "title " << t->title().zh;
  for (const auto& f : t->fields()) {
    const std::string& v = data.value(f.name);
    if (v.empty()) continue;
    const std::string shown =
        f.type == libcert::FieldType::kDate ? libcert::format_date(v, "zh") : v;
    EXPECT_NE(page.find(squeeze(shown)), std::string::npos)
        << id << ": value of " << f.name << " («" << shown << "») not found in:\n"
        << txt.out;
  }

  // pdfinfo: "Page size:      841.89 x 595.28 pts (A4)"; 1 mm = 72 / 25.4 pt.
  const auto info = run("pdfinfo " + shell_quote(pdf.string()));
  ASSERT_EQ(info.exit_code, 0) << info.out;
  const auto pos = info.out.find("Page size:");
  ASSERT_NE(pos, std::string::npos) << info.out;
  double w = 0, h = 0;
  ASSERT_EQ(std::sscanf(info.out.c_str() + pos, "Page size: %lf x %lf", &w, &h), 2) << info.out;
  EXPECT_NEAR(w, t->page().width_mm * 72 / 25.4, 0.5) << id;
  EXPECT_NEAR(h, t->page().height_mm * 72 / 25.4, 0.5) << id;
  const auto pages = info.out.find("Pages:");
  ASSERT_NE(pages, std::string::npos) << info.out;
  EXPECT_EQ(std::atoi(info.out.c_str() + pages + 6), 1) << info.out;

  EXPECT_LE(fs::file_size(pdf), 60U * 1024U) << id;

  const auto png = run("pdftoppm -r 150 -png -singlefile " + shell_quote(pdf.string()) + " " +
                       shell_quote((tmp / "page").string()));
  ASSERT_EQ(png.exit_code, 0) << png.out;
  // zbarimg's D-Bus and decoder chatter goes to stderr, which run() would merge.
  const auto qr =
      run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote((tmp / "page.png").string()) + " 2>/dev/null)");
  ASSERT_EQ(qr.exit_code, 0) << qr.out;
  EXPECT_EQ(qr.out, qr_text + "\n");
}

// Issue 4's overflow rule: a value of the maximal allowed length fits its box (the renderer refuses
// to clip or overprint, so a successful render proves it fits); one character more is rejected by
// validation (tests/unit/template_catalogue_test.cpp).
TEST_P(RenderedTemplate, EveryTextFieldAtItsMaximumLengthStillFits) {
  const std::string id = GetParam();
  const auto set = libcert::TemplateSet::load(kTemplates);
  const auto t = set.get(id);
  json data = json::parse(testsupport::slurp(kTemplates / id / "sample.json"));
  for (const auto& f : t->fields()) {
    if (f.type == libcert::FieldType::kText || f.type == libcert::FieldType::kMultiline) {
      std::string v;
      for (std::size_t i = 0; i < f.max_length; ++i) v += "藏";  // a full-width character
      data[f.name] = v;
    } else if (f.type == libcert::FieldType::kEnum) {
      std::string longest;
      for (const auto& e : f.values) {
        if (e.zh.size() > longest.size()) longest = e.zh;
      }
      data[f.name] = longest;
    }
  }
  testsupport::TempDir tmp;
  testsupport::spit(tmp / "data.json", data.dump());
  const auto r = run(std::string(CERTCTL_BIN) + " render --templates " +
                     shell_quote(kTemplates.string()) + " --template " + shell_quote(id) +
                     " --data " + shell_quote((tmp / "data.json").string()) +
                     " --issued 2025-11-20 -o " + shell_quote((tmp / "max.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << id << ": " << r.out;
  const auto txt = run("pdftotext -enc UTF-8 " + shell_quote((tmp / "max.pdf").string()) + " -");
  for (const auto& f : t->fields()) {
    if (f.type != libcert::FieldType::kMultiline) continue;
    std::string v;
    for (std::size_t i = 0; i < f.max_length; ++i) v += "藏";
    EXPECT_NE(squeeze(txt.out).find(v), std::string::npos) << id << ": " << f.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, RenderedTemplate, testing::ValuesIn(template_ids()),
                         param_name);

}  // namespace
