// Laying a licence face out (HarfBuzz shaping, shaper.h) and drawing it into an unsigned PDF
// with cairo (the cairo path: previews and IssuerOptions::pdf_writer = kCairo).
#include "libcert/render.h"

#include <cairo-ft.h>
#include <cairo-pdf.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <unordered_map>

#include "gobj.h"
#include "libcert/error.h"
#include "libcert/qr.h"
#include "libcert/seal_image.h"
#include "pdf_writer.h"
#include "shaper.h"
#include "text.h"
#include "xmp.h"

namespace libcert {

namespace {

constexpr double kPtPerMm = 72.0 / 25.4;
double pt(double mm) { return mm * kPtPerMm; }

// The square the QR is drawn on, inside the template's square (x, y, size: mm from the page's
// top-left corner, quiet zone included). Why: a rasteriser anti-aliases every module edge that
// falls inside a pixel, and at 100 dpi a version-14 module of a 45 mm square is 2.19 px — a
// symbol whose edges fall anywhere on the pixel grid came out of Poppler as grey bands that
// zbarimg could not read for about one signed symbol in 200 (fresh-clone CI; the symbols are kept
// in QrDecode.SymbolsThatFailedUnalignedDecode). Modules of a whole number of 1/50-inch steps,
// with the square's corner on that grid counted from the page's top-left corner (where Poppler,
// MuPDF and printers start their rows and columns), have every edge on a pixel boundary at 100,
// 150, 200, 300 and 600 dpi: black and white pixels only. The square is centred in the template's
// square on the grid; a symbol too large for one grid step a module (version 16: 89 × 0.508 mm =
// 45.2 mm) keeps the template's square and module size (size / 89 = 0.506 mm, ≈ 2 px at 100 dpi).
PageQr fit_qr(double x, double y, double size, int width) {
  PageQr q;
  q.x_mm = x;
  q.y_mm = y;
  q.size_mm = size;
  const int modules = width + 8;  // ISO/IEC 18004 §9.1: 4-module quiet zone on each side
  const double g = kQrGridMm;
  // One grid step of slack so that a grid point lies inside the square for the corner.
  const auto steps = static_cast<int>(std::floor((size - g) / (modules * g) + 1e-9));
  if (steps < 1) return q;
  const double side = modules * steps * g;
  auto snap = [&](double at) {
    double v = std::ceil((at + (size - side) / 2) / g - 1e-9) * g;
    if (v + side > at + size + 1e-9) v -= g;
    return v;
  };
  q.x_mm = snap(x);
  q.y_mm = snap(y);
  q.size_mm = side;
  return q;
}

void set_rgb(cairo_t* cr, unsigned rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
                       (rgb & 0xFF) / 255.0);
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// "2026-11-22T20:00:00+08:00" — licence times are China time (UTC+8).
std::string china_time(std::int64_t t) {
  const std::int32_t d = china_date(t);
  std::int64_t s = (t + 8 * 3600) % 86400;
  if (s < 0) s += 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", d / 10000, d / 100 % 100,
                d % 100, static_cast<int>(s / 3600), static_cast<int>(s / 60 % 60),
                static_cast<int>(s % 60));
  return buf;
}

std::string xml_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// XMP packet (ISO 16684-1) with Dublin Core, XMP basic and the GB/T 36903 items.
std::string make_xmp(const nlohmann::json& md, const std::string& created) {
  auto s = [&](const char* k) {
    const auto& v = md[k];
    return xml_escape(v.is_string() ? v.get<std::string>() : v.dump());
  };
  std::string x;
  x += "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n";
  x += "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n";
  x += "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n";
  x += "<rdf:Description rdf:about=\"\"\n";
  x += "  xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n";
  x += "  xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n";
  x += "  xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n";
  x += "  xmlns:lic=\"https://lic.ali.example/ns/gbt36903/1.0/\"\n";
  x += "  xmlns:licx=\"https://lic.ali.example/ns/face-fields/1.0/\">\n";
  x += " <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">" + s("title") +
       "</rdf:li><rdf:li xml:lang=\"zh-CN\">" + s("title") + "</rdf:li><rdf:li xml:lang=\"bo\">" +
       s("title_bo") + "</rdf:li></rdf:Alt></dc:title>\n";
  x += " <dc:creator><rdf:Seq><rdf:li>" + s("issuer") + "</rdf:li></rdf:Seq></dc:creator>\n";
  x += " <dc:identifier>" + s("identifier") + "</dc:identifier>\n";
  x += " <xmp:CreateDate>" + created + "</xmp:CreateDate>\n";
  x += " <xmp:CreatorTool>libcert</xmp:CreatorTool>\n";
  x += " <pdf:Keywords>" + s("number") + "</pdf:Keywords>\n";
  for (const auto& it : detail::kLicenceRecordItems) {
    x += std::string(" <lic:") + it[1] + ">" + s(it[0]) + "</lic:" + it[1] + ">\n";
  }
  // The departments that may add an approval seal (trust.md "Roles"): the verifier accepts a
  // later seal of another department only when it is listed here, under the issuer's seal.
  if (md.contains("co_issuer_codes") && !md["co_issuer_codes"].empty()) {
    x += " <lic:CoIssuingAuthorityCodes><rdf:Bag>";
    for (const auto& c : md["co_issuer_codes"]) {
      x += "<rdf:li>" + xml_escape(c.get<std::string>()) + "</rdf:li>";
    }
    x += "</rdf:Bag></lic:CoIssuingAuthorityCodes>\n";
  }
  x += " <lic:Extension rdf:parseType=\"Resource\">\n";
  for (const auto& [k, v] : md["extension"].items()) {
    x += "  <licx:" + k + ">" + xml_escape(v.get<std::string>()) + "</licx:" + k + ">\n";
  }
  x += " </lic:Extension>\n";
  x += "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n";
  // No padding (XMP part 1 §7.3.3): a sealed licence is never edited in place, and bytes count.
  x += "<?xpacket end=\"w\"?>";
  return x;
}

// Adds an XMP metadata stream to a PDF written by cairo and points the catalogue's /Metadata at
// it (ISO 32000-1 §14.3.2), rewriting cairo's classic xref table (§7.5.4) so the file stays a
// single revision. Only cairo's own, known output is accepted; anything else is a bug.
std::string add_xmp(const std::string& pdf, const std::string& xmp) {
  auto bad = [](const char* why) {
    return Error(ErrorCode::kInternal, std::string("unexpected cairo PDF structure: ") + why);
  };
  const std::size_t sx = pdf.rfind("startxref");
  if (sx == std::string::npos) throw bad("no startxref");
  const std::size_t xref_pos = std::stoul(pdf.substr(sx + 9, 24));
  if (pdf.compare(xref_pos, 5, "xref\n") != 0) throw bad("startxref does not point at xref");
  std::size_t p = xref_pos + 5;
  const std::size_t nl = pdf.find('\n', p);
  unsigned first = 0, count = 0;
  if (std::sscanf(pdf.substr(p, nl - p).c_str(), "%u %u", &first, &count) != 2 || first != 0) {
    throw bad("xref subsection");
  }
  p = nl + 1;
  std::vector<std::size_t> offsets(count);
  std::vector<bool> in_use(count);
  for (unsigned i = 0; i < count; ++i) {
    const std::string e = pdf.substr(p + 20 * i, 20);
    if (e.size() != 20 || (e[17] != 'n' && e[17] != 'f')) throw bad("xref entry");
    offsets[i] = std::stoul(e.substr(0, 10));
    in_use[i] = e[17] == 'n';
  }
  const std::size_t trailer_pos = p + 20 * count;
  if (pdf.compare(trailer_pos, 7, "trailer") != 0) throw bad("no trailer after xref");
  const std::size_t trailer_end = pdf.find(">>", trailer_pos);
  std::string trailer = pdf.substr(trailer_pos, trailer_end + 2 - trailer_pos);
  std::smatch m;
  static const std::regex root_re("/Root (\\d+) 0 R");
  static const std::regex size_re("/Size (\\d+)");
  if (!std::regex_search(trailer, m, root_re)) throw bad("no /Root");
  const unsigned root = static_cast<unsigned>(std::stoul(m[1]));
  if (root >= count || !in_use[root]) throw bad("/Root not in xref");
  const std::size_t cat = offsets[root];
  const std::string head = std::to_string(root) + " 0 obj";
  if (pdf.compare(cat, head.size(), head) != 0) throw bad("catalogue offset");
  const std::size_t dict = pdf.find("<<", cat);
  if (dict == std::string::npos || dict > cat + head.size() + 4) throw bad("catalogue dict");
  const unsigned meta_obj = count;
  const std::string insert = " /Metadata " + std::to_string(meta_obj) + " 0 R";
  const std::size_t at = dict + 2;

  std::string out;
  out.reserve(pdf.size() + xmp.size() + 256);
  out.append(pdf, 0, at);
  out += insert;
  out.append(pdf, at, xref_pos - at);
  const std::size_t meta_pos = out.size();
  out += std::to_string(meta_obj) + " 0 obj\n<< /Type /Metadata /Subtype /XML /Length " +
         std::to_string(xmp.size()) + " >>\nstream\n" + xmp + "\nendstream\nendobj\n";
  const std::size_t new_xref = out.size();
  out += "xref\n0 " + std::to_string(count + 1) + "\n";
  char e[32];
  for (unsigned i = 0; i < count; ++i) {
    std::size_t off = offsets[i];
    if (in_use[i] && off >= at) off += insert.size();
    std::snprintf(e, sizeof e, "%010zu %05d %c \n", off, in_use[i] ? 0 : 65535,
                  in_use[i] ? 'n' : 'f');
    out += e;
  }
  std::snprintf(e, sizeof e, "%010zu 00000 n \n", meta_pos);
  out += e;
  trailer = std::regex_replace(trailer, size_re, "/Size " + std::to_string(count + 1));
  out += trailer + "\nstartxref\n" + std::to_string(new_xref) + "\n%%EOF\n";
  return out;
}

std::string families_str(const std::vector<std::string>& fams) {
  std::string s;
  for (const auto& f : fams) s += (s.empty() ? "" : ", ") + f;
  return s;
}

}  // namespace

