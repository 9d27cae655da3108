// Template manifests, glossary, departments, holder-data validation. Format: docs/templates.md.
#include "libcert/template.h"

#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "libcert/clock.h"
#include "libcert/ids.h"
#include "libcert/qr_payload.h"
#include "text.h"

namespace libcert {

using nlohmann::json;

namespace {

constexpr double kMinQrEdgeMm = 10.0;  // quiet area to the page edge (scanning in the field)
constexpr double kEps = 0.01;          // mm: boxes may touch, not overlap

// qr.md: modules of at least 0.5 mm, so an inspector's phone reads the code at arm's length in poor
// light. The QR square (`qr.size_mm`) includes the quiet zone of 4 modules on each side (ISO/IEC
// 18004 §9.1) and a symbol of version V has 17 + 4·V modules a side; the payload may need any
// version up to kQrMaxVersion, so the square must hold (17 + 4·16 + 2·4) = 89 modules of 0.5 mm.
constexpr double kMinQrModuleMm = 0.5;
constexpr int kQrQuietZoneModules = 4;
constexpr int kQrMaxModulesWithQuietZone = 17 + 4 * kQrMaxVersion + 2 * kQrQuietZoneModules;
constexpr double kMinQrSizeMm = kQrMaxModulesWithQuietZone * kMinQrModuleMm;  // 44.5 mm

std::string ptr_escape(std::string_view key) {
  std::string o;
  for (char c : key) {
    if (c == '~') {
      o += "~0";
    } else if (c == '/') {
      o += "~1";
    } else {
      o += c;
    }
  }
  return o;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string o;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) o += sep;
    o += v[i];
  }
  return o;
}

// Collects manifest problems as "<file>#<json pointer>".
class Checker {
 public:
  Checker(std::string file, std::vector<Problem>& out) : file_(std::move(file)), out_(out) {}

  void fail(const std::string& ptr, std::string rule, std::string msg) {
    out_.push_back({file_ + "#" + ptr, std::move(rule), std::move(msg)});
  }
  [[nodiscard]] std::size_t count() const { return out_.size(); }

  // True if `j` is an object; reports every key not in `allowed` (keys starting with '_' are
  // comments and always allowed).
  bool object(const json& j, const std::string& ptr,
              std::initializer_list<std::string_view> allowed) {
    if (!j.is_object()) {
      fail(ptr, "type", "must be an object");
      return false;
    }
    for (const auto& [k, v] : j.items()) {
      if (!k.empty() && k[0] == '_') continue;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        fail(ptr + "/" + ptr_escape(k), "unknown-key", "unknown key '" + k + "'");
      }
    }
    return true;
  }

  std::optional<std::string> str(const json& o, const std::string& ptr, const char* key, bool req) {
    auto it = o.find(key);
    const std::string p = ptr + "/" + key;
    if (it == o.end()) {
      if (req) fail(p, "required", std::string("missing required key '") + key + "'");
      return std::nullopt;
    }
    if (!it->is_string()) {
      fail(p, "type", "must be a string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  std::optional<double> num(const json& o, const std::string& ptr, const char* key, bool req,
                            double lo, double hi) {
    auto it = o.find(key);
    const std::string p = ptr + "/" + key;
    if (it == o.end()) {
      if (req) fail(p, "required", std::string("missing required key '") + key + "'");
      return std::nullopt;
    }
    if (!it->is_number()) {
      fail(p, "type", "must be a number");
      return std::nullopt;
    }
    const double d = it->get<double>();
    if (!(d >= lo && d <= hi)) {
      fail(p, "range", "must be between " + fmt(lo) + " and " + fmt(hi));
      return std::nullopt;
    }
    return d;
  }

  std::optional<bool> boolean(const json& o, const std::string& ptr, const char* key) {
    auto it = o.find(key);
    if (it == o.end()) return std::nullopt;
    if (!it->is_boolean()) {
      fail(ptr + "/" + key, "type", "must be true or false");
      return std::nullopt;
    }
    return it->get<bool>();
  }

  std::optional<BoxMm> box(const json& o, const std::string& ptr, const char* key, bool req) {
    auto it = o.find(key);
    const std::string p = ptr + "/" + key;
    if (it == o.end()) {
      if (req) fail(p, "required", std::string("missing required key '") + key + "'");
      return std::nullopt;
    }
    if (!it->is_array() || it->size() != 4 ||
        !std::all_of(it->begin(), it->end(), [](const json& x) { return x.is_number(); })) {
      fail(p, "type", "must be [x, y, width, height] in mm");
      return std::nullopt;
    }
    BoxMm b{(*it)[0].get<double>(), (*it)[1].get<double>(), (*it)[2].get<double>(),
            (*it)[3].get<double>()};
    if (!(b.w > 0 && b.h > 0)) {
      fail(p, "range", "width and height must be positive");
      return std::nullopt;
    }
    return b;
  }

  static std::string fmt(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
  }

 private:
  std::string file_;
  std::vector<Problem>& out_;
};

std::optional<unsigned> parse_rgb(const std::string& s) {
  if (s.size() != 7 || s[0] != '#') return std::nullopt;
  unsigned v = 0;
  auto r = std::from_chars(s.data() + 1, s.data() + 7, v, 16);
  if (r.ec != std::errc() || r.ptr != s.data() + 7) return std::nullopt;
  return v;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

// Parses files[name]; a missing file or a syntax error becomes a problem naming the file.
std::optional<json> parse_json(const TemplateSet::Files& files, const std::string& name,
                               std::vector<Problem>& problems) {
  auto it = files.find(name);
  if (it == files.end()) {
    problems.push_back({name, "missing-file", "cannot read " + name});
    return std::nullopt;
  }
  try {
    return json::parse(it->second);
  } catch (const json::parse_error& e) {
    problems.push_back({name, "json-syntax", e.what()});
    return std::nullopt;
  }
}

// ---- Expressions -------------------------------------------------------------------------------

struct Ref {
  char sigil = 0;  // 0 field, '@' builtin, '#' glossary
  std::string name, fmt, dflt;
  bool has_default = false;
};
struct Seg {
  bool literal = true;
  std::string text;
  Ref ref;
};

// Parses "literal {ref[:fmt][|default]} literal"; nullopt with *err on a syntax error.
std::optional<std::vector<Seg>> parse_expr(std::string_view e, std::string* err) {
  std::vector<Seg> out;
  std::string lit;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const char c = e[i];
    if (c == '{' && i + 1 < e.size() && e[i + 1] == '{') {
      lit += '{', ++i;
    } else if (c == '}' && i + 1 < e.size() && e[i + 1] == '}') {
      lit += '}', ++i;
    } else if (c == '}') {
      *err = "unbalanced '}' (write '}}' for a literal brace)";
      return std::nullopt;
    } else if (c == '{') {
      const std::size_t close = e.find('}', i);
      if (close == std::string_view::npos) {
        *err = "unclosed '{'";
        return std::nullopt;
      }
      std::string_view body = e.substr(i + 1, close - i - 1);
      Ref r;
      if (auto bar = body.find('|'); bar != std::string_view::npos) {
        r.dflt = std::string(body.substr(bar + 1));
        r.has_default = true;
        body = body.substr(0, bar);
      }
      if (auto colon = body.find(':'); colon != std::string_view::npos) {
        r.fmt = std::string(body.substr(colon + 1));
        body = body.substr(0, colon);
      }
      if (!body.empty() && (body[0] == '@' || body[0] == '#')) {
        r.sigil = body[0];
        body.remove_prefix(1);
      }
      if (body.empty()) {
        *err = "empty reference '{}'";
        return std::nullopt;
      }
      r.name = std::string(body);
      if (!lit.empty()) out.push_back({true, std::move(lit), {}}), lit.clear();
      out.push_back({false, {}, std::move(r)});
      i = close;
    } else {
      lit += c;
    }
  }
  if (!lit.empty()) out.push_back({true, std::move(lit), {}});
  return out;
}

bool is_date_format(std::string_view f) {
  return f == "iso" || f == "zh" || f == "bo" || f == "bo-until";
}

const std::set<std::string, std::less<>> kBuiltins = {"title",      "department", "department_uscc",
                                                      "identifier", "issue_date", "number"};

const std::set<std::string, std::less<>> kMetadataKeys = {
    "holder",      "holder_code", "holder_code_type", "valid_from",
    "valid_until", "area_code",   "related_item"};

std::string field_type_name(FieldType t) {
  switch (t) {
    case FieldType::kText:
      return "text";
    case FieldType::kMultiline:
      return "multiline";
    case FieldType::kDate:
      return "date";
    case FieldType::kUscc:
      return "uscc";
    case FieldType::kIdNumber:
      return "id-number";
    case FieldType::kEnum:
      return "enum";
    case FieldType::kNumber:
      return "number";
    case FieldType::kPattern:
      return "pattern";
  }
  return "text";
}

std::optional<FieldType> field_type_from(std::string_view s) {
  for (FieldType t :
       {FieldType::kText, FieldType::kMultiline, FieldType::kDate, FieldType::kUscc,
        FieldType::kIdNumber, FieldType::kEnum, FieldType::kNumber, FieldType::kPattern}) {
    if (field_type_name(t) == s) return t;
  }
  return std::nullopt;
}

std::size_t default_max_length(FieldType t) {
  switch (t) {
    case FieldType::kText:
      return 100;
    case FieldType::kMultiline:
      return 1000;
    case FieldType::kDate:
      return 20;
    case FieldType::kUscc:
      return 18;
    case FieldType::kIdNumber:
      return 18;
    case FieldType::kEnum:
      return 100;
    case FieldType::kNumber:
      return 24;
    case FieldType::kPattern:
      return 64;
  }
  return 100;
}

bool rects_overlap(const BoxMm& a, const BoxMm& b) {
  return a.x < b.x + b.w - kEps && b.x < a.x + a.w - kEps && a.y < b.y + b.h - kEps &&
         b.y < a.y + a.h - kEps;
}

bool circle_overlaps(double cx, double cy, double r, const BoxMm& b) {
  const double nx = std::clamp(cx, b.x, b.x + b.w);
  const double ny = std::clamp(cy, b.y, b.y + b.h);
  const double dx = cx - nx, dy = cy - ny;
  return dx * dx + dy * dy < (r - kEps) * (r - kEps);
}

std::string box_str(const BoxMm& b) {
  return "[" + Checker::fmt(b.x) + ", " + Checker::fmt(b.y) + ", " + Checker::fmt(b.w) + ", " +
         Checker::fmt(b.h) + "]";
}

// ICU regex compile check; returns an error sentence or "".
std::string regex_error(const std::string& pattern) {
  UErrorCode st = U_ZERO_ERROR;
  UParseError pe{};
  std::unique_ptr<icu::RegexPattern> p(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern), 0, pe, st));
  if (U_FAILURE(st)) {
    return std::string("invalid regular expression (") + u_errorName(st) + " at offset " +
           std::to_string(pe.offset) + ")";
  }
  return {};
}

