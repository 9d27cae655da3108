// Seal drawing: physical size measured on rasterised output, SVG size attributes, Tibetan shaping
// (stacks stay one cluster), missing glyphs, and the certctl seal-image export.
#include "libcert/seal_image.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gobj.h"
#include "libcert/error.h"
#include "seal_image_priv.h"
#include "support/process.h"

namespace {

using libcert::ErrorCode;
using libcert::SealSpec;
namespace gobj = libcert::gobj;

SealSpec samr() {
  SealSpec s;
  s.name_zh = "阿里地区市场监督管理局";
  s.name_bo = "མངའ་རིས་ས་ཁུལ་ཁྲོམ་ར་ལྟ་འདོམས་ཅུས།";
  s.function_zh = "电子证照专用章";
  return s;
}

struct Reader {
  const std::string* data;
  std::size_t pos = 0;
};

gobj::Surface decode_png(const std::string& png) {
  Reader r{&png};
  auto read = [](void* closure, unsigned char* out, unsigned int n) {
    auto* rd = static_cast<Reader*>(closure);
    if (rd->pos + n > rd->data->size()) return CAIRO_STATUS_READ_ERROR;
    std::memcpy(out, rd->data->data() + rd->pos, n);
    rd->pos += n;
    return CAIRO_STATUS_SUCCESS;
  };
  gobj::Surface s(cairo_image_surface_create_from_png_stream(read, &r));
  EXPECT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS);
  return s;
}

struct Pixels {
  cairo_surface_t* s;
  [[nodiscard]] int w() const { return cairo_image_surface_get_width(s); }
  [[nodiscard]] int h() const { return cairo_image_surface_get_height(s); }
  [[nodiscard]] std::uint32_t at(int x, int y) const {
    const auto* row = cairo_image_surface_get_data(s) + y * cairo_image_surface_get_stride(s);
    std::uint32_t v;
    std::memcpy(&v, row + x * 4, 4);
    return v;
  }
  [[nodiscard]] unsigned alpha(int x, int y) const { return at(x, y) >> 24; }
};

struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
};

Box ink_box(const Pixels& p) {
  Box b;
  for (int y = 0; y < p.h(); ++y) {
    for (int x = 0; x < p.w(); ++x) {
      if (p.alpha(x, y) < 128) continue;  // half-covered edge pixels count as half
      b.x0 = std::min(b.x0, x);
      b.x1 = std::max(b.x1, x);
      b.y0 = std::min(b.y0, y);
      b.y1 = std::max(b.y1, y);
    }
  }
  return b;
}

TEST(SealImage, PngHasSpecDiameterRingAndColour) {
  const double dpi = 600;
  const auto png = libcert::seal_png(samr(), dpi);
  ASSERT_EQ(png.substr(1, 3), "PNG");
  auto s = decode_png(png);
  const Pixels p{s.get()};
  // The picture is exactly the seal: 42 mm at 600 dpi = 992 px.
  EXPECT_EQ(p.w(), 992);
  EXPECT_EQ(p.h(), 992);
  const Box b = ink_box(p);
  const double mm_per_px = 25.4 / dpi;
  EXPECT_NEAR((b.x1 - b.x0 + 1) * mm_per_px, 42.0, 0.2);
  EXPECT_NEAR((b.y1 - b.y0 + 1) * mm_per_px, 42.0, 0.2);
  // Border: walk in from the left edge along the middle row; the opaque run is the ring.
  const int mid = p.h() / 2;
  int x = 0;
  while (p.alpha(x, mid) < 128) ++x;
  const int ring_start = x;
  while (p.alpha(x, mid) >= 128) ++x;
  EXPECT_NEAR((x - ring_start) * mm_per_px, 1.2, 0.1);
  // Inside the ring the colour is exactly seal red #E60012, fully opaque.
  EXPECT_EQ(p.at(ring_start + 10, mid), 0xFFE60012u);
  // Corners are transparent (the PNG is for overlaying on documents).
  EXPECT_EQ(p.alpha(0, 0), 0u);
  EXPECT_EQ(p.alpha(p.w() - 1, p.h() - 1), 0u);
  // Centre: the star is filled there.
  EXPECT_EQ(p.at(p.w() / 2, p.h() / 2), 0xFFE60012u);
}

