// cbor.h (private) — a small, strict CBOR codec (RFC 8949) for the QR payload and the trust bundle.
//
//   cbor::Value m = cbor::Value::map({{cbor::Value::integer(1), cbor::Value::text("x")}});
//   std::string bytes = cbor::encode(m);          // deterministic (RFC 8949 §4.2.1)
//   cbor::Value back = cbor::decode(bytes);       // throws cbor::DecodeError unless canonical
//
// Only the subset libcert needs: unsigned/negative integers, byte and text strings, arrays, maps
// and tags. The decoder accepts exactly the deterministic encoding of RFC 8949 §4.2.1 and
// nothing else: shortest-form arguments, definite lengths only, map keys strictly ascending in
// the bytewise order of their encodings (which also forbids duplicates), valid UTF-8 text, no
// floats or simple values, no trailing bytes, bounded nesting depth. Every value therefore has
// exactly one accepted encoding, so a signature over re-encoded data and over the received data
// can never disagree (no malleability). Why our own codec and not libcbor: see docs/qr.md.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libcert::cbor {

// Thrown by decode() with the byte offset and the rule that was broken.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(std::size_t offset, const std::string& rule)
      : std::runtime_error("CBOR at byte " + std::to_string(offset) + ": " + rule),
        offset_(offset) {}
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

class Value {
 public:
  enum class Kind { kUint, kNint, kBytes, kText, kArray, kMap, kTag };

  static Value uint(std::uint64_t v);
  static Value integer(std::int64_t v);
  static Value negative(std::uint64_t n);  // the integer -1 - n (full CBOR major type 1 range)
  static Value bytes(std::string_view b);
  static Value text(std::string_view t);
  static Value array(std::vector<Value> items);
  static Value map(std::vector<std::pair<Value, Value>> entries);
  static Value tag(std::uint64_t tag, Value inner);

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_int() const noexcept {
    return kind_ == Kind::kUint || kind_ == Kind::kNint;
  }
  // Accessors throw DecodeError(0, ...) naming the expected type when the kind differs, so a
  // decoder of a structure can use them directly and report "expected text string".
  [[nodiscard]] std::int64_t as_int() const;    // also fails if outside int64
  [[nodiscard]] std::uint64_t as_uint() const;  // unsigned only
  [[nodiscard]] const std::string& as_bytes() const;
  [[nodiscard]] const std::string& as_text() const;
  [[nodiscard]] const std::vector<Value>& as_array() const;
  [[nodiscard]] const std::vector<std::pair<Value, Value>>& as_map() const;
  [[nodiscard]] std::uint64_t tag_number() const;  // kTag only
  [[nodiscard]] const Value& tagged() const;       // kTag only

  // Map lookup by integer / text key; nullptr when absent (or when this is not a map).
  [[nodiscard]] const Value* find(std::int64_t key) const;
  [[nodiscard]] const Value* find(std::string_view key) const;

  // Raw argument: the unsigned value, the n of a negative integer -1-n, or the tag number.
  [[nodiscard]] std::uint64_t arg() const noexcept { return arg_; }

 private:
  Kind kind_ = Kind::kUint;
  std::uint64_t arg_ = 0;
  std::string str_;
  std::vector<Value> items_;                      // array items, or the tag's one item
  std::vector<std::pair<Value, Value>> entries_;  // map entries (any order; encode sorts)
};

struct Limits {
  std::size_t max_depth = 16;      // nesting of arrays/maps/tags
  std::size_t max_items = 100000;  // array elements + map entries over the whole document
};

// Deterministic encoding (RFC 8949 §4.2.1): shortest arguments, definite lengths, map entries
// sorted by the bytewise order of their encoded keys. Throws DecodeError if a map holds two
// equal keys (a caller bug, reported rather than silently emitting invalid CBOR).
std::string encode(const Value& v);

// Decodes exactly one data item filling all of `in`. Throws DecodeError on any deviation from the
// deterministic encoding (see the header comment), on truncation, or on exceeding `limits`.
Value decode(std::string_view in, const Limits& limits = {});

}  // namespace libcert::cbor
