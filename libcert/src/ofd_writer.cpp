// ofd_writer.cpp — PageLayout → OFD package (GB/T 33190-2016), sealed by ofd.cpp's seal_entries
// (GB/T 38540-2020 v4). libcert/ofd_writer.h and docs/ofd.md describe the profile.
//
// Every XML file is generated as text here, once; the bytes that are stored are the bytes that
// the seal's References hash (no tree is re-serialised). Numbers are written with a fixed
// precision in the C locale, so the same layout gives the same bytes.
#include "libcert/ofd_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string_view>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "libcert/error.h"
#include "libcert/ofd.h"
#include "libcert/ses.h"
#include "libcert/template.h"
#include "cose.h"  // hex
#include "font_subset.h"
#include "ofd_zip.h"
#include "xmp.h"  // kLicenceRecordItems

namespace libcert {

// ---- keyring ----------------------------------------------------------------------------------

void OfdSealKeyring::add(const std::string& department, OfdSeal seal) {
  if (!seal.signer || seal.signer->algorithm() != SignatureAlgorithm::kSm2Sm3)
    throw Error(ErrorCode::kInvalidArgument,
                "OFD seal of " + department + ": the signer is not an SM2 key");
  const SesSeal parsed = parse_ses_seal(seal.esl);
  if (parsed.version != 4)
    throw Error(ErrorCode::kInvalidArgument,
                "OFD seal of " + department + ": " + parsed.format + " is not GB/T 38540 v4");
  if (std::find(parsed.certs.begin(), parsed.certs.end(), seal.signer->certificate()) ==
      parsed.certs.end())
    throw Error(ErrorCode::kInvalidArgument,
                "OFD seal of " + department +
                    ": the seal file's certificate list does not name the key's certificate");
  seals_[department] = std::move(seal);
}

const OfdSeal& OfdSealKeyring::get(const std::string& department) const {
  const auto it = seals_.find(department);
  if (it == seals_.end())
    throw Error(ErrorCode::kNotFound, "department " + department + " has no OFD (SM2) seal");
  return it->second;
}

bool OfdSealKeyring::has(const std::string& department) const {
  return seals_.find(department) != seals_.end();
}

OfdSealKeyring OfdSealKeyring::load_dir(const std::string& keys_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(keys_dir) / "sm2" / "seals";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kIo, dir.string() + ": not a directory of SM2 seals");
  OfdSealKeyring ring;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path key = entry.path() / "seal.key", crt = entry.path() / "seal.crt",
                   esl = entry.path() / "seal.esl";
    if (!fs::is_regular_file(key, ec) || !fs::is_regular_file(crt, ec) ||
        !fs::is_regular_file(esl, ec))
      continue;
    std::FILE* f = std::fopen(esl.c_str(), "rb");
    if (f == nullptr) throw Error(ErrorCode::kIo, esl.string() + ": cannot be read");
    std::string bytes;
    char buf[8192];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
    const bool err = std::ferror(f) != 0;
    std::fclose(f);
    if (err) throw Error(ErrorCode::kIo, esl.string() + ": read error");
    ring.add(entry.path().filename().string(),
             {std::make_shared<Sm2PemSigner>(key.string(), crt.string()), std::move(bytes)});
  }
  if (ec) throw Error(ErrorCode::kIo, dir.string() + ": " + ec.message());
  if (ring.seals_.empty())
    throw Error(ErrorCode::kNotFound,
                dir.string() + ": no <department>/seal.key + seal.crt + seal.esl");
  return ring;
}

// ---- writer -----------------------------------------------------------------------------------

