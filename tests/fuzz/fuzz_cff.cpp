// fuzz_cff — the per-glyph CID-keyed CFF reader and subsetter (cff_subset.h, issue 21 point 3).
// The input's first byte chooses hints kept or dropped, .notdef's outline kept or emptied and which
// glyphs to subset; the rest is a
// CFF table. Seeds (corpus/fuzz_cff) are real CID-keyed CFFs cut from Noto Serif CJK SC with
// their global and local subroutines and hints (made by fontTools' subsetter, see README.md), so
// mutations reach the charstring interpreter's subroutine calls, hint masks and DICT offsets.
//
// Invariants: libcert::Error is the only failure; a subset is itself a CID-keyed CFF that our
// reader accepts, with the same glyph count as kept() and the same CIDs, whose charstrings expand
// to themselves (no subroutine calls remain; hints are dropped or kept as they were) — but
// .notdef, which is "endchar" alone unless its outline is kept.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cff_subset.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned sel = data[0];
  const std::string_view table(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::run([&] {
    libcert::font::CidCff::Options o;
    o.drop_hints = (sel & 1) == 0;
    o.notdef_outline = (sel & 0x20) != 0;
    const libcert::font::CidCff cff(table, o);
    // A few glyphs chosen by the selector byte (bounded: the seeds have ~30 glyphs).
    std::vector<std::uint32_t> ids;
    const std::uint32_t n = cff.glyph_count();
    for (std::uint32_t g = (sel >> 1) % 4; g < n && ids.size() < 64; g += 1 + (sel >> 3) % 3) {
      ids.push_back(g);
    }
    const std::string out = cff.subset(ids);
    const auto kept = cff.kept(ids);
    const libcert::font::CidCff again(out, o);
    fuzz::require(again.glyph_count() == kept.size(), "subset glyph count is kept()'s");
    for (std::uint32_t k = 0; k < kept.size(); ++k) {
      fuzz::require(again.cid(k) == cff.cid(kept[k]), "subset keeps each glyph's CID");
      if (k == 0 && !o.notdef_outline) {
        fuzz::require(again.charstring(0) == "\x0e", ".notdef is an empty charstring");
        continue;
      }
      fuzz::require(again.charstring(k) == cff.charstring(kept[k]),
                    "expanded charstrings expand to themselves");
    }
  });
  return 0;
}
