// Renderer::layout against a recorded baseline (tests/data/layout-baseline.tsv): the text of all 24
// sample licences where the layout put it when it was recorded. The baseline was first recorded
// from the pango layout (before libcert shaped with HarfBuzz directly, issue 21 point 2), so this
// test proves the own shaper places every text segment where pango did, within kToleranceMm.
//
// A segment is a maximal sequence of consecutive glyph runs of one field (or constant text), one
// font family, one size and one baseline: how the runs are cut inside a line (by script, by
// cluster) is the shaper's business, where the glyphs land is not. Per segment: text, family,
// size, the first glyph's pen position and the end of the last glyph's advance.
//
// Regenerate (after a deliberate change of fonts or geometry, and only then):
//   LIBCERT_WRITE_LAYOUT_BASELINE=1 build/dev/tests/layout_baseline_test
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "libcert/clock.h"
#include "libcert/layout.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const fs::path kBaseline = fs::path(LIBCERT_SOURCE_DIR) / "tests/data/layout-baseline.tsv";
const libcert::FixedClock kClock(1795348800);  // 2026-11-22 12:00 UTC: every sample is past
// Where the text may move against the baseline. 0.3 mm is a tenth of a 9 pt line; measured, the
// shaper places every segment of the 24 samples far closer (see the test's failure message for
// the largest difference).
constexpr double kToleranceMm = 0.3;

struct Segment {
  std::string field, family, text;
  double size = 0, x0 = 0, y = 0, x1 = 0;
};

std::vector<Segment> segments(const libcert::PageLayout& page) {
  std::vector<Segment> out;
  for (const auto& run : page.text) {
    if (run.glyphs.empty()) continue;
    const std::string& fam = page.fonts.at(run.font).family;
    const auto& g0 = run.glyphs.front();
    const auto& gl = run.glyphs.back();
    const std::string field = run.field.empty() ? "-" : run.field;
    if (!out.empty() && out.back().field == field && out.back().family == fam &&
        std::abs(out.back().size - run.size_pt) < 1e-6 && std::abs(out.back().y - g0.y_mm) < 0.01) {
      out.back().text += run.text;
      out.back().x1 = gl.x_mm + gl.advance_mm;
      continue;
    }
    out.push_back({field, fam, run.text, run.size_pt, g0.x_mm, g0.y_mm, gl.x_mm + gl.advance_mm});
  }
  return out;
}

libcert::PageLayout layout_of(const std::string& id, const libcert::Renderer& renderer) {
  const auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get(id);
  const auto data =
      t->validate(json::parse(testsupport::slurp(kTemplates / id / "sample.json")), kClock);
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2025-03-15", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345", 0, 1};
  return renderer.layout(*t, data, in);
}

std::string line_of(const std::string& id, const Segment& s) {
  char nums[128];
  std::snprintf(nums, sizeof nums, "%.3f\t%.3f\t%.3f\t%.3f", s.size, s.x0, s.y, s.x1);
  return id + "\t" + s.field + "\t" + s.family + "\t" + nums + "\t" + s.text;
}

// template id -> its segments, as recorded.
std::map<std::string, std::vector<Segment>> read_baseline() {
  std::map<std::string, std::vector<Segment>> out;
  std::istringstream in(testsupport::slurp(kBaseline));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::size_t p = 0;
    for (int i = 0; i < 7; ++i) {
      const std::size_t q = line.find('\t', p);
      f.push_back(line.substr(p, q - p));
      p = q + 1;
    }
    f.push_back(line.substr(p));
    out[f[0]].push_back(
        {f[1], f[2], f[7], std::stod(f[3]), std::stod(f[4]), std::stod(f[5]), std::stod(f[6])});
  }
  return out;
}

