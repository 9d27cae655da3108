// pdf_writer.cpp — see pdf_writer.h.
#include "pdf_writer.h"

#include <libdeflate.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "font_subset.h"
#include "libcert/error.h"
#include "seal_image_priv.h"
#include "xmp.h"

namespace libcert::pdfw {

namespace {

constexpr double kPtPerMm = 72.0 / 25.4;

// ---- small serialisation helpers ----------------------------------------------------------------

// A number for a content stream or dictionary: at most 3 decimals (1/1000 pt = 0.35 µm), no
// trailing zeros, never exponent notation (ISO 32000-1 §7.3.3 has no exponents).
void num(std::string& out, double v) {
  if (!std::isfinite(v)) throw Error(ErrorCode::kInternal, "pdf writer: non-finite number");
  long long milli = std::llround(v * 1000.0);
  if (milli < 0) {
    out += '-';
    milli = -milli;
  }
  out += std::to_string(milli / 1000);
  int frac = static_cast<int>(milli % 1000);
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03d", frac);
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
}

std::string nums(std::initializer_list<double> vs) {
  std::string s;
  for (double v : vs) {
    if (!s.empty()) s += ' ';
    num(s, v);
  }
  return s;
}

void hex4(std::string& out, unsigned v) {
  static const char* k = "0123456789ABCDEF";
  out += k[(v >> 12) & 15];
  out += k[(v >> 8) & 15];
  out += k[(v >> 4) & 15];
  out += k[v & 15];
}

// UTF-8 (already validated NFC text) → UTF-16BE code units.
std::vector<unsigned> utf16(std::string_view s) {
  std::vector<unsigned> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    std::size_t n = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6) {
      cp = c & 0x1f;
      n = 2;
    } else if ((c >> 4) == 14) {
      cp = c & 0x0f;
      n = 3;
    } else {
      cp = c & 0x07;
      n = 4;
    }
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(0xD800 + static_cast<unsigned>(cp >> 10));
      out.push_back(0xDC00 + static_cast<unsigned>(cp & 0x3ff));
    } else {
      out.push_back(static_cast<unsigned>(cp));
    }
  }
  return out;
}

// A PDF text string in UTF-16BE with BOM, as a hex string (§7.9.2.2).
std::string text_string(std::string_view s) {
  std::string out = "<FEFF";
  for (unsigned u : utf16(s)) hex4(out, u);
  return out + ">";
}

// A text string for the information dictionary (§7.9.2.2): printable ASCII as a literal string
// (PDFDocEncoding agrees with ASCII there), anything else as text_string(). The identifier and
// the keywords are ASCII: 1 byte a character instead of 4 hex digits.
std::string info_string(std::string_view s) {
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; })) {
    return text_string(s);
  }
  std::string out = "(";
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out + ")";
}

// ---- Flate with libdeflate ---------------------------------------------------------------------

