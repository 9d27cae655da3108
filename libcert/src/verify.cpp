#include "libcert/verify.h"

#include <algorithm>
#include <limits>
#include <map>
#include <new>
#include <set>
#include <sstream>

#include "libcert/error.h"
#include "libcert/example_keys.h"
#include "libcert/ids.h"
#include "libcert/pdf.h"
#include "libcert/roles.h"
#include "verify_cms.h"
#include "verify_tst.h"
#include "verify_diff.h"
#include "verify_ltv.h"
#include "verify_render.h"

namespace libcert {

std::string_view to_string(CheckStatus s) noexcept {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kNotChecked:
      return "not-checked";
  }
  return "not-checked";
}

std::string_view to_string(ChangeClass c) noexcept {
  switch (c) {
    case ChangeClass::kLtaUpdate:
      return "lta-update";
    case ChangeClass::kFormFilling:
      return "form-filling";
    case ChangeClass::kOther:
      return "other";
  }
  return "other";
}

namespace {

const Check* find_check(const std::vector<Check>& v, std::string_view id) {
  for (const auto& c : v)
    if (c.id == id) return &c;
  return nullptr;
}

}  // namespace

const Check* SignatureReport::check(std::string_view id) const { return find_check(checks, id); }
const Check* VerificationReport::check(std::string_view id) const { return find_check(checks, id); }

bool VerificationReport::example_keys() const {
  for (const auto& s : signatures)
    if (s.example_root) return true;
  return false;
}

std::vector<std::string> VerificationReport::failed_checks() const {
  std::vector<std::string> out;
  for (const auto& c : checks)
    if (c.status == CheckStatus::kFail || c.status == CheckStatus::kNotChecked) out.push_back(c.id);
  for (const auto& s : signatures)
    for (const auto& c : s.checks)
      if (c.status == CheckStatus::kFail || c.status == CheckStatus::kNotChecked)
        out.push_back(s.field_name + ":" + c.id);
  return out;
}

