// libcert/preview.h: the page picture certd serves as /v1/licences/{id}/preview.png. Checked by
// reading the PNG back with cairo (size, and the colour of the test PDF's red circle and of the
// blank paper) and by the precise error of each bad input.
#include "libcert/preview.h"

#include <gtest/gtest.h>

#include "libcert/error.h"
#include "support/test_pdf.h"

namespace {

cairo_status_t read_from(void* closure, unsigned char* data, unsigned int length) {
  auto* s = static_cast<std::string_view*>(closure);
  if (s->size() < length) return CAIRO_STATUS_READ_ERROR;
  std::copy_n(s->data(), length, data);
  s->remove_prefix(length);
  return CAIRO_STATUS_SUCCESS;
}

struct Rgb {
  int r, g, b;
};

Rgb pixel(cairo_surface_t* s, int x, int y) {
  const unsigned char* d = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* p = d + static_cast<std::ptrdiff_t>(y) * stride + 4 * x;
  return {p[2], p[1], p[0]};  // cairo ARGB32/RGB24 in native (little-endian) order: B G R A
}

template <typename F>
libcert::ErrorCode code_of(F&& f) {
  try {
    f();
  } catch (const libcert::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no libcert::Error thrown";
  return libcert::ErrorCode::kInternal;
}

TEST(Preview, PngOfThePageAtTheDpiWithItsContent) {
  const std::string pdf = testsupport::make_cairo_pdf(2);
  libcert::PreviewOptions o;
  o.dpi = 72;
  const std::string png = libcert::pdf_page_png(pdf, o);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string_view in(png);
  libcert::gobj::Surface s(cairo_image_surface_create_from_png_stream(read_from, &in));
  ASSERT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS);
  // ceil(595.28) x ceil(841.89) at 72 dpi (one pixel per point).
  EXPECT_EQ(cairo_image_surface_get_width(s.get()), 596);
  EXPECT_EQ(cairo_image_surface_get_height(s.get()), 842);
  // The red circle's stroke (centre (470, 150) in PDF space, radius 57.8) at its right-most
  // point, and white paper at the centre of the circle.
  const Rgb red = pixel(s.get(), 528, 842 - 150);
  EXPECT_GT(red.r, 200);
  EXPECT_LT(red.g, 80);
  EXPECT_LT(red.b, 80);
  const Rgb white = pixel(s.get(), 470, 842 - 150);
  EXPECT_EQ(white.r + white.g + white.b, 3 * 255);

  // The size function agrees, at another dpi and page.
  o.dpi = 100;
  o.page = 1;
  const auto px = libcert::pdf_page_pixels(pdf, o);
  EXPECT_EQ(px.width, 827);    // ceil(595.28 * 100 / 72)
  EXPECT_EQ(px.height, 1170);  // ceil(841.89 * 100 / 72)
}

TEST(Preview, BadInputIsAPreciseError) {
  const std::string pdf = testsupport::make_cairo_pdf(2);
  libcert::PreviewOptions o;
  o.page = 2;
  try {
    (void)libcert::pdf_page_png(pdf, o);
    FAIL() << "page 3 of 2 was rendered";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(), "page: 3 does not exist (the document has 2 page(s))");
  }
  o.page = 0;
  o.dpi = 5;
  EXPECT_EQ(code_of([&] { (void)libcert::pdf_page_png(pdf, o); }),
            libcert::ErrorCode::kInvalidArgument);
  o.dpi = 100;
  EXPECT_EQ(code_of([&] { (void)libcert::pdf_page_png("%PDF-1.7 not really", o); }),
            libcert::ErrorCode::kPdfMalformed);
  o.max_pixels = 1000;
  EXPECT_EQ(code_of([&] { (void)libcert::pdf_page_png(pdf, o); }),
            libcert::ErrorCode::kLimitExceeded);
}

}  // namespace