struct Compressor {
  libdeflate_compressor* c = nullptr;
  explicit Compressor(int level) : c(libdeflate_alloc_compressor(level)) {}
  ~Compressor() { libdeflate_free_compressor(c); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
};

// zlib format (RFC 1950), what /FlateDecode expects (§7.4.4). The result lives in a per-thread
// buffer until the thread's next call: no allocation or zero-filling per stream.
std::string_view deflate(std::string_view data, int level) {
  thread_local std::map<int, std::unique_ptr<Compressor>> compressors;
  thread_local std::string buffer;
  auto& slot = compressors[level];
  if (!slot) slot = std::make_unique<Compressor>(level);
  if (slot->c == nullptr) throw Error(ErrorCode::kInternal, "libdeflate: out of memory");
  const std::size_t bound = libdeflate_zlib_compress_bound(slot->c, data.size());
  if (buffer.size() < bound) buffer.resize(bound);
  const std::size_t n =
      libdeflate_zlib_compress(slot->c, data.data(), data.size(), buffer.data(), bound);
  if (n == 0) throw Error(ErrorCode::kInternal, "libdeflate: compression failed");
  return {buffer.data(), n};
}

// The template's static part, compressed once, at libdeflate's strongest level (12). A licence's
// own streams at a level that follows their size, since deflate's time grows with the input
// (bench/README.md, business-licence-enterprise): the large ones — the holder's Han glyphs (~12 KB
// of CFF, which deflates by 13 % at any level: +10 B at level 4) — at level 4, libdeflate's last
// greedy level; the small ones (the values' text, the QR's mask, ToUnicode, XMP, the object and
// cross-reference streams: a few µs each) at 6.
constexpr int kLevelStatic = 12;
constexpr int kLevelVariable = -1;  // by size: level_of()
constexpr int level_of(int level, std::size_t n) {
  if (level != kLevelVariable) return level;
  return n > 8192 ? 4 : 6;
}

// ---- objects -------------------------------------------------------------------------------------

// The body of the file: streams as indirect objects at a byte offset, every other object packed
// into an object stream (ISO 32000-1 §7.5.7: streams, the encryption dictionary and objects of a
// generation other than 0 may not be in one; catalog and pages may, in a file that is not
// linearized), and one cross-reference stream (§7.5.8) that locates both kinds. A dictionary's
// "n 0 obj ... endobj" and its 20-byte xref line cost more than its compressed bytes in an
// object stream; the xref stream deflates to a few bytes per object.
class Body {
 public:
  int reserve() {
    entries_.push_back({});
    return static_cast<int>(entries_.size());
  }
  // A plain object (not a stream): kept for the next object stream (pack() or finish()).
  void object(int num, std::string_view dict_or_value) {
    if (!pending_.empty()) pending_ += '\n';
    pending_nums_.emplace_back(num, pending_.size());
    pending_ += dict_or_value;
  }
  void stream(int num, std::string_view dict_entries, std::string_view data, int level) {
    const bool flate = level != 0;
    if (flate) data = deflate(data, level_of(level, data.size()));
    begin(num);
    out_ += "<<";
    out_ += dict_entries;
    if (flate) out_ += "/Filter/FlateDecode";
    out_ += "/Length ";
    out_ += std::to_string(data.size());
    out_ += ">>\nstream\n";
    out_ += data;
    out_ += "\nendstream\nendobj\n";
  }
  // Writes the pending plain objects as one object stream (§7.5.7): "/N" pairs "number offset"
  // (offsets from /First), then the objects. The static part packs its own once per template,
  // so that a licence deflates only its variable objects.
  void pack(int level) {
    if (pending_nums_.empty()) return;
    const int num = reserve();
    std::string head;
    for (std::size_t i = 0; i < pending_nums_.size(); ++i) {
      const auto [n, off] = pending_nums_[i];
      if (i > 0) head += ' ';
      head += std::to_string(n);
      head += ' ';
      head += std::to_string(off);
      Entry& e = entries_.at(static_cast<std::size_t>(n - 1));
      e.type = 2;
      e.field2 = static_cast<std::size_t>(num);
      e.index = static_cast<unsigned>(i);
    }
    head += '\n';
    const std::string dict = "/Type/ObjStm/N " + std::to_string(pending_nums_.size()) +
                             "/First " + std::to_string(head.size());
    stream(num, dict, head + pending_, level);
    pending_.clear();
    pending_nums_.clear();
  }
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  // The SHA-256 of the bytes written so far (a static part's, kept with it).
  [[nodiscard]] std::string digest() const {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(out_.data()), out_.size(), md);
    return std::string(reinterpret_cast<const char*>(md), sizeof md);
  }
  // Appends a part serialised on its own (objects 1..n, packed, no header) whose digest() is
  // `part_digest`: it must come first. `expected` is the size the file is likely to reach.
  void append(const Body& part, std::string_view part_digest, std::size_t expected) {
    if (!entries_.empty() || !part.pending_nums_.empty()) {
      throw Error(ErrorCode::kInternal, "pdf writer: part after objects, or not packed");
    }
    out_.reserve(out_.size() + expected);
    const std::size_t base = out_.size();
    out_ += part.out_;
    prefix_digest_ = part_digest;
    hashed_ = out_.size();
    for (Entry e : part.entries_) {
      if (e.type == 1) e.field2 += base;
      entries_.push_back(e);
    }
  }
  // Packs the pending objects, then ends the file with the cross-reference stream (§7.5.8),
  // which is also the trailer (§7.5.8.2: /Root, /Info, /ID in its dictionary).
  std::string finish(int root, int info, int level) {
    pack(level);
    const int xref_num = reserve();
    const std::size_t xref = out_.size();
    entries_.back() = {1, xref, 0};
    // Field widths (§7.5.8.3, Table 18): type 1 byte; field 2 as wide as the largest offset or
    // object-stream number; field 3 two bytes (object 0's generation 65535, the index in a stream).
    std::size_t max2 = xref;
    int w2 = 1;
    while (w2 < 8 && (max2 >> (8 * w2)) != 0) ++w2;
    const std::size_t rec = 1 + static_cast<std::size_t>(w2) + 2;
    std::string table;
    table.reserve(rec * (entries_.size() + 1));
    auto put = [&table](int type, std::size_t f2, int w, unsigned f3) {
      table += static_cast<char>(type);
      for (int b = w - 1; b >= 0; --b) table += static_cast<char>((f2 >> (8 * b)) & 0xFF);
      table += static_cast<char>((f3 >> 8) & 0xFF);
      table += static_cast<char>(f3 & 0xFF);
    };
    put(0, 0, w2, 65535);  // object 0, head of the free list (§7.5.4)
    for (const Entry& e : entries_) {
      if (e.type == 0) throw Error(ErrorCode::kInternal, "pdf writer: object reserved, not written");
      put(e.type, e.field2, w2, e.type == 2 ? e.index : 0);
    }
    // /ID (§14.4): derived from the content, so identical inputs give identical files: the
    // SHA-256 of the static part's digest (computed once per template) and of the bytes after it.
    unsigned char md[SHA256_DIGEST_LENGTH];
    {
      std::string_view rest(out_);
      rest.remove_prefix(std::min(hashed_, rest.size()));
      const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                       &EVP_MD_CTX_free);
      unsigned int len = 0;
      if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
          EVP_DigestUpdate(ctx.get(), prefix_digest_.data(), prefix_digest_.size()) != 1 ||
          EVP_DigestUpdate(ctx.get(), rest.data(), rest.size()) != 1 ||
          EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) {
        throw Error(ErrorCode::kInternal, "pdf writer: SHA-256 failed");
      }
    }
    std::string id = "<";
    static const char* k = "0123456789ABCDEF";
    for (int i = 0; i < 16; ++i) {
      id += k[md[i] >> 4];
      id += k[md[i] & 15];
    }
    id += ">";
    stream(xref_num,
           "/Type/XRef/Size " + std::to_string(entries_.size() + 1) + "/W[1 " +
               std::to_string(w2) + " 2]/Root " + ref(root) + "/Info " + ref(info) + "/ID[" + id +
               id + "]",
           table, level);
    out_ += "startxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return std::move(out_);
  }

  // The binary comment marks the file as binary for transfer tools (§7.5.2); object and
  // cross-reference streams need PDF 1.5.
  static constexpr std::string_view kHeader = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
  explicit Body(bool header) {
    if (header) out_ = kHeader;
  }

 private:
  static std::string ref(int n) { return std::to_string(n) + " 0 R"; }
  void begin(int num) {
    entries_.at(static_cast<std::size_t>(num - 1)) = {1, out_.size(), 0};
    out_ += std::to_string(num);
    out_ += " 0 obj\n";
  }
  struct Entry {
    int type = 0;            // 0: reserved, not yet written; 1: at a byte offset; 2: in a stream
    std::size_t field2 = 0;  // the offset, or the object stream's number
    unsigned index = 0;      // the index in the object stream
  };
  std::string out_;
  std::string prefix_digest_;  // the appended part's digest: its bytes are not hashed again
  std::size_t hashed_ = 0;     // where the bytes the /ID hashes start
  std::vector<Entry> entries_;
  std::string pending_;                                    // plain objects, newline-separated
  std::vector<std::pair<int, std::size_t>> pending_nums_;  // their numbers and offsets
};