std::string detail::add_xmp_to_cairo_pdf(const std::string& pdf, const std::string& xmp) {
  return add_xmp(pdf, xmp);
}
std::string detail::licence_xmp(const nlohmann::json& md, const std::string& created) {
  return make_xmp(md, created);
}
std::string detail::licence_time(std::int64_t t) { return china_time(t); }

// ---- Shaping and fitting ------------------------------------------------------------------------

struct Renderer::Impl {
  // Every text block of the template, shaped (shaper.h), fitted into its box (wrap and/or shrink)
  // and appended to page.text as glyph runs; page.fonts gets the faces used. Throws what
  // Renderer::render documents.
  void place_text(const Template& t, const LicenceData& data, const RenderInput& in,
                  PageLayout& page);
  PageLayout build(const Template& t, const LicenceData& data, const RenderInput& in,
                   std::optional<QrMatrix>& qm);
  // A cairo font face for a layout font (render()'s cairo path), made once per file and face.
  cairo_font_face_t* cairo_face(const PageFont& f);

  shape::FontBook fonts;
  // Text that is the same on every licence of a template (Template::is_constant: labels, titles,
  // notes) is shaped once and kept, shared by all threads: a shaped text is immutable and
  // size-independent. Bounded: cleared when full (the 24 templates hold ~1,000 such texts).
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const shape::Shaped>> constants;
  // Blocks of constant text, fitted and placed once (the key: place_text).
  struct FittedBlock {
    std::vector<std::shared_ptr<const shape::Shaped>> shaped;  // keeps the key's addresses unique
    std::vector<std::pair<const shape::FontFace*, GlyphRun>> runs;
  };
  std::unordered_map<std::string, std::shared_ptr<const FittedBlock>> blocks;
  static constexpr std::size_t kMaxConstant = 8192;
  std::mutex cairo_mu;
  std::map<std::pair<std::string, int>, cairo_font_face_t*> cairo_faces;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    for (auto& [k, f] : cairo_faces) cairo_font_face_destroy(f);
  }
};

