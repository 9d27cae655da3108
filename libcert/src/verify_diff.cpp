#include "verify_diff.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "libcert/error.h"

namespace libcert::detail {

namespace {

using pdf::Array;
using pdf::Dict;
using pdf::Kind;
using pdf::Object;
using pdf::Ref;

std::string ref_text(std::uint32_t num, std::uint16_t gen = 0) {
  return std::to_string(num) + " " + std::to_string(gen) + " R";
}

bool is_name(const Object* o, std::string_view n) { return o != nullptr && o->is_name(n); }

const Dict* dict_of(const Object& o) {
  if (o.is(Kind::kDict)) return &o.as_dict();
  if (o.is(Kind::kStream)) return &o.as_stream().dict;
  return nullptr;
}

// Value equality where absent == null (ISO 32000-1 §7.3.7).
bool same(const Object* a, const Object* b) {
  if (a == nullptr || a->is_null()) return b == nullptr || b->is_null();
  if (b == nullptr) return false;
  return *a == *b;
}

std::set<std::string> keys_of(const Dict* a, const Dict* b) {
  std::set<std::string> k;
  if (a != nullptr)
    for (const auto& [key, v] : a->entries()) k.insert(key);
  if (b != nullptr)
    for (const auto& [key, v] : b->entries()) k.insert(key);
  return k;
}

bool contains_ref(const Object& o, int depth = 0) {
  if (depth > 64) return true;
  switch (o.kind()) {
    case Kind::kRef:
      return true;
    case Kind::kArray:
      for (const auto& e : o.as_array())
        if (contains_ref(e, depth + 1)) return true;
      return false;
    case Kind::kDict:
    case Kind::kStream:
      for (const auto& [k, v] : dict_of(o)->entries())
        if (contains_ref(v, depth + 1)) return true;
      return false;
    default:
      return false;
  }
}

std::string key_change(const std::string& k, const Object* x, const Object* y) {
  return "/" + k +
         (x == nullptr   ? " added"
          : y == nullptr ? " removed"
                         : " changed");
}

// A rectangle [x1 y1 x2 y2] (§7.9.5), normalised; nullopt if it is not four numbers.
std::optional<std::array<double, 4>> rect_of(const Object& o) {
  if (!o.is(Kind::kArray) || o.as_array().size() != 4) return std::nullopt;
  std::array<double, 4> r{};
  for (std::size_t i = 0; i < 4; ++i) {
    const Object& e = o.as_array()[i];
    if (!e.is(Kind::kInt) && !e.is(Kind::kReal)) return std::nullopt;
    r[i] = e.as_number();
    if (!std::isfinite(r[i])) return std::nullopt;
  }
  if (r[0] > r[2]) std::swap(r[0], r[2]);
  if (r[1] > r[3]) std::swap(r[1], r[3]);
  return r;
}

double area(const std::array<double, 4>& r) { return (r[2] - r[0]) * (r[3] - r[1]); }

bool overlap(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

// Keys a new merged signature field/widget may have (ISO 32000-1 Tables 164, 188, 220, 232).
// Deliberately without /A, /AA (actions: JavaScript, URI...), /Parent, /Kids, /OC, /BS.
const std::set<std::string, std::less<>> kFieldKeys = {
    "Type", "Subtype", "FT", "T", "TU", "TM", "V", "F", "P", "Rect", "AP", "MK", "Ff",
    "NM", "M", "StructParent", "Lock", "SV"};
// Annotation flags (§12.5.3 Table 165) a new seal widget may carry: Print (4, required), ReadOnly
// (64), Locked (128), LockedContents (512). Invisible, Hidden, NoZoom, NoRotate, NoView,
// ToggleNoView would show it elsewhere, differently or only when printed.
constexpr std::int64_t kAllowedFlags = 4 | 64 | 128 | 512;

// Keys of a plain validation-data stream in the DSS (ETSI EN 319 142-1 §5.4.2.2).
const std::set<std::string, std::less<>> kPlainStreamKeys = {"Length", "Filter"};

class Analysis {
 public:
  Analysis(const pdf::Document& prev, const pdf::Document& cur, int index)
      : prev_(prev), cur_(cur), index_(index) {}

  UpdateAnalysis run(const pdf::Revision& rev, std::size_t max_objects) {
    std::set<std::uint32_t> touched(rev.objects.begin(), rev.objects.end());
    touched.insert(rev.freed.begin(), rev.freed.end());
    out_.objects = touched.size();
    if (touched.size() > max_objects) {
      add("trailer", ChangeClass::kOther,
          "update redefines " + std::to_string(touched.size()) + " objects, more than the limit " +
              std::to_string(max_objects));
      return std::move(out_);
    }
    prev_size_ = prev_.size();
    for (std::uint32_t num : touched) {
      Object o_old, o_new;
      try {
        o_old = prev_.object(num);
      } catch (const Error&) {
        o_old = Object();  // unreadable before: treat as absent; the new value must be explained
      }
      try {
        o_new = cur_.object(num);
      } catch (const Error& e) {
        add(ref_text(num), ChangeClass::kOther, std::string("object cannot be read: ") + e.what());
        explained_.insert(num);
        continue;
      }
      if (o_old == o_new) continue;  // rewritten unchanged: no change (pyHanko does the same)
      if (o_old.is_null() && o_new.is(Kind::kStream)) {
        const Object* t = o_new.as_stream().dict.get("Type");
        // Cross-reference and object streams are file structure, not content (§7.5.7, §7.5.8).
        if (is_name(t, "XRef") || is_name(t, "ObjStm")) continue;
      }
      changed_.emplace(num, std::make_pair(std::move(o_old), std::move(o_new)));
    }

    try {
      trailer();
      if (!changed_.empty() && root_ok_) {
        pages();  // first: the page index is needed to check new widgets
        catalog();
        filled_fields();
        finish_fields();
      }
    } catch (const Error& e) {
      add("trailer", ChangeClass::kOther, std::string("update cannot be analysed: ") + e.what());
    }
    // Every change no rule explained is "other" (it always invalidates).
    std::vector<std::uint32_t> left;
    for (const auto& [num, pair] : changed_)
      if (explained_.count(num) == 0) left.push_back(num);
    if (!left.empty()) {
      const auto paths = paths_to(left);
      for (std::uint32_t num : left) {
        const auto& [o_old, o_new] = changed_.at(num);
        std::string d = describe(num, o_old, o_new);
        if (auto it = paths.find(num); it != paths.end()) d += " (at " + it->second + ")";
        add(ref_text(num), ChangeClass::kOther, std::move(d));
      }
    }
    return std::move(out_);
  }

 private:
  void add(std::string object, ChangeClass kind, std::string description) {
    out_.changes.push_back(Change{index_, std::move(object), kind, std::move(description), false});
  }
  // Explains object `num` (if it changed) with `kind`; reports it once. While a rule is being
  // checked (`Pending`), its marks wait: they count only if the whole rule holds.
  void mark(std::uint32_t num, ChangeClass kind, std::string description) {
    if (!is_changed(num)) return;
    if (!explained_.insert(num).second) return;
    if (pending_ != nullptr) {
      pending_->emplace_back(num, Change{index_, ref_text(num), kind, std::move(description), false});
      return;
    }
    add(ref_text(num), kind, std::move(description));
  }
  struct Pending {
    explicit Pending(Analysis& a) : a_(a), outer_(a.pending_) { a.pending_ = &marks_; }
    // The rule held: its marks become explained changes.
    void commit() {
      a_.pending_ = outer_;
      for (auto& [num, c] : marks_) {
        if (outer_ != nullptr) {
          outer_->emplace_back(num, std::move(c));
        } else {
          a_.out_.changes.push_back(std::move(c));
        }
      }
      marks_.clear();
    }
    ~Pending() {
      a_.pending_ = outer_;
      for (auto& [num, c] : marks_) a_.explained_.erase(num);  // the rule failed: unexplained
    }
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;

   private:
    Analysis& a_;
    std::vector<std::pair<std::uint32_t, Change>>* outer_;
    std::vector<std::pair<std::uint32_t, Change>> marks_;
  };
  void other(std::uint32_t num, std::string description) {
    explained_.insert(num);
    add(ref_text(num), ChangeClass::kOther, std::move(description));
  }
  bool is_changed(std::uint32_t num) const { return changed_.count(num) != 0; }
  // A new object: absent before, and numbered at or above the earlier /Size. A number below it
  // that was free (or dangling) may be referenced by a signed object, so filling it is a change
  // of signed content, never "new".
  bool is_new(std::uint32_t num) const {
    auto it = changed_.find(num);
    return it != changed_.end() && it->second.first.is_null() && num >= prev_size_;
  }
  const Object& new_value(std::uint32_t num) const { return changed_.at(num).second; }

  // ---- trailer (§7.5.5): /Root, /Info, /Encrypt are what the signer saw ----
  void trailer() {
    const Dict& a = prev_.trailer();
    const Dict& b = cur_.trailer();
    for (const char* k : {"Root", "Info", "Encrypt"}) {
      if (same(a.get(k), b.get(k))) continue;
      std::string what = std::string("trailer ") + key_change(k, a.get(k), b.get(k));
      if (const Object* y = b.get(k); y != nullptr && y->is(Kind::kRef)) {
        what += " (now " + ref_text(y->as_ref().num, y->as_ref().gen) + ")";
      }
      if (std::string_view(k) == "Info") what += ": the document information is part of the licence record";
      add("trailer", ChangeClass::kOther, what);
      if (std::string_view(k) == "Root") root_ok_ = false;
    }
  }

  // ---- values that must contain only NEW objects (appearances, signature dictionaries) ----
  // Explains every NEW object `o` reaches; an OLD object it reaches may be used as it is (it is
  // unchanged, or its change has to be explained by a rule of its own).
  void walk_new(const Object& o, ChangeClass kind, const std::string& why, int depth = 0) {
    if (depth > 64) return;
    switch (o.kind()) {
      case Kind::kRef: {
        const std::uint32_t n = o.as_ref().num;
        if (!is_new(n) || explained_.count(n) != 0) return;
        mark(n, kind, why);
        walk_new(new_value(n), kind, why, depth + 1);
        return;
      }
      case Kind::kArray:
        for (const auto& e : o.as_array()) walk_new(e, kind, why, depth + 1);
        return;
      case Kind::kDict:
      case Kind::kStream:
        for (const auto& [k, v] : dict_of(o)->entries()) {
          if (k == "P" || k == "Parent") continue;
          walk_new(v, kind, why, depth + 1);
        }
        return;
      default:
        return;
    }
  }

  // ---- signature fields ----
  struct FieldState {
    bool ok = false;
    bool in_fields = false;
    std::set<std::size_t> in_annots;  // pages whose /Annots list it
    NewSignature sig;
    std::string name;
  };

  std::optional<std::array<double, 4>> page_box(Ref page) const {
    Object node = cur_.object(page);
    for (int hops = 0; hops < 64 && node.is(Kind::kDict); ++hops) {
      const Dict& d = node.as_dict();
      for (const char* k : {"CropBox", "MediaBox"}) {
        if (const Object* b = d.get(k)) return rect_of(cur_.resolve(b));
      }
      const Object* parent = d.get("Parent");
      if (parent == nullptr) break;
      node = cur_.resolve(parent);
    }
    return std::nullopt;
  }

  // Checks the widget part of a new or filled signature field; "" if it is fine.
  std::string widget_problems(const Dict& d, FieldState& st, const Object* old_annots_of_page) {
    const auto rect = rect_of(cur_.resolve(d.get("Rect")));
    if (!rect) return "/Rect is not four numbers";
    st.sig.rect = *rect;
    const bool invisible = area(*rect) == 0;
    if (st.sig.doc_timestamp && !invisible) {
      return "a document timestamp widget must be invisible (zero-area /Rect)";
    }
    if (invisible) {
      // An invisible widget (a document time-stamp, an invisible seal) may still name its page
      // and be listed in that page's /Annots (ISO 32000-1 §12.5.2); neither is required.
      if (const Object* p = d.get("P");
          p != nullptr && p->is(Kind::kRef) && page_index_.count(p->as_ref().num) != 0)
        st.sig.page = page_index_.at(p->as_ref().num);
      return {};
    }
    const Object* f = d.get("F");
    const std::int64_t flags = f != nullptr && f->is(Kind::kInt) ? f->as_int() : 0;
    if ((flags & 4) == 0 || (flags & ~kAllowedFlags) != 0) {
      return "annotation flags /F " + std::to_string(flags) +
             " (a seal widget must be printed and shown as it is: Print, no Hidden, NoView, "
             "NoZoom, ToggleNoView)";
    }
    const Object* p = d.get("P");
    if (p == nullptr || !p->is(Kind::kRef) || page_index_.count(p->as_ref().num) == 0) {
      return "a visible signature widget must name its page in /P";
    }
    st.sig.page = page_index_.at(p->as_ref().num);
    const auto box = page_box(p->as_ref());
    if (!box) return "its page has no readable /MediaBox";
    if (rect->at(0) < box->at(0) || rect->at(1) < box->at(1) || rect->at(2) > box->at(2) ||
        rect->at(3) > box->at(3)) {
      return "/Rect lies (partly) outside its page";
    }
    if (area(*rect) > 0.10 * area(*box)) {
      return "/Rect covers more than 10% of its page (a seal slot is smaller)";
    }
    // It must not cover an annotation that was there before (an earlier seal).
    const Object old_annots = prev_.resolve(old_annots_of_page);
    if (old_annots.is(Kind::kArray)) {
      for (const auto& e : old_annots.as_array()) {
        const Object a = prev_.resolve(e);
        if (!a.is(Kind::kDict)) continue;
        const auto r = rect_of(prev_.resolve(a.as_dict().get("Rect")));
        if (r && area(*r) > 0 && overlap(*r, *rect)) {
          return "/Rect overlaps an annotation of the signed revision" +
                 (e.is(Kind::kRef) ? " (" + ref_text(e.as_ref().num, e.as_ref().gen) + ")"
                                   : std::string());
        }
      }
    }
    return {};
  }

  // /AP of a new seal widget (§12.5.5): only a normal appearance, a NEW form XObject.
  std::string appearance_problems(const Dict& d, const std::string& why) {
    const Object* ap_val = d.get("AP");
    if (ap_val == nullptr) return {};
    if (ap_val->is(Kind::kRef) && !is_new(ap_val->as_ref().num)) {
      return "/AP is an existing object " + ref_text(ap_val->as_ref().num);
    }
    const Object ap = cur_.resolve(ap_val);
    if (!ap.is(Kind::kDict)) return "/AP is not a dictionary";
    for (const auto& [k, v] : ap.as_dict().entries()) {
      if (k != "N") return "/AP has /" + k + " (only a normal appearance /N is allowed)";
    }
    const Object* n = ap.as_dict().get("N");
    if (n == nullptr) return {};
    if (!n->is(Kind::kRef) || !is_new(n->as_ref().num)) {
      return "/AP /N is not a new form XObject";
    }
    const Object& s = new_value(n->as_ref().num);
    if (!s.is(Kind::kStream) || !is_name(s.as_dict().get("Subtype"), "Form")) {
      return "/AP /N is not a form XObject stream";
    }
    if (ap_val->is(Kind::kRef)) mark(ap_val->as_ref().num, ChangeClass::kFormFilling, why);
    walk_new(*n, ChangeClass::kFormFilling, why);
    return {};
  }

  // /V of a new or filled signature field: a NEW signature dictionary with direct values only
  // (signing.md; /Contents must be a direct string in the file for the ByteRange gap anyway).
  std::string value_problems(const Dict& d, FieldState& st) {
    const Object* v = d.get("V");
    if (v == nullptr) {
      return "an empty (unsigned) signature field was added: after sealing only signed fields may "
             "be";
    }
    if (!v->is(Kind::kRef)) return "/V is not a reference to a signature dictionary";
    if (!is_new(v->as_ref().num)) {
      return "/V points at an existing object " + ref_text(v->as_ref().num, v->as_ref().gen) +
             " (another field's signature dictionary?), not a new signature";
    }
    const Object& sd = new_value(v->as_ref().num);
    if (!sd.is(Kind::kDict)) return "/V is not a dictionary";
    if (contains_ref(sd)) return "its signature dictionary refers to other objects";
    st.sig.value = v->as_ref();
    const Object* type = sd.as_dict().get("Type");
    if (is_name(type, "DocTimeStamp")) {
      if (!is_name(sd.as_dict().get("SubFilter"), "ETSI.RFC3161")) {
        return "a /DocTimeStamp without /SubFilter /ETSI.RFC3161";
      }
      st.sig.doc_timestamp = true;
    } else if (type != nullptr && !type->is_name("Sig")) {
      return "/V is not a /Sig dictionary";
    }
    return {};
  }

  // A new merged signature field/widget listed in /AcroForm /Fields or a page's /Annots.
  FieldState* new_field(const Object& entry, const std::string& where) {
    if (!entry.is(Kind::kRef)) {
      add(where, ChangeClass::kOther, "a direct (not indirect) field or annotation was added");
      return nullptr;
    }
    const std::uint32_t n = entry.as_ref().num;
    if (auto it = fields_.find(n); it != fields_.end()) return it->second.ok ? &it->second : nullptr;
    FieldState& st = fields_[n];
    st.sig.revision = index_;
    st.sig.field = entry.as_ref();
    if (!is_new(n)) {
      add(ref_text(n), ChangeClass::kOther,
          "an existing object was added to " + where + " (only new signature fields may be)");
      return nullptr;
    }
    const Object& o = new_value(n);
    if (!o.is(Kind::kDict)) {
      other(n, "entry added to " + where + " is not a dictionary");
      return nullptr;
    }
    const Dict& d = o.as_dict();
    if (const Object* t = d.get("T"); t != nullptr && t->is(Kind::kString))
      st.name = t->as_string().bytes;
    if (!is_name(d.get("FT"), "Sig") || !is_name(d.get("Subtype"), "Widget")) {
      const Object* st_name = d.get("Subtype");
      std::string what = st_name != nullptr && st_name->is(Kind::kName)
                             ? "a /" + st_name->as_name() + " annotation"
                             : std::string("an object that is not a signature field/widget");
      other(n, what + " was added to " + where +
                   " (only signature fields with their widget may be added after sealing)");
      return nullptr;
    }
    Pending pending(*this);
    std::string problem;
    for (const auto& [k, v] : d.entries()) {
      if (kFieldKeys.count(k) == 0) {
        problem = "the new signature widget has /" + k +
                  (k == "A" || k == "AA" ? " (an action: JavaScript, URI, ...)" : "") +
                  ", which a seal widget may not have";
        break;
      }
    }
    if (problem.empty() && d.has("Type") && !is_name(d.get("Type"), "Annot"))
      problem = "/Type is not /Annot";
    if (problem.empty()) problem = value_problems(d, st);
    // The page's /Annots as signed: an overlap check needs it (found when pages() runs first).
    const Object* old_annots = nullptr;
    Object old_annots_holder;
    if (const Object* p = d.get("P"); p != nullptr && p->is(Kind::kRef)) {
      try {
        const Object old_page = prev_.object(p->as_ref());
        if (old_page.is(Kind::kDict) && old_page.as_dict().get("Annots") != nullptr) {
          old_annots_holder = *old_page.as_dict().get("Annots");
          old_annots = &old_annots_holder;
        }
      } catch (const Error&) {
      }
    }
    if (problem.empty()) problem = widget_problems(d, st, old_annots);
    const std::string what = std::string(st.sig.doc_timestamp ? "document timestamp field '"
                                                              : "new signature field '") +
                             st.name + "'";
    const ChangeClass kind =
        st.sig.doc_timestamp ? ChangeClass::kLtaUpdate : ChangeClass::kFormFilling;
    if (problem.empty()) problem = appearance_problems(d, "appearance of " + what);
    if (problem.empty() && d.has("MK")) {
      if (contains_ref(*d.get("MK"))) problem = "/MK refers to other objects";
    }
    if (!problem.empty()) {
      other(n, what + ": " + problem);
      return nullptr;
    }
    st.ok = true;
    mark(n, kind, what + " with its widget");
    mark(st.sig.value.num, kind,
         std::string(st.sig.doc_timestamp ? "document timestamp" : "signature") +
             " dictionary of " + what);
    pending.commit();
    return &st;
  }

  // Every new field must be in /AcroForm /Fields (or the verifier would not find its signature)
  // and, if visible, in its page's /Annots.
  void finish_fields() {
    for (auto& [n, st] : fields_) {
      if (!st.ok) continue;
      std::string problem;
      if (!st.in_fields) {
        problem = "listed in a page's /Annots but not in /AcroForm /Fields";
      } else if (st.sig.page && area(st.sig.rect) > 0 && st.in_annots.count(*st.sig.page) == 0) {
        problem = "a visible widget not listed in its page's /Annots";
      } else if (st.in_annots.size() > 1 ||
                 (!st.in_annots.empty() && (!st.sig.page || *st.in_annots.begin() != *st.sig.page))) {
        problem = "listed in the /Annots of a page other than its /P";
      }
      if (!problem.empty()) {
        add(ref_text(n), ChangeClass::kOther, "signature field '" + st.name + "': " + problem);
        continue;
      }
      out_.signatures.push_back(st.sig);
    }
  }

  // ---- /AcroForm (§12.7.2): /Fields only grows by new signature fields; /SigFlags ----
  // Returns "" or the problems.
  std::string acroform(const Object* a_val, const Object* b_val, ChangeClass& cls) {
    if (b_val == nullptr) return a_val == nullptr ? "" : "/AcroForm removed";
    if (a_val != nullptr && a_val->is(Kind::kRef) && b_val->is(Kind::kRef) &&
        a_val->as_ref() != b_val->as_ref()) {
      return "/AcroForm replaced by another object";
    }
    if (a_val == nullptr && b_val->is(Kind::kRef) && !is_new(b_val->as_ref().num)) {
      return "/AcroForm set to an existing object";
    }
    const Object a = prev_.resolve(a_val), b = cur_.resolve(b_val);
    const Dict* da = dict_of(a);
    const Dict* db = dict_of(b);
    if (db == nullptr) return "/AcroForm is not a dictionary";
    std::string problems;
    std::optional<std::uint32_t> fields_obj;
    for (const auto& k : keys_of(da, db)) {
      const Object* x = da != nullptr ? da->get(k) : nullptr;
      const Object* y = db->get(k);
      if (k == "Fields") {
        if (y == nullptr) {
          if (x != nullptr) problems += "; /Fields removed";
          continue;
        }
        if (x != nullptr && x->is(Kind::kRef) && !same(x, y)) {
          problems += "; /Fields replaced by another object";
          continue;
        }
        if (y->is(Kind::kRef)) {
          const std::uint32_t fn = y->as_ref().num;
          if (x == nullptr && !is_new(fn)) {
            problems += "; /Fields set to an existing object";
            continue;
          }
          fields_obj = fn;
        }
        const Object fa = prev_.resolve(x);
        const Object fb = cur_.resolve(y);
        if (fa == fb) continue;
        if (!fb.is(Kind::kArray) || (!fa.is_null() && !fa.is(Kind::kArray))) {
          problems += "; /Fields is not an array";
          continue;
        }
        std::set<Ref> before;
        if (fa.is(Kind::kArray))
          for (const auto& e : fa.as_array())
            if (e.is(Kind::kRef)) before.insert(e.as_ref());
        std::set<Ref> after;
        for (const auto& e : fb.as_array()) {
          if (e.is(Kind::kRef)) {
            if (!after.insert(e.as_ref()).second) {
              problems += "; field " + ref_text(e.as_ref().num) + " listed twice";
              continue;
            }
            if (before.count(e.as_ref()) != 0) continue;
          }
          FieldState* st = new_field(e, "/AcroForm /Fields");
          if (st != nullptr) st->in_fields = true;
          // Document timestamps alone are an LTA update; anything else added is form filling.
          if (st == nullptr || !st->sig.doc_timestamp) cls = ChangeClass::kFormFilling;
        }
        for (const auto& r : before)
          if (after.count(r) == 0)
            problems += "; field " + ref_text(r.num, r.gen) + " removed from /Fields";
      } else if (same(x, y)) {
        continue;
      } else if (k == "SigFlags" && y != nullptr && y->is(Kind::kInt) && y->as_int() >= 0 &&
                 y->as_int() <= 3) {
        continue;  // §12.7.2 Table 219: SignaturesExist, AppendOnly
      } else {
        problems += "; /AcroForm " + key_change(k, x, y);
      }
    }
    if (problems.empty() && fields_obj)
      mark(*fields_obj, cls, "/AcroForm /Fields: new signature field(s) listed");
    return problems.empty() ? "" : problems.substr(2);
  }

  // ---- document security store (ETSI EN 319 142-1 §5.4.2) ----
  // `sd`: a value in the DSS that must be a plain stream; returns "" or the problem.
  std::string dss_stream(const Object& e, const std::set<Ref>& old_refs, const std::string& where) {
    if (!e.is(Kind::kRef)) return where + ": an entry is not a reference to a stream";
    if (old_refs.count(e.as_ref()) != 0) return {};  // kept as it was (a change is "other")
    const std::uint32_t n = e.as_ref().num;
    if (!is_new(n)) {
      return where + ": " + ref_text(n, e.as_ref().gen) +
             " is an existing object, not new validation data";
    }
    const Object& s = new_value(n);
    if (!s.is(Kind::kStream)) return where + ": " + ref_text(n) + " is not a stream";
    for (const auto& [k, v] : s.as_dict().entries()) {
      if (kPlainStreamKeys.count(k) == 0)
        return where + ": stream " + ref_text(n) + " has /" + k +
               " (validation data are plain streams: /Length, /Filter only)";
    }
    if (const Object* f = s.as_dict().get("Filter"); f != nullptr && !f->is_name("FlateDecode")) {
      return where + ": stream " + ref_text(n) + " has a filter other than /FlateDecode";
    }
    mark(n, ChangeClass::kLtaUpdate, "validation data in the document security store (" + where +
                                         ")");
    return {};
  }

  // An array of the DSS: the earlier one's entries kept, new plain streams added.
  std::string dss_array(const Object* x, const Object* y, const std::string& where,
                        std::set<Ref>* all_refs) {
    if (y == nullptr) return x == nullptr ? "" : where + " removed";
    if (y->is(Kind::kRef)) {
      const std::uint32_t an = y->as_ref().num;
      if (!(x != nullptr && same(x, y)) && !is_new(an)) {
        return where + " is an existing object " + ref_text(an);
      }
      mark(an, ChangeClass::kLtaUpdate, "document security store " + where);
    }
    const Object a = prev_.resolve(x), b = cur_.resolve(y);
    if (!b.is(Kind::kArray)) return where + " is not an array";
    std::set<Ref> old_refs;
    if (a.is(Kind::kArray))
      for (const auto& e : a.as_array())
        if (e.is(Kind::kRef)) old_refs.insert(e.as_ref());
    std::set<Ref> new_refs;
    for (const auto& e : b.as_array()) {
      if (std::string p = dss_stream(e, old_refs, where); !p.empty()) return p;
      new_refs.insert(e.as_ref());
      if (all_refs != nullptr) all_refs->insert(e.as_ref());
    }
    for (const auto& r : old_refs)
      if (new_refs.count(r) == 0) return where + ": entry " + ref_text(r.num, r.gen) + " removed";
    return {};
  }

  std::string dss(const Object* x, const Object* y) {
    if (y == nullptr) return "/DSS removed";
    if (y->is(Kind::kRef)) {
      const std::uint32_t dn = y->as_ref().num;
      if (!(x != nullptr && same(x, y)) && !is_new(dn)) {
        return "/DSS set to an existing object " + ref_text(dn);
      }
      mark(dn, ChangeClass::kLtaUpdate, "document security store (/DSS)");
    }
    const Object a = prev_.resolve(x), b = cur_.resolve(y);
    if (!b.is(Kind::kDict)) return "/DSS is not a dictionary";
    const Dict* da = dict_of(a);
    const Dict& db = b.as_dict();
    std::set<Ref> streams;  // every stream of /Certs /CRLs /OCSPs (VRI entries must name them)
    for (const auto& k : keys_of(da, &db)) {
      const Object* xv = da != nullptr ? da->get(k) : nullptr;
      const Object* yv = db.get(k);
      if (k == "Type") {
        if (yv != nullptr && !yv->is_name("DSS")) return "/DSS /Type is not /DSS";
      } else if (k == "Certs" || k == "CRLs" || k == "OCSPs") {
        if (std::string p = dss_array(xv, yv, "/DSS /" + k, &streams); !p.empty()) return p;
      } else if (k == "VRI") {
        if (std::string p = vri(xv, yv, streams); !p.empty()) return p;
      } else {
        return "/DSS " + key_change(k, xv, yv) + " (only /Certs /CRLs /OCSPs /VRI)";
      }
    }
    return {};
  }

  // /VRI (ETSI EN 319 142-1 §5.4.2.3): keys are signature hashes; values name DSS streams.
  std::string vri(const Object* x, const Object* y, const std::set<Ref>& streams) {
    if (y == nullptr) return x == nullptr ? "" : "/DSS /VRI removed";
    if (y->is(Kind::kRef)) {
      const std::uint32_t vn = y->as_ref().num;
      if (!(x != nullptr && same(x, y)) && !is_new(vn)) return "/DSS /VRI is an existing object";
      mark(vn, ChangeClass::kLtaUpdate, "document security store /VRI");
    }
    const Object a = prev_.resolve(x), b = cur_.resolve(y);
    if (!b.is(Kind::kDict)) return "/DSS /VRI is not a dictionary";
    const Dict* da = dict_of(a);
    for (const auto& k : keys_of(da, &b.as_dict())) {
      const Object* xv = da != nullptr ? da->get(k) : nullptr;
      const Object* yv = b.as_dict().get(k);
      const std::string where = "/DSS /VRI /" + k;
      if (xv != nullptr) {
        if (!same(xv, yv)) return where + " changed or removed (earlier entries stay as they are)";
        continue;
      }
      if (yv->is(Kind::kRef)) {
        if (!is_new(yv->as_ref().num)) return where + " is an existing object";
        mark(yv->as_ref().num, ChangeClass::kLtaUpdate, "document security store " + where);
      }
      const Object e = cur_.resolve(yv);
      if (!e.is(Kind::kDict)) return where + " is not a dictionary";
      for (const auto& [ek, ev] : e.as_dict().entries()) {
        if (ek == "Type") {
          if (!ev.is_name("VRI")) return where + " /Type is not /VRI";
        } else if (ek == "Cert" || ek == "CRL" || ek == "OCSP") {
          if (ev.is(Kind::kRef)) {
            if (!is_new(ev.as_ref().num)) return where + " /" + ek + " is an existing object";
            mark(ev.as_ref().num, ChangeClass::kLtaUpdate, "document security store " + where);
          }
          const Object arr = cur_.resolve(ev);
          if (!arr.is(Kind::kArray)) return where + " /" + ek + " is not an array";
          for (const auto& r : arr.as_array()) {
            if (!r.is(Kind::kRef) || streams.count(r.as_ref()) == 0) {
              return where + " /" + ek + " names an object that is not a stream of the DSS";
            }
          }
        } else if (ek == "TU") {
          if (!ev.is(Kind::kString)) return where + " /TU is not a date string";
        } else if (ek == "TS") {
          if (std::string p = dss_stream(ev, {}, where + " /TS"); !p.empty()) return p;
        } else {
          return where + " has /" + ek + " (only /Cert /CRL /OCSP /TU /TS)";
        }
      }
    }
    return {};
  }

  // ---- catalog (§7.7.2): only /DSS, /Extensions, a direct /AcroForm may differ ----
  void catalog() {
    const Ref cr = cur_.catalog_ref();
    catalog_num_ = cr.num;
    const Object old_o = prev_.object(cr);
    const Object new_o = cur_.object(cr);
    const Dict* a = dict_of(old_o);
    const Dict* b = dict_of(new_o);
    if (a == nullptr || b == nullptr) {
      other(cr.num, "catalog is not a dictionary");
      return;
    }
    std::string problems;
    std::vector<std::string> what;
    ChangeClass worst = ChangeClass::kLtaUpdate;
    for (const auto& k : keys_of(a, b)) {
      const Object* x = a->get(k);
      const Object* y = b->get(k);
      if (k == "AcroForm") {
        // An indirect /AcroForm may change without the catalog changing.
        if (same(x, y) && !(y != nullptr && y->is(Kind::kRef) && is_changed(y->as_ref().num)))
          continue;
        ChangeClass cls = ChangeClass::kLtaUpdate;
        std::string p = acroform(x, y, cls);
        if (!p.empty()) {
          problems += "; " + p;
        } else {
          if (y != nullptr && y->is(Kind::kRef))
            mark(y->as_ref().num, cls, "interactive form: new signature field(s) listed");
          if (!same(x, y)) {
            what.push_back("/AcroForm");
            if (cls == ChangeClass::kFormFilling) worst = cls;
          }
        }
      } else if (k == "DSS") {
        // An indirect /DSS may change without the catalog changing.
        if (same(x, y) && !(y != nullptr && y->is(Kind::kRef) && is_changed(y->as_ref().num)))
          continue;
        Pending pending(*this);
        if (std::string p = dss(x, y); !p.empty()) {
          problems += "; " + p;
        } else {
          pending.commit();
          if (!same(x, y)) what.push_back("/DSS");
        }
      } else if (same(x, y)) {
        continue;
      } else if (k == "Extensions" && y != nullptr) {
        // §7.12: developer extensions say which features the file uses; plain values only.
        const Object e = y->is(Kind::kRef) && is_new(y->as_ref().num) ? new_value(y->as_ref().num)
                                                                       : *y;
        if (contains_ref(e) || !e.is(Kind::kDict)) {
          problems += "; /Extensions must be a new dictionary of plain values";
        } else {
          if (y->is(Kind::kRef)) mark(y->as_ref().num, ChangeClass::kLtaUpdate, "/Extensions");
          what.push_back("/Extensions");
        }
      } else {
        problems += "; catalog " + key_change(k, x, y);
      }
    }
    if (!is_changed(cr.num)) {
      if (!problems.empty()) add(ref_text(cr.num), ChangeClass::kOther, problems.substr(2));
      return;
    }
    if (!problems.empty()) {
      other(cr.num, "catalog: " + problems.substr(2));
      return;
    }
    std::string d;
    for (auto& w : what) d += (d.empty() ? "" : ", ") + w;
    mark(cr.num, worst, "catalog: " + (d.empty() ? std::string("rewritten") : d) + " updated");
  }

  // ---- pages (§7.7.3, §12.5.2): the same pages; /Annots only grows by new seal widgets ----
  void pages() {
    const std::vector<Ref> before = prev_.page_refs();
    const std::vector<Ref> after = cur_.page_refs();
    for (std::size_t i = 0; i < after.size(); ++i) page_index_[after[i].num] = i;
    std::set<Ref> before_set(before.begin(), before.end());
    for (std::size_t i = 0; i < after.size(); ++i) {
      const Ref p = after[i];
      const std::string page = "page " + std::to_string(i + 1);
      if (before_set.count(p) == 0) {
        other(p.num, page + " was added (" + std::to_string(before.size()) + " -> " +
                         std::to_string(after.size()) + " pages)");
        continue;
      }
      const Object new_page = cur_.object(p);
      const Dict* b = dict_of(new_page);
      if (b == nullptr) continue;
      if (const Object* c = b->get("Contents"); c != nullptr) {
        if (c->is(Kind::kRef)) content_of_[c->as_ref().num] = i;
        if (c->is(Kind::kArray))
          for (const auto& e : c->as_array())
            if (e.is(Kind::kRef)) content_of_[e.as_ref().num] = i;
      }
      const Object* annots_val = b->get("Annots");
      const bool annots_obj_changed = annots_val != nullptr && annots_val->is(Kind::kRef) &&
                                      is_changed(annots_val->as_ref().num);
      if (!is_changed(p.num) && !annots_obj_changed) continue;
      const Object old_page = prev_.object(p);
      const Dict* a = dict_of(old_page);
      std::string problems;
      bool grew = false;
      ChangeClass cls = ChangeClass::kLtaUpdate;
      for (const auto& k : keys_of(a, b)) {
        const Object* x = a != nullptr ? a->get(k) : nullptr;
        const Object* y = b->get(k);
        if (k != "Annots") {
          if (!same(x, y)) problems += "; " + key_change(k, x, y);
          continue;
        }
        if (x != nullptr && x->is(Kind::kRef) && !same(x, y)) {
          problems += "; /Annots replaced by another object";
          continue;
        }
        if (x == nullptr && y != nullptr && y->is(Kind::kRef) && !is_new(y->as_ref().num)) {
          problems += "; /Annots set to an existing object";
          continue;
        }
        const Object aa = prev_.resolve(x);
        const Object ab = cur_.resolve(y);
        if (aa == ab) continue;
        if (!ab.is(Kind::kArray)) {
          problems += "; /Annots removed or not an array";
          continue;
        }
        std::set<Ref> old_refs;
        if (aa.is(Kind::kArray))
          for (const auto& e : aa.as_array())
            if (e.is(Kind::kRef)) old_refs.insert(e.as_ref());
        std::set<Ref> new_refs;
        for (const auto& e : ab.as_array()) {
          if (e.is(Kind::kRef)) {
            if (!new_refs.insert(e.as_ref()).second) {
              problems += "; annotation " + ref_text(e.as_ref().num) + " listed twice";
              continue;
            }
            if (old_refs.count(e.as_ref()) != 0) continue;
          }
          FieldState* st = new_field(e, page + " /Annots");
          if (st != nullptr) st->in_annots.insert(i);
          if (st == nullptr || !st->sig.doc_timestamp) cls = ChangeClass::kFormFilling;
          grew = true;
        }
        for (const auto& r : old_refs)
          if (new_refs.count(r) == 0)
            problems += "; annotation " + ref_text(r.num, r.gen) + " removed";
      }
      const std::uint32_t n =
          annots_obj_changed && !is_changed(p.num) ? annots_val->as_ref().num : p.num;
      if (annots_obj_changed && n != annots_val->as_ref().num) {
        if (problems.empty()) mark(annots_val->as_ref().num, cls, page + " /Annots");
      }
      if (!problems.empty()) {
        other(n, page + ": " + problems.substr(2));
      } else {
        mark(n, cls, page + ": " + (grew ? "signature widget appended to /Annots" : "rewritten"));
      }
    }
    std::set<std::uint32_t> after_nums;
    for (const auto& p : after) after_nums.insert(p.num);
    for (const auto& p : before)
      if (after_nums.count(p.num) == 0)
        add(ref_text(p.num, p.gen), ChangeClass::kOther, "a page was removed from the page tree");
  }

  // Filling an existing, empty signature field (§12.7.4.5): only /V (and /AP) added, with the
  // same constraints as a new field.
  void filled_fields() {
    for (const auto& [num, pair] : changed_) {
      if (explained_.count(num) != 0 || num == catalog_num_) continue;
      const Dict* a = dict_of(pair.first);
      const Dict* b = dict_of(pair.second);
      if (a == nullptr || b == nullptr || pair.second.is(Kind::kStream)) continue;
      if (!is_name(a->get("FT"), "Sig") || a->has("V") || !b->has("V")) continue;
      Pending pending(*this);
      std::string problem;
      for (const auto& k : keys_of(a, b)) {
        if (k == "V" || k == "AP") continue;
        if (!same(a->get(k), b->get(k))) problem = "filling it also changed " + key_change(k, a->get(k), b->get(k));
      }
      FieldState& st = fields_[num];
      st.sig.revision = index_;
      st.sig.field = Ref{num, 0};
      if (const Object* t = b->get("T"); t != nullptr && t->is(Kind::kString))
        st.name = t->as_string().bytes;
      st.in_fields = true;  // it was a field before
      if (problem.empty()) problem = value_problems(*b, st);
      if (problem.empty() && is_name(b->get("Subtype"), "Widget")) {
        problem = widget_problems(*b, st, nullptr);
        if (problem.empty() && st.sig.page) st.in_annots.insert(*st.sig.page);
      }
      if (problem.empty()) problem = appearance_problems(*b, "appearance of a filled field");
      const std::string what = "empty signature field '" + st.name + "' filled";
      if (!problem.empty()) {
        other(num, what + ": " + problem);
        continue;
      }
      const ChangeClass kind =
          st.sig.doc_timestamp ? ChangeClass::kLtaUpdate : ChangeClass::kFormFilling;
      st.ok = true;
      mark(num, kind, what);
      mark(st.sig.value.num, kind, "signature dictionary of " + what);
      pending.commit();
    }
  }

  // Where an unexplained object is used: a path from the trailer, found breadth-first over at
  // most kPathBudget objects (enough for a licence; a bigger file gets no path, not a hang).
  std::map<std::uint32_t, std::string> paths_to(const std::vector<std::uint32_t>& targets) const {
    constexpr std::size_t kPathBudget = 20000;
    std::set<std::uint32_t> want(targets.begin(), targets.end());
    std::map<std::uint32_t, std::string> found;
    std::map<std::uint32_t, std::string> path;
    std::deque<std::uint32_t> queue;
    auto visit = [&](const Object& o, const std::string& at, auto& self, int depth) -> void {
      if (depth > 32) return;
      switch (o.kind()) {
        case Kind::kRef: {
          const std::uint32_t n = o.as_ref().num;
          if (path.count(n) != 0 || path.size() > kPathBudget) return;
          path.emplace(n, at);
          if (want.count(n) != 0) found.emplace(n, at);
          queue.push_back(n);
          return;
        }
        case Kind::kArray: {
          std::size_t i = 0;
          for (const auto& e : o.as_array()) self(e, at + "[" + std::to_string(i++) + "]", self, depth + 1);
          return;
        }
        case Kind::kDict:
        case Kind::kStream:
          for (const auto& [k, v] : dict_of(o)->entries()) {
            // Not through /DSS: its entries are judged by the DSS rule; the path that matters
            // is the one a viewer uses (pages, resources, fields).
            if (k == "Parent" || k == "P" || k == "DSS") continue;
            self(v, at + "/" + k, self, depth + 1);
          }
          return;
        default:
          return;
      }
    };
    try {
      for (const char* k : {"Root", "Info"})
        if (const Object* r = cur_.trailer().get(k)) visit(*r, std::string("trailer/") + k, visit, 0);
      while (!queue.empty() && found.size() < want.size()) {
        const std::uint32_t n = queue.front();
        queue.pop_front();
        Object o;
        try {
          o = cur_.object(n);
        } catch (const Error&) {
          continue;
        }
        visit(o, path.at(n), visit, 0);
      }
    } catch (const Error&) {
    }
    return found;
  }

  std::string describe(std::uint32_t num, const Object& o_old, const Object& o_new) const {
    const std::string verb = o_old.is_null() ? "new object" : "changed object";
    if (o_new.is_null()) return "object deleted (made free)";
    if (const Object* i = cur_.trailer().get("Info"); i != nullptr && i->is(Kind::kRef) &&
                                                       i->as_ref().num == num) {
      return verb + ": the document information dictionary (/Info) changed: metadata is part of "
                    "the licence record";
    }
    if (auto it = content_of_.find(num); it != content_of_.end()) {
      return verb + ": content stream of page " + std::to_string(it->second + 1) +
             " (the displayed page content changed)";
    }
    const Dict* d = dict_of(o_new);
    if (d != nullptr) {
      const Object* t = d->get("Type");
      const Object* st = d->get("Subtype");
      if (is_name(t, "Metadata")) return verb + ": XMP metadata (part of the licence record)";
      std::string what;
      if (t != nullptr && t->is(Kind::kName)) what = "/" + t->as_name();
      if (st != nullptr && st->is(Kind::kName)) what += (what.empty() ? "/" : " /") + st->as_name();
      if (is_name(t, "Pages")) return verb + ": page tree node (pages added, removed or reordered)";
      if (o_old.is_null() && num < prev_size_) {
        return verb + " " + what + " in object number " + std::to_string(num) +
               ", below the earlier /Size (a slot the signed revision may refer to)";
      }
      if (!what.empty()) return verb + " " + what + " not explained by any allowed update";
      return verb + (o_new.is(Kind::kStream) ? " (stream)" : " (dictionary)") +
             " not explained by any allowed update";
    }
    return verb + " (" + std::string(pdf::to_string(o_new.kind())) +
           ") not explained by any allowed update";
  }

  const pdf::Document& prev_;
  const pdf::Document& cur_;
  int index_;
  std::uint32_t prev_size_ = 0;
  std::uint32_t catalog_num_ = 0;
  bool root_ok_ = true;
  std::map<std::uint32_t, std::pair<Object, Object>> changed_;  // num -> (before, after)
  std::set<std::uint32_t> explained_;
  std::map<std::uint32_t, FieldState> fields_;       // new or filled signature fields
  std::map<std::uint32_t, std::size_t> page_index_;  // page object -> 0-based index
  std::map<std::uint32_t, std::size_t> content_of_;  // content stream -> page index
  UpdateAnalysis out_;
  std::vector<std::pair<std::uint32_t, Change>>* pending_ = nullptr;
};

}  // namespace

UpdateAnalysis classify_update(const pdf::Document& prev, const pdf::Document& cur, int index,
                               const pdf::Revision& rev, std::size_t max_objects) {
  Analysis a(prev, cur, index);
  return a.run(rev, max_objects);
}

}  // namespace libcert::detail
