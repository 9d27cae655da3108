// libcert/template.h — licence templates (data, not code): the manifest, the one Tibetan glossary,
// the issuing departments, and validation of holder data against a template's field schema.
//
//   libcert::TemplateSet set = libcert::TemplateSet::load("templates");  // Error(kTemplate)
//   auto tmpl = set.get("business-licence-enterprise");          // shared, immutable
//   libcert::SystemClock clock;
//   libcert::LicenceData data = tmpl->validate(json, clock);   // throws Error(kValidation,
//   problems) data.value("uscc");                                          // normalised
//   ("91542523MA6T1D4L25")
//
// A directory of templates holds `departments.json`, `glossary.json` (every Tibetan string of every
// template, keyed) and one `<id>/manifest.json` per template. The manifest format is documented in
// docs/template-manifest.md. Loading checks every manifest completely and reports *all* problems at
// once, each naming the file and the JSON pointer (RFC 6901) of the offending value, e.g.
// "business-licence-enterprise/manifest.json#/layout/items/3/box".
//
// Thread-safety: a loaded TemplateSet and its Templates are immutable; any number of threads may
// use them concurrently. TemplateSet::cached() is itself thread-safe. Copying a TemplateSet is
// cheap (templates are shared).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/error.h"
#include "libcert/seal_image.h"

namespace libcert {

class Clock;

// A string in both languages. Tibetan first on every face (TAR bilingual practice).
struct Bilingual {
  std::string bo;
  std::string zh;
};

struct GlossaryEntry {
  std::string bo;      // Tibetan (Uchen, NFC)
  std::string zh;      // the Chinese it translates
  std::string level;   // evidence level: H, M or L (see glossary.json _notice)
  std::string source;  // evidence ids and a note
};

struct Department {
  std::string id;         // e.g. "samr"
  std::string name_key;   // glossary key of the Tibetan name (dept.<id>)
  Bilingual name;         // resolved from departments.json and the glossary
  std::string uscc;       // 18-char USCC (invented but valid in the example set)
  std::string area_code;  // 6-digit administrative area code (管辖属地编码)
  SealSpec seal;          // name_zh/name_bo/function_zh/diameter filled from departments.json
  std::string seal_function_key;  // glossary key of the seal function text
};

enum class FieldType { kText, kMultiline, kDate, kUscc, kIdNumber, kEnum, kNumber, kPattern };

struct EnumValue {
  std::string zh;      // canonical value (what data holds after validation)
  std::string code;    // optional alternative accepted on input (e.g. "M"); may be empty
  std::string bo_key;  // optional glossary key, needed only if the value is shown as {f:bo}
  std::string bo;      // resolved Tibetan (empty if no bo_key)
};

struct FieldDef {
  std::string name;       // [a-z][a-z0-9_]*
  std::string label_key;  // glossary key
  Bilingual label;
  FieldType type = FieldType::kText;
  bool required = false;
  std::size_t max_length = 0;       // in Unicode code points after NFC; 0 = type default
  std::string pattern;              // ICU regex, whole value must match (type pattern/text)
  std::string pattern_description;  // human description used in the error message
  std::vector<EnumValue> values;    // type enum
  bool check_warn = false;          // uscc: "check": "warn" accepts a failing check digit
  std::optional<double> min, max;   // type number
  int decimals = 0;                 // type number: digits allowed after the point
  bool not_future = false;          // type date: must not be after today
  std::string not_before;           // type date: must not be before this other date field
};

// A rectangle on the page in millimetres, origin top-left (like a paper form).
struct BoxMm {
  double x = 0, y = 0, w = 0, h = 0;
};

enum class Fit { kNone, kWrap, kShrink, kWrapShrink };
enum class Align { kLeft, kCenter, kRight };
enum class VAlign { kTop, kMiddle, kBottom };

// One line (paragraph) of a text block. `text` is an expression (see Template::expand).
struct TextLine {
  std::string text;
  std::string font = "value";  // font role: a key of Layout::fonts
  double size_pt = 11;
  double min_size_pt = 11;
  double letter_spacing_pt = 0;
  unsigned rgb = 0x000000;
};

// A box of text: lines stacked top to bottom, fitted into `box` (wrap and/or shrink down to each
// line's min size). Never clipped: a block that cannot fit is a render error naming `what`.
struct TextBlock {
  std::string what;   // field name or "text:<json pointer>" for messages
  std::string field;  // field whose value this block shows ("" for labels and constant text)
  BoxMm box;
  std::vector<TextLine> lines;
  Align align = Align::kLeft;
  VAlign valign = VAlign::kTop;
  Fit fit = Fit::kWrapShrink;
  bool under_seal = false;  // the seal may overlap this block (issuer and issue date)
};

// The printed border: an outer rule whose centre line is `inset_mm` from each page edge, and an
// inner rule `gap_mm` further in (measured from the outer rule's inner edge to the inner rule's
// centre line, as render.cpp strokes them).
struct Frame {
  double inset_mm = 0;  // 0 = no frame
  double outer_mm = 1.0, inner_mm = 0.3, gap_mm = 1.2;
  unsigned rgb = 0x8B1A1A;