namespace {

nlohmann::json checks_json(const std::vector<Check>& v) {
  auto a = nlohmann::json::array();
  for (const auto& c : v) {
    a.push_back({{"id", c.id}, {"status", to_string(c.status)}, {"detail", c.detail}});
  }
  return a;
}

// Replaces invalid UTF-8 (names and strings from a hostile PDF) so the JSON dump cannot throw.
// Strict RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF.
std::string utf8_clean(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    const unsigned char c = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool ok = n != 0 && i + n <= s.size();
    if (ok && n > 1) ok = byte(i + 1) >= lo && byte(i + 1) <= hi;
    for (std::size_t k = 2; ok && k < n; ++k) ok = (byte(i + k) & 0xC0) == 0x80;
    if (ok && n == 1 && c < 0x20 && c != '\n' && c != '\t') ok = false;
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

}  // namespace

nlohmann::json VerificationReport::to_json() const {
  nlohmann::json j;
  j["result"] = to_string(result);
  j["example_keys"] = example_keys();
  if (example_keys()) j["notice"] = std::string(kExampleKeysNotice);
  j["reasons"] = nlohmann::json::array();
  for (const auto& r : reasons) j["reasons"].push_back(utf8_clean(r));
  j["file"] = {{"size", file_size}, {"revisions", revisions}, {"pages", pages}};
  j["certification_p"] = certification_p ? nlohmann::json(*certification_p) : nlohmann::json();
  j["licence"] = {{"issuer_code", utf8_clean(issuer_code)},
                  {"co_issuer_codes", nlohmann::json::array()}};
  for (const auto& c : co_issuer_codes) j["licence"]["co_issuer_codes"].push_back(utf8_clean(c));
  j["checks"] = checks_json(checks);
  for (auto& c : j["checks"]) c["detail"] = utf8_clean(c["detail"].get<std::string>());
  j["signatures"] = nlohmann::json::array();
  for (const auto& s : signatures) {
    nlohmann::json sj;
    sj["field"] = utf8_clean(s.field_name);
    sj["result"] = to_string(s.result);
    sj["kind"] = s.doc_timestamp ? "document-timestamp"
                 : s.docmdp_p    ? "certification"
                                 : "approval";
    sj["docmdp_p"] = s.docmdp_p ? nlohmann::json(*s.docmdp_p) : nlohmann::json();
    // Certificate strings can hold anything a (hostile) issuer put there: clean them too.
    sj["signer"] = {{"subject", utf8_clean(s.signer_subject)},
                    {"department", utf8_clean(s.department)},
                    {"uscc", utf8_clean(s.uscc)},
                    {"role", s.role},
                    {"cert_sha256", s.cert_sha256},
                    {"cert_serial", s.cert_serial},
                    {"not_before", s.cert_not_before},
                    {"not_after", s.cert_not_after},
                    {"example_root", s.example_root},
                    {"key_version", utf8_clean(s.key_version)},
                    {"key_state", s.key_state}};
    sj["signing_time"] = {
        {"value", s.signing_time},
        {"unix", s.signing_time_unix ? nlohmann::json(*s.signing_time_unix) : nlohmann::json()},
        {"source", s.signing_time_source},
        {"proven_unix", s.proven_time ? nlohmann::json(*s.proven_time) : nlohmann::json()}};
    sj["sub_filter"] = utf8_clean(s.sub_filter);
    sj["digest_algorithm"] = s.digest_algorithm;
    sj["reason"] = utf8_clean(s.reason);
    sj["location"] = utf8_clean(s.location);
    sj["name"] = utf8_clean(s.name);
    sj["byte_range"] = s.byte_range;
    sj["coverage"] = {{"whole_file", s.covers_whole_file},
                      {"revision", s.signed_revision},
                      {"signed_bytes", s.signed_bytes},
                      {"revision_end", s.revision_end},
                      {"file_size", s.file_size}};
    sj["checks"] = checks_json(s.checks);
    for (auto& c : sj["checks"]) c["detail"] = utf8_clean(c["detail"].get<std::string>());
    sj["changes"] = nlohmann::json::array();
    for (const auto& c : s.changes) {
      sj["changes"].push_back({{"revision", c.revision},
                               {"object", c.object},
                               {"class", to_string(c.kind)},
                               {"description", utf8_clean(c.description)},
                               {"allowed", c.allowed}});
    }
    j["signatures"].push_back(std::move(sj));
  }
  return j;
}

std::string VerificationReport::to_text() const {
  std::ostringstream o;
  auto line = [&](const Check& c, const char* indent) {
    o << indent << "[" << to_string(c.status) << "] " << c.id;
    if (!c.detail.empty()) o << ": " << utf8_clean(c.detail);
    o << "\n";
  };
  o << "Result: " << to_string(result) << "\n";
  if (example_keys()) o << "NOTICE: " << kExampleKeysNotice << "\n";
  for (const auto& r : reasons) o << "  because " << utf8_clean(r) << "\n";
  o << "File: " << file_size << " bytes, " << revisions << " revision(s), " << pages << " page(s)";
  if (certification_p) {
    o << "; certified with DocMDP P=" << *certification_p
      << (*certification_p == 1   ? " (no changes allowed)"
          : *certification_p == 2 ? " (form filling and further seals allowed)"
                                  : " (form filling, seals and annotations allowed)");
  }
  o << "\nDocument checks:\n";
  for (const auto& c : checks) line(c, "  ");
  int n = 0;
  for (const auto& s : signatures) {
    o << "Signature " << ++n << ": field '" << utf8_clean(s.field_name) << "' ("
      << (s.doc_timestamp ? std::string("document timestamp")
          : s.docmdp_p    ? "certification, DocMDP P=" + std::to_string(*s.docmdp_p)
                          : std::string("approval"))
      << ") -> " << to_string(s.result) << "\n";
    if (!s.department.empty() || !s.signer_subject.empty()) {
      o << "  Signer:       " << s.department;
      if (!s.uscc.empty()) o << " (USCC " << s.uscc << ")";
      if (!s.role.empty()) o << ", certificate role " << s.role;
      o << "\n  Subject:      " << s.signer_subject << "\n";
      o << "  Seal key:     certificate SHA-256 " << s.cert_sha256;
      if (!s.key_version.empty()) o << ", version " << s.key_version << " (" << s.key_state << ")";
      o << "\n  Certificate:  serial " << s.cert_serial << ", valid " << s.cert_not_before << " .. "
        << s.cert_not_after << "\n";
    }
    o << "  Signing time: " << (s.signing_time.empty() ? "-" : s.signing_time) << " ["
      << s.signing_time_source << "]\n";
    o << "  Format:       " << utf8_clean(s.sub_filter)
      << (s.digest_algorithm.empty() ? "" : ", " + s.digest_algorithm) << "\n";
    if (s.byte_range.size() == 4) {
      o << "  Coverage:     "
        << (s.covers_whole_file
                ? "whole file"
                : "revision " + std::to_string(s.signed_revision + 1) + " (later revisions follow)")
        << ", " << s.signed_bytes << " signed bytes, ByteRange [" << s.byte_range[0] << " "
        << s.byte_range[1] << " " << s.byte_range[2] << " " << s.byte_range[3] << "], file "
        << s.file_size << " bytes\n";
    }
    for (const auto& c : s.checks) line(c, "  ");
    if (!s.changes.empty()) {
      o << "  Changes after this signature:\n";
      for (const auto& c : s.changes) {
        o << "    revision " << c.revision + 1 << " " << c.object << ": " << to_string(c.kind)
          << (c.allowed ? " (allowed)" : " (NOT allowed)") << ": " << utf8_clean(c.description)
          << "\n";
      }
    }
  }
  return o.str();
}

// ---- verification --------------------------------------------------------------------------

namespace {

using pdf::Dict;
using pdf::Kind;
using pdf::Object;

void add(std::vector<Check>& v, std::string id, CheckStatus s, std::string detail) {
  v.push_back(Check{std::move(id), s, std::move(detail)});
}

std::string text_string(const Object* o) {
  if (o == nullptr || !o->is(Kind::kString)) return {};
  const std::string& b = o->as_string().bytes;
  // ISO 32000-1 §7.9.2.2: a text string is UTF-16BE with a BOM, or PDFDocEncoding (ASCII subset
  // handled; other bytes become U+FFFD in the output).
  if (b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0xFE &&
      static_cast<unsigned char>(b[1]) == 0xFF) {
    std::string out;
    for (std::size_t i = 2; i + 1 < b.size(); i += 2) {
      std::uint32_t cp = (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])) << 8) |
                         static_cast<std::uint32_t>(static_cast<unsigned char>(b[i + 1]));
      if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < b.size()) {
        const std::uint32_t lo =
            (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i + 2])) << 8) |
            static_cast<std::uint32_t>(static_cast<unsigned char>(b[i + 3]));
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 2;
        }
      }
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    return out;
  }
  return utf8_clean(b);
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// ISO 32000-1 §7.9.4: D:YYYYMMDDHHmmSSOHH'mm' (everything after the year optional).
std::optional<std::int64_t> parse_pdf_date(std::string_view s) {
  if (s.substr(0, 2) == "D:") s.remove_prefix(2);
  auto num = [&](std::size_t pos, std::size_t n, int dflt, int lo, int hi) -> std::optional<int> {
    if (s.size() < pos + n) return dflt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
  };
  if (s.size() < 4) return std::nullopt;
  const auto y = num(0, 4, 0, 0, 9999), mo = num(4, 2, 1, 1, 12), d = num(6, 2, 1, 1, 31),
             h = num(8, 2, 0, 0, 23), mi = num(10, 2, 0, 0, 59), se = num(12, 2, 0, 0, 59);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  std::int64_t t =
      days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * 86400 +
      *h * 3600 + *mi * 60 + *se;
  if (s.size() > 14) {
    const char o = s[14];
    if (o == '+' || o == '-') {
      const auto oh = num(15, 2, 0, 0, 23);
      const auto om =
          s.size() >= 20 && s[17] == '\'' ? num(18, 2, 0, 0, 59) : std::optional<int>(0);
      if (!oh || !om) return std::nullopt;
      const std::int64_t off = *oh * 3600 + *om * 60;
      t += o == '+' ? -off : off;
    } else if (o != 'Z') {
      return std::nullopt;
    }
  }
  return t;
}

struct SigField {
  std::string name;
  Object value;                    // the /V value as written (usually a reference)
  std::optional<pdf::Ref> field;   // the field dictionary, if indirect
};

void collect_fields(const pdf::Document& doc, const Object& entry, const std::string& prefix,
                    const std::string& inherited_ft, int depth, std::set<std::uint32_t>& seen,
                    std::vector<SigField>& out, std::size_t max_fields) {
  if (depth > 32 || out.size() > max_fields || seen.size() > 10000) return;
  if (entry.is(Kind::kRef) && !seen.insert(entry.as_ref().num).second) return;  // loop
  const std::optional<pdf::Ref> field_ref =
      entry.is(Kind::kRef) ? std::optional<pdf::Ref>(entry.as_ref()) : std::nullopt;
  const Object o = doc.resolve(entry);
  if (!o.is(Kind::kDict)) return;
  const Dict& d = o.as_dict();
  std::string name = prefix;
  if (const Object* t = d.get("T"); t != nullptr && t->is(Kind::kString)) {
    name += (name.empty() ? "" : ".") + text_string(t);
  }
  std::string ft = inherited_ft;
  if (const Object* f = d.get("FT"); f != nullptr && f->is(Kind::kName)) ft = f->as_name();
  if (const Object* kids = d.get("Kids"); kids != nullptr) {
    const Object k = doc.resolve(kids);
    if (k.is(Kind::kArray)) {
      bool has_field_kids = false;
      for (const auto& kid : k.as_array()) {
        const Object kd = doc.resolve(kid);
        if (kd.is(Kind::kDict) && kd.as_dict().has("T")) has_field_kids = true;
      }
      if (has_field_kids) {
        for (const auto& kid : k.as_array())
          collect_fields(doc, kid, name, ft, depth + 1, seen, out, max_fields);
        return;
      }
    }
  }
  if (ft != "Sig") return;
  const Object* v = d.get("V");
  if (v == nullptr) return;  // an empty signature field: nothing signed
  out.push_back(SigField{name, *v, field_ref});
}

