// tests/support/test_pdf.h — an unsigned one-page PDF made with cairo (as the renderer makes
// them: classic xref table), with some text and a red circle where a seal would be.
#pragma once

#include <cairo-pdf.h>
#include <cairo.h>

#include <string>

#include "gobj.h"

namespace testsupport {

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

}  // namespace testsupport