  // Distance from each page edge to the inside edge of the innermost rule, in mm: the edge of the
  // area that may hold the face's elements. 0 without a frame.
  [[nodiscard]] double inner_edge_mm() const {
    if (inset_mm <= 0) return 0;
    if (inner_mm <= 0) return inset_mm + outer_mm / 2;
    return inset_mm + outer_mm / 2 + gap_mm + inner_mm / 2;
  }
};

// Geometry rule "outside-frame" (issue 21): every element of a framed face — each text box, the
// QR square with its quiet zone, the seal's disc — lies inside the inner rule with at least this
// clearance, so no element covers or crosses the printed border (a QR's white quiet zone over the
// rule breaks the frame; a rule through the quiet zone disturbs scanning, ISO/IEC 18004 §9.1).
inline constexpr double kFrameClearanceMm = 2.0;

struct Layout {
  std::map<std::string, std::vector<std::string>> fonts;  // role -> fontconfig families, in order
  Frame frame;
  std::vector<TextBlock> blocks;  // labels, values and constant texts, in drawing order
};

struct PageSpec {
  double width_mm = 210, height_mm = 297;  // after orientation
};

struct SealPlacement {
  double cx_mm = 0, cy_mm = 0;  // centre, mm from the top-left corner
};

struct QrPlacement {
  double x_mm = 0, y_mm = 0, size_mm = 25;  // square incl. quiet zone; ≥ 10 mm from every edge
  char ecc = 'M';                           // L, M, Q, H
};

// Holder data after validation: every value trimmed, NFC, dates ISO (YYYY-MM-DD), ID numbers with
// upper-case X, enum values in their canonical Chinese form. Absent optional fields are absent.
struct LicenceData {
  std::string template_id;
  std::map<std::string, std::string> values;
  std::vector<Problem> warnings;  // accepted but noteworthy (a USCC field with "check": "warn")

  // The value, or "" if the field is absent.
  [[nodiscard]] const std::string& value(std::string_view field) const;
};

// What the issuer knows at issue time, for expressions ({@identifier}, {@issue_date}) and metadata.
struct IssueContext {
  std::string identifier;  // GB/T 36904 licence identifier
  std::string issue_date;  // ISO YYYY-MM-DD
  int version = 1;         // 证照版本号
};

class Template {
 public:
  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] const std::string& type_code() const { return type_code_; }
  [[nodiscard]] const Bilingual& title() const { return title_; }
  [[nodiscard]] const Department& department() const { return department_; }
  // Departments that may add an approval seal after the issuer's certification seal (manifest
  // "co_issuers"; trust.md): every other department's seal on this licence is refused.
  [[nodiscard]] const std::vector<Department>& co_issuers() const { return co_issuers_; }
  [[nodiscard]] const PageSpec& page() const { return page_; }
  [[nodiscard]] const std::vector<FieldDef>& fields() const { return fields_; }
  [[nodiscard]] const FieldDef* field(std::string_view name) const;  // nullptr if unknown
  [[nodiscard]] const Layout& layout() const { return layout_; }
  [[nodiscard]] const SealPlacement& seal() const { return seal_; }
  [[nodiscard]] const QrPlacement& qr() const { return qr_; }
  [[nodiscard]] const std::string& holder_field() const { return holder_; }
  [[nodiscard]] const std::string& holder_code_field() const { return holder_code_; }
  [[nodiscard]] const std::string& number_field() const { return number_; }
  // Glossary keys this manifest refers to (title, labels, enum values, #key expressions).
  [[nodiscard]] const std::vector<std::string>& glossary_keys() const { return glossary_keys_; }

  // Validates holder data (a JSON object: field name -> string, or number for number fields).
  // Success: the normalised LicenceData. Failure: throws Error(kValidation) whose problems() lists
  // EVERY problem (field, rule, message). Rules: "type", "unknown-field", "required", "encoding",
  // "control-character", "legacy-tibetan-pua", "max-length", "uscc-check", "id-number-check",
  // "date-format", "date-invalid", "date-future", "date-order", "enum", "number-format",
  // "number-range", "number-precision", "pattern". `clock` gives "today" (China time, UTC+8)
  // for ID-number birth dates and not_future dates.
  [[nodiscard]] LicenceData validate(const nlohmann::json& data, const Clock& clock) const;