bool regex_matches(const std::string& pattern, const std::string& value) {
  UErrorCode st = U_ZERO_ERROR;
  // Compiled once per pattern and thread (compiling was most of a validation's cost, issue 21):
  // a RegexPattern is immutable once compiled; each call makes its own matcher. Bounded: a
  // process that loads many template sets must not grow without limit.
  thread_local std::unordered_map<std::string, std::unique_ptr<icu::RegexPattern>> compiled;
  auto it = compiled.find(pattern);
  if (it == compiled.end()) {
    UParseError pe{};
    std::unique_ptr<icu::RegexPattern> c(
        icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern), 0, pe, st));
    if (U_FAILURE(st) || !c)
      throw Error(ErrorCode::kInternal, "pattern compiled at load no longer compiles");
    if (compiled.size() >= 1024) compiled.clear();
    it = compiled.emplace(pattern, std::move(c)).first;
  }
  const icu::RegexPattern* p = it->second.get();
  // RegexMatcher keeps a reference to its input: the string must outlive the matcher (a
  // temporary here left values longer than UnicodeString's inline buffer dangling).
  const icu::UnicodeString input = icu::UnicodeString::fromUTF8(value);
  std::unique_ptr<icu::RegexMatcher> m(p->matcher(input, st));
  if (U_FAILURE(st)) throw Error(ErrorCode::kInternal, "ICU matcher failed");
  const bool ok = m->matches(st) != 0;
  if (U_FAILURE(st)) throw Error(ErrorCode::kInternal, "ICU match failed");
  return ok;
}

// ---- Dates -------------------------------------------------------------------------------------

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

// "YYYY-MM-DD", "YYYY/M/D", "YYYY.M.D" or "YYYY年M月D日" → y, m, d (not range-checked).
bool parse_date_parts(const std::string& s, int& y, int& m, int& d) {
  static const std::regex re(
      "^([0-9]{4})(?:-|/|\\.|\xE5\xB9\xB4)([0-9]{1,2})(?:-|/|\\.|\xE6\x9C\x88)([0-9]{1,2})"
      "(?:\xE6\x97\xA5)?$");
  std::smatch mm;
  if (!std::regex_match(s, mm, re)) return false;
  y = std::stoi(mm[1]);
  m = std::stoi(mm[2]);
  d = std::stoi(mm[3]);
  return true;
}

std::string iso(int y, int m, int d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

std::string quote(const std::string& v) {
  // Quote a value in a message only when it is short and printable (never echo control
  // characters or a whole business scope back).
  auto cps = text::decode(v);
  if (!cps || cps->size() > 40) return "value";
  for (char32_t c : *cps) {
    if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return "value";
  }
  return "'" + v + "'";
}

}  // namespace

// ---- Public helpers ----------------------------------------------------------------------------

std::int32_t china_date(std::int64_t t) {
  // Days since the epoch in UTC+8 → civil date (H. Hinnant's algorithm).
  std::int64_t z = (t + 8 * 3600) / 86400;
  if ((t + 8 * 3600) % 86400 < 0) --z;
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return static_cast<std::int32_t>(y * 10000 + m * 100 + d);
}

