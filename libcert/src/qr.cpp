// qr.cpp — QR symbol from text (libqrencode) with mode segmentation, and its drawing as a stencil.
#include "libcert/qr.h"

#include <cairo.h>
#include <qrencode.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>

#include "gobj.h"
#include "libcert/error.h"

namespace libcert {

namespace {

using Input = std::unique_ptr<QRinput, gobj::Deleter<QRinput_free>>;
using Code = std::unique_ptr<QRcode, gobj::Deleter<QRcode_free>>;

// ISO/IEC 18004:2015 §7.3: the three modes we use. Kanji is never useful for our texts.
enum Mode : std::size_t { kNum = 0, kAlnum = 1, kByte = 2 };
constexpr std::array<QRencodeMode, 3> kQrMode = {QR_MODE_NUM, QR_MODE_AN, QR_MODE_8};

bool is_alnum_qr(unsigned char c) {
  // ISO/IEC 18004 Table 5: 0-9 A-Z space $ % * + - . / :
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == ' ' || c == '$' || c == '%' ||
         c == '*' || c == '+' || c == '-' || c == '.' || c == '/' || c == ':';
}

bool fits(Mode m, unsigned char c) {
  switch (m) {
    case kNum:
      return c >= '0' && c <= '9';
    case kAlnum:
      return is_alnum_qr(c);
    case kByte:
      return true;
  }
  return false;
}

// Character count indicator lengths (ISO/IEC 18004 Table 3) for version groups 1–9, 10–26, 27–40.
constexpr std::array<std::array<int, 3>, 3> kCountBits = {{{10, 9, 8}, {12, 11, 16}, {14, 13, 16}}};

struct Segment {
  Mode mode;
  std::size_t begin, end;
};

// Minimum-bit segmentation for one version group (dynamic programming over the three modes,
// costs in 1/6 bit so that numeric 10/3 and alphanumeric 11/2 bits per character are integers).
// A segment costs its 4-bit mode indicator + character count indicator + data bits.
std::vector<Segment> segment(std::string_view text, std::size_t group, long* bits) {
  const std::size_t n = text.size();
  constexpr std::array<long, 3> kPerChar = {20, 33, 48};  // ×6: 10/3, 11/2, 8 bits
  constexpr long kInf = std::numeric_limits<long>::max() / 4;
  // cost[i][m]: cheapest encoding of text[0, i) whose last segment is in mode m (open).
  std::vector<std::array<long, 3>> cost(n + 1, {kInf, kInf, kInf});
  std::vector<std::array<std::size_t, 3>> from(n + 1, {0, 0, 0});
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    for (std::size_t m = 0; m < 3; ++m) {
      if (!fits(static_cast<Mode>(m), c)) continue;
      const long header = (4 + kCountBits[group][m]) * 6;
      long best = kInf;
      std::size_t prev = m;
      if (i == 0) {
        best = header;
      } else {
        for (std::size_t p = 0; p < 3; ++p) {
          if (cost[i][p] >= kInf) continue;
          const long v = cost[i][p] + (p == m ? 0 : header);
          if (v < best) {
            best = v;
            prev = p;
          }
        }
      }
      if (best < kInf) {
        cost[i + 1][m] = best + kPerChar[m];
        from[i + 1][m] = prev;
      }
    }
  }
  std::size_t m = 0;
  for (std::size_t k = 1; k < 3; ++k) {
    if (cost[n][k] < cost[n][m]) m = k;
  }
  *bits = (cost[n][m] + 5) / 6;  // a lower bound of the real count (partial groups round up)
  // Walk back to each character's mode, then merge equal neighbours into segments.
  std::vector<std::size_t> modes(n);
  for (std::size_t i = n; i > 0; --i) {
    modes[i - 1] = m;
    m = from[i][m];
  }
  std::vector<Segment> segs;
  for (std::size_t i = 0; i < n; ++i) {
    if (segs.empty() || segs.back().mode != modes[i]) {
      segs.push_back({static_cast<Mode>(modes[i]), i, i + 1});
    } else {
      segs.back().end = i + 1;
    }
  }
  return segs;
}

QRecLevel level(QrEcc e) {
  switch (e) {
    case QrEcc::kL:
      return QR_ECLEVEL_L;
    case QrEcc::kM:
      return QR_ECLEVEL_M;
    case QrEcc::kQ:
      return QR_ECLEVEL_Q;
    case QrEcc::kH:
      return QR_ECLEVEL_H;
  }
  return QR_ECLEVEL_Q;
}

// Encodes with libqrencode's automatic (smallest) version for the given segmentation; null if
// the data exceed version 40.
Code encode_segments(std::string_view text, const std::vector<Segment>& segs, QrEcc ecc) {
  Input in(QRinput_new2(0, level(ecc)));
  if (!in) throw Error(ErrorCode::kInternal, "qr: QRinput_new2 failed");
  for (const auto& s : segs) {
    const auto* data = reinterpret_cast<const unsigned char*>(text.data() + s.begin);
    if (QRinput_append(in.get(), kQrMode[s.mode], static_cast<int>(s.end - s.begin), data) != 0) {
      throw Error(ErrorCode::kInternal,
                  std::string("qr: QRinput_append rejected a segment: ") + std::strerror(errno));
    }
  }
  errno = 0;
  Code code(QRcode_encodeInput(in.get()));
  if (!code && errno != ERANGE) {
    throw Error(ErrorCode::kInternal, std::string("qr: encoding failed: ") + std::strerror(errno));
  }
  return code;
}

}  // namespace

