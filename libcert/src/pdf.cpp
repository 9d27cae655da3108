// pdf.cpp — strict minimal PDF reader and incremental writer (see libcert/pdf.h).
//
// The reader follows ISO 32000-1 §7.2 (lexical conventions), §7.3 (objects) and §7.5 (file
// structure) literally and refuses what it does not understand: no reconstruction of broken
// xref tables, no scanning for "obj" keywords. That is deliberate — a signature verifier must
// interpret a file exactly as the cross-reference chain defines it.
#include "libcert/pdf.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "libcert/error.h"

namespace libcert::pdf {

namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorCode::kPdfMalformed, "pdf: " + what);
}
[[noreturn]] void limit(const std::string& what) {
  throw Error(ErrorCode::kLimitExceeded, "pdf: " + what);
}
std::string at(std::size_t p) { return " at byte " + std::to_string(p); }

// §7.2.2 white-space characters and delimiters.
bool is_ws(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}
bool is_delim(char c) {
  return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' ||
         c == '}' || c == '/' || c == '%';
}
bool is_regular(char c) { return !is_ws(c) && !is_delim(c); }
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Resolves an indirect /Length while a stream is parsed (nullptr: lengths must be direct).
using LengthResolver = std::function<std::int64_t(Ref)>;

class Parser {
 public:
  Parser(std::string_view s, std::size_t p, const Limits& lim, bool positions)
      : s_(s), p_(p), lim_(lim), positions_(positions) {}

  std::size_t pos() const { return p_; }
  void seek(std::size_t p) { p_ = p; }
  bool eof() const { return p_ >= s_.size(); }

  void skip_ws() {
    while (p_ < s_.size()) {
      if (is_ws(s_[p_])) {
        ++p_;
      } else if (s_[p_] == '%') {  // comment to end of line (§7.2.3)
        while (p_ < s_.size() && s_[p_] != '\r' && s_[p_] != '\n') ++p_;
      } else {
        break;
      }
    }
  }

  // A run of regular characters (keyword or number), after white space.
  std::string_view token() {
    skip_ws();
    const std::size_t b = p_;
    while (p_ < s_.size() && is_regular(s_[p_])) ++p_;
    return s_.substr(b, p_ - b);
  }

  void expect_keyword(std::string_view kw) {
    const std::size_t b = (skip_ws(), p_);
    const std::string_view t = token();
    if (t != kw) {
      malformed("expected '" + std::string(kw) + "', found '" + std::string(t.substr(0, 20)) + "'" +
                at(b));
    }
  }

  std::int64_t expect_int(std::string_view what) {
    skip_ws();
    const std::size_t b = p_;
    const std::string_view t = token();
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
      malformed("expected an integer (" + std::string(what) + ")" + at(b));
    }
    return v;
  }

  // One direct object. Indirect references are recognised by two-integer look-ahead.
  Object value(int depth) {
    if (depth > lim_.max_depth) limit("nesting deeper than " + std::to_string(lim_.max_depth));
    skip_ws();
    if (eof()) malformed("unexpected end of data, expected an object" + at(p_));
    const std::size_t b = p_;
    Object o = value_inner(depth);
    if (positions_) {
      o.pos = b;
      o.end = p_;
    }
    return o;
  }

 private:
  Object value_inner(int depth) {
    const char c = s_[p_];
    if (c == '/') return Object(Name{name()});
    if (c == '(') return Object(literal_string());
    if (c == '<') {
      if (p_ + 1 < s_.size() && s_[p_ + 1] == '<') return Object(dict(depth));
      return Object(hex_string());
    }
    if (c == '[') {
      ++p_;
      Array a;
      for (;;) {
        skip_ws();
        if (eof()) malformed("unterminated array" + at(p_));
        if (s_[p_] == ']') {
          ++p_;
          break;
        }
        a.push_back(value(depth + 1));
      }
      return Object(std::move(a));
    }
    if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) return number();
    const std::size_t b = p_;
    const std::string_view t = token();
    if (t == "true") return Object(true);
    if (t == "false") return Object(false);
    if (t == "null") return Object();
    if (t.empty()) malformed(std::string("unexpected character '") + c + "'" + at(b));
    malformed("unexpected keyword '" + std::string(t.substr(0, 20)) + "'" + at(b));
  }

  Object number() {
    const std::size_t b = p_;
    const std::string_view t = token();
    // §7.3.3: [+-]digits[.digits] — no exponent, at least one digit.
    bool dot = false, digit = false;
    for (std::size_t i = 0; i < t.size(); ++i) {
      const char ch = t[i];
      if (ch >= '0' && ch <= '9') {
        digit = true;
      } else if (ch == '.' && !dot) {
        dot = true;
      } else if ((ch == '+' || ch == '-') && i == 0) {
      } else {
        malformed("malformed number '" + std::string(t.substr(0, 20)) + "'" + at(b));
      }
    }
    if (!digit) malformed("malformed number '" + std::string(t.substr(0, 20)) + "'" + at(b));
    std::string_view num = t;
    if (num[0] == '+') num.remove_prefix(1);
    if (dot) {
      double d = 0;
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
      if (ec != std::errc() || ptr != num.data() + num.size() || !std::isfinite(d)) {
        malformed("malformed real '" + std::string(t.substr(0, 20)) + "'" + at(b));
      }
      return Object(d);
    }
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || ptr != num.data() + num.size()) {
      malformed("integer out of range '" + std::string(t.substr(0, 20)) + "'" + at(b));
    }
    // "num gen R" (§7.3.10): two non-negative integers followed by the keyword R.
    if (t[0] != '+' && t[0] != '-' && v >= 0) {
      const std::size_t save = p_;
      skip_ws();
      const std::size_t gb = p_;
      std::size_t q = p_;
      while (q < s_.size() && s_[q] >= '0' && s_[q] <= '9') ++q;
      if (q > gb && (q >= s_.size() || !is_regular(s_[q]))) {
        std::int64_t gen = 0;
        auto [gp, gec] = std::from_chars(s_.data() + gb, s_.data() + q, gen);
        p_ = q;
        skip_ws();
        if (gec == std::errc() && gp == s_.data() + q && p_ < s_.size() && s_[p_] == 'R' &&
            (p_ + 1 >= s_.size() || !is_regular(s_[p_ + 1]))) {
          ++p_;
          if (v > 0xFFFFFFFFLL || gen > 65535) malformed("reference out of range" + at(b));
          return Object(Ref{static_cast<std::uint32_t>(v), static_cast<std::uint16_t>(gen)});
        }
      }
      p_ = save;
    }
    return Object(v);
  }

  std::string name() {
    const std::size_t b = p_;
    ++p_;  // '/'
    std::string out;
    while (p_ < s_.size() && is_regular(s_[p_])) {
      char ch = s_[p_++];
      if (ch == '#') {  // §7.3.5: #xx
        if (p_ + 1 >= s_.size() || hexval(s_[p_]) < 0 || hexval(s_[p_ + 1]) < 0) {
          malformed("bad #xx escape in name" + at(b));
        }
        ch = static_cast<char>(hexval(s_[p_]) * 16 + hexval(s_[p_ + 1]));
        if (ch == '\0') malformed("#00 in name" + at(b));
        p_ += 2;
      }
      out += ch;
    }
    return out;
  }

  String literal_string() {
    const std::size_t b = p_;
    ++p_;  // '('
    std::string out;
    int nest = 1;
    for (;;) {
      if (p_ >= s_.size()) malformed("unterminated string" + at(b));
      const char ch = s_[p_++];
      if (ch == '(') {
        ++nest;
        out += ch;
      } else if (ch == ')') {
        if (--nest == 0) break;
        out += ch;
      } else if (ch == '\r') {  // §7.3.4.2: an unescaped EOL is read as \n
        if (p_ < s_.size() && s_[p_] == '\n') ++p_;
        out += '\n';
      } else if (ch == '\\') {
        if (p_ >= s_.size()) malformed("unterminated string" + at(b));
        const char e = s_[p_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case '(':
          case ')':
          case '\\':
            out += e;
            break;
          case '\r':  // line continuation
            if (p_ < s_.size() && s_[p_] == '\n') ++p_;
            break;
          case '\n':
            break;
          default:
            if (e >= '0' && e <= '7') {
              int v = e - '0';
              for (int k = 0; k < 2 && p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '7'; ++k) {
                v = v * 8 + (s_[p_++] - '0');
              }
              out += static_cast<char>(v & 0xFF);
            } else {
              out += e;  // §7.3.4.2: the backslash is ignored
            }
        }
      } else {
        out += ch;
      }
    }
    return String{std::move(out), false};
  }

  String hex_string() {
    const std::size_t b = p_;
    ++p_;  // '<'
    std::string out;
    int hi = -1;
    for (;;) {
      if (p_ >= s_.size()) malformed("unterminated hex string" + at(b));
      const char ch = s_[p_++];
      if (ch == '>') break;
      if (is_ws(ch)) continue;
      const int v = hexval(ch);
      if (v < 0) malformed("non-hex character in hex string" + at(p_ - 1));
      if (hi < 0) {
        hi = v;
      } else {
        out += static_cast<char>(hi * 16 + v);
        hi = -1;
      }
    }
    if (hi >= 0) out += static_cast<char>(hi * 16);  // §7.3.4.3: odd digit count, final 0
    return String{std::move(out), true};
  }

  Dict dict(int depth) {
    const std::size_t b = p_;
    p_ += 2;  // "<<"
    Dict d;
    std::set<std::string, std::less<>> seen;
    for (;;) {
      skip_ws();
      if (eof()) malformed("unterminated dictionary" + at(b));
      if (s_[p_] == '>') {
        if (p_ + 1 < s_.size() && s_[p_ + 1] == '>') {
          p_ += 2;
          break;
        }
        malformed("single '>' in dictionary" + at(p_));
      }
      if (s_[p_] != '/') malformed("dictionary key is not a name" + at(p_));
      const std::size_t kb = p_;
      std::string key = name();
      Object v = value(depth + 1);
      if (!seen.insert(key).second) malformed("duplicate key /" + key + " in dictionary" + at(kb));
      d.set(key, std::move(v));
    }
    return d;
  }

  std::string_view s_;
  std::size_t p_;
  const Limits& lim_;
  bool positions_;
};