TEST(SealImage, DrawnOnAPageAtItsPhysicalSize) {
  // Draw onto a larger "page" in points scaled to 300 dpi, centre (100 pt, 90 pt); measure.
  for (double diameter : {42.0, 45.0}) {
    SealSpec spec = samr();
    spec.diameter_mm = diameter;
    const double dpi = 300, scale = dpi / 72;
    gobj::Surface s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1000, 1000));
    gobj::Cairo cr(cairo_create(s.get()));
    cairo_scale(cr.get(), scale, scale);
    libcert::draw_seal(cr.get(), spec, 100, 90);
    cairo_surface_flush(s.get());
    const Box b = ink_box(Pixels{s.get()});
    const double mm_per_px = 25.4 / dpi;
    EXPECT_NEAR((b.x1 - b.x0 + 1) * mm_per_px, diameter, 0.2);
    EXPECT_NEAR((b.y1 - b.y0 + 1) * mm_per_px, diameter, 0.2);
    EXPECT_NEAR((b.x0 + b.x1 + 1) / 2.0 / scale, 100, 0.5);
    EXPECT_NEAR((b.y0 + b.y1 + 1) / 2.0 / scale, 90, 0.5);
    // The caller's state is left as found.
    cairo_matrix_t m;
    cairo_get_matrix(cr.get(), &m);
    EXPECT_DOUBLE_EQ(m.xx, scale);
    EXPECT_DOUBLE_EQ(m.x0, 0);
  }
}

TEST(SealImage, SvgIsInMillimetresAndAllPaths) {
  const std::string svg = libcert::seal_svg(samr());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex(R"(<svg[^>]*>)")));
  const std::string head = m.str();
  std::smatch w, h, vb;
  ASSERT_TRUE(std::regex_search(head, w, std::regex(R"(width="([0-9.]+)mm")")));
  ASSERT_TRUE(std::regex_search(head, h, std::regex(R"(height="([0-9.]+)mm")")));
  ASSERT_TRUE(std::regex_search(head, vb, std::regex(R"re(viewBox="0 0 ([0-9.]+) ([0-9.]+)")re")));
  EXPECT_DOUBLE_EQ(std::stod(w[1]), 42);
  EXPECT_DOUBLE_EQ(std::stod(h[1]), 42);
  EXPECT_DOUBLE_EQ(std::stod(vb[1]), 42);  // one user unit = 1 mm
  EXPECT_DOUBLE_EQ(std::stod(vb[2]), 42);
  // Vector outlines only: a registry viewer needs no fonts.
  EXPECT_EQ(svg.find("<text"), std::string::npos);
  EXPECT_EQ(svg.find("font-family"), std::string::npos);
  EXPECT_NE(svg.find("rgb(90.196078%,0%,7.058824%)"), std::string::npos);  // #E60012
  // The border circle: stroke width 1.2 mm in the SVG's millimetre user space.
  EXPECT_NE(svg.find("stroke-width:1.2;"), std::string::npos) << svg.substr(0, 2000);
}

TEST(SealImage, TibetanStacksAreShapedAndNeverSplit) {
  gobj::Surface s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 10, 10));
  gobj::Cairo cr(cairo_create(s.get()));
  auto ctx = libcert::seal_detail::make_context(cr.get());
  // སྐྱ = ས + subjoined ཀ + subjoined ཡ: three code points, one stack, one advance.
  const auto stack =
      libcert::seal_detail::shape_line(ctx.get(), "སྐྱ", "Noto Serif Tibetan", 10, "name_bo");
  EXPECT_EQ(stack.clusters.size(), 1u);
  EXPECT_EQ(stack.advancing_glyphs, 1u);
  EXPECT_LT(stack.advancing_glyphs, 3u);
  // A whole name: fewer clusters than code points (vowel signs and subjoined letters stay with
  // their base), and no unknown glyph (shape_line would have thrown kRender).
  const std::string name = "མངའ་རིས་ས་ཁུལ་ཁྲོམ་ར་ལྟ་འདོམས་ཅུས།";
  const auto shaped =
      libcert::seal_detail::shape_line(ctx.get(), name, "Noto Serif Tibetan", 10, "name_bo");
  const auto codepoints = static_cast<std::size_t>(g_utf8_strlen(name.c_str(), -1));
  EXPECT_EQ(codepoints, 34u);
  // 7 of the 34 code points are combining marks (ུ ྲ ོ ྟ ོ ུ and ི): 27 clusters.
  EXPECT_EQ(shaped.clusters.size(), 27u);
  EXPECT_EQ(pango_layout_get_unknown_glyphs_count(shaped.layout.get()), 0);
  // Each cluster starts on a base letter or punctuation, never on a combining mark.
  for (const auto& c : shaped.clusters) {
    const gunichar ch = g_utf8_get_char(name.c_str() + c.byte_index);
    EXPECT_NE(g_unichar_type(ch), G_UNICODE_NON_SPACING_MARK) << c.byte_index;
  }
}