std::string ref(int n) { return std::to_string(n) + " 0 R"; }

// ---- the seal, shaped once per seal specification ------------------------------------------------

std::string seal_key(const SealSpec& s) {
  return s.name_zh + '\x1f' + s.name_bo + '\x1f' + s.function_zh + '\x1f' + s.function_bo + '\x1f' +
         s.code + '\x1f' + s.font_zh + '\x1f' + s.font_bo + '\x1f' +
         nums({s.diameter_mm, s.border_mm, s.star_mm}) + '\x1f' + std::to_string(s.rgb);
}

std::shared_ptr<const seal_detail::SealDrawing> seal_drawing(const SealSpec& spec) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const seal_detail::SealDrawing>> cache;
  const std::string key = seal_key(spec);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto d = std::make_shared<const seal_detail::SealDrawing>(seal_detail::seal_drawing(spec));
  std::lock_guard<std::mutex> lock(mutex);
  // A department has one or two seals; bound the cache anyway (a template set of hostile specs).
  if (cache.size() > 1024) cache.clear();
  return cache.emplace(key, std::move(d)).first->second;
}

// ---- fonts ---------------------------------------------------------------------------------------

struct FontUse {
  std::string file;
  int face_index = 0;
  std::set<std::uint32_t> glyphs;                 // source glyph ids drawn
  std::map<std::uint32_t, std::string> unicode;  // source glyph id -> text it shows (simple)
  std::shared_ptr<const font::SubsetFace> face;
  font::FontSubset subset;
  // source glyph id -> CID: the subset glyph id for TrueType (/CIDToGIDMap /Identity), the
  // glyph's CID in the subset's charset for a CID-keyed CFF (§9.7.4.2)
  std::map<std::uint32_t, std::uint32_t> cid;
  std::map<std::uint32_t, int> widths;  // by CID, in 1/1000 em
};

std::string subset_tag(const FontUse& f) {
  // Six upper-case letters (§9.6.4): a digest of the font and its glyph set.
  std::string key = f.file + '#' + std::to_string(f.face_index);
  for (auto g : f.glyphs) key += ',' + std::to_string(g);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), md);
  std::string tag;
  for (int i = 0; i < 6; ++i) tag += static_cast<char>('A' + md[i] % 26);
  return tag;
}

// The ToUnicode entries of a font: CID -> its text as UTF-16BE hex (§9.10.3).
std::map<unsigned, std::string> unicode_entries(const FontUse& f) {
  std::map<unsigned, std::string> entries;
  for (const auto& [gid, text] : f.unicode) {
    auto it = f.cid.find(gid);
    if (it == f.cid.end() || text.empty()) continue;
    std::string dst;
    for (unsigned u : utf16(text)) hex4(dst, u);
    entries.emplace(it->second, dst);
  }
  return entries;
}

std::string to_unicode_cmap(const std::map<unsigned, std::string>& map) {
  const std::vector<std::pair<unsigned, std::string>> entries(map.begin(), map.end());
  std::string s =
      "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
      "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
      "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
      "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n";
  // At most 100 entries per bfchar block (§9.10.3, Adobe TN #5014).
  for (std::size_t i = 0; i < entries.size(); i += 100) {
    const std::size_t n = std::min<std::size_t>(100, entries.size() - i);
    s += std::to_string(n) + " beginbfchar\n";
    for (std::size_t k = i; k < i + n; ++k) {
      s += '<';
      hex4(s, entries[k].first);
      s += "> <" + entries[k].second + ">\n";
    }
    s += "endbfchar\n";
  }
  s += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
  return s;
}

// ---- content -------------------------------------------------------------------------------------

// Glyphs of one run drawn with TJ: positions are the layout's exactly (TJ adjustments correct the
// difference between each glyph's /W width and the layout's advance, §9.4.3).
class TextWriter {
 public:
  TextWriter(std::string& out, double size, double page_h_mm)
      : out_(out), size_(size), h_(page_h_mm) {}

  // One glyph: the font resource that has it, its CID there and its /W width.
  void glyph(const PlacedGlyph& g, const std::string& font, unsigned cid, int width) {
    const double x = g.x_mm * kPtPerMm, y = (h_ - g.y_mm) * kPtPerMm;
    if (font != font_) {
      close();
      out_ += "/" + font + ' ' + nums({size_}) + " Tf\n";
      font_ = font;
    }
    if (open_ && std::abs(y - y_) > 1e-4) close();
    if (!open_ && (!placed_ || std::abs(y - y_) > 1e-4)) {
      // A new line (or the run's first glyph): the text matrix is set.
      out_ += "1 0 0 1 " + nums({x, y}) + " Tm[<";
      open_ = placed_ = true;
      pen_ = x;
    } else if (!open_) {
      // The same line after a marked-content span or a font change: TJ left the text matrix at
      // pen_ (§9.4.4: each glyph advances it by its width, each number by -n/1000 em), so the
      // array goes on from there with an adjustment instead of a new Tm.
      out_ += "[";
      open_ = true;
      if (!adjust(x, "")) out_ += "<";
    } else {
      adjust(x, ">");
    }
    hex4(out_, cid);
    y_ = y;
    pen_ += width * size_ / 1000.0;
  }
  void close() {
    if (open_) out_ += ">]TJ\n";
    open_ = false;
  }

 private:
  std::string& out_;
  double size_, h_;
  std::string font_;
  // Moves the pen from where TJ left it to the glyph's x with a TJ number (§9.4.3), in whole
  // thousandths of an em (≤ 0.0005 em off, ~0.006 mm at 34 pt; integers compress better than
  // 3-decimal fractions). pen_ follows the position the viewer computes, so the rounding never
  // accumulates along a line: each glyph is placed from the true pen.
  // `close_hex` ends the hex string being written (">"), or "" at an array's start; a number
  // written is followed by "<" (true), opening the next string.
  bool adjust(double x, const char* close_hex) {
    const long long adj = std::llround((pen_ - x) * 1000.0 / size_);
    if (adj == 0) return false;
    out_ += close_hex;
    out_ += std::to_string(adj);
    out_ += "<";
    pen_ -= static_cast<double>(adj) * size_ / 1000.0;
    return true;
  }

