// libcert/pdf.h — a strict, minimal PDF object reader and incremental writer: exactly what
// sealing and verifying need (ISO 32000-1 §7.3 objects, §7.5 file structure), nothing more.
//
//   // Reading
//   libcert::pdf::Document doc = libcert::pdf::Document::open(bytes);   // bytes must outlive doc
//   const libcert::pdf::Dict& trailer = doc.trailer();
//   libcert::pdf::Dict catalog = doc.catalog();
//   libcert::pdf::Ref page = doc.page_ref(0);                           // first page
//   libcert::pdf::Object annots = doc.resolve(doc.object(page).as_dict().get("Annots"));
//   for (const auto& rev : doc.revisions()) { /* rev.end = byte length of that revision */ }
//   libcert::pdf::Document signed_rev = doc.revision(0);                // the file as it was then
//
//   // Appending an incremental update (§7.5.6) with a signature placeholder
//   libcert::pdf::IncrementalUpdate up(doc);
//   libcert::pdf::Ref sig = up.allocate();
//   up.set_signature(sig, sigdict, 8192);       // sigdict without /ByteRange and /Contents
//   up.set(doc.trailer().get("Root").as_ref(), new_catalog);
//   libcert::pdf::Output out = up.write();      // out.pdf = bytes + appended update
//   auto ranges = libcert::pdf::fill_byte_range(out.pdf, *out.signature);
//   ... digest the two ranges, make the CMS ...
//   libcert::pdf::fill_contents(out.pdf, *out.signature, cms_der);
//
// Strictness: the reader accepts well-formed files as written by cairo, qpdf, Poppler, LibreOffice
// and Acrobat (classic xref tables, xref streams, object streams, hybrid files with /XRefStm), and
// rejects anything else with Error(kPdfMalformed) naming what was wrong and where (byte offset).
// It never "repairs" a broken file by scanning for objects: a verifier must see the file exactly as
// the signed byte ranges define it. Every input-size-dependent loop is bounded by `Limits`; an
// input beyond a limit is Error(kLimitExceeded). No input makes it crash, hang or allocate without
// bound.
//
// Thread-safety: `Object`, `Dict` are plain values. A `Document` is immutable after `open`; its
// const methods may be called from several threads at once (an internal object cache is guarded by
// a mutex). `IncrementalUpdate` is single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace libcert::pdf {

// ---- Limits ------------------------------------------------------------------------------------

// Bounds on hostile input. Exceeding one throws Error(kLimitExceeded) naming the limit.
struct Limits {
  std::size_t max_file_size = 256u << 20;      // bytes of the whole file
  std::uint32_t max_objects = 2'000'000;       // highest object number + 1 (trailer /Size)
  int max_depth = 64;                          // nesting of arrays/dicts, page tree depth
  std::size_t max_decoded_stream = 64u << 20;  // bytes after FlateDecode of one stream
  std::size_t max_revisions = 1000;            // xref sections in the /Prev chain
  std::size_t max_objstm_objects = 100'000;    // /N of one object stream
  // Entries of all cross-reference sections together (the /Prev chain read once): bounds the
  // work of opening a file of many large updates before any object is looked at.
  std::size_t max_xref_entries = 8'000'000;
};

// ---- Objects (§7.3) --------------------------------------------------------------------------

// Indirect reference `num gen R` (§7.3.10).
struct Ref {
  std::uint32_t num = 0;
  std::uint16_t gen = 0;
  friend bool operator==(const Ref&, const Ref&) = default;
  friend auto operator<=>(const Ref&, const Ref&) = default;
};

// A name (§7.3.5), stored decoded (`/A#20B` -> "A B"), without the leading '/'.
struct Name {
  std::string value;
  friend bool operator==(const Name&, const Name&) = default;
};

// A string (§7.3.4), stored decoded (escapes and hex resolved). `hex` records how it was (or is to
// be) written; it does not take part in equality.
struct String {
  std::string bytes;
  bool hex = false;
  friend bool operator==(const String& a, const String& b) { return a.bytes == b.bytes; }
};

class Object;
using Array = std::vector<Object>;