std::string format_date(std::string_view iso_date, std::string_view f) {
  int y = 0, m = 0, d = 0;
  if (!parse_date_parts(std::string(iso_date), y, m, d)) {
    throw Error(ErrorCode::kInvalidArgument, "not an ISO date: " + std::string(iso_date));
  }
  if (f == "iso") return iso(y, m, d);
  if (f == "zh") {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d\xE5\xB9\xB4%02d\xE6\x9C\x88%02d\xE6\x97\xA5", y, m, d);
    return buf;
  }
  if (f == "bo" || f == "bo-until") {
    // TAR style (glossary-bo.md §2, S15): Arabic digits, no tsheg after the digits:
    // {Y}ལོའི་ཟླ་{M}ཚེས་{D}ཉིན། ; "until" puts བར after the date: …ཉིན་བར།
    std::string s = std::to_string(y) + "ལོའི་ཟླ་" + std::to_string(m) + "ཚེས་" + std::to_string(d) +
                    (f == "bo" ? "ཉིན།" : "ཉིན་བར།");
    return s;
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown date format " + std::string(f));
}

const std::string& LicenceData::value(std::string_view f) const {
  static const std::string kEmpty;
  auto it = values.find(std::string(f));
  return it == values.end() ? kEmpty : it->second;
}

const FieldDef* Template::field(std::string_view name) const {
  for (const auto& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

// ---- Loading -----------------------------------------------------------------------------------

class TemplateLoader {
 public:
  TemplateLoader(const TemplateSet::Files& files, std::string label)
      : files_(files), label_(std::move(label)) {}

  TemplateSet load() {
    TemplateSet set;
    load_glossary(set);
    load_departments(set);
    // Manifests are "<id>/manifest.json"; the map is sorted, so templates load in id order.
    static constexpr std::string_view kManifest = "/manifest.json";
    for (const auto& [name, text] : files_) {
      if (name.size() <= kManifest.size() || !name.ends_with(kManifest)) continue;
      const std::string dir = name.substr(0, name.size() - kManifest.size());
      if (dir.find('/') != std::string::npos) continue;
      auto j = parse_json(files_, name, problems_);
      if (!j) continue;
      const std::size_t before = problems_.size();
      auto t = load_manifest(set, *j, dir, name);
      if (problems_.size() == before) set.templates_[t->id_] = std::move(t);
    }
    if (!problems_.empty()) {
      throw Error(ErrorCode::kTemplate,
                  std::to_string(problems_.size()) + " problem(s) in templates under " + label_,
                  problems_);
    }
    return set;
  }

 private:
  void load_glossary(TemplateSet& set) {
    const std::string name = "glossary.json";
    auto j = parse_json(files_, name, problems_);
    if (!j) return;
    Checker c(name, problems_);
    if (!c.object(*j, "", {"entries"})) return;
    auto it = j->find("entries");
    if (it == j->end() || !it->is_object()) {
      c.fail("/entries", "required", "must be an object of glossary entries");
      return;
    }
    static const std::regex key_re("^[a-z0-9]+(\\.[a-z0-9-]+)+$");
    for (const auto& [k, v] : it->items()) {
      const std::string p = "/entries/" + ptr_escape(k);
      if (!std::regex_match(k, key_re)) c.fail(p, "key", "glossary key must look like kind.name");
      if (!c.object(v, p, {"bo", "zh", "level", "source"})) continue;
      GlossaryEntry e;
      auto bo = c.str(v, p, "bo", true);
      auto zh = c.str(v, p, "zh", true);
      auto level = c.str(v, p, "level", true);
      auto src = c.str(v, p, "source", true);
      if (bo) {
        auto cps = text::decode(*bo);
        if (!cps) {
          c.fail(p + "/bo", "encoding", "is not valid UTF-8");
        } else {
          if (text::nfc(*cps) != *cps) c.fail(p + "/bo", "nfc", "must be NFC-normalised");
          for (char32_t cp : *cps) {
            // Precomposed vowels deprecated by Unicode (U+0F73, 0F75, 0F81) and the legacy
            // GB/T 20524 private-use range must not appear in reviewed text.
            if (cp == 0x0F73 || cp == 0x0F75 || cp == 0x0F77 || cp == 0x0F79 || cp == 0x0F81 ||
                (cp >= 0xF300 && cp <= 0xF8FF)) {
              c.fail(p + "/bo", "tibetan-code-point",
                     "uses deprecated or private-use code point " + text::code_point_name(cp));
              break;
            }
          }
        }
      }
      if (level && *level != "H" && *level != "M" && *level != "L") {
        c.fail(p + "/level", "enum", "must be H, M or L");
      }
      if (bo && zh && level && src) set.glossary_[k] = {*bo, *zh, *level, *src};
    }
  }

  void load_departments(TemplateSet& set) {
    const std::string name = "departments.json";
    auto j = parse_json(files_, name, problems_);
    if (!j) return;
    Checker c(name, problems_);
    if (!c.object(*j, "", {"departments"})) return;
    auto it = j->find("departments");
    if (it == j->end() || !it->is_array()) {
      c.fail("/departments", "required", "must be an array");
      return;
    }
    std::set<std::string> ids;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& d = (*it)[i];
      const std::string p = "/departments/" + std::to_string(i);
      if (!c.object(d, p, {"id", "name_zh", "name_bo", "uscc", "area_code", "seal"})) continue;
      Department dep;
      auto id = c.str(d, p, "id", true);
      auto zh = c.str(d, p, "name_zh", true);
      auto bo = c.str(d, p, "name_bo", true);
      auto uscc = c.str(d, p, "uscc", true);
      auto area = c.str(d, p, "area_code", true);
      if (id && !ids.insert(*id).second) c.fail(p + "/id", "duplicate", "duplicate id " + *id);
      if (bo) resolve(c, p + "/name_bo", *bo, set.glossary_);
      if (uscc) {
        if (auto why = check_uscc(*uscc)) c.fail(p + "/uscc", "uscc-check", *why);
      }
      static const std::regex area_re("^[0-9]{6}$");
      if (area && !std::regex_match(*area, area_re)) {
        c.fail(p + "/area_code", "pattern", "must be 6 digits");
      }
      auto sealit = d.find("seal");
      const std::string sp = p + "/seal";
      if (sealit == d.end()) {
        c.fail(sp, "required", "missing required key 'seal'");
      } else if (c.object(*sealit, sp, {"diameter_mm", "function_zh", "function_bo"})) {
        if (auto dia = c.num(*sealit, sp, "diameter_mm", true, 38, 45)) dep.seal.diameter_mm = *dia;
        if (auto f = c.str(*sealit, sp, "function_zh", true)) dep.seal.function_zh = *f;
        if (auto f = c.str(*sealit, sp, "function_bo", true)) {
          dep.seal_function_key = *f;
          if (const GlossaryEntry* e = resolve(c, sp + "/function_bo", *f, set.glossary_)) {
            dep.seal.function_bo = e->bo;
          }
        }
      }
      if (id && zh && bo && uscc && area) {
        dep.id = *id;
        dep.name_key = *bo;
        dep.name.zh = *zh;
        auto g = set.glossary_.find(*bo);
        dep.name.bo = g == set.glossary_.end() ? std::string() : g->second.bo;
        dep.uscc = *uscc;
        dep.area_code = *area;
        dep.seal.name_zh = *zh;
        dep.seal.name_bo = dep.name.bo;
        set.departments_.push_back(std::move(dep));
      }
    }
  }

  // Reports an unknown glossary key; returns the entry or nullptr.
  static const GlossaryEntry* resolve(Checker& c, const std::string& ptr, const std::string& key,
                                      const std::map<std::string, GlossaryEntry, std::less<>>& g) {
    auto it = g.find(key);
    if (it == g.end()) {
      c.fail(ptr, "glossary-key", "unknown glossary key '" + key + "'");
      return nullptr;
    }
    return &it->second;
  }

  const GlossaryEntry* use_key(Checker& c, const std::string& ptr, const std::string& key,
                               const TemplateSet& set, Template& t) {
    const GlossaryEntry* e = resolve(c, ptr, key, set.glossary_);
    if (e) {
      if (std::find(t.glossary_keys_.begin(), t.glossary_keys_.end(), key) ==
          t.glossary_keys_.end()) {
        t.glossary_keys_.push_back(key);
      }
      t.glossary_[key] = *e;
    }
    return e;
  }

  // Checks an expression's syntax and references; records glossary keys it uses.
  void check_expr(Checker& c, const std::string& ptr, const std::string& expr,
                  const TemplateSet& set, Template& t) {
    std::string err;
    auto segs = parse_expr(expr, &err);
    if (!segs) {
      c.fail(ptr, "expression", err);
      return;
    }
    for (const auto& s : *segs) {
      if (s.literal) continue;
      const Ref& r = s.ref;
      if (r.sigil == '#') {
        use_key(c, ptr, r.name, set, t);
        if (!r.fmt.empty() && r.fmt != "bo" && r.fmt != "zh") {
          c.fail(ptr, "expression", "{#" + r.name + "}: format must be bo or zh");
        }
      } else if (r.sigil == '@') {
        if (!kBuiltins.count(r.name)) {
          c.fail(ptr, "expression",
                 "unknown built-in '@" + r.name + "' (known: @" +
                     join({kBuiltins.begin(), kBuiltins.end()}, ", @") + ")");
        } else if (r.name == "issue_date") {
          if (!r.fmt.empty() && !is_date_format(r.fmt))
            c.fail(ptr, "expression", "{@issue_date}: format must be iso, zh, bo or bo-until");
        } else if (!r.fmt.empty() && !((r.name == "title" || r.name == "department") &&
                                       (r.fmt == "bo" || r.fmt == "zh"))) {
          c.fail(ptr, "expression", "{@" + r.name + "}: format '" + r.fmt + "' not allowed");
        }
      } else {
        const FieldDef* f = t.field(r.name);
        if (!f) {
          c.fail(ptr, "expression", "unknown field '" + r.name + "'");
          continue;
        }
        if (r.fmt.empty()) continue;
        if (f->type == FieldType::kDate) {
          if (!is_date_format(r.fmt))
            c.fail(ptr, "expression",
                   "{" + r.name + "}: date format must be iso, zh, bo or bo-until");
        } else if (f->type == FieldType::kEnum && (r.fmt == "bo" || r.fmt == "zh")) {
          if (r.fmt == "bo" && std::any_of(f->values.begin(), f->values.end(),
                                           [](const EnumValue& v) { return v.bo_key.empty(); })) {
            c.fail(ptr, "expression",
                   "{" + r.name + ":bo}: every value of the enum needs a 'bo' glossary key");
          }
        } else {
          c.fail(ptr, "expression",
                 "{" + r.name + "}: format '" + r.fmt + "' not allowed for type " +
                     field_type_name(f->type));
        }
      }
    }
  }

  void load_field(Checker& c, const json& f, const std::string& p, const TemplateSet& set,
                  Template& t) {
    if (!c.object(
            f, p,
            {"name", "label", "type", "required", "max_length", "pattern", "pattern_description",
             "values", "check", "min", "max", "decimals", "not_future", "not_before"})) {
      return;
    }
    FieldDef d;
    static const std::regex name_re("^[a-z][a-z0-9_]*$");
    auto name = c.str(f, p, "name", true);
    if (name) {
      if (!std::regex_match(*name, name_re)) {
        c.fail(p + "/name", "pattern", "field name must match [a-z][a-z0-9_]*");
      } else if (t.field(*name)) {
        c.fail(p + "/name", "duplicate", "duplicate field name '" + *name + "'");
      }
      d.name = *name;
    }
    if (auto label = c.str(f, p, "label", true)) {
      d.label_key = *label;
      if (const GlossaryEntry* e = use_key(c, p + "/label", *label, set, t)) {
        d.label = {e->bo, e->zh};
      }
    }
    auto type = c.str(f, p, "type", true);
    if (type) {
      if (auto ft = field_type_from(*type)) {
        d.type = *ft;
      } else {
        c.fail(p + "/type", "enum",
               "unknown type '" + *type +
                   "' (text, multiline, date, uscc, id-number, enum, number, pattern)");
        type.reset();
      }
    }
    d.required = c.boolean(f, p, "required").value_or(false);
    if (auto ml = c.num(f, p, "max_length", false, 1, 100000)) {
      d.max_length = static_cast<std::size_t>(*ml);
    } else {
      d.max_length = default_max_length(d.type);
    }
    const bool is = type.has_value();
    auto only_for = [&](const char* key, bool allowed, const char* types) {
      if (f.contains(key) && is && !allowed) {
        c.fail(p + "/" + key, "not-allowed", std::string("'") + key + "' applies only to " + types);
      }
    };
    only_for("pattern", d.type == FieldType::kPattern || d.type == FieldType::kText,
             "pattern and text fields");
    only_for("values", d.type == FieldType::kEnum, "enum fields");
    only_for("check", d.type == FieldType::kUscc, "uscc fields");
    only_for("min", d.type == FieldType::kNumber, "number fields");
    only_for("max", d.type == FieldType::kNumber, "number fields");
    only_for("decimals", d.type == FieldType::kNumber, "number fields");
    only_for("not_future", d.type == FieldType::kDate, "date fields");
    only_for("not_before", d.type == FieldType::kDate, "date fields");
    if (auto pat = c.str(f, p, "pattern", is && d.type == FieldType::kPattern)) {
      d.pattern = *pat;
      if (auto err = regex_error(*pat); !err.empty()) c.fail(p + "/pattern", "regex", err);
    }
    d.pattern_description = c.str(f, p, "pattern_description", false).value_or("");
    if (d.type == FieldType::kEnum && is) {
      auto it = f.find("values");
      if (it == f.end() || !it->is_array() || it->empty()) {
        c.fail(p + "/values", "required", "an enum needs a non-empty array 'values'");
      } else {
        for (std::size_t i = 0; i < it->size(); ++i) {
          const std::string vp = p + "/values/" + std::to_string(i);
          if (!c.object((*it)[i], vp, {"zh", "code", "bo"})) continue;
          EnumValue v;
          if (auto zh = c.str((*it)[i], vp, "zh", true)) v.zh = *zh;
          v.code = c.str((*it)[i], vp, "code", false).value_or("");
          if (auto bo = c.str((*it)[i], vp, "bo", false)) {
            v.bo_key = *bo;
            if (const GlossaryEntry* e = use_key(c, vp + "/bo", *bo, set, t)) v.bo = e->bo;
          }
          for (const auto& o : d.values) {
            if (o.zh == v.zh || (!v.code.empty() && o.code == v.code)) {
              c.fail(vp, "duplicate", "duplicate enum value '" + v.zh + "'");
            }
          }
          d.values.push_back(std::move(v));
        }
      }
    }
    if (auto chk = c.str(f, p, "check", false)) {
      if (*chk == "warn") {
        d.check_warn = true;
      } else if (*chk != "strict") {
        c.fail(p + "/check", "enum", "must be \"strict\" or \"warn\"");
      }
    }
    d.min = c.num(f, p, "min", false, -1e15, 1e15);
    d.max = c.num(f, p, "max", false, -1e15, 1e15);
    if (d.min && d.max && *d.min > *d.max) c.fail(p + "/min", "range", "min is greater than max");
    d.decimals = static_cast<int>(c.num(f, p, "decimals", false, 0, 6).value_or(0));
    d.not_future = c.boolean(f, p, "not_future").value_or(false);
    if (auto nb = c.str(f, p, "not_before", false)) d.not_before = *nb;
    t.fields_.push_back(std::move(d));
  }

  std::vector<TextLine> load_lines(Checker& c, const json& arr, const std::string& p,
                                   const TemplateSet& set, Template& t) {
    std::vector<TextLine> lines;
    if (!arr.is_array() || arr.empty()) {
      c.fail(p, "type", "must be a non-empty array of lines");
      return lines;
    }
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string lp = p + "/" + std::to_string(i);
      if (!c.object(arr[i], lp, {"text", "font", "size", "min_size", "letter_spacing", "color"})) {
        continue;
      }
      TextLine l;
      if (auto tx = c.str(arr[i], lp, "text", true)) {
        l.text = *tx;
        check_expr(c, lp + "/text", *tx, set, t);
      }
      l.font = c.str(arr[i], lp, "font", false).value_or("value");
      if (!t.layout_.fonts.count(l.font)) {
        c.fail(lp + "/font", "font-role", "unknown font role '" + l.font + "'");
      }
      l.size_pt = c.num(arr[i], lp, "size", true, 4, 96).value_or(11);
      l.min_size_pt = c.num(arr[i], lp, "min_size", false, 4, 96).value_or(l.size_pt);
      if (l.min_size_pt > l.size_pt) c.fail(lp + "/min_size", "range", "min_size exceeds size");
      l.letter_spacing_pt = c.num(arr[i], lp, "letter_spacing", false, 0, 40).value_or(0);
      if (auto col = c.str(arr[i], lp, "color", false)) {
        if (auto rgb = parse_rgb(*col)) {
          l.rgb = *rgb;
        } else {
          c.fail(lp + "/color", "pattern", "colour must be #RRGGBB");
        }
      }
      lines.push_back(std::move(l));
    }
    return lines;
  }

  void block_options(Checker& c, const json& j, const std::string& p, TextBlock& b,
                     const char* align_key, const char* valign_key, const char* fit_key) {
    if (auto a = c.str(j, p, align_key, false)) {
      if (*a == "left") {
        b.align = Align::kLeft;
      } else if (*a == "center") {
        b.align = Align::kCenter;
      } else if (*a == "right") {
        b.align = Align::kRight;
      } else {
        c.fail(p + "/" + align_key, "enum", "must be left, center or right");
      }
    }
    if (auto a = c.str(j, p, valign_key, false)) {
      if (*a == "top") {
        b.valign = VAlign::kTop;
      } else if (*a == "middle") {
        b.valign = VAlign::kMiddle;
      } else if (*a == "bottom") {
        b.valign = VAlign::kBottom;
      } else {
        c.fail(p + "/" + valign_key, "enum", "must be top, middle or bottom");
      }
    }
    if (auto a = c.str(j, p, fit_key, false)) {
      if (*a == "none") {
        b.fit = Fit::kNone;
      } else if (*a == "wrap") {
        b.fit = Fit::kWrap;
      } else if (*a == "shrink") {
        b.fit = Fit::kShrink;
      } else if (*a == "wrap-shrink") {
        b.fit = Fit::kWrapShrink;
      } else {
        c.fail(p + "/" + fit_key, "enum", "must be none, wrap, shrink or wrap-shrink");
      }
    }
  }

  void load_layout(Checker& c, const json& l, const std::string& p, const TemplateSet& set,
                   Template& t, std::vector<std::string>& block_ptrs) {
    if (!c.object(l, p, {"fonts", "frame", "label", "items"})) return;
    // Fonts: families found through fontconfig, in order of preference; each character is set in
    // the first family that has it. Noto Serif CJK SC (Song/Ming style, CFF) for Chinese, digits
    // and punctuation: the writer's own per-glyph CFF subset (cff_subset.h) is the smallest
    // embedding of the CJK fonts measured (issue 21 point 3); Noto Serif Tibetan (Uchen) for
    // Tibetan; then AR PL UMing (TrueType) for the few Chinese characters Noto lacks, and
    // HanaMinA/HanaMinB for CJK Extension A/B (生僻字).
    t.layout_.fonts = {
        {"bo", {"Noto Serif CJK SC", "Noto Serif Tibetan", "AR PL UMing CN"}},
        {"zh", {"Noto Serif CJK SC", "AR PL UMing CN", "HanaMinA", "HanaMinB"}},
        {"value", {"Noto Serif CJK SC", "Noto Serif Tibetan", "AR PL UMing CN", "HanaMinA",
                   "HanaMinB"}},
    };
    if (auto it = l.find("fonts"); it != l.end()) {
      if (!it->is_object()) {
        c.fail(p + "/fonts", "type", "must be an object: role -> [families]");
      } else {
        for (const auto& [role, fams] : it->items()) {
          const std::string fp = p + "/fonts/" + ptr_escape(role);
          if (!fams.is_array() || fams.empty() ||
              !std::all_of(fams.begin(), fams.end(), [](const json& x) { return x.is_string(); })) {
            c.fail(fp, "type", "must be a non-empty array of font family names");
            continue;
          }
          t.layout_.fonts[role] = fams.get<std::vector<std::string>>();
        }
      }
    }
    if (auto it = l.find("frame"); it != l.end()) {
      const std::string fp = p + "/frame";
      if (c.object(*it, fp, {"inset_mm", "outer_mm", "inner_mm", "gap_mm", "color"})) {
        Frame& f = t.layout_.frame;
        f.inset_mm = c.num(*it, fp, "inset_mm", true, 0, 50).value_or(0);
        f.outer_mm = c.num(*it, fp, "outer_mm", false, 0, 5).value_or(f.outer_mm);
        f.inner_mm = c.num(*it, fp, "inner_mm", false, 0, 5).value_or(f.inner_mm);
        f.gap_mm = c.num(*it, fp, "gap_mm", false, 0, 10).value_or(f.gap_mm);
        if (auto col = c.str(*it, fp, "color", false)) {
          if (auto rgb = parse_rgb(*col)) {
            f.rgb = *rgb;
          } else {
            c.fail(fp + "/color", "pattern", "colour must be #RRGGBB");
          }
        }
      }
    }
    // Label style: the Tibetan label above the Chinese one (Tibetan first).
    TextLine bo_label{"", "bo", 8, 6.5, 0, 0};
    TextLine zh_label{"", "zh", 11, 9, 0, 0};
    TextBlock label_proto;
    label_proto.fit = Fit::kShrink;
    if (auto it = l.find("label"); it != l.end()) {
      const std::string lp = p + "/label";
      if (c.object(*it, lp,
                   {"bo_size", "bo_min_size", "zh_size", "zh_min_size", "color", "align", "valign",
                    "fit"})) {
        bo_label.size_pt = c.num(*it, lp, "bo_size", false, 4, 40).value_or(bo_label.size_pt);
        bo_label.min_size_pt =
            c.num(*it, lp, "bo_min_size", false, 4, 40).value_or(bo_label.size_pt * 0.8);
        zh_label.size_pt = c.num(*it, lp, "zh_size", false, 4, 40).value_or(zh_label.size_pt);
        zh_label.min_size_pt =
            c.num(*it, lp, "zh_min_size", false, 4, 40).value_or(zh_label.size_pt * 0.8);
        if (auto col = c.str(*it, lp, "color", false)) {
          if (auto rgb = parse_rgb(*col)) {
            bo_label.rgb = zh_label.rgb = *rgb;
          } else {
            c.fail(lp + "/color", "pattern", "colour must be #RRGGBB");
          }
        }
        block_options(c, *it, lp, label_proto, "align", "valign", "fit");
      }
    }
    auto items = l.find("items");
    if (items == l.end() || !items->is_array()) {
      c.fail(p + "/items", "required", "must be an array of layout items");
      return;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      const json& it = (*items)[i];
      const std::string ip = p + "/items/" + std::to_string(i);
      if (!it.is_object()) {
        c.fail(ip, "type", "must be an object");
        continue;
      }
      if (it.contains("field")) {
        if (!c.object(it, ip,
                      {"field", "label_box", "value_box", "value", "font", "size", "min_size",
                       "color", "align", "valign", "fit", "label_align", "under_seal"})) {
          continue;
        }
        auto fname = c.str(it, ip, "field", true);
        const FieldDef* f = fname ? t.field(*fname) : nullptr;
        if (fname && !f) {
          c.fail(ip + "/field", "unknown-field", "unknown field '" + *fname + "'");
          continue;
        }
        if (!f) continue;
        const bool under = c.boolean(it, ip, "under_seal").value_or(false);
        if (auto lb = c.box(it, ip, "label_box", false)) {
          TextBlock b = label_proto;
          b.what = "label of " + f->name;
          b.box = *lb;
          b.under_seal = under;
          TextLine bo = bo_label, zh = zh_label;
          bo.text = "{#" + f->label_key + "}";
          zh.text = "{#" + f->label_key + ":zh}";
          b.lines = {bo, zh};
          if (auto la = c.str(it, ip, "label_align", false)) {
            b.align = *la == "right"    ? Align::kRight
                      : *la == "center" ? Align::kCenter
                                        : Align::kLeft;
            if (*la != "left" && *la != "right" && *la != "center")
              c.fail(ip + "/label_align", "enum", "must be left, center or right");
          }
          t.layout_.blocks.push_back(std::move(b));
          block_ptrs.push_back(ip + "/label_box");
        }
        auto vb = c.box(it, ip, "value_box", true);
        TextBlock b;
        b.what = f->name;
        b.field = f->name;
        b.under_seal = under;
        b.valign = f->type == FieldType::kMultiline ? VAlign::kTop : VAlign::kMiddle;
        b.fit = f->type == FieldType::kMultiline ? Fit::kWrapShrink : Fit::kShrink;
        block_options(c, it, ip, b, "align", "valign", "fit");
        TextLine v;
        v.text = c.str(it, ip, "value", false).value_or("{" + f->name + "}");
        check_expr(c, ip + "/value", v.text, set, t);
        v.font = c.str(it, ip, "font", false).value_or("value");
        if (!t.layout_.fonts.count(v.font)) {
          c.fail(ip + "/font", "font-role", "unknown font role '" + v.font + "'");
        }
        v.size_pt = c.num(it, ip, "size", false, 4, 96).value_or(11);
        v.min_size_pt = c.num(it, ip, "min_size", false, 4, 96).value_or(v.size_pt);
        if (v.min_size_pt > v.size_pt) c.fail(ip + "/min_size", "range", "min_size exceeds size");
        if (auto col = c.str(it, ip, "color", false)) {
          if (auto rgb = parse_rgb(*col)) {
            v.rgb = *rgb;
          } else {
            c.fail(ip + "/color", "pattern", "colour must be #RRGGBB");
          }
        }
        b.lines = {v};
        if (vb) {
          b.box = *vb;
          t.layout_.blocks.push_back(std::move(b));
          block_ptrs.push_back(ip + "/value_box");
        }
      } else {
        if (!c.object(it, ip, {"text", "box", "align", "valign", "fit", "under_seal"})) continue;
        TextBlock b;
        b.what = "text " + ip;
        b.fit = Fit::kShrink;
        b.under_seal = c.boolean(it, ip, "under_seal").value_or(false);
        block_options(c, it, ip, b, "align", "valign", "fit");
        auto tx = it.find("text");
        if (tx == it.end()) {
          c.fail(ip, "required", "an item needs 'field' or 'text'");
          continue;
        }
        b.lines = load_lines(c, *tx, ip + "/text", set, t);
        if (auto bx = c.box(it, ip, "box", true)) {
          b.box = *bx;
          t.layout_.blocks.push_back(std::move(b));
          block_ptrs.push_back(ip + "/box");
        }
      }
    }
  }

  void check_geometry(Checker& c, Template& t, const std::vector<std::string>& ptrs, bool have_seal,
                      bool have_qr) {
    const double W = t.page_.width_mm, H = t.page_.height_mm;
    const auto& blocks = t.layout_.blocks;
    auto inside = [&](const BoxMm& b) {
      return b.x >= -kEps && b.y >= -kEps && b.x + b.w <= W + kEps && b.y + b.h <= H + kEps;
    };
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (!inside(blocks[i].box)) {
        c.fail(ptrs[i], "outside-page",
               "box " + box_str(blocks[i].box) + " is not inside the page (" + Checker::fmt(W) +
                   " x " + Checker::fmt(H) + " mm)");
      }
      for (std::size_t k = i + 1; k < blocks.size(); ++k) {
        if (rects_overlap(blocks[i].box, blocks[k].box)) {
          c.fail(ptrs[k], "overlap", "box " + box_str(blocks[k].box) + " overlaps " + ptrs[i]);
        }
      }
    }
    const BoxMm qr{t.qr_.x_mm, t.qr_.y_mm, t.qr_.size_mm, t.qr_.size_mm};
    // Rule outside-frame: with a frame, every element keeps kFrameClearanceMm inside the inner
    // rule's inside edge (the area [lo, W - lo] x [lo, H - lo]).
    const double edge = t.layout_.frame.inner_edge_mm();
    if (edge > 0) {
      const double lo = edge + kFrameClearanceMm;
      const BoxMm area{lo, lo, W - 2 * lo, H - 2 * lo};
      const std::string area_s = "the frame's inner rule (inside edge " + Checker::fmt(edge) +
                                 " mm from the page edge) by " + Checker::fmt(kFrameClearanceMm) +
                                 " mm: allowed area " + box_str(area);
      auto in_area = [&](const BoxMm& b) {
        return b.x >= area.x - kEps && b.y >= area.y - kEps &&
               b.x + b.w <= area.x + area.w + kEps && b.y + b.h <= area.y + area.h + kEps;
      };
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!in_area(blocks[i].box)) {
          c.fail(ptrs[i], "outside-frame",
                 "box " + box_str(blocks[i].box) + " is not inside " + area_s);
        }
      }
      if (have_qr && !in_area(qr)) {
        c.fail("/qr", "outside-frame",
               "the QR square with its quiet zone " + box_str(qr) + " is not inside " + area_s);
      }
      if (have_seal) {
        const double r = t.department_.seal.diameter_mm / 2;
        const BoxMm disc{t.seal_.cx_mm - r, t.seal_.cy_mm - r, 2 * r, 2 * r};
        if (!in_area(disc)) {
          c.fail("/seal/centre_mm", "outside-frame",
                 "the seal (diameter " + Checker::fmt(2 * r) + " mm, bounds " + box_str(disc) +
                     ") is not inside " + area_s);
        }
      }
    }
    if (have_qr) {
      if (qr.x < kMinQrEdgeMm || qr.y < kMinQrEdgeMm || qr.x + qr.w > W - kMinQrEdgeMm ||
          qr.y + qr.h > H - kMinQrEdgeMm) {
        c.fail("/qr", "outside-page", "the QR code must lie at least 10 mm inside every page edge");
      }
      if (qr.w < kMinQrSizeMm - kEps) {
        c.fail("/qr/size_mm", "module-size",
               "the QR square is " + Checker::fmt(qr.w) + " mm, at least " +
                   Checker::fmt(kMinQrSizeMm) + " mm is needed: modules of " +
                   Checker::fmt(kMinQrModuleMm) + " mm (qr.md) at version " +
                   std::to_string(kQrMaxVersion) + " (" +
                   std::to_string(kQrMaxModulesWithQuietZone - 2 * kQrQuietZoneModules) +
                   " modules) with the " + std::to_string(kQrQuietZoneModules) +
                   "-module quiet zone on each side (ISO/IEC 18004 §9.1)");
      }
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (rects_overlap(blocks[i].box, qr)) {
          c.fail(ptrs[i], "overlap-qr", "box " + box_str(blocks[i].box) + " overlaps the QR code");
        }
      }
    }
    if (have_seal) {
      const double r = t.department_.seal.diameter_mm / 2;
      const double cx = t.seal_.cx_mm, cy = t.seal_.cy_mm;
      if (cx - r < 0 || cy - r < 0 || cx + r > W || cy + r > H) {
        c.fail("/seal/centre_mm", "outside-page",
               "the seal (diameter " + Checker::fmt(2 * r) + " mm) is not inside the page");
      }
      if (have_qr && circle_overlaps(cx, cy, r, qr)) {
        c.fail("/seal/centre_mm", "overlap-qr", "the seal overlaps the QR code");
      }
      bool on_date = false;
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!circle_overlaps(cx, cy, r, blocks[i].box)) continue;
        if (!blocks[i].under_seal) {
          c.fail(ptrs[i], "overlap-seal",
                 "box " + box_str(blocks[i].box) +
                     " lies under the seal (only items with \"under_seal\": true may)");
        }
        for (const auto& l : blocks[i].lines) {
          if (l.text.find("{@issue_date") != std::string::npos) on_date = true;
        }
      }
      if (!on_date) {
        c.fail("/seal/centre_mm", "seal-position",
               "the seal must overlap the issue date ({@issue_date}), as on a paper licence");
      }
    }
  }

  std::shared_ptr<Template> load_manifest(const TemplateSet& set, const json& j,
                                          const std::string& dirname, const std::string& file) {
    auto t = std::make_shared<Template>();
    Checker c(file, problems_);
    if (!c.object(j, "",
                  {"id", "version", "type_code", "title", "department", "co_issuers", "page",
                   "holder", "holder_code", "number", "fields", "layout", "seal", "qr",
                   "metadata"})) {
      return t;
    }
    if (auto id = c.str(j, "", "id", true)) {
      t->id_ = *id;
      if (*id != dirname) c.fail("/id", "id", "id '" + *id + "' differs from its directory name");
    }
    t->version_ = static_cast<int>(c.num(j, "", "version", true, 1, 999).value_or(1));
    if (auto tc = c.str(j, "", "type_code", true)) {
      t->type_code_ = *tc;
      static const std::regex seq_re("^[0-9]{3}$");
      if (tc->size() != 21) {
        c.fail("/type_code", "type-code", "must be 21 characters (authority USCC + 3 digits)");
      } else if (auto why = check_uscc(tc->substr(0, 18))) {
        c.fail("/type_code", "type-code", "defining authority's USCC: " + *why);
      } else if (!std::regex_match(tc->substr(18), seq_re)) {
        c.fail("/type_code", "type-code", "must end in a 3-digit sequence");
      }
    }
    if (auto title = c.str(j, "", "title", true)) {
      t->title_key_ = *title;
      if (const GlossaryEntry* e = use_key(c, "/title", *title, set, *t))
        t->title_ = {e->bo, e->zh};
    }
    if (auto dep = c.str(j, "", "department", true)) {
      auto it = std::find_if(set.departments_.begin(), set.departments_.end(),
                             [&](const Department& d) { return d.id == *dep; });
      if (it == set.departments_.end()) {
        c.fail("/department", "department", "unknown department '" + *dep + "'");
      } else {
        t->department_ = *it;
      }
    }
    // Departments that may add an approval seal after the issuer's (trust.md "Roles"): written
    // into the licence's XMP (lic:CoIssuingAuthorityCodes), which the verifier holds every
    // approval seal against.
    if (auto it = j.find("co_issuers"); it != j.end()) {
      if (!it->is_array()) {
        c.fail("/co_issuers", "type", "expected an array of department ids");
      } else {
        for (std::size_t i = 0; i < it->size(); ++i) {
          const std::string ptr = "/co_issuers/" + std::to_string(i);
          const json& v = (*it)[i];
          if (!v.is_string()) {
            c.fail(ptr, "type", "expected a department id");
            continue;
          }
          const std::string id = v.get<std::string>();
          auto d = std::find_if(set.departments_.begin(), set.departments_.end(),
                                [&](const Department& x) { return x.id == id; });
          if (d == set.departments_.end()) {
            c.fail(ptr, "department", "unknown department '" + id + "'");
          } else if (id == t->department_.id) {
            c.fail(ptr, "co-issuer", "the issuing department itself is not a co-issuer");
          } else if (std::any_of(t->co_issuers_.begin(), t->co_issuers_.end(),
                                 [&](const Department& x) { return x.id == id; })) {
            c.fail(ptr, "co-issuer", "department '" + id + "' listed twice");
          } else {
            t->co_issuers_.push_back(*d);
          }
        }
      }
    }
    if (auto it = j.find("page"); it == j.end()) {
      c.fail("/page", "required", "missing required key 'page'");
    } else if (c.object(*it, "/page", {"size", "orientation", "width_mm", "height_mm"})) {
      auto size = c.str(*it, "/page", "size", true);
      double w = 210, h = 297;
      if (size) {
        if (*size == "A4") {
          w = 210, h = 297;
        } else if (*size == "A5") {
          w = 148, h = 210;
        } else if (*size == "A6") {
          w = 105, h = 148;
        } else if (*size == "custom") {
          w = c.num(*it, "/page", "width_mm", true, 50, 500).value_or(w);
          h = c.num(*it, "/page", "height_mm", true, 50, 500).value_or(h);
        } else {
          c.fail("/page/size", "enum", "must be A4, A5, A6 or custom");
        }
        if (*size != "custom" && (it->contains("width_mm") || it->contains("height_mm"))) {
          c.fail("/page", "not-allowed", "width_mm/height_mm apply only to size custom");
        }
      }
      auto orient = c.str(*it, "/page", "orientation", false).value_or("portrait");
      if (orient == "landscape") {
        if (w < h) std::swap(w, h);
      } else if (orient == "portrait") {
        if (w > h) std::swap(w, h);
      } else {
        c.fail("/page/orientation", "enum", "must be portrait or landscape");
      }
      t->page_ = {w, h};
    }
    if (auto it = j.find("fields"); it == j.end() || !it->is_array() || it->empty()) {
      c.fail("/fields", "required", "must be a non-empty array of fields");
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        load_field(c, (*it)[i], "/fields/" + std::to_string(i), set, *t);
      }
      for (std::size_t i = 0; i < t->fields_.size(); ++i) {
        const auto& nb = t->fields_[i].not_before;
        if (nb.empty()) continue;
        const FieldDef* o = t->field(nb);
        if (!o || o->type != FieldType::kDate) {
          c.fail("/fields/" + std::to_string(i) + "/not_before", "unknown-field",
                 "'" + nb + "' is not a date field");
        }
      }
    }
    auto field_ref = [&](const char* key, std::initializer_list<FieldType> types, bool req) {
      auto v = c.str(j, "", key, req);
      if (!v) return std::string();
      const FieldDef* f = t->field(*v);
      if (!f) {
        c.fail(std::string("/") + key, "unknown-field", "unknown field '" + *v + "'");
      } else if (types.size() && std::find(types.begin(), types.end(), f->type) == types.end()) {
        c.fail(std::string("/") + key, "type", "field '" + *v + "' has the wrong type for " + key);
      }
      return *v;
    };
    t->holder_ = field_ref("holder", {}, true);
    t->holder_code_ = field_ref("holder_code", {FieldType::kUscc, FieldType::kIdNumber}, false);
    t->number_ = field_ref("number", {}, true);

    bool have_seal = false, have_qr = false;
    if (auto it = j.find("seal"); it == j.end()) {
      c.fail("/seal", "required", "missing required key 'seal'");
    } else if (c.object(*it, "/seal", {"centre_mm"})) {
      auto cm = it->find("centre_mm");
      if (cm == it->end() || !cm->is_array() || cm->size() != 2 || !(*cm)[0].is_number() ||
          !(*cm)[1].is_number()) {
        c.fail("/seal/centre_mm", "type", "must be [x, y] in mm");
      } else {
        t->seal_ = {(*cm)[0].get<double>(), (*cm)[1].get<double>()};
        have_seal = true;
      }
    }
    if (auto it = j.find("qr"); it == j.end()) {
      c.fail("/qr", "required", "missing required key 'qr'");
    } else if (c.object(*it, "/qr", {"x_mm", "y_mm", "size_mm", "ecc"})) {
      auto x = c.num(*it, "/qr", "x_mm", true, -1000, 1000);
      auto y = c.num(*it, "/qr", "y_mm", true, -1000, 1000);
      auto s = c.num(*it, "/qr", "size_mm", true, 15, 80);
      auto ecc = c.str(*it, "/qr", "ecc", false).value_or("M");
      if (ecc.size() != 1 || std::string("LMQH").find(ecc[0]) == std::string::npos) {
        c.fail("/qr/ecc", "enum", "must be L, M, Q or H");
      } else {
        t->qr_.ecc = ecc[0];
      }
      if (x && y && s) {
        t->qr_.x_mm = *x, t->qr_.y_mm = *y, t->qr_.size_mm = *s;
        have_qr = true;
      }
    }
    std::vector<std::string> block_ptrs;
    if (auto it = j.find("layout"); it == j.end()) {
      c.fail("/layout", "required", "missing required key 'layout'");
    } else {
      load_layout(c, *it, "/layout", set, *t, block_ptrs);
    }
    check_geometry(c, *t, block_ptrs, have_seal && !t->department_.id.empty(), have_qr);

    if (auto it = j.find("metadata"); it != j.end()) {
      if (!it->is_object()) {
        c.fail("/metadata", "type", "must be an object");
      } else {
        for (const auto& [k, v] : it->items()) {
          const std::string mp = "/metadata/" + ptr_escape(k);
          if (!k.empty() && k[0] == '_') continue;
          if (!kMetadataKeys.count(k)) {
            c.fail(mp, "unknown-key",
                   "unknown metadata item '" + k + "' (known: " +
                       join({kMetadataKeys.begin(), kMetadataKeys.end()}, ", ") + ")");
            continue;
          }
          if (!v.is_string()) {
            c.fail(mp, "type", "must be an expression string");
            continue;
          }
          check_expr(c, mp, v.get<std::string>(), set, *t);
          t->metadata_map_[k] = v.get<std::string>();
        }
      }
    }
    return t;
  }

  const TemplateSet::Files& files_;
  std::string label_;
  std::vector<Problem> problems_;
};