// ---- Flate + predictors (§7.4.4) --------------------------------------------------------------

std::string inflate_bounded(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw Error(ErrorCode::kInternal, "pdf: inflateInit failed");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  std::string out;
  std::array<unsigned char, 16384> buf{};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));  // zlib's API is not const
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t n = buf.size() - zs.avail_out;
    if (out.size() + n > max_out) limit("decoded stream larger than " + std::to_string(max_out));
    out.append(reinterpret_cast<const char*>(buf.data()), n);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated but usable: data so far
    if (rc != Z_OK) malformed("FlateDecode: corrupt data (zlib error " + std::to_string(rc) + ")");
  }
  return out;
}

std::string unpredict(std::string data, const Dict* parms) {
  if (parms == nullptr) return data;
  const Object* po = parms->get("Predictor");
  const std::int64_t pred = po != nullptr ? po->as_int() : 1;
  if (pred == 1) return data;
  auto geti = [&](const char* k, std::int64_t def) {
    const Object* o = parms->get(k);
    return o != nullptr ? o->as_int() : def;
  };
  const std::int64_t colors = geti("Colors", 1), bpc = geti("BitsPerComponent", 8),
                     columns = geti("Columns", 1);
  if (colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) ||
      columns < 1 || columns > (1 << 24)) {
    malformed("unsupported predictor parameters");
  }
  const auto bpp = static_cast<std::size_t>((colors * bpc + 7) / 8);
  const auto row = static_cast<std::size_t>((colors * bpc * columns + 7) / 8);
  if (pred == 2) {
    if (bpc != 8) malformed("TIFF predictor with BitsPerComponent != 8 is not supported");
    for (std::size_t r = 0; r + row <= data.size(); r += row) {
      for (std::size_t i = bpp; i < row; ++i) {
        data[r + i] = static_cast<char>(data[r + i] + data[r + i - bpp]);
      }
    }
    return data;
  }
  if (pred < 10 || pred > 15) malformed("unknown /Predictor " + std::to_string(pred));
  // PNG predictors: each row starts with its filter type byte (RFC 2083 §6).
  std::string out;
  out.reserve(data.size());
  std::string prev(row, '\0');
  std::size_t p = 0;
  while (p < data.size()) {
    if (p + 1 + row > data.size()) break;  // incomplete last row is dropped
    const auto type = static_cast<unsigned char>(data[p]);
    std::string cur = data.substr(p + 1, row);
    for (std::size_t i = 0; i < row; ++i) {
      const int a = i >= bpp ? static_cast<unsigned char>(cur[i - bpp]) : 0;
      const int b = static_cast<unsigned char>(prev[i]);
      const int c = i >= bpp ? static_cast<unsigned char>(prev[i - bpp]) : 0;
      int x = static_cast<unsigned char>(cur[i]);
      switch (type) {
        case 0:
          break;
        case 1:
          x += a;
          break;
        case 2:
          x += b;
          break;
        case 3:
          x += (a + b) / 2;
          break;
        case 4: {
          const int pp = a + b - c, pa = std::abs(pp - a), pb = std::abs(pp - b),
                    pc = std::abs(pp - c);
          x += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          malformed("bad PNG predictor row type " + std::to_string(type));
      }
      cur[i] = static_cast<char>(x & 0xFF);
    }
    out += cur;
    prev = std::move(cur);
    p += 1 + row;
  }
  return out;
}

std::string decode_stream(const Stream& s, const Limits& lim,
                          const std::function<Object(const Object*)>& resolve) {
  const Object f = resolve(s.dict.get("Filter"));
  const Object dp = resolve(s.dict.get("DecodeParms"));
  std::vector<std::string> filters;
  std::vector<Object> parms;
  if (f.is_null()) return s.data;
  if (f.is(Kind::kName)) {
    filters.push_back(f.as_name());
    parms.push_back(dp);
  } else if (f.is(Kind::kArray)) {
    for (std::size_t i = 0; i < f.as_array().size(); ++i) {
      filters.push_back(resolve(&f.as_array()[i]).as_name());
      parms.push_back(dp.is(Kind::kArray) && i < dp.as_array().size() ? resolve(&dp.as_array()[i])
                                                                      : Object());
    }
  } else {
    malformed("/Filter is neither a name nor an array");
  }
  std::string data = s.data;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    if (filters[i] != "FlateDecode" && filters[i] != "Fl") {
      malformed("unsupported filter /" + filters[i]);
    }
    data = inflate_bounded(data, lim.max_decoded_stream);
    data = unpredict(std::move(data), parms[i].is(Kind::kDict) ? &parms[i].as_dict() : nullptr);
  }
  return data;
}

}  // namespace

