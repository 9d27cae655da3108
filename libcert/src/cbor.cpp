#include "cbor.h"

#include <algorithm>
#include <limits>

namespace libcert::cbor {

namespace {

constexpr std::uint8_t kMajUint = 0, kMajNint = 1, kMajBytes = 2, kMajText = 3, kMajArray = 4,
                       kMajMap = 5, kMajTag = 6;

[[noreturn]] void type_error(const char* expected) {
  throw DecodeError(0, std::string("expected ") + expected);
}

// RFC 8949 §4.2.1: "Arguments ... MUST be as short as possible".
void put_head(std::string& out, std::uint8_t major, std::uint64_t arg) {
  const auto mt = static_cast<std::uint8_t>(major << 5);
  auto put_be = [&](int nbytes) {
    for (int i = nbytes - 1; i >= 0; --i)
      out.push_back(static_cast<char>((arg >> (8 * i)) & 0xFFu));
  };
  if (arg < 24) {
    out.push_back(static_cast<char>(mt | arg));
  } else if (arg <= 0xFF) {
    out.push_back(static_cast<char>(mt | 24));
    put_be(1);
  } else if (arg <= 0xFFFF) {
    out.push_back(static_cast<char>(mt | 25));
    put_be(2);
  } else if (arg <= 0xFFFFFFFFu) {
    out.push_back(static_cast<char>(mt | 26));
    put_be(4);
  } else {
    out.push_back(static_cast<char>(mt | 27));
    put_be(8);
  }
}

void encode_into(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUint:
      put_head(out, kMajUint, v.arg());
      break;
    case Value::Kind::kNint:
      put_head(out, kMajNint, v.arg());
      break;
    case Value::Kind::kBytes:
      put_head(out, kMajBytes, v.as_bytes().size());
      out += v.as_bytes();
      break;
    case Value::Kind::kText:
      put_head(out, kMajText, v.as_text().size());
      out += v.as_text();
      break;
    case Value::Kind::kArray:
      put_head(out, kMajArray, v.as_array().size());
      for (const auto& item : v.as_array()) encode_into(out, item);
      break;
    case Value::Kind::kMap: {
      // §4.2.1: keys sorted in the bytewise lexicographic order of their deterministic encodings.
      std::vector<std::pair<std::string, const Value*>> enc;
      enc.reserve(v.as_map().size());
      for (const auto& [k, val] : v.as_map()) enc.emplace_back(encode(k), &val);
      std::sort(enc.begin(), enc.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t i = 1; i < enc.size(); ++i)
        if (enc[i].first == enc[i - 1].first) throw DecodeError(0, "duplicate map key in encoder");
      put_head(out, kMajMap, enc.size());
      for (const auto& [k, val] : enc) {
        out += k;
        encode_into(out, *val);
      }
      break;
    }
    case Value::Kind::kTag:
      put_head(out, kMajTag, v.tag_number());
      encode_into(out, v.tagged());
      break;
  }
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n >= s.size() - i) return false;  // needs n continuation bytes after s[i]
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8 (RFC 3629 §3).
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

class Decoder {
 public:
  Decoder(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  Value item(std::size_t depth) {
    if (depth > limits_.max_depth) fail("nesting deeper than " + std::to_string(limits_.max_depth));
    const std::size_t start = pos_;
    if (pos_ >= in_.size()) fail("truncated: expected a data item");
    const auto ib = static_cast<std::uint8_t>(in_[pos_++]);
    const auto major = static_cast<std::uint8_t>(ib >> 5);
    const auto ai = static_cast<std::uint8_t>(ib & 0x1F);
    if (major == 7) fail_at(start, "floats and simple values are not allowed");
    if (ai == 31) fail_at(start, "indefinite length is not allowed (RFC 8949 §4.2.1)");
    if (ai >= 28) fail_at(start, "reserved additional information value");
    std::uint64_t arg = ai;
    if (ai >= 24) {
      const std::size_t n = std::size_t{1} << (ai - 24);
      if (in_.size() - pos_ < n) fail("truncated argument");
      arg = 0;
      for (std::size_t k = 0; k < n; ++k) arg = (arg << 8) | static_cast<std::uint8_t>(in_[pos_++]);
      // Shortest form (§4.2.1): each width must be needed.
      const bool shortest = (ai == 24 && arg >= 24) || (ai == 25 && arg > 0xFF) ||
                            (ai == 26 && arg > 0xFFFF) || (ai == 27 && arg > 0xFFFFFFFFu);
      if (!shortest) fail_at(start, "argument not in shortest form (RFC 8949 §4.2.1)");
    }
    switch (major) {
      case kMajUint:
        return Value::uint(arg);
      case kMajNint:
        return Value::negative(arg);
      case kMajBytes:
      case kMajText: {
        if (arg > in_.size() - pos_) fail_at(start, "string length exceeds the input");
        const std::string_view s = in_.substr(pos_, static_cast<std::size_t>(arg));
        pos_ += static_cast<std::size_t>(arg);
        if (major == kMajText) {
          if (!valid_utf8(s)) fail_at(start, "text string is not valid UTF-8");
          return Value::text(s);
        }
        return Value::bytes(s);
      }
      case kMajArray: {
        count(arg, start);
        std::vector<Value> items;
        items.reserve(static_cast<std::size_t>(arg));
        for (std::uint64_t k = 0; k < arg; ++k) items.push_back(item(depth + 1));
        return Value::array(std::move(items));
      }
      case kMajMap: {
        count(arg, start);
        std::vector<std::pair<Value, Value>> entries;
        entries.reserve(static_cast<std::size_t>(arg));
        std::string_view prev_key;
        for (std::uint64_t k = 0; k < arg; ++k) {
          const std::size_t kstart = pos_;
          Value key = item(depth + 1);
          const std::string_view kenc = in_.substr(kstart, pos_ - kstart);
          if (k > 0 && !(prev_key < kenc))
            fail_at(kstart, prev_key == kenc ? "duplicate map key"
                                             : "map keys not in canonical order (RFC 8949 §4.2.1)");
          prev_key = kenc;
          Value val = item(depth + 1);
          entries.emplace_back(std::move(key), std::move(val));
        }
        return Value::map(std::move(entries));
      }
      default:  // kMajTag
        return Value::tag(arg, item(depth + 1));
    }
  }

  void finish() const {
    if (pos_ != in_.size()) fail_at(pos_, "trailing bytes after the data item");
  }

 private:
  void count(std::uint64_t n, std::size_t start) {
    // Each element needs at least one byte: a cheap bound that stops huge preallocation.
    if (n > in_.size() - pos_) fail_at(start, "element count exceeds the input");
    items_ += static_cast<std::size_t>(n);
    if (items_ > limits_.max_items) fail_at(start, "too many elements");
  }
  [[noreturn]] void fail(const std::string& rule) const { throw DecodeError(pos_, rule); }
  [[noreturn]] static void fail_at(std::size_t at, const std::string& rule) {
    throw DecodeError(at, rule);
  }

  std::string_view in_;
  Limits limits_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

}  // namespace

// ---- Value ----------------------------------------------------------------------------------

Value Value::uint(std::uint64_t v) {
  Value r;
  r.kind_ = Kind::kUint;
  r.arg_ = v;
  return r;
}

Value Value::integer(std::int64_t v) {
  Value r;
  if (v >= 0) {
    r.kind_ = Kind::kUint;
    r.arg_ = static_cast<std::uint64_t>(v);
  } else {
    r.kind_ = Kind::kNint;
    r.arg_ = static_cast<std::uint64_t>(-(v + 1));
  }
  return r;
}

Value Value::negative(std::uint64_t n) {
  Value r;
  r.kind_ = Kind::kNint;
  r.arg_ = n;
  return r;
}

Value Value::bytes(std::string_view b) {
  Value r;
  r.kind_ = Kind::kBytes;
  r.str_ = b;
  return r;
}

Value Value::text(std::string_view t) {
  Value r;
  r.kind_ = Kind::kText;
  r.str_ = t;
  return r;
}

Value Value::array(std::vector<Value> items) {
  Value r;
  r.kind_ = Kind::kArray;
  r.items_ = std::move(items);
  return r;
}

Value Value::map(std::vector<std::pair<Value, Value>> entries) {
  Value r;
  r.kind_ = Kind::kMap;
  r.entries_ = std::move(entries);
  return r;
}

Value Value::tag(std::uint64_t t, Value inner) {
  Value r;
  r.kind_ = Kind::kTag;
  r.arg_ = t;
  r.items_.push_back(std::move(inner));
  return r;
}

std::int64_t Value::as_int() const {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (kind_ == Kind::kUint) {
    if (arg_ > kMax) type_error("integer within int64");
    return static_cast<std::int64_t>(arg_);
  }
  if (kind_ == Kind::kNint) {
    if (arg_ > kMax) type_error("integer within int64");
    return -static_cast<std::int64_t>(arg_) - 1;
  }
  type_error("integer");
}

std::uint64_t Value::as_uint() const {
  if (kind_ != Kind::kUint) type_error("unsigned integer");
  return arg_;
}

const std::string& Value::as_bytes() const {
  if (kind_ != Kind::kBytes) type_error("byte string");
  return str_;
}

const std::string& Value::as_text() const {
  if (kind_ != Kind::kText) type_error("text string");
  return str_;
}

const std::vector<Value>& Value::as_array() const {
  if (kind_ != Kind::kArray) type_error("array");
  return items_;
}

const std::vector<std::pair<Value, Value>>& Value::as_map() const {
  if (kind_ != Kind::kMap) type_error("map");
  return entries_;
}

std::uint64_t Value::tag_number() const {
  if (kind_ != Kind::kTag) type_error("tag");
  return arg_;
}

const Value& Value::tagged() const {
  if (kind_ != Kind::kTag) type_error("tag");
  return items_.front();
}

const Value* Value::find(std::int64_t key) const {
  if (kind_ != Kind::kMap) return nullptr;
  const Value k = integer(key);
  for (const auto& [ek, ev] : entries_)
    if (ek.kind_ == k.kind_ && ek.arg_ == k.arg_) return &ev;
  return nullptr;
}

const Value* Value::find(std::string_view key) const {
  if (kind_ != Kind::kMap) return nullptr;
  for (const auto& [ek, ev] : entries_)
    if (ek.kind_ == Kind::kText && ek.str_ == key) return &ev;
  return nullptr;
}

std::string encode(const Value& v) {
  std::string out;
  encode_into(out, v);
  return out;
}

Value decode(std::string_view in, const Limits& limits) {
  Decoder d(in, limits);
  Value v = d.item(0);
  d.finish();
  return v;
}

}  // namespace libcert::cbor