struct Ctx {
  std::string_view pdf;
  const pdf::Document& doc;
  const TrustStore& trust;
  const VerifyOptions& opts;
  std::int64_t now;
  // The signature dictionary the catalog's /Perms /DocMDP names (ISO 32000-1 §12.8.4 Table 258):
  // the one certification signature; a DocMDP reference in any other is not a certification.
  std::optional<pdf::Ref> docmdp_sig;
  // PAdES B-LT/B-LTA: the document's validation data, and the time at which certificates must
  // still be relied on — now, or the genTime of the earliest valid document time-stamp covering
  // the signature (archive time-stamp, ETSI EN 319 102-1 §5.6.2.4).
  const detail::Dss* dss = nullptr;
  std::int64_t reference = 0;
};

bool signature_invalidating(const std::string& id) {
  static const std::set<std::string, std::less<>> kIds = {"byte-range",
                                                          "contents",
                                                          "sub-filter",
                                                          "signing-time",
                                                          "cms",
                                                          "digest",
                                                          "signature",
                                                          "signed-attributes",
                                                          "signing-certificate",
                                                          "validity-at-signing-time",
                                                          "key-usage",
                                                          "signer-role",
                                                          "issuer-binding",
                                                          "key-state",
                                                          "signature-timestamp",
                                                          "timestamp-token",
                                                          "ca-role"};
  return kIds.count(id) != 0;
}

// Does `end` (b + c) end revision `r`? The revision's end includes the end-of-line after
// "%%EOF"; a signer may or may not have included it in the signed range.
bool ends_revision(std::string_view pdf, std::size_t end, const pdf::Revision& r) {
  if (end == r.end) return true;
  return end < r.end && end >= 5 && pdf.substr(end - 5, 5) == "%%EOF" &&
         pdf.substr(end, r.end - end).find_first_not_of("\r\n") == std::string_view::npos;
}