TemplateSet TemplateSet::load(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorCode::kIo, dir.string() + ": not a readable directory");
  }
  Files files;
  for (const char* name : {"glossary.json", "departments.json"}) {
    if (auto text = read_file(dir / name)) files[name] = std::move(*text);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    if (auto text = read_file(e.path() / "manifest.json")) {
      files[e.path().filename().string() + "/manifest.json"] = std::move(*text);
    }
  }
  return TemplateLoader(files, dir.filename().string()).load();
}

TemplateSet TemplateSet::parse(const Files& files, std::string_view label) {
  return TemplateLoader(files, std::string(label)).load();
}

std::shared_ptr<const TemplateSet> TemplateSet::cached(const std::filesystem::path& dir) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TemplateSet>> cache;
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec) canon = dir.string();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(canon); it != cache.end()) return it->second;
  }
  auto set = std::make_shared<const TemplateSet>(
      load(dir));  // outside the lock: parsing is slow, a duplicate parse is harmless
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(canon, std::move(set)).first->second;
}

std::shared_ptr<const Template> TemplateSet::get(std::string_view id) const {
  auto it = templates_.find(id);
  if (it == templates_.end()) {
    throw Error(ErrorCode::kNotFound, "unknown template '" + std::string(id) + "'");
  }
  return it->second;
}

