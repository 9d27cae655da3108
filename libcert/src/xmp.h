// xmp.h (private) — adds an XMP packet to a PDF as cairo writes it (render.cpp), keeping it one
// revision. Exposed for tests that build licence-like PDFs without the full renderer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace libcert::detail {

// Adds `xmp` as the catalogue's /Metadata stream (ISO 32000-1 §14.3.2) to a single-revision PDF
// written by cairo. Throws Error(kInternal) for any other structure.
std::string add_xmp_to_cairo_pdf(const std::string& pdf, const std::string& xmp);

// The licence's XMP packet (Dublin Core, XMP basic, GB/T 36903 items) as render() embeds it, and
// the time format it uses ("2026-11-22T20:00:00+08:00", China time): shared with pdf_writer.cpp.
std::string licence_xmp(const nlohmann::json& metadata, const std::string& created);
std::string licence_time(std::int64_t t);

}  // namespace libcert::detail
