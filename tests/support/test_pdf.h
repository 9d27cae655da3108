// tests/support/test_pdf.h — an unsigned one-page PDF made with cairo (as the renderer makes
// them: classic xref table), with some text and a red circle where a seal would be.
#pragma once

#include <cairo-pdf.h>
#include <cairo.h>

#include <string>
#include <vector>

#include "gobj.h"
#include "libcert/ids.h"
#include "xmp.h"

namespace testsupport {

// Departments of templates/departments.json used by the tests.
inline constexpr const char* kUsccSamr = "115425000199003834";
inline constexpr const char* kUsccApproval = "115425000199003166";
inline constexpr const char* kUsccWater = "1154250001990101XK";

// The licence metadata the verifier binds the seal to (render.cpp writes the same items):
// lic:IssuingAuthorityCode, the identifier's issuer segment and the co-issuers.
inline std::string licence_xmp(const std::string& issuer, const std::vector<std::string>& co) {
  const std::string id =
      libcert::LicenceId::make("11100000000013338W032", issuer, "2026000001", 1).str();
  std::string x =
      "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
      "rdf:about=\"\" xmlns:lic=\"https://lic.ali.example/ns/gbt36903/1.0/\">\n"
      " <lic:LicenceIdentifier>" +
      id +
      "</lic:LicenceIdentifier>\n"
      " <lic:IssuingAuthorityCode>" +
      issuer + "</lic:IssuingAuthorityCode>\n";
  if (!co.empty()) {
    x += " <lic:CoIssuingAuthorityCodes><rdf:Bag>";
    for (const auto& c : co) x += "<rdf:li>" + c + "</rdf:li>";
    x += "</rdf:Bag></lic:CoIssuingAuthorityCodes>\n";
  }
  return x + "</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>";
}

// The red circle: centre (470, 150), radius 59.5 pt (a 42 mm seal), in PDF user space (origin
// lower-left). The seal rectangle for it is {410.5, 90.5, 119, 119}.
inline constexpr double kSealX = 410.5, kSealY = 90.5, kSealSize = 119;

inline std::string make_cairo_pdf(int pages = 1) {
  std::string out;
  auto write = +[](void* closure, const unsigned char* data, unsigned int len) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), len);
    return CAIRO_STATUS_SUCCESS;
  };
  {
    libcert::gobj::Surface s(cairo_pdf_surface_create_for_stream(write, &out, 595.28, 841.89));
    libcert::gobj::Cairo cr(cairo_create(s.get()));
    for (int p = 0; p < pages; ++p) {
      cairo_select_font_face(cr.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                             CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size(cr.get(), 18);
      cairo_move_to(cr.get(), 72, 100);
      cairo_show_text(cr.get(), ("Business licence (test) page " + std::to_string(p + 1)).c_str());
      cairo_set_source_rgb(cr.get(), 0.902, 0, 0.071);
      cairo_set_line_width(cr.get(), 3.4);
      // cairo's y axis points down: PDF y = 150 is cairo y = 841.89 - 150.
      cairo_arc(cr.get(), 470, 841.89 - 150, 57.8, 0, 6.283185307179586);
      cairo_stroke(cr.get());
      cairo_show_page(cr.get());
    }
    cairo_surface_finish(s.get());
  }
  return out;
}

// make_cairo_pdf with the licence metadata a verifier binds the seal to (licence_xmp).
inline std::string make_cairo_licence(const std::string& issuer = kUsccSamr,
                                      const std::vector<std::string>& co_issuers = {
                                          kUsccApproval}) {
  return libcert::detail::add_xmp_to_cairo_pdf(make_cairo_pdf(), licence_xmp(issuer, co_issuers));
}

}  // namespace testsupport