// A dictionary (§7.3.7). Keeps the order of the file (so written output is stable); keys are
// unique (a duplicate key in a file is Error(kPdfMalformed)). A key whose value is null is
// equivalent to an absent key (§7.3.7), and `get` returns nullptr for both.
class Dict {
 public:
  // The value of `key`, or nullptr if absent or null.
  [[nodiscard]] const Object* get(std::string_view key) const;
  [[nodiscard]] bool has(std::string_view key) const { return get(key) != nullptr; }
  // Sets (replacing an existing entry in place, or appending).
  void set(std::string_view key, Object value);
  // Removes `key` if present; returns whether it was.
  bool erase(std::string_view key);
  [[nodiscard]] const std::vector<std::pair<std::string, Object>>& entries() const {
    return entries_;
  }
  [[nodiscard]] std::size_t size() const;  // defined after Object (clang needs it complete)
  friend bool operator==(const Dict& a, const Dict& b);

 private:
  std::vector<std::pair<std::string, Object>> entries_;
};

// A stream (§7.3.8): its dictionary and its raw (still encoded) data. `/Length` in `dict` is
// rewritten by the writer to data.size().
struct Stream {
  Dict dict;
  std::string data;
  friend bool operator==(const Stream&, const Stream&) = default;
};

enum class Kind { kNull, kBool, kInt, kReal, kString, kName, kArray, kDict, kStream, kRef };
std::string_view to_string(Kind k) noexcept;

// Any PDF object. The as_* accessors throw Error(kPdfMalformed, "expected dictionary, got
// integer") when the object has another kind, so parsing code can be strict without boilerplate.
class Object {
 public:
  using Value = std::variant<std::monostate, bool, std::int64_t, double, String, Name, Array, Dict,
                             Stream, Ref>;

  Object() = default;  // null
  Object(std::nullptr_t) {}
  Object(bool b) : v_(b) {}
  Object(const char*) = delete;  // would silently become a bool: use String{} or Name{}
  Object(int i) : v_(static_cast<std::int64_t>(i)) {}
  Object(std::int64_t i) : v_(i) {}
  Object(std::size_t i) : v_(static_cast<std::int64_t>(i)) {}
  Object(double d) : v_(d) {}
  Object(String s) : v_(std::move(s)) {}
  Object(Name n) : v_(std::move(n)) {}
  Object(Array a) : v_(std::move(a)) {}
  Object(Dict d) : v_(std::move(d)) {}
  Object(Stream s) : v_(std::move(s)) {}
  Object(Ref r) : v_(r) {}

  [[nodiscard]] Kind kind() const noexcept { return static_cast<Kind>(v_.index()); }
  [[nodiscard]] bool is_null() const noexcept { return kind() == Kind::kNull; }
  [[nodiscard]] bool is(Kind k) const noexcept { return kind() == k; }
  [[nodiscard]] bool is_name(std::string_view n) const noexcept;  // a name equal to n

  [[nodiscard]] bool as_bool() const;
  [[nodiscard]] std::int64_t as_int() const;
  [[nodiscard]] double as_number() const;  // integer or real
  [[nodiscard]] const String& as_string() const;
  [[nodiscard]] const std::string& as_name() const;
  [[nodiscard]] const Array& as_array() const;
  [[nodiscard]] const Dict& as_dict() const;  // a stream's dictionary counts as a dictionary
  [[nodiscard]] const Stream& as_stream() const;
  [[nodiscard]] Ref as_ref() const;
  [[nodiscard]] Dict& as_dict();
  [[nodiscard]] Array& as_array();

  [[nodiscard]] const Value& value() const noexcept { return v_; }

  // Byte span [pos, end) of this object in the file it was parsed from, if it was parsed directly
  // from the file (not from an object stream, not built in memory); npos otherwise. For a string
  // this covers the delimiters (`<`...`>` or `(`...`)`), which is what a verifier needs to check a
  // /ByteRange gap (ISO 32000-1 §12.8.1).
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t pos = npos;
  std::size_t end = npos;

  // Value equality (positions are ignored; an integer never equals a real).
  friend bool operator==(const Object& a, const Object& b) { return a.v_ == b.v_; }

 private:
  Value v_;
};

inline std::size_t Dict::size() const { return entries_.size(); }

// Serialises an object in PDF syntax (no indirect-object wrapper). Strings are written as literal
// strings with escapes unless `hex` is set; names with #xx escapes (§7.3.5); reals without
// exponent. Throws Error(kInvalidArgument) for a non-finite real.
[[nodiscard]] std::string serialize(const Object& o);

