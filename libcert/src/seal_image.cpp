// seal_image.cpp — the round official seal as vector graphics (cairo + pango), and its PNG/SVG
// export for the seal registry.
//
// Geometry (国发〔1999〕25号 and practice, formats.md §4): the outer edge of the border is the
// seal's diameter; a five-pointed star in the centre; the Chinese name clockwise along the upper
// arc starting on the left, each glyph upright along its radius; in Ali the Tibetan name on its own
// inner arc; the function legend horizontal under the star; an optional code at the bottom.
#include "libcert/seal_image.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-font.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "gobj.h"
#include "libcert/error.h"
#include "seal_image_priv.h"

namespace libcert {

namespace seal_detail {

namespace {

std::string codepoint_name(std::string_view text, int byte_index) {
  const gunichar ch = g_utf8_get_char(text.data() + byte_index);
  char hex[16];
  g_snprintf(hex, sizeof hex, "U+%04X", ch);
  char utf8[8] = {};
  g_unichar_to_utf8(ch, utf8);
  return std::string(hex) + " '" + utf8 + "'";
}

}  // namespace

gobj::Object<PangoContext> make_context(cairo_t* cr) {
  gobj::Object<PangoContext> ctx(pango_cairo_create_context(cr));
  gobj::FontOptions opts(cairo_font_options_create());
  // Outlines, not pixels: hinting would snap advances to the device grid of whatever surface the
  // seal is first drawn on and make the PDF, PNG and SVG differ.
  cairo_font_options_set_hint_style(opts.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(opts.get(), CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options(ctx.get(), opts.get());
  pango_context_set_round_glyph_positions(ctx.get(), FALSE);
  return ctx;
}

ShapedText shape_line(PangoContext* ctx, std::string_view text, const std::string& family,
                      double em, std::string_view field) {
  const std::string where = "seal " + std::string(field);
  if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
    throw Error(ErrorCode::kInvalidArgument, where + ": not valid UTF-8");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      throw Error(ErrorCode::kInvalidArgument,
                  where + ": control character at byte " + std::to_string(i) + " (one line only)");
    }
  }
  ShapedText t;
  t.layout.reset(pango_layout_new(ctx));
  gobj::FontDescription desc(pango_font_description_new());
  pango_font_description_set_family(desc.get(), family.c_str());
  pango_font_description_set_absolute_size(desc.get(), em * PANGO_SCALE);
  pango_layout_set_font_description(t.layout.get(), desc.get());
  gobj::AttrList attrs(pango_attr_list_new());
  pango_attr_list_insert(attrs.get(), pango_attr_fallback_new(FALSE));
  pango_layout_set_attributes(t.layout.get(), attrs.get());
  pango_layout_set_text(t.layout.get(), text.data(), static_cast<int>(text.size()));

  PangoLayoutLine* line = pango_layout_get_line_readonly(t.layout.get(), 0);
  if (line == nullptr) return t;
  double x = 0;
  for (GSList* l = line->runs; l != nullptr; l = l->next) {
    auto* run = static_cast<PangoGlyphItem*>(l->data);
    PangoFont* font = run->item->analysis.font;
    gobj::FontDescription used(pango_font_describe(font));
    const char* used_family = pango_font_description_get_family(used.get());
    if (used_family == nullptr || g_ascii_strcasecmp(used_family, family.c_str()) != 0) {
      throw Error(ErrorCode::kRender, where + ": font '" + family +
                                          "' is not installed (fontconfig offered '" +
                                          (used_family ? used_family : "none") + "')");
    }
    const PangoGlyphString* gs = run->glyphs;
    for (int g = 0; g < gs->num_glyphs; ++g) {
      const PangoGlyphInfo& gi = gs->glyphs[g];
      if ((gi.glyph & PANGO_GLYPH_UNKNOWN_FLAG) != 0) {
        throw Error(ErrorCode::kRender,
                    where + ": no glyph for " +
                        codepoint_name(text, run->item->offset + gs->log_clusters[g]) +
                        " in font '" + family + "'");
      }
      const double w = gi.geometry.width / double(PANGO_SCALE);
      ++t.glyph_count;
      if (gi.geometry.width != 0) ++t.advancing_glyphs;
      const bool same = g > 0 && gs->log_clusters[g] == gs->log_clusters[g - 1];
      // Zero-advance glyphs with their own cluster value still belong to the preceding base.
      if (same || (g > 0 && gi.geometry.width == 0)) {
        t.clusters.back().g1 = g + 1;
        t.clusters.back().width += w;
      } else {
        t.clusters.push_back(
            Cluster{gs, font, g, g + 1, x, w, run->item->offset + gs->log_clusters[g]});
      }
      x += w;
    }
  }
  // Belt and braces: pango's own count also covers glyphs we did not walk.
  if (pango_layout_get_unknown_glyphs_count(t.layout.get()) > 0) {
    throw Error(ErrorCode::kRender,
                where + ": text has characters without a glyph in font '" + family + "'");
  }
  PangoRectangle ink, logical;
  pango_layout_line_get_extents(line, &ink, &logical);
  t.width = logical.width / double(PANGO_SCALE);
  t.ink_top = ink.y / double(PANGO_SCALE);
  t.ink_bottom = (ink.y + ink.height) / double(PANGO_SCALE);
  return t;
}

void cluster_path(cairo_t* cr, const Cluster& c) {
  // A view on the run's glyph string restricted to the cluster: pango only reads it.
  PangoGlyphString view{};
  view.num_glyphs = c.g1 - c.g0;
  view.glyphs = c.glyphs->glyphs + c.g0;
  view.log_clusters = c.glyphs->log_clusters + c.g0;
  pango_cairo_glyph_string_path(cr, c.font, &view);
}

namespace {
// Set while seal_drawing() runs draw_seal on this thread: glyphs, star and border are recorded
// instead of painted.
thread_local SealDrawing* capture = nullptr;

void capture_cluster(cairo_t* cr, const Cluster& c) {
  FcPattern* pat = pango_fc_font_get_pattern(PANGO_FC_FONT(c.font));
  FcChar8* file = nullptr;
  int index = 0;
  if (FcPatternGetString(pat, FC_FILE, 0, &file) != FcResultMatch) {
    throw Error(ErrorCode::kRender, "seal: a font without a file (fontconfig)");
  }
  FcPatternGetInteger(pat, FC_INDEX, 0, &index);
  // Glyph space -> user space is the scaled font's font matrix (pango made it for the context's
  // em size); then the current transformation (the arc's rotation, the seal's scale).
  cairo_matrix_t fm, ctm, gm;
  cairo_scaled_font_get_font_matrix(pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(c.font)),
                                    &fm);
  cairo_get_matrix(cr, &ctm);
  cairo_matrix_multiply(&gm, &fm, &ctm);
  double px = 0, py = 0;
  cairo_get_current_point(cr, &px, &py);
  double pen = 0;
  for (int i = c.g0; i < c.g1; ++i) {
    const PangoGlyphInfo& gi = c.glyphs->glyphs[i];
    if (gi.glyph != PANGO_GLYPH_EMPTY && (gi.glyph & PANGO_GLYPH_UNKNOWN_FLAG) == 0) {
      double x = px + (pen + gi.geometry.x_offset) / double(PANGO_SCALE);
      double y = py + gi.geometry.y_offset / double(PANGO_SCALE);
      cairo_user_to_device(cr, &x, &y);  // device space: points, y down, origin = seal centre
      SealGlyph g;
      g.file = reinterpret_cast<const char*>(file);
      g.face_index = index;
      g.id = gi.glyph;
      // Glyph space (y up) -> user space (y down) -> device -> PDF (y up).
      const double m[6] = {gm.xx, -gm.yx, -gm.xy, gm.yy, x, -y};
      std::copy(m, m + 6, g.m);
      capture->glyphs.push_back(std::move(g));
    }
    pen += gi.geometry.width;
  }
}
}  // namespace

void cluster_show(cairo_t* cr, const Cluster& c) {
  if (capture != nullptr) {
    capture_cluster(cr, c);
    return;
  }
  PangoGlyphString view{};
  view.num_glyphs = c.g1 - c.g0;
  view.glyphs = c.glyphs->glyphs + c.g0;
  view.log_clusters = c.glyphs->log_clusters + c.g0;
  pango_cairo_show_glyph_string(cr, c.font, &view);
}

}  // namespace seal_detail

