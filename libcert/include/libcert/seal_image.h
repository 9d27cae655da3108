// libcert/seal_image.h — the official round seal (公章) drawn as vector graphics.
//
//   libcert::SealSpec spec;
//   spec.name_zh = "阿里地区市场监督管理局";
//   spec.name_bo = "མངའ་རིས་ས་ཁུལ་ཁྲོམ་ར་ལྟ་འདོམས་ཅུས།";
//   spec.function_zh = "电子证照专用章";
//   libcert::draw_seal(cr, spec, cx_pt, cy_pt);            // onto any cairo context, in points
//   std::string svg = libcert::seal_svg(spec);               // export for the seal registry
//   std::string png = libcert::seal_png(spec, 600 /*dpi*/);
//
// Geometry follows 国发〔1999〕25号 and practice (see docs/formats.md §4): round, name clockwise
// along the upper arc from the left, glyphs radial, five-pointed star in the centre, function text
// horizontal under the star; in Ali the Tibetan name runs on its own inner arc.
#pragma once

#include <string>

typedef struct _cairo cairo_t;  // NOLINT: cairo's own forward declaration

namespace libcert {

struct SealSpec {
  std::string name_zh;      // along the upper arc (Song-style font)
  std::string name_bo;      // on an inner arc (Tibetan, shaped)
  std::string function_zh;  // horizontal under the star, e.g. 电子证照专用章
  std::string function_bo;  // optional Tibetan legend under function_zh (may be empty)
  std::string code;         // optional small text at the bottom (e.g. seal serial), may be empty
  double diameter_mm = 42;  // outer diameter of the border
  double border_mm = 1.2;   // border width (1.0–1.3 mm)
  double star_mm = 14;      // star diameter (12–15 mm)
  unsigned rgb = 0xE60012;  // seal red
  // Song/Ming style; the templates' Chinese face, so a licence embeds one CJK font (issue 21)
  std::string font_zh = "Noto Serif CJK SC";
  std::string font_bo = "Noto Serif Tibetan";
};

// Draws the seal centred at (cx, cy) in the context's user units, which must be PDF points
// (1/72 inch) so that the seal has its physical size (diameter_mm · 72/25.4 points), in the
// colour `rgb`, entirely as filled/stroked paths (glyph outlines, no text objects).
// Success: the seal is added to the page; the cairo state (matrix, source, line width, fill rule)
// is as the caller left it, the current path is cleared.
// Failure (nothing drawn, state restored):
//   Error(kInvalidArgument) — diameter outside 20..60 mm, border outside 0.5..3 mm, star larger
//     than the radius, empty name_zh, a text that is not single-line UTF-8;
//   Error(kRender) — a character has no glyph in its font (font fallback is disabled: a seal never
//     mixes type faces; the message names the field, U+XXXX and the font), a font family is not
//     installed, or the Tibetan name cannot fit the inner arc at a legible size (ink ≥ 2.4 mm at
//     42 mm).
// Thread-safety: safe to call concurrently on different cairo contexts (pango's font map is
// per thread; nothing global is cached here). ~1 ms per seal.
void draw_seal(cairo_t* cr, const SealSpec& spec, double cx, double cy);

// The same drawing as a standalone SVG whose width/height are "<D>mm" and whose user unit is the
// millimetre (viewBox 0 0 D D), as GB/T 38540 stores seal pictures with their size in mm.
// Failure and thread-safety as draw_seal.
std::string seal_svg(const SealSpec& spec);
// The same drawing as a PNG of exactly D mm at `dpi` (72..2400, else kInvalidArgument), on a
// transparent background. Failure and thread-safety as draw_seal.
std::string seal_png(const SealSpec& spec, double dpi);

}  // namespace libcert
