// qr.cpp — QR symbol from text (libqrencode) with mode segmentation, and its drawing as a stencil.
#include "libcert/qr.h"

#include <cairo.h>
#include <qrencode.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "gobj.h"
#include "libcert/error.h"

#if defined(LIBCERT_HAVE_QRCODE_ENCODEMASK)
// libqrencode 4.1.1 exports this function (qrencode.c: the symbol with the mask of the caller's
// choice, 0..7; -1 = its own search) without declaring it in qrencode.h; the build declares it
// only when CMake's configure check has linked a call with exactly this signature
// (CMakeLists.txt, LIBCERT_HAVE_QRCODE_ENCODEMASK).
extern "C" QRcode* QRcode_encodeMask(QRinput* input, int mask);
#endif

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
  std::array<long, 3> headers{};
  for (std::size_t m = 0; m < 3; ++m) headers[m] = (4 + kCountBits[group][m]) * 6;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // The modes that hold c are nested (digits ⊂ alphanumeric ⊂ 8-bit): those from the first.
    const std::size_t first = fits(kNum, c) ? 0 : fits(kAlnum, c) ? 1 : 2;
    for (std::size_t m = first; m < 3; ++m) {
      const long header = headers[m];
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

// Data codewords per version (index 0 = version 1) and ECC level L, M, Q, H: ISO/IEC 18004:2015
// Table 7 ("Number of data codewords"). Checked against libqrencode's own choice of version by
// Qr.VersionForAgreesWithLibqrencode over texts of every version.
constexpr std::array<std::array<short, 40>, 4> kDataCodewords = {{
    {19,   34,   55,   80,   108,  136,  156,  194,  232,  274,  324,  370,  428,  461,
     523,  589,  647,  721,  795,  861,  932,  1006, 1094, 1174, 1276, 1370, 1468, 1531,
     1631, 1735, 1843, 1955, 2071, 2191, 2306, 2434, 2566, 2702, 2812, 2956},
    {16,   28,   44,   64,   86,   108,  124,  154,  182,  216,  254,  290,  334,  365,
     415,  453,  507,  563,  627,  669,  714,  782,  860,  914,  1000, 1062, 1128, 1193,
     1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992, 2102, 2216, 2334},
    {13,  22,  34,   48,   62,   76,   88,   110,  132,  154,  180,  206, 244, 261,
     295, 325, 367,  397,  445,  485,  512,  568,  614,  664,  718,  754, 808, 871,
     911, 985, 1033, 1115, 1171, 1231, 1286, 1354, 1426, 1502, 1582, 1666},
    {9,   16,  26,  36,  46,  60,  66,  86,   100,  122,  140,  158, 180, 197,
     223, 253, 283, 313, 341, 385, 406, 442,  464,  514,  538,  596, 628, 661,
     701, 745, 793, 845, 901, 961, 986, 1054, 1096, 1142, 1222, 1276},
}};

std::size_t group_of(int version) { return version <= 9 ? 0 : version <= 26 ? 1 : 2; }

// The exact bit count of `segs` with the count indicators of version group `group`, as
// libqrencode counts it (ISO/IEC 18004 §7.4.3-7.4.5): numeric 10 bits per 3 digits (+4 or 7),
// alphanumeric 11 per 2 characters (+6), 8-bit 8 per byte; a segment longer than its count
// indicator can express is split, each part with its own mode and count indicator.
long exact_bits(const std::vector<Segment>& segs, std::size_t group) {
  long bits = 0;
  for (const auto& s : segs) {
    const auto len = static_cast<long>(s.end - s.begin);
    const int count_bits = kCountBits[group][s.mode];
    const long max_count = (1L << count_bits) - 1;
    bits += (len + max_count - 1) / max_count * (4 + count_bits);
    switch (s.mode) {
      case kNum:
        bits += len / 3 * 10 + (len % 3 == 1 ? 4 : len % 3 == 2 ? 7 : 0);
        break;
      case kAlnum:
        bits += len / 2 * 11 + (len % 2) * 6;
        break;
      case kByte:
        bits += len * 8;
        break;
    }
  }
  return bits;
}

// The version libqrencode chooses for `segs`: the smallest whose data capacity holds them, with
// the count indicators of that version's group (0 if none up to 40).
int smallest_version(const std::vector<Segment>& segs, QrEcc ecc) {
  const auto& cap = kDataCodewords[static_cast<std::size_t>(ecc)];
  for (int v = 1; v <= 40; ++v) {
    if (exact_bits(segs, group_of(v)) <= 8L * cap[static_cast<std::size_t>(v - 1)]) return v;
  }
  return 0;
}

struct Plan {
  std::vector<Segment> segs;
  int version = 0;  // 0: does not fit version 40
};

// The optimal segmentation depends on the count-indicator lengths, which depend on the version
// group. Try the groups from the smallest: the first result whose version lies in the group it was
// segmented for is optimal; otherwise keep the smallest seen.
Plan plan(std::string_view text, QrEcc ecc) {
  Plan best;
  for (std::size_t g = 0; g < 3; ++g) {
    long bound = 0;
    auto segs = segment(text, g, &bound);
    const int v = smallest_version(segs, ecc);
    if (v == 0) continue;
    if (best.version == 0 || v < best.version) best = {std::move(segs), v};
    if (group_of(v) == g) break;
  }
  return best;
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
// `mask`: -1 = libqrencode's own mask search (QRcode_encodeInput), 0..7 = that mask
// (QRcode_encodeMask, where the configure check found it).
Code encode_segments(std::string_view text, const std::vector<Segment>& segs, QrEcc ecc,
                     int mask) {
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
#if defined(LIBCERT_HAVE_QRCODE_ENCODEMASK)
  Code code(mask < 0 ? QRcode_encodeInput(in.get()) : QRcode_encodeMask(in.get(), mask));
#else
  if (mask >= 0) throw Error(ErrorCode::kInternal, "qr: QRcode_encodeMask is not available");
  Code code(QRcode_encodeInput(in.get()));
#endif
  if (!code && errno != ERANGE) {
    throw Error(ErrorCode::kInternal, std::string("qr: encoding failed: ") + std::strerror(errno));
  }
  return code;
}

// Format information (ISO/IEC 18004 §7.9.1, BCH(15,5) XOR 101010000010010), indexed by
// libqrencode's QRecLevel (L, M, Q, H) and mask: qrspec.c formatInfo.
constexpr std::array<std::array<unsigned, 8>, 4> kFormatInfo = {{
    {0x77c4, 0x72f3, 0x7daa, 0x789d, 0x662f, 0x6318, 0x6c41, 0x6976},
    {0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0},
    {0x355f, 0x3068, 0x3f31, 0x3a06, 0x24b4, 0x2183, 0x2eda, 0x2bed},
    {0x1689, 0x13be, 0x1ce7, 0x19d0, 0x0762, 0x0255, 0x0d0c, 0x083b},
}};

// The 30 modules of the two copies of the format information, in the order mask.c writes the
// 15 bits (bit 0 first): {x, y} pairs, two per bit.
std::array<std::array<int, 4>, 15> format_positions(int width) {
  std::array<std::array<int, 4>, 15> p{};
  for (int i = 0; i < 8; ++i) {
    p[static_cast<std::size_t>(i)] = {width - 1 - i, 8, 8, i < 6 ? i : i + 1};
  }
  for (int i = 0; i < 7; ++i) {
    p[static_cast<std::size_t>(8 + i)] = {8, width - 7 + i, i == 0 ? 7 : 6 - i, 8};
  }
  // {x1, y1, x2, y2}: the copy beside the top-right/bottom-left finders, then the top-left one.
  return p;
}

// The mask a finished symbol carries, read from its first copy of the format information.
int mask_of(const QRcode& code, QRecLevel level) {
  const auto fpos = format_positions(code.width);
  unsigned format = 0;
  for (std::size_t i = 0; i < 15; ++i) {
    const auto& q = fpos[i];
    const unsigned char v =
        code.data[static_cast<std::size_t>(q[1]) * static_cast<std::size_t>(code.width) +
                  static_cast<std::size_t>(q[0])];
    format |= static_cast<unsigned>(v & 1U) << i;
  }
  const auto& row = kFormatInfo[static_cast<std::size_t>(level)];
  const auto it = std::find(row.begin(), row.end(), format);
  if (it == row.end())
    throw Error(ErrorCode::kInternal, "qr: symbol without valid format information");
  return static_cast<int>(it - row.begin());
}

#if defined(LIBCERT_HAVE_QRCODE_ENCODEMASK)
// ---- Mask choice (ISO/IEC 18004:2015 §7.8.3), evaluated on bit rows ----
//
// libqrencode chooses the mask by building each of the 8 masked symbols module by module and
// scoring it (mask.c Mask_mask: ~0.7 ms of a v16 symbol, most of a QR's cost). We build the
// symbol once with mask 0 (QRcode_encodeMask), undo that mask to recover the data modules, and
// score the 8 candidates on rows and columns of 64-bit words. The score is libqrencode 4.1.1's
// own (mask.c), so the chosen mask — and the symbol — are the ones QRcode_encodeInput gives
// (Qr.FastMaskChoiceGivesLibqrencodesSymbol checks it on 10,000 payloads):
//   N1 = 3 + (run - 5) for each run of >= 5 equal modules in a row or column;
//   N2 = 3 for each 2x2 block of one colour (overlapping blocks counted);
//   N3 = 40 for each dark-light-dark-dark-dark-light-dark run pattern 1:1:3:1:1 in a row or
//        column with a light run of >= 4 units (or the symbol edge) on one side — libqrencode's
//        reading of §7.8.3.1, checked on run lengths;
//   N4 = 10 for each full 5 % step of the dark ratio (rounded to a percent) away from 50 %;
// the first mask with the smallest sum wins.
constexpr int kMaxWidth = 177;  // version 40
constexpr int kWords = (kMaxWidth + 63) / 64;
using Line = std::array<std::uint64_t, kWords>;

inline bool bit(const Line& l, int i) {
  return (l[static_cast<std::size_t>(i) / 64] >> (static_cast<unsigned>(i) % 64)) & 1U;
}
inline void set_bit(Line& l, int i) {
  l[static_cast<std::size_t>(i) / 64] |= std::uint64_t{1} << (static_cast<unsigned>(i) % 64);
}
// l >> 1 over the whole line: bit i of the result is bit i + 1 of l.
inline Line shr1(const Line& l) {
  Line o{};
  for (std::size_t w = 0; w < kWords; ++w) {
    o[w] = l[w] >> 1;
    if (w + 1 < kWords) o[w] |= l[w + 1] << 63;
  }
  return o;
}

// Whether mask `k` inverts the module at column x, row y: ISO/IEC 18004 Table 10 as mask.c
// writes it (the module is inverted when the expression is 0).
bool mask_flips(int k, int x, int y) {
  switch (k) {
    case 0:
      return ((x + y) & 1) == 0;
    case 1:
      return (y & 1) == 0;
    case 2:
      return x % 3 == 0;
    case 3:
      return (x + y) % 3 == 0;
    case 4:
      return (((y / 2) + (x / 3)) & 1) == 0;
    case 5:
      return ((x * y) & 1) + (x * y) % 3 == 0;
    case 6:
      return ((((x * y) & 1) + (x * y) % 3) & 1) == 0;
    default:
      return ((((x * y) % 3) + ((x + y) & 1)) & 1) == 0;
  }
}

// The 8 mask patterns as bit rows (row y: bit x) and bit columns (column x: bit y), for the
// largest symbol; a smaller symbol uses the low bits. Built once per process.
struct MaskPatterns {
  std::array<std::array<Line, kMaxWidth>, 8> rows{}, cols{};
  MaskPatterns() {
    for (int k = 0; k < 8; ++k) {
      for (int y = 0; y < kMaxWidth; ++y) {
        for (int x = 0; x < kMaxWidth; ++x) {
          if (!mask_flips(k, x, y)) continue;
          set_bit(rows[static_cast<std::size_t>(k)][static_cast<std::size_t>(y)], x);
          set_bit(cols[static_cast<std::size_t>(k)][static_cast<std::size_t>(x)], y);
        }
      }
    }
  }
};
const MaskPatterns& mask_patterns() {
  static const MaskPatterns p;
  return p;
}

// l >> s over the whole line (0 < s < 64): bit i of the result is bit i + s of l.
inline Line shr(const Line& l, unsigned s) {
  Line o{};
  for (std::size_t w = 0; w < kWords; ++w) {
    o[w] = l[w] >> s;
    if (w + 1 < kWords) o[w] |= l[w + 1] << (64U - s);
  }
  return o;
}
inline Line operator&(const Line& a, const Line& b) {
  Line o{};
  for (std::size_t w = 0; w < kWords; ++w) o[w] = a[w] & b[w];
  return o;
}
inline Line operator~(const Line& a) {
  Line o{};
  for (std::size_t w = 0; w < kWords; ++w) o[w] = ~a[w];
  return o;
}
// Without the POPCNT instruction (the x86-64 baseline), std::popcount is a call into libgcc's
// table-driven __popcountdi2; the SWAR count inlines.
inline int pop64(std::uint64_t x) {
#if defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
  return std::popcount(x);
#else
  x -= (x >> 1U) & 0x5555555555555555ULL;
  x = (x & 0x3333333333333333ULL) + ((x >> 2U) & 0x3333333333333333ULL);
  x = (x + (x >> 4U)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56U);
#endif
}
inline int popcount(const Line& l) {
  int n = 0;
  for (auto w : l) n += pop64(w);
  return n;
}
inline bool any(const Line& l) {
  std::uint64_t o = 0;
  for (auto w : l) o |= w;
  return o != 0;
}
// Bits 0..n-1 set (n <= kMaxWidth).
Line low_bits(int n) {
  Line o{};
  for (int i = 0; i < n; ++i) set_bit(o, i);
  return o;
}

// The line masks one symbol width needs, made once per symbol.
struct LineMasks {
  Line upto1, upto4;  // bits 0..width-2 (a module with a right neighbour), 0..width-5
  explicit LineMasks(int width) : upto1(low_bits(width - 1)), upto4(low_bits(width - 4)) {}
};

// N1 of one row or column, as mask.c's Mask_calcN1N3 counts it from run lengths (3 + (r - 5)
// for a run of r >= 5 equal modules), computed on the bits: a run of r >= 5 holds r - 4 windows
// of 5 equal modules and starts once, and 3 + (r - 5) = (r - 4) + 2.
int score_n1(const Line& l, const LineMasks& m) {
  Line d{};  // bit i: module i differs from module i + 1 (a run ends at i)
  const Line s1 = shr1(l);
  for (std::size_t w = 0; w < kWords; ++w) d[w] = (l[w] ^ s1[w]) & m.upto1[w];
  const Line d1 = shr(d, 1), d2 = shr(d, 2), d3 = shr(d, 3);
  Line windows{}, starts{};  // windows of 5 equal modules; those that start a run
  for (std::size_t w = 0; w < kWords; ++w) {
    windows[w] = ~(d[w] | d1[w] | d2[w] | d3[w]) & m.upto4[w];
    // A run starts at 0 and after every end: bit i + 1 for each end i.
    std::uint64_t st = d[w] << 1U;
    if (w > 0) st |= d[w - 1] >> 63U;
    if (w == 0) st |= 1U;
    starts[w] = st;
  }
  return popcount(windows) + 2 * popcount(windows & starts);
}

// Whether a line may hold a 1:1:3:1:1 pattern (dark f, light f, dark 3f, light f, dark f): for
// f = 1 and f = 2 the exact module pattern somewhere, for f >= 3 a dark run of at least 9. A
// necessary condition only (the runs at its ends may be longer than f); score_n3 decides.
bool n3_possible(const Line& l) {
  const Line l1 = shr1(l), l2 = shr(l, 2), l3 = shr(l, 3), l4 = shr(l, 4), l5 = shr(l, 5),
             l6 = shr(l, 6);
  // f = 1: 1011101 at bits p..p+6 (the last term keeps p + 6 inside the line).
  if (any(l & ~l1 & l2 & l3 & l4 & ~l5 & l6)) return true;
  // Dark windows: of 2, 4, 8 and 9 modules.
  const Line a2 = l & l1, a4 = a2 & shr(a2, 2), a8 = a4 & shr(a4, 4), a9 = a8 & shr(l, 8);
  if (any(a9)) return true;
  // f = 2: 11 00 111111 00 11 at bits p..p+13.
  return any(a2 & ~l2 & ~l3 & shr(a4, 4) & shr(a2, 8) & ~shr(l, 10) & ~shr(l, 11) &
             shr(a2, 12));
}

// N3 of one row or column, exactly as mask.c's Mask_calcN1N3 over its run lengths: runs
// alternate light, dark, light...; a line that starts dark gets a placeholder light run of -1.
int score_n3(const Line& l, int width) {
  std::array<int, kMaxWidth + 2> run;  // NOLINT: the first n are written before they are read
  int n = 0;
  if (bit(l, 0)) run[static_cast<std::size_t>(n++)] = -1;
  // Transitions: bit i set when module i differs from module i + 1 (i < width - 1).
  const Line s = shr1(l);
  int start = 0;
  for (std::size_t w = 0; w < kWords; ++w) {
    std::uint64_t t = l[w] ^ s[w];
    while (t) {
      const int i = static_cast<int>(w * 64) + std::countr_zero(t);
      t &= t - 1;
      if (i >= width - 1) break;
      run[static_cast<std::size_t>(n++)] = i + 1 - start;
      start = i + 1;
    }
  }
  run[static_cast<std::size_t>(n++)] = width - start;
  int demerit = 0;
  for (int i = 3; i < n - 2; i += 2) {  // the dark runs with two runs on each side
    const int r = run[static_cast<std::size_t>(i)];
    if (r % 3 != 0) continue;
    const int f = r / 3;
    const auto at = [&](int j) { return run[static_cast<std::size_t>(j)]; };
    if (at(i - 2) == f && at(i - 1) == f && at(i + 1) == f && at(i + 2) == f) {
      if (i == 3 || at(i - 3) >= 4 * f) {
        demerit += 40;
      } else if (i + 4 >= n || at(i + 3) >= 4 * f) {
        demerit += 40;
      }
    }
  }
  return demerit;
}


// Chooses the mask as libqrencode would and writes the symbol into `out` (width x width, 1 =
// dark). `code` is the symbol libqrencode made with mask 0; `level` its error correction level.
int choose_mask(const QRcode& code, QRecLevel level, std::vector<std::uint8_t>& out) {
  const int width = code.width;
  const auto W = static_cast<std::size_t>(width);
  const MaskPatterns& pat = mask_patterns();
  // Rows and columns of the mask-0 symbol (dark), of the modules masks apply to (libqrencode's
  // flag 0x80 clear: data, error correction and remainder bits) and of the format information.
  std::vector<Line> dark_r(W), dark_c(W), data_r(W), data_c(W), fmt_r(W), fmt_c(W);
  // Branch-free: the flags of a masked symbol are as good as random, and a mispredicted branch
  // per module cost more than the bit operations.
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code.data + static_cast<std::size_t>(y) * W;
    const auto Y = static_cast<std::size_t>(y);
    const unsigned ybit = static_cast<unsigned>(y) % 64U;
    const std::size_t yw = Y / 64;
    for (int x = 0; x < width; ++x) {
      const std::uint64_t v = row[x];
      const auto X = static_cast<std::size_t>(x);
      const unsigned xbit = static_cast<unsigned>(x) % 64U;
      const std::uint64_t dark = v & 1U, data = (~v >> 7U) & 1U, fmt = (v >> 2U) & 1U;
      dark_r[Y][X / 64] |= dark << xbit;
      dark_c[X][yw] |= dark << ybit;
      data_r[Y][X / 64] |= data << xbit;
      data_c[X][yw] |= data << ybit;
      fmt_r[Y][X / 64] |= fmt << xbit;
      fmt_c[X][yw] |= fmt << ybit;
    }
  }
  // Undo mask 0 and blank the format modules: the unmasked symbol (libqrencode's frame).
  for (std::size_t i = 0; i < W; ++i) {
    for (std::size_t w = 0; w < kWords; ++w) {
      dark_r[i][w] = (dark_r[i][w] ^ (data_r[i][w] & pat.rows[0][i][w])) & ~fmt_r[i][w];
      dark_c[i][w] = (dark_c[i][w] ^ (data_c[i][w] & pat.cols[0][i][w])) & ~fmt_c[i][w];
    }
  }
  const auto fpos = format_positions(width);
  const LineMasks lm(width);
  // 1. Each mask's symbol, and the parts of its score that are cheap on bits: N1, N2, N4 — a
  // lower bound of its score, since N3 >= 0.
  std::array<std::vector<Line>, 8> rows, cols;
  std::array<int, 8> bound{};
  const Line valid = low_bits(width - 1);  // N2: bits 0..width-2 of each pair of rows
  for (int k = 0; k < 8; ++k) {
    const auto K = static_cast<std::size_t>(k);
    std::vector<Line>& R = rows[K];
    std::vector<Line>& C = cols[K];
    R.resize(W);
    C.resize(W);
    for (std::size_t i = 0; i < W; ++i) {
      for (std::size_t w = 0; w < kWords; ++w) {
        R[i][w] = dark_r[i][w] ^ (data_r[i][w] & pat.rows[K][i][w]);
        C[i][w] = dark_c[i][w] ^ (data_c[i][w] & pat.cols[K][i][w]);
      }
    }
    unsigned format = kFormatInfo[static_cast<std::size_t>(level)][K];
    for (const auto& p : fpos) {
      if (format & 1U) {
        set_bit(R[static_cast<std::size_t>(p[1])], p[0]);
        set_bit(C[static_cast<std::size_t>(p[0])], p[1]);
        set_bit(R[static_cast<std::size_t>(p[3])], p[2]);
        set_bit(C[static_cast<std::size_t>(p[2])], p[3]);
      }
      format >>= 1;
    }
    // N4 on the dark ratio, rounded to a percent as mask.c rounds it.
    int blacks = 0;
    for (const auto& r : R) blacks += popcount(r);
    const int w2 = width * width;
    const int bratio = (200 * blacks + w2) / w2 / 2;
    int demerit = std::abs(bratio - 50) / 5 * 10;
    // N2: 2x2 blocks of one colour, on pairs of rows.
    for (std::size_t y = 1; y < W; ++y) {
      const Line& a = R[y - 1];
      const Line& b = R[y];
      const Line a1 = shr1(a), b1 = shr1(b);
      for (std::size_t w = 0; w < kWords; ++w) {
        const std::uint64_t all_dark = a[w] & a1[w] & b[w] & b1[w];
        const std::uint64_t all_light = ~(a[w] | a1[w] | b[w] | b1[w]);
        demerit += 3 * pop64((all_dark | all_light) & valid[w]);
      }
    }
    for (std::size_t i = 0; i < W; ++i) demerit += score_n1(R[i], lm) + score_n1(C[i], lm);
    bound[K] = demerit;
  }
  // 2. N3 (run lengths, the dear part) only for masks that can still win, the most promising
  // first: libqrencode takes the first mask (lowest number) with the smallest score, so a mask
  // is out once its score, or even its bound, exceeds the best, or equals it from a higher
  // number. The choice is the same as scoring all 8 in full.
  std::array<int, 8> order{0, 1, 2, 3, 4, 5, 6, 7};
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return bound[static_cast<std::size_t>(x)] < bound[static_cast<std::size_t>(y)];
  });
  int best = -1, best_demerit = std::numeric_limits<int>::max();
  const auto loses = [&](int d, int k) {
    return d > best_demerit || (d == best_demerit && k > best);
  };
  for (const int k : order) {
    const auto K = static_cast<std::size_t>(k);
    int demerit = bound[K];
    for (std::size_t i = 0; i < W && !loses(demerit, k); ++i) {
      for (const Line* l : {&rows[K][i], &cols[K][i]}) {
        if (n3_possible(*l)) demerit += score_n3(*l, width);
      }
    }
    if (!loses(demerit, k)) {
      best_demerit = demerit;
      best = k;
    }
  }
  const std::vector<Line>& best_rows = rows[static_cast<std::size_t>(best)];
  out.assign(W * W, 0);
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      out[static_cast<std::size_t>(y) * W + static_cast<std::size_t>(x)] =
          bit(best_rows[static_cast<std::size_t>(y)], x) ? 1 : 0;
    }
  }
  return best;
}
#endif

}  // namespace

