#include "shaper.h"

#include <fontconfig/fontconfig.h>
#include <hb-ot.h>
#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "c_ptr.h"
#include "text.h"

namespace libcert::shape {

namespace {

using FcPatternPtr = CPtr<FcPattern, FcPatternDestroy>;  // c_ptr.h

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

bool is_mark(char32_t c) {
  const auto gc = u_charType(static_cast<UChar32>(c));
  return gc == U_NON_SPACING_MARK || gc == U_COMBINING_SPACING_MARK;
}

bool is_newline(char32_t c) { return c == U'\n' || c == U'\r' || c == 0x2028 || c == 0x2029; }

// The script a character is shaped with: its own, or for Common and Inherited characters (digits,
// spaces, punctuation, marks) the script of the text around them.
std::vector<hb_script_t> resolve_scripts(const std::u32string& cps) {
  hb_unicode_funcs_t* uf = hb_unicode_funcs_get_default();
  std::vector<hb_script_t> s(cps.size());
  hb_script_t last = HB_SCRIPT_INVALID;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    hb_script_t sc = hb_unicode_script(uf, static_cast<hb_codepoint_t>(cps[i]));
    if (sc == HB_SCRIPT_COMMON || sc == HB_SCRIPT_INHERITED || sc == HB_SCRIPT_UNKNOWN) {
      sc = last;
    } else {
      last = sc;
    }
    s[i] = sc;
  }
  // Leading Common characters take the first real script after them.
  hb_script_t next = HB_SCRIPT_COMMON;
  for (std::size_t i = cps.size(); i-- > 0;) {
    if (s[i] == HB_SCRIPT_INVALID) {
      s[i] = next;
    } else {
      next = s[i];
    }
  }
  return s;
}

hb_language_t language_for(hb_script_t sc) {
  static const hb_language_t bo = hb_language_from_string("bo", -1);
  static const hb_language_t zh = hb_language_from_string("zh-cn", -1);
  return sc == HB_SCRIPT_TIBETAN ? bo : zh;
}

hb_buffer_t* thread_buffer() {
  thread_local HbBuffer buf(hb_buffer_create());
  hb_buffer_clear_contents(buf.get());
  return buf.get();
}

// Byte offsets of the UAX #14 line break opportunities in `text` (ICU's line break rules).
std::vector<std::uint32_t> break_opportunities(const std::string& text) {
  thread_local std::unique_ptr<icu::BreakIterator> it;
  UErrorCode st = U_ZERO_ERROR;
  if (!it) {
    it.reset(icu::BreakIterator::createLineInstance(icu::Locale::getRoot(), st));
    if (U_FAILURE(st) || !it)
      throw Error(ErrorCode::kInternal, "ICU line break iterator unavailable");
  }
  UText* ut = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &st);
  if (U_FAILURE(st)) throw Error(ErrorCode::kInternal, "ICU UText over UTF-8 failed");
  it->setText(ut, st);
  std::vector<std::uint32_t> out;
  if (U_SUCCESS(st)) {
    for (int32_t p = it->first(); p != icu::BreakIterator::DONE; p = it->next()) {
      out.push_back(static_cast<std::uint32_t>(p));  // UTF-8 UText: native index = byte offset
    }
  }
  // The iterator keeps a pointer to the UText: detach it before the text goes.
  UText* empty = utext_openUTF8(nullptr, "", 0, &st);
  it->setText(empty, st);
  utext_close(ut);
  utext_close(empty);
  return out;
}

}  // namespace

