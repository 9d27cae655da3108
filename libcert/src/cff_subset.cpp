// cff_subset.cpp — see cff_subset.h. References: Adobe Technical Note #5176 "The Compact Font
// Format Specification" (CFF) and #5177 "The Type 2 Charstring Format" (Type 2).
#include "cff_subset.h"

#include <algorithm>
#include <set>

#include "libcert/error.h"

namespace libcert::font {

namespace {

Error bad(const std::string& what) { return Error(ErrorCode::kRender, "CFF: " + what); }

// Subroutine numbers are stored minus a bias that depends on the INDEX's size (Type 2 §4.7).
unsigned bias_of(std::size_t count) {
  if (count < 1240) return 107;
  if (count < 33900) return 1131;
  return 32768;
}

// One DICT entry (CFF §4): its operator (one byte, or 1200 + the second byte of an escape) and
// where its bytes (operands and operator) lie in the table; integer operands are decoded, real
// ones count as 0 (only integer operands — sizes and offsets — are ever used here).
struct DictEntry {
  unsigned op = 0;
  std::size_t begin = 0, end = 0;
  std::vector<long> operands;
};

void put_be(std::string& s, std::size_t v, unsigned size) {
  for (unsigned i = size; i-- > 0;) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A DICT integer operand in its 5-byte form (CFF §4 Table 3, b0 = 29): the subset's offsets are
// written before their values are known, so every one has the same size.
void put_int5(std::string& s, long v) {
  s += static_cast<char>(29);
  put_be(s, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
}

unsigned off_size_for(std::size_t largest) {
  if (largest < 0x100) return 1;
  if (largest < 0x10000) return 2;
  if (largest < 0x1000000) return 3;
  return 4;
}

// An INDEX (CFF §5) of `items`.
std::string make_index(const std::vector<std::string_view>& items) {
  std::string s;
  put_be(s, items.size(), 2);
  if (items.empty()) return s;
  std::size_t total = 1;
  for (auto it : items) total += it.size();
  const unsigned os = off_size_for(total);
  s += static_cast<char>(os);
  std::size_t off = 1;
  put_be(s, off, os);
  for (auto it : items) {
    off += it.size();
    put_be(s, off, os);
  }
  for (auto it : items) s.append(it);
  return s;
}

std::size_t index_size(const std::vector<std::size_t>& lengths) {
  if (lengths.empty()) return 2;
  std::size_t total = 1;
  for (auto l : lengths) total += l;
  return 3 + (lengths.size() + 1) * off_size_for(total) + total - 1;
}

// A Type 2 operand (§3.2): an integer, or a 16.16 fixed number kept as its raw bits so that it is
// written back exactly.
struct Arg {
  std::int32_t v = 0;
  bool fixed = false;
};

void put_arg(std::string& s, Arg a) {
  if (a.fixed) {
    s += static_cast<char>(255);
    put_be(s, static_cast<std::uint32_t>(a.v), 4);
  } else if (a.v >= -107 && a.v <= 107) {
    s += static_cast<char>(a.v + 139);
  } else if (a.v >= 108 && a.v <= 1131) {
    const int w = a.v - 108;
    s += static_cast<char>((w >> 8) + 247);
    s += static_cast<char>(w & 0xff);
  } else if (a.v >= -1131 && a.v <= -108) {
    const int w = -a.v - 108;
    s += static_cast<char>((w >> 8) + 251);
    s += static_cast<char>(w & 0xff);
  } else {  // decoded from a shortint (28), so within int16
    s += static_cast<char>(28);
    put_be(s, static_cast<std::uint16_t>(static_cast<std::int16_t>(a.v)), 2);
  }
}

}  // namespace

// The expansion of one glyph's charstring (Type 2 §4): operands are collected as they are read,
// across subroutine boundaries (a subroutine may push operands its caller's operator uses, §4.7),
// and written out in front of each operator that is kept.
struct CidCff::Expanded {
  const CidCff& cff;
  const FontDict& fd;
  bool drop_hints = true;
  std::vector<Arg> stack;
  std::string out;
  std::size_t stems = 0;
  bool width_seen = false;  // the first stack-clearing operator has been met (§3.1 width)
  bool has_width = false;
  Arg width;
  bool ended = false;
  std::size_t steps = 0;

  Expanded(const CidCff& c, const FontDict& f, bool drop) : cff(c), fd(f), drop_hints(drop) {}

  static constexpr std::size_t kMaxStack = 48;    // Type 2 Appendix B
  static constexpr int kMaxDepth = 10;            // subroutine nesting, Appendix B
  static constexpr std::size_t kMaxSteps = 200000;
  static constexpr std::size_t kMaxLength = 65535;

  unsigned byte(std::size_t i, std::size_t end) const {
    if (i >= end) throw bad("charstring ends inside an operand or operator");
    return static_cast<unsigned char>(cff.t_[i]);
  }

  // The width, if present, is the first operand of the first stack-clearing operator (§3.1,
  // Table 1 note): present when that operator has one operand more than it takes.
  void take_width(bool extra) {
    if (width_seen) return;
    width_seen = true;
    if (extra && !stack.empty()) {
      has_width = true;
      width = stack.front();
      stack.erase(stack.begin());
    }
  }

  void emit(unsigned op) {
    if (has_width) {  // the width goes in front of the first operator written
      put_arg(out, width);
      has_width = false;
    }
    for (const Arg& a : stack) put_arg(out, a);
    if (op >= 1200) {
      out += static_cast<char>(12);
      out += static_cast<char>(op - 1200);
    } else {
      out += static_cast<char>(op);
    }
    stack.clear();
    if (out.size() > kMaxLength) throw bad("expanded charstring longer than 65,535 bytes");
  }

  void run(Range code, int depth) {
    std::size_t i = code.begin;
    while (i < code.end && !ended) {
      if (++steps > kMaxSteps) throw bad("charstring runs too long (subroutine loop?)");
      const unsigned b = byte(i, code.end);
      if (b == 28 || b >= 32) {
        Arg a;
        if (b == 28) {
          a.v = static_cast<std::int16_t>((byte(i + 1, code.end) << 8) | byte(i + 2, code.end));
          i += 3;
        } else if (b <= 246) {
          a.v = static_cast<std::int32_t>(b) - 139;
          i += 1;
        } else if (b <= 250) {
          a.v = (static_cast<std::int32_t>(b) - 247) * 256 +
                static_cast<std::int32_t>(byte(i + 1, code.end)) + 108;
          i += 2;
        } else if (b <= 254) {
          a.v = -(static_cast<std::int32_t>(b) - 251) * 256 -
                static_cast<std::int32_t>(byte(i + 1, code.end)) - 108;
          i += 2;
        } else {
          std::uint32_t v = 0;
          for (std::size_t k = 1; k <= 4; ++k) v = (v << 8) | byte(i + k, code.end);
          a.v = static_cast<std::int32_t>(v);
          a.fixed = true;
          i += 5;
        }
        if (stack.size() >= kMaxStack) throw bad("charstring operand stack overflow");
        stack.push_back(a);
        continue;
      }
      unsigned op = b;
      ++i;
      if (b == 12) {
        op = 1200 + byte(i, code.end);
        ++i;
      }
      switch (op) {
        case 10:    // callsubr
        case 29: {  // callgsubr
          if (stack.empty() || stack.back().fixed) throw bad("subroutine call without a number");
          const bool global = op == 29;
          const Index& ix = global ? cff.gsubrs_ : fd.subrs;
          const long n = static_cast<long>(stack.back().v) + (global ? cff.gbias_ : fd.bias);
          stack.pop_back();
          if (n < 0 || static_cast<std::size_t>(n) >= ix.count) {
            throw bad(std::string(global ? "global" : "local") + " subroutine " +
                      std::to_string(n) + " does not exist");
          }
          if (depth + 1 > kMaxDepth) throw bad("subroutines nested deeper than 10");
          run(cff.item(ix, static_cast<std::size_t>(n)), depth + 1);
          break;
        }
        case 11:  // return
          if (depth == 0) throw bad("return outside a subroutine");
          return;
        case 14:  // endchar
          take_width(stack.size() == 1 || stack.size() == 5);
          // Four operands would be the deprecated accented-character form (seac, Type 2
          // Appendix C), which CID-keyed fonts do not use.
          if (!stack.empty()) throw bad("endchar with seac operands is not supported");
          emit(14);
          ended = true;
          return;
        case 1:    // hstem
        case 3:    // vstem
        case 18:   // hstemhm
        case 23:   // vstemhm
          take_width(stack.size() % 2 == 1);
          stems += stack.size() / 2;
          if (drop_hints) {
            stack.clear();
          } else {
            emit(op);
          }
          break;
        case 19:    // hintmask
        case 20: {  // cntrmask
          // Operands before the first hintmask are vstem hints (§4.3); the mask has one bit
          // per stem declared so far.
          take_width(stack.size() % 2 == 1);
          stems += stack.size() / 2;
          const std::size_t mask = (stems + 7) / 8;
          if (i + mask > code.end) throw bad("hint mask runs past its charstring");
          if (drop_hints) {
            stack.clear();
          } else {
            emit(op);
            out.append(cff.t_.substr(i, mask));
          }
          i += mask;
          break;
        }
        case 21:  // rmoveto
          take_width(stack.size() > 2);
          emit(op);
          break;
        case 4:   // vmoveto
        case 22:  // hmoveto
          take_width(stack.size() > 1);
          emit(op);
          break;
        case 5: case 6: case 7: case 8: case 24: case 25: case 26: case 27: case 30: case 31:
        case 1234: case 1235: case 1236: case 1237:  // path operators and flex (§4.1, §4.4)
          if (!width_seen) throw bad("path operator before the first moveto");
          emit(op);
          break;
        default:
          // Arithmetic, storage and conditional operators (§4.5, §4.6) are not used by the
          // CID-keyed fonts this serves; refused rather than interpreted half-way.
          throw bad("unsupported charstring operator " + std::to_string(op));
      }
    }
  }
};

CidCff::Index CidCff::read_index(std::size_t at) const {
  auto u8 = [&](std::size_t i) -> unsigned {
    if (i >= t_.size()) throw bad("INDEX past the end of the table");
    return static_cast<unsigned char>(t_[i]);
  };
  Index ix;
  ix.count = (u8(at) << 8) | u8(at + 1);
  if (ix.count == 0) {
    ix.end = at + 2;
    return ix;
  }
  ix.off_size = u8(at + 2);
  if (ix.off_size < 1 || ix.off_size > 4) throw bad("INDEX offset size out of range");
  ix.offsets = at + 3;
  ix.data = ix.offsets + (ix.count + 1) * ix.off_size - 1;
  if (ix.data >= t_.size()) throw bad("INDEX offsets past the end of the table");
  ix.end = item(ix, ix.count - 1).end;
  return ix;
}

CidCff::Range CidCff::item(const Index& ix, std::size_t i) const {
  auto off = [&](std::size_t k) {
    std::size_t v = 0;
    const std::size_t at = ix.offsets + k * ix.off_size;
    if (at + ix.off_size > t_.size()) throw bad("INDEX offset past the end of the table");
    for (unsigned b = 0; b < ix.off_size; ++b) v = (v << 8) | static_cast<unsigned char>(t_[at + b]);
    return v;
  };
  if (i >= ix.count) throw bad("INDEX item out of range");
  const std::size_t a = off(i), b = off(i + 1);
  // Offsets are 1-based from the byte before the data (§5).
  if (a == 0 || b < a || ix.data + b > t_.size()) throw bad("INDEX item past the end of the table");
  return {ix.data + a, ix.data + b};
}

namespace {

std::vector<DictEntry> parse_dict(std::string_view t, std::size_t begin, std::size_t end) {
  if (end > t.size() || begin > end) throw bad("DICT past the end of the table");
  auto u8 = [&](std::size_t i) -> unsigned {
    if (i >= end) throw bad("DICT ends inside an operand");
    return static_cast<unsigned char>(t[i]);
  };
  std::vector<DictEntry> entries;
  DictEntry e;
  e.begin = begin;
  for (std::size_t i = begin; i < end;) {
    const unsigned c = u8(i);
    if (c <= 21) {
      e.op = c;
      if (c == 12) {
        e.op = 1200 + u8(i + 1);
        ++i;
      }
      ++i;
      e.end = i;
      entries.push_back(std::move(e));
      e = DictEntry{};
      e.begin = i;
    } else if (c == 28) {
      e.operands.push_back(static_cast<std::int16_t>((u8(i + 1) << 8) | u8(i + 2)));
      i += 3;
    } else if (c == 29) {
      e.operands.push_back(static_cast<std::int32_t>((u8(i + 1) << 24) | (u8(i + 2) << 16) |
                                                     (u8(i + 3) << 8) | u8(i + 4)));
      i += 5;
    } else if (c == 30) {  // real: nibbles up to one that is 0xf (§4 Table 5)
      ++i;
      while ((u8(i) & 0x0f) != 0x0f && (u8(i) >> 4) != 0x0f) ++i;
      ++i;
      e.operands.push_back(0);
    } else if (c >= 32 && c <= 246) {
      e.operands.push_back(static_cast<long>(c) - 139);
      ++i;
    } else if (c >= 247 && c <= 250) {
      e.operands.push_back((static_cast<long>(c) - 247) * 256 + u8(i + 1) + 108);
      i += 2;
    } else if (c >= 251 && c <= 254) {
      e.operands.push_back(-(static_cast<long>(c) - 251) * 256 - u8(i + 1) - 108);
      i += 2;
    } else {
      throw bad("reserved byte " + std::to_string(c) + " in a DICT");
    }
  }
  if (!e.operands.empty()) throw bad("DICT ends with operands and no operator");
  return entries;
}

const DictEntry* find(const std::vector<DictEntry>& d, unsigned op) {
  for (const auto& e : d) {
    if (e.op == op) return &e;
  }
  return nullptr;
}

std::size_t offset_operand(const DictEntry* e, std::size_t table_size, const char* what) {
  if (e == nullptr || e->operands.empty()) throw bad(std::string("no ") + what);
  const long v = e->operands.back();
  if (v <= 0 || static_cast<std::size_t>(v) >= table_size) {
    throw bad(std::string(what) + " offset outside the table");
  }
  return static_cast<std::size_t>(v);
}

}  // namespace

CidCff::CidCff(std::string_view table, Options options) : t_(table), options_(options) {
  if (t_.size() < 4) throw bad("shorter than its header");
  if (t_[0] != 1) throw bad("major version " + std::to_string(static_cast<int>(t_[0])) + " is not 1");
  const std::size_t header = static_cast<unsigned char>(t_[2]);
  if (header < 4) throw bad("header size below 4");
  const Index names = read_index(header);
  name_ = {header, names.end};
  if (names.count != 1) throw bad("the Name INDEX does not have exactly one font");
  const Index tops = read_index(names.end);
  if (tops.count != 1) throw bad("the Top DICT INDEX does not have exactly one DICT");
  top_ = item(tops, 0);
  strings_ = read_index(tops.end);
  gsubrs_ = read_index(strings_.end);
  gbias_ = bias_of(gsubrs_.count);

  const auto top = parse_dict(t_, top_.begin, top_.end);
  if (top.empty() || top.front().op != 1230) {
    throw bad("not CID-keyed (the Top DICT does not begin with ROS)");
  }
  if (const DictEntry* ct = find(top, 1206); ct != nullptr && !ct->operands.empty() &&
                                             ct->operands.back() != 2) {
    throw bad("CharstringType " + std::to_string(ct->operands.back()) + " is not 2");
  }
  charstrings_ = read_index(offset_operand(find(top, 17), t_.size(), "CharStrings"));
  glyph_count_ = static_cast<std::uint32_t>(charstrings_.count);
  if (glyph_count_ == 0) throw bad("no glyphs");

  auto u8 = [&](std::size_t i) -> unsigned {
    if (i >= t_.size()) throw bad("charset or FDSelect past the end of the table");
    return static_cast<unsigned char>(t_[i]);
  };
  auto u16 = [&](std::size_t i) { return (u8(i) << 8) | u8(i + 1); };

  // charset (§13): glyph 0 is .notdef (CID 0) and not listed.
  {
    std::size_t at = offset_operand(find(top, 15), t_.size(), "charset");
    charset_.assign(glyph_count_, 0);
    const unsigned format = u8(at++);
    std::uint32_t g = 1;
    if (format == 0) {
      for (; g < glyph_count_; ++g, at += 2) charset_[g] = u16(at);
    } else if (format == 1 || format == 2) {
      while (g < glyph_count_) {
        const unsigned first = u16(at);
        const unsigned left = format == 1 ? u8(at + 2) : u16(at + 2);
        at += format == 1 ? 3 : 4;
        for (unsigned k = 0; k <= left && g < glyph_count_; ++k, ++g) charset_[g] = first + k;
      }
    } else {
      throw bad("unknown charset format " + std::to_string(format));
    }
  }

  // FDArray (§19): one Font DICT per FD, each with its Private DICT and optional local subrs.
  {
    const Index fda = read_index(offset_operand(find(top, 1236), t_.size(), "FDArray"));
    if (fda.count == 0 || fda.count > 256) throw bad("FDArray count out of range");
    for (std::size_t k = 0; k < fda.count; ++k) {
      FontDict fd;
      fd.dict = item(fda, k);
      const auto d = parse_dict(t_, fd.dict.begin, fd.dict.end);
      const DictEntry* p = find(d, 18);
      if (p == nullptr || p->operands.size() != 2 || p->operands[0] < 0 || p->operands[1] < 0) {
        throw bad("Font DICT " + std::to_string(k) + " without a Private DICT");
      }
      fd.priv.begin = static_cast<std::size_t>(p->operands[1]);
      fd.priv.end = fd.priv.begin + static_cast<std::size_t>(p->operands[0]);
      const auto pd = parse_dict(t_, fd.priv.begin, fd.priv.end);
      // Subrs' offset is relative to the Private DICT (§15).
      if (const DictEntry* s = find(pd, 19); s != nullptr && !s->operands.empty()) {
        if (s->operands.back() <= 0) throw bad("Subrs offset out of range");
        fd.subrs = read_index(fd.priv.begin + static_cast<std::size_t>(s->operands.back()));
      }
      fd.bias = bias_of(fd.subrs.count);
      fds_.push_back(fd);
    }
  }

  // FDSelect (§19): format 0 (one FD per glyph) or 3 (ranges), kept as ranges.
  {
    std::size_t at = offset_operand(find(top, 1237), t_.size(), "FDSelect");
    const unsigned format = u8(at++);
    if (format == 0) {
      for (std::uint32_t g = 0; g < glyph_count_; ++g) {
        const unsigned fd = u8(at + g);
        if (fdselect_.empty() || fdselect_.back().second != fd) fdselect_.emplace_back(g, fd);
      }
    } else if (format == 3) {
      const unsigned n = u16(at);
      at += 2;
      for (unsigned r = 0; r < n; ++r, at += 3) {
        const unsigned first = u16(at);
        if (r == 0 ? first != 0 : first <= fdselect_.back().first) {
          throw bad("FDSelect ranges out of order");
        }
        fdselect_.emplace_back(first, u8(at + 2));
      }
      if (n == 0 || u16(at) != glyph_count_) throw bad("FDSelect sentinel is not the glyph count");
    } else {
      throw bad("unknown FDSelect format " + std::to_string(format));
    }
    for (const auto& [first, fd] : fdselect_) {
      if (fd >= fds_.size()) throw bad("FDSelect names FD " + std::to_string(fd) + " that does not exist");
    }
  }

  cache_ = std::make_unique<std::atomic<const std::string*>[]>(glyph_count_);
  for (std::uint32_t g = 0; g < glyph_count_; ++g) cache_[g].store(nullptr, std::memory_order_relaxed);
}

CidCff::~CidCff() {
  for (std::uint32_t g = 0; g < glyph_count_; ++g) delete cache_[g].load(std::memory_order_relaxed);
}

std::uint32_t CidCff::cid(std::uint32_t glyph) const {
  if (glyph >= glyph_count_) throw bad("glyph " + std::to_string(glyph) + " does not exist");
  return charset_[glyph];
}

unsigned CidCff::fd_of(std::uint32_t glyph) const {
  auto it = std::upper_bound(fdselect_.begin(), fdselect_.end(), glyph,
                             [](std::uint32_t g, const auto& r) { return g < r.first; });
  return std::prev(it)->second;  // the first range starts at glyph 0
}

std::string CidCff::expand(std::uint32_t glyph) const {
  Expanded x(*this, fds_[fd_of(glyph)], options_.drop_hints);
  x.run(item(charstrings_, glyph), 0);
  if (!x.ended) throw bad("glyph " + std::to_string(glyph) + "'s charstring has no endchar");
  return std::move(x.out);
}

const std::string& CidCff::charstring(std::uint32_t glyph) const {
  if (glyph >= glyph_count_) throw bad("glyph " + std::to_string(glyph) + " does not exist");
  if (const std::string* s = cache_[glyph].load(std::memory_order_acquire)) return *s;
  auto made = std::make_unique<const std::string>(expand(glyph));
  const std::string* expected = nullptr;
  if (cache_[glyph].compare_exchange_strong(expected, made.get(), std::memory_order_acq_rel)) {
    return *made.release();
  }
  return *expected;  // another thread stored it first
}

std::vector<std::uint32_t> CidCff::kept(std::span<const std::uint32_t> glyphs) const {
  std::set<std::uint32_t> s(glyphs.begin(), glyphs.end());
  s.insert(0);
  for (std::uint32_t g : s) {
    if (g >= glyph_count_) throw bad("glyph " + std::to_string(g) + " does not exist");
  }
  return {s.begin(), s.end()};
}

std::string CidCff::subset(std::span<const std::uint32_t> glyphs) const {
  const std::vector<std::uint32_t> ids = kept(glyphs);
  std::vector<std::string_view> charstrings;
  charstrings.reserve(ids.size());
  for (std::uint32_t g : ids) charstrings.push_back(charstring(g));
  // Options::notdef_outline: glyph 0 as "endchar" alone (Type 2 §4.2; its width is the FD's
  // defaultWidthX, unused: PDF takes widths from /W).
  static constexpr std::string_view kEmptyGlyph = "\x0e";
  if (!options_.notdef_outline) charstrings.front() = kEmptyGlyph;

  // The FDs used, renumbered in order of first use by ascending glyph.
  std::vector<int> fd_new(fds_.size(), -1);
  std::vector<unsigned> fd_used;  // new -> old
  std::vector<unsigned> glyph_fd;  // by new glyph id
  for (std::uint32_t g : ids) {
    const unsigned fd = fd_of(g);
    if (fd_new[fd] < 0) {
      fd_new[fd] = static_cast<int>(fd_used.size());
      fd_used.push_back(fd);
    }
    glyph_fd.push_back(static_cast<unsigned>(fd_new[fd]));
  }

  // Top DICT: the source's entries but the offsets and the optional names; the strings kept
  // (ROS's registry and ordering, Notice, Copyright) get new SIDs in a String INDEX of their own.
  std::vector<std::string_view> strings;
  auto sid = [&](long old) -> long {
    if (old < 391) return old;  // a standard string (§10, Appendix A)
    const Range r = item(strings_, static_cast<std::size_t>(old - 391));
    strings.push_back(t_.substr(r.begin, r.end - r.begin));
    return 391 + static_cast<long>(strings.size()) - 1;
  };
  std::string top;
  for (const auto& e : parse_dict(t_, top_.begin, top_.end)) {
    switch (e.op) {
      case 1230:  // ROS: registry SID, ordering SID, supplement
        if (e.operands.size() != 3) throw bad("ROS does not have 3 operands");
        put_int5(top, sid(e.operands[0]));
        put_int5(top, sid(e.operands[1]));
        put_int5(top, e.operands[2]);
        top += "\x0c\x1e";
        break;
      case 1:     // Notice
      case 1200:  // Copyright
        if (e.operands.size() != 1) throw bad("Notice or Copyright without one SID");
        put_int5(top, sid(e.operands[0]));
        if (e.op == 1) {
          top += static_cast<char>(1);
        } else {
          top += "\x0c";
          top += '\0';
        }
        break;
      // version, FullName, FamilyName, Weight, PostScript, BaseFontName, FontName: optional
      // names; charset, Encoding, CharStrings, Private, FDArray, FDSelect: rewritten below.
      case 0: case 2: case 3: case 4: case 1221: case 1222: case 1238:
      case 15: case 16: case 17: case 18: case 1236: case 1237:
        break;
      default:
        top.append(t_.substr(e.begin, e.end - e.begin));
    }
  }
  const std::size_t top_len = top.size() + 4 * 5 + 1 + 1 + 2 + 2;

  // charset format 0 and FDSelect format 3 (§13, §19).
  std::string charset(1, '\0');
  for (std::size_t n = 1; n < ids.size(); ++n) put_be(charset, charset_[ids[n]], 2);
  std::string fdselect(1, '\3');
  std::vector<std::pair<std::size_t, unsigned>> ranges;
  for (std::size_t n = 0; n < ids.size(); ++n) {
    if (ranges.empty() || ranges.back().second != glyph_fd[n]) ranges.emplace_back(n, glyph_fd[n]);
  }
  put_be(fdselect, ranges.size(), 2);
  for (const auto& [first, fd] : ranges) {
    put_be(fdselect, first, 2);
    fdselect += static_cast<char>(fd);
  }
  put_be(fdselect, ids.size(), 2);
  const std::string charstrings_index = make_index(charstrings);

  // Font DICTs without their Private offset, Private DICTs without Subrs (§15: no subroutines)
  // and, with drop_hints, without hinting parameters.
  std::vector<std::string> fdicts, privs;
  for (unsigned old : fd_used) {
    std::string d, p;
    for (const auto& e : parse_dict(t_, fds_[old].dict.begin, fds_[old].dict.end)) {
      if (e.op != 18 && e.op != 1238) d.append(t_.substr(e.begin, e.end - e.begin));  // FontName: optional
    }
    for (const auto& e : parse_dict(t_, fds_[old].priv.begin, fds_[old].priv.end)) {
      if (e.op == 19) continue;  // Subrs: none in the subset
      if (options_.drop_hints && e.op != 20 && e.op != 21) continue;  // Options::drop_hints
      p.append(t_.substr(e.begin, e.end - e.begin));
    }
    if (p.empty()) p = "\x8b\x14";  // defaultWidthX 0 (the default): no zero-size Private DICT
    fdicts.push_back(std::move(d));
    privs.push_back(std::move(p));
  }
  std::vector<std::size_t> fd_lengths;
  for (const auto& d : fdicts) fd_lengths.push_back(d.size() + 11);  // + size, offset, 18

  const std::size_t name_len = name_.end - name_.begin;
  const std::string strings_index = make_index(strings);
  const std::size_t strings_len = strings_index.size();
  const std::size_t charset_at = 4 + name_len + index_size({top_len}) + strings_len + 2;
  const std::size_t fdselect_at = charset_at + charset.size();
  const std::size_t charstrings_at = fdselect_at + fdselect.size();
  const std::size_t fdarray_at = charstrings_at + charstrings_index.size();
  std::size_t priv_at = fdarray_at + index_size(fd_lengths);

  std::vector<std::string> fdicts_final;
  std::string privates;
  for (std::size_t k = 0; k < fdicts.size(); ++k) {
    std::string d = fdicts[k];
    put_int5(d, static_cast<long>(privs[k].size()));
    put_int5(d, static_cast<long>(priv_at));
    d += static_cast<char>(18);
    priv_at += privs[k].size();
    privates += privs[k];
    fdicts_final.push_back(std::move(d));
  }
  put_int5(top, static_cast<long>(charset_at));
  top += static_cast<char>(15);
  put_int5(top, static_cast<long>(charstrings_at));
  top += static_cast<char>(17);
  put_int5(top, static_cast<long>(fdselect_at));
  top += "\x0c\x25";  // 12 37 FDSelect
  put_int5(top, static_cast<long>(fdarray_at));
  top += "\x0c\x24";  // 12 36 FDArray

  std::string out = {'\1', '\0', '\4', '\4'};  // version 1.0, header size 4, offSize 4 (§6)
  out.append(t_.substr(name_.begin, name_len));
  out += make_index({top});
  out += strings_index;
  out += make_index({});  // no global subroutines
  if (out.size() != charset_at) throw Error(ErrorCode::kInternal, "CFF subset: layout mismatch");
  out += charset;
  out += fdselect;
  out += charstrings_index;
  std::vector<std::string_view> fdv(fdicts_final.begin(), fdicts_final.end());
  out += make_index(fdv);
  out += privates;
  if (out.size() != priv_at) throw Error(ErrorCode::kInternal, "CFF subset: layout mismatch");
  return out;
}

}  // namespace libcert::font