TEST(LayoutBaseline, EverySampleWhereTheBaselinePutsIt) {
  const bool write = std::getenv("LIBCERT_WRITE_LAYOUT_BASELINE") != nullptr;
  std::string recorded =
      "# Renderer::layout of every template's sample: template, field (- = constant text), font\n"
      "# family, size pt, first glyph x mm, baseline y mm, end of last advance x mm, text.\n"
      "# Written by tests/unit/layout_baseline_test.cpp (LIBCERT_WRITE_LAYOUT_BASELINE=1).\n";
  const auto baseline = write ? std::map<std::string, std::vector<Segment>>{} : read_baseline();
  double worst = 0;
  std::string worst_at;
  for (const std::string& id : testsupport::template_ids()) {
    const libcert::Renderer renderer;
    const auto segs = segments(layout_of(id, renderer));
    for (const auto& s : segs) recorded += line_of(id, s) + "\n";
    if (write) continue;
    const auto it = baseline.find(id);
    ASSERT_NE(it, baseline.end()) << id << " is not in the baseline";
    const auto& want = it->second;
    ASSERT_EQ(segs.size(), want.size()) << id << ": number of text segments";
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const Segment& a = segs[i];
      const Segment& b = want[i];
      EXPECT_EQ(a.text, b.text) << id << " segment " << i;
      EXPECT_EQ(a.field, b.field) << id << " segment " << i;
      EXPECT_EQ(a.family, b.family) << id << " segment " << i << " '" << a.text << "'";
      EXPECT_NEAR(a.size, b.size, 0.01) << id << " '" << a.text << "'";
      const double d =
          std::max({std::abs(a.x0 - b.x0), std::abs(a.y - b.y), std::abs(a.x1 - b.x1)});
      EXPECT_LE(d, kToleranceMm) << line_of(id, a) << "\nbaseline:\n" << line_of(id, b);
      if (d > worst) {
        worst = d;
        worst_at = line_of(id, a) + " (baseline " + line_of(id, b) + ")";
      }
    }
  }
  if (write) {
    testsupport::spit(kBaseline, recorded);
    GTEST_SKIP() << "baseline written to " << kBaseline;
  }
  std::printf("largest difference from the baseline: %.4f mm at %s\n", worst, worst_at.c_str());
}

// Constant text (labels, titles) is shaped and fitted once per Renderer and reused: the second
// licence of a template gets exactly the glyphs the first one got.
TEST(LayoutBaseline, SecondLicenceFromTheCachesIsTheSame) {
  const libcert::Renderer renderer;
  for (const std::string& id : testsupport::template_ids()) {
    const auto first = layout_of(id, renderer);
    const auto second = layout_of(id, renderer);
    ASSERT_EQ(first.fonts.size(), second.fonts.size()) << id;
    ASSERT_EQ(first.text.size(), second.text.size()) << id;
    for (std::size_t r = 0; r < first.text.size(); ++r) {
      const auto& a = first.text[r];
      const auto& b = second.text[r];
      EXPECT_EQ(a.text, b.text) << id;
      EXPECT_EQ(first.fonts[a.font].file, second.fonts[b.font].file) << id << " " << a.text;
      EXPECT_EQ(a.field, b.field) << id;
      EXPECT_EQ(a.constant, b.constant) << id;
      ASSERT_EQ(a.glyphs.size(), b.glyphs.size()) << id << " " << a.text;
      for (std::size_t g = 0; g < a.glyphs.size(); ++g) {
        EXPECT_EQ(a.glyphs[g].id, b.glyphs[g].id);
        EXPECT_EQ(a.glyphs[g].x_mm, b.glyphs[g].x_mm);
        EXPECT_EQ(a.glyphs[g].y_mm, b.glyphs[g].y_mm);
        EXPECT_EQ(a.glyphs[g].cluster, b.glyphs[g].cluster);
      }
    }
  }
}

// One Renderer from several threads at once (certctl issue --batch, certd): the shared font book
// and caches give every thread the layout a lone thread gets.
TEST(LayoutBaseline, ConcurrentLayoutsAreTheSameAsSequentialOnes) {
  const auto ids = testsupport::template_ids();
  std::vector<std::vector<Segment>> want;
  {
    const libcert::Renderer lone;
    for (const auto& id : ids) want.push_back(segments(layout_of(id, lone)));
  }
  const libcert::Renderer shared;
  std::vector<std::vector<std::vector<Segment>>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < got.size(); ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 2; ++round) {
        got[k].clear();
        for (const auto& id : ids) got[k].push_back(segments(layout_of(id, shared)));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_EQ(got[k].size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[k][i].size(), want[i].size()) << ids[i];
      for (std::size_t j = 0; j < want[i].size(); ++j) {
        EXPECT_EQ(line_of(ids[i], got[k][i][j]), line_of(ids[i], want[i][j]));
      }
    }
  }
}

}  // namespace
