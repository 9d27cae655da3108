// The format-neutral layout (layout.h, issue 21 point 0) is the face render() prints: for every
// template's sample, each field's glyph runs carry its value's text, sit inside the field's box,
// come from installed font files with real glyph ids; the QR modules are the encoded symbol; and
// the value positions agree with where Poppler (pdftotext -bbox, a reader nobody here wrote)
// finds the same text in the PDF that render() writes.
#include "libcert/layout.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/qr.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const libcert::FixedClock kClock(1795348800);  // 2026-11-22 12:00 UTC: every sample is past
constexpr double kMmPerPt = 25.4 / 72.0;

class LayoutOfTemplate : public ::testing::TestWithParam<std::string> {};

TEST_P(LayoutOfTemplate, IsTheFaceRenderPrints) {
  const std::string id = GetParam();
  const auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get(id);
  const auto data =
      t->validate(json::parse(testsupport::slurp(kTemplates / id / "sample.json")), kClock);
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2025-03-15", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345", 0, 1};
  const libcert::IssueContext ictx{in.identifier, in.issue_date, in.version};
  const libcert::Renderer renderer;
  const libcert::PageLayout page = renderer.layout(*t, data, in);

  EXPECT_DOUBLE_EQ(page.width_mm, t->page().width_mm);
  EXPECT_DOUBLE_EQ(page.height_mm, t->page().height_mm);
  ASSERT_EQ(page.paths.size(), 2U) << "outer and inner rule";
  EXPECT_DOUBLE_EQ(page.paths[0].subpaths[0][0].x_mm, t->layout().frame.inset_mm);
  ASSERT_FALSE(page.fonts.empty());
  for (const auto& f : page.fonts) EXPECT_TRUE(fs::exists(f.file)) << f.family << " " << f.file;

  // Every field shown on the face: its runs' text is its value, every glyph inside its box.
  int fields_seen = 0;
  for (const auto& blk : t->layout().blocks) {
    if (blk.field.empty()) continue;
    std::string shown;
    for (const auto& run : page.text) {
      if (run.field != blk.field) continue;
      EXPECT_FALSE(run.constant) << blk.field;
      EXPECT_LT(run.font, page.fonts.size());
      shown += run.text;
      for (const auto& g : run.glyphs) {
        EXPECT_NE(g.id, 0U) << blk.field << ": .notdef";
        EXPECT_LT(g.cluster, run.text.size());
        EXPECT_GE(g.x_mm, blk.box.x - 0.05) << blk.field;
        EXPECT_LE(g.x_mm + g.advance_mm, blk.box.x + blk.box.w + 0.05) << blk.field;
        EXPECT_GE(g.y_mm, blk.box.y) << blk.field;
        EXPECT_LE(g.y_mm, blk.box.y + blk.box.h) << blk.field;
      }
    }
    // The text render() prints for the block (dates as 2025年03月15日, enums in Chinese...).
    const std::string value = t->expand(blk.lines.at(0).text, data, ictx);
    if (value.empty() || value.find('\n') != std::string::npos) continue;
    EXPECT_EQ(shown, value) << id << " " << blk.field;
    ++fields_seen;
  }
  EXPECT_GE(fields_seen, 3) << id;
  // Labels are constant text, laid out once per template by a writer that caches.
  EXPECT_TRUE(std::any_of(page.text.begin(), page.text.end(),
                          [](const libcert::GlyphRun& r) { return r.constant; }));

  const auto qm = libcert::QrMatrix::encode(in.qr_text, libcert::QrEcc::kQ);
  ASSERT_EQ(page.qr.width, qm.width());
  EXPECT_EQ(page.qr.mask, qm.mask());
  for (int y = 0; y < qm.width(); ++y) {
    for (int x = 0; x < qm.width(); ++x) ASSERT_EQ(page.qr.dark(x, y), qm.dark(x, y));
  }
  // Inside the template's square (render.cpp fit_qr puts it on the 1/50-inch grid there).
  const auto& box = t->qr();
  EXPECT_GE(page.qr.x_mm, box.x_mm - 1e-9);
  EXPECT_GE(page.qr.y_mm, box.y_mm - 1e-9);
  EXPECT_LE(page.qr.x_mm + page.qr.size_mm, box.x_mm + box.size_mm + 1e-9);
  EXPECT_LE(page.qr.y_mm + page.qr.size_mm, box.y_mm + box.size_mm + 1e-9);
  EXPECT_GE(page.qr.size_mm / (page.qr.width + 8), 0.5);
  EXPECT_DOUBLE_EQ(page.seal.cx_mm, t->seal().cx_mm);
  EXPECT_DOUBLE_EQ(page.seal.spec.diameter_mm, t->department().seal.diameter_mm);

  // Poppler finds the holder's number where the layout puts it (pdftotext -bbox: points, top-left
  // origin; a word's box starts at its first glyph's origin and ends after its last advance).
  // The number's runs (one per font: 藏 and the digits may come from different families).
  const std::string number = data.value(t->number_field());
  std::vector<const libcert::GlyphRun*> nr;
  std::string joined;
  for (const auto& run : page.text) {
    if (run.field == t->number_field() && !run.constant) {
      nr.push_back(&run);
      joined += run.text;
    }
  }
  ASSERT_EQ(joined, number) << id;
  ASSERT_FALSE(nr.empty());
  testsupport::TempDir dir;
  testsupport::spit(dir / "face.pdf", renderer.render(*t, data, in).pdf);
  const auto r = testsupport::run("pdftotext -bbox " +
                                  testsupport::shell_quote((dir / "face.pdf").string()) + " -");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string quoted =
      std::regex_replace(number, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  const std::regex word(
      "<word xMin=\"([0-9.]+)\" yMin=\"([0-9.]+)\" xMax=\"([0-9.]+)\" yMax=\"([0-9.]+)\">" +
      quoted + "</word>");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, word))
      << id << ": " << number << " not found by pdftotext";
  const double x_min = std::stod(m[1]) * kMmPerPt, x_max = std::stod(m[3]) * kMmPerPt;
  const double y_min = std::stod(m[2]) * kMmPerPt, y_max = std::stod(m[4]) * kMmPerPt;
  const auto& first = nr.front()->glyphs.front();
  const auto& last = nr.back()->glyphs.back();
  EXPECT_NEAR(x_min, first.x_mm, 0.2) << id;
  EXPECT_NEAR(x_max, last.x_mm + last.advance_mm, 0.2) << id;
  EXPECT_GT(first.y_mm, y_min) << id << ": the baseline lies inside Poppler's word box";
  EXPECT_LT(first.y_mm, y_max + 0.01) << id;
}

INSTANTIATE_TEST_SUITE_P(Templates, LayoutOfTemplate,
                         ::testing::ValuesIn(testsupport::template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