SignatureReport verify_one(const Ctx& ctx, const SigField& field) {
  SignatureReport s;
  s.field_name = field.name;
  s.file_size = static_cast<std::int64_t>(ctx.pdf.size());
  auto& checks = s.checks;
  auto invalid = [&](std::string id, std::string detail) {
    add(checks, std::move(id), CheckStatus::kFail, std::move(detail));
  };

  Object v;
  try {
    v = ctx.doc.resolve(field.value);
  } catch (const Error& e) {
    invalid("contents", std::string("signature dictionary cannot be read: ") + e.what());
    return s;
  }
  if (!v.is(Kind::kDict)) {
    invalid("contents", "the field's /V is " + std::string(pdf::to_string(v.kind())) +
                            ", not a signature dictionary");
    return s;
  }
  const Dict& sig = v.as_dict();
  s.sub_filter = [&] {
    const Object* f = sig.get("SubFilter");
    return f != nullptr && f->is(Kind::kName) ? f->as_name() : std::string();
  }();
  s.reason = text_string(sig.get("Reason"));
  s.location = text_string(sig.get("Location"));
  s.name = text_string(sig.get("Name"));

  // ---- sub-filter (ISO 32000-1 §12.8.3, ETSI EN 319 142-1 §5.1) ----
  const bool cades = s.sub_filter == "ETSI.CAdES.detached";
  s.doc_timestamp = [&] {
    const Object* t = sig.get("Type");
    return t != nullptr && t->is_name("DocTimeStamp");
  }();
  if (s.doc_timestamp) {
    // ETSI EN 319 142-1 §5.4.3: a document timestamp is /Type /DocTimeStamp with
    // /SubFilter /ETSI.RFC3161; its /ByteRange and /Contents follow the same rules as a
    // signature's (checked below).
    if (s.sub_filter == "ETSI.RFC3161") {
      add(checks, "sub-filter", CheckStatus::kPass, "/SubFilter /ETSI.RFC3161 (document timestamp)");
    } else {
      invalid("sub-filter", "a /DocTimeStamp must have /SubFilter /ETSI.RFC3161, not /" +
                                s.sub_filter);
    }
  } else if (cades || s.sub_filter == "adbe.pkcs7.detached") {
    add(checks, "sub-filter", CheckStatus::kPass, "/SubFilter /" + s.sub_filter);
  } else {
    invalid("sub-filter", s.sub_filter.empty() ? "/SubFilter missing"
                                               : "/SubFilter /" + s.sub_filter +
                                                     " is not supported (ETSI.CAdES.detached or "
                                                     "adbe.pkcs7.detached only)");
  }

  // ---- /ByteRange (Universal Signature Forgery, Signature Wrapping; §12.8.1) ----
  const std::size_t size = ctx.pdf.size();
  bool br_ok = false;
  std::size_t a = 0, b = 0, c = 0;
  const Object* br = sig.get("ByteRange");
  if (br == nullptr) {
    invalid("byte-range", "/ByteRange is missing or null");
  } else if (!br->is(Kind::kArray)) {
    invalid("byte-range",
            "/ByteRange is a " + std::string(pdf::to_string(br->kind())) + ", not an array");
  } else {
    const auto& arr = br->as_array();
    bool ints = true;
    for (const auto& e : arr) {
      if (e.is(Kind::kInt)) {
        s.byte_range.push_back(e.as_int());
      } else {
        ints = false;
      }
    }
    if (arr.size() != 4 || !ints) {
      invalid("byte-range", "/ByteRange must be exactly four integers [0 a b c], it has " +
                                std::to_string(arr.size()) + " element(s)" +
                                (ints ? "" : " not all integers"));
    } else {
      const auto& r = s.byte_range;
      if (r[0] != 0) {
        invalid("byte-range", "/ByteRange does not start at byte 0 (starts at " +
                                  std::to_string(r[0]) + "): the file head is unsigned");
      } else if (r[1] <= 0 || r[2] <= r[1] || r[3] < 0 || static_cast<std::uint64_t>(r[2]) > size ||
                 static_cast<std::uint64_t>(r[3]) > size - static_cast<std::uint64_t>(r[2])) {
        invalid("byte-range", "/ByteRange [0 " + std::to_string(r[1]) + " " + std::to_string(r[2]) +
                                  " " + std::to_string(r[3]) +
                                  "] is not ordered or points outside the file (" +
                                  std::to_string(size) + " bytes)");
      } else {
        a = static_cast<std::size_t>(r[1]);
        b = static_cast<std::size_t>(r[2]);
        c = static_cast<std::size_t>(r[3]);
        br_ok = true;
      }
    }
  }

  // ---- /Contents: a hex string that is exactly the ByteRange gap ----
  const Object* contents = sig.get("Contents");
  bool contents_ok = false;
  if (contents == nullptr) {
    invalid("contents", "/Contents is missing or null");
  } else if (!contents->is(Kind::kString)) {
    invalid("contents", "/Contents is a " + std::string(pdf::to_string(contents->kind())) +
                            ", not a hex string");
  } else if (!contents->as_string().hex) {
    invalid("contents", "/Contents is a literal string, not a hex string (§12.8.1)");
  } else if (contents->as_string().bytes.empty()) {
    invalid("contents", "/Contents is empty");
  } else if (std::all_of(contents->as_string().bytes.begin(), contents->as_string().bytes.end(),
                         [](char ch) { return ch == 0; })) {
    invalid("contents", "/Contents holds only zero bytes (an unfilled placeholder)");
  } else {
    contents_ok = true;
  }
  if (br_ok && contents_ok) {
    // Signature Wrapping: the gap must be exactly this /Contents string including < and >, and
    // b + c must be the end of the revision that holds this signature dictionary.
    if (contents->pos == Object::npos) {
      invalid("byte-range",
              "the signature dictionary is not stored directly in the file (object stream), so "
              "its /Contents cannot be the ByteRange gap");
      br_ok = false;
    } else if (contents->pos != a || contents->end != b) {
      invalid("byte-range", "the ByteRange gap [" + std::to_string(a) + ", " + std::to_string(b) +
                                ") is not this signature's /Contents string, which is at [" +
                                std::to_string(contents->pos) + ", " +
                                std::to_string(contents->end) + ")");
      br_ok = false;
    } else if (ctx.pdf[a] != '<' || ctx.pdf[b - 1] != '>') {
      invalid("byte-range", "the ByteRange gap does not start with '<' and end with '>'");
      br_ok = false;
    }
  }
  if (br_ok) {
    const std::size_t end = b + c;
    s.signed_bytes = static_cast<std::int64_t>(a + c);
    s.revision_end = static_cast<std::int64_t>(end);
    const auto& revs = ctx.doc.revisions();
    int idx = -1;
    for (std::size_t i = 0; i < revs.size(); ++i) {
      if (ends_revision(ctx.pdf, end, revs[i])) {
        idx = static_cast<int>(i);
        break;
      }
    }
    const std::size_t rev_start = idx > 0 ? revs[static_cast<std::size_t>(idx) - 1].end : 0;
    if (idx < 0) {
      invalid("byte-range", "the signed range ends at byte " + std::to_string(end) +
                                ", which is not the end of any revision (%%EOF): bytes of that "
                                "revision are unsigned");
      br_ok = false;
    } else if (b > end || a < rev_start) {
      invalid("byte-range",
              "the signature dictionary is not part of the revision its ByteRange "
              "ends at");
      br_ok = false;
    } else {
      s.signed_revision = idx;
      s.covers_whole_file = idx + 1 == static_cast<int>(revs.size()) && revs.back().end == size;
      add(checks, "byte-range", CheckStatus::kPass,
          "[0 a b c] with the gap exactly the /Contents hex string, ending at the end of "
          "revision " +
              std::to_string(idx + 1));
    }
  }
  if (contents_ok) {
    add(checks, "contents", CheckStatus::kPass,
        std::to_string(contents->as_string().bytes.size()) + " bytes of CMS (with padding)");
  }

  // ---- signing time: /M, claimed by the signer (B-B proves no time) ----
  if (const Object* m = sig.get("M"); m != nullptr && m->is(Kind::kString)) {
    s.signing_time_unix = parse_pdf_date(m->as_string().bytes);
  }
  std::int64_t when = ctx.now;
  if (s.signing_time_unix) {
    when = *s.signing_time_unix;
    s.signing_time = detail::iso8601(when);
    s.signing_time_source = "claimed by the signer (/M); a B-B signature does not prove it";
  } else {
    s.signing_time_source =
        "none (/M missing or malformed): certificates checked at verification "
        "time " +
        detail::iso8601(ctx.now);
  }
  // A claimed time in the future is a forgery or a broken signer clock: either way the key
  // checks below would be evaluated at a time that has not happened (trust.md "Time and state").
  if (s.signing_time_unix && *s.signing_time_unix > ctx.now + ctx.opts.max_clock_skew) {
    invalid("signing-time", "/M " + s.signing_time + " lies in the future: later than now (" +
                                detail::iso8601(ctx.now) + ") plus the allowed clock skew of " +
                                std::to_string(ctx.opts.max_clock_skew) + " s");
  }

  // ---- DocMDP certification level (§12.8.2.2) ----
  // Only the signature the catalog's /Perms /DocMDP names is the certification (§12.8.4); a
  // later signature with a DocMDP reference of its own is an approval signature.
  const bool named_by_perms =
      ctx.docmdp_sig && field.value.is(Kind::kRef) && field.value.as_ref() == *ctx.docmdp_sig;
  if (const Object* refs = sig.get("Reference"); refs != nullptr && !s.doc_timestamp) {
    try {
      const Object arr = ctx.doc.resolve(refs);
      if (arr.is(Kind::kArray)) {
        for (const auto& e : arr.as_array()) {
          const Object rd = ctx.doc.resolve(e);
          if (!rd.is(Kind::kDict) || !rd.as_dict().get("TransformMethod") ||
              !rd.as_dict().get("TransformMethod")->is_name("DocMDP")) {
            continue;
          }
          int p = 2;  // Table 254: default P is 2
          const Object tp = ctx.doc.resolve(rd.as_dict().get("TransformParams"));
          if (tp.is(Kind::kDict)) {
            if (const Object* po = tp.as_dict().get("P"); po != nullptr && po->is(Kind::kInt)) {
              p = static_cast<int>(std::clamp<std::int64_t>(po->as_int(), 0, 4));
            }
          }
          if (named_by_perms) {
            s.docmdp_p = p;
          } else {
            add(checks, "docmdp", CheckStatus::kWarn,
                "this signature carries a DocMDP transform (P=" + std::to_string(p) +
                    ") but the catalog's /Perms /DocMDP does not name it: it is an approval "
                    "signature, not the certification");
          }
        }
      }
    } catch (const Error&) {
      // a broken /Reference: treated as an approval signature; the diff analysis still applies
    }
  }

  if (!br_ok || !contents_ok) return s;
  if (s.doc_timestamp) {
    // ISO 32000-2 §12.8.5: the token's imprint is the hash of the two byte ranges; its TSA must
    // be in the TSA role and chain to an anchor at genTime, and still be relied on at the
    // reference time (now, or a later document time-stamp's genTime).
    const std::vector<std::string_view> parts = {ctx.pdf.substr(0, a), ctx.pdf.substr(b, c)};
    detail::TimestampVerification dt = detail::document_timestamp(
        parts, contents->as_string().bytes, ctx.trust, ctx.reference, ctx.dss);
    for (auto& ch : dt.checks) checks.push_back(std::move(ch));
    s.signer_subject = dt.tsa_subject;
    if (dt.proven_time) {
      s.proven_time = dt.proven_time;
      s.signing_time = detail::iso8601(*dt.proven_time);
      s.signing_time_unix = dt.proven_time;
      s.signing_time_source = "genTime of the document time-stamp's RFC 3161 token";
    }
    return s;
  }

  // ---- B-T: a signature time-stamp proves the signing time (ETSI EN 319 142-1 §5.3) ----
  // The earliest valid token's genTime is the signing time from here on: the chain, the
  // certificate's validity and the key's state are evaluated at it; /M stays a claim.
  {
    detail::TimestampVerification tst =
        detail::signature_timestamps(contents->as_string().bytes, ctx.trust, ctx.reference,
                                     ctx.dss);
    for (auto& ch : tst.checks) checks.push_back(std::move(ch));
    if (tst.proven_time) {
      s.proven_time = tst.proven_time;
      when = *tst.proven_time;
      s.signing_time_source = "proven by an RFC 3161 signature time-stamp at " +
                              detail::iso8601(when) + " (" + tst.tsa_subject + "); /M " +
                              (s.signing_time.empty() ? std::string("absent") : s.signing_time) +
                              " is the signer's claim";
    }
  }

  // ---- the CMS itself ----
  const std::vector<std::string_view> parts = {ctx.pdf.substr(0, a), ctx.pdf.substr(b, c)};
  detail::CmsVerification cms =
      detail::cms_verify(parts, contents->as_string().bytes, ctx.trust, when, cades, ctx.dss,
                         s.proven_time.has_value(), ctx.reference);
  for (auto& ch : cms.checks) checks.push_back(std::move(ch));
  s.signer_subject = cms.signer_subject;
  s.department = cms.department;
  s.uscc = cms.uscc;
  s.cert_sha256 = cms.cert_sha256;
  s.cert_serial = cms.cert_serial;
  s.cert_not_before = cms.cert_not_before;
  s.cert_not_after = cms.cert_not_after;
  s.example_root = cms.example_root;
  s.digest_algorithm = cms.digest_algorithm;

  // ---- role: only a seal certificate seals a licence (trust.md "Roles") ----
  if (!s.cert_sha256.empty()) {
    s.role = std::string(to_string(cms.role.role));
    if (cms.role.role == CertRole::kSeal) {
      add(checks, "signer-role", CheckStatus::kPass, "seal certificate: " + cms.role.why);
    } else {
      invalid("signer-role", "the signer certificate is not a seal certificate (role " + s.role +
                                 "): " + cms.role.why);
    }
  }

  // ---- seal key state at the signing time (service.md key lifecycle; trust.md) ----
  if (!s.cert_sha256.empty()) {
    auto fail_as = [&](Verdict verdict, std::string detail) {
      s.key_state_verdict = verdict;
      invalid("key-state", std::move(detail));
    };
    const auto st = ctx.opts.keys != nullptr ? ctx.opts.keys->lookup(s.cert_sha256)
                                             : std::optional<SealKeyState>();
    if (ctx.opts.keys == nullptr) {
      // Fail closed: without a bundle or registry nobody can say the key was not revoked.
      add(checks, "key-state", CheckStatus::kNotChecked,
          "no trust data: neither a trust bundle nor a key directory was given, so the seal key's "
          "state (retired, revoked) cannot be checked");
    } else if (!st) {
      fail_as(Verdict::kUnknownSigner,
              "the seal key is not in the trust data (certificate SHA-256 " + s.cert_sha256 + ")");
    } else {
      s.key_version = st->version;
      using K = SealKeyState::State;
      s.key_state = st->state == K::kActive    ? "active"
                    : st->state == K::kRetired ? "retired"
                    : st->state == K::kPending ? "pending"
                                               : "revoked";
      const std::string name = "seal key" + (st->version.empty() ? "" : " " + st->version);
      if (st->state == K::kRevoked && st->compromised_at && when < *st->compromised_at &&
          !s.proven_time) {
        // A thief of the key can write any /M: only a time-stamp proves that the seal was made
        // before the compromise (trust.md "Time and state"; issue 19).
        fail_as(Verdict::kRevoked,
                name + " was revoked for compromise at " +
                    detail::iso8601(*st->compromised_at) +
                    "; no time-stamp proves this seal was made before it (the claimed /M " +
                    detail::iso8601(when) + " is not proof)");
      } else if (st->state == K::kRevoked &&
                 (!st->compromised_at || when >= *st->compromised_at)) {
        fail_as(
            Verdict::kRevoked,
            name + " was revoked" +
                (st->compromised_at ? " (compromised at " + detail::iso8601(*st->compromised_at) +
                                          ") at or before the signing time " + detail::iso8601(when)
                                    : std::string(" without a compromise time")));
      } else if (st->state == K::kPending) {
        fail_as(Verdict::kInvalid, name + " was never activated (pending)");
      } else if ((st->usage_from && when < *st->usage_from) ||
                 (st->usage_until && when >= *st->usage_until)) {
        fail_as(Verdict::kInvalid,
                name + " was not in use at the signing time " + detail::iso8601(when) +
                    " (in use " + (st->usage_from ? detail::iso8601(*st->usage_from) : "") +
                    " .. " + (st->usage_until ? detail::iso8601(*st->usage_until) : "") + ")");
      } else {
        add(checks, "key-state", CheckStatus::kPass,
            name + " is " + s.key_state +
                (st->state == K::kRevoked ? " (compromised after the proven signing time)"
                                          : "") +
                ", in use at the signing time");
      }
    }
  }
  return s;
}