Renderer::Renderer() : impl_(std::make_unique<Impl>()) {}
Renderer::~Renderer() = default;

void Renderer::Impl::place_text(const Template& t, const LicenceData& data, const RenderInput& in,
                                PageLayout& page) {
  const Layout& lay = t.layout();
  const IssueContext ictx{in.identifier, in.issue_date, in.version};

  // The faces of each role, in order; every family must be installed.
  std::map<std::string, std::vector<const shape::FontFace*>> roles;
  auto faces_of = [&](const std::string& role) -> const std::vector<const shape::FontFace*>& {
    if (auto it = roles.find(role); it != roles.end()) return it->second;
    std::vector<const shape::FontFace*> v;
    for (const auto& f : lay.fonts.at(role)) {
      const shape::FontFace* face = fonts.find(f);
      if (!face) {
        throw Error(ErrorCode::kRender, "font family '" + f + "' (font role '" + role +
                                            "') is not installed (fontconfig)");
      }
      v.push_back(face);
    }
    return roles.emplace(role, std::move(v)).first->second;
  };

  // 1. Expand and shape every text; every character must have a glyph in a family of its role.
  std::vector<std::vector<std::shared_ptr<const shape::Shaped>>> shaped(lay.blocks.size());
  std::vector<Problem> missing;
  for (std::size_t b = 0; b < lay.blocks.size(); ++b) {
    const TextBlock& blk = lay.blocks[b];
    const std::string who = blk.field.empty() ? blk.what : blk.field;
    const bool wrap = blk.fit == Fit::kWrap || blk.fit == Fit::kWrapShrink;
    for (const TextLine& line : blk.lines) {
      std::string text = t.expand(line.text, data, ictx);
      const auto& faces = faces_of(line.font);
      if (text.empty()) {
        shaped[b].push_back(nullptr);
        continue;
      }
      const bool constant = t.is_constant(line.text);
      std::string key;
      if (constant) {
        key = text;
        key += '\0';
        key += line.font;
        for (const auto* f : faces) (key += '\0') += f->family;
        key += wrap ? "\1" : "\2";
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = constants.find(key); it != constants.end()) {
          shaped[b].push_back(it->second);
          continue;
        }
      }
      std::vector<shape::Missing> miss;
      std::shared_ptr<const shape::Shaped> s;
      try {
        s = shape::shape_text(text, faces, wrap, miss);
      } catch (const Error& e) {
        throw Error(e.code(), who + ": " + e.what());
      }
      for (const auto& m : miss) {
        missing.push_back({who, "no-glyph",
                           "character " + text::code_point_name(m.cp) + " '" + text::encode(m.cp) +
                               "' has no glyph in any configured font (" +
                               families_str(lay.fonts.at(line.font)) + ")"});
      }
      if (s && constant) {
        std::lock_guard<std::mutex> lock(mu);
        if (constants.size() >= kMaxConstant) constants.clear();
        constants.emplace(std::move(key), s);
      }
      shaped[b].push_back(std::move(s));
    }
  }
  if (!missing.empty()) {
    throw Error(ErrorCode::kRender, "field " + missing[0].field + ": " + missing[0].message,
                missing);
  }

  // 2. Text blocks: wrap and/or shrink into the box; never clip.
  std::map<const shape::FontFace*, std::size_t> font_ids;
  std::vector<const shape::FontFace*> page_faces;  // parallel to page.fonts
  auto font_id = [&](const shape::FontFace* face) {
    auto [it, added] = font_ids.try_emplace(face, page.fonts.size());
    if (added) {
      page.fonts.push_back({face->family, face->file, face->index});
      page_faces.push_back(face);
    }
    return it->second;
  };
  for (std::size_t b = 0; b < lay.blocks.size(); ++b) {
    const TextBlock& blk = lay.blocks[b];
    const std::string who = blk.field.empty() ? blk.what : blk.field;
    // A block of constant text only (labels, titles, notes) is fitted once: its glyph runs are
    // kept with the shaped texts they came from (which keeps their addresses, part of the key,
    // unique) and the block's geometry.
    const bool all_constant = std::all_of(blk.lines.begin(), blk.lines.end(),
                                          [&](const TextLine& l) { return t.is_constant(l.text); });
    std::string block_key;
    if (all_constant) {
      auto put = [&](const auto& v) {
        block_key.append(reinterpret_cast<const char*>(&v), sizeof v);
      };
      put(blk.box);
      put(blk.fit);
      put(blk.align);
      put(blk.valign);
      for (std::size_t i = 0; i < blk.lines.size(); ++i) {
        put(shaped[b][i].get());
        put(blk.lines[i].size_pt);
        put(blk.lines[i].min_size_pt);
        put(blk.lines[i].letter_spacing_pt);
        put(blk.lines[i].rgb);
      }
      std::shared_ptr<const FittedBlock> hit;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = blocks.find(block_key); it != blocks.end()) hit = it->second;
      }
      if (hit) {
        for (const auto& [face, run] : hit->runs) {
          page.text.push_back(run);
          page.text.back().font = font_id(face);
          page.text.back().field = blk.field;
        }
        continue;
      }
    }
    const std::size_t first_run = page.text.size();
    const double bw = pt(blk.box.w), bh = pt(blk.box.h);
    const bool wrap = blk.fit == Fit::kWrap || blk.fit == Fit::kWrapShrink;
    const bool shrink = blk.fit == Fit::kShrink || blk.fit == Fit::kWrapShrink;
    std::vector<shape::SetText> best;
    std::vector<double> sizes;
    double best_total = 0;
    bool fits = false;
    for (double scale = 1.0;; scale -= 0.02) {
      std::vector<shape::SetText> f;
      std::vector<double> sz;
      double total = 0;
      bool at_min = true;
      bool width_ok = true;
      for (std::size_t i = 0; i < blk.lines.size(); ++i) {
        const TextLine& line = blk.lines[i];
        const double size = std::max(line.size_pt * scale, line.min_size_pt);
        if (size > line.min_size_pt + 1e-9) at_min = false;
        sz.push_back(size);
        if (!shaped[b][i]) {  // empty text: no line at all
          f.emplace_back();
          continue;
        }
        shape::SetText st =
            shape::set_text(*shaped[b][i], size, line.letter_spacing_pt, wrap ? bw : -1.0);
        if (!wrap && st.width > bw + 0.01) width_ok = false;
        if (wrap && !st.wrapped && st.width > bw + 0.01) width_ok = false;
        total += st.height;
        f.push_back(std::move(st));
      }
      if (width_ok && total <= bh + 0.01) {
        best = std::move(f);
        sizes = std::move(sz);
        best_total = total;
        fits = true;
        break;
      }
      if (!shrink || at_min) break;
    }
    if (!fits) {
      throw Error(ErrorCode::kRender,
                  "field " + who + ": value does not fit its box (" +
                      std::to_string(static_cast<int>(std::lround(blk.box.w))) + " x " +
                      std::to_string(static_cast<int>(std::lround(blk.box.h))) +
                      " mm) even at the minimum font size",
                  {{who, "does-not-fit", "value does not fit its box even at the minimum size"}});
    }

    // 3. Glyph runs: one per stretch of a line in one face.
    double y = pt(blk.box.y);
    if (blk.valign == VAlign::kMiddle) y += (bh - best_total) / 2;
    if (blk.valign == VAlign::kBottom) y += bh - best_total;
    for (std::size_t i = 0; i < best.size(); ++i) {
      if (!shaped[b][i]) continue;
      const shape::Shaped& s = *shaped[b][i];
      const TextLine& line = blk.lines[i];
      const double size = sizes[i];
      const bool constant = t.is_constant(line.text);
      // Letter spacing as pango splits it around a cluster (pango_glyph_item_letter_space): half
      // before (rounded to whole points when the spacing is whole points), the rest after.
      const int ls = static_cast<int>(line.letter_spacing_pt * 1024);
      int ls_left = ls / 2;
      if ((ls & 1023) == 0) ls_left = (ls_left + 512) & ~1023;
      const double left = ls_left / 1024.0, right = line.letter_spacing_pt - left;
      const shape::SetText& st = best[i];
      for (const shape::Line& ln : st.lines) {
        double x = pt(blk.box.x);
        // Not wrapping: the text is aligned as a whole (its widest line) in the box; wrapping:
        // each line within the box's width.
        const double w = wrap ? ln.width : st.width;
        if (blk.align == Align::kCenter) x += (bw - w) / 2;
        if (blk.align == Align::kRight) x += bw - w;
        const double baseline = y + ln.ascent;
        std::uint32_t last = ln.end;  // the line's last cluster that is not a separator
        while (last > ln.first && s.clusters[last - 1].newline) --last;
        double pen = x;
        GlyphRun* run = nullptr;
        std::uint32_t run_begin = 0;
        for (std::uint32_t k = ln.first; k < last; ++k) {
          const shape::Cluster& c = s.clusters[k];
          const shape::FontFace* face = s.faces[c.face];
          const std::size_t fid = font_id(face);
          if (!run || run->font != fid) {
            if (run && run->glyphs.empty()) page.text.pop_back();
            GlyphRun gr;
            gr.font = fid;
            gr.size_pt = size;
            gr.rgb = line.rgb;
            gr.field = blk.field;
            gr.constant = constant;
            page.text.push_back(std::move(gr));
            run = &page.text.back();
            run_begin = c.begin;
          }
          run->text.append(s.text, c.begin, c.end - c.begin);
          if (ln.hang && k + 1 == last) continue;  // a hanging space: text, no glyph
          for (std::uint32_t g = 0; g < c.glyph_count; ++g) {
            const shape::Glyph& gl = s.glyphs[c.first_glyph + g];
            if (gl.id == 0) {
              throw Error(ErrorCode::kRender, "field " + who + ": a character has no glyph");
            }
            double xo = gl.x_offset * size, adv = gl.advance * size;
            if (g == 0 && k > ln.first) xo += left, adv += left;
            if (g + 1 == c.glyph_count && k + 1 < last) adv += right;
            PlacedGlyph pg;
            pg.id = gl.id;
            pg.x_mm = (pen + xo) / kPtPerMm;
            pg.y_mm = (baseline - gl.y_offset * size) / kPtPerMm;
            pg.advance_mm = adv / kPtPerMm;
            pg.cluster = c.begin - run_begin;
            run->glyphs.push_back(pg);
            pen += adv;
          }
        }
        if (run && run->glyphs.empty()) page.text.pop_back();
        y += ln.ascent + ln.descent;
      }
    }
    if (all_constant) {
      auto fb = std::make_shared<FittedBlock>();
      fb->shaped = shaped[b];
      for (std::size_t r = first_run; r < page.text.size(); ++r) {
        fb->runs.emplace_back(page_faces[page.text[r].font], page.text[r]);
      }
      std::lock_guard<std::mutex> lock(mu);
      if (blocks.size() >= kMaxConstant) blocks.clear();
      blocks.emplace(std::move(block_key), std::move(fb));
    }
  }
}