std::vector<std::string> TemplateSet::ids() const {
  std::vector<std::string> v;
  for (const auto& [k, t] : templates_) v.push_back(k);
  return v;
}

const Department& TemplateSet::department(std::string_view id) const {
  for (const auto& d : departments_)
    if (d.id == id) return d;
  throw Error(ErrorCode::kNotFound, "unknown department '" + std::string(id) + "'");
}

std::vector<std::string> TemplateSet::unused_glossary_keys() const {
  std::set<std::string> used;
  for (const auto& d : departments_) {
    used.insert(d.name_key);
    used.insert(d.seal_function_key);
  }
  for (const auto& [id, t] : templates_)
    used.insert(t->glossary_keys().begin(), t->glossary_keys().end());
  std::vector<std::string> unused;
  for (const auto& [k, e] : glossary_)
    if (!used.count(k)) unused.push_back(k);
  return unused;
}

// ---- Holder-data validation --------------------------------------------------------------------

LicenceData Template::validate(const json& data, const Clock& clock) const {
  std::vector<Problem> p;
  LicenceData out;
  out.template_id = id_;
  if (!data.is_object()) {
    throw Error(ErrorCode::kValidation, "holder data must be a JSON object",
                {{"", "type", "holder data must be a JSON object of field -> value"}});
  }
  for (const auto& [k, v] : data.items()) {
    if (!field(k)) {
      p.push_back({k, "unknown-field", "is not a field of template " + id_});
    }
  }
  const std::int32_t today = china_date(clock.now());
  for (const FieldDef& f : fields_) {
    auto it = data.find(f.name);
    auto add = [&](std::string rule, std::string msg) {
      p.push_back({f.name, std::move(rule), std::move(msg)});
    };
    if (it == data.end() || it->is_null()) {
      if (f.required) add("required", "is required");
      continue;
    }
    std::string raw;
    if (it->is_string()) {
      raw = it->get<std::string>();
    } else if (it->is_number() && f.type == FieldType::kNumber) {
      if (it->is_number_integer()) {
        raw = it->dump();
      } else {
        const double d = it->get<double>();
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
        raw.assign(buf, r.ptr);
      }
    } else {
      add("type",
          f.type == FieldType::kNumber ? "must be a number or a string" : "must be a string");
      continue;
    }
    auto cps0 = text::decode(raw);
    if (!cps0) {
      add("encoding", "is not valid UTF-8");
      continue;
    }
    std::u32string cps = text::trim(text::nfc(*cps0));
    // Normalise line ends in multiline text (CR LF / CR → LF).
    if (f.type == FieldType::kMultiline) {
      std::u32string o;
      for (std::size_t i = 0; i < cps.size(); ++i) {
        if (cps[i] == U'\r') {
          o += U'\n';
          if (i + 1 < cps.size() && cps[i + 1] == U'\n') ++i;
        } else {
          o += cps[i];
        }
      }
      cps = std::move(o);
    }
    const std::size_t before = p.size();
    // Character rules (formats.md §6): no control characters, no legacy Tibetan PUA.
    for (std::size_t i = 0; i < cps.size(); ++i) {
      const char32_t c = cps[i];
      const bool cc = u_charType(static_cast<UChar32>(c)) == U_CONTROL_CHAR;
      const bool bidi = (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
                        c == 0x200E || c == 0x200F || c == 0xFEFF;
      if ((cc && !(c == U'\n' && f.type == FieldType::kMultiline)) || bidi) {
        add("control-character", "control character " + text::code_point_name(c) + " at position " +
                                     std::to_string(i + 1) + " is not allowed");
        break;
      }
    }
    for (std::size_t i = 0; i < cps.size(); ++i) {
      if (cps[i] >= 0xF300 && cps[i] <= 0xF8FF) {
        add("legacy-tibetan-pua",
            "character " + text::code_point_name(cps[i]) + " at position " + std::to_string(i + 1) +
                " is a legacy GB/T 20524 private-use Tibetan code point; convert the text to "
                "Unicode Tibetan (U+0F00-U+0FFF) before submitting");
        break;
      }
    }
    if (cps.empty()) {
      if (f.required) add("required", "is required (empty after trimming)");
      continue;
    }
    const std::size_t max_len = f.max_length ? f.max_length : default_max_length(f.type);
    if (cps.size() > max_len) {
      add("max-length", "has " + std::to_string(cps.size()) + " characters, at most " +
                            std::to_string(max_len) + " allowed");
    }
    if (p.size() != before) continue;
    std::string v = text::encode(cps);
    switch (f.type) {
      case FieldType::kText:
      case FieldType::kMultiline:
        if (!f.pattern.empty() && !regex_matches(f.pattern, v)) {
          add("pattern", quote(v) + " does not match " +
                             (f.pattern_description.empty() ? f.pattern : f.pattern_description));
        }
        break;
      case FieldType::kPattern:
        if (!regex_matches(f.pattern, v)) {
          add("pattern", quote(v) + " does not match " +
                             (f.pattern_description.empty() ? f.pattern : f.pattern_description));
        }
        break;
      case FieldType::kUscc: {
        // GB 32100 codes use upper-case letters only; accept lower case on input.
        std::transform(v.begin(), v.end(), v.begin(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 32) : ch;
        });
        if (auto why = check_uscc(v)) {
          if (f.check_warn) {
            out.warnings.push_back(
                {f.name, "uscc-check", quote(v) + ": " + *why + " (accepted: check is \"warn\")"});
          } else {
            add("uscc-check", quote(v) + ": " + *why);
          }
        }
        break;
      }
      case FieldType::kIdNumber:
        v = normalise_id_number(v);
        if (auto why = check_id_number(v, today)) add("id-number-check", quote(v) + ": " + *why);
        break;
      case FieldType::kDate: {
        int y = 0, m = 0, d = 0;
        if (!parse_date_parts(v, y, m, d)) {
          add("date-format", quote(v) + " is not a date (YYYY-MM-DD)");
        } else if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
          add("date-invalid", quote(v) + " is not a valid calendar date");
        } else {
          v = iso(y, m, d);
          if (f.not_future && y * 10000 + m * 100 + d > today) {
            add("date-future", quote(v) + " is in the future");
          }
        }
        break;
      }
      case FieldType::kEnum: {
        auto e = std::find_if(f.values.begin(), f.values.end(), [&](const EnumValue& ev) {
          return ev.zh == v || (!ev.code.empty() && ev.code == v);
        });
        if (e == f.values.end()) {
          std::vector<std::string> names;
          for (const auto& ev : f.values) names.push_back(ev.zh);
          add("enum", quote(v) + " is not one of: " + join(names, ", "));
        } else {
          v = e->zh;
        }
        break;
      }
      case FieldType::kNumber: {
        static const std::regex num_re("^-?[0-9]+(\\.([0-9]+))?$");
        std::smatch m;
        if (!std::regex_match(v, m, num_re)) {
          add("number-format", quote(v) + " is not a decimal number");
          break;
        }
        double d = 0;
        std::from_chars(v.data(), v.data() + v.size(), d);
        if (m[2].length() > f.decimals) {
          add("number-precision", quote(v) + " has more than " + std::to_string(f.decimals) +
                                      " digits after the decimal point");
        }
        if ((f.min && d < *f.min) || (f.max && d > *f.max)) {
          add("number-range", quote(v) + " is outside " + Checker::fmt(f.min.value_or(-1e15)) +
                                  " .. " + Checker::fmt(f.max.value_or(1e15)));
        }
        // Canonical form: no leading zeros, no trailing zeros after the point.
        std::string canon = v;
        const bool neg = !canon.empty() && canon[0] == '-';
        if (neg) canon.erase(0, 1);
        while (canon.size() > 1 && canon[0] == '0' && canon[1] != '.') canon.erase(0, 1);
        if (canon.find('.') != std::string::npos) {
          while (canon.back() == '0') canon.pop_back();
          if (canon.back() == '.') canon.pop_back();
        }
        v = (neg && canon != "0" ? "-" : "") + canon;
        break;
      }
    }
    if (p.size() == before) out.values[f.name] = std::move(v);
  }
  for (const FieldDef& f : fields_) {
    if (f.not_before.empty()) continue;
    const std::string& a = out.value(f.name);
    const std::string& b = out.value(f.not_before);
    if (!a.empty() && !b.empty() && a < b) {
      p.push_back({f.name, "date-order", "'" + a + "' is before " + f.not_before + " '" + b + "'"});
    }
  }
  if (!p.empty()) {
    throw Error(ErrorCode::kValidation,
                std::to_string(p.size()) + " problem(s) in holder data for template " + id_, p);
  }
  return out;
}