// ---- Object / Dict ----------------------------------------------------------------------------

std::string_view to_string(Kind k) noexcept {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "boolean";
    case Kind::kInt:
      return "integer";
    case Kind::kReal:
      return "real";
    case Kind::kString:
      return "string";
    case Kind::kName:
      return "name";
    case Kind::kArray:
      return "array";
    case Kind::kDict:
      return "dictionary";
    case Kind::kStream:
      return "stream";
    case Kind::kRef:
      return "reference";
  }
  return "?";
}

const Object* Dict::get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return v.is_null() ? nullptr : &v;
  }
  return nullptr;
}
void Dict::set(std::string_view key, Object value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::move(value));
}
bool Dict::erase(std::string_view key) {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}
bool operator==(const Dict& a, const Dict& b) {
  // Order-insensitive; a null value equals an absent key (§7.3.7).
  auto count = [](const Dict& d) {
    std::size_t n = 0;
    for (const auto& e : d.entries()) n += e.second.is_null() ? 0U : 1U;
    return n;
  };
  if (count(a) != count(b)) return false;
  for (const auto& [k, v] : a.entries()) {
    if (v.is_null()) continue;
    const Object* o = b.get(k);
    if (o == nullptr || !(*o == v)) return false;
  }
  return true;
}

namespace {
[[noreturn]] void wrong_kind(Kind want, Kind got) {
  malformed("expected " + std::string(to_string(want)) + ", got " + std::string(to_string(got)));
}
}  // namespace

bool Object::is_name(std::string_view n) const noexcept {
  const auto* p = std::get_if<Name>(&v_);
  return p != nullptr && p->value == n;
}
bool Object::as_bool() const {
  if (const auto* p = std::get_if<bool>(&v_)) return *p;
  wrong_kind(Kind::kBool, kind());
}
std::int64_t Object::as_int() const {
  if (const auto* p = std::get_if<std::int64_t>(&v_)) return *p;
  wrong_kind(Kind::kInt, kind());
}
double Object::as_number() const {
  if (const auto* p = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*p);
  if (const auto* p = std::get_if<double>(&v_)) return *p;
  wrong_kind(Kind::kReal, kind());
}
const String& Object::as_string() const {
  if (const auto* p = std::get_if<String>(&v_)) return *p;
  wrong_kind(Kind::kString, kind());
}
const std::string& Object::as_name() const {
  if (const auto* p = std::get_if<Name>(&v_)) return p->value;
  wrong_kind(Kind::kName, kind());
}
const Array& Object::as_array() const {
  if (const auto* p = std::get_if<Array>(&v_)) return *p;
  wrong_kind(Kind::kArray, kind());
}
Array& Object::as_array() {
  if (auto* p = std::get_if<Array>(&v_)) return *p;
  wrong_kind(Kind::kArray, kind());
}
const Dict& Object::as_dict() const {
  if (const auto* p = std::get_if<Dict>(&v_)) return *p;
  if (const auto* s = std::get_if<Stream>(&v_)) return s->dict;
  wrong_kind(Kind::kDict, kind());
}
Dict& Object::as_dict() {
  if (auto* p = std::get_if<Dict>(&v_)) return *p;
  if (auto* s = std::get_if<Stream>(&v_)) return s->dict;
  wrong_kind(Kind::kDict, kind());
}
const Stream& Object::as_stream() const {
  if (const auto* p = std::get_if<Stream>(&v_)) return *p;
  wrong_kind(Kind::kStream, kind());
}
Ref Object::as_ref() const {
  if (const auto* p = std::get_if<Ref>(&v_)) return *p;
  wrong_kind(Kind::kRef, kind());
}

// ---- serialize ----------------------------------------------------------------------------------

namespace {
void write_real(std::string& out, double d) {
  if (!std::isfinite(d)) throw Error(ErrorCode::kInvalidArgument, "pdf: non-finite real");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", d);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0" || s.empty()) s = "0";
  out += s;
}

void write_obj(std::string& out, const Object& o) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out += std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          write_real(out, v);
        } else if constexpr (std::is_same_v<T, String>) {
          static const char* kHex = "0123456789ABCDEF";
          if (v.hex) {
            out += '<';
            for (const char ch_ : v.bytes) {
              const auto c = static_cast<unsigned char>(ch_);
              out += kHex[c >> 4];
              out += kHex[c & 15];
            }
            out += '>';
          } else {
            out += '(';
            for (const char ch_ : v.bytes) {
              const auto c = static_cast<unsigned char>(ch_);
              if (c == '(' || c == ')' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
              } else if (c < 0x20 || c >= 0x7f) {
                char b[8];
                std::snprintf(b, sizeof b, "\\%03o", c);
                out += b;
              } else {
                out += static_cast<char>(c);
              }
            }
            out += ')';
          }
        } else if constexpr (std::is_same_v<T, Name>) {
          out += '/';
          for (const char ch_ : v.value) {
            const auto c = static_cast<unsigned char>(ch_);
            if (c < 0x21 || c > 0x7e || c == '#' || is_delim(static_cast<char>(c))) {
              char b[4];
              std::snprintf(b, sizeof b, "#%02X", c);
              out += b;
            } else {
              out += static_cast<char>(c);
            }
          }
        } else if constexpr (std::is_same_v<T, Array>) {
          out += '[';
          for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out += ' ';
            write_obj(out, v[i]);
          }
          out += ']';
        } else if constexpr (std::is_same_v<T, Dict>) {
          out += "<<";
          for (const auto& [k, val] : v.entries()) {
            write_obj(out, Object(Name{k}));
            out += ' ';
            write_obj(out, val);
          }
          out += ">>";
        } else if constexpr (std::is_same_v<T, Stream>) {
          Dict d = v.dict;
          d.set("Length", Object(v.data.size()));
          write_obj(out, Object(std::move(d)));
          out += "\nstream\n";
          out += v.data;
          out += "\nendstream";
        } else if constexpr (std::is_same_v<T, Ref>) {
          out += std::to_string(v.num) + " " + std::to_string(v.gen) + " R";
        }
      },
      o.value());
}
}  // namespace

std::string serialize(const Object& o) {
  std::string out;
  write_obj(out, o);
  return out;
}

Object parse_object(std::string_view text, const Limits& limits) {
  Parser p(text, 0, limits, true);
  Object o = p.value(0);
  p.skip_ws();
  if (!p.eof()) malformed("trailing data after object" + at(p.pos()));
  return o;
}

// ---- Document -----------------------------------------------------------------------------------

// Every cross-reference entry of every section, parsed once per file and shared by the
// Document and all its revision views: for each object number, its entries oldest revision
// first. A view of revision k takes, per object, the newest entry of a revision <= k, so
// Document::revision() costs O(1) instead of re-parsing the prefix (issue 16: 60 revisions of
// 52,000 entries each took 15 s that way).
struct XrefHistory {
  std::unordered_map<std::uint32_t, std::vector<std::pair<std::uint32_t, XrefEntry>>> by_num;
  std::vector<std::uint32_t> size_upto;  // max trailer /Size over sections 0..k
  std::vector<Revision> revisions;       // oldest first
};

struct Document::Impl {
  std::string_view bytes;
  Limits limits;
  std::shared_ptr<const XrefHistory> hist;
  std::size_t rev_count = 0;  // this view: revisions [0, rev_count)
  std::uint32_t size = 0;