namespace {

using seal_detail::ShapedText;
constexpr double kPi = std::numbers::pi;
constexpr double kPtPerMm = 72.0 / 25.4;
constexpr double kDeg = kPi / 180.0;

// Places the clusters of `t` on a circle of radius `r_mid` (their ink band centred on it), the
// cluster centres at `angles` (radians clockwise from 12 o'clock), compressed horizontally by
// `sx`. Glyph tops point away from the centre.
void arc_path(cairo_t* cr, const ShapedText& t, double cx, double cy, double r_mid,
              const std::vector<double>& angles, double sx) {
  const double y_centre = (t.ink_top + t.ink_bottom) / 2;
  for (std::size_t i = 0; i < t.clusters.size(); ++i) {
    const auto& c = t.clusters[i];
    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    cairo_rotate(cr, angles[i]);
    cairo_translate(cr, 0, -r_mid);
    cairo_scale(cr, sx, 1);
    cairo_move_to(cr, -c.width / 2, -y_centre);
    seal_detail::cluster_show(cr, c);
    cairo_restore(cr);
  }
}

// A horizontal line of text centred on x = cx with its ink top at y = top.
void line_path(cairo_t* cr, const ShapedText& t, double cx, double top, double sx) {
  cairo_save(cr);
  cairo_translate(cr, cx, top - t.ink_top);
  cairo_scale(cr, sx, 1);
  for (const auto& c : t.clusters) {
    cairo_move_to(cr, c.x - t.width / 2, 0);
    seal_detail::cluster_show(cr, c);
  }
  cairo_restore(cr);
}

void star_path(cairo_t* cr, double cx, double cy, double r_outer) {
  // Regular pentagram outline: inner radius = R·cos 72° / cos 36°, one point straight up.
  const double r_inner = r_outer * std::cos(72 * kDeg) / std::cos(36 * kDeg);
  for (int k = 0; k < 10; ++k) {
    const double r = k % 2 == 0 ? r_outer : r_inner;
    const double a = -kPi / 2 + k * 36 * kDeg;
    const double px = cx + r * std::cos(a), py = cy + r * std::sin(a);
    if (seal_detail::capture != nullptr) {
      double dx = px, dy = py;
      cairo_user_to_device(cr, &dx, &dy);
      seal_detail::capture->star.emplace_back(dx, -dy);
    }
    if (k == 0) {
      cairo_move_to(cr, px, py);
    } else {
      cairo_line_to(cr, px, py);
    }
  }
  cairo_close_path(cr);
}

void check_spec(const SealSpec& s) {
  if (!(s.diameter_mm >= 20 && s.diameter_mm <= 60)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal diameter_mm must be 20..60, got " + std::to_string(s.diameter_mm));
  }
  if (!(s.border_mm >= 0.5 && s.border_mm <= 3)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal border_mm must be 0.5..3, got " + std::to_string(s.border_mm));
  }
  if (!(s.star_mm >= 0 && s.star_mm <= s.diameter_mm / 2)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal star_mm must be 0..diameter/2, got " + std::to_string(s.star_mm));
  }
  if (s.name_zh.empty()) throw Error(ErrorCode::kInvalidArgument, "seal name_zh is empty");
  if (s.rgb > 0xFFFFFF) throw Error(ErrorCode::kInvalidArgument, "seal rgb exceeds 0xFFFFFF");
}

}  // namespace