bool QrMatrix::fast_mask_choice() {
#if defined(LIBCERT_HAVE_QRCODE_ENCODEMASK)
  return true;
#else
  return false;
#endif
}

QrMatrix QrMatrix::encode(std::string_view text, QrEcc ecc, int max_version, QrMaskSearch search) {
  if (text.empty()) throw Error(ErrorCode::kInvalidArgument, "qr: text is empty");
  if (max_version < 1 || max_version > 40) {
    throw Error(ErrorCode::kInvalidArgument,
                "qr: max_version must be 1..40, got " + std::to_string(max_version));
  }
  if (text.size() > 7089) {  // the largest capacity of any symbol (version 40-L, numeric)
    throw Error(ErrorCode::kInvalidArgument,
                "qr: text of " + std::to_string(text.size()) + " bytes cannot fit any QR symbol");
  }
  const Plan p = plan(text, ecc);
  if (p.version == 0 || p.version > max_version) {
    throw Error(ErrorCode::kInvalidArgument,
                "qr: text of " + std::to_string(text.size()) + " bytes does not fit version " +
                    std::to_string(max_version) +
                    (p.version != 0 ? " (needs version " + std::to_string(p.version) + ")"
                                    : std::string(" (exceeds version 40)")));
  }
  // One libqrencode call; it picks the same version. With the fast choice it builds the symbol
  // with mask 0 only and the mask is chosen here (choose_mask); otherwise libqrencode searches.
  const bool fast = search == QrMaskSearch::kFast && fast_mask_choice();
  const Code best = encode_segments(text, p.segs, ecc, fast ? 0 : -1);
  if (!best || best->version != p.version) {
    throw Error(ErrorCode::kInternal, "qr: libqrencode chose version " +
                                          std::to_string(best ? best->version : 0) + ", expected " +
                                          std::to_string(p.version));
  }
  QrMatrix m;
  m.version_ = best->version;
  m.width_ = best->width;
#if defined(LIBCERT_HAVE_QRCODE_ENCODEMASK)
  if (fast) {
    m.mask_ = choose_mask(*best, level(ecc), m.modules_);
    return m;
  }
#endif
  const auto cells = static_cast<std::size_t>(m.width_) * static_cast<std::size_t>(m.width_);
  m.modules_.resize(cells);
  for (std::size_t i = 0; i < cells; ++i) m.modules_[i] = best->data[i] & 1U;  // bit 0: dark
  m.mask_ = mask_of(*best, level(ecc));
  return m;
}

