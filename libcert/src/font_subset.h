// font_subset.h (private) — font subsets for the document writers (issue 21, point 2): a font face
// is loaded once per (file, face index) and then subset per document with
// HarfBuzz's hb-subset, which keeps each requested glyph's outline and advance and reports the
// old → new glyph id mapping that the writer needs for its content stream.
//
//   auto face = libcert::font::SubsetFace::get("/usr/share/fonts/.../uming.ttc", 0);
//   libcert::font::FontSubset s = face->subset({gid1, gid2}, {});
//   s.data;                 // the subset font program (an sfnt: TrueType glyf or OpenType CFF)
//   s.new_id(gid1);         // its glyph id in the subset (== gid1 with retain_gids)
//   s.advance(gid1);        // advance width in font units (units_per_em)
//   s.table("CFF ");        // a bare table, e.g. for PDF's /FontFile3 /Subtype /CIDFontType0C
//
// A PDF writer needs only the bare CFF of a CID-keyed CFF font: with SubsetOptions::bare_cff the
// subset is made by our own per-glyph CFF subsetter (cff_subset.h).
//
// Which face hb-subset reads: for TrueType (glyf) faces, the face preprocessed once by
// hb_subset_preprocess, which builds the acceleration structures (glyf/loca, cmap) so a subset of a
// few dozen glyphs costs a fraction of a millisecond. For CFF faces, the face as loaded: measured
// on Noto Serif CJK SC (65,535 glyphs, 60 Han glyphs desubroutinised, no hints, thread CPU, median
// of 30): preprocessing costs 2,620 ms once and then saves 0.84 ms per subset (1.39 vs 2.23 ms) —
// it pays back only after ~3,100 OFD licences in one process, while every certctl run, test
// process and freshly started certd paid 2.6 s (~10 s under ASan) on its first OFD.
//
// Thread-safety: SubsetFace::get and every const member may be called from any number of threads;
// a SubsetFace is immutable after construction but for its lazily made preprocessed face and CFF
// reader, each made once under std::call_once (HarfBuzz faces are safe to share for reading, their
// lazily loaded tables are published atomically; CidCff is thread-safe). FontSubset is a plain value.
#pragma once

#include <hb-subset.h>
#include <hb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cff_subset.h"
#include "hb_ptr.h"

namespace libcert::font {

using HbBlob = hbptr::Blob;  // hb_ptr.h
using HbFace = hbptr::Face;
using HbFont = hbptr::Font;

enum class Outlines {
  kTrueType,  // 'glyf' quadratic outlines: PDF /FontFile2, /CIDFontType2
  kCff,       // 'CFF ' Type 2 charstrings: PDF /FontFile3 (/CIDFontType0C or /OpenType), /CIDFontType0
};

struct SubsetOptions {
  // Keep every glyph at its original id (the others become empty): the writer then needs no
  // mapping, at the price of a larger 'loca'/'hmtx' (or CFF charset) for high ids.
  bool retain_gids = false;
  // CFF only: expand subroutine calls into each charstring. A subset of a few glyphs then carries
  // no unused global/local subroutines (Noto CJK's are ~55 KB), issue 21 point 3.
  bool desubroutinize = true;
  // Drop TrueType instructions (fpgm/prep/cvt, per-glyph programs) and CFF hints: a document is
  // printed or shown at resolutions where hinting does not matter and they cost bytes.
  bool drop_hints = true;
  // Drop the OpenType layout tables (GSUB, GPOS, GDEF, BASE, JSTF, morx, kern...): the glyphs
  // are already shaped, and keeping GSUB would make hb-subset add every glyph that a substitution
  // could reach from the requested ones (its closure), which document embedding never uses.
  bool drop_layout = true;
  // Further tables to leave out (4-character tags), e.g. a PDF writer that addresses glyphs by
  // id needs no 'cmap', 'name', 'OS/2' or 'post' (ISO 32000-1 §9.9, TrueType font programs).
  std::vector<std::string> drop_tables;
  // Code points whose cmap entries the subset keeps (e.g. for a writer that addresses glyphs by
  // character); empty = none, glyphs are addressed by id.
  std::vector<char32_t> unicodes;
  // CID-keyed CFF faces only (others ignore it): the subset's data is the bare 'CFF ' table made
  // by CidCff (cff_subset.h: desubroutinised, hints dropped if drop_hints), not an sfnt; the
  // other table options do not apply. For PDF's /FontFile3 /Subtype /CIDFontType0C.
  bool bare_cff = false;
};

// One glyph of a subset: its id in the source face, its id in the subset, its advance.
struct SubsetGlyph {
  std::uint32_t old_id = 0;
  std::uint32_t new_id = 0;
  std::int32_t advance = 0;  // horizontal advance in font units (hmtx), unscaled
};

struct FontSubset {
  // The subset font program: a complete sfnt (OpenType/TrueType) file, or with
  // SubsetOptions::bare_cff the bare CFF table (sfnt == false).
  std::string data;
  bool sfnt = true;
  Outlines outlines = Outlines::kTrueType;
  bool cid_keyed = false;       // CFF only: the CFF is CID-keyed (has a ROS operator)
  // CFF only: the CID of each subset glyph, by new id, from the CFF's charset (Adobe TN #5176
  // §13). A PDF CIDFontType0 selects a CID-keyed CFF's glyphs by these CIDs, not by glyph id
  // (ISO 32000-1 §9.7.4.2): hb-subset keeps each glyph's original CID. For a name-keyed CFF the
  // CIDs are the glyph ids. Empty for TrueType outlines.
  std::vector<std::uint32_t> cids;
  unsigned units_per_em = 1000;
  unsigned glyph_count = 0;     // glyphs in the subset (maxp numGlyphs; highest new id + 1)
  // Every glyph the subset contains, sorted by new_id: the requested ones, glyph 0 (.notdef,
  // always kept) and the components of composite glyphs that hb-subset added.
  std::vector<SubsetGlyph> glyphs;