  bool open_ = false;
  bool placed_ = false;  // a Tm was written: the text matrix is at (pen_, y_) between arrays
  double y_ = 0, pen_ = 0;
};

void rgb_op(std::string& out, unsigned rgb, const char* op) {
  out += nums({((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0});
  out += ' ';
  out += op;
  out += '\n';
}

// The text of each cluster of a run: [offset, next larger offset) in the run's text. Computed
// once per run (sorted offsets), not by scanning the run for every glyph.
class ClusterTexts {
 public:
  explicit ClusterTexts(const GlyphRun& run) : text_(run.text) {
    starts_.reserve(run.glyphs.size());
    for (const auto& g : run.glyphs) starts_.push_back(g.cluster);
    std::sort(starts_.begin(), starts_.end());
    starts_.erase(std::unique(starts_.begin(), starts_.end()), starts_.end());
  }
  [[nodiscard]] std::string_view operator()(std::uint32_t cluster) const {
    if (cluster >= text_.size()) return {};
    auto it = std::upper_bound(starts_.begin(), starts_.end(), cluster);
    const std::size_t end = it == starts_.end() ? text_.size() : std::min<std::size_t>(*it, text_.size());
    return std::string_view(text_).substr(cluster, end - cluster);
  }

 private:
  const std::string& text_;
  std::vector<std::uint32_t> starts_;
};

}  // namespace

namespace {

// /DW and /W of a CIDFont (§9.7.4.3): the most common width as /DW (CJK glyphs are all one em),
// the others as "first [w1 w2 ...]" for consecutive CIDs, or "first last w" for three or more
// consecutive CIDs of one width.
std::string widths_entries(const std::map<std::uint32_t, int>& widths) {
  std::map<int, int> count;
  for (const auto& [cid, w] : widths) ++count[w];
  int dw = 1000, most = 0;
  for (const auto& [w, n] : count) {
    if (n > most) {
      most = n;
      dw = w;
    }
  }
  std::vector<std::pair<std::uint32_t, int>> v;
  for (const auto& e : widths) {
    if (e.second != dw) v.push_back(e);
  }
  std::string out = "/DW " + std::to_string(dw);
  if (v.empty()) return out;
  out += "/W[";
  for (std::size_t i = 0; i < v.size();) {
    // The consecutive CIDs from i.
    std::size_t e = i + 1;
    while (e < v.size() && v[e].first == v[e - 1].first + 1) ++e;
    std::size_t j = i;
    while (j < e) {
      std::size_t r = j + 1;
      while (r < e && v[r].second == v[j].second) ++r;
      if (r - j >= 3) {
        out += std::to_string(v[j].first) + ' ' + std::to_string(v[r - 1].first) + ' ' +
               std::to_string(v[j].second) + ' ';
        j = r;
        continue;
      }
      // A list up to the next run of three equal widths.
      std::size_t end = j;
      while (end < e) {
        std::size_t q = end + 1;
        while (q < e && v[q].second == v[end].second) ++q;
        if (q - end >= 3) break;
        end = q;
      }
      out += std::to_string(v[j].first) + '[';
      for (std::size_t k = j; k < end; ++k) {
        if (k > j) out += ' ';
        out += std::to_string(v[k].second);
      }
      out += "] ";
      j = end;
    }
    i = e;
  }
  out.back() = ']';
  return out;
}

// The fonts of one part of the page (the template's constant text and seal, or the holder's
// values): every glyph drawn, per face, subset together.
struct FontSet {
  // The static part's fonts, when this set is a licence's variable part: glyphs they already
  // have are drawn from them, so a glyph is embedded once per file.
  const FontSet* base = nullptr;
  std::string prefix, base_prefix;
  std::vector<FontUse> fonts;
  std::map<std::pair<std::string, int>, std::size_t> index;
  std::vector<std::set<std::uint32_t>> actual;  // per run: clusters that need /ActualText

  FontUse& font_of(const std::string& file, int face_index) {
    auto [it, added] = index.try_emplace({file, face_index}, fonts.size());
    if (added) {
      fonts.emplace_back();
      fonts.back().file = file;
      fonts.back().face_index = face_index;
    }
    return fonts[it->second];
  }

  // The glyphs of the runs whose `constant` flag is `constant`, and which text each glyph shows:
  // a glyph that is its cluster's only glyph maps to the cluster's text in ToUnicode (§9.10.3);
  // clusters of several glyphs (Tibetan stacks with their vowel signs), or a glyph seen with
  // other text before, get an /ActualText span instead (§14.9.4).
  void collect(const PageLayout& page, bool constant) {
    actual.assign(page.text.size(), {});
    for (std::size_t r = 0; r < page.text.size(); ++r) {
      const GlyphRun& run = page.text[r];
      if (run.constant != constant) continue;
      const PageFont& pf = page.fonts.at(run.font);
      FontUse& f = font_of(pf.file, pf.face_index);
      std::map<std::uint32_t, int> per_cluster;
      const FontUse* bf = base_font(pf.file, pf.face_index);
      for (const auto& g : run.glyphs) {
        if (bf == nullptr || bf->cid.count(g.id) == 0) f.glyphs.insert(g.id);
        ++per_cluster[g.cluster];
      }
      const ClusterTexts texts(run);
      for (const auto& g : run.glyphs) {
        const std::string_view t = texts(g.cluster);
        if (per_cluster[g.cluster] != 1) {
          actual[r].insert(g.cluster);
        } else if (bf != nullptr && bf->cid.count(g.id) != 0) {
          // Drawn from the static font: its ToUnicode must already say this text.
          auto it = bf->unicode.find(g.id);
          if (it == bf->unicode.end() || it->second != t) actual[r].insert(g.cluster);
        } else {
          auto [it, added] = f.unicode.try_emplace(g.id, std::string(t));
          if (!added && it->second != t) actual[r].insert(g.cluster);
        }
      }
    }
  }

  [[nodiscard]] const FontUse* base_font(const std::string& file, int face_index) const {
    if (base == nullptr) return nullptr;
    auto it = base->index.find({file, face_index});
    return it == base->index.end() ? nullptr : &base->fonts[it->second];
  }

  void subset() {
    std::erase_if(fonts, [](const FontUse& f) { return f.glyphs.empty(); });
    index.clear();
    for (std::size_t i = 0; i < fonts.size(); ++i) index[{fonts[i].file, fonts[i].face_index}] = i;
    for (auto& f : fonts) {
      f.face = font::SubsetFace::get(f.file, f.face_index);
      const std::vector<std::uint32_t> ids(f.glyphs.begin(), f.glyphs.end());
      // A CIDFontType2 program is addressed by glyph id through /CIDToGIDMap, a CIDFontType0C
      // program is the bare 'CFF ' table: 'cmap', 'name', 'OS/2' and 'post' are never read
      // (ISO 32000-1 §9.7.4.2, §9.9). CFF subsets are desubroutinised and without hints
      // (SubsetOptions defaults): a few dozen glyphs carry none of the face's subroutines. A
      // CID-keyed CFF is subset by our own per-glyph subsetter (bare_cff, cff_subset.h), which
      // needs no 2.8 s hb_subset_preprocess of a 65,535-glyph CJK face per process.
      font::SubsetOptions o;
      o.drop_tables = {"cmap", "name", "OS/2", "post"};
      o.bare_cff = true;
      f.subset = f.face->subset(ids, o);
      f.widths.clear();
      for (const auto& g : f.subset.glyphs) {
        const std::uint32_t cid = f.subset.outlines == font::Outlines::kCff
                                      ? f.subset.cids.at(g.new_id)
                                      : g.new_id;
        f.cid[g.old_id] = cid;
        f.widths[cid] = static_cast<int>(
            std::lround(g.advance * 1000.0 / static_cast<double>(f.subset.units_per_em)));
      }
    }
  }

  // Writes each font's five objects; returns the /Font resource entries ("/C0 4 0 R...").
  std::string write(Body& body, int level) const {
    std::string res;
    // One ToUnicode CMap for all of the set's fonts when no CID means different text in two of
    // them (the static Tibetan and Han fonts, or the licence's two, usually: the TrueType
    // subset's CIDs are its glyph ids from 0, the CFF's Noto's CIDs, of Han characters above
    // 9,000). A font shows only its own CIDs, so the others' entries are never read (§9.10.2),
    // and a CMap's header and stream cost ~290 B each.
    std::vector<std::map<unsigned, std::string>> maps;
    std::map<unsigned, std::string> shared;
    bool share = fonts.size() > 1;
    for (const FontUse& f : fonts) {
      maps.push_back(unicode_entries(f));
      for (const auto& [cid, text] : maps.back()) {
        auto [it, added] = shared.emplace(cid, text);
        share = share && (added || it->second == text);
      }
    }
    const int shared_obj = share ? body.reserve() : 0;
    for (std::size_t i = 0; i < fonts.size(); ++i) {
      const FontUse& f = fonts[i];
      const font::FaceMetrics& m = f.face->metrics();
      const double k = 1000.0 / static_cast<double>(m.units_per_em);
      const std::string name = subset_tag(f) + "+" + m.postscript_name;
      const int type0 = body.reserve(), cidfont = body.reserve(), desc = body.reserve(),
                file = body.reserve(), tounicode = share ? shared_obj : body.reserve();
      res += "/" + prefix + std::to_string(i) + " " + ref(type0);
      body.object(type0, "<</Type/Font/Subtype/Type0/BaseFont/" + name +
                             "/Encoding/Identity-H/DescendantFonts[" + ref(cidfont) +
                             "]/ToUnicode " + ref(tounicode) + ">>");
      const bool cff = f.subset.outlines == font::Outlines::kCff;
      body.object(cidfont, "<</Type/Font/Subtype/" + std::string(cff ? "CIDFontType0" : "CIDFontType2") +
                               "/BaseFont/" + name +
                               "/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>"
                               "/FontDescriptor " +
                               ref(desc) + widths_entries(f.widths) +
                               (cff ? "" : "/CIDToGIDMap/Identity") + ">>");
      body.object(desc, "<</Type/FontDescriptor/FontName/" + name + "/Flags 4/FontBBox[" +
                            nums({m.x_min * k, m.y_min * k, m.x_max * k, m.y_max * k}) +
                            "]/ItalicAngle " + nums({m.italic_angle}) + "/Ascent " +
                            nums({m.ascender * k}) + "/Descent " + nums({m.descender * k}) +
                            "/CapHeight " + nums({m.cap_height * k}) + "/StemV 80" +
                            (cff ? "/FontFile3 " : "/FontFile2 ") + ref(file) + ">>");
      if (cff) {
        // §9.9 Table 126: a CIDFontType0C program is the CFF table alone, CID-keyed or not.
        body.stream(file, "/Subtype/CIDFontType0C", f.subset.table("CFF "), level);
      } else {
        body.stream(file, "/Length1 " + std::to_string(f.subset.data.size()), f.subset.data,
                    level);
      }
      if (!share) body.stream(tounicode, "", to_unicode_cmap(maps[i]), level);
    }
    if (share) body.stream(shared_obj, "", to_unicode_cmap(shared), level);
    return res;
  }

  // The text objects of this part's runs, in page order.
  void content(std::string& c, const PageLayout& page, bool constant) const {
    c += "BT\n";
    unsigned colour = 0x1000000;
    for (std::size_t r = 0; r < page.text.size(); ++r) {
      const GlyphRun& run = page.text[r];
      if (run.constant != constant || run.glyphs.empty()) continue;
      if (run.rgb != colour) {
        rgb_op(c, run.rgb, "rg");
        colour = run.rgb;
      }
      const PageFont& pf = page.fonts.at(run.font);
      const FontUse* bf = base_font(pf.file, pf.face_index);
      const std::string bname =
          bf != nullptr ? base_prefix + std::to_string(base->index.at({pf.file, pf.face_index}))
                        : std::string();
      auto own = index.find({pf.file, pf.face_index});
      const FontUse* of = own != index.end() ? &fonts[own->second] : nullptr;
      const std::string oname = of != nullptr ? prefix + std::to_string(own->second) : "";
      TextWriter tw(c, run.size_pt, page.height_mm);
      const ClusterTexts texts(run);  // once per run: the spans below look words up in it
      auto draw = [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
          const PlacedGlyph& g = run.glyphs[i];
          if (bf != nullptr) {
            if (auto it = bf->cid.find(g.id); it != bf->cid.end()) {
              tw.glyph(g, bname, it->second, bf->widths.at(it->second));
              continue;
            }
          }
          const unsigned cid = of->cid.at(g.id);
          tw.glyph(g, oname, cid, of->widths.at(cid));
        }
      };
      std::size_t i = 0;
      while (i < run.glyphs.size()) {
        const std::uint32_t cl = run.glyphs[i].cluster;
        std::size_t j = i + 1;
        if (actual[r].count(cl) != 0) {
          // §14.9.4: the span's glyphs are replaced by its characters for extraction. One span
          // per word: it goes on over the following clusters up to the next white space (a
          // Tibetan word's stacks, tshegs and vowel signs), so a word's extracted text and its
          // box are those of its glyphs, and a name of many stacks costs one span, not one each.
          auto blank = [&](std::uint32_t k) {
            const std::string_view t = texts(k);
            return t.empty() || t.find_first_not_of(" \t\r\n") == std::string_view::npos;
          };
          while (j < run.glyphs.size() &&
                 (run.glyphs[j].cluster == cl || !blank(run.glyphs[j].cluster))) {
            ++j;
          }
          const std::size_t end = std::min<std::size_t>(
              j < run.glyphs.size() ? run.glyphs[j].cluster : run.text.size(), run.text.size());
          const std::string_view word = cl < end ? std::string_view(run.text).substr(cl, end - cl)
                                                 : texts(cl);  // clusters are monotone (LTR)
          tw.close();
          c += "/Span<</ActualText" + text_string(word) + ">>BDC\n";
          draw(i, j);
          tw.close();
          c += "EMC\n";
        } else {
          while (j < run.glyphs.size() && actual[r].count(run.glyphs[j].cluster) == 0) ++j;
          draw(i, j);
        }
        i = j;
      }
      tw.close();
    }
    c += "ET\n";
  }
};

// A template's static part, serialised and compressed once (issue 21 point 1): the frame, the
// constant text (title, labels, department, notes) with its font subsets, and the seal's form
// XObject with its glyphs in the same subsets. Objects 1..n of every licence of the template.
struct StaticPart {
  Body body{false};
  FontSet fonts;               // subsets, CIDs and ToUnicode texts of the static glyphs
  std::string font_resources;  // "/C0 4 0 R/C1 9 0 R"
  int content = 0;             // the static content stream
  int seal = 0;                // the seal's form XObject
  std::string digest;          // body.digest(): what a licence's /ID builds on
};

// What identifies a static part: every input that goes into it, as bytes.
std::string static_key(const PageLayout& page) {
  std::string k;
  auto put = [&k](const void* p, std::size_t n) { k.append(static_cast<const char*>(p), n); };
  auto put_d = [&](double d) { put(&d, sizeof d); };
  auto put_s = [&](const std::string& s) {
    const std::size_t n = s.size();
    put(&n, sizeof n);
    k += s;
  };
  put_d(page.width_mm);
  put_d(page.height_mm);
  for (const auto& p : page.paths) {
    put_d(p.line_width_mm);
    put(&p.stroke_rgb, sizeof p.stroke_rgb);
    put(&p.fill, sizeof p.fill);
    put(&p.fill_rgb, sizeof p.fill_rgb);
    for (const auto& sp : p.subpaths) {
      for (const auto& pt : sp) {
        put_d(pt.x_mm);
        put_d(pt.y_mm);
      }
      k += '|';
    }
    k += '#';
  }
  for (const auto& run : page.text) {
    if (!run.constant) continue;
    const PageFont& f = page.fonts.at(run.font);
    put_s(f.file);
    put(&f.face_index, sizeof f.face_index);
    put_d(run.size_pt);
    put(&run.rgb, sizeof run.rgb);
    put_s(run.text);
    for (const auto& g : run.glyphs) {
      put(&g.id, sizeof g.id);
      put_d(g.x_mm);
      put_d(g.y_mm);
      put(&g.cluster, sizeof g.cluster);
    }
  }
  put_s(seal_key(page.seal.spec));
  put_d(page.seal.cx_mm);
  put_d(page.seal.cy_mm);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(k.data()), k.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

std::shared_ptr<const StaticPart> compile_static(const PageLayout& page) {
  auto part = std::make_shared<StaticPart>();
  const auto seal = seal_drawing(page.seal.spec);
  FontSet& fs = part->fonts;
  fs.prefix = "C";
  fs.collect(page, true);
  for (const auto& sg : seal->glyphs) fs.font_of(sg.file, sg.face_index).glyphs.insert(sg.id);
  fs.subset();
  // The seal's lettering is drawn glyph by glyph without its text: map the glyphs that the
  // font's cmap gives its characters back to them (ToUnicode), as far as no other text has.
  {
    const SealSpec& sp = page.seal.spec;
    std::string all = sp.name_zh + sp.name_bo + sp.function_zh + sp.function_bo + sp.code;
    std::vector<char32_t> chars;
    for (unsigned u : utf16(all)) chars.push_back(static_cast<char32_t>(u));  // BMP scripts
    for (auto& f : fs.fonts) {
      for (char32_t ch : chars) {
        const std::uint32_t g = f.face->nominal_glyph(ch);
        if (g == 0 || f.cid.count(g) == 0) continue;
        std::string utf8;
        if (ch < 0x80) {
          utf8 += static_cast<char>(ch);
        } else if (ch < 0x800) {
          utf8 += static_cast<char>(0xC0 | (ch >> 6));
          utf8 += static_cast<char>(0x80 | (ch & 0x3F));
        } else {
          utf8 += static_cast<char>(0xE0 | (ch >> 12));
          utf8 += static_cast<char>(0x80 | ((ch >> 6) & 0x3F));
          utf8 += static_cast<char>(0x80 | (ch & 0x3F));
        }
        f.unicode.try_emplace(g, utf8);
      }
    }
  }
  Body& body = part->body;
  part->font_resources = fs.write(body, kLevelStatic);
  part->content = body.reserve();
  part->seal = body.reserve();

  std::string c;
  for (const auto& p : page.paths) {
    if (p.line_width_mm <= 0 && !p.fill) continue;
    for (const auto& sp : p.subpaths) {
      for (std::size_t i = 0; i < sp.size(); ++i) {
        c += nums({sp[i].x_mm * kPtPerMm, (page.height_mm - sp[i].y_mm) * kPtPerMm});
        c += i == 0 ? " m\n" : " l\n";
      }
      c += "h\n";
    }
    if (p.fill) rgb_op(c, p.fill_rgb, "rg");
    if (p.line_width_mm > 0) {
      rgb_op(c, p.stroke_rgb, "RG");
      c += nums({p.line_width_mm * kPtPerMm}) + " w\n";
    }
    c += p.fill && p.line_width_mm > 0 ? "B\n" : p.fill ? "f\n" : "S\n";
  }
  fs.content(c, page, true);
  body.stream(part->content, "", c, kLevelStatic);

  // The seal: a form XObject in points around its centre (drawn by the variable stream's end).
  std::string sc;
  rgb_op(sc, seal->rgb, "RG");
  rgb_op(sc, seal->rgb, "rg");
  {
    // The border: a circle as four cubic Béziers (κ = 0.5523, radial error < 0.03 %).
    const double r = seal->ring_radius_pt, k = 0.5522847498 * r;
    sc += nums({seal->ring_width_pt}) + " w\n" + nums({r, 0}) + " m " +
          nums({r, k, k, r, 0, r}) + " c " + nums({-k, r, -r, k, -r, 0}) + " c " +
          nums({-r, -k, -k, -r, 0, -r}) + " c " + nums({k, -r, r, -k, r, 0}) + " c h S\n";
  }
  if (!seal->star.empty()) {
    for (std::size_t i = 0; i < seal->star.size(); ++i) {
      sc += nums({seal->star[i].first, seal->star[i].second}) + (i == 0 ? " m\n" : " l\n");
    }
    sc += "h f\n";
  }
  if (!seal->glyphs.empty()) {
    sc += "BT\n";
    std::size_t current = fs.fonts.size();
    for (const auto& g : seal->glyphs) {
      const std::size_t fi = fs.index.at({g.file, g.face_index});
      if (fi != current) {
        sc += "/C" + std::to_string(fi) + " 1 Tf\n";
        current = fi;
      }
      sc += nums({g.m[0], g.m[1], g.m[2], g.m[3], g.m[4], g.m[5]}) + " Tm<";
      hex4(sc, fs.fonts[fi].cid.at(g.id));
      sc += ">Tj\n";
    }
    sc += "ET\n";
  }
  const double sr = seal->ring_radius_pt + seal->ring_width_pt;
  body.stream(part->seal,
              "/Type/XObject/Subtype/Form/BBox[" + nums({-sr, -sr, sr, sr}) +
                  "]/Resources<</Font<<" + part->font_resources + ">>>>",
              sc, kLevelStatic);
  // The static fonts' dictionaries and descriptors: one object stream, compressed once.
  body.pack(kLevelStatic);
  part->digest = body.digest();
  return part;
}

std::shared_ptr<const StaticPart> static_part(const PageLayout& page) {
  // One entry per template (and per seal version): a few dozen KB each. Bounded: a template set
  // reloaded many times must not grow memory without limit.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const StaticPart>> cache;
  const std::string key = static_key(page);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto part = compile_static(page);  // outside the lock: other templates go on meanwhile
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= 256) cache.clear();
  return cache.emplace(key, std::move(part)).first->second;
}

// The QR (ISO/IEC 18004) as a 1-bit image mask (ISO 32000-1 §8.9.6.2, /ImageMask true: a 0
// sample paints the current colour, 0 g) of kQrSamples × kQrSamples samples per module, drawn
// under a `cm` that maps the image's unit square onto the symbol. Size: a version-15 symbol is
// 154 rows of 20 bytes, ~0.9 KB deflated; its filled rectangles (one per run of dark modules)
// were ~2.9 KB deflated (bench/README.md, "Where a licence's bytes are").
// Why 2 samples per module: the layout puts every module edge on the 1/50-inch grid up to
// version 15 (docs/qr.md "Grid fitting": 2 px per module at 100 dpi, 3 at 150), and renderers
// upscale an image differently: Poppler's Splash replicates samples (/Interpolate false,
// §8.9.5.3), MuPDF interpolates bilinearly whatever /Interpolate says. With one sample per
// module MuPDF drew every module edge at 100 dpi as a 25 %/75 % grey pair and zbarimg failed on
// 4 of the 24 samples; with two, a 100 dpi pixel is exactly one sample (no grey at all in
// either renderer) and at 150 dpi only MuPDF's edge pixels mix two modules, at most 1/3 (every
// symbol decodes, tests/interop/qr_decode_test.cpp). (The mask of 4 × 4 samples per module that
// cairo draws was downscaled by Splash with its own rounding at 1.9 px per module, off the grid,
// before the grid existed.)
// Returns the content operators; `image` gets the mask's samples, row-major, each row padded to
// a byte (§8.9.3).
constexpr int kQrSamples = 2;  // per module, in x and in y
std::string qr_image(const PageLayout& page, std::string& image) {
  const PageQr& q = page.qr;
  constexpr int kQuiet = 4;  // ISO/IEC 18004 §9.1: quiet zone of 4 modules
  const double qx = q.x_mm * kPtPerMm, qy = (page.height_mm - q.y_mm - q.size_mm) * kPtPerMm,
               qs = q.size_mm * kPtPerMm;
  const double m = qs / (q.width + 2 * kQuiet);
  const int n = q.width * kQrSamples;
  const std::size_t row = (static_cast<std::size_t>(n) + 7) / 8;
  image.assign(row * static_cast<std::size_t>(n), '\xFF');
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      if (q.dark(x / kQrSamples, y / kQrSamples)) {
        image[static_cast<std::size_t>(y) * row + static_cast<std::size_t>(x / 8)] &=
            static_cast<char>(~(0x80 >> (x % 8)));
      }
    }
  }
  // A white square (quiet zone and light modules), then the dark modules: image space's unit
  // square, row 0 at its top (§8.9.4), onto the symbol's square inside the quiet zone.
  return "q 1 g " + nums({qx, qy, qs, qs}) + " re f 0 g " +
         nums({m * q.width, 0, 0, m * q.width, qx + kQuiet * m, qy + kQuiet * m}) +
         " cm /Q Do Q\n";
}

}  // namespace