namespace {

constexpr std::string_view kNs = "http://www.ofdspec.org/2016";
constexpr double kMmPerPt = 25.4 / 72.0;

std::string esc(std::string_view s) { return ofd::xml_escape(s); }

// Millimetres with 3 decimals (1 µm), trailing zeros dropped, never "-0".
std::string num(double v) {
  if (std::fabs(v) < 0.0005) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string color(unsigned rgb) {
  return std::to_string((rgb >> 16) & 0xFF) + " " + std::to_string((rgb >> 8) & 0xFF) + " " +
         std::to_string(rgb & 0xFF);
}

std::string box(double x, double y, double w, double h) {
  return num(x) + " " + num(y) + " " + num(w) + " " + num(h);
}

// Number of Unicode scalar values in a UTF-8 string (CodePosition/CodeCount count characters).
std::size_t chars(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

using cose::hex;

std::string iso_china_date(std::int64_t t) {
  const std::int32_t d = china_date(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d / 10000, d / 100 % 100, d % 100);
  return buf;
}

// One HarfBuzz cluster of a run: its characters (bytes [begin, end) of GlyphRun::text) and its
// glyphs [g0, g1).
struct Cluster {
  std::size_t begin = 0, end = 0, g0 = 0, g1 = 0;
};

std::vector<Cluster> clusters(const GlyphRun& run) {
  std::vector<Cluster> out;
  const auto& gs = run.glyphs;
  for (std::size_t i = 0; i < gs.size();) {
    std::size_t j = i + 1;
    while (j < gs.size() && gs[j].cluster == gs[i].cluster) ++j;
    out.push_back({gs[i].cluster, 0, i, j});
    i = j;
  }
  // A cluster's characters run to the next cluster's start (left-to-right runs: the layout's
  // scripts); characters of glyph-less clusters (zero-width marks HarfBuzz dropped) join the
  // cluster before them, so TextCode keeps every character of the run.
  std::vector<std::size_t> starts;
  for (const auto& c : out) starts.push_back(c.begin);
  std::sort(starts.begin(), starts.end());
  for (auto& c : out) {
    const auto next = std::upper_bound(starts.begin(), starts.end(), c.begin);
    c.end = next == starts.end() ? run.text.size() : *next;
  }
  // HarfBuzz clusters as pango reports them are per character (its cluster level keeps a cursor
  // stop at every character), so a Tibetan stack comes out as a base cluster followed by clusters
  // of subjoined letters and vowel signs. Merge those into user-perceived characters: a cluster
  // whose first character is a combining mark (General_Category M*, or ZWJ/ZWNJ) extends the one
  // before it (UAX #29 rules GB9/GB9a), so each TextObject holds a whole stack.
  std::vector<Cluster> merged;
  for (const auto& c : out) {
    UChar32 cp = 0;
    std::int32_t i = static_cast<std::int32_t>(c.begin);
    U8_NEXT(reinterpret_cast<const std::uint8_t*>(run.text.data()), i,
            static_cast<std::int32_t>(run.text.size()), cp);
    const bool extend = cp == 0x200C || cp == 0x200D || (cp >= 0 && (U_GET_GC_MASK(cp) & U_GC_M_MASK) != 0);
    if (extend && !merged.empty() && merged.back().g1 == c.g0 && merged.back().end == c.begin) {
      merged.back().g1 = c.g1;
      merged.back().end = c.end;
    } else {
      merged.push_back(c);
    }
  }
  out = std::move(merged);
  if (!out.empty()) {
    // The run's first cluster also takes any leading characters without a glyph.
    auto first = std::min_element(out.begin(), out.end(),
                                  [](const Cluster& a, const Cluster& b) { return a.begin < b.begin; });
    first->begin = 0;
  }
  return out;
}

// Glyph outlines in OFD path syntax (GB/T 33190 §9.3.2: M, L, B, C; TrueType quadratics are
// raised to cubics, since ofd.js 0.2.6 does not parse Q). One per font file used by a complex run;
// the face is read with HarfBuzz, unscaled (font units).
class Outliner {
 public:
  Outliner(const std::string& file, int index) {
    font::HbBlob blob(hb_blob_create_from_file_or_fail(file.c_str()));
    if (!blob) throw Error(ErrorCode::kRender, "write_ofd: cannot read font " + file);
    face_.reset(hb_face_create(blob.get(), static_cast<unsigned>(index)));
    font_.reset(hb_font_create(face_.get()));
    upem_ = hb_face_get_upem(face_.get());
    funcs_ = hb_draw_funcs_create();
    hb_draw_funcs_set_move_to_func(funcs_, &Outliner::move_to, nullptr, nullptr);
    hb_draw_funcs_set_line_to_func(funcs_, &Outliner::line_to, nullptr, nullptr);
    hb_draw_funcs_set_quadratic_to_func(funcs_, &Outliner::quad_to, nullptr, nullptr);
    hb_draw_funcs_set_cubic_to_func(funcs_, &Outliner::cubic_to, nullptr, nullptr);
    hb_draw_funcs_set_close_path_func(funcs_, &Outliner::close, nullptr, nullptr);
    hb_draw_funcs_make_immutable(funcs_);
  }
  ~Outliner() { hb_draw_funcs_destroy(funcs_); }
  Outliner(const Outliner&) = delete;
  Outliner& operator=(const Outliner&) = delete;

  // Appends the outline of `glyph` at origin (ox, oy) mm (relative to the object's Boundary) at
  // em size `em` mm: font units → mm, y flipped (fonts grow upwards, OFD downwards).
  void append(std::string& d, std::uint32_t glyph, double ox, double oy, double em) const {
    Sink sink{&d, ox, oy, em / upem_};
    hb_font_get_glyph_shape(font_.get(), glyph, funcs_, &sink);
  }

 private:
  struct Sink {
    std::string* d;
    double ox, oy, k;
    std::string pt(float x, float y) const {
      return num(ox + x * k) + " " + num(oy - y * k);
    }
  };
  static void move_to(hb_draw_funcs_t*, void* p, hb_draw_state_t*, float x, float y, void*) {
    auto* s = static_cast<Sink*>(p);
    *s->d += "M " + s->pt(x, y) + " ";
  }
  static void line_to(hb_draw_funcs_t*, void* p, hb_draw_state_t*, float x, float y, void*) {
    auto* s = static_cast<Sink*>(p);
    *s->d += "L " + s->pt(x, y) + " ";
  }
  static void quad_to(hb_draw_funcs_t*, void* p, hb_draw_state_t* st, float cx, float cy, float x,
                      float y, void*) {
    // The cubic with the same curve: control points 2/3 of the way to the quadratic's control.
    auto* s = static_cast<Sink*>(p);
    const float x0 = st->current_x, y0 = st->current_y;
    *s->d += "B " + s->pt(x0 + 2.0f / 3 * (cx - x0), y0 + 2.0f / 3 * (cy - y0)) + " " +
             s->pt(x + 2.0f / 3 * (cx - x), y + 2.0f / 3 * (cy - y)) + " " + s->pt(x, y) + " ";
  }
  static void cubic_to(hb_draw_funcs_t*, void* p, hb_draw_state_t*, float c1x, float c1y,
                       float c2x, float c2y, float x, float y, void*) {
    auto* s = static_cast<Sink*>(p);
    *s->d += "B " + s->pt(c1x, c1y) + " " + s->pt(c2x, c2y) + " " + s->pt(x, y) + " ";
  }
  static void close(hb_draw_funcs_t*, void* p, hb_draw_state_t*, void*) {
    *static_cast<Sink*>(p)->d += "C ";
  }

  font::HbFace face_;
  font::HbFont font_;
  unsigned upem_ = 1000;
  hb_draw_funcs_t* funcs_ = nullptr;
};

class ContentWriter {
 public:
  explicit ContentWriter(std::uint32_t& next_id) : next_id_(next_id) {}

  void path(const PagePath& p) {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (const auto& sp : p.subpaths)
      for (const auto& pt : sp) {
        x0 = std::min(x0, pt.x_mm);
        y0 = std::min(y0, pt.y_mm);
        x1 = std::max(x1, pt.x_mm);
        y1 = std::max(y1, pt.y_mm);
      }
    if (x0 > x1) return;
    // The Boundary holds the stroke's outer half too (GB/T 33190 §9.1: the object's extent).
    const double pad = p.line_width_mm / 2;
    x0 -= pad;
    y0 -= pad;
    x1 += pad;
    y1 += pad;
    std::string d;
    for (const auto& sp : p.subpaths) {
      for (std::size_t i = 0; i < sp.size(); ++i)
        d += (i == 0 ? "M " : " L ") + num(sp[i].x_mm - x0) + " " + num(sp[i].y_mm - y0);
      d += " C ";
    }
    const bool stroke = p.line_width_mm > 0;
    out_ += "<ofd:PathObject ID=\"" + id() + "\" Boundary=\"" + box(x0, y0, x1 - x0, y1 - y0) +
            "\"" + (stroke ? " LineWidth=\"" + num(p.line_width_mm) + "\"" : "") +
            " Stroke=\"" + (stroke ? "true" : "false") + "\" Fill=\"" +
            (p.fill ? "true" : "false") + "\">";
    if (p.fill) out_ += "<ofd:FillColor Value=\"" + color(p.fill_rgb) + "\"/>";
    if (stroke) out_ += "<ofd:StrokeColor Value=\"" + color(p.stroke_rgb) + "\"/>";
    out_ += "<ofd:AbbreviatedData>" + d + "</ofd:AbbreviatedData></ofd:PathObject>";
  }

  // A glyph run. When every cluster is one character drawn by one glyph (Chinese, Latin, digits),
  // the run is one TextObject: TextCode with DeltaX between the characters, and one CGTransform
  // giving the glyph of each character in the embedded font. Otherwise (Tibetan stacks: several
  // characters to one glyph, or a base and its marks) every HarfBuzz cluster is a TextObject of
  // its own (ofd-ses.md §4): X/Y its first glyph's origin, CGTransform mapping all of the
  // cluster's characters to its glyphs, DeltaX/DeltaY between those glyphs — the only reading of
  // DeltaX that does not depend on whether a reader counts characters or glyphs after a
  // CGTransform, since each TextObject starts again at its own X.
  void text(const GlyphRun& run, std::uint32_t font_id, const font::FontSubset& subset,
            const std::function<const Outliner&()>& outliner) {
    subset_ = &subset;
    const auto cs = clusters(run);
    const bool simple = std::all_of(cs.begin(), cs.end(), [&](const Cluster& c) {
      return c.g1 - c.g0 == 1 && chars(std::string_view(run.text).substr(c.begin, c.end - c.begin)) == 1;
    });
    const double em = run.size_pt * kMmPerPt;
    if (simple) {
      std::string txt;
      std::vector<const PlacedGlyph*> gs;
      for (const auto& c : cs) {
        txt += run.text.substr(c.begin, c.end - c.begin);
        gs.push_back(&run.glyphs[c.g0]);
      }
      object(run, font_id, em, gs, txt);
      return;
    }
    const Outliner& outl = outliner();
    for (const auto& c : cs) {
      std::vector<const PlacedGlyph*> gs;
      for (std::size_t g = c.g0; g < c.g1; ++g) gs.push_back(&run.glyphs[g]);
      object(run, font_id, em, gs, run.text.substr(c.begin, c.end - c.begin), &outl);
    }
  }

  // The QR symbol: its white square (quiet zone included) and one filled path of its dark
  // modules, merged into horizontal runs (exact vector geometry, like the PDF's).
  void qr(const PageQr& q) {
    if (q.width <= 0) return;
    out_ += "<ofd:PathObject ID=\"" + id() + "\" Boundary=\"" +
            box(q.x_mm, q.y_mm, q.size_mm, q.size_mm) +
            "\" Stroke=\"false\" Fill=\"true\"><ofd:FillColor Value=\"255 255 255\"/>"
            "<ofd:AbbreviatedData>M 0 0 L " + num(q.size_mm) + " 0 L " + num(q.size_mm) + " " +
            num(q.size_mm) + " L 0 " + num(q.size_mm) + " C</ofd:AbbreviatedData></ofd:PathObject>";
    const double m = q.size_mm / (q.width + 8);
    std::string d;
    for (int y = 0; y < q.width; ++y) {
      for (int x = 0; x < q.width;) {
        if (!q.dark(x, y)) {
          ++x;
          continue;
        }
        int e = x;
        while (e < q.width && q.dark(e, y)) ++e;
        const double l = (x + 4) * m, r = (e + 4) * m, t = (y + 4) * m, b = (y + 5) * m;
        d += "M " + num(l) + " " + num(t) + " L " + num(r) + " " + num(t) + " L " + num(r) + " " +
             num(b) + " L " + num(l) + " " + num(b) + " C ";
        x = e;
      }
    }
    if (!d.empty()) d.pop_back();
    out_ += "<ofd:PathObject ID=\"" + id() + "\" Boundary=\"" +
            box(q.x_mm, q.y_mm, q.size_mm, q.size_mm) +
            "\" Stroke=\"false\" Fill=\"true\"><ofd:FillColor Value=\"0 0 0\"/>"
            "<ofd:AbbreviatedData>" + d + "</ofd:AbbreviatedData></ofd:PathObject>";
  }

  void image(const PageImage& img, std::uint32_t res_id) {
    // The image is the unit square; CTM scales it to the box (GB/T 33190 §10.2).
    out_ += "<ofd:ImageObject ID=\"" + id() + "\" Boundary=\"" +
            box(img.box.x, img.box.y, img.box.w, img.box.h) + "\" CTM=\"" + num(img.box.w) +
            " 0 0 " + num(img.box.h) + " 0 0\" ResourceID=\"" + std::to_string(res_id) + "\"/>";
  }

  [[nodiscard]] const std::string& xml() const { return out_; }

 private:
  std::string id() { return std::to_string(next_id_++); }

  void object(const GlyphRun& run, std::uint32_t font_id, double em,
              const std::vector<const PlacedGlyph*>& gs, const std::string& txt,
              const Outliner* outline = nullptr) {
    if (gs.empty()) return;
    double x0 = 1e9, x1 = -1e9, yb0 = 1e9, yb1 = -1e9;
    for (const auto* g : gs) {
      x0 = std::min(x0, g->x_mm);
      x1 = std::max(x1, g->x_mm + std::max(g->advance_mm, 0.0));
      yb0 = std::min(yb0, g->y_mm);
      yb1 = std::max(yb1, g->y_mm);
    }
    // The Boundary encloses the ink: an em above the highest baseline (Tibetan head marks reach
    // ~1 em) and 0.8 em below the lowest (subjoined stacks); readers clip to it.
    const double top = yb0 - 1.1 * em, bottom = yb1 + 0.8 * em;
    const double left = x0 - 0.1 * em, right = std::max(x1, x0) + 0.1 * em;
    std::string delta_x, delta_y;
    bool any_dy = false;
    for (std::size_t i = 1; i < gs.size(); ++i) {
      delta_x += (i > 1 ? " " : "") + num(gs[i]->x_mm - gs[i - 1]->x_mm);
      const double dy = gs[i]->y_mm - gs[i - 1]->y_mm;
      any_dy = any_dy || std::fabs(dy) >= 0.0005;
      delta_y += (i > 1 ? " " : "") + num(dy);
    }
    // DeltaX counts glyphs for a reader that draws the CGTransform's glyphs and characters for
    // one that draws TextCode by character (GB/T 33190 leaves it open, ofd-ses.md §4). Where a
    // cluster has more characters than glyphs, the list is padded with zeros to characters - 1
    // entries: the glyph reader uses the first glyphs - 1 values (the real offsets), the
    // character reader gets a number for every character (ofd.js 0.2.6 drops a character whose
    // offset is missing) and draws the extra ones at the last glyph's origin.
    const std::size_t n_chars = chars(txt);
    for (std::size_t i = gs.size(); i < n_chars; ++i) {
      delta_x += std::string(delta_x.empty() ? "" : " ") + "0";
      if (any_dy) delta_y += " 0";
    }
    std::string glyphs;  // (gs is never empty here)
    // Glyph indices of the embedded subset (GB/T 33190 §11.4.1: "字形索引" of the text's font).
    for (std::size_t i = 0; i < gs.size(); ++i)
      glyphs += (i ? " " : "") + std::to_string(subset_->new_id(gs[i]->id));
    if (outline != nullptr) {
      // The cluster as drawn: its glyphs' outlines from the font HarfBuzz shaped with, filled
      // (ofd-ses.md §4 "outline" form). Every reader draws these exactly, whether or not it
      // honours CGTransform and embedded fonts; the TextObject below then carries the text
      // invisibly (FillColor Alpha 0: ofd.js ignores Fill="false") for search and copy.
      std::string d;
      for (const auto* g : gs) outline->append(d, g->id, g->x_mm - left, g->y_mm - top, em);
      if (!d.empty()) {
        d.pop_back();
        out_ += "<ofd:PathObject ID=\"" + id() + "\" Boundary=\"" +
                box(left, top, right - left, bottom - top) +
                "\" Stroke=\"false\" Fill=\"true\"><ofd:FillColor Value=\"" + color(run.rgb) +
                "\"/><ofd:AbbreviatedData>" + d + "</ofd:AbbreviatedData></ofd:PathObject>";
      }
    }
    out_ += "<ofd:TextObject ID=\"" + id() + "\" Boundary=\"" +
            box(left, top, right - left, bottom - top) + "\" Font=\"" + std::to_string(font_id) +
            "\" Size=\"" + num(em) + "\"" + (outline != nullptr ? " Fill=\"false\"" : "") + ">";
    if (outline != nullptr)
      out_ += "<ofd:FillColor Value=\"" + color(run.rgb) + "\" Alpha=\"0\"/>";
    else if (run.rgb != 0)
      out_ += "<ofd:FillColor Value=\"" + color(run.rgb) + "\"/>";
    out_ += "<ofd:CGTransform CodePosition=\"0\" CodeCount=\"" + std::to_string(chars(txt)) +
            "\" GlyphCount=\"" + std::to_string(gs.size()) + "\"><ofd:Glyphs>" + glyphs +
            "</ofd:Glyphs></ofd:CGTransform>";
    out_ += "<ofd:TextCode X=\"" + num(gs[0]->x_mm - left) + "\" Y=\"" +
            num(gs[0]->y_mm - top) + "\"" +
            (!delta_x.empty() ? " DeltaX=\"" + delta_x + "\"" : "") +
            (any_dy ? " DeltaY=\"" + delta_y + "\"" : "") + ">" + esc(txt) +
            "</ofd:TextCode></ofd:TextObject>";
  }

  std::uint32_t& next_id_;
  std::string out_;
  const font::FontSubset* subset_ = nullptr;
};

std::string xml_head(std::string_view root) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:" + std::string(root) + " xmlns:ofd=\"" +
         std::string(kNs) + "\"";
}

// The GB/T 36903 items as OFD custom data, with the names of the PDF's XMP lic: properties
// (render.cpp), so both renditions carry the same record under the same names.
constexpr const auto& kItems = detail::kLicenceRecordItems;

std::string md_str(const nlohmann::json& md, const char* key) {
  if (!md.contains(key)) return {};
  const auto& v = md[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

std::vector<ofd::ZipEntry> build(const PageLayout& page, const OfdDocumentInfo& info) {
  if (!(page.width_mm > 0) || !(page.height_mm > 0))
    throw Error(ErrorCode::kInvalidArgument, "write_ofd: the layout has no page size");
  for (const auto& run : page.text)
    if (run.font >= page.fonts.size())
      throw Error(ErrorCode::kInvalidArgument, "write_ofd: a glyph run names font " +
                                                   std::to_string(run.font) + " of " +
                                                   std::to_string(page.fonts.size()));
  const nlohmann::json& md = info.metadata;
  std::uint32_t next_id = 1;

  // Fonts: one resource per face, with its subset embedded (GB/T 33190 §11.1 FontFile): the
  // glyphs the page draws, renumbered compactly (CGTransform names the subset's ids), plus cmap
  // entries for the characters of the runs so that a reader drawing TextCode by character with
  // the embedded font finds them. Layout tables are dropped: the text is shaped already.
  std::vector<std::vector<std::uint32_t>> gids(page.fonts.size());
  std::vector<std::set<char32_t>> cps(page.fonts.size());
  for (const auto& run : page.text) {
    for (const auto& g : run.glyphs) gids[run.font].push_back(g.id);
    const auto* t = reinterpret_cast<const std::uint8_t*>(run.text.data());
    const auto n = static_cast<std::int32_t>(run.text.size());
    for (std::int32_t i = 0; i < n;) {
      UChar32 c = 0;
      U8_NEXT(t, i, n, c);
      if (c > 0) cps[run.font].insert(static_cast<char32_t>(c));
    }
  }
  std::vector<font::FontSubset> subsets;
  std::vector<std::uint32_t> font_ids;
  std::vector<ofd::ZipEntry> font_files;
  std::string res = xml_head("Res") + " BaseLoc=\"Res\"><ofd:Fonts>";
  for (std::size_t i = 0; i < page.fonts.size(); ++i) {
    const auto& f = page.fonts[i];
    font::SubsetOptions so;
    so.unicodes.assign(cps[i].begin(), cps[i].end());
    subsets.push_back(font::SubsetFace::get(f.file, f.face_index)->subset(gids[i], so));
    font_ids.push_back(next_id++);
    const std::string file = "font_" + std::to_string(font_ids.back()) +
                             (subsets.back().outlines == font::Outlines::kCff ? ".otf" : ".ttf");
    res += "<ofd:Font ID=\"" + std::to_string(font_ids.back()) + "\" FontName=\"" + esc(f.family) +
           "\" FamilyName=\"" + esc(f.family) + "\"><ofd:FontFile>" + file +
           "</ofd:FontFile></ofd:Font>";
    font_files.push_back({"Doc_0/Res/" + file, subsets.back().data});
  }
  res += "</ofd:Fonts>";
  std::vector<ofd::ZipEntry> media;
  std::vector<std::uint32_t> image_ids;
  if (!page.images.empty()) {
    res += "<ofd:MultiMedias>";
    for (std::size_t i = 0; i < page.images.size(); ++i) {
      const auto& img = page.images[i];
      const bool png = img.media_type == "image/png";
      if (!png && img.media_type != "image/jpeg")
        throw Error(ErrorCode::kInvalidArgument,
                    "write_ofd: image type " + img.media_type + " (PNG or JPEG only)");
      const std::string file = "image_" + std::to_string(i) + (png ? ".png" : ".jpg");
      image_ids.push_back(next_id++);
      res += "<ofd:MultiMedia ID=\"" + std::to_string(image_ids.back()) +
             "\" Type=\"Image\" Format=\"" + (png ? "PNG" : "JPEG") + "\"><ofd:MediaFile>" + file +
             "</ofd:MediaFile></ofd:MultiMedia>";
      media.push_back({"Doc_0/Res/" + file, img.data});
    }
    res += "</ofd:MultiMedias>";
  }
  res += "</ofd:Res>";

  // Page content, in the layout's drawing order: paths, images, text, QR. The seal is not page
  // content: it is the seal's StampAnnot (GB/T 38540 §9), drawn from the picture inside the
  // signed seal, so no unsigned copy of the seal picture is ever on the page.
  const std::uint32_t layer_id = next_id++;
  ContentWriter cw(next_id);
  for (const auto& p : page.paths) cw.path(p);
  for (std::size_t i = 0; i < page.images.size(); ++i) cw.image(page.images[i], image_ids[i]);
  std::vector<std::unique_ptr<Outliner>> outliners(page.fonts.size());
  for (const auto& run : page.text)
    cw.text(run, font_ids[run.font], subsets[run.font], [&]() -> const Outliner& {
      auto& o = outliners[run.font];
      if (!o) o = std::make_unique<Outliner>(page.fonts[run.font].file, page.fonts[run.font].face_index);
      return *o;
    });
  cw.qr(page.qr);
  const std::string content = xml_head("Page") + "><ofd:Content><ofd:Layer ID=\"" +
                              std::to_string(layer_id) + "\" Type=\"Body\">" + cw.xml() +
                              "</ofd:Layer></ofd:Content></ofd:Page>";
  const std::uint32_t page_id = next_id++;

  // The licence record as a custom tag file (the e-invoice's Tag_Invoice.xml pattern).
  std::string tag = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<lic:Licence xmlns:lic=\"https://lic.ali.example/ns/gbt36903/1.0/\">";
  for (const auto& it : kItems) {
    const std::string v = md_str(md, it[0]);
    if (!v.empty()) tag += std::string("<lic:") + it[1] + ">" + esc(v) + "</lic:" + it[1] + ">";
  }
  if (md.contains("co_issuer_codes") && md["co_issuer_codes"].is_array())
    for (const auto& c : md["co_issuer_codes"])
      if (c.is_string()) tag += "<lic:CoIssuingAuthorityCode>" + esc(c.get<std::string>()) +
                                "</lic:CoIssuingAuthorityCode>";
  if (md.contains("extension") && md["extension"].is_object()) {
    tag += "<lic:Extension>";
    for (const auto& [k, v] : md["extension"].items())
      tag += "<lic:Field Name=\"" + esc(k) + "\">" + esc(v.is_string() ? v.get<std::string>() : v.dump()) +
             "</lic:Field>";
    tag += "</lic:Extension>";
  }
  tag += "</lic:Licence>";
  const std::string tags =
      xml_head("CustomTags") +
      "><ofd:CustomTag NameSpace=\"https://lic.ali.example/ns/gbt36903/1.0/\">"
      "<ofd:FileLoc>Licence.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>";

  const std::string document =
      xml_head("Document") + "><ofd:CommonData><ofd:MaxUnitID>" + std::to_string(next_id - 1) +
      "</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>" +
      box(0, 0, page.width_mm, page.height_mm) +
      "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
      "</ofd:CommonData><ofd:Pages><ofd:Page ID=\"" + std::to_string(page_id) +
      "\" BaseLoc=\"Pages/Page_0/Content.xml\"/></ofd:Pages>"
      "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>";

  // OFD.xml: DocInfo with the record's key items as CustomDatas (verify_ofd reads
  // IssuingAuthorityCode / CoIssuingAuthorityCodes from here for the issuer binding).
  const std::string identifier = md_str(md, "identifier");
  std::string custom;
  for (const auto& it : kItems) {
    const std::string v = md_str(md, it[0]);
    if (!v.empty())
      custom += std::string("<ofd:CustomData Name=\"") + it[1] + "\">" + esc(v) + "</ofd:CustomData>";
  }
  if (md.contains("co_issuer_codes") && md["co_issuer_codes"].is_array() &&
      !md["co_issuer_codes"].empty()) {
    std::string v;
    for (const auto& c : md["co_issuer_codes"])
      if (c.is_string()) v += (v.empty() ? "" : " ") + c.get<std::string>();
    custom += "<ofd:CustomData Name=\"CoIssuingAuthorityCodes\">" + esc(v) + "</ofd:CustomData>";
  }
  const std::string ofd_xml =
      xml_head("OFD") + " Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>" +
      hex(sm3(identifier.empty() ? content : identifier)).substr(0, 32) + "</ofd:DocID>" +
      "<ofd:Title>" + esc(md_str(md, "title")) + "</ofd:Title><ofd:Author>" +
      esc(md_str(md, "issuer")) + "</ofd:Author><ofd:CreationDate>" +
      iso_china_date(info.created_at) + "</ofd:CreationDate><ofd:Creator>" + esc(info.creator) +
      "</ofd:Creator><ofd:CustomDatas>" + custom +
      "</ofd:CustomDatas></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
      "</ofd:DocBody></ofd:OFD>";

  std::vector<ofd::ZipEntry> entries;
  entries.push_back({"OFD.xml", ofd_xml});
  entries.push_back({"Doc_0/Document.xml", document});
  entries.push_back({"Doc_0/PublicRes.xml", res});
  for (auto& f : font_files) entries.push_back(std::move(f));
  for (auto& m : media) entries.push_back(std::move(m));
  entries.push_back({"Doc_0/Pages/Page_0/Content.xml", content});
  entries.push_back({"Doc_0/Tags/CustomTags.xml", tags});
  entries.push_back({"Doc_0/Tags/Licence.xml", tag});
  return entries;
}

}  // namespace

std::string write_ofd(const PageLayout& page, const OfdDocumentInfo& info) {
  return ofd::zip_write(build(page, info));
}

std::string write_sealed_ofd(const PageLayout& page, const OfdDocumentInfo& info,
                             const OfdSeal& seal, const Clock& clock) {
  if (!seal.signer) throw Error(ErrorCode::kInvalidArgument, "write_sealed_ofd: no signer");
  std::vector<ofd::ZipEntry> entries = build(page, info);
  OfdSealOptions opt;
  opt.clock = &clock;
  opt.page = 0;
  // The stamp's square: the seal drawn at its physical size, centred where the layout puts it
  // (over the issue date, as on paper).
  const double d = page.seal.spec.diameter_mm;
  opt.x_mm = page.seal.cx_mm - d / 2;
  opt.y_mm = page.seal.cy_mm - d / 2;
  opt.w_mm = d;
  opt.h_mm = d;
  ofd::seal_entries(entries, *seal.signer, seal.esl, opt);
  return ofd::zip_write(entries);
}

}  // namespace libcert
