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
  std::string name_zh;       // along the upper arc (Song-style font)
  std::string name_bo;       // on an inner arc (Tibetan, shaped)
  std::string function_zh;   // horizontal under the star, e.g. 电子证照专用章
  std::string function_bo;   // optional Tibetan legend under function_zh (may be empty)
  std::string code;          // optional small text at the bottom (e.g. seal serial), may be empty
  double diameter_mm = 42;   // outer diameter of the border
  double border_mm = 1.2;    // border width (1.0–1.3 mm)
  double star_mm = 14;       // star diameter (12–15 mm)
  unsigned rgb = 0xE60012;   // seal red
  std::string font_zh = "AR PL UMing CN";       // Song/Ming style
  std::string font_bo = "Noto Serif Tibetan";
};

// Draws the seal centred at (cx, cy) in the context's user units, which must be PDF points
// (1/72 inch) so that the seal has its physical size. Leaves the cairo state as it found it.
// Throws Error(kRender) if a glyph is missing in the configured fonts.
void draw_seal(cairo_t* cr, const SealSpec& spec, double cx, double cy);

// The same drawing as a standalone SVG (width/height in mm) and PNG (transparent background).
std::string seal_svg(const SealSpec& spec);
std::string seal_png(const SealSpec& spec, double dpi);

}  // namespace libcert