std::string write_pdf(const PageLayout& page, const DocumentInfo& info) {
  if (!page.images.empty()) {
    throw Error(ErrorCode::kRender, "pdf writer: page images are not supported yet");
  }
  const double W = page.width_mm * kPtPerMm, H = page.height_mm * kPtPerMm;
  const auto part = static_part(page);

  Body body(true);
  // A licence adds ~25 KB to the static part (the holder's glyphs, the text and QR, the XMP).
  body.append(part->body, part->digest, part->body.size() + (32u << 10));
  FontSet fs;
  fs.base = &part->fonts;
  fs.prefix = "V";
  fs.base_prefix = "C";
  fs.collect(page, false);
  fs.subset();
  const std::string var_fonts = fs.write(body, kLevelVariable);
  const int catalog = body.reserve(), pages = body.reserve(), page_obj = body.reserve(),
            contents = body.reserve(), info_obj = body.reserve();
  const int xmp_obj = info.xmp.empty() ? 0 : body.reserve();
  const int qr_obj = body.reserve();

  // Variable content: the holder's values, the QR, then the seal over them (the issue date).
  std::string c;
  fs.content(c, page, false);
  // QR: a white square (quiet zone and light modules), then the dark modules as an image mask.
  std::string qr_samples;
  c += qr_image(page, qr_samples);
  // The seal last, multiplied like ink over what lies under it (the issuer and the issue date).
  const double scx = page.seal.cx_mm * kPtPerMm,
               scy = (page.height_mm - page.seal.cy_mm) * kPtPerMm;
  c += "q /M gs 1 0 0 1 " + nums({scx, scy}) + " cm /S Do Q\n";

  std::string cat = "<</Type/Catalog/Pages " + ref(pages);
  if (xmp_obj != 0) cat += "/Metadata " + ref(xmp_obj);
  body.object(catalog, cat + ">>");
  body.object(pages, "<</Type/Pages/Kids[" + ref(page_obj) + "]/Count 1>>");
  body.object(page_obj, "<</Type/Page/Parent " + ref(pages) + "/MediaBox[0 0 " + nums({W, H}) +
                            "]/Resources<</Font<<" + part->font_resources + var_fonts +
                            ">>/XObject<</S " + ref(part->seal) + "/Q " + ref(qr_obj) +
                            ">>/ExtGState<</M<</BM/Multiply>>>>>>/Contents[" +
                            ref(part->content) + " " + ref(contents) + "]>>");
  body.stream(contents, "", c, kLevelVariable);
  body.stream(qr_obj,
              "/Type/XObject/Subtype/Image/Width " + std::to_string(page.qr.width * kQrSamples) + "/Height " +
                  std::to_string(page.qr.width * kQrSamples) + "/ImageMask true/BitsPerComponent 1",
              qr_samples, kLevelVariable);
  std::string inf = "<<";
  if (!info.title.empty()) inf += "/Title" + info_string(info.title);
  if (!info.author.empty()) inf += "/Author" + info_string(info.author);
  if (!info.subject.empty()) inf += "/Subject" + info_string(info.subject);
  if (!info.keywords.empty()) inf += "/Keywords" + info_string(info.keywords);
  if (!info.creator.empty()) inf += "/Creator" + info_string(info.creator);
  if (info.created.size() >= 25) {
    // "2026-11-22T20:00:00+08:00" -> (D:20261122200000+08'00) (§7.9.4).
    const std::string& t = info.created;
    const std::string d = "(D:" + t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) +
                          t.substr(11, 2) + t.substr(14, 2) + t.substr(17, 2) + t.substr(19, 3) +
                          "'" + t.substr(23, 2) + ")";
    inf += "/CreationDate" + d + "/ModDate" + d;
  }
  body.object(info_obj, inf + ">>");
  if (xmp_obj != 0) {
    // Compressed like the other streams (~3 KB -> ~1.2 KB): readers find the packet through the
    // catalog's /Metadata (ISO 32000-1 §14.3.2), as libcert's verifier does; scanning a file's
    // bytes for packets (ISO 16684-1 §7.3) is an optional convenience the licence does not
    // claim (no PDF/A identification).
    body.stream(xmp_obj, "/Type/Metadata/Subtype/XML", info.xmp, kLevelVariable);
  }
  return body.finish(catalog, info_obj, kLevelVariable);
}

RenderResult render(const Renderer& renderer, const Template& t, const LicenceData& data,
                    const RenderInput& in) {
  const PageLayout page = renderer.layout(t, data, in);
  IssueContext ictx{in.identifier, in.issue_date, in.version};
  RenderResult r;
  r.metadata = t.metadata(data, ictx);
  DocumentInfo info;
  info.title = t.title().zh;
  info.author = t.department().name.zh;
  info.subject = in.identifier;
  info.keywords = data.value(t.number_field());
  info.creator = "libcert";
  info.created = detail::licence_time(in.created_at);
  info.xmp = detail::licence_xmp(r.metadata, info.created);
  r.pdf = write_pdf(page, info);
  const double rad = page.seal.spec.diameter_mm * kPtPerMm / 2;
  const double cx = page.seal.cx_mm * kPtPerMm, cy = page.seal.cy_mm * kPtPerMm;
  r.seal = {0, cx - rad, page.height_mm * kPtPerMm - cy - rad, 2 * rad, 2 * rad};
  return r;
}

}  // namespace libcert::pdfw
