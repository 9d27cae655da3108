// libcert/layout.h — a licence face as format-neutral drawing data (issue 21, point 0): what a
// document writer serialises. No cairo, pango or PDF types appear here.
//
//   libcert::Renderer renderer;
//   libcert::PageLayout page = renderer.layout(*tmpl, data, input);   // as render() would draw
//   for (const auto& run : page.text) {
//     const libcert::PageFont& f = page.fonts[run.font];   // font file + face index
//     for (const auto& g : run.glyphs) { /* glyph g.id at (g.x_mm, g.y_mm), run.size_pt */ }
//   }
//   page.qr.dark(x, y);  page.seal.spec.diameter_mm;  page.paths;  // frame rules
//
// One layout, several writers: Renderer::render (PDF, today through cairo) and the OFD writer of
// issue 22 (GB/T 33190) serialise the same layout; neither lays text out again. Coordinates are
// millimetres from the page's top-left corner, y downwards (OFD's own convention, GB/T 33190
// §7.4; a PDF writer flips y: y_pt = (height_mm - y_mm) * 72 / 25.4).
//
// Text is shaped by HarfBuzz directly (libcert's shaper: the family choice per character, wrapping
// and shrinking that render() draws): a glyph run is one font at one size and colour; each glyph carries
// its font's glyph index (the id to subset and to draw, not a Unicode code point), its pen
// position on the baseline and the byte offset of its cluster in the run's text (HarfBuzz
// cluster semantics: several glyphs may share a cluster — Tibetan stacks — and a cluster may
// cover several characters), so a writer can build ToUnicode / ActualText maps that extract the
// text exactly (formats.md §6).
//
// Thread-safety: plain values; Renderer::layout may be called from any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcert/seal_image.h"
#include "libcert/template.h"

namespace libcert {

// A font face used by the page: the file fontconfig resolved for a family, and the face index
// within it (TrueType collections, e.g. AR PL UMing's .ttc).
struct PageFont {
  std::string family;  // fontconfig family name as configured in the template's font roles
  std::string file;    // absolute path of the font file
  int face_index = 0;
};

struct PlacedGlyph {
  std::uint32_t id = 0;       // glyph index in the font (HarfBuzz / OpenType glyph id)
  double x_mm = 0, y_mm = 0;  // pen position: origin of the glyph on the baseline
  double advance_mm = 0;      // horizontal advance after this glyph (letter spacing included)
  std::uint32_t cluster = 0;  // byte offset of the glyph's cluster in GlyphRun::text
};

struct GlyphRun {
  std::size_t font = 0;  // index into PageLayout::fonts
  double size_pt = 0;    // em size in points
  unsigned rgb = 0;      // fill colour 0xRRGGBB
  std::string text;      // UTF-8 of the characters the run shows (the clusters index it)
  std::vector<PlacedGlyph> glyphs;
  std::string field;      // the field whose value this is ("" for labels and constant text)
  bool constant = false;  // the same on every licence of the template (labels, title, notes):
                          // a writer may compile it once per template
};

// A path of straight segments, stroked and/or filled (the frame's rules).
struct PagePath {
  struct Point {
    double x_mm = 0, y_mm = 0;
  };
  std::vector<std::vector<Point>> subpaths;  // each closed
  double line_width_mm = 0;                  // 0 = not stroked
  unsigned stroke_rgb = 0;
  bool fill = false;
  unsigned fill_rgb = 0;
};

// The QR symbol: its modules on a white square of `size_mm` whose top-left corner is at
// (x_mm, y_mm), the 4-module quiet zone included (ISO/IEC 18004 §9.1); module size
// size_mm / (width + 8). Renderer::layout fits the square inside the template's QR square on the
// 1/50-inch grid from the page's top-left corner when the symbol fits at whole grid steps
// (kQrGridMm): writers draw it as given.
inline constexpr double kQrGridMm = 25.4 / 50;  // 1/50 inch: 2 px at 100 dpi, 3 at 150, 6 at 300

struct PageQr {
  double x_mm = 0, y_mm = 0, size_mm = 0;
  int width = 0;  // modules per side without quiet zone
  int version = 0, mask = 0;
  std::vector<std::uint8_t> modules;  // row-major, 1 = dark
  [[nodiscard]] bool dark(int x, int y) const {
    return modules[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                   static_cast<std::size_t>(x)] != 0;
  }
};

// The department's seal, centred at (cx_mm, cy_mm), drawn last and multiplied like ink over
// what lies under it (the issuer and the issue date). The drawing itself is the same on every
// licence of the department (seal_image.h draws it from `spec`): a writer compiles it once.
struct PageSeal {
  SealSpec spec;
  double cx_mm = 0, cy_mm = 0;
};

// An image placed in a box (e.g. a department's scanned blank form under the face); none of the
// 24 templates uses one yet.
struct PageImage {
  BoxMm box;
  std::string media_type;  // "image/png", "image/jpeg"
  std::string data;        // encoded bytes
};

// Everything on one licence face, in drawing order: paths, images, text runs, QR, seal.
struct PageLayout {
  double width_mm = 0, height_mm = 0;
  std::vector<PageFont> fonts;
  std::vector<PagePath> paths;
  std::vector<PageImage> images;
  std::vector<GlyphRun> text;
  PageQr qr;
  PageSeal seal;
};

}  // namespace libcert