void draw_seal(cairo_t* cr, const SealSpec& spec, double cx, double cy) {
  check_spec(spec);
  // Work in millimetres around the centre; the caller's units are points.
  const double k = spec.diameter_mm / 42.0;  // text sizes are designed for the 42 mm seal
  const double R = spec.diameter_mm / 2;
  const double b = spec.border_mm;

  cairo_save(cr);
  struct Restore {  // the caller's state comes back even when a glyph is missing
    cairo_t* cr;
    ~Restore() { cairo_restore(cr); }
  } restore{cr};
  cairo_translate(cr, cx, cy);
  cairo_scale(cr, kPtPerMm, kPtPerMm);
  auto ctx = seal_detail::make_context(cr);

  // Shape everything first so that a missing glyph fails before anything is drawn.
  const std::string& fzh = spec.font_zh;
  ShapedText zh = seal_detail::shape_line(ctx.get(), spec.name_zh, fzh, 5.6 * k, "name_zh");
  const double zh_h = zh.ink_bottom - zh.ink_top;
  const double r_zh = R - b - 0.9 * k - zh_h / 2;

  // Chinese: clusters evenly spaced, at most 24° apart, over at most 240° of arc.
  const std::size_t n = zh.clusters.size();
  const double step = n > 1 ? std::min(25.0 * kDeg, 236.0 * kDeg / double(n - 1)) : 0;
  double widest = 0;
  for (const auto& c : zh.clusters) widest = std::max(widest, c.width);
  // Narrow the glyphs if neighbours would touch (long names), as seal engravers do.
  const double sx_zh =
      n > 1 && widest > 0 ? std::min(1.0, 0.92 * step * (r_zh - zh_h / 2) / widest) : 1.0;
  std::vector<double> zh_angles(n);
  for (std::size_t i = 0; i < n; ++i) zh_angles[i] = -step * double(n - 1) / 2 + step * double(i);

  ShapedText bo;
  double r_bo = 0, sx_bo = 1;
  std::vector<double> bo_angles;
  if (!spec.name_bo.empty()) {
    // Tibetan: shaped as a whole (stacks and vowel signs need the full string), then placed
    // cluster by cluster at its natural advance along the arc. Target ink height 3.6 mm at 42 mm.
    const double bo_top = r_zh - zh_h / 2 - 0.9 * k;
    // Outlines scale linearly with the em size (no hinting), so one probe gives the size.
    const std::string& fbo = spec.font_bo;
    const double pe = 3.0 * k;
    const ShapedText probe = seal_detail::shape_line(ctx.get(), spec.name_bo, fbo, pe, "name_bo");
    const double ph = std::max(probe.ink_bottom - probe.ink_top, 1e-6) / pe;  // per unit em
    const double pw = probe.width / pe;
    constexpr double kSpanBo = 236.0 * kDeg;
    auto available = [&](double e) { return kSpanBo * (bo_top - ph * e / 2); };
    double em = 3.6 * k / ph;
    if (pw * em > available(em)) {
      // First narrow the script a little, then make it smaller; refuse what would be illegible.
      sx_bo = std::max(0.8, available(em) / (pw * em));
      if (pw * em * sx_bo > available(em)) {
        em = 0.99 * kSpanBo * bo_top / (pw * sx_bo + kSpanBo * ph / 2);
        if (ph * em < 2.4 * k) {
          throw Error(ErrorCode::kRender,
                      "seal name_bo: Tibetan name too long for a " +
                          std::to_string(std::lround(spec.diameter_mm)) +
                          " mm seal (its ink would be " + std::to_string(ph * em).substr(0, 4) +
                          " mm high, minimum " + std::to_string(2.4 * k).substr(0, 4) + " mm)");
        }
      }
    }
    bo = seal_detail::shape_line(ctx.get(), spec.name_bo, fbo, em, "name_bo");
    r_bo = bo_top - (bo.ink_bottom - bo.ink_top) / 2;
    const double start = -bo.width * sx_bo / (2 * r_bo);
    for (const auto& c : bo.clusters) {
      bo_angles.push_back(start + (c.x + c.width / 2) * sx_bo / r_bo);
    }
  }

  ShapedText fn, fn_bo, code;
  const double max_line = 0.44 * spec.diameter_mm;
  if (!spec.function_zh.empty()) {
    fn = seal_detail::shape_line(ctx.get(), spec.function_zh, fzh, 3.5 * k, "function_zh");
  }
  if (!spec.function_bo.empty()) {
    fn_bo =
        seal_detail::shape_line(ctx.get(), spec.function_bo, spec.font_bo, 2.6 * k, "function_bo");
  }
  if (!spec.code.empty()) {
    code = seal_detail::shape_line(ctx.get(), spec.code, fzh, 2.4 * k, "code");
  }

  const double red = ((spec.rgb >> 16) & 0xFF) / 255.0, green = ((spec.rgb >> 8) & 0xFF) / 255.0,
               blue = (spec.rgb & 0xFF) / 255.0;
  cairo_set_source_rgb(cr, red, green, blue);
  cairo_new_path(cr);

  // Border: the outer edge of the stroke is the diameter.
  cairo_set_line_width(cr, b);
  cairo_arc(cr, 0, 0, R - b / 2, 0, 2 * kPi);
  if (seal_detail::capture != nullptr) {
    seal_detail::capture->rgb = spec.rgb;
    seal_detail::capture->ring_radius_pt = (R - b / 2) * kPtPerMm;
    seal_detail::capture->ring_width_pt = b * kPtPerMm;
    cairo_new_path(cr);
  } else {
    cairo_stroke(cr);
  }

  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
  if (spec.star_mm > 0) star_path(cr, 0, 0, spec.star_mm / 2);
  arc_path(cr, zh, 0, 0, r_zh, zh_angles, sx_zh);
  if (!bo.clusters.empty()) arc_path(cr, bo, 0, 0, r_bo, bo_angles, sx_bo);
  // Under the star: the star's lower points lie at R_star·sin 54° below the centre.
  double y = spec.star_mm / 2 * std::sin(54 * kDeg) + 1.2 * k;
  if (!fn.clusters.empty()) {
    line_path(cr, fn, 0, y, std::min(1.0, max_line / fn.width));
    y += fn.ink_bottom - fn.ink_top + 0.9 * k;
  }
  if (!fn_bo.clusters.empty()) {
    line_path(cr, fn_bo, 0, y, std::min(1.0, max_line / fn_bo.width));
    y += fn_bo.ink_bottom - fn_bo.ink_top + 0.9 * k;
  }
  if (!code.clusters.empty()) {
    const double code_top = std::max(y, R - b - 1.4 * k - (code.ink_bottom - code.ink_top));
    line_path(cr, code, 0, code_top, std::min(1.0, 0.4 * spec.diameter_mm / code.width));
  }
  if (seal_detail::capture != nullptr) {
    cairo_new_path(cr);
  } else {
    cairo_fill(cr);
  }
}

