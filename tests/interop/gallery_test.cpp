// Interop: `certctl gallery` pictures every template's sealed sample. Each per-template PNG holds
// the whole page at the asked resolution, a QR that zbarimg (a decoder nobody here wrote) reads
// as a licence URL, and the red seal; the contact sheet holds all 24 pages.
#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gobj.h"
#include "support/process.h"
#include "support/templates.h"

using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
const std::string kCertctl = CERTCTL_BIN;

// Pixels of seal red (the seal ink is pure-ish red, multiplied over black text at most).
long red_pixels(cairo_surface_t* s) {
  const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* d = cairo_image_surface_get_data(s);
  long n = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint32_t px = 0;
      std::memcpy(&px, d + y * stride + x * 4, 4);
      const unsigned r = (px >> 16) & 0xFF, g = (px >> 8) & 0xFF, b = px & 0xFF;
      if (r > 170 && g < 100 && b < 100) ++n;
    }
  }
  return n;
}

TEST(Gallery, PicturesEveryTemplateWithSealAndQr) {
  testsupport::TempDir dir;
  const auto out = dir / "gallery";
  // 150 dpi, as IssueAll: every template's QR has modules of at least 0.5 mm (template rule
  // module-size), about 3 px here, plenty for zbar after Poppler's cairo back end has
  // area-averaged the 4x4-sample mask (at 0.33 mm modules it took 200 dpi).
  constexpr int kDpi = 150;
  const auto r =
      run(kCertctl + " gallery --dpi " + std::to_string(kDpi) + " -o " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("contact-sheet.png"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("24 licences"), std::string::npos) << r.out;
  const auto ids = template_ids();
  ASSERT_EQ(ids.size(), 24U);
  for (const auto& id : ids) {
    const auto png = out / (id + ".png");
    libcert::gobj::Surface s(cairo_image_surface_create_from_png(png.c_str()));
    ASSERT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS) << png;
    // A4 (210 x 297 mm) or A5 (148 x 210 mm), either way round, at kDpi: ceil(pt * kDpi / 72).
    const int w = cairo_image_surface_get_width(s.get());
    const int h = cairo_image_surface_get_height(s.get());
    const auto px = [](double mm) { return static_cast<int>(std::ceil(mm / 25.4 * kDpi - 1e-6)); };
    const bool a4 = (w == px(210) && h == px(297)) || (w == px(297) && h == px(210));
    const bool a5 = (w == px(148) && h == px(210)) || (w == px(210) && h == px(148));
    EXPECT_TRUE(a4 || a5) << id << ": " << w << " x " << h;
    // The seal: a 42 mm (A5: smaller) red ring with text and star covers thousands of pixels.
    EXPECT_GT(red_pixels(s.get()), 5000) << id;
    const auto z = run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote(png.string()) + " 2>/dev/null)");
    EXPECT_EQ(z.exit_code, 0) << id << ": " << z.out;
    EXPECT_EQ(z.out.rfind("HTTPS://", 0), 0U) << id << ": " << z.out;
    EXPECT_NE(z.out.find("/V#"), std::string::npos) << id << ": " << z.out;
  }
  libcert::gobj::Surface sheet(
      cairo_image_surface_create_from_png((out / "contact-sheet.png").c_str()));
  ASSERT_EQ(cairo_surface_status(sheet.get()), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(sheet.get()), 6 * (320 + 16) + 16);  // 6 columns
  EXPECT_GT(red_pixels(sheet.get()), 24 * 200) << "every thumbnail carries its seal";
}

TEST(Gallery, RejectsBadOptions) {
  const auto r = run(kCertctl + " gallery --dpi 5 -o /nonexistent-dir-never");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--dpi"), std::string::npos) << r.out;
}

}  // namespace