Verdict worse(Verdict a, Verdict b) { return worst(a, b); }

bool allowed_by(ChangeClass k, std::optional<int> p) {
  if (k == ChangeClass::kOther) return false;
  if (k == ChangeClass::kLtaUpdate) return true;  // allowed at every level (ETSI EN 319 142-1 §5.4)
  // Form filling (new signatures): P=2 and P=3 allow it, P=1 does not (§12.8.2.2 Table 254).
  // Without a certification signature, adding further signatures is allowed.
  return !p || *p >= 2;
}

// ---- the licence's issuer, as the sealed document states it ----

struct LicenceIssuer {
  std::string code;                     // USCC of the issuing department
  std::vector<std::string> co_issuers;  // USCCs of departments that may add approval seals
  std::string problem;                  // non-empty: no usable issuer (why)
};

// The text of every <tag>…</tag> element in an XMP packet (simple elements only: the packet is
// our own, written by render.cpp; an attribute form or a nested element yields no value).
std::vector<std::string> xmp_values(std::string_view xmp, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  for (std::size_t p = xmp.find(open); p != std::string_view::npos; p = xmp.find(open, p + 1)) {
    const std::size_t b = p + open.size();
    const std::size_t e = xmp.find(close, b);
    if (e == std::string_view::npos) break;
    out.emplace_back(xmp.substr(b, e - b));
  }
  return out;
}