PageLayout Renderer::Impl::build(const Template& t, const LicenceData& data, const RenderInput& in,
                                 std::optional<QrMatrix>& qm) {
  PageLayout page;
  const double W = t.page().width_mm, H = t.page().height_mm;
  page.width_mm = W;
  page.height_mm = H;
  // The frame: a strong outer rule and a fine inner rule, like the printed forms (centre lines of
  // the rules).
  const Frame& fr = t.layout().frame;
  auto rule = [&](double inset, double width) {
    PagePath p;
    p.subpaths = {{{inset, inset}, {W - inset, inset}, {W - inset, H - inset}, {inset, H - inset}}};
    p.line_width_mm = width;
    p.stroke_rgb = fr.rgb;
    page.paths.push_back(std::move(p));
  };
  if (fr.inset_mm > 0) {
    if (fr.outer_mm > 0) rule(fr.inset_mm, fr.outer_mm);
    if (fr.inner_mm > 0) rule(fr.inset_mm + fr.outer_mm / 2 + fr.gap_mm, fr.inner_mm);
  }
  place_text(t, data, in, page);
  const QrPlacement& q = t.qr();
  const QrEcc ecc = q.ecc == 'L'   ? QrEcc::kL
                    : q.ecc == 'Q' ? QrEcc::kQ
                    : q.ecc == 'H' ? QrEcc::kH
                                   : QrEcc::kM;
  qm.emplace(QrMatrix::encode(in.qr_text, ecc));
  page.qr = fit_qr(q.x_mm, q.y_mm, q.size_mm, qm->width());
  page.qr.width = qm->width();
  page.qr.version = qm->version();
  page.qr.mask = qm->mask();
  page.qr.modules.resize(static_cast<std::size_t>(qm->width()) *
                         static_cast<std::size_t>(qm->width()));
  for (int r = 0; r < qm->width(); ++r) {
    for (int c = 0; c < qm->width(); ++c) {
      page.qr.modules[static_cast<std::size_t>(r) * static_cast<std::size_t>(qm->width()) +
                      static_cast<std::size_t>(c)] = qm->dark(c, r) ? 1 : 0;
    }
  }
  page.seal = {t.department().seal, t.seal().cx_mm, t.seal().cy_mm};
  return page;
}