  // The newest entry for `num` in revisions [0, rev_count), or nullptr.
  const XrefEntry* entry(std::uint32_t num) const {
    auto it = hist->by_num.find(num);
    if (it == hist->by_num.end()) return nullptr;
    const auto& v = it->second;
    auto after = std::upper_bound(
        v.begin(), v.end(), static_cast<std::uint32_t>(rev_count - 1),
        [](std::uint32_t r, const std::pair<std::uint32_t, XrefEntry>& e) { return r < e.first; });
    if (after == v.begin()) return nullptr;
    return &std::prev(after)->second;
  }

  mutable std::recursive_mutex mu;
  mutable std::unordered_map<std::uint32_t, Object> cache;
  mutable std::set<std::uint32_t> in_progress;

  Object object(std::uint32_t num, int depth) const;
  Object resolve(const Object* o, int depth) const;
  Object parse_indirect_at(std::size_t offset, std::uint32_t num, std::uint16_t gen,
                           bool allow_length_ref, int depth) const;
  Object stream_tail(Parser& p, Dict dict, std::size_t obj_off, bool allow_length_ref,
                     int depth) const;
  void load_objstm(std::uint32_t stream_num, int depth) const;
};

Document::Document(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Document::~Document() = default;

Object Document::Impl::stream_tail(Parser& p, Dict dict, std::size_t obj_off, bool allow_length_ref,
                                   int depth) const {
  // §7.3.8.1: "stream" is followed by CRLF or LF (not CR alone), then exactly /Length bytes.
  std::size_t q = p.pos();
  if (q < bytes.size() && bytes[q] == '\r') ++q;
  if (q >= bytes.size() || bytes[q] != '\n') {
    malformed("'stream' not followed by an end-of-line" + at(p.pos()));
  }
  ++q;
  const Object* lo = dict.get("Length");
  if (lo == nullptr) malformed("stream without /Length" + at(obj_off));
  std::int64_t len = 0;
  if (lo->is(Kind::kRef)) {
    if (!allow_length_ref) malformed("indirect /Length not allowed here" + at(obj_off));
    len = object(lo->as_ref().num, depth + 1).as_int();
  } else {
    len = lo->as_int();
  }
  if (len < 0 || static_cast<std::uint64_t>(len) > bytes.size() - q) {
    malformed("stream /Length " + std::to_string(len) + " runs past the end of the file" +
              at(obj_off));
  }
  Stream s;
  s.data.assign(bytes.substr(q, static_cast<std::size_t>(len)));
  p.seek(q + static_cast<std::size_t>(len));
  p.expect_keyword("endstream");
  s.dict = std::move(dict);
  return Object(std::move(s));
}

Object Document::Impl::parse_indirect_at(std::size_t offset, std::uint32_t num, std::uint16_t gen,
                                         bool allow_length_ref, int depth) const {
  if (offset >= bytes.size()) {
    malformed("object " + std::to_string(num) + " offset " + std::to_string(offset) +
              " is outside the file");
  }
  Parser p(bytes, offset, limits, true);
  const std::int64_t n = p.expect_int("object number");
  const std::int64_t g = p.expect_int("generation");
  p.expect_keyword("obj");
  if (n != num || g != gen) {
    malformed("xref points to '" + std::to_string(n) + " " + std::to_string(g) +
              " obj' for object " + std::to_string(num) + " " + std::to_string(gen) + at(offset));
  }
  Object o = p.value(1);
  p.skip_ws();
  const std::size_t kw = p.pos();
  std::string_view t = p.token();
  if (t == "stream") {
    if (!o.is(Kind::kDict)) malformed("'stream' after a non-dictionary" + at(kw));
    const std::size_t pos = o.pos;
    Dict d = std::move(o.as_dict());
    o = stream_tail(p, std::move(d), offset, allow_length_ref, depth);
    o.pos = pos;
    o.end = p.pos();
    p.skip_ws();
    t = p.token();
  }
  if (t != "endobj") malformed("object " + std::to_string(num) + " lacks 'endobj'" + at(kw));
  return o;
}

void Document::Impl::load_objstm(std::uint32_t stream_num, int depth) const {
  // §7.5.7: /N pairs "objnum offset" then the objects, from /First.
  const Object so = object(stream_num, depth + 1);
  if (!so.is(Kind::kStream))
    malformed("object stream " + std::to_string(stream_num) + " is not a stream");
  const Stream& s = so.as_stream();
  if (!s.dict.get("Type") || !s.dict.get("Type")->is_name("ObjStm")) {
    malformed("object " + std::to_string(stream_num) + " is not /Type /ObjStm");
  }
  const std::int64_t n = resolve(s.dict.get("N"), depth).as_int();
  const std::int64_t first = resolve(s.dict.get("First"), depth).as_int();
  if (n < 0 || static_cast<std::uint64_t>(n) > limits.max_objstm_objects) {
    limit("object stream /N " + std::to_string(n) + " exceeds " +
          std::to_string(limits.max_objstm_objects));
  }
  const std::string data =
      decode_stream(s, limits, [&](const Object* o) { return resolve(o, depth); });
  if (first < 0 || static_cast<std::uint64_t>(first) > data.size()) {
    malformed("object stream /First out of range");
  }
  Parser hdr(data, 0, limits, false);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t onum = hdr.expect_int("object stream header");
    const std::int64_t off = hdr.expect_int("object stream header");
    if (onum <= 0 || onum > 0xFFFFFFFFLL || off < 0 ||
        static_cast<std::uint64_t>(first + off) >= data.size()) {
      malformed("object stream " + std::to_string(stream_num) + ": bad header entry");
    }
    const auto unum = static_cast<std::uint32_t>(onum);
    // Only objects the merged xref assigns to this stream and index are taken from it.
    const XrefEntry* it = entry(unum);
    if (it == nullptr || it->type != XrefEntry::Type::kInObjectStream ||
        it->stream_num != stream_num || it->index != static_cast<std::uint32_t>(i)) {
      continue;
    }
    if (cache.count(unum) != 0) continue;
    Parser op(data, static_cast<std::size_t>(first + off), limits, false);
    Object o = op.value(1);
    if (o.is(Kind::kStream) || o.is(Kind::kRef)) {
      malformed("object stream " + std::to_string(stream_num) + " holds a stream or reference");
    }
    cache.emplace(unum, std::move(o));
  }
}

Object Document::Impl::object(std::uint32_t num, int depth) const {
  if (depth > limits.max_depth)
    limit("reference chain deeper than " + std::to_string(limits.max_depth));
  std::lock_guard<std::recursive_mutex> lock(mu);
  if (auto c = cache.find(num); c != cache.end()) return c->second;
  const XrefEntry* it = entry(num);
  if (it == nullptr || it->type == XrefEntry::Type::kFree) return Object();
  if (!in_progress.insert(num).second) {
    malformed("object " + std::to_string(num) + " refers to itself while being read");
  }
  struct Done {
    std::set<std::uint32_t>& s;
    std::uint32_t n;
    ~Done() { s.erase(n); }
  } done{in_progress, num};
  const XrefEntry& e = *it;
  if (e.type == XrefEntry::Type::kInFile) {
    Object o = parse_indirect_at(e.offset, num, e.gen, true, depth);
    cache.emplace(num, o);
    return o;
  }
  const XrefEntry* holder = entry(e.stream_num);
  if (holder == nullptr || holder->type != XrefEntry::Type::kInFile) {
    malformed("object " + std::to_string(num) + " is in object stream " +
              std::to_string(e.stream_num) + ", which is not a plain object");
  }
  load_objstm(e.stream_num, depth);
  if (auto c = cache.find(num); c != cache.end()) return c->second;
  malformed("object " + std::to_string(num) + " is missing from object stream " +
            std::to_string(e.stream_num));
}