// Parses one direct object from `text` (for tests and small fragments; indirect references are
// kept as Ref, streams are not allowed). Throws Error(kPdfMalformed) with the byte offset.
[[nodiscard]] Object parse_object(std::string_view text, const Limits& limits = {});

// ---- Document (reading) ----------------------------------------------------------------------

// One entry of the merged cross-reference table (§7.5.4, §7.5.8.3).
struct XrefEntry {
  enum class Type { kFree, kInFile, kInObjectStream };
  Type type = Type::kFree;
  std::size_t offset = 0;        // kInFile: byte offset of "num gen obj"
  std::uint16_t gen = 0;         // kInFile: generation
  std::uint32_t stream_num = 0;  // kInObjectStream: object number of the object stream
  std::uint32_t index = 0;       // kInObjectStream: index inside it
};

// One revision = one cross-reference section and its trailer, i.e. the original file or one
// incremental update (§7.5.6). Revisions are listed oldest first. (A linearized file, §F, shows
// its first-page cross-reference section as one more revision: it is one in the /Prev chain.)
struct Revision {
  std::size_t xref_offset = 0;         // where this section's xref table / xref stream starts
  std::size_t end = 0;                 // byte length of the file up to and including this
                                       // revision's "%%EOF" and the end-of-line after it
  bool xref_stream = false;            // cross-reference stream (§7.5.8) rather than a table
  Dict trailer;                        // the trailer (or the xref stream's dictionary)
  std::vector<std::uint32_t> objects;  // object numbers this section defines (in use), sorted
  std::vector<std::uint32_t> freed;    // object numbers this section marks free (except 0)
};

class Document {
 public:
  // Parses the trailer chain and cross-reference sections of `bytes` (no copy: `bytes` must stay
  // alive and unchanged as long as the Document and its copies). Objects are parsed lazily.
  // Throws Error(kPdfMalformed) for a missing header/startxref/%%EOF, a broken xref, a /Prev
  // loop; Error(kLimitExceeded) per `limits`.
  static Document open(std::string_view bytes, const Limits& limits = {});

  [[nodiscard]] std::string_view bytes() const;
  [[nodiscard]] const Limits& limits() const;

  // Oldest first; back() is the newest revision, whose `end` is normally bytes().size().
  [[nodiscard]] std::span<const Revision> revisions() const;

  // The document as of revision `index` (0 = original): what Document::open of bytes()[0, end)
  // gives, in O(1) — a view sharing this document's parsed cross-reference sections (each
  // revision is parsed once), with its own object cache. Throws Error(kInvalidArgument) if
  // index >= revisions().size().
  [[nodiscard]] Document revision(std::size_t index) const;

  // The newest trailer (§7.5.5; for an xref stream, its dictionary).
  [[nodiscard]] const Dict& trailer() const;

  // The merged cross-reference entry for `num` (newest wins), or nullopt if no section lists it.
  [[nodiscard]] std::optional<XrefEntry> xref_entry(std::uint32_t num) const;
  // Highest object number + 1 over all sections (= the /Size a new update starts from).
  [[nodiscard]] std::uint32_t size() const;

  // The indirect object `num` as the newest revision defines it. A free or absent object is null
  // (§7.3.10). Throws Error(kPdfMalformed) if the object at the xref offset is not "num gen obj"
  // with the expected number and generation, or fails to parse.
  [[nodiscard]] Object object(std::uint32_t num) const;
  [[nodiscard]] Object object(Ref ref) const;
  // If `o` is a reference, the object it points to (following chains of references, bounded by
  // limits().max_depth); else a copy of `o`; nullptr gives null.
  [[nodiscard]] Object resolve(const Object& o) const;
  [[nodiscard]] Object resolve(const Object* o) const;

  // Decoded data of a stream: FlateDecode (with PNG/TIFF predictors, §7.4.4.4) or no filter.
  // Other filters throw Error(kPdfMalformed, "unsupported filter /X"); a result beyond
  // limits().max_decoded_stream throws Error(kLimitExceeded).
  [[nodiscard]] std::string decode(const Stream& s) const;

  // The document catalog (trailer /Root, §7.7.2), resolved. Throws Error(kPdfMalformed) if absent.
  [[nodiscard]] Ref catalog_ref() const;
  [[nodiscard]] Dict catalog() const;

