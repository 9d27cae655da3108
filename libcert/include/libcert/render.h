// libcert/render.h — lay out a template with validated holder data into an unsigned PDF (memory).
//
//   libcert::TemplateSet set = libcert::TemplateSet::load("templates");
//   auto tmpl = set.get("business-licence-enterprise");
//   libcert::LicenceData data = tmpl->validate(json, clock);
//   libcert::Renderer renderer;                        // reusable, thread-safe
//   libcert::RenderResult r = renderer.render(*tmpl, data,
//       {.identifier = id.str(), .issue_date = "2025-03-15",
//        .qr_text = "HTTPS://LIC.ALI.EXAMPLE/V/" + id.str(), .created_at = clock.now()});
//   r.pdf;    // PDF bytes: bilingual face, red seal over the issue date, QR, XMP metadata
//   r.seal;   // where the seal is (PDF user space) — the signer puts its widget there
//
// What is drawn: the frame, the bilingual title (Tibetan first), every label (Tibetan shaped by
// HarfBuzz, above the Chinese), the values, the department and the issue date in
// both languages (TAR date style for Tibetan), the department's seal (seal_image.h) overlapping
// the issue date, the QR code (qr.h) and the identifier in small print. Fonts are found through
// fontconfig by the families of the template's font roles; render() draws the layout (layout()) with
// cairo, which embeds them as subsets.
//
// Text is never clipped and never printed as a missing-glyph box: before drawing, every
// character of every text is checked against the fontconfig coverage of its role's families
// (e.g. HanaMinA/HanaMinB for CJK Extension A/B); a long value is wrapped and/or shrunk within its
// box down to its minimum size. Metadata: the document information dictionary (ISO 32000-1
// §14.3.3: Title, Author = issuer, Subject = identifier, Keywords = number, Creator,
// CreationDate) is written by cairo; the GB/T 36903 items (formats.md §3) go into an XMP packet
// (ISO 32000-1 §14.3.2) referenced from the catalogue's /Metadata — cairo cannot write XMP, so
// the renderer adds the stream and rewrites cairo's cross-reference table once (a single
// revision, no incremental update). Output is byte-identical for identical inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "libcert/layout.h"
#include "libcert/template.h"

namespace libcert {

struct RenderInput {
  std::string identifier;       // GB/T 36904 identifier, printed small and put in the metadata
  std::string issue_date;       // ISO YYYY-MM-DD (the date under the seal)
  std::string qr_text;          // exact text of the QR code
  std::int64_t created_at = 0;  // seconds since the epoch → /CreationDate, xmp:CreateDate
  int version = 1;              // 证照版本号
};

// The seal's bounding square in PDF user space: points, origin bottom-left (ISO 32000-1 §8.3.2.3).
struct SealRect {
  int page = 0;  // 0-based page index
  double x = 0, y = 0, w = 0, h = 0;
};

struct RenderResult {
  std::string pdf;
  SealRect seal;
  nlohmann::json metadata;  // Template::metadata(), as embedded in the XMP packet
};

class Renderer {
 public:
  Renderer();
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Success: the PDF. Failure: Error(kRender) naming the field — a character has no glyph in any
  // configured font ("field name: character U+20000 '𠀀' has no glyph in any configured font
  // (...)"; problems() lists every such character), a value does not fit its box even at its
  // minimum size, or a configured font family is not installed; Error(kInvalidArgument) if the
  // QR text does not fit a QR symbol; Error(kInternal) on a cairo failure.
  // Thread-safety: may be called concurrently from any number of threads (each call makes its own
  // cairo surface; the fonts, the shaped constant texts and cairo's font faces are shared, made
  // once and locked).
  [[nodiscard]] RenderResult render(const Template& tmpl, const LicenceData& data,
                                    const RenderInput& in) const;

  // The face render() draws, as format-neutral data (layout.h, issue 21): the frame's rules, every
  // text line as HarfBuzz-shaped glyph runs with font files, glyph ids and positions in mm (the
  // same family choice, wrapping and shrinking as render()), the QR modules and the seal's
  // placement. Writers serialise it (the own PDF writer, the OFD writer of issue 22); render()
  // draws it with cairo. Failure: as render(). Thread-safety: as render().
  [[nodiscard]] PageLayout layout(const Template& tmpl, const LicenceData& data,
                                  const RenderInput& in) const;

  // render() through libcert's own PDF writer (the issuing path's, issue 21): the same layout,
  // metadata and seal rectangle, fonts as compact subsets (CID-keyed CFF for the Chinese) — cairo
  // embeds the CJK CFF font with all its subroutines (~80 KB a page). Failure: as layout(), and
  // Error(kRender) from the writer. Thread-safety: as render().
  [[nodiscard]] RenderResult render_own_writer(const Template& tmpl, const LicenceData& data,
                                               const RenderInput& in) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libcert
