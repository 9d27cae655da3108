// pdf_writer.h (private) — a licence face (layout.h PageLayout) written as a PDF by libcert itself,
// without cairo (issue 21, point 2).
//
//   libcert::PageLayout page = renderer.layout(tmpl, data, in);
//   std::string pdf = libcert::pdfw::write_pdf(page, info);
//   // or, the whole of Renderer::render() through this writer:
//   libcert::RenderResult r = libcert::pdfw::render(renderer, tmpl, data, in);
//
// What it writes (ISO 32000-1): one page; text as Type 0 fonts with Identity-H encoding and the
// glyph ids of a per-document font subset as CIDs (§9.7.4, CIDFontType2 + /FontFile2 for
// TrueType outlines; for CFF outlines CIDFontType0 + /FontFile3 /CIDFontType0C, the bare CFF table
// without subroutines or hints, addressed by the CIDs of its charset), /DW and /W widths from the
// subset's advances, ToUnicode CMaps (§9.10.3: one shared by the template's fonts and one by the
// licence's, unless a CID would mean two texts, then one per font)
// and, for clusters that are not one glyph for its characters (Tibetan stacks, §14.9.4), a
// marked-content /ActualText span so that text extraction gives the characters exactly; the
// frame as stroked paths; the QR as a 1-bit image mask of 2 × 2 samples per module (see qr_image);
// the seal as a form XObject painted with
// /BM /Multiply; the document information dictionary and the XMP packet (compressed, found
// through the catalog's /Metadata, §14.3.2) with render()'s content.
// Streams are Flate-compressed with libdeflate; every object that is not a stream is in an object
// stream (§7.5.7: the template's static ones in one compressed once per template, the licence's
// in another) and the file's one cross-reference section is a compressed cross-reference stream
// (§7.5.8), which is also the trailer. The seal's incremental update (sign.cpp) then writes its
// own section as a cross-reference stream too (pdf.h IncrementalUpdate).
// Output is byte-identical for identical inputs.
//
// Thread-safety: both functions may be called concurrently from any number of threads; font faces
// (font_subset.h) and seal drawings are loaded once and shared.
#pragma once

#include <string>

#include "libcert/layout.h"
#include "libcert/render.h"

namespace libcert::pdfw {

struct DocumentInfo {
  std::string title, author, subject, keywords, creator;  // UTF-8
  std::string created;  // "2026-11-22T20:00:00+08:00" (xmp:CreateDate form): /CreationDate
  std::string xmp;      // the XMP packet, or empty for none
};

// Failure: Error(kRender) if a font cannot be loaded or subset (or has neither TrueType nor CFF
// outlines), Error(kInternal) if compression fails.
[[nodiscard]] std::string write_pdf(const PageLayout& page, const DocumentInfo& info);

// Renderer::render() with this writer: the same layout, metadata and seal rectangle, the PDF
// written from renderer.layout(). Failure: as Renderer::layout and write_pdf.
[[nodiscard]] RenderResult render(const Renderer& renderer, const Template& tmpl,
                                  const LicenceData& data, const RenderInput& in);

}  // namespace libcert::pdfw
