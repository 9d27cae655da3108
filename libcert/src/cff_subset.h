// cff_subset.h (private) — a per-glyph subsetter for CID-keyed CFF fonts (issue 21, point 3).
//
// Why our own: hb-subset needs hb_subset_preprocess to subset a large CFF quickly, and that costs
// 2.8 s of CPU for Noto Serif CJK's 65,535 glyphs in every process that issues a licence. A
// CID-keyed CFF (Adobe TN #5176 §18) can be subset glyph by glyph instead: its structures are
// located once (header, Name/Top DICT/String/Global Subr INDEXes, charset, FDSelect, FDArray with
// each Font DICT's Private DICT and local subrs), and a glyph's Type 2 charstring is expanded the
// first time it is drawn — subroutine calls inlined (Adobe TN #5177 §4.7, callsubr/callgsubr with
// the bias of §4.7), hints removed — and cached for the process's life.
//
//   CidCff cff(table_bytes);              // the 'CFF ' table; must outlive the object
//   std::string out = cff.subset({g1, g2}); // a CID-keyed CFF: .notdef (empty), g1, g2; no subrs
//   cff.cid(g1);                           // the glyph's CID (PDF CIDFontType0 selects by CID)
//
// The subset (TN #5176 §18, §19) is a complete CID-keyed CFF: Top DICT with the source's ROS,
// Notice, Copyright, CIDCount and other non-string entries (the optional names — version,
// FullName, FamilyName, Weight, PostScript, BaseFontName, the FDs' FontName — are left out: PDF
// names the font itself), a String INDEX of the strings kept, an empty Global Subr INDEX, charset format 0, FDSelect format 3, and an FDArray with only the Font DICTs
// the glyphs use, each Private DICT without Subrs. Glyphs keep their CIDs; their order is that of
// their source glyph ids.
//
// Every read is bounds-checked: a malformed table gives Error(kRender) naming what is wrong, never
// a read out of the table. Charstring expansion is bounded (subroutine nesting 10, TN #5177
// Appendix B; a cap on executed operators and on the expanded length, 65,535 bytes).
//
// Thread-safety: after construction every const member may be called from any number of threads
// (the charstring cache is filled with atomic compare-and-swap; a glyph two threads expand at
// once is expanded twice and one copy kept).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace libcert::font {

class CidCff {
 public:
  struct Options {
    // Drop hstem/vstem/hstemhm/vstemhm/hintmask/cntrmask (TN #5177 §4.3): a document's glyphs
    // are drawn at print or screen resolutions where hints do not matter. false keeps them.
    // The Private DICTs then lose their hinting parameters too (CFF §15 Table 23: BlueValues to
    // initialRandomSeed, read only by a hinting rasteriser); defaultWidthX and nominalWidthX,
    // which decode the charstrings' widths, stay.
    bool drop_hints = true;
    // Glyph 0 (.notdef) keeps its outline only if true; by default it is an empty charstring
    // (endchar): a PDF draws .notdef only for a CID missing from the font, and every CID drawn
    // is in the subset. (hb-subset drops it the same way unless HB_SUBSET_FLAGS_NOTDEF_OUTLINE.)
    bool notdef_outline = false;
  };

  // Parses the table's structures (not the charstrings). Throws Error(kRender) if it is not a
  // CID-keyed CFF (no ROS in the Top DICT) or is malformed.
  CidCff(std::string_view table, Options options);
  explicit CidCff(std::string_view table) : CidCff(table, Options{}) {}
  ~CidCff();
  CidCff(const CidCff&) = delete;
  CidCff& operator=(const CidCff&) = delete;

  [[nodiscard]] std::uint32_t glyph_count() const noexcept { return glyph_count_; }
  // The CID of a glyph (charset, TN #5176 §13). Throws Error(kRender) if out of range.
  [[nodiscard]] std::uint32_t cid(std::uint32_t glyph) const;
  // The glyph's charstring, subroutines expanded (and hints dropped): cached after the first call.
  // Throws Error(kRender) if the glyph does not exist or its charstring is malformed.
  [[nodiscard]] const std::string& charstring(std::uint32_t glyph) const;
  // A CID-keyed CFF with glyph 0 (.notdef) and `glyphs` (any order, duplicates fine), in the
  // order of their source ids. Same errors as charstring().
  [[nodiscard]] std::string subset(std::span<const std::uint32_t> glyphs) const;
  // The source ids the subset(glyphs) keeps, in order: new glyph id -> source glyph id.
  [[nodiscard]] std::vector<std::uint32_t> kept(std::span<const std::uint32_t> glyphs) const;

 private:
  struct Range {
    std::size_t begin = 0, end = 0;
  };
  struct Index {  // an INDEX (TN #5176 §5): offsets of its items within the table
    std::size_t count = 0, offsets = 0, data = 0, end = 0;
    unsigned off_size = 0;
  };
  struct FontDict {
    Range dict;                // the Font DICT's bytes
    Range priv;                // its Private DICT's bytes
    Index subrs;               // local subrs (count 0 if none)
    unsigned bias = 0;
  };
  struct Expanded;

  [[nodiscard]] Index read_index(std::size_t at) const;
  [[nodiscard]] Range item(const Index& ix, std::size_t i) const;
  [[nodiscard]] unsigned fd_of(std::uint32_t glyph) const;
  [[nodiscard]] std::string expand(std::uint32_t glyph) const;

  std::string_view t_;
  Options options_;
  std::uint32_t glyph_count_ = 0;
  Range name_;                       // the Name INDEX, whole (copied as is)
  Range top_;                        // the Top DICT's bytes
  Index strings_;                    // the String INDEX (custom strings, SID 391 on)
  Index gsubrs_;
  unsigned gbias_ = 0;
  Index charstrings_;
  std::vector<std::uint32_t> charset_;  // by glyph id
  std::vector<std::pair<std::uint32_t, unsigned>> fdselect_;  // (first glyph, fd), ascending
  std::vector<FontDict> fds_;
  std::unique_ptr<std::atomic<const std::string*>[]> cache_;
};

}  // namespace libcert::font
