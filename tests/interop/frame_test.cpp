// Interop: nothing of a sealed licence lies outside its frame (issue 21, geometry rule
// "outside-frame"), measured on the page as Poppler draws it, not on the manifest's boxes.
//
// `certctl gallery` issues every template's sample (the issuing path: text, QR, seal, PAdES) and
// rasterises its page with Poppler. On each picture, in mm from the page edge, with e = the
// inside edge of the frame's inner rule (Frame::inner_edge_mm) and c = kFrameClearanceMm:
//   1. every pixel nearer to the page edge than e + c (less half a pixel of anti-aliasing) is
//      paper white or the frame's own colour over white — no black text or QR module, no seal red;
//   2. the inner rule is unbroken along all four sides (a QR whose white quiet zone lies over the
//      rule erases it: the defect the rule was made for).
#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "gobj.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"

using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
const std::string kCertctl = CERTCTL_BIN;
constexpr int kDpi = 100;

struct Rgb {
  int r, g, b;
};

class Picture {
 public:
  explicit Picture(cairo_surface_t* s)
      : s_(s),
        w_(cairo_image_surface_get_width(s)),
        h_(cairo_image_surface_get_height(s)),
        stride_(cairo_image_surface_get_stride(s)),
        d_(cairo_image_surface_get_data(s)) {}
  [[nodiscard]] int w() const { return w_; }
  [[nodiscard]] int h() const { return h_; }
  [[nodiscard]] Rgb at(int x, int y) const {
    std::uint32_t px = 0;
    std::memcpy(&px, d_ + y * stride_ + x * 4, 4);
    return {int((px >> 16) & 0xFF), int((px >> 8) & 0xFF), int(px & 0xFF)};
  }

 private:
  cairo_surface_t* s_;
  int w_, h_, stride_;
  const unsigned char* d_;
};

// How far `p` is from the segment white -> frame colour (anti-aliased frame ink over paper), in
// 8-bit units of the worst channel. Black text, grey text and seal red are far from it.
int off_frame_ink(Rgb p, unsigned frame_rgb) {
  const Rgb f{int((frame_rgb >> 16) & 0xFF), int((frame_rgb >> 8) & 0xFF), int(frame_rgb & 0xFF)};
  // Coverage alpha estimated from the channel where the frame colour differs most from white.
  const int dr = 255 - f.r, dg = 255 - f.g, db = 255 - f.b;
  const int dm = std::max({dr, dg, db});
  const int pm = dm == dr ? 255 - p.r : dm == dg ? 255 - p.g : 255 - p.b;
  const double a = std::clamp(double(pm) / dm, 0.0, 1.0);
  auto dev = [&](int pc, int d) { return std::abs((255 - pc) - int(std::lround(a * d))); };
  return std::max({dev(p.r, dr), dev(p.g, dg), dev(p.b, db)});
}

TEST(Frame, NothingLiesOutsideTheInnerRuleOnAnyIssuedSample) {
  testsupport::TempDir dir;
  const auto out = dir / "gallery";
  const auto r =
      run(kCertctl + " gallery --dpi " + std::to_string(kDpi) + " -o " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto set = libcert::TemplateSet::cached(kSrc + "/templates");
  const auto ids = template_ids();
  ASSERT_EQ(ids.size(), 24U);
  const double px_per_mm = kDpi / 25.4;
  for (const auto& id : ids) {
    const auto t = set->get(id);
    const libcert::Frame& fr = t->layout().frame;
    ASSERT_GT(fr.inset_mm, 0) << id << ": every template has a frame";
    libcert::gobj::Surface s(cairo_image_surface_create_from_png((out / (id + ".png")).c_str()));
    ASSERT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS) << id;
    const Picture pic(s.get());
    const double sx = pic.w() / t->page().width_mm, sy = pic.h() / t->page().height_mm;
    ASSERT_NEAR(sx, px_per_mm, 0.05) << id;

    // 1. The band between the page edge and e + c holds only frame ink.
    const double lo_mm = fr.inner_edge_mm() + libcert::kFrameClearanceMm;
    const int x0 = int(std::floor(lo_mm * sx - 0.5)), y0 = int(std::floor(lo_mm * sy - 0.5));
    const int x1 = pic.w() - 1 - x0, y1 = pic.h() - 1 - y0;
    long stray = 0;
    std::string first;
    for (int y = 0; y < pic.h(); ++y) {
      for (int x = 0; x < pic.w(); ++x) {
        if (x > x0 && x < x1 && y > y0 && y < y1) continue;  // the allowed area
        const Rgb p = pic.at(x, y);
        if (off_frame_ink(p, fr.rgb) > 40) {
          if (stray++ == 0) {
            first = "(" + std::to_string(x) + "," + std::to_string(y) + ") = " +
                    std::to_string(p.r) + "," + std::to_string(p.g) + "," + std::to_string(p.b);
          }
        }
      }
    }
    EXPECT_EQ(stray, 0) << id << ": pixels of ink other than the frame within "
                        << lo_mm << " mm of the page edge, first at " << first;

    // 2. The inner rule is drawn all round: every column (row) of the top and bottom (left and
    // right) rule, corners aside, has frame ink within a pixel of the rule's centre line.
    const double centre_mm = fr.inner_edge_mm() - fr.inner_mm / 2;
    auto inked = [&](int x, int y) {
      const Rgb p = pic.at(std::clamp(x, 0, pic.w() - 1), std::clamp(y, 0, pic.h() - 1));
      return 255 - p.g > 60;  // the frame colour's green channel is far below white
    };
    auto rule_hit = [&](int x, int y, bool horizontal) {
      for (int k = -1; k <= 1; ++k) {
        if (horizontal ? inked(x, y + k) : inked(x + k, y)) return true;
      }
      return false;
    };
    long gaps = 0;
    const int cy_top = int(std::lround(centre_mm * sy - 0.5));
    const int cy_bot = int(std::lround((t->page().height_mm - centre_mm) * sy - 0.5));
    const int cx_lft = int(std::lround(centre_mm * sx - 0.5));
    const int cx_rgt = int(std::lround((t->page().width_mm - centre_mm) * sx - 0.5));
    for (int x = x0 + 1; x < x1; ++x) {
      gaps += !rule_hit(x, cy_top, true);
      gaps += !rule_hit(x, cy_bot, true);
    }
    for (int y = y0 + 1; y < y1; ++y) {
      gaps += !rule_hit(cx_lft, y, false);
      gaps += !rule_hit(cx_rgt, y, false);
    }
    EXPECT_EQ(gaps, 0) << id << ": the inner rule is broken (covered) at " << gaps << " pixels";
  }
}

}  // namespace