// The issuer comes from two places of the licence that render.cpp writes from the same value
// (Template::metadata "issuer_code"): the XMP item lic:IssuingAuthorityCode (GB/T 36903) and the
// issuer segment of the GB/T 36904 identifier (lic:LicenceIdentifier). Both must be present once
// and agree; otherwise the document does not say whose licence it is. Co-issuers are listed in
// lic:CoIssuingAuthorityCodes (an rdf:Bag of USCCs), covered by the issuer's own seal.
LicenceIssuer read_licence_issuer(const pdf::Document& d) {
  LicenceIssuer r;
  try {
    const Object meta = d.resolve(d.catalog().get("Metadata"));
    if (!meta.is(Kind::kStream)) {
      r.problem = "the document has no XMP metadata stream (catalog /Metadata): it names no issuer";
      return r;
    }
    const std::string xmp = d.decode(meta.as_stream());
    const auto codes = xmp_values(xmp, "lic:IssuingAuthorityCode");
    const auto ids = xmp_values(xmp, "lic:LicenceIdentifier");
    if (codes.size() != 1 || ids.size() != 1) {
      r.problem =
          "the XMP metadata must hold exactly one lic:IssuingAuthorityCode and one "
          "lic:LicenceIdentifier (found " +
          std::to_string(codes.size()) + " and " + std::to_string(ids.size()) + ")";
      return r;
    }
    LicenceId id;
    try {
      id = LicenceId::parse(ids.front());
    } catch (const Error& e) {
      r.problem =
          "the licence identifier '" + utf8_clean(ids.front()) + "' does not parse: " + e.what();
      return r;
    }
    if (id.issuer_code != codes.front()) {
      r.problem = "the identifier's issuer segment " + id.issuer_code +
                  " differs from lic:IssuingAuthorityCode " + utf8_clean(codes.front());
      return r;
    }
    if (check_uscc(id.issuer_code)) {
      r.problem = "the licence's issuer code " + id.issuer_code + " is not a valid USCC";
      return r;
    }
    r.code = id.issuer_code;
    for (const auto& bag : xmp_values(xmp, "lic:CoIssuingAuthorityCodes"))
      for (auto& c : xmp_values(bag, "rdf:li")) r.co_issuers.push_back(std::move(c));
  } catch (const Error& e) {
    r.problem = std::string("the XMP metadata cannot be read: ") + e.what();
  }
  return r;
}

// Signer–issuer binding (trust.md): the earliest signature — the one that certifies the licence
// and covers the XMP naming the co-issuers — and any certification signature must be the issuer's
// own seal; a later approval seal may also come from a co-issuer the licence lists.
void bind_to_issuer(const pdf::Document& doc, VerificationReport& rep) {
  int earliest = -1;
  for (const auto& s : rep.signatures)
    if (s.signed_revision >= 0 && (earliest < 0 || s.signed_revision < earliest))
      earliest = s.signed_revision;
  if (earliest < 0) return;  // nothing intact to bind
  const auto& revs = doc.revisions();
  LicenceIssuer li;
  if (static_cast<std::size_t>(earliest) + 1 == revs.size()) {
    li = read_licence_issuer(doc);
  } else {
    try {
      li = read_licence_issuer(doc.revision(static_cast<std::size_t>(earliest)));
    } catch (const Error& e) {
      li.problem = std::string("the sealed revision cannot be read: ") + e.what();
    }
  }
  rep.issuer_code = li.code;
  rep.co_issuer_codes = li.co_issuers;
  bool first = true;
  for (auto& s : rep.signatures) {
    if (s.role != to_string(CertRole::kSeal)) continue;  // signer-role failed already
    const bool must_be_issuer = first || s.docmdp_p.has_value();
    first = false;
    if (!li.problem.empty()) {
      add(s.checks, "issuer-binding", CheckStatus::kNotChecked, li.problem);
    } else if (s.uscc == li.code) {
      add(s.checks, "issuer-binding", CheckStatus::kPass,
          "sealed by the licence's issuer (USCC " + li.code + ")");
    } else if (!must_be_issuer && std::find(li.co_issuers.begin(), li.co_issuers.end(), s.uscc) !=
                                      li.co_issuers.end()) {
      add(s.checks, "issuer-binding", CheckStatus::kPass,
          "approval seal of co-issuing department USCC " + s.uscc + " listed by the licence");
    } else {
      add(s.checks, "issuer-binding", CheckStatus::kFail,
          "sealed by department USCC " + s.uscc + " (" + utf8_clean(s.department) +
              "), but the licence's issuer is USCC " + li.code +
              (must_be_issuer ? std::string(" and this signature must be the issuer's own")
                              : std::string(", and the licence lists no such co-issuer")));
    }
  }
}