seal_detail::SealDrawing seal_detail::seal_drawing(const SealSpec& spec) {
  SealDrawing d;
  const gobj::Surface surface(cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1));
  const gobj::Cairo cr(cairo_create(surface.get()));
  struct Scope {
    explicit Scope(SealDrawing* p) { capture = p; }
    ~Scope() { capture = nullptr; }
  } scope(&d);
  draw_seal(cr.get(), spec, 0, 0);
  return d;
}

namespace {

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void check_surface(cairo_surface_t* s, const char* what) {
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender, std::string("seal ") + what + ": " +
                                        cairo_status_to_string(cairo_surface_status(s)));
  }
}

}  // namespace

std::string seal_svg(const SealSpec& spec) {
  check_spec(spec);
  std::string out;
  {
    // GB/T 38540 stores the picture with its size in mm: the SVG's width/height are in mm and its
    // user unit is the millimetre (viewBox 0 0 D D).
    gobj::Surface s(cairo_svg_surface_create_for_stream(append_to_string, &out, spec.diameter_mm,
                                                        spec.diameter_mm));
    check_surface(s.get(), "svg");
    cairo_svg_surface_set_document_unit(s.get(), CAIRO_SVG_UNIT_MM);
    gobj::Cairo cr(cairo_create(s.get()));
    cairo_scale(cr.get(), 1 / kPtPerMm, 1 / kPtPerMm);  // draw_seal works in points
    const double c = spec.diameter_mm / 2 * kPtPerMm;
    draw_seal(cr.get(), spec, c, c);
    cairo_surface_finish(s.get());
    check_surface(s.get(), "svg");
  }
  return out;
}

std::string seal_png(const SealSpec& spec, double dpi) {
  check_spec(spec);
  if (!(dpi >= 72 && dpi <= 2400)) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal png dpi must be 72..2400, got " + std::to_string(dpi));
  }
  const int side = static_cast<int>(std::lround(spec.diameter_mm / 25.4 * dpi));
  gobj::Surface s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, side, side));
  check_surface(s.get(), "png");
  {
    gobj::Cairo cr(cairo_create(s.get()));  // starts fully transparent
    cairo_scale(cr.get(), dpi / 72.0, dpi / 72.0);
    const double c = spec.diameter_mm / 2 * kPtPerMm;
    draw_seal(cr.get(), spec, c, c);
  }
  std::string out;
  if (cairo_surface_write_to_png_stream(s.get(), append_to_string, &out) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender, "seal png: encoding failed");
  }
  return out;
}

}  // namespace libcert
