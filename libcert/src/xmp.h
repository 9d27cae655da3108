// xmp.h (private) — adds an XMP packet to a PDF as cairo writes it (render.cpp), keeping it one
// revision. Exposed for tests that build licence-like PDFs without the full renderer.
#pragma once

#include <string>

namespace libcert::detail {

// Adds `xmp` as the catalogue's /Metadata stream (ISO 32000-1 §14.3.2) to a single-revision PDF
// written by cairo. Throws Error(kInternal) for any other structure.
std::string add_xmp_to_cairo_pdf(const std::string& pdf, const std::string& xmp);

}  // namespace libcert::detail