QrMatrix QrMatrix::encode(std::string_view text, QrEcc ecc, int max_version) {
  if (text.empty()) throw Error(ErrorCode::kInvalidArgument, "qr: text is empty");
  if (max_version < 1 || max_version > 40) {
    throw Error(ErrorCode::kInvalidArgument,
                "qr: max_version must be 1..40, got " + std::to_string(max_version));
  }
  if (text.size() > 7089) {  // the largest capacity of any symbol (version 40-L, numeric)
    throw Error(ErrorCode::kInvalidArgument,
                "qr: text of " + std::to_string(text.size()) + " bytes cannot fit any QR symbol");
  }
  // The optimal segmentation depends on the count-indicator lengths, which depend on the
  // version group. Try the groups from the smallest: the first result whose version lies in the
  // group it was segmented for is optimal; otherwise keep the smallest seen.
  static constexpr std::array<int, 3> kGroupMax = {9, 26, 40};
  Code best;
  // Data capacity in bits of the largest version of each group (ISO/IEC 18004 Table 7: data
  // codewords of versions 9, 26 and 40 at L, M, Q, H); lets us skip hopeless encodings, the
  // expensive part being libqrencode's mask selection.
  static constexpr std::array<std::array<long, 4>, 3> kGroupCapacity = {
      {{232 * 8, 182 * 8, 132 * 8, 100 * 8},
       {1370 * 8, 1062 * 8, 754 * 8, 596 * 8},
       {2956 * 8, 2334 * 8, 1666 * 8, 1276 * 8}}};
  for (std::size_t g = 0; g < 3; ++g) {
    long bits = 0;
    const auto segs = segment(text, g, &bits);
    if (bits > kGroupCapacity[g][static_cast<std::size_t>(ecc)]) continue;
    Code c = encode_segments(text, segs, ecc);
    if (!c) continue;
    const bool in_group = c->version <= kGroupMax[g] && (g == 0 || c->version > kGroupMax[g - 1]);
    if (!best || c->version < best->version) best = std::move(c);
    if (in_group) break;
  }
  if (!best || best->version > max_version) {
    throw Error(ErrorCode::kInvalidArgument,
                "qr: text of " + std::to_string(text.size()) + " bytes does not fit version " +
                    std::to_string(max_version) +
                    (best ? " (needs version " + std::to_string(best->version) + ")"
                          : std::string(" (exceeds version 40)")));
  }
  QrMatrix m;
  m.version_ = best->version;
  m.width_ = best->width;
  const auto cells = static_cast<std::size_t>(m.width_) * static_cast<std::size_t>(m.width_);
  m.modules_.resize(cells);
  for (std::size_t i = 0; i < cells; ++i) m.modules_[i] = best->data[i] & 1U;  // bit 0: dark
  return m;
}

void draw_qr(cairo_t* cr, const QrMatrix& m, double x, double y, double size_mm) {
  constexpr int kQuiet = 4;  // ISO/IEC 18004 §9.1: quiet zone of 4 modules
  const int n = m.width() + 2 * kQuiet;
  const double size = size_mm * 72.0 / 25.4;
  // The symbol is one 1-bit image, one sample per module, used as a stencil mask: a PDF
  // /ImageMask (ISO 32000-1 §8.9.6.2) paints exactly the unit squares of its set samples, and
  // cairo writes /Interpolate false for CAIRO_FILTER_NEAREST (§8.9.5.3), so conforming readers
  // (Poppler, MuPDF, pdf.js) render each module as a sharp square at any resolution — the same
  // squares as vector paths, measured 0/255 only at 150 dpi with pdftoppm and mutool. Against the
  // earlier vector runs (one stroked path of ~1,000 runs in a Form XObject), a version-14 symbol
  // costs ~0.7 KB instead of ~5 KB per PDF and 0.03 ms instead of ~2 ms of cairo path output and
  // compression per licence (bench/README.md).
  const gobj::Surface mask(cairo_image_surface_create(CAIRO_FORMAT_A1, n, n));
  if (cairo_surface_status(mask.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kInternal, "qr: cannot create the module image");
  }
  cairo_surface_flush(mask.get());
  unsigned char* bits = cairo_image_surface_get_data(mask.get());
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(mask.get()));
  for (int r = 0; r < m.width(); ++r) {
    auto* row = bits + static_cast<std::size_t>(r + kQuiet) * stride;
    for (int c = 0; c < m.width(); ++c) {
      if (!m.dark(c, r)) continue;
      // CAIRO_FORMAT_A1 packs pixels into 32-bit words in the platform's bit order: the first
      // pixel is the least significant bit on little-endian machines, the most on big-endian.
      const auto px = static_cast<unsigned>(c + kQuiet);
      std::uint32_t word = 0;
      std::memcpy(&word, row + 4 * (px / 32), 4);
      word |= std::endian::native == std::endian::little ? 1U << (px % 32) : 1U << (31 - px % 32);
      std::memcpy(row + 4 * (px / 32), &word, 4);
    }
  }
  cairo_surface_mark_dirty(mask.get());

  cairo_save(cr);
  cairo_new_path(cr);  // a path the caller left open must not be filled with ours
  cairo_translate(cr, x, y);
  cairo_scale(cr, size / n, size / n);
  cairo_set_source_rgb(cr, 1, 1, 1);  // the quiet zone and light modules
  cairo_rectangle(cr, 0, 0, n, n);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  const gobj::Pattern pat(cairo_pattern_create_for_surface(mask.get()));
  cairo_pattern_set_filter(pat.get(), CAIRO_FILTER_NEAREST);
  cairo_mask(cr, pat.get());
  cairo_restore(cr);
}

}  // namespace libcert