void verify_doc(const Ctx& ctx, VerificationReport& rep) {
  const pdf::Document& doc = ctx.doc;
  const auto& revs = doc.revisions();
  rep.revisions = static_cast<int>(revs.size());
  if (revs.size() > ctx.opts.max_revisions) {
    add(rep.checks, "limits", CheckStatus::kFail,
        std::to_string(revs.size()) + " revisions, more than the limit " +
            std::to_string(ctx.opts.max_revisions));
    return;
  }
  rep.pages = static_cast<int>(doc.page_count());
  add(rep.checks, "structure", CheckStatus::kPass,
      std::to_string(revs.size()) + " revision(s), " + std::to_string(rep.pages) + " page(s)");

  std::vector<SigField> fields;
  if (auto af = doc.acroform()) {
    if (const Object* f = af->get("Fields"); f != nullptr) {
      const Object arr = doc.resolve(f);
      std::set<std::uint32_t> seen;
      if (arr.is(Kind::kArray)) {
        for (const auto& e : arr.as_array()) {
          collect_fields(doc, e, "", "", 0, seen, fields, ctx.opts.max_signatures);
        }
      }
    }
  }
  if (fields.size() > ctx.opts.max_signatures) {
    add(rep.checks, "limits", CheckStatus::kFail,
        "more than " + std::to_string(ctx.opts.max_signatures) + " signatures");
    return;
  }
  // One signature dictionary is one signature (§12.7.4.5): a second field whose /V points at
  // the same dictionary is not a second signature. The field with the lowest object number is
  // kept (a field added later takes a new number), the others are reported.
  {
    std::map<pdf::Ref, std::size_t> by_value;
    std::string dups;
    std::vector<SigField> kept;
    auto field_num = [](const SigField& f) {
      return f.field ? f.field->num : std::numeric_limits<std::uint32_t>::max();
    };
    for (auto& f : fields) {
      if (!f.value.is(Kind::kRef)) {
        kept.push_back(std::move(f));
        continue;
      }
      auto [it, fresh] = by_value.emplace(f.value.as_ref(), kept.size());
      if (fresh) {
        kept.push_back(std::move(f));
        continue;
      }
      SigField& first = kept[it->second];
      if (field_num(f) < field_num(first)) std::swap(first, f);
      dups += "; field '" + f.name + "' points at the signature dictionary " +
              std::to_string(f.value.as_ref().num) + " 0 R of field '" + first.name + "'";
    }
    fields = std::move(kept);
    if (!dups.empty()) {
      add(rep.checks, "signature-fields", CheckStatus::kFail,
          dups.substr(2) + " (one signature is listed once; a second field on it is a forgery)");
    }
  }
  if (fields.empty()) {
    add(rep.checks, "signatures-present", CheckStatus::kFail,
        "the document has no signed signature field (/AcroForm /Fields with /FT /Sig and /V)");
    return;
  }
  add(rep.checks, "signatures-present", CheckStatus::kPass,
      std::to_string(fields.size()) + " signature(s)");

  Ctx sctx = ctx;
  try {
    const Object perms = doc.resolve(doc.catalog().get("Perms"));
    if (perms.is(Kind::kDict)) {
      if (const Object* d = perms.as_dict().get("DocMDP"); d != nullptr && d->is(Kind::kRef))
        sctx.docmdp_sig = d->as_ref();
    }
  } catch (const Error&) {
    // an unreadable /Perms names no certification signature
  }
  // PAdES B-LT: the validation data of the document security store (ETSI EN 319 142-1 §5.4.2).
  const detail::Dss dss = detail::read_dss(doc);
  sctx.dss = &dss;
  if (dss.present) {
    std::string d = std::to_string(dss.certs.size()) + " certificate(s), " +
                    std::to_string(dss.crls.size()) + " CRL(s)";
    for (const auto& p : dss.problems) d += "; " + p;
    add(rep.checks, "validation-data", dss.problems.empty() ? CheckStatus::kPass : CheckStatus::kWarn,
        "document security store: " + d);
  }
  struct Entry {
    SignatureReport report;
    std::optional<pdf::Ref> value;
  };
  // Document time-stamps first, newest first: each one's proven time becomes the reference time
  // of everything it covers (an archive time-stamp, ETSI EN 319 102-1 §5.6.2.4), so an expired
  // TSA or seal certificate before it needs only to have been valid then.
  struct Pre {
    bool doc_ts = false;
    std::int64_t end = 0;  // b + c of its /ByteRange, 0 if unreadable
  };
  std::vector<Pre> pre(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    try {
      const Object v = doc.resolve(fields[i].value);
      if (!v.is(Kind::kDict)) continue;
      const Object* t = v.as_dict().get("Type");
      pre[i].doc_ts = t != nullptr && t->is_name("DocTimeStamp");
      const Object* br = v.as_dict().get("ByteRange");
      if (br != nullptr && br->is(Kind::kArray) && br->as_array().size() == 4 &&
          br->as_array()[2].is(Kind::kInt) && br->as_array()[3].is(Kind::kInt))
        pre[i].end = br->as_array()[2].as_int() + br->as_array()[3].as_int();
    } catch (const Error&) {
      // verify_one reports it
    }
  }
  std::vector<std::size_t> order(fields.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    if (pre[x].doc_ts != pre[y].doc_ts) return pre[x].doc_ts;
    return pre[x].doc_ts && pre[x].end > pre[y].end;
  });
  std::vector<std::pair<std::int64_t, std::int64_t>> archive;  // (end, genTime) of valid ones
  std::vector<Entry> entries;
  for (const std::size_t i : order) {
    const auto& f = fields[i];
    Ctx fctx = sctx;
    for (const auto& [end, t] : archive)
      if (end > pre[i].end) fctx.reference = std::min(fctx.reference, t);
    entries.push_back(Entry{verify_one(fctx, f), f.value.is(Kind::kRef)
                                                     ? std::optional<pdf::Ref>(f.value.as_ref())
                                                     : std::nullopt});
    const SignatureReport& r = entries.back().report;
    const Check* tt = r.check("timestamp-token");
    if (r.doc_timestamp && r.proven_time && tt != nullptr && tt->status == CheckStatus::kPass &&
        r.signed_revision >= 0)
      archive.emplace_back(r.revision_end, *r.proven_time);
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    return x.report.revision_end < y.report.revision_end;
  });

  // Certification level: the DocMDP signature referenced from the catalog's /Perms (§12.8.4).
  for (const auto& e : entries) {
    if (e.report.docmdp_p && !rep.certification_p) rep.certification_p = e.report.docmdp_p;
  }

  // ---- difference analysis of every revision after the earliest signed one ----
  int earliest = static_cast<int>(revs.size());
  for (const auto& e : entries)
    if (e.report.signed_revision >= 0 && !e.report.doc_timestamp)
      earliest = std::min(earliest, e.report.signed_revision);
  std::vector<std::vector<Change>> per_rev(revs.size());
  std::vector<detail::NewSignature> added;
  std::size_t redefined = 0;
  for (std::size_t k = static_cast<std::size_t>(earliest) + 1; k < revs.size(); ++k)
    redefined += revs[k].objects.size() + revs[k].freed.size();
  if (redefined > ctx.opts.max_objects) {
    add(rep.checks, "limits", CheckStatus::kFail,
        "the updates after the first signature redefine " + std::to_string(redefined) +
            " objects, more than the limit " + std::to_string(ctx.opts.max_objects) +
            " (max_objects): the changes were not analysed");
    for (auto& e : entries) rep.signatures.push_back(std::move(e.report));
    return;
  }
  if (earliest + 1 < static_cast<int>(revs.size())) {
    // Each revision is a view of the one parsed file (Document::revision shares its xref): the
    // previous revision's objects stay cached from its turn as `cur`.
    std::optional<pdf::Document> prev = doc.revision(static_cast<std::size_t>(earliest));
    for (std::size_t k = static_cast<std::size_t>(earliest) + 1; k < revs.size(); ++k) {
      pdf::Document cur = k + 1 == revs.size() ? doc : doc.revision(k);
      detail::UpdateAnalysis u =
          detail::classify_update(*prev, cur, static_cast<int>(k), revs[k], ctx.opts.max_objects);
      per_rev[k] = std::move(u.changes);
      for (auto& n : u.signatures) added.push_back(n);
      prev = std::move(cur);
    }
  }
  // A signature added by an update must be one of the signatures verified above (its field is in
  // /AcroForm /Fields, so it is): otherwise it is an unexplained change.
  std::vector<detail::AllowedArea> seal_areas;
  for (const auto& n : added) {
    const Entry* e = nullptr;
    for (const auto& x : entries)
      if (x.value && *x.value == n.value) e = &x;
    if (e == nullptr) {
      per_rev[static_cast<std::size_t>(n.revision)].push_back(
          Change{n.revision, std::to_string(n.field.num) + " 0 R", ChangeClass::kOther,
                 "a new signature field whose signature is not among the verified ones", false});
      continue;
    }
    if (!n.page || n.doc_timestamp) continue;  // invisible: nothing to exclude
    // Only a verified seal's widget may paint over the signed page (its pixels are excluded
    // from the rendered comparison); a broken one makes the result INVALID anyway.
    bool verified = e->report.check("signature") != nullptr;
    for (const auto& c : e->report.checks) verified = verified && c.status != CheckStatus::kFail;
    if (verified) seal_areas.push_back(detail::AllowedArea{*n.page, n.rect});
  }

  for (auto& e : entries) {
    SignatureReport& s = e.report;
    if (s.signed_revision < 0) continue;
    bool all_ok = true;
    for (std::size_t k = static_cast<std::size_t>(s.signed_revision) + 1; k < revs.size(); ++k) {
      for (Change c : per_rev[k]) {
        c.allowed = allowed_by(c.kind, rep.certification_p);
        all_ok = all_ok && c.allowed;
        s.changes.push_back(std::move(c));
      }
    }
    if (s.covers_whole_file) {
      add(s.checks, "coverage", CheckStatus::kPass, "the signature covers the whole file");
    } else {
      add(s.checks, "coverage", CheckStatus::kPass,
          "the signature covers revision " + std::to_string(s.signed_revision + 1) + " of " +
              std::to_string(revs.size()) + " (" + std::to_string(s.revision_end) + " of " +
              std::to_string(s.file_size) + " bytes); later changes are listed below");
    }
    std::size_t not_allowed = 0;
    for (const auto& c : s.changes) not_allowed += c.allowed ? 0 : 1;
    const std::string level = rep.certification_p
                                  ? "DocMDP P=" + std::to_string(*rep.certification_p)
                                  : std::string("no certification (further signatures allowed)");
    if (all_ok) {
      add(s.checks, "modifications", CheckStatus::kPass,
          s.changes.empty() ? "no changes after this signature"
                            : std::to_string(s.changes.size()) +
                                  " change(s) after this signature, all allowed by " + level);
    } else {
      std::string first;
      for (const auto& c : s.changes) {
        if (!c.allowed) {
          first = c.object + " (" + std::string(to_string(c.kind)) + "): " + c.description;
          break;
        }
      }
      add(s.checks, "modifications", CheckStatus::kFail,
          std::to_string(not_allowed) + " change(s) after this signature not allowed by " + level +
              ", e.g. " + first);
    }
  }
  for (auto& e : entries) rep.signatures.push_back(std::move(e.report));
  // Signer–issuer binding over the listed signatures, in revision order (trust.md).
  bind_to_issuer(doc, rep);

  // ---- shadow attacks: render the earliest signed revision and the whole file ----
  if (earliest < static_cast<int>(revs.size()) &&
      revs[static_cast<std::size_t>(earliest)].end < ctx.pdf.size()) {
    if (ctx.opts.render_compare) {
      const std::size_t end = revs[static_cast<std::size_t>(earliest)].end;
      for (auto& ch :
           detail::compare_rendering(ctx.pdf.substr(0, end), ctx.pdf, seal_areas, ctx.opts)) {
        rep.checks.push_back(std::move(ch));
      }
    } else {
      add(rep.checks, "rendering", CheckStatus::kNotChecked,
          "rendered comparison disabled by the caller");
    }
  }
}

}  // namespace