TEST(SealImage, MissingGlyphIsARenderErrorNamingTheCharacter) {
  SealSpec s = samr();
  s.name_bo = "阿里";  // Chinese in the Tibetan font: no glyph, and no fallback allowed
  try {
    (void)libcert::seal_png(s, 150);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRender);
    EXPECT_NE(std::string(e.what()).find("seal name_bo: no glyph for U+963F '阿' in font "
                                         "'Noto Serif Tibetan'"),
              std::string::npos)
        << e.what();
  }
  s = samr();
  s.name_zh = "阿里ཀ";
  try {
    (void)libcert::seal_svg(s);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRender);
    EXPECT_NE(std::string(e.what()).find("no glyph for U+0F40"), std::string::npos) << e.what();
  }
  s = samr();
  s.font_zh = "No Such Font Family";
  try {
    (void)libcert::seal_svg(s);
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRender);
    EXPECT_NE(std::string(e.what()).find("font 'No Such Font Family' is not installed"),
              std::string::npos)
        << e.what();
  }
}

TEST(SealImage, CairoStateRestoredAfterFailure) {
  gobj::Surface s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 10, 10));
  gobj::Cairo cr(cairo_create(s.get()));
  SealSpec bad = samr();
  bad.name_bo = "阿";
  EXPECT_THROW(libcert::draw_seal(cr.get(), bad, 5, 5), libcert::Error);
  cairo_matrix_t m;
  cairo_get_matrix(cr.get(), &m);
  EXPECT_DOUBLE_EQ(m.xx, 1);
  EXPECT_DOUBLE_EQ(m.x0, 0);
}

TEST(SealImage, BadSpecsAreRejected) {
  auto code_of = [](const SealSpec& s) {
    try {
      (void)libcert::seal_svg(s);
    } catch (const libcert::Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  SealSpec s = samr();
  s.diameter_mm = 0;
  EXPECT_EQ(code_of(s), ErrorCode::kInvalidArgument);
  s = samr();
  s.name_zh.clear();
  EXPECT_EQ(code_of(s), ErrorCode::kInvalidArgument);
  s = samr();
  s.name_zh = "阿里\n地区";
  EXPECT_EQ(code_of(s), ErrorCode::kInvalidArgument);
  s = samr();
  s.name_bo = "\xF0\x28\x8C\x28";  // invalid UTF-8
  EXPECT_EQ(code_of(s), ErrorCode::kInvalidArgument);
  s = samr();
  std::string very_long;
  for (int i = 0; i < 12; ++i) very_long += s.name_bo;
  s.name_bo = very_long;
  EXPECT_EQ(code_of(s), ErrorCode::kRender);  // would be illegibly small: refused
  EXPECT_THROW((void)libcert::seal_png(samr(), 10), libcert::Error);
}

TEST(SealImage, ConcurrentDrawingGivesIdenticalPictures) {
  // certd draws seals from several threads: same bytes as a single-threaded render.
  const std::string expected = libcert::seal_png(samr(), 200);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&got, i] {
      for (int k = 0; k < 3; ++k) got[i] = libcert::seal_png(samr(), 200);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_TRUE(g == expected);
}

TEST(SealImageCli, ExportsEveryDepartment) {
  testsupport::TempDir dir;
  const std::string templates = std::string(LIBCERT_SOURCE_DIR) + "/templates";
  for (const char* id : {"samr", "approval", "housing", "health"}) {
    const auto png = dir / (std::string(id) + ".png");
    auto r = testsupport::run(std::string(CERTCTL_BIN) + " seal-image --department " + id +
                              " --dpi 300 --templates " + testsupport::shell_quote(templates) +
                              " -o " + testsupport::shell_quote(png.string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto s = decode_png(testsupport::slurp(png));
    EXPECT_EQ(cairo_image_surface_get_width(s.get()), 496) << id;  // 42 mm at 300 dpi
  }
  const auto svg = dir / "samr.svg";
  auto r = testsupport::run(
      std::string(CERTCTL_BIN) + " seal-image --department samr --format svg" + " --templates " +
      testsupport::shell_quote(templates) + " -o " + testsupport::shell_quote(svg.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(testsupport::slurp(svg).find("width=\"42mm\""), std::string::npos);

  r = testsupport::run(std::string(CERTCTL_BIN) + " seal-image --department nope --templates " +
                       testsupport::shell_quote(templates) + " -o " +
                       testsupport::shell_quote((dir / "x.png").string()));
  EXPECT_EQ(r.exit_code, 3);  // unknown department: bad input (docs/verdicts.md)
  EXPECT_NE(r.out.find("[not-found]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no department 'nope'"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
  r = testsupport::run(std::string(CERTCTL_BIN) + " seal-image --department samr --format gif -o " +
                       testsupport::shell_quote((dir / "x.gif").string()));
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
