// libcert's own PDF writer (pdf_writer.h, issue 21 point 2) against the cairo rendering of the
// same layout, for every template's sample, with readers nobody here wrote:
//   - Poppler (pdftoppm) and MuPDF (mutool draw) rasterise both files: the pages are the same
//     picture (same fonts, same glyph positions; only anti-aliasing of edges may differ);
//   - pdftotext -bbox finds every word of the cairo file in ours, same text, same box (±0.25 mm);
//   - pdffonts: every font embedded, subset, with a ToUnicode map; qpdf --check: no errors;
//   - libcert's strict reader: one revision, a cross-reference stream, objects in object streams.
#include "pdf_writer.h"

#include "font_subset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/layout.h"
#include "libcert/pdf.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"

namespace fs = std::filesystem;
using nlohmann::json;
using testsupport::run;
using testsupport::shell_quote;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const libcert::FixedClock kClock(1795348800);
constexpr double kMmPerPt = 25.4 / 72.0;

struct Gray {
  int w = 0, h = 0;
  std::string px;
};

// Binary PGM (P5, maxval 255) as pdftoppm -gray and mutool draw write it.
Gray read_pgm(const fs::path& p) {
  const std::string d = testsupport::slurp(p);
  std::istringstream in(d);
  std::string magic;
  int maxval = 0;
  Gray g;
  in >> magic >> g.w >> g.h >> maxval;
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(maxval, 255);
  in.get();
  g.px = d.substr(static_cast<std::size_t>(in.tellg()));
  EXPECT_EQ(g.px.size(), static_cast<std::size_t>(g.w) * static_cast<std::size_t>(g.h));
  return g;
}

// Share of pixels that differ by more than a quarter of the grey range; `where` names the 10 mm
// square (at 72 dpi) with the most of them, for the failure message.
double differing(const Gray& a, const Gray& b, const libcert::PageQr& qr, std::string* where) {
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.h, b.h);
  if (a.px.size() != b.px.size() || a.px.empty()) return 1.0;
  std::size_t n = 0;
  std::map<std::pair<int, int>, int> tiles;
  for (std::size_t i = 0; i < a.px.size(); ++i) {
    const int d = static_cast<unsigned char>(a.px[i]) - static_cast<unsigned char>(b.px[i]);
    const int x = static_cast<int>(i % static_cast<std::size_t>(a.w)),
              y = static_cast<int>(i / static_cast<std::size_t>(a.w));
    // The QR square is left out: both files paint it as the same 1-bit image mask, whose samples
    // each renderer maps to pixels with its own rounding; zbarimg decodes ours at 100 and
    // 150 dpi (interop_issue_all_test, interop_qr_module_size_test).
    const double xm = (x + 0.5) * 25.4 / 72, ym = (y + 0.5) * 25.4 / 72;
    if (xm >= qr.x_mm - 0.5 && xm <= qr.x_mm + qr.size_mm + 0.5 && ym >= qr.y_mm - 0.5 &&
        ym <= qr.y_mm + qr.size_mm + 0.5) {
      continue;
    }
    if (std::abs(d) > 64) {
      ++n;
      ++tiles[{x * 254 / 7200, y * 254 / 7200}];  // 10 mm tiles at 72 px per inch
    }
  }
  int most = 0;
  for (const auto& [t, k] : tiles) {
    if (k > most) {
      most = k;
      *where = "most in the 10 mm square at x " + std::to_string(t.first * 10) + " mm, y " +
               std::to_string(t.second * 10) + " mm (" + std::to_string(k) + " px)";
    }
  }
  return static_cast<double>(n) / static_cast<double>(a.px.size());
}

struct Word {
  double x0, y0, x1, y1;
};

std::vector<std::pair<std::string, Word>> words(const fs::path& pdf) {
  const auto r = run("pdftotext -bbox " + shell_quote(pdf.string()) + " -");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  static const std::regex re(
      "<word xMin=\"([0-9.]+)\" yMin=\"([0-9.]+)\" xMax=\"([0-9.]+)\" yMax=\"([0-9.]+)\">([^<]*)"
      "</word>");
  std::vector<std::pair<std::string, Word>> out;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), re), end; it != end; ++it) {
    const auto& m = *it;
    out.emplace_back(m[5].str(), Word{std::stod(m[1]) * kMmPerPt, std::stod(m[2]) * kMmPerPt,
                                 std::stod(m[3]) * kMmPerPt, std::stod(m[4]) * kMmPerPt});
  }
  return out;
}

class PdfWriterOfTemplate : public ::testing::TestWithParam<std::string> {};