// ---- Expressions and metadata ------------------------------------------------------------------

bool Template::is_constant(std::string_view expr) const {
  std::string err;
  const auto segs = parse_expr(expr, &err);
  if (!segs) return false;
  return std::all_of(segs->begin(), segs->end(), [](const auto& s) {
    return s.literal || s.ref.sigil == '#' ||
           (s.ref.sigil == '@' && (s.ref.name == "title" || s.ref.name == "department" ||
                                   s.ref.name == "department_uscc"));
  });
}

std::string Template::expand(std::string_view expr, const LicenceData& data,
                             const IssueContext& ctx, std::string_view dfmt) const {
  std::string err;
  auto segs = parse_expr(expr, &err);
  if (!segs) throw Error(ErrorCode::kInternal, "expression checked at load fails: " + err);
  std::string out;
  for (const auto& s : *segs) {
    if (s.literal) {
      out += s.text;
      continue;
    }
    const Ref& r = s.ref;
    std::string v;
    if (r.sigil == '#') {
      auto it = glossary_.find(r.name);
      if (it == glossary_.end()) throw Error(ErrorCode::kInternal, "glossary key lost: " + r.name);
      v = r.fmt == "zh" ? it->second.zh : it->second.bo;
    } else if (r.sigil == '@') {
      if (r.name == "title") {
        v = r.fmt == "bo" ? title_.bo : title_.zh;
      } else if (r.name == "department") {
        v = r.fmt == "bo" ? department_.name.bo : department_.name.zh;
      } else if (r.name == "department_uscc") {
        v = department_.uscc;
      } else if (r.name == "identifier") {
        v = ctx.identifier;
      } else if (r.name == "issue_date") {
        v = ctx.issue_date.empty() ? "" : format_date(ctx.issue_date, r.fmt.empty() ? dfmt : r.fmt);
      } else if (r.name == "number") {
        v = data.value(number_);
      }
    } else {
      v = data.value(r.name);
      const FieldDef* f = field(r.name);
      if (!v.empty() && f && f->type == FieldType::kDate) {
        v = format_date(v, r.fmt.empty() ? dfmt : r.fmt);
      } else if (!v.empty() && f && f->type == FieldType::kEnum && r.fmt == "bo") {
        for (const auto& ev : f->values)
          if (ev.zh == v) v = ev.bo;
      }
    }
    if (v.empty() && r.has_default) v = r.dflt;
    out += v;
  }
  return out;
}