Object Document::Impl::resolve(const Object* o, int depth) const {
  if (o == nullptr) return Object();
  Object cur = *o;
  int hops = 0;
  while (cur.is(Kind::kRef)) {
    if (++hops > limits.max_depth) limit("reference chain too long");
    cur = object(cur.as_ref().num, depth + 1);
  }
  return cur;
}

namespace {

struct Section {
  std::size_t offset = 0;
  std::size_t after = 0;  // just after the section (its trailer dictionary, or "endstream")
  bool stream = false;
  Dict trailer;
  std::vector<std::pair<std::uint32_t, XrefEntry>> entries;
};

void check_num(std::int64_t start, std::int64_t count, const Limits& lim) {
  if (start < 0 || count < 0 || start + count > static_cast<std::int64_t>(lim.max_objects)) {
    limit("xref subsection " + std::to_string(start) + "+" + std::to_string(count) +
          " exceeds max_objects " + std::to_string(lim.max_objects));
  }
}

Section parse_xref_stream(const Document::Impl& d, std::size_t offset) {
  Parser p(d.bytes, offset, d.limits, true);
  const std::int64_t n = p.expect_int("xref stream object number");
  p.expect_int("xref stream generation");
  p.expect_keyword("obj");
  if (n <= 0) malformed("bad xref stream object number" + at(offset));
  Object dict = p.value(1);
  if (!dict.is(Kind::kDict)) malformed("xref stream object is not a dictionary" + at(offset));
  p.expect_keyword("stream");
  Object so = d.stream_tail(p, std::move(dict.as_dict()), offset, false, 0);
  const Stream& s = so.as_stream();
  if (!s.dict.get("Type") || !s.dict.get("Type")->is_name("XRef")) {
    malformed("object at startxref is not /Type /XRef" + at(offset));
  }
  Section sec;
  sec.offset = offset;
  sec.after = p.pos();
  sec.stream = true;
  sec.trailer = s.dict;
  const auto no_resolve = [](const Object* o) {
    if (o != nullptr && o->is(Kind::kRef)) malformed("indirect object in xref stream dictionary");
    return o ? *o : Object();
  };
  const std::string data = decode_stream(s, d.limits, no_resolve);
  const Object* wo = s.dict.get("W");
  if (wo == nullptr || wo->as_array().size() != 3) malformed("xref stream /W must have 3 entries");
  std::array<std::size_t, 3> w{};
  for (int i = 0; i < 3; ++i) {
    const std::int64_t v = wo->as_array()[static_cast<std::size_t>(i)].as_int();
    if (v < 0 || v > 8) malformed("xref stream /W entry out of range");
    w[static_cast<std::size_t>(i)] = static_cast<std::size_t>(v);
  }
  const std::size_t rec = w[0] + w[1] + w[2];
  if (rec == 0) malformed("xref stream /W is all zero");
  const Object* so_size = s.dict.get("Size");
  if (so_size == nullptr) malformed("xref stream without /Size");
  const std::int64_t size = so_size->as_int();
  check_num(0, size, d.limits);
  Array index;
  if (const Object* io = s.dict.get("Index")) {
    index = io->as_array();
  } else {
    index = {Object(std::int64_t{0}), Object(size)};
  }
  if (index.size() % 2 != 0) malformed("xref stream /Index has an odd length");
  std::size_t pos = 0;
  auto field = [&](std::size_t width, std::uint64_t def) {
    if (width == 0) return def;
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < width; ++k) v = (v << 8) | static_cast<unsigned char>(data[pos++]);
    return v;
  };
  for (std::size_t i = 0; i < index.size(); i += 2) {
    const std::int64_t start = index[i].as_int(), count = index[i + 1].as_int();
    check_num(start, count, d.limits);
    for (std::int64_t k = 0; k < count; ++k) {
      if (pos + rec > data.size()) malformed("xref stream data shorter than /Index and /W say");
      const std::uint64_t type = field(w[0], 1), f2 = field(w[1], 0), f3 = field(w[2], 0);
      XrefEntry e;
      if (type == 0) {
        e.type = XrefEntry::Type::kFree;
      } else if (type == 1) {
        e.type = XrefEntry::Type::kInFile;
        e.offset = static_cast<std::size_t>(f2);
        if (f3 > 65535) malformed("xref stream generation out of range");
        e.gen = static_cast<std::uint16_t>(f3);
      } else if (type == 2) {
        e.type = XrefEntry::Type::kInObjectStream;
        if (f2 == 0 || f2 > 0xFFFFFFFFu || f3 > 0xFFFFFFFFu) malformed("bad xref stream entry");
        e.stream_num = static_cast<std::uint32_t>(f2);
        e.index = static_cast<std::uint32_t>(f3);
      } else {
        continue;  // §7.5.8.3: unknown types are treated as null references
      }
      sec.entries.emplace_back(static_cast<std::uint32_t>(start + k), e);
    }
  }
  return sec;
}

Section parse_xref_table(const Document::Impl& d, std::size_t offset) {
  Parser p(d.bytes, offset, d.limits, true);
  p.expect_keyword("xref");
  Section sec;
  sec.offset = offset;
  for (;;) {
    p.skip_ws();
    const std::size_t b = p.pos();
    const std::string_view t = p.token();
    if (t == "trailer") break;
    p.seek(b);
    const std::int64_t start = p.expect_int("xref subsection start");
    const std::int64_t count = p.expect_int("xref subsection count");
    check_num(start, count, d.limits);
    // §7.5.4: each entry is exactly 20 bytes "nnnnnnnnnn ggggg n" + 2-byte EOL.
    p.skip_ws();
    std::size_t q = p.pos();
    if (static_cast<std::uint64_t>(count) * 20 > d.bytes.size() - q) {
      malformed("xref subsection runs past the end of the file" + at(b));
    }
    for (std::int64_t k = 0; k < count; ++k, q += 20) {
      const std::string_view ent = d.bytes.substr(q, 20);
      std::size_t off = 0;
      std::uint32_t gen = 0;
      bool ok = ent[10] == ' ' && ent[16] == ' ' && (ent[17] == 'n' || ent[17] == 'f') &&
                is_ws(ent[18]) && is_ws(ent[19]);
      for (std::size_t i = 0; ok && i < 10; ++i) {
        ok = ent[i] >= '0' && ent[i] <= '9';
        off = off * 10 + static_cast<std::size_t>(ent[i] - '0');
      }
      for (std::size_t i = 11; ok && i < 16; ++i) {
        ok = ent[i] >= '0' && ent[i] <= '9';
        gen = gen * 10 + static_cast<std::uint32_t>(ent[i] - '0');
      }
      if (!ok || gen > 65535) malformed("malformed xref entry" + at(q));
      XrefEntry e;
      e.type = ent[17] == 'n' ? XrefEntry::Type::kInFile : XrefEntry::Type::kFree;
      e.offset = off;
      e.gen = static_cast<std::uint16_t>(gen);
      sec.entries.emplace_back(static_cast<std::uint32_t>(start + k), e);
    }
    p.seek(q);
  }
  Object tr = p.value(1);
  if (!tr.is(Kind::kDict)) malformed("trailer is not a dictionary" + at(offset));
  sec.trailer = std::move(tr.as_dict());
  sec.after = p.pos();
  return sec;
}