int QrMatrix::version_for(std::string_view text, QrEcc ecc) {
  if (text.empty()) throw Error(ErrorCode::kInvalidArgument, "qr: text is empty");
  if (text.size() > 7089) return 0;
  return plan(text, ecc).version;
}

void draw_qr(cairo_t* cr, const QrMatrix& m, double x, double y, double size_mm) {
  constexpr int kQuiet = 4;  // ISO/IEC 18004 §9.1: quiet zone of 4 modules
  const int n = m.width() + 2 * kQuiet;
  const double size = size_mm * 72.0 / 25.4;
  // The symbol is a 1-bit image used as a stencil mask: a PDF /ImageMask (ISO 32000-1 §8.9.6.2)
  // paints exactly the unit squares of its set samples, with /Interpolate false (cairo writes it
  // for CAIRO_FILTER_NEAREST, §8.9.5.3). Against the earlier vector runs (one stroked path of
  // ~1,000 runs in a Form XObject) a version-14 symbol costs ~1 KB instead of ~5 KB per PDF and
  // ~0.1 ms instead of ~2 ms of path output and compression per licence (bench/README.md).
  // Each module is kSamples x kSamples samples, not one: Poppler's cairo back end (certd's
  // previews, GNOME viewers) and Splash smooth an image that is magnified less than 4x even with
  // /Interpolate false, which blurs a one-sample-per-module QR at 100-200 dpi; at 4 samples per
  // module screen resolutions minify (area-averaged, like anti-aliased vector edges) and a 600 dpi
  // printer magnifies 2.6x, blurring less than 0.05 mm. Rows repeat, so Flate keeps it small.
  constexpr int kSamples = 4;
  const int side = n * kSamples;
  const gobj::Surface mask(cairo_image_surface_create(CAIRO_FORMAT_A1, side, side));
  if (cairo_surface_status(mask.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kInternal, "qr: cannot create the module image");
  }
  cairo_surface_flush(mask.get());
  unsigned char* bits = cairo_image_surface_get_data(mask.get());
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(mask.get()));
  std::vector<std::uint32_t> row(stride / 4);
  for (int r = 0; r < m.width(); ++r) {
    std::fill(row.begin(), row.end(), 0U);
    for (int c = 0; c < m.width(); ++c) {
      if (!m.dark(c, r)) continue;
      for (int k = 0; k < kSamples; ++k) {
        // CAIRO_FORMAT_A1 packs pixels into 32-bit words in the platform's bit order: the first
        // pixel is the least significant bit on little-endian machines, the most on big-endian.
        const auto px = static_cast<unsigned>((c + kQuiet) * kSamples + k);
        row[px / 32] |=
            std::endian::native == std::endian::little ? 1U << (px % 32) : 1U << (31 - px % 32);
      }
    }
    for (int k = 0; k < kSamples; ++k) {
      const auto y0 = static_cast<std::size_t>((r + kQuiet) * kSamples + k);
      std::memcpy(bits + y0 * stride, row.data(), stride);
    }
  }
  cairo_surface_mark_dirty(mask.get());

  cairo_save(cr);
  cairo_new_path(cr);  // a path the caller left open must not be filled with ours
  cairo_translate(cr, x, y);
  cairo_scale(cr, size / side, size / side);
  cairo_set_source_rgb(cr, 1, 1, 1);  // the quiet zone and light modules
  cairo_rectangle(cr, 0, 0, side, side);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  const gobj::Pattern pat(cairo_pattern_create_for_surface(mask.get()));
  cairo_pattern_set_filter(pat.get(), CAIRO_FILTER_NEAREST);
  cairo_mask(cr, pat.get());
  cairo_restore(cr);
}

}  // namespace libcert