const FontFace* FontBook::find(const std::string& family) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = lower(family);
  if (auto it = faces_.find(key); it != faces_.end()) return it->second.get();
  std::unique_ptr<FontFace> face;
  FcPatternPtr pat(FcPatternCreate());
  FcPatternAddString(pat.get(), FC_FAMILY, reinterpret_cast<const FcChar8*>(family.c_str()));
  FcPatternAddInteger(pat.get(), FC_WEIGHT, FC_WEIGHT_REGULAR);
  FcPatternAddInteger(pat.get(), FC_SLANT, FC_SLANT_ROMAN);
  FcConfigSubstitute(nullptr, pat.get(), FcMatchPattern);
  FcDefaultSubstitute(pat.get());
  FcResult res = FcResultNoMatch;
  FcPatternPtr match(FcFontMatch(nullptr, pat.get(), &res));
  bool named = false;
  FcChar8* file = nullptr;
  if (match && FcPatternGetString(match.get(), FC_FILE, 0, &file) == FcResultMatch) {
    // fontconfig always answers with some font: it is this family only if one of the matched
    // font's family names (a font may carry several, e.g. a Chinese and a Latin one) is it.
    FcChar8* f = nullptr;
    for (int i = 0; FcPatternGetString(match.get(), FC_FAMILY, i, &f) == FcResultMatch; ++i) {
      if (lower(reinterpret_cast<const char*>(f)) == key) named = true;
    }
  }
  if (named) {
    face = std::make_unique<FontFace>();
    face->family = family;
    face->file = reinterpret_cast<const char*>(file);
    FcPatternGetInteger(match.get(), FC_INDEX, 0, &face->index);
    HbBlob blob(hb_blob_create_from_file_or_fail(face->file.c_str()));
    if (!blob || face->index < 0 ||
        static_cast<unsigned>(face->index) >= hb_face_count(blob.get())) {
      throw Error(ErrorCode::kRender, "font family '" + family + "': cannot read " + face->file);
    }
    HbFace hf(hb_face_create(blob.get(), static_cast<unsigned>(face->index)));
    face->upem = hb_face_get_upem(hf.get());
    face->font.reset(hb_font_create(hf.get()));  // scale: units per em
    hb_font_make_immutable(face->font.get());
    hb_font_extents_t ext{};
    hb_font_get_h_extents(face->font.get(), &ext);
    face->ascent = ext.ascender / face->upem;
    face->descent = -ext.descender / face->upem;
    // A CJK font that states its ideographic em box (OpenType BASE 'ideo' for Han, with 'idtp'
    // or else one em above it, as the BASE spec defines the box) sets lines on that box, 1 em,
    // as CJK typesetting does: its hhea extents (Noto CJK: 1.151 and 0.286 em) are clipping
    // bounds for its tallest glyphs of every script, and lines 1.44 em high would not fit the
    // templates' boxes, which were laid out for Han lines of about 1 em (UMing: 1.05 em).
    hb_position_t top = 0, bottom = 0;
    const hb_tag_t hani = HB_TAG('h', 'a', 'n', 'i');
    if (hb_ot_layout_get_baseline(face->font.get(),
                                  HB_OT_LAYOUT_BASELINE_TAG_IDEO_EMBOX_BOTTOM_OR_LEFT,
                                  HB_DIRECTION_LTR, hani, HB_TAG_NONE, &bottom)) {
      if (!hb_ot_layout_get_baseline(face->font.get(),
                                     HB_OT_LAYOUT_BASELINE_TAG_IDEO_EMBOX_TOP_OR_RIGHT,
                                     HB_DIRECTION_LTR, hani, HB_TAG_NONE, &top) ||
          top <= bottom) {
        top = bottom + static_cast<hb_position_t>(face->upem);
      }
      face->ascent = top / face->upem;
      face->descent = -bottom / face->upem;
    }
  }
  const FontFace* out = face.get();
  faces_[key] = std::move(face);
  return out;
}