std::size_t parse_offset(const Object* o, const char* what) {
  if (o == nullptr) malformed(std::string(what) + " missing");
  const std::int64_t v = o->as_int();
  if (v < 0) malformed(std::string(what) + " is negative");
  return static_cast<std::size_t>(v);
}

}  // namespace

Document Document::open(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_file_size) {
    limit("file of " + std::to_string(bytes.size()) + " bytes exceeds max_file_size " +
          std::to_string(limits.max_file_size));
  }
  auto impl = std::make_shared<Impl>();
  impl->bytes = bytes;
  impl->limits = limits;
  // §7.5.2: the header "%PDF-1.x" starts the file.
  if (bytes.substr(0, 5) != "%PDF-") malformed("missing %PDF- header at byte 0");

  // §7.5.5: the file ends with "startxref" <offset> "%%EOF"; only white space may follow.
  std::size_t tail = bytes.size();
  while (tail > 0 && is_ws(bytes[tail - 1])) --tail;
  if (tail < 5 || bytes.substr(tail - 5, 5) != "%%EOF") malformed("file does not end with %%EOF");
  const std::size_t sx = bytes.rfind("startxref", tail - 5);
  if (sx == std::string_view::npos || tail - sx > 1024) {
    malformed("no 'startxref' before the final %%EOF");
  }
  Parser sp(bytes, sx + 9, limits, false);
  const std::int64_t start = sp.expect_int("startxref offset");
  std::size_t q = sp.pos();
  while (q < tail && is_ws(bytes[q])) ++q;  // not skip_ws(): "%%EOF" would read as a comment
  if (q != tail - 5) malformed("junk between startxref offset and %%EOF" + at(q));
  if (start < 0 || static_cast<std::uint64_t>(start) >= bytes.size()) {
    malformed("startxref offset " + std::to_string(start) + " is outside the file");
  }

  // Follow the /Prev chain, newest first (§7.5.6).
  std::vector<Section> chain;
  std::set<std::size_t> seen;
  std::optional<std::size_t> next = static_cast<std::size_t>(start);
  std::size_t xref_entries = 0;
  while (next) {
    const std::size_t off = *next;
    next.reset();
    if (!seen.insert(off).second)
      malformed("/Prev chain loops back to byte " + std::to_string(off));
    if (chain.size() >= limits.max_revisions) {
      limit("more than " + std::to_string(limits.max_revisions) + " xref sections");
    }
    if (off >= bytes.size()) malformed("xref offset " + std::to_string(off) + " outside the file");
    Parser probe(bytes, off, limits, false);
    probe.skip_ws();
    Section sec;
    if (probe.pos() != off) {
      malformed("xref offset " + std::to_string(off) + " does not point at 'xref' or an object");
    }
    if (bytes.substr(off, 4) == "xref") {
      sec = parse_xref_table(*impl, off);
      if (const Object* xs = sec.trailer.get("XRefStm")) {
        // Hybrid file (§7.5.8.4): the xref stream's entries come after the table's.
        Section hs = parse_xref_stream(*impl, parse_offset(xs, "/XRefStm"));
        std::set<std::uint32_t> in_table;
        for (const auto& [num, e] : sec.entries) {
          if (e.type != XrefEntry::Type::kFree) in_table.insert(num);
        }
        for (const auto& [num, e] : hs.entries) {
          if (in_table.count(num) == 0 && e.type != XrefEntry::Type::kFree) {
            sec.entries.emplace_back(num, e);
          }
        }
      }
    } else {
      sec = parse_xref_stream(*impl, off);
    }
    xref_entries += sec.entries.size();
    if (xref_entries > limits.max_xref_entries) {
      limit("more than " + std::to_string(limits.max_xref_entries) +
            " cross-reference entries in the /Prev chain (max_xref_entries)");
    }
    if (const Object* prev = sec.trailer.get("Prev")) next = parse_offset(prev, "/Prev");
    chain.push_back(std::move(sec));
  }

  // History, oldest section first: for each object the entries of every section that lists it
  // (within one section the first listing counts, as a reader scanning it would take it).
  auto hist = std::make_shared<XrefHistory>();
  std::size_t biggest = 0;
  for (const Section& sec : chain) biggest = std::max(biggest, sec.entries.size());
  hist->by_num.reserve(biggest);  // one rehash-free pass over the largest section
  hist->revisions.reserve(chain.size());
  std::int64_t max_size = 0;
  std::uint32_t rev_index = 0;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it, ++rev_index) {
    const Section& sec = *it;
    const Object* so = sec.trailer.get("Size");
    if (so == nullptr) malformed("trailer without /Size" + at(sec.offset));
    const std::int64_t sz = so->as_int();
    check_num(0, sz, limits);
    max_size = std::max(max_size, sz);
    hist->size_upto.push_back(static_cast<std::uint32_t>(max_size));
    Revision r;
    r.xref_offset = sec.offset;
    r.xref_stream = sec.stream;
    r.trailer = sec.trailer;
    for (const auto& [num, e] : sec.entries) {
      // §7.5.4: an object number at or beyond /Size does not exist in that revision.
      if (e.type != XrefEntry::Type::kFree && static_cast<std::int64_t>(num) >= max_size) {
        malformed("object " + std::to_string(num) + " beyond trailer /Size " +
                  std::to_string(max_size));
      }
      auto& v = hist->by_num[num];
      if (!v.empty() && v.back().first == rev_index) continue;
      v.emplace_back(rev_index, e);
      if (e.type == XrefEntry::Type::kFree) {
        if (num != 0) r.freed.push_back(num);
      } else {
        r.objects.push_back(num);
      }
    }
    std::sort(r.objects.begin(), r.objects.end());
    r.objects.erase(std::unique(r.objects.begin(), r.objects.end()), r.objects.end());
    std::sort(r.freed.begin(), r.freed.end());
    // The revision ends after the first %%EOF (and its EOL) that follows its xref section —
    // after the section's end, not its start: a cross-reference stream's binary data may hold
    // those five bytes.
    const std::size_t eof = bytes.find("%%EOF", sec.after);
    if (eof == std::string_view::npos) malformed("no %%EOF after xref section" + at(sec.offset));
    std::size_t end = eof + 5;
    if (end < bytes.size() && bytes[end] == '\r') ++end;
    if (end < bytes.size() && bytes[end] == '\n') ++end;
    r.end = end;
    hist->revisions.push_back(std::move(r));
  }
  impl->size = static_cast<std::uint32_t>(max_size);
  impl->rev_count = hist->revisions.size();
  impl->hist = std::move(hist);
  if (!impl->hist->revisions.back().trailer.get("Root")) malformed("trailer without /Root");
  return Document(std::move(impl));
}

