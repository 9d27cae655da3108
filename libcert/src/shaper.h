// shaper.h (private) — text shaped with HarfBuzz directly, for Renderer::layout (issue 21 point 2):
// no pango, no cairo on the issuing path.
//
//   shape::FontBook book;                                  // one per Renderer, thread-safe
//   std::vector<const shape::FontFace*> faces = {book.find("AR PL UMing CN"),
//                                                book.find("Noto Serif Tibetan")};
//   std::vector<shape::Problem> missing;
//   auto s = shape::shape_text(text, faces, /*wrap=*/true, missing);   // size-independent
//   auto lines = shape::break_lines(*s, size_pt, letter_spacing_pt, width_pt);  // or width < 0
//
// What it does, and why each rule:
//   - Fonts: each family is resolved once through fontconfig (FcFontMatch: file and face index,
//     the same face pango picked for the family) and kept as an immutable hb_font_t at the face's
//     own units per em, shared by all threads (HarfBuzz: an immutable hb_font_t may be used for
//     shaping from any number of threads). Glyph positions are font units scaled by size / upem,
//     unhinted and unrounded (vector output), so a text is shaped once for every size the fitting
//     loop tries and for every licence when it is constant.
//   - Family per character: the first family of the role whose cmap has the character; a combining
//     mark (Unicode general category Mn/Mc) stays in its base character's font when that font has
//     it, so a Tibetan stack (base + subjoined letters + vowel signs) is one cluster in one font.
//     A character no family has is reported (Problem "no-glyph"), never drawn as .notdef.
//   - Runs: maximal spans of one font and one script (Common and Inherited characters take the
//     script of the text before them, or after them at the start), shaped by hb_shape with the
//     script, left-to-right direction and a language per script (bo for Tibetan, zh-cn otherwise:
//     fixed, so the output does not depend on the process locale). With letter spacing the
//     ligature features are off (as pango does: spaced letters are not joined).
//   - Line breaks: UAX #14 opportunities from ICU's line break iterator (between Han characters,
//     after the Tibetan tsheg U+0F0B and shad U+0F0D, after spaces — never inside a syllable or a
//     stack); a line is filled greedily; a word longer than the line is broken between clusters
//     (pango's WORD_CHAR wrapping); white space may hang at the end of a wrapped line and does not
//     count towards its width; '\n', '\r', U+2028 and U+2029 end a line.
//   - Letter spacing as pango applies it: between clusters of a line, none at its start or end.
//   - Line height: the largest ascender plus the largest descender of the line's fonts (the
//     OpenType horizontal extents, hhea or OS/2 typo as the font asks).
#pragma once

#include <hb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hb_ptr.h"
#include "libcert/error.h"

namespace libcert::shape {

using HbBlob = hbptr::Blob;  // hb_ptr.h
using HbFace = hbptr::Face;
using HbFont = hbptr::Font;
using HbBuffer = hbptr::Buffer;

// One installed face, immutable after FontBook made it; shared by every thread.
struct FontFace {
  std::string family;  // the family name the template asked for
  std::string file;    // absolute path (fontconfig FC_FILE)
  int index = 0;       // face index in a collection (FC_INDEX)
  HbFont font;         // scale = units per em, immutable
  double upem = 1000;
  double ascent = 0, descent = 0;  // per em; descent positive (below the baseline)
  [[nodiscard]] bool has(char32_t c) const {
    hb_codepoint_t g = 0;
    return hb_font_get_nominal_glyph(font.get(), static_cast<hb_codepoint_t>(c), &g) != 0;
  }
};

// Families resolved through fontconfig, each once. Thread-safe; faces live as long as the book.
class FontBook {
 public:
  // The face fontconfig matches for `family` (regular weight, upright), or nullptr when no
  // installed font has that family name (fontconfig would substitute another family: refused).
  // Error(kRender) if the matched file cannot be read by HarfBuzz.
  const FontFace* find(const std::string& family);

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FontFace>> faces_;  // key: family, lower case
};

// A character that no family of its role has.
struct Missing {
  char32_t cp = 0;
};

struct Glyph {
  std::uint32_t id = 0;
  double advance = 0, x_offset = 0, y_offset = 0;  // em; y_offset upwards (HarfBuzz convention)
};

// A cluster as HarfBuzz formed it (a character with its marks, a Tibetan stack, a ligature): the
// unit of letter spacing and of line breaking.
struct Cluster {
  std::uint32_t begin = 0, end = 0;  // bytes of Shaped::text
  std::uint32_t first_glyph = 0, glyph_count = 0;
  std::uint16_t face = 0;     // index into Shaped::faces
  double advance = 0;         // em, sum of the glyphs' advances
  bool space = false;         // white space only (may hang at the end of a wrapped line)
  bool break_before = false;  // UAX #14 allows a line break before this cluster
  bool newline = false;       // a line separator: ends the line, has no glyph
};

// A text shaped once, at no particular size.
struct Shaped {
  std::string text;
  std::vector<const FontFace*> faces;  // the role's families, in order
  std::vector<Glyph> glyphs;
  std::vector<Cluster> clusters;
};

// Shapes UTF-8 `text` (well-formed: the caller checked it) with the role's faces. Characters no
// face has are appended to `missing` (each once) and the text is not shaped (nullptr returned).
// `breaks`: find the line break opportunities (only wrapping blocks need them).
std::shared_ptr<const Shaped> shape_text(const std::string& text,
                                         const std::vector<const FontFace*>& faces, bool breaks,
                                         std::vector<Missing>& missing);

// One line of a set text: clusters [first, end) of the Shaped.
struct Line {
  std::uint32_t first = 0, end = 0;
  double width = 0;                // pt, letter spacing included, a hanging final space excluded
  double ascent = 0, descent = 0;  // pt
  bool hang = false;               // the last cluster is a space hanging at a wrapped line's end
};

struct SetText {
  std::vector<Line> lines;
  double width = 0, height = 0;  // pt: widest line, sum of the line heights
  bool wrapped = false;          // a line was broken because the text was wider than the box
};

// Lays `s` out at `size` pt with `spacing` pt between clusters; `width` < 0: no wrapping.
SetText set_text(const Shaped& s, double size, double spacing, double width);

}  // namespace libcert::shape