TEST_P(PdfWriterOfTemplate, SameFaceAsCairo) {
  const std::string id = GetParam();
  const auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get(id);
  const auto data =
      t->validate(json::parse(testsupport::slurp(kTemplates / id / "sample.json")), kClock);
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2025-03-15", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345",
                                1795348800, 1};
  const libcert::Renderer renderer;
  const libcert::RenderResult ours = libcert::pdfw::render(renderer, *t, data, in);
  const libcert::PageLayout page = renderer.layout(*t, data, in);
  const libcert::RenderResult cairo = renderer.render(*t, data, in);
  EXPECT_EQ(ours.metadata, cairo.metadata);
  EXPECT_NEAR(ours.seal.x, cairo.seal.x, 1e-6);
  EXPECT_NEAR(ours.seal.y, cairo.seal.y, 1e-6);
  EXPECT_NEAR(ours.seal.w, cairo.seal.w, 1e-6);
  // Deterministic: the same inputs give the same bytes.
  EXPECT_EQ(libcert::pdfw::render(renderer, *t, data, in).pdf, ours.pdf);

  testsupport::TempDir dir;
  const fs::path a = dir / "ours.pdf", b = dir / "cairo.pdf";
  testsupport::spit(a, ours.pdf);
  testsupport::spit(b, cairo.pdf);

  // Structure (ISO 32000-1 §7.5.7, §7.5.8): one revision whose section is a compressed
  // cross-reference stream, every object that is not a stream in an object stream, every object
  // readable by libcert's strict reader; no classic "xref"/"trailer" keywords.
  {
    const auto doc = libcert::pdf::Document::open(ours.pdf);
    ASSERT_EQ(doc.revisions().size(), 1U);
    EXPECT_TRUE(doc.revisions()[0].xref_stream);
    EXPECT_TRUE(doc.trailer().get("Filter")->is_name("FlateDecode"));
    int in_streams = 0;
    for (std::uint32_t n = 1; n < doc.size(); ++n) {
      const auto e = doc.xref_entry(n);
      ASSERT_TRUE(e.has_value()) << n;
      const libcert::pdf::Object o = doc.object(n);
      if (e->type == libcert::pdf::XrefEntry::Type::kInObjectStream) {
        ++in_streams;
      } else {
        EXPECT_TRUE(o.is(libcert::pdf::Kind::kStream)) << "object " << n << " is not packed";
      }
    }
    EXPECT_GE(in_streams, 5);  // catalog, pages, page, info, the fonts' dictionaries
    EXPECT_EQ(doc.page_count(), 1U);
    EXPECT_EQ(ours.pdf.find("\ntrailer"), std::string::npos);
    EXPECT_EQ(ours.pdf.find("\nxref"), std::string::npos);
  }
  // Structure and fonts.
  auto r = run("qpdf --check " + shell_quote(a.string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("No syntax or stream encoding errors"), std::string::npos) << r.out;
  r = run("pdffonts " + shell_quote(a.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int fonts = 0;
  while (std::getline(lines, line)) {
    if (line.find("CID TrueType") == std::string::npos) continue;
    ++fonts;
    EXPECT_NE(line.find("Identity-H       yes yes yes"), std::string::npos) << line;
    EXPECT_EQ(line[6], '+') << "subset tag: " << line;
  }
  EXPECT_GE(fonts, 2) << r.out;
  r = run("pdfinfo " + shell_quote(a.string()));
  EXPECT_NE(r.out.find("Title:           " + t->title().zh), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Subject:         " + in.identifier), std::string::npos) << r.out;
  r = run("pdfinfo -meta " + shell_quote(a.string()));
  EXPECT_NE(r.out.find("<lic:LicenceIdentifier>" + in.identifier), std::string::npos);

  // Text: every word Poppler finds in cairo's file, at the same place in ours.
  const auto wa = words(a), wb = words(b);
  // A word may be found as several consecutive words of ours on the same line: Poppler breaks
  // words where the gap exceeds 0.1 em, and letter-spaced titles sit exactly at that limit (a
  // last-bit difference in the coordinates decides), so the text and its box are compared.
  for (const auto& [text, w] : wb) {
    // Words with U+FFFD: glyphs cairo itself could not map back (Tibetan stacks of the seal).
    if (text.find("\xEF\xBF\xBD") != std::string::npos) continue;
    bool found = false;
    double best = 1e9;
    for (std::size_t i = 0; i < wa.size() && !found; ++i) {
      std::string joined;
      for (std::size_t j = i; j < wa.size() && j < i + 8 && joined.size() < text.size(); ++j) {
        if (std::abs(wa[j].second.y0 - wa[i].second.y0) > 0.25) break;
        joined += wa[j].first;
        if (joined != text) continue;
        const double d = std::max({std::abs(wa[i].second.x0 - w.x0), std::abs(wa[j].second.x1 - w.x1),
                                   std::abs(wa[i].second.y0 - w.y0), std::abs(wa[i].second.y1 - w.y1)});
        best = std::min(best, d);
        found = d <= 0.25;
      }
    }
    // Or a part of one word of ours, inside its box: ours marks each Tibetan word (its stacks,
    // tshegs and vowel signs up to the next space) with one /ActualText span, so Poppler reads
    // it whole, where cairo's per-cluster marking lets Poppler split the word at stacks. (The
    // height of a Poppler word box comes from its first character's font, so a part starting
    // with a Tibetan stack and a whole word starting with a digit differ in y by the fonts'
    // ascents: on the same line means overlapping vertically.)
    for (std::size_t i = 0; i < wa.size() && !found; ++i) {
      const auto& o = wa[i].second;
      if (wa[i].first.find(text) == std::string::npos || o.y1 < w.y0 || w.y1 < o.y0) continue;
      found = w.x0 >= o.x0 - 0.25 && w.x1 <= o.x1 + 0.25;
      if (found) best = 0;
    }
    // Words of the seal's ring: the seal is a picture (ours draws it as a form XObject without
    // text); cairo maps its glyphs back to characters whenever the face's text uses the same
    // glyphs of the same font subset, so such a word may exist in cairo's file only.
    const double dx = (w.x0 + w.x1) / 2 - page.seal.cx_mm, dy = (w.y0 + w.y1) / 2 - page.seal.cy_mm;
    if (!found && std::hypot(dx, dy) < page.seal.spec.diameter_mm / 2) continue;
    EXPECT_TRUE(found) << id << ": word '" << text << "' at " << w.x0 << "," << w.y0
                       << " mm: nearest in ours " << best << " mm away";
  }

  // Pixels, Poppler and MuPDF, 72 dpi grey.
  r = run("pdftoppm -r 72 -gray " + shell_quote(a.string()) + " " +
          shell_quote((dir / "pa").string()) + " && pdftoppm -r 72 -gray " +
          shell_quote(b.string()) + " " + shell_quote((dir / "pb").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string where;
  const double poppler =
      differing(read_pgm(dir / "pa-1.pgm"), read_pgm(dir / "pb-1.pgm"), page.qr, &where);
  EXPECT_LT(poppler, 0.002) << id << ": Poppler renders differ, " << where;
  r = run("mutool draw -q -r 72 -c gray -o " + shell_quote((dir / "ma.pgm").string()) + " " +
          shell_quote(a.string()) + " 2>&1 && mutool draw -q -r 72 -c gray -o " +
          shell_quote((dir / "mb.pgm").string()) + " " + shell_quote(b.string()) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const double mupdf = differing(read_pgm(dir / "ma.pgm"), read_pgm(dir / "mb.pgm"), page.qr, &where);
  EXPECT_LT(mupdf, 0.002) << id << ": MuPDF renders differ, " << where;
  std::printf("%s: %zu bytes (cairo %zu), pixels differing: Poppler %.5f, MuPDF %.5f\n",
              id.c_str(), ours.pdf.size(), cairo.pdf.size(), poppler, mupdf);
}

// CFF outlines (issue 21 point 3: a compact CFF Song font for Chinese): a holder value set in
// Noto Serif CJK SC (a CID-keyed CFF, Adobe-Identity-0) is embedded as a CIDFontType0 with the
// bare CFF table (/FontFile3 /Subtype /CIDFontType0C, ISO 32000-1 §9.9), desubroutinised and
// without hints, addressed by the CIDs of its charset; Poppler, qpdf and MuPDF read it.
TEST(PdfWriterCff, NotoSerifCjkEmbeddedAsCidFontType0) {
  const fs::path noto = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";
  if (!fs::exists(noto)) GTEST_SKIP() << "fonts-noto-cjk not installed";
  const std::string id = "marriage-certificate";
  const auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get(id);
  const auto data =
      t->validate(json::parse(testsupport::slurp(kTemplates / id / "sample.json")), kClock);
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2025-03-15", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345",
                                1795348800, 1};
  const libcert::Renderer renderer;
  libcert::PageLayout page = renderer.layout(*t, data, in);
  // Face 2 of the collection is Noto Serif CJK SC (fc-match "Noto Serif CJK SC" index).
  const libcert::font::SubsetFace face(noto.string(), 2);
  ASSERT_EQ(face.outlines(), libcert::font::Outlines::kCff);
  page.fonts.push_back({"Noto Serif CJK SC", noto.string(), 2});
  libcert::GlyphRun vrun;
  vrun.font = page.fonts.size() - 1;
  vrun.size_pt = 14;
  vrun.text = "藏汉双语电子证照2026";
  vrun.field = "test";
  double x = 30;
  for (std::size_t i = 0; i < vrun.text.size();) {
    const auto c = static_cast<unsigned char>(vrun.text[i]);
    const std::size_t n = c < 0x80 ? 1 : 3;
    char32_t cp = n == 1 ? c : ((c & 0x0fU) << 12) |
                                   ((static_cast<unsigned char>(vrun.text[i + 1]) & 0x3fU) << 6) |
                                   (static_cast<unsigned char>(vrun.text[i + 2]) & 0x3fU);
    libcert::PlacedGlyph g;
    g.id = face.nominal_glyph(cp);
    ASSERT_NE(g.id, 0U);
    g.x_mm = x;
    g.y_mm = 60;
    g.advance_mm = face.advance(g.id) * vrun.size_pt / face.metrics().units_per_em * 25.4 / 72;
    g.cluster = static_cast<std::uint32_t>(i);
    x += g.advance_mm;
    vrun.glyphs.push_back(g);
    i += n;
  }
  page.text.push_back(vrun);
  const std::string pdf = libcert::pdfw::write_pdf(page, {});
  testsupport::TempDir dir;
  const fs::path a = dir / "cff.pdf";
  testsupport::spit(a, pdf);
  {
    // The CIDFont dictionary is in an object stream (§7.5.7): read it through the strict reader.
    const auto doc = libcert::pdf::Document::open(pdf);
    bool cidfont0 = false;
    for (std::uint32_t n = 1; n < doc.size(); ++n) {
      const libcert::pdf::Object o = doc.object(n);
      cidfont0 |= o.is(libcert::pdf::Kind::kDict) && o.as_dict().get("Subtype") != nullptr &&
                  o.as_dict().get("Subtype")->is_name("CIDFontType0");
    }
    EXPECT_TRUE(cidfont0);
  }
  EXPECT_NE(pdf.find("/Subtype/CIDFontType0C"), std::string::npos);

  auto r = run("qpdf --check " + shell_quote(a.string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run("pdffonts " + shell_quote(a.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  bool cff = false;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("NotoSerifCJK") == std::string::npos) continue;
    cff = true;
    EXPECT_NE(line.find("CID Type 0C"), std::string::npos) << line;
    EXPECT_NE(line.find("Identity-H       yes yes yes"), std::string::npos) << line;
    EXPECT_EQ(line[6], '+') << "subset tag: " << line;
  }
  EXPECT_TRUE(cff) << r.out;
  r = run("pdftotext " + shell_quote(a.string()) + " -");
  EXPECT_NE(r.out.find(vrun.text), std::string::npos) << r.out;
  // MuPDF draws it without complaint, and the glyphs are ink (not .notdef boxes or nothing):
  // the run's line is dark in Poppler's and MuPDF's renderings alike.
  r = run("mutool draw -q -r 72 -c gray -o " + shell_quote((dir / "m.pgm").string()) + " " +
              shell_quote(a.string()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Nothing about the font (this MuPDF build warns that it has no ICC support, on every file).
  const std::string icc = "warning: ICC support is not available\n";
  if (r.out.rfind(icc, 0) == 0) r.out.erase(0, icc.size());
  EXPECT_EQ(r.out, "") << r.out;
  r = run("pdftoppm -r 72 -gray " + shell_quote(a.string()) + " " +
              shell_quote((dir / "p").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const fs::path& img : {dir / "m.pgm", dir / "p-1.pgm"}) {
    const Gray g = read_pgm(img);
    // 72 dpi: 1 px per point; the run spans x 30 mm .. x mm on the baseline at 60 mm.
    int dark = 0;
    const int y0 = static_cast<int>((60 - 4.5) / kMmPerPt), y1 = static_cast<int>(60 / kMmPerPt);
    for (int y = y0; y <= y1; ++y) {
      for (int px = static_cast<int>(30 / kMmPerPt); px < static_cast<int>(x / kMmPerPt); ++px) {
        dark += static_cast<unsigned char>(g.px[static_cast<std::size_t>(y * g.w + px)]) < 128;
      }
    }
    EXPECT_GT(dark, 150) << img;
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, PdfWriterOfTemplate,
                         ::testing::ValuesIn(testsupport::template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