cairo_font_face_t* Renderer::Impl::cairo_face(const PageFont& f) {
  std::lock_guard<std::mutex> lock(cairo_mu);
  const std::pair<std::string, int> key{f.file, f.face_index};
  if (auto it = cairo_faces.find(key); it != cairo_faces.end()) return it->second;
  // The face pango makes for the family (fontconfig's match for the family with the cairo font
  // options of an unhinted vector surface substituted first, as pango-cairo does): cairo keeps one
  // font face per file and options, so the seal's glyphs (drawn through pango, seal_image.cpp)
  // and the layout's share it, and the PDF gets one subset per font instead of two.
  gobj::FcPatternPtr want(FcPatternCreate());
  FcPatternAddString(want.get(), FC_FAMILY, reinterpret_cast<const FcChar8*>(f.family.c_str()));
  FcPatternAddInteger(want.get(), FC_WEIGHT, FC_WEIGHT_REGULAR);
  FcPatternAddInteger(want.get(), FC_SLANT, FC_SLANT_ROMAN);
  {
    gobj::FontOptions fo(cairo_font_options_create());
    cairo_font_options_set_hint_style(fo.get(), CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo.get(), CAIRO_HINT_METRICS_OFF);
    cairo_ft_font_options_substitute(fo.get(), want.get());
  }
  FcConfigSubstitute(nullptr, want.get(), FcMatchPattern);
  FcDefaultSubstitute(want.get());
  FcResult res = FcResultNoMatch;
  gobj::FcPatternPtr pat(FcFontMatch(nullptr, want.get(), &res));
  FcChar8* file = nullptr;
  int index = 0;
  if (!pat || FcPatternGetString(pat.get(), FC_FILE, 0, &file) != FcResultMatch ||
      FcPatternGetInteger(pat.get(), FC_INDEX, 0, &index) != FcResultMatch ||
      f.file != reinterpret_cast<const char*>(file) || index != f.face_index) {
    // Not the family's face (the layout names a file directly): that file, as it is.
    pat.reset(FcPatternCreate());
    FcPatternAddString(pat.get(), FC_FILE, reinterpret_cast<const FcChar8*>(f.file.c_str()));
    FcPatternAddInteger(pat.get(), FC_INDEX, f.face_index);
    FcPatternAddBool(pat.get(), FC_HINTING, FcFalse);
  }
  cairo_font_face_t* face = cairo_ft_font_face_create_for_pattern(pat.get());
  if (cairo_font_face_status(face) != CAIRO_STATUS_SUCCESS) {
    cairo_font_face_destroy(face);
    throw Error(ErrorCode::kRender, "font '" + f.family + "': cairo cannot load " + f.file);
  }
  cairo_faces.emplace(key, face);
  return face;
}