VerificationReport verify_pdf(std::string_view pdf, const TrustStore& trust,
                              const VerifyOptions& opts) {
  VerificationReport rep;
  rep.file_size = static_cast<std::int64_t>(pdf.size());
  SystemClock system_clock;
  const Clock& clock = opts.clock != nullptr ? *opts.clock : system_clock;
  if (pdf.size() > opts.max_file_size) {
    add(rep.checks, "limits", CheckStatus::kFail,
        "file is " + std::to_string(pdf.size()) + " bytes, more than the limit " +
            std::to_string(opts.max_file_size));
  } else {
    try {
      pdf::Limits lim;
      lim.max_file_size = opts.max_file_size;
      lim.max_revisions = opts.max_revisions + 1;  // one more: verify_doc names the limit
      lim.max_decoded_stream = opts.max_decoded_stream;
      // A licence has ~100 objects; what the updates after a seal may redefine is bounded by
      // max_objects (verify_doc). Counting every xref entry while the chain is read stops a
      // file of millions of entries before its history is built (issue 16: 60 revisions x
      // 52,000 entries took seconds to open, then was refused by max_objects anyway).
      lim.max_xref_entries = 2 * opts.max_objects;
      const pdf::Document doc = pdf::Document::open(pdf, lim);
      const std::int64_t now = clock.now();
      const Ctx ctx{pdf, doc, trust, opts, now, std::nullopt, nullptr, now};
      verify_doc(ctx, rep);
    } catch (const Error& e) {
      add(rep.checks, e.code() == ErrorCode::kLimitExceeded ? "limits" : "structure",
          CheckStatus::kFail, std::string("not a readable PDF: ") + e.what());
    } catch (const std::bad_alloc&) {
      add(rep.checks, "limits", CheckStatus::kFail, "out of memory while reading the PDF");
    }
  }

  // ---- verdicts ----
  Verdict overall = Verdict::kValid;
  for (const auto& c : rep.checks) {
    if (c.status == CheckStatus::kFail || c.status == CheckStatus::kNotChecked) {
      // A limit reached, or a comparison that could not be made, leaves the question open:
      // INDETERMINATE, never VALID (trust.md "Fail closed"; docs/verdicts.md).
      const bool undecided = c.id == "limits" || c.status == CheckStatus::kNotChecked;
      const bool doc_broken = c.id == "structure" || c.id == "signatures-present";
      overall = worse(overall, undecided    ? Verdict::kIndeterminate
                               : doc_broken ? Verdict::kInvalid
                                            : Verdict::kModified);
      rep.reasons.push_back(c.id + ": " + c.detail);
    }
  }
  for (auto& s : rep.signatures) {
    Verdict v = Verdict::kValid;
    bool untrusted_only = true;
    for (const auto& c : s.checks) {
      if (c.status == CheckStatus::kNotChecked &&
          (c.id == "key-state" || c.id == "issuer-binding" || c.id == "revocation" ||
           c.id == "signature-timestamp" || c.id == "timestamp-token")) {
        // Fail closed: a check that needs data the verifier lacks is INDETERMINATE, never VALID.
        v = worse(v, Verdict::kIndeterminate);
        rep.reasons.push_back("signature '" + s.field_name + "': " + c.id + ": " + c.detail);
        continue;
      }
      if (c.status != CheckStatus::kFail) continue;
      if (c.id == "key-state" && s.key_state_verdict) {
        v = worse(v, *s.key_state_verdict);
      } else if (c.id == "revocation") {
        v = worse(v, Verdict::kRevoked);  // a CRL of the DSS lists the certificate (B-LT)
      } else if (c.id == "proof-of-existence") {
        // An expired certificate and only a claimed signing time: nobody can tell whether the
        // seal was made while it was valid (ETSI EN 319 102-1 OUT_OF_BOUNDS_NO_POE).
        v = worse(v, Verdict::kIndeterminate);
      } else if (signature_invalidating(c.id)) {
        v = worse(v, Verdict::kInvalid);
      } else if (c.id == "chain") {
        untrusted_only = c.detail.rfind("does not chain to a trusted seal root", 0) == 0;
        v = worse(v, untrusted_only ? Verdict::kUnknownSigner : Verdict::kInvalid);
      } else {
        v = worse(v, Verdict::kModified);
      }
      rep.reasons.push_back("signature '" + s.field_name + "': " + c.id + ": " + c.detail);
    }
    if (s.doc_timestamp) {
      // Not a seal: a broken one (its structure or its token) is a forgery and makes the licence
      // INVALID; one whose TSA can no longer be relied on is INDETERMINATE itself and only
      // leaves the signatures before it without its protection (their own verdicts say so).
      s.result = v;
      if (v == Verdict::kInvalid) overall = worse(overall, v);
      continue;
    }
    // A signature with no CMS verified (a structural failure stopped it) cannot be VALID.
    if (v == Verdict::kValid && s.check("signature") == nullptr) v = Verdict::kInvalid;
    s.result = v;
    overall = worse(overall, v);
  }
  const bool any_seal = std::any_of(rep.signatures.begin(), rep.signatures.end(),
                                    [](const SignatureReport& s) { return !s.doc_timestamp; });
  if (!any_seal && overall == Verdict::kValid) overall = Verdict::kInvalid;
  rep.result = overall;
  return rep;
}

}  // namespace libcert
