// xmp.h (private) — adds an XMP packet to a PDF as cairo writes it (render.cpp), keeping it one
// revision. Exposed for tests that build licence-like PDFs without the full renderer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace libcert::detail {

// The GB/T 36903 licence-record items (formats.md §3): metadata key -> the property name both
// renditions use (the PDF's XMP lic: properties, the OFD's CustomData names). Status is not
// embedded: it changes after issuance and is answered by the registry.
inline constexpr const char* kLicenceRecordItems[][2] = {{"title", "LicenceName"},
                                     {"identifier", "LicenceIdentifier"},
                                     {"type_name", "LicenceTypeName"},
                                     {"type_code", "LicenceTypeCode"},
                                     {"number", "LicenceNumber"},
                                     {"issuer", "IssuingAuthority"},
                                     {"issuer_code", "IssuingAuthorityCode"},
                                     {"issue_date", "IssueDate"},
                                     {"holder", "Holder"},
                                     {"holder_code", "HolderCode"},
                                     {"holder_code_type", "HolderCodeType"},
                                     {"valid_from", "ValidFrom"},
                                     {"valid_until", "ValidUntil"},
                                     {"area_code", "JurisdictionAreaCode"},
                                     {"related_item", "RelatedItem"},
                                     {"version", "LicenceVersion"},
                                     {"template", "Template"}};

// Adds `xmp` as the catalogue's /Metadata stream (ISO 32000-1 §14.3.2) to a single-revision PDF
// written by cairo. Throws Error(kInternal) for any other structure.
std::string add_xmp_to_cairo_pdf(const std::string& pdf, const std::string& xmp);

// The licence's XMP packet (Dublin Core, XMP basic, GB/T 36903 items) as render() embeds it, and
// the time format it uses ("2026-11-22T20:00:00+08:00", China time): shared with pdf_writer.cpp.
std::string licence_xmp(const nlohmann::json& metadata, const std::string& created);
std::string licence_time(std::int64_t t);

}  // namespace libcert::detail