RenderResult Renderer::render_own_writer(const Template& t, const LicenceData& data,
                                         const RenderInput& in) const {
  return pdfw::render(*this, t, data, in);
}

RenderResult Renderer::render(const Template& t, const LicenceData& data,
                              const RenderInput& in) const {
  // The face is laid out once (layout()), then drawn by cairo: one layout engine for every writer.
  std::optional<QrMatrix> qm;
  const PageLayout page = impl_->build(t, data, in, qm);

  // The PDF surface, in points; metadata in the information dictionary.
  const double W = pt(page.width_mm), H = pt(page.height_mm);
  std::string bytes;
  gobj::Surface surface(cairo_pdf_surface_create_for_stream(append_to_string, &bytes, W, H));
  nlohmann::json md = t.metadata(data, IssueContext{in.identifier, in.issue_date, in.version});
  const std::string created = china_time(in.created_at);
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, t.title().zh.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_AUTHOR,
                                 t.department().name.zh.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_SUBJECT, in.identifier.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_KEYWORDS,
                                 data.value(t.number_field()).c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "libcert");
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATE_DATE, created.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_MOD_DATE, created.c_str());
  gobj::Cairo cr(cairo_create(surface.get()));

  // Paths (the frame's rules).
  for (const PagePath& p : page.paths) {
    for (const auto& sp : p.subpaths) {
      for (std::size_t i = 0; i < sp.size(); ++i) {
        if (i == 0) {
          cairo_move_to(cr.get(), pt(sp[i].x_mm), pt(sp[i].y_mm));
        } else {
          cairo_line_to(cr.get(), pt(sp[i].x_mm), pt(sp[i].y_mm));
        }
      }
      cairo_close_path(cr.get());
    }
    if (p.fill) {
      set_rgb(cr.get(), p.fill_rgb);
      if (p.line_width_mm > 0) {
        cairo_fill_preserve(cr.get());
      } else {
        cairo_fill(cr.get());
      }
    }
    if (p.line_width_mm > 0) {
      set_rgb(cr.get(), p.stroke_rgb);
      cairo_set_line_width(cr.get(), pt(p.line_width_mm));
      cairo_stroke(cr.get());
    }
  }

  // Text: the layout's glyphs, with their clusters so that the PDF's text extracts exactly
  // (cairo writes ToUnicode and ActualText from them).
  {
    // Vector output: no hinting, unrounded metrics (as the layout measured).
    gobj::FontOptions fo(cairo_font_options_create());
    cairo_font_options_set_hint_style(fo.get(), CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo.get(), CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(cr.get(), fo.get());
  }
  std::vector<cairo_glyph_t> glyphs;
  std::vector<cairo_text_cluster_t> clusters;
  for (const GlyphRun& run : page.text) {
    cairo_set_font_face(cr.get(), impl_->cairo_face(page.fonts.at(run.font)));
    cairo_set_font_size(cr.get(), run.size_pt);
    set_rgb(cr.get(), run.rgb);
    glyphs.clear();
    clusters.clear();
    // Clusters in text order: glyphs sharing a cluster offset form one; text without a glyph
    // (a hanging space) joins the cluster before it.
    for (std::size_t i = 0; i < run.glyphs.size(); ++i) {
      const PlacedGlyph& g = run.glyphs[i];
      glyphs.push_back({g.id, pt(g.x_mm), pt(g.y_mm)});
      if (i > 0 && g.cluster == run.glyphs[i - 1].cluster) {
        ++clusters.back().num_glyphs;
      } else {
        clusters.push_back({0, 1});
      }
    }
    std::size_t ci = 0;
    for (std::size_t i = 0; i < run.glyphs.size(); ++i) {
      if (i > 0 && run.glyphs[i].cluster == run.glyphs[i - 1].cluster) continue;
      std::size_t j = i + 1;
      while (j < run.glyphs.size() && run.glyphs[j].cluster == run.glyphs[i].cluster) ++j;
      const std::size_t end = j < run.glyphs.size() ? run.glyphs[j].cluster : run.text.size();
      std::size_t begin = run.glyphs[i].cluster;
      if (ci == 0) begin = 0;
      clusters[ci++].num_bytes = static_cast<int>(end - begin);
    }
    cairo_show_text_glyphs(cr.get(), run.text.data(), static_cast<int>(run.text.size()),
                           glyphs.data(), static_cast<int>(glyphs.size()), clusters.data(),
                           static_cast<int>(clusters.size()), cairo_text_cluster_flags_t{});
  }

  // QR code (an image mask, qr.h).
  draw_qr(cr.get(), *qm, pt(page.qr.x_mm), pt(page.qr.y_mm), page.qr.size_mm);

  // The seal last, over the issuer and date, multiplied like ink so the date stays legible.
  const SealSpec& spec = page.seal.spec;
  const double cx = pt(page.seal.cx_mm), cy = pt(page.seal.cy_mm);
  cairo_save(cr.get());
  cairo_set_operator(cr.get(), CAIRO_OPERATOR_MULTIPLY);
  draw_seal(cr.get(), spec, cx, cy);
  cairo_restore(cr.get());

  cr.reset();
  cairo_surface_finish(surface.get());
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(
        ErrorCode::kInternal,
        std::string("cairo PDF: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  surface.reset();

  RenderResult r;
  r.pdf = add_xmp(bytes, make_xmp(md, created));
  const double rad = pt(spec.diameter_mm) / 2;
  r.seal = {0, cx - rad, H - cy - rad, 2 * rad, 2 * rad};
  r.metadata = std::move(md);
  return r;
}

PageLayout Renderer::layout(const Template& t, const LicenceData& data,
                            const RenderInput& in) const {
  std::optional<QrMatrix> qm;
  return impl_->build(t, data, in, qm);
}

}  // namespace libcert
