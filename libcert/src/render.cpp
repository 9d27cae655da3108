// Rendering a licence face into an unsigned PDF with cairo + pango (HarfBuzz shaping).
#include "libcert/render.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-font.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

#include "gobj.h"
#include "libcert/error.h"
#include "libcert/qr.h"
#include "libcert/seal_image.h"
#include "text.h"
#include "xmp.h"

namespace libcert {

namespace {

constexpr double kPtPerMm = 72.0 / 25.4;
double pt(double mm) { return mm * kPtPerMm; }

void set_rgb(cairo_t* cr, unsigned rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
                       (rgb & 0xFF) / 255.0);
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
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

PangoAlignment pango_align(Align a) {
  switch (a) {
    case Align::kLeft:
      return PANGO_ALIGN_LEFT;
    case Align::kCenter:
      return PANGO_ALIGN_CENTER;
    case Align::kRight:
      return PANGO_ALIGN_RIGHT;
  }
  return PANGO_ALIGN_LEFT;
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

// ---- Font coverage (fontconfig) ----------------------------------------------------------------

struct Renderer::Impl {
  using EmitLine =
      std::function<void(const TextBlock&, const TextLine&, PangoLayout*, double, double)>;
  void place_text(const Template& t, const LicenceData& data, const RenderInput& in,
                  const EmitLine& emit);
  std::mutex mu;
  // family (lower case) -> union of the charsets of its installed faces; null if not installed.
  std::map<std::string, std::shared_ptr<gobj::FcCharSetPtr>> charsets;

  std::shared_ptr<gobj::FcCharSetPtr> charset(const std::string& family) {
    std::lock_guard<std::mutex> lock(mu);
    const std::string key = lower(family);
    if (auto it = charsets.find(key); it != charsets.end()) return it->second;
    gobj::FcPatternPtr pat(FcPatternCreate());
    FcPatternAddString(pat.get(), FC_FAMILY, reinterpret_cast<const FcChar8*>(family.c_str()));
    gobj::FcObjectSetPtr os(FcObjectSetBuild(FC_FAMILY, FC_CHARSET, nullptr));
    gobj::FcFontSetPtr fs(FcFontList(nullptr, pat.get(), os.get()));
    std::shared_ptr<gobj::FcCharSetPtr> cs;
    if (fs && fs->nfont > 0) {
      cs = std::make_shared<gobj::FcCharSetPtr>(FcCharSetCreate());
      for (int i = 0; i < fs->nfont; ++i) {
        FcCharSet* c = nullptr;
        if (FcPatternGetCharSet(fs->fonts[i], FC_CHARSET, 0, &c) == FcResultMatch) {
          FcCharSetMerge(cs->get(), c, nullptr);
        }
      }
    }
    charsets[key] = cs;
    return cs;
  }
};

Renderer::Renderer() : impl_(std::make_unique<Impl>()) {}
Renderer::~Renderer() = default;

namespace {

struct Fitted {
  std::vector<gobj::Object<PangoLayout>> layouts;
  std::vector<double> heights;
  double total = 0;
};

// A run of text set in one family: [begin, end) in bytes.
struct FamilyRun {
  std::size_t begin = 0, end = 0;
  std::size_t family = 0;
};

gobj::Object<PangoLayout> new_layout(PangoContext* ctx, const std::string& text,
                                     const std::vector<std::string>& fams,
                                     const std::vector<FamilyRun>& runs, double size,
                                     double spacing, bool wrap, double width_pt, Align align) {
  gobj::Object<PangoLayout> l(pango_layout_new(ctx));
  gobj::FontDescription fd(pango_font_description_new());
  pango_font_description_set_family(fd.get(), fams.front().c_str());
  pango_font_description_set_absolute_size(fd.get(), size * PANGO_SCALE);
  pango_layout_set_font_description(l.get(), fd.get());
  gobj::AttrList attrs(pango_attr_list_new());
  // The family of every character is chosen here, not by pango's fallback: the first family of
  // the role that has the glyph. So each glyph comes from a known, embedded-as-subset font, and
  // e.g. digits and spaces in Tibetan lines come from the CJK font already in the file instead
  // of adding a second subset of the Tibetan font.
  for (const auto& r : runs) {
    PangoAttribute* a = pango_attr_family_new(fams[r.family].c_str());
    a->start_index = static_cast<guint>(r.begin);
    a->end_index = static_cast<guint>(r.end);
    pango_attr_list_insert(attrs.get(), a);
  }
  if (spacing > 0) {
    pango_attr_list_insert(attrs.get(),
                           pango_attr_letter_spacing_new(static_cast<int>(spacing * PANGO_SCALE)));
  }
  pango_layout_set_attributes(l.get(), attrs.get());
  if (wrap) {
    // Line breaks follow UAX #14 as implemented by pango: after a Tibetan tsheg, between CJK
    // characters; never inside a syllable or a stack.
    pango_layout_set_width(l.get(), static_cast<int>(width_pt * PANGO_SCALE));
    pango_layout_set_wrap(l.get(), PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l.get(), pango_align(align));
  }
  pango_layout_set_text(l.get(), text.c_str(), static_cast<int>(text.size()));
  return l;
}

// Shaping is, after compression, the largest cost of a render (perf, 2026-11-22:
// pango_shape_item ≈ 23 % of an issuance), and most of a licence's text — the bilingual title,
// labels and notes — is the same on every licence of a template. Laid-out PangoLayouts are
// therefore kept and reused across documents, per thread: a PangoLayout and its PangoContext
// must not be used from two threads at once, and pango's default cairo font map is per thread.
// A layout depends only on its text, families, size, spacing and wrapping, which form the key.
// Only text that is the same on every licence (Template::is_constant) is cached, so a thread's
// cache holds at most the labels of the templates it issues (~40 layouts each) and stops growing
// after its first licence of each template. Bounded all the same: when full, the entries not used
// since the previous sweep are dropped.
class LayoutCache {
 public:
  LayoutCache() {
    ctx_.reset(pango_font_map_create_context(pango_cairo_font_map_get_default()));
    // Vector output: no hinting, unrounded positions, so metrics do not depend on a device
    // resolution (the same options pango_cairo_create_context would take from a PDF surface,
    // set explicitly).
    gobj::FontOptions fo(cairo_font_options_create());
    cairo_font_options_set_hint_style(fo.get(), CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo.get(), CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(ctx_.get(), fo.get());
    pango_context_set_round_glyph_positions(ctx_.get(), FALSE);
  }

  // A layout on this thread's context that is not cached (text that changes every licence).
  gobj::Object<PangoLayout> make(const std::string& text, const std::vector<std::string>& fams,
                                 const std::vector<FamilyRun>& runs, double size, double spacing,
                                 bool wrap, double width_pt, Align align) {
    return new_layout(ctx_.get(), text, fams, runs, size, spacing, wrap, width_pt, align);
  }

  // A new reference to the cached layout for these parameters, laid out on first use.
  gobj::Object<PangoLayout> get(const std::string& text, const std::vector<std::string>& fams,
                                const std::vector<FamilyRun>& runs, double size, double spacing,
                                bool wrap, double width_pt, Align align) {
    std::string key = text;
    key += '\0';
    for (const auto& f : fams) (key += f) += '\0';
    const double nums[] = {size, spacing, wrap ? width_pt : -1.0};
    key.append(reinterpret_cast<const char*>(nums), sizeof nums);
    key += static_cast<char>(wrap ? '0' + static_cast<int>(align) : '-');
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= kMaxEntries) sweep();
      auto l = new_layout(ctx_.get(), text, fams, runs, size, spacing, wrap, width_pt, align);
      // Lay it out now, once, rather than on first use by each document.
      pango_layout_get_extents(l.get(), nullptr, nullptr);
      it = entries_.emplace(std::move(key), Entry{std::move(l), false}).first;
    }
    it->second.used = true;
    return gobj::Object<PangoLayout>(
        static_cast<PangoLayout*>(g_object_ref(it->second.layout.get())));
  }

 private:
  static constexpr std::size_t kMaxEntries = 2048;
  struct Entry {
    gobj::Object<PangoLayout> layout;
    bool used;
  };
  void sweep() {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.used) {
        it->second.used = false;
        ++it;
      } else {
        it = entries_.erase(it);
      }
    }
    if (entries_.size() >= kMaxEntries) entries_.clear();  // everything was in use: start over
  }