json Template::metadata(const LicenceData& data, const IssueContext& ctx) const {
  auto mapped = [&](const char* key, std::string dflt) {
    auto it = metadata_map_.find(key);
    return it == metadata_map_.end() ? dflt : expand(it->second, data, ctx, "iso");
  };
  std::string holder_code_type;
  if (const FieldDef* f = field(holder_code_)) {
    // Holder-type codes used by the catalogue systems (formats.md §2, practice).
    holder_code_type = f->type == FieldType::kUscc ? "001" : "111";
  }
  json co_issuer_codes = json::array();
  for (const auto& d : co_issuers_) co_issuer_codes.push_back(d.uscc);
  json ext = json::object();
  for (const auto& f : fields_) {
    if (auto it = data.values.find(f.name); it != data.values.end()) ext[f.name] = it->second;
  }
  return json{
      {"title", title_.zh},
      {"title_bo", title_.bo},
      {"identifier", ctx.identifier},
      {"type_name", title_.zh},
      {"type_code", type_code_},
      {"number", data.value(number_)},
      {"issuer", department_.name.zh},
      {"issuer_code", department_.uscc},
      {"co_issuer_codes", co_issuer_codes},
      {"issue_date", ctx.issue_date},
      {"holder", mapped("holder", data.value(holder_))},
      {"holder_code", mapped("holder_code", data.value(holder_code_))},
      {"holder_code_type", mapped("holder_code_type", holder_code_type)},
      {"valid_from", mapped("valid_from", ctx.issue_date)},
      {"valid_until", mapped("valid_until", "")},
      {"area_code", mapped("area_code", department_.area_code)},
      {"related_item", mapped("related_item", "")},
      {"version", ctx.version},
      {"template", id_},
      {"template_version", version_},
      {"extension", ext},
  };
}

}  // namespace libcert