  // Expands an expression: literal text with {…} references. `{name}` is a field's value (dates
  // as `default_date_format`), `{name:iso|zh|bo|bo-until}` picks a date format, `{name:bo}` the
  // Tibetan of an enum value, `{name|text}` gives a default for an empty value; `{@title}`,
  // `{@title:bo}`, `{@department}`, `{@department:bo}`, `{@department_uscc}`, `{@identifier}`,
  // `{@issue_date[:fmt]}`, `{@number}`; `{#glossary.key}` (Tibetan) and `{#glossary.key:zh}`.
  // `{{` and `}}` are literal braces. Expressions are checked when the manifest loads, so this
  // only throws Error(kInternal) on a bug.
  [[nodiscard]] std::string expand(std::string_view expr, const LicenceData& data,
                                   const IssueContext& ctx,
                                   std::string_view default_date_format = "zh") const;

  // True when `expr` expands to the same text for every licence of this template: only literals,
  // glossary entries and the template's own title and department (not holder data, the
  // identifier, the issue date or the number). The renderer reuses the layout of such text.
  [[nodiscard]] bool is_constant(std::string_view expr) const;

  // The GB/T 36903 metadata (formats.md §3) of a licence of this template, as a JSON object with
  // stable keys: title, identifier, type_name, type_code, number, issuer, issuer_code, issue_date,
  // holder, holder_code, holder_code_type, valid_from, valid_until, area_code, related_item,
  // version, template, extension (every face field: name -> normalised value).
  [[nodiscard]] nlohmann::json metadata(const LicenceData& data, const IssueContext& ctx) const;

 private:
  friend class TemplateLoader;
  std::string id_;
  int version_ = 1;
  std::string type_code_;
  std::string title_key_;
  Bilingual title_;
  Department department_;
  std::vector<Department> co_issuers_;
  PageSpec page_;
  std::vector<FieldDef> fields_;
  Layout layout_;
  SealPlacement seal_;
  QrPlacement qr_;
  std::string holder_, holder_code_, number_;
  std::map<std::string, std::string> metadata_map_;  // GB/T 36903 item -> expression
  std::vector<std::string> glossary_keys_;
  std::map<std::string, GlossaryEntry, std::less<>> glossary_;  // the entries it refers to
};

class TemplateSet {
 public:
  // Loads dir/departments.json, dir/glossary.json and every dir/<id>/manifest.json. Success: an
  // immutable set. Failure: throws Error(kTemplate) whose problems() list every problem of every
  // file ("<file>#<json pointer>", rule, message), or Error(kIo) if the directory is unreadable.
  static TemplateSet load(const std::filesystem::path& dir);
  // The same from memory: `files` maps "glossary.json", "departments.json" and
  // "<id>/manifest.json" to their contents (no file system access: for tools and fuzzers).
  // `label` names the set in the error message. Failure: Error(kTemplate) as for load().
  using Files = std::map<std::string, std::string, std::less<>>;
  static TemplateSet parse(const Files& files, std::string_view label);
  // Like load(), but parses each directory only once per process (keyed by canonical path);
  // later calls share the same immutable set. Thread-safe.
  static std::shared_ptr<const TemplateSet> cached(const std::filesystem::path& dir);

  // Throws Error(kNotFound) naming the id.
  [[nodiscard]] std::shared_ptr<const Template> get(std::string_view id) const;
  [[nodiscard]] std::vector<std::string> ids() const;                     // sorted
  [[nodiscard]] const Department& department(std::string_view id) const;  // kNotFound
  [[nodiscard]] const std::vector<Department>& departments() const { return departments_; }
  [[nodiscard]] const std::map<std::string, GlossaryEntry, std::less<>>& glossary() const {
    return glossary_;
  }
  // Glossary keys that neither departments.json nor any manifest refers to (should be empty).
  [[nodiscard]] std::vector<std::string> unused_glossary_keys() const;

 private:
  friend class TemplateLoader;
  std::vector<Department> departments_;
  std::map<std::string, GlossaryEntry, std::less<>> glossary_;
  std::map<std::string, std::shared_ptr<const Template>, std::less<>> templates_;
};

// Today's date in China (UTC+8, the one time zone used for licence dates) as YYYYMMDD.
std::int32_t china_date(std::int64_t unix_seconds);
// Formats an ISO date: "zh" 2025年03月15日, "bo" 2025ལོའི་ཟླ་3ཚེས་15ཉིན། (TAR style, Arabic digits),
// "bo-until" 2025ལོའི་ཟླ་3ཚེས་15ཉིན་བར། ("valid until"), "iso" unchanged.
std::string format_date(std::string_view iso, std::string_view format);

}  // namespace libcert