  gobj::Object<PangoContext> ctx_;
  std::unordered_map<std::string, Entry> entries_;
};

LayoutCache& layout_cache() {
  thread_local LayoutCache cache;
  return cache;
}

}  // namespace

// Steps shared by the PDF output and the format-neutral layout: expand every text, check every
// character against its role's fonts, fit each block into its box (wrap and/or shrink), then call
// `emit` for every non-empty line with its laid-out PangoLayout and the top-left corner of the
// line in points (y down from the page top). Throws what Renderer::render documents.
void Renderer::Impl::place_text(const Template& t, const LicenceData& data, const RenderInput& in,
                                const EmitLine& emit) {
  const Layout& lay = t.layout();
  IssueContext ictx{in.identifier, in.issue_date, in.version};
  LayoutCache& layouts = layout_cache();

  // 1. Expand every text and check every character against the fonts of its role.
  std::vector<std::vector<std::string>> texts(lay.blocks.size());
  std::vector<std::vector<std::vector<FamilyRun>>> runs(lay.blocks.size());
  std::vector<Problem> missing;
  for (std::size_t b = 0; b < lay.blocks.size(); ++b) {
    const TextBlock& blk = lay.blocks[b];
    const std::string who = blk.field.empty() ? blk.what : blk.field;
    for (const TextLine& line : blk.lines) {
      texts[b].push_back(t.expand(line.text, data, ictx));
      const auto& fams = lay.fonts.at(line.font);
      std::vector<std::shared_ptr<gobj::FcCharSetPtr>> sets;
      for (const auto& f : fams) {
        auto cs = charset(f);
        if (!cs) {
          throw Error(ErrorCode::kRender, "font family '" + f + "' (font role '" + line.font +
                                              "') is not installed (fontconfig)");
        }
        sets.push_back(std::move(cs));
      }
      auto cps = text::decode(texts[b].back());
      if (!cps) throw Error(ErrorCode::kRender, who + ": text is not valid UTF-8");
      std::set<char32_t> reported;
      std::vector<FamilyRun> fr;
      std::size_t byte = 0;
      for (char32_t c : *cps) {
        const std::size_t len = text::encode(c).size();
        auto has = [&](std::size_t k) {
          return FcCharSetHasChar(sets[k]->get(), static_cast<FcChar32>(c)) != 0;
        };
        std::size_t fam = sets.size();
        // A combining mark stays in its base character's font when that font has it (one
        // cluster, one font: Tibetan vowel signs and subjoined letters shape with their base).
        const auto gc = u_charType(static_cast<UChar32>(c));
        if ((gc == U_NON_SPACING_MARK || gc == U_COMBINING_SPACING_MARK) && !fr.empty() &&
            has(fr.back().family)) {
          fam = fr.back().family;
        } else {
          for (std::size_t k = 0; k < sets.size(); ++k) {
            if (has(k)) {
              fam = k;
              break;
            }
          }
        }
        if (fam == sets.size()) {
          if (c != U'\n' && reported.insert(c).second) {
            missing.push_back({who, "no-glyph",
                               "character " + text::code_point_name(c) + " '" + text::encode(c) +
                                   "' has no glyph in any configured font (" + families_str(fams) +
                                   ")"});
          }
          fam = fr.empty() ? 0 : fr.back().family;
        }
        if (!fr.empty() && fr.back().family == fam && fr.back().end == byte) {
          fr.back().end = byte + len;
        } else {
          fr.push_back({byte, byte + len, fam});
        }
        byte += len;
      }
      runs[b].push_back(std::move(fr));
    }
  }
  if (!missing.empty()) {
    throw Error(ErrorCode::kRender, "field " + missing[0].field + ": " + missing[0].message,
                missing);
  }


  // 4. Text blocks: wrap and/or shrink into the box; never clip.
  for (std::size_t b = 0; b < lay.blocks.size(); ++b) {
    const TextBlock& blk = lay.blocks[b];
    const std::string who = blk.field.empty() ? blk.what : blk.field;
    const double bw = pt(blk.box.w), bh = pt(blk.box.h);
    const bool wrap = blk.fit == Fit::kWrap || blk.fit == Fit::kWrapShrink;
    const bool shrink = blk.fit == Fit::kShrink || blk.fit == Fit::kWrapShrink;
    Fitted best;
    bool fits = false;
    for (double scale = 1.0;; scale -= 0.02) {
      Fitted f;
      bool at_min = true;
      bool width_ok = true;
      for (std::size_t i = 0; i < blk.lines.size(); ++i) {
        const TextLine& line = blk.lines[i];
        double size = std::max(line.size_pt * scale, line.min_size_pt);
        if (size > line.min_size_pt + 1e-9) at_min = false;
        // Holder values differ on every licence: laid out afresh, never cached.
        auto l = t.is_constant(line.text)
                     ? layouts.get(texts[b][i], lay.fonts.at(line.font), runs[b][i], size,
                                   line.letter_spacing_pt, wrap, bw, blk.align)
                     : layouts.make(texts[b][i], lay.fonts.at(line.font), runs[b][i], size,
                                    line.letter_spacing_pt, wrap, bw, blk.align);
        PangoRectangle ink, logical;
        pango_layout_get_extents(l.get(), &ink, &logical);
        const double lw = logical.width / double(PANGO_SCALE);
        const double lh = logical.height / double(PANGO_SCALE);
        if (!wrap && lw > bw + 0.01) width_ok = false;
        if (wrap && pango_layout_is_wrapped(l.get()) == FALSE && lw > bw + 0.01) width_ok = false;
        if (texts[b][i].empty()) {
          f.heights.push_back(0);
        } else {
          f.heights.push_back(lh);
          f.total += lh;
        }
        f.layouts.push_back(std::move(l));
      }
      if (width_ok && f.total <= bh + 0.01) {
        best = std::move(f);
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
    double y = pt(blk.box.y);
    if (blk.valign == VAlign::kMiddle) y += (bh - best.total) / 2;
    if (blk.valign == VAlign::kBottom) y += bh - best.total;
    for (std::size_t i = 0; i < best.layouts.size(); ++i) {
      PangoLayout* l = best.layouts[i].get();
      if (texts[b][i].empty()) continue;
      if (pango_layout_get_unknown_glyphs_count(l) > 0) {
        throw Error(ErrorCode::kRender, "field " + who + ": a character has no glyph");
      }
      // Every run must come from a configured family (no silent fallback to another font).
      const auto& fams = lay.fonts.at(blk.lines[i].font);
      gobj::LayoutIter it(pango_layout_get_iter(l));
      do {
        PangoLayoutRun* run = pango_layout_iter_get_run_readonly(it.get());
        if (!run) continue;
        gobj::FontDescription d(pango_font_describe(run->item->analysis.font));
        const std::string fam = lower(pango_font_description_get_family(d.get()));
        if (std::none_of(fams.begin(), fams.end(),
                         [&](const std::string& f) { return lower(f) == fam; })) {
          throw Error(ErrorCode::kRender, "field " + who + ": text would fall back to font '" +
                                              fam + "', which is not configured (" +
                                              families_str(fams) + ")");
        }
      } while (pango_layout_iter_next_run(it.get()));
      double x = pt(blk.box.x);
      if (pango_layout_get_width(l) < 0) {  // not wrapping: align by hand
        PangoRectangle logical;
        pango_layout_get_extents(l, nullptr, &logical);
        const double lw = logical.width / double(PANGO_SCALE);
        if (blk.align == Align::kCenter) x += (bw - lw) / 2;
        if (blk.align == Align::kRight) x += bw - lw;
      }
      emit(blk, blk.lines[i], l, x, y);
      y += best.heights[i];
    }
  }
}

RenderResult Renderer::render(const Template& t, const LicenceData& data,
                              const RenderInput& in) const {
  const Layout& lay = t.layout();
  IssueContext ictx{in.identifier, in.issue_date, in.version};

  // 2. The PDF surface, in points; metadata in the information dictionary.
  const double W = pt(t.page().width_mm), H = pt(t.page().height_mm);
  std::string bytes;
  gobj::Surface surface(cairo_pdf_surface_create_for_stream(append_to_string, &bytes, W, H));
  nlohmann::json md = t.metadata(data, ictx);
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

  // 3. Frame: a strong outer rule and a fine inner rule, like the printed forms.
  const Frame& fr = lay.frame;
  if (fr.inset_mm > 0) {
    set_rgb(cr.get(), fr.rgb);
    if (fr.outer_mm > 0) {
      cairo_set_line_width(cr.get(), pt(fr.outer_mm));
      cairo_rectangle(cr.get(), pt(fr.inset_mm), pt(fr.inset_mm), W - 2 * pt(fr.inset_mm),
                      H - 2 * pt(fr.inset_mm));
      cairo_stroke(cr.get());
    }
    if (fr.inner_mm > 0) {
      const double in2 = fr.inset_mm + fr.outer_mm / 2 + fr.gap_mm;
      cairo_set_line_width(cr.get(), pt(fr.inner_mm));
      cairo_rectangle(cr.get(), pt(in2), pt(in2), W - 2 * pt(in2), H - 2 * pt(in2));
      cairo_stroke(cr.get());
    }
  }

  // 4. Text blocks: wrap and/or shrink into the box; never clip.
  impl_->place_text(t, data, in,
             [&](const TextBlock&, const TextLine& line, PangoLayout* l, double x, double y) {
               set_rgb(cr.get(), line.rgb);
               cairo_move_to(cr.get(), x, y);
               pango_cairo_show_layout(cr.get(), l);
             });

  // 5. QR code (vector squares).
  const QrPlacement& q = t.qr();
  const QrEcc ecc = q.ecc == 'L'   ? QrEcc::kL
                    : q.ecc == 'Q' ? QrEcc::kQ
                    : q.ecc == 'H' ? QrEcc::kH
                                   : QrEcc::kM;
  const QrMatrix qm = QrMatrix::encode(in.qr_text, ecc);
  draw_qr(cr.get(), qm, pt(q.x_mm), pt(q.y_mm), q.size_mm);

  // 6. The seal last, over the issuer and date, multiplied like ink so the date stays legible.
  const SealSpec& spec = t.department().seal;
  const double cx = pt(t.seal().cx_mm), cy = pt(t.seal().cy_mm);
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
  PageLayout page;
  const double W = t.page().width_mm, H = t.page().height_mm;
  page.width_mm = W;
  page.height_mm = H;
  // The frame: the same two rectangles render() strokes (centre lines of the rules).
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
  // Text: the glyph runs of every fitted line, as pango (HarfBuzz) shaped them.
  std::map<std::pair<std::string, int>, std::size_t> font_ids;
  constexpr double kPs = PANGO_SCALE;
  impl_->place_text(t, data, in, [&](const TextBlock& blk, const TextLine& line, PangoLayout* l,
                                     double x, double y) {
    const char* text = pango_layout_get_text(l);
    const bool constant = t.is_constant(line.text);
    gobj::LayoutIter it(pango_layout_get_iter(l));
    do {
      PangoLayoutRun* run = pango_layout_iter_get_run_readonly(it.get());
      if (!run) continue;
      PangoRectangle logical;
      pango_layout_iter_get_run_extents(it.get(), nullptr, &logical);
      const double baseline = pango_layout_iter_get_baseline(it.get()) / kPs;
      PangoFont* font = run->item->analysis.font;
      FcPattern* pat = pango_fc_font_get_pattern(PANGO_FC_FONT(font));
      FcChar8* file = nullptr;
      FcChar8* family = nullptr;
      int index = 0;
      if (FcPatternGetString(pat, FC_FILE, 0, &file) != FcResultMatch) {
        throw Error(ErrorCode::kRender, "layout: a font without a file (fontconfig)");
      }
      FcPatternGetInteger(pat, FC_INDEX, 0, &index);
      FcPatternGetString(pat, FC_FAMILY, 0, &family);
      const std::pair<std::string, int> key{reinterpret_cast<const char*>(file), index};
      auto [fit, added] = font_ids.try_emplace(key, page.fonts.size());
      if (added) {
        page.fonts.push_back(
            {family ? reinterpret_cast<const char*>(family) : "", key.first, key.second});
      }
      gobj::FontDescription d(pango_font_describe_with_absolute_size(font));
      GlyphRun gr;
      gr.font = fit->second;
      gr.size_pt = pango_font_description_get_size(d.get()) / kPs;  // device units = points
      gr.rgb = line.rgb;
      gr.text.assign(text + run->item->offset, static_cast<std::size_t>(run->item->length));
      gr.field = blk.field;
      gr.constant = constant;
      double pen = x + logical.x / kPs;
      for (int i = 0; i < run->glyphs->num_glyphs; ++i) {
        const PangoGlyphInfo& gi = run->glyphs->glyphs[i];
        const double adv = gi.geometry.width / kPs;
        if (gi.glyph != PANGO_GLYPH_EMPTY && (gi.glyph & PANGO_GLYPH_UNKNOWN_FLAG) == 0) {
          PlacedGlyph g;
          g.id = gi.glyph;
          g.x_mm = (pen + gi.geometry.x_offset / kPs) / kPtPerMm;
          g.y_mm = (y + baseline + gi.geometry.y_offset / kPs) / kPtPerMm;
          g.advance_mm = adv / kPtPerMm;
          g.cluster = static_cast<std::uint32_t>(run->glyphs->log_clusters[i]);
          gr.glyphs.push_back(g);
        }
        pen += adv;
      }
      if (!gr.glyphs.empty()) page.text.push_back(std::move(gr));
    } while (pango_layout_iter_next_run(it.get()));
  });
  // QR, as render() encodes it.
  const QrPlacement& q = t.qr();
  const QrEcc ecc = q.ecc == 'L'   ? QrEcc::kL
                    : q.ecc == 'Q' ? QrEcc::kQ
                    : q.ecc == 'H' ? QrEcc::kH
                                   : QrEcc::kM;
  const QrMatrix qm = QrMatrix::encode(in.qr_text, ecc);
  page.qr.x_mm = q.x_mm;
  page.qr.y_mm = q.y_mm;
  page.qr.size_mm = q.size_mm;
  page.qr.width = qm.width();
  page.qr.version = qm.version();
  page.qr.mask = qm.mask();
  page.qr.modules.resize(static_cast<std::size_t>(qm.width()) *
                         static_cast<std::size_t>(qm.width()));
  for (int r = 0; r < qm.width(); ++r) {
    for (int c = 0; c < qm.width(); ++c) {
      page.qr.modules[static_cast<std::size_t>(r) * static_cast<std::size_t>(qm.width()) +
                      static_cast<std::size_t>(c)] = qm.dark(c, r) ? 1 : 0;
    }
  }
  page.seal = {t.department().seal, t.seal().cx_mm, t.seal().cy_mm};
  return page;
}

}  // namespace libcert