  // The subset id of a source glyph id. Throws Error(kInternal) if the glyph is not in the subset.
  [[nodiscard]] std::uint32_t new_id(std::uint32_t old_id) const;
  // Advance of a source glyph id in font units. Throws Error(kInternal) if not in the subset.
  [[nodiscard]] std::int32_t advance(std::uint32_t old_id) const;
  // The CID of a source glyph id (CFF subsets), or its new id (TrueType). Throws Error(kInternal)
  // if the glyph is not in the subset.
  [[nodiscard]] std::uint32_t cid(std::uint32_t old_id) const;
  // The bytes of one table of the subset (tag of 4 characters, e.g. "CFF ", "glyf"); empty if
  // the subset has no such table. A bare CFF subset has only "CFF ".
  [[nodiscard]] std::string table(std::string_view tag) const;

 private:
  [[nodiscard]] const SubsetGlyph& find(std::uint32_t old_id) const;
};

// Face-wide metrics a document writer puts in its font descriptor (font units).
struct FaceMetrics {
  unsigned units_per_em = 1000;
  std::int32_t ascender = 0, descender = 0, cap_height = 0;  // descender is negative
  std::int32_t x_min = 0, y_min = 0, x_max = 0, y_max = 0;   // 'head' bounding box
  double italic_angle = 0;
  std::string postscript_name;  // 'name' id 6, or a name made from the file if there is none
};

class SubsetFace {
 public:
  // The shared, preprocessed face of `file` (face `index` of a collection). Loaded on first use
  // and kept for the life of the process (documents use a handful of fonts). Throws
  // Error(kNotFound) if the file cannot be read, Error(kRender) if it is not a font with that
  // face index or hb-subset cannot preprocess it.
  static std::shared_ptr<const SubsetFace> get(const std::string& file, int index);

  // Loads without the process-wide cache (tests, one-off tools). Same errors as get().
  SubsetFace(const std::string& file, int index);
  ~SubsetFace();
  SubsetFace(const SubsetFace&) = delete;
  SubsetFace& operator=(const SubsetFace&) = delete;

  // A subset keeping `glyph_ids` (duplicates are fine). Throws Error(kRender) naming the glyph
  // if an id is not below glyph_count(), or if hb-subset fails.
  [[nodiscard]] FontSubset subset(std::span<const std::uint32_t> glyph_ids,
                                  const SubsetOptions& options) const;

  [[nodiscard]] Outlines outlines() const noexcept { return outlines_; }
  [[nodiscard]] unsigned glyph_count() const noexcept { return glyph_count_; }
  [[nodiscard]] const FaceMetrics& metrics() const noexcept { return metrics_; }
  // The glyph the face's cmap gives a character (0, .notdef, if none): for writers that map
  // glyphs drawn without their text (a seal's lettering) back to characters.
  [[nodiscard]] std::uint32_t nominal_glyph(char32_t c) const;
  // Advance of a source glyph in font units (0 for an id out of range).
  [[nodiscard]] std::int32_t advance(std::uint32_t glyph_id) const;
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] int index() const noexcept { return index_; }

 private:
  // The face hb-subset reads (see the file comment): for TrueType faces the preprocessed face
  // (hb_subset_preprocess), made on the first hb-subset request; for CFF faces the source.
  [[nodiscard]] hb_face_t* subset_source() const;
  [[nodiscard]] FontSubset bare_cff_subset(std::span<const std::uint32_t> glyph_ids,
                                           const SubsetOptions& options) const;

  std::string file_;
  int index_ = 0;
  HbFace source_;    // the face as loaded: metrics, advances, cmap
  HbFont font_;      // on source_, immutable, unscaled (scale = units per em): advances
  mutable std::once_flag preprocess_once_;
  mutable HbFace face_;  // the preprocessed face, once made (TrueType faces)
  bool cid_keyed_cff_ = false;
  HbBlob cff_blob_;      // the source's 'CFF ' table (CID-keyed faces): CidCff reads it in place
  mutable std::once_flag cff_once_[2];
  mutable std::unique_ptr<CidCff> cff_[2];  // [drop_hints]
  Outlines outlines_ = Outlines::kTrueType;
  unsigned glyph_count_ = 0;
  FaceMetrics metrics_;
};

}  // namespace libcert::font
