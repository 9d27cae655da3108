// seal_image_priv.h (private) — shaping a line of text into clusters for placement on an arc.
// Exposed for unit tests (stacking of Tibetan, missing glyphs) and reusable by the renderer.
#pragma once

#include <pango/pangocairo.h>

#include <string>
#include <string_view>
#include <vector>

#include "gobj.h"
#include "libcert/seal_image.h"

namespace libcert::seal_detail {

// One shaped cluster: glyphs [g0, g1) of one run, never split (a Tibetan stack such as སྐྱ or a
// consonant with its vowel signs is one cluster, HarfBuzz "monotone graphemes" level).
struct Cluster {
  const PangoGlyphString* glyphs = nullptr;  // the run's glyphs, owned by ShapedText::layout
  PangoFont* font = nullptr;                 // owned by the layout's run
  int g0 = 0, g1 = 0;
  double x = 0, width = 0;  // logical position/advance along the line, in user units
  int byte_index = 0;       // start of the cluster in the text
};

struct ShapedText {
  gobj::Object<PangoLayout> layout;
  std::vector<Cluster> clusters;
  double width = 0;                    // logical width
  double ink_top = 0, ink_bottom = 0;  // ink extents relative to the baseline (y down)
  std::size_t glyph_count = 0;         // glyphs after shaping
  std::size_t advancing_glyphs = 0;    // glyphs with a non-zero advance
};

// Shapes `text` in `family` at an em size of `em` user units, with font fallback disabled: a
// character missing from `family` is an error, never a glyph from another font (a seal must not
// mix type faces). Throws Error(kRender) naming `field`, the character and the font if a glyph is
// missing or the family is not installed; Error(kInvalidArgument) if `text` is not single-line
// UTF-8. `ctx` must be a pangocairo context (see make_context).
ShapedText shape_line(PangoContext* ctx, std::string_view text, const std::string& family,
                      double em, std::string_view field);

// A pangocairo context for vector output: no hinting, unrounded glyph positions, so that glyph
// outlines and advances scale exactly with the seal.
gobj::Object<PangoContext> make_context(cairo_t* cr);

// Appends the outlines of one cluster to the current path, its origin (left end of the
// baseline) at the current point.
void cluster_path(cairo_t* cr, const Cluster& c);
// Shows one cluster's glyphs (filled with the current source) with its origin at the current
// point. In a PDF the glyphs come from an embedded font subset — a few KB — where outlines as
// paths cost ~40 KB per seal; the current path is left untouched.
void cluster_show(cairo_t* cr, const Cluster& c);

// The seal as drawing data for a document writer of our own (pdf_writer.cpp): exactly what
// draw_seal paints, in points around the seal's centre with y upwards (PDF user space), glyphs
// kept as glyphs (a font subset costs a few KB where outlines as paths cost ~40 KB).
struct SealGlyph {
  std::string file;  // font file and face index (fontconfig's choice for the seal's family)
  int face_index = 0;
  std::uint32_t id = 0;  // glyph id in that face
  double m[6] = {};      // text matrix for a 1-unit font: [a b c d e f] (ISO 32000-1 §9.4.2)
};
struct SealDrawing {
  unsigned rgb = 0;
  double ring_radius_pt = 0, ring_width_pt = 0;  // the border: a stroked circle
  std::vector<std::pair<double, double>> star;   // closed polygon, filled (nonzero)
  std::vector<SealGlyph> glyphs;                 // filled with the seal's colour
};
// Shapes and places the seal as draw_seal does. Errors as draw_seal. Thread-safe.
SealDrawing seal_drawing(const SealSpec& spec);

}  // namespace libcert::seal_detail