std::string_view Document::bytes() const { return impl_->bytes; }
const Limits& Document::limits() const { return impl_->limits; }
std::span<const Revision> Document::revisions() const {
  return {impl_->hist->revisions.data(), impl_->rev_count};
}
Document Document::revision(std::size_t index) const {
  if (index >= impl_->rev_count) {
    throw Error(ErrorCode::kInvalidArgument, "pdf: revision " + std::to_string(index) + " of " +
                                                 std::to_string(impl_->rev_count));
  }
  const Revision& r = impl_->hist->revisions[index];
  const std::string_view prefix = impl_->bytes.substr(0, r.end);
  // A view of the parsed history, if the prefix is what a reader of it would see: its last
  // startxref (§7.5.5) points at this revision's section. Otherwise (a linearized file's
  // first-page section, a hostile file) the prefix is parsed on its own, as a reader would.
  std::size_t tail = prefix.size();
  while (tail > 0 && is_ws(prefix[tail - 1])) --tail;
  const std::size_t sx = tail >= 5 ? prefix.rfind("startxref", tail - 5) : std::string_view::npos;
  bool same_section = false;
  if (sx != std::string_view::npos && tail - sx <= 1024) {
    try {
      Parser sp(prefix, sx + 9, impl_->limits, false);
      same_section = sp.expect_int("startxref offset") == static_cast<std::int64_t>(r.xref_offset);
    } catch (const Error&) {
      same_section = false;
    }
  }
  if (!same_section) return open(prefix, impl_->limits);
  auto view = std::make_shared<Impl>();
  view->bytes = prefix;
  view->limits = impl_->limits;
  view->hist = impl_->hist;
  view->rev_count = index + 1;
  view->size = impl_->hist->size_upto[index];
  return Document(std::move(view));
}
const Dict& Document::trailer() const { return impl_->hist->revisions[impl_->rev_count - 1].trailer; }
std::optional<XrefEntry> Document::xref_entry(std::uint32_t num) const {
  const XrefEntry* e = impl_->entry(num);
  if (e == nullptr) return std::nullopt;
  return *e;
}
std::uint32_t Document::size() const { return impl_->size; }
Object Document::object(std::uint32_t num) const { return impl_->object(num, 0); }
Object Document::object(Ref ref) const {
  auto e = xref_entry(ref.num);
  if (e && e->type == XrefEntry::Type::kInFile && e->gen != ref.gen) return Object();
  return impl_->object(ref.num, 0);
}
Object Document::resolve(const Object& o) const { return impl_->resolve(&o, 0); }
Object Document::resolve(const Object* o) const { return impl_->resolve(o, 0); }
std::string Document::decode(const Stream& s) const {
  return decode_stream(s, impl_->limits, [&](const Object* o) { return impl_->resolve(o, 0); });
}
Ref Document::catalog_ref() const {
  const Object* r = trailer().get("Root");
  if (r == nullptr || !r->is(Kind::kRef)) malformed("trailer /Root is not a reference");
  return r->as_ref();
}
Dict Document::catalog() const {
  Object c = object(catalog_ref());
  if (!c.is(Kind::kDict)) malformed("catalog is not a dictionary");
  return std::move(c.as_dict());
}

std::vector<Ref> Document::page_refs() const {
  std::vector<Ref> out;
  std::set<std::uint32_t> visited;
  const Dict cat = catalog();
  const Object* root = cat.get("Pages");
  if (root == nullptr || !root->is(Kind::kRef)) malformed("catalog /Pages is not a reference");
  // Iterative depth-first walk of §7.7.3 with loop detection.
  std::vector<std::pair<Ref, int>> stack{{root->as_ref(), 0}};
  while (!stack.empty()) {
    auto [ref, depth] = stack.back();
    stack.pop_back();
    if (depth > impl_->limits.max_depth) limit("page tree deeper than max_depth");
    if (!visited.insert(ref.num).second) {
      malformed("page tree visits object " + std::to_string(ref.num) + " twice");
    }
    const Object node = object(ref);
    if (!node.is(Kind::kDict))
      malformed("page tree node " + std::to_string(ref.num) + " is not a dictionary");
    const Dict& d = node.as_dict();
    const Object* type = d.get("Type");
    if (type != nullptr && type->is_name("Page")) {
      out.push_back(ref);
      if (out.size() > impl_->limits.max_objects) limit("too many pages");
      continue;
    }
    if (type == nullptr || !type->is_name("Pages")) {
      malformed("page tree node " + std::to_string(ref.num) + " has no /Type /Pages or /Page");
    }
    const Object kids = resolve(d.get("Kids"));
    const Array& a = kids.as_array();
    for (auto it = a.rbegin(); it != a.rend(); ++it) {
      if (!it->is(Kind::kRef)) malformed("/Kids entry is not a reference");
      stack.emplace_back(it->as_ref(), depth + 1);
    }
  }
  return out;
}
std::size_t Document::page_count() const { return page_refs().size(); }
Ref Document::page_ref(std::size_t index) const {
  const std::vector<Ref> pages = page_refs();
  if (index >= pages.size()) {
    throw Error(ErrorCode::kInvalidArgument, "pdf: page " + std::to_string(index + 1) +
                                                 " requested, document has " +
                                                 std::to_string(pages.size()));
  }
  return pages[index];
}
std::optional<Dict> Document::acroform() const {
  const Dict cat = catalog();
  Object af = resolve(cat.get("AcroForm"));
  if (af.is_null()) return std::nullopt;
  if (!af.is(Kind::kDict)) malformed("/AcroForm is not a dictionary");
  return std::move(af.as_dict());
}

// ---- IncrementalUpdate --------------------------------------------------------------------------

namespace {
constexpr std::size_t kByteRangeWidth = 48;  // "[0 a b c" + padding + "]": fits 4 ten-digit numbers
}

IncrementalUpdate::IncrementalUpdate(const Document& base) : base_(base), next_(base.size()) {}

Ref IncrementalUpdate::allocate() {
  if (next_ >= base_.limits().max_objects) limit("object number space exhausted");
  return Ref{next_++, 0};
}

void IncrementalUpdate::set(Ref ref, Object value) {
  if (ref.num == 0 || ref.num >= next_) {
    throw Error(ErrorCode::kInvalidArgument,
                "pdf: object " + std::to_string(ref.num) + " is neither existing nor allocated");
  }
  if (auto e = base_.xref_entry(ref.num); e && e->type == XrefEntry::Type::kInFile) {
    ref.gen = e->gen;  // a new version of an existing object keeps its generation (§7.5.6)
  }
  for (auto& [r, v] : objects_) {
    if (r.num == ref.num) {
      v = std::move(value);
      return;
    }
  }
  objects_.emplace_back(ref, std::move(value));
}

void IncrementalUpdate::set_signature(Ref ref, Dict sigdict, std::size_t contents_capacity) {
  if (sigdict.has("ByteRange") || sigdict.has("Contents")) {
    throw Error(ErrorCode::kInvalidArgument,
                "pdf: signature dictionary must not contain /ByteRange or /Contents");
  }
  if (sig_ref_) throw Error(ErrorCode::kInvalidArgument, "pdf: one signature per update");
  if (contents_capacity == 0 || contents_capacity > (16u << 20)) {
    throw Error(ErrorCode::kInvalidArgument, "pdf: signature capacity out of range");
  }
  set(ref, Object(std::move(sigdict)));
  sig_ref_ = ref;
  sig_capacity_ = contents_capacity;
}