  // Page tree (§7.7.3): number of pages, and the reference of page `index` (0-based). Walks /Kids
  // with loop detection and depth limit. Throws Error(kInvalidArgument) if index is out of range,
  // Error(kPdfMalformed) for a broken tree.
  [[nodiscard]] std::size_t page_count() const;
  [[nodiscard]] Ref page_ref(std::size_t index) const;
  [[nodiscard]] std::vector<Ref> page_refs() const;

  // The interactive form dictionary (catalog /AcroForm, §12.7.2), resolved, or nullopt.
  [[nodiscard]] std::optional<Dict> acroform() const;

  Document(const Document&) = default;
  Document& operator=(const Document&) = default;
  Document(Document&&) noexcept = default;
  Document& operator=(Document&&) noexcept = default;
  ~Document();

  struct Impl;

 private:
  explicit Document(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// ---- Incremental update (writing) -------------------------------------------------------------

// Where a signature dictionary's placeholders ended up in the output (§12.8.1).
struct SignatureSlot {
  std::size_t byte_range_pos = 0;  // offset of the '[' of the /ByteRange array
  std::size_t byte_range_len = 0;  // its fixed width, including the brackets
  std::size_t contents_pos = 0;    // offset of the '<' of the /Contents hex string
  std::size_t contents_end = 0;    // offset just after its '>'
  [[nodiscard]] std::size_t capacity() const { return (contents_end - contents_pos - 2) / 2; }
};

struct Output {
  std::string pdf;                         // the original bytes followed by the update
  std::optional<SignatureSlot> signature;  // set if set_signature() was used
};

// Appends one incremental update (§7.5.6): changed and new objects, a cross-reference section
// listing exactly them, and a trailer with /Size and /Prev (plus /Root, /Info, /ID copied from the
// previous trailer). The section is of the kind of the base's newest one: a classic table and
// trailer after a classic table (or a hybrid file's), a cross-reference stream (§7.5.8, its
// dictionary the trailer, its own number the next free one) after a cross-reference stream. The earlier bytes are never touched: out.pdf starts with
// base.bytes() byte for byte. (If the base's last "%%EOF" lacks an end-of-line, one is appended
// after it; the prefix is still unchanged.)
class IncrementalUpdate {
 public:
  explicit IncrementalUpdate(const Document& base);

  // A fresh object number (base.size(), base.size()+1, ...), generation 0.
  Ref allocate();
  // Writes `value` as object `ref` in the update (a new object, or a new version of an existing
  // one: the generation of an existing object is kept). A Stream's /Length is set for you.
  // Throws Error(kInvalidArgument) if ref.num is 0 or not < the current size.
  void set(Ref ref, Object value);

  // Like set(), for a signature dictionary (§12.8.1): the writer adds /ByteRange as a fixed-width
  // placeholder array and /Contents as a zero-filled hex string of `contents_capacity` bytes
  // (2*capacity hex digits), records their positions in Output::signature, and keeps /Contents
  // the last key so the gap is simple. Only one signature per update. `sigdict` must not contain
  // /ByteRange or /Contents (Error(kInvalidArgument)).
  void set_signature(Ref ref, Dict sigdict, std::size_t contents_capacity);

  // Produces base bytes + update. Throws Error(kInvalidArgument) if nothing was set.
  [[nodiscard]] Output write() const;

 private:
  const Document& base_;
  std::uint32_t next_;
  std::vector<std::pair<Ref, Object>> objects_;
  std::optional<Ref> sig_ref_;
  std::size_t sig_capacity_ = 0;
};

// Byte ranges [0, a) and [b, b + c) of a signature: everything except the /Contents hex string.
struct ByteRange {
  std::size_t a = 0;  // = slot.contents_pos
  std::size_t b = 0;  // = slot.contents_end
  std::size_t c = 0;  // = pdf.size() - b
};

// Writes "/ByteRange [0 a b c]" values into the fixed-width placeholder of `slot` (padding with
// spaces inside the brackets) and returns the ranges. Must be called after write() and before
// fill_contents(), on the final pdf (nothing appended after). Throws Error(kInternal) if the
// placeholder is not where `slot` says.
ByteRange fill_byte_range(std::string& pdf, const SignatureSlot& slot);

// Writes `der` as upper-case hex into the /Contents placeholder (the rest stays '0', which a DER
// parser ignores as trailing padding, §12.8.3.1 note). Throws Error(kLimitExceeded) if `der` is
// larger than slot.capacity().
void fill_contents(std::string& pdf, const SignatureSlot& slot, std::string_view der);

}  // namespace libcert::pdf