std::shared_ptr<const Shaped> shape_text(const std::string& text,
                                         const std::vector<const FontFace*>& faces, bool breaks,
                                         std::vector<Missing>& missing) {
  auto cps_opt = text::decode(text);
  if (!cps_opt) throw Error(ErrorCode::kRender, "text is not valid UTF-8");
  const std::u32string& cps = *cps_opt;
  auto out = std::make_shared<Shaped>();
  out->text = text;
  out->faces = faces;

  // 1. The face of every character.
  std::vector<std::uint16_t> face_of(cps.size());
  std::vector<std::uint32_t> byte_of(cps.size() + 1);
  std::set<char32_t> reported;
  bool ok = true;
  std::uint32_t byte = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    byte_of[i] = byte;
    byte += static_cast<std::uint32_t>(text::encode(c).size());
    std::size_t f = faces.size();
    if (is_newline(c)) {
      f = i > 0 ? face_of[i - 1] : 0;
    } else if (is_mark(c) && i > 0 && !is_newline(cps[i - 1]) && faces[face_of[i - 1]]->has(c)) {
      f = face_of[i - 1];
    } else {
      for (std::size_t k = 0; k < faces.size(); ++k) {
        if (faces[k]->has(c)) {
          f = k;
          break;
        }
      }
    }
    if (f == faces.size()) {
      if (reported.insert(c).second) missing.push_back({c});
      ok = false;
      f = 0;
    }
    face_of[i] = static_cast<std::uint16_t>(f);
  }
  byte_of[cps.size()] = byte;
  if (!ok) return nullptr;

  // 2. Runs of one face and one script, shaped; glyphs gathered into clusters.
  const std::vector<hb_script_t> script = resolve_scripts(cps);
  for (std::size_t i = 0; i < cps.size();) {
    if (is_newline(cps[i])) {
      // "\r\n" is one separator.
      const std::size_t n = (cps[i] == U'\r' && i + 1 < cps.size() && cps[i + 1] == U'\n') ? 2 : 1;
      Cluster c;
      c.begin = byte_of[i];
      c.end = byte_of[i + n];
      c.first_glyph = static_cast<std::uint32_t>(out->glyphs.size());
      c.face = face_of[i];
      c.newline = true;
      out->clusters.push_back(c);
      i += n;
      continue;
    }
    std::size_t j = i + 1;
    while (j < cps.size() && !is_newline(cps[j]) && face_of[j] == face_of[i] &&
           script[j] == script[i]) {
      ++j;
    }
    const FontFace& face = *faces[face_of[i]];
    hb_buffer_t* buf = thread_buffer();
    hb_buffer_add_utf8(buf, text.data(), static_cast<int>(text.size()),
                       static_cast<unsigned>(byte_of[i]),
                       static_cast<int>(byte_of[j] - byte_of[i]));
    hb_buffer_set_direction(buf, HB_DIRECTION_LTR);  // the roles' scripts are left-to-right
    hb_buffer_set_script(buf, script[i]);
    hb_buffer_set_language(buf, language_for(script[i]));
    // Zero-width joiners and the like: removed, not drawn as a space or .notdef glyph.
    hb_buffer_set_flags(buf, HB_BUFFER_FLAG_REMOVE_DEFAULT_IGNORABLES);
    hb_shape(face.font.get(), buf, nullptr, 0);
    unsigned n = 0;
    const hb_glyph_info_t* info = hb_buffer_get_glyph_infos(buf, &n);
    const hb_glyph_position_t* pos = hb_buffer_get_glyph_positions(buf, &n);
    for (unsigned g = 0; g < n; ++g) {
      const std::uint32_t cl = info[g].cluster;  // byte offset in `text`
      if (g == 0 || cl != info[g - 1].cluster) {
        Cluster c;
        c.begin = cl;
        c.first_glyph = static_cast<std::uint32_t>(out->glyphs.size());
        c.face = face_of[i];
        out->clusters.push_back(c);
      }
      Cluster& c = out->clusters.back();
      const Glyph gl{info[g].codepoint, pos[g].x_advance / face.upem, pos[g].x_offset / face.upem,
                     pos[g].y_offset / face.upem};
      c.advance += gl.advance;
      ++c.glyph_count;
      out->glyphs.push_back(gl);
    }
    i = j;
  }
  // Cluster ends, and white space (a cluster of spaces may hang at a wrapped line's end).
  for (std::size_t k = 0; k < out->clusters.size(); ++k) {
    Cluster& c = out->clusters[k];
    c.end = k + 1 < out->clusters.size() ? out->clusters[k + 1].begin : byte;
    if (c.newline) continue;
    // The newline cluster's end was set when it was made; a shaped cluster ends where the next
    // begins (HarfBuzz clusters are monotone for left-to-right text).
    auto sub = text::decode(std::string_view(text).substr(c.begin, c.end - c.begin));
    c.space = sub && !sub->empty() && std::all_of(sub->begin(), sub->end(), [](char32_t x) {
                return text::is_white_space(x);
              });
  }
  if (breaks && !out->clusters.empty()) {
    const auto opp = break_opportunities(text);
    std::size_t k = 0;
    for (std::uint32_t b : opp) {
      while (k < out->clusters.size() && out->clusters[k].begin < b) ++k;
      if (k < out->clusters.size() && out->clusters[k].begin == b && k > 0) {
        out->clusters[k].break_before = true;
      }
    }
  }
  return out;
}

SetText set_text(const Shaped& s, double size, double spacing, double width) {
  SetText st;
  const auto& cl = s.clusters;
  const std::uint32_t n = static_cast<std::uint32_t>(cl.size());
  std::uint32_t i = 0;
  // Lines are made while there is text; a text ending in a separator has no empty last line
  // (as pango: the separator ends the last line).
  while (i < n) {
    Line line;
    line.first = i;
    double w = 0;
    std::uint32_t last_break = i;  // a break opportunity after the line's start, if any
    std::uint32_t j = i;
    bool wrapped = false;
    for (; j < n; ++j) {
      const Cluster& c = cl[j];
      if (c.newline) {
        ++j;  // the separator belongs to the line it ends
        break;
      }
      const double cw = c.advance * size + (j > i ? spacing : 0);
      if (width >= 0 && j > i) {
        if (c.break_before) last_break = j;
        if (w + cw > width + 0.01 && !c.space) {
          // Break at the last opportunity on the line; a word wider than the line is broken
          // between clusters.
          if (last_break > i) j = last_break;
          wrapped = true;
          break;
        }
      }
      w += cw;
    }
    line.end = j;
    // Width, letter spacing between the line's visible clusters, a final hanging space excluded.
    std::uint32_t vis_end = j;
    while (vis_end > i && cl[vis_end - 1].newline) --vis_end;
    if (wrapped && vis_end > i + 1 && cl[vis_end - 1].space) line.hang = true;
    double lw = 0;
    for (std::uint32_t k = i; k < vis_end; ++k) {
      if (line.hang && k + 1 == vis_end) break;
      lw += cl[k].advance * size + (k > i ? spacing : 0);
    }
    line.width = lw;
    for (std::uint32_t k = i; k < std::max(j, i + 1) && k < n; ++k) {
      const FontFace& f = *s.faces[cl[k].face];
      line.ascent = std::max(line.ascent, f.ascent * size);
      line.descent = std::max(line.descent, f.descent * size);
    }
    st.wrapped = st.wrapped || wrapped;
    st.width = std::max(st.width, line.width);
    st.height += line.ascent + line.descent;
    st.lines.push_back(line);
    i = j;
  }
  return st;
}

}  // namespace libcert::shape