Output IncrementalUpdate::write() const {
  if (objects_.empty()) throw Error(ErrorCode::kInvalidArgument, "pdf: empty incremental update");
  Output out;
  const std::string_view base = base_.bytes();
  out.pdf.reserve(base.size() + 4096 + sig_capacity_ * 2);
  out.pdf.assign(base);
  if (out.pdf.back() != '\n' && out.pdf.back() != '\r') out.pdf += '\n';

  std::vector<std::pair<Ref, const Object*>> sorted;
  for (const auto& [r, v] : objects_) sorted.emplace_back(r, &v);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.num < b.first.num; });
  std::vector<std::pair<Ref, std::size_t>> offsets;
  for (const auto& [r, v] : sorted) {
    offsets.emplace_back(r, out.pdf.size());
    out.pdf += std::to_string(r.num) + " " + std::to_string(r.gen) + " obj\n";
    if (sig_ref_ && r.num == sig_ref_->num) {
      // §12.8.1: /ByteRange first as a fixed-width placeholder, /Contents last, so the gap
      // [contents_pos, contents_end) is just the hex string.
      std::string d = serialize(*v);
      d.resize(d.size() - 2);  // drop ">>"
      SignatureSlot slot;
      d += "/ByteRange ";
      slot.byte_range_pos = out.pdf.size() + d.size();
      std::string br = "[0 0 0 0";
      br.resize(kByteRangeWidth - 1, ' ');
      br += ']';
      d += br;
      slot.byte_range_len = kByteRangeWidth;
      d += "/Contents ";
      slot.contents_pos = out.pdf.size() + d.size();
      d += '<';
      d.append(sig_capacity_ * 2, '0');
      d += '>';
      slot.contents_end = out.pdf.size() + d.size();
      d += ">>";
      out.pdf += d;
      out.signature = slot;
    } else {
      out.pdf += serialize(*v);
    }
    out.pdf += "\nendobj\n";
  }

  Dict copied;  // §7.5.6: the previous trailer's entries, except /Prev and the section's own
  for (const char* k : {"Root", "Info", "ID"}) {
    if (const Object* v = base_.trailer().get(k)) copied.set(k, *v);
  }
  const std::size_t prev = base_.revisions().back().xref_offset;
  if (base_.revisions().back().xref_stream) {
    // The base's newest section is a cross-reference stream (not a hybrid file's table): the
    // update's section is one too. ISO 32000-1 §7.5.8.1: a file that uses cross-reference
    // streams does not use the "xref" and "trailer" keywords; a classic section after a stream
    // would make it neither such a file nor a hybrid one (§7.5.8.4), which readers need not
    // accept. The stream (its own number: the next free one) lists the update's objects, itself
    // and object 0 in /Index subsections; its dictionary is the trailer (§7.5.8.2). Unfiltered:
    // a few dozen bytes.
    const std::uint32_t self = next_;
    const std::size_t xref_pos = out.pdf.size();
    offsets.emplace_back(Ref{self, 0}, xref_pos);
    int w2 = 1;
    while (w2 < 8 && (xref_pos >> (8 * w2)) != 0) ++w2;
    std::string table;
    auto put = [&table, w2](int type, std::size_t f2, unsigned f3) {
      table += static_cast<char>(type);
      for (int b = w2 - 1; b >= 0; --b) table += static_cast<char>((f2 >> (8 * b)) & 0xFF);
      table += static_cast<char>((f3 >> 8) & 0xFF);
      table += static_cast<char>(f3 & 0xFF);
    };
    Array index{Object(std::int64_t{0}), Object(std::int64_t{1})};
    put(0, 0, 65535);  // object 0, head of the free list
    for (std::size_t i = 0; i < offsets.size();) {
      std::size_t j = i;
      while (j + 1 < offsets.size() && offsets[j + 1].first.num == offsets[j].first.num + 1) ++j;
      index.emplace_back(static_cast<std::int64_t>(offsets[i].first.num));
      index.emplace_back(static_cast<std::int64_t>(j - i + 1));
      for (std::size_t k = i; k <= j; ++k) put(1, offsets[k].second, offsets[k].first.gen);
      i = j + 1;
    }
    Dict d;
    d.set("Type", Name{"XRef"});
    d.set("Size", Object(static_cast<std::int64_t>(self) + 1));
    d.set("Prev", Object(prev));
    d.set("Index", Object(std::move(index)));
    d.set("W", Object(Array{Object(std::int64_t{1}), Object(std::int64_t{w2}),
                            Object(std::int64_t{2})}));
    for (const auto& [k, v] : copied.entries()) d.set(k, v);
    Stream s;
    s.dict = std::move(d);
    s.data = std::move(table);
    out.pdf += std::to_string(self) + " 0 obj\n" + serialize(Object(std::move(s))) +
               "\nendobj\nstartxref\n" + std::to_string(xref_pos) + "\n%%EOF\n";
    return out;
  }

  // §7.5.4: a classic xref section with one subsection per run of consecutive numbers.
  const std::size_t xref_pos = out.pdf.size();
  out.pdf += "xref\n0 1\n0000000000 65535 f\r\n";
  for (std::size_t i = 0; i < offsets.size();) {
    std::size_t j = i;
    while (j + 1 < offsets.size() && offsets[j + 1].first.num == offsets[j].first.num + 1) ++j;
    out.pdf += std::to_string(offsets[i].first.num) + " " + std::to_string(j - i + 1) + "\n";
    for (std::size_t k = i; k <= j; ++k) {
      char e[32];
      std::snprintf(e, sizeof e, "%010zu %05u n\r\n", offsets[k].second,
                    static_cast<unsigned>(offsets[k].first.gen));
      out.pdf += e;
    }
    i = j + 1;
  }
  Dict tr;
  tr.set("Size", Object(static_cast<std::int64_t>(next_)));
  tr.set("Prev", Object(prev));
  for (const auto& [k, v] : copied.entries()) tr.set(k, v);
  out.pdf += "trailer\n" + serialize(Object(std::move(tr))) + "\nstartxref\n" +
             std::to_string(xref_pos) + "\n%%EOF\n";
  return out;
}

ByteRange fill_byte_range(std::string& pdf, const SignatureSlot& slot) {
  if (slot.byte_range_pos + slot.byte_range_len > pdf.size() || slot.contents_end > pdf.size() ||
      pdf[slot.byte_range_pos] != '[' ||
      pdf[slot.byte_range_pos + slot.byte_range_len - 1] != ']' || pdf[slot.contents_pos] != '<' ||
      pdf[slot.contents_end - 1] != '>') {
    throw Error(ErrorCode::kInternal, "pdf: signature placeholder is not where the slot says");
  }
  ByteRange r{slot.contents_pos, slot.contents_end, pdf.size() - slot.contents_end};
  std::string br =
      "[0 " + std::to_string(r.a) + " " + std::to_string(r.b) + " " + std::to_string(r.c);
  if (br.size() + 1 > slot.byte_range_len) {
    throw Error(ErrorCode::kInternal, "pdf: /ByteRange does not fit its placeholder");
  }
  br.resize(slot.byte_range_len - 1, ' ');
  br += ']';
  pdf.replace(slot.byte_range_pos, slot.byte_range_len, br);
  return r;
}

void fill_contents(std::string& pdf, const SignatureSlot& slot, std::string_view der) {
  if (slot.contents_end > pdf.size() || pdf[slot.contents_pos] != '<' ||
      pdf[slot.contents_end - 1] != '>') {
    throw Error(ErrorCode::kInternal, "pdf: /Contents placeholder is not where the slot says");
  }
  if (der.size() > slot.capacity()) {
    throw Error(ErrorCode::kLimitExceeded, "pdf: signature of " + std::to_string(der.size()) +
                                               " bytes exceeds the reserved " +
                                               std::to_string(slot.capacity()));
  }
  static const char* kHex = "0123456789ABCDEF";
  std::size_t p = slot.contents_pos + 1;
  for (const char ch_ : der) {
    const auto c = static_cast<unsigned char>(ch_);
    pdf[p++] = kHex[c >> 4];
    pdf[p++] = kHex[c & 15];
  }
}

}  // namespace libcert::pdf
