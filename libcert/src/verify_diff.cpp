#include "verify_diff.h"

#include <map>
#include <optional>
#include <set>
#include <string>

#include "libcert/error.h"

namespace libcert::detail {

namespace {

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

int rank(ChangeClass c) {
  switch (c) {
    case ChangeClass::kLtaUpdate:
      return 0;
    case ChangeClass::kFormFilling:
      return 1;
    case ChangeClass::kOther:
      return 2;
  }
  return 2;
}

class Analysis {
 public:
  Analysis(const pdf::Document& prev, const pdf::Document& cur, int index)
      : prev_(prev), cur_(cur), index_(index) {}

  std::vector<Change> run(const pdf::Revision& rev, std::size_t max_objects) {
    std::set<std::uint32_t> touched(rev.objects.begin(), rev.objects.end());
    touched.insert(rev.freed.begin(), rev.freed.end());
    if (touched.size() > max_objects) {
      add("trailer", ChangeClass::kOther,
          "update redefines " + std::to_string(touched.size()) + " objects, more than the limit " +
              std::to_string(max_objects));
      return std::move(out_);
    }
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
    if (changed_.empty()) return std::move(out_);

    try {
      analyse();
    } catch (const Error& e) {
      add("trailer", ChangeClass::kOther, std::string("update cannot be analysed: ") + e.what());
    }
    // Every change no rule explained is "other" (it always invalidates).
    for (const auto& [num, pair] : changed_) {
      if (explained_.count(num) != 0) continue;
      add(ref_text(num), ChangeClass::kOther, describe(num, pair.first, pair.second));
    }
    return std::move(out_);
  }

 private:
  void add(std::string object, ChangeClass kind, std::string description) {
    out_.push_back(Change{index_, std::move(object), kind, std::move(description), false});
  }
  void mark(std::uint32_t num, ChangeClass kind, std::string description) {
    if (!explained_.insert(num).second) return;
    add(ref_text(num), kind, std::move(description));
  }
  bool is_changed(std::uint32_t num) const { return changed_.count(num) != 0; }
  bool is_new(std::uint32_t num) const {
    auto it = changed_.find(num);
    return it != changed_.end() && it->second.first.is_null();
  }
  const Object& new_value(std::uint32_t num) const { return changed_.at(num).second; }

  // Marks every changed, not yet explained, non-structural object that `o` reaches (through
  // references, not climbing /P or /Parent back into the page tree) as `kind`.
  void walk(const Object& o, ChangeClass kind, const std::string& why, int depth = 0) {
    if (depth > 64) return;
    switch (o.kind()) {
      case Kind::kRef: {
        const std::uint32_t n = o.as_ref().num;
        if (!is_changed(n) || explained_.count(n) != 0 || structural_.count(n) != 0) return;
        mark(n, kind, why);
        walk(new_value(n), kind, why, depth + 1);
        return;
      }
      case Kind::kArray:
        for (const auto& e : o.as_array()) walk(e, kind, why, depth + 1);
        return;
      case Kind::kDict:
      case Kind::kStream:
        for (const auto& [k, v] : dict_of(o)->entries()) {
          if (k == "P" || k == "Parent") continue;
          walk(v, kind, why, depth + 1);
        }
        return;
      default:
        return;
    }
  }

  std::string field_type(const Dict& d, int depth = 0) const {
    if (const Object* ft = d.get("FT"); ft != nullptr && ft->is(Kind::kName)) return ft->as_name();
    if (depth > 32) return {};
    const Object* parent = d.get("Parent");
    if (parent == nullptr) return {};
    const Object p = cur_.resolve(parent);
    if (!p.is(Kind::kDict)) return {};
    return field_type(p.as_dict(), depth + 1);
  }

  // A new signature field (or a widget of one) that a form-filling update may add.
  void new_signature_field(const Object& entry, const std::string& where) {
    if (!entry.is(Kind::kRef)) {
      add(where, ChangeClass::kOther, "a direct (not indirect) field or annotation was added");
      return;
    }
    const std::uint32_t n = entry.as_ref().num;
    if (explained_.count(n) != 0) return;
    if (!is_new(n)) {
      add(ref_text(n), ChangeClass::kOther,
          "an existing object was added to " + where + " (only new signature fields may be)");
      return;
    }
    const Object& o = new_value(n);
    if (!o.is(Kind::kDict)) {
      add(ref_text(n), ChangeClass::kOther, "entry added to " + where + " is not a dictionary");
      explained_.insert(n);
      return;
    }
    const Dict& d = o.as_dict();
    const Object* subtype = d.get("Subtype");
    const std::string ft = field_type(d);
    if (ft != "Sig" || (subtype != nullptr && !subtype->is_name("Widget"))) {
      std::string what = ft.empty() ? std::string("an object") : "a /" + ft + " field";
      if (subtype != nullptr && subtype->is(Kind::kName))
        what = "a /" + subtype->as_name() + " annotation";
      add(ref_text(n), ChangeClass::kOther,
          what + " was added to " + where + " (only signature fields may be added after sealing)");
      explained_.insert(n);
      return;
    }
    // Document timestamps (ETSI EN 319 142-1 §5.4, /Type /DocTimeStamp) are LTA updates; other
    // signatures (or an empty signature field) are form filling.
    ChangeClass kind = ChangeClass::kFormFilling;
    std::string name;
    if (const Object* t = d.get("T"); t != nullptr && t->is(Kind::kString))
      name = t->as_string().bytes;
    std::string what = "new signature field '" + name + "'";
    try {
      const Object v = cur_.resolve(d.get("V"));
      if (v.is(Kind::kDict) && is_name(v.as_dict().get("Type"), "DocTimeStamp")) {
        kind = ChangeClass::kLtaUpdate;
        what = "new document timestamp field '" + name + "'";
      }
    } catch (const Error&) {
      // an unreadable /V is reported when the signature itself is verified
    }
    mark(n, kind, what + (subtype != nullptr ? " with its widget" : ""));
    walk(o, kind, "part of " + what + " (signature dictionary, widget, appearance)");
  }

  // ISO 32000-1 §12.7.2: /Fields may only grow by new signature fields; /SigFlags may change.
  ChangeClass acroform(const Object& a_val, const Object& b_val, std::string& problems) {
    ChangeClass worst = ChangeClass::kLtaUpdate;
    Object a = prev_.resolve(a_val), b = cur_.resolve(b_val);
    if (a_val.is(Kind::kRef) && b_val.is(Kind::kRef) && a_val.as_ref() != b_val.as_ref()) {
      problems += "; /AcroForm replaced by another object";
      return ChangeClass::kOther;
    }
    if (b_val.is(Kind::kRef)) {
      structural_.insert(b_val.as_ref().num);
      if (is_changed(b_val.as_ref().num)) explained_.insert(b_val.as_ref().num);
    }
    const Dict* da = dict_of(a);
    const Dict* db = dict_of(b);
    if (db == nullptr) {
      problems += "; /AcroForm removed";
      return ChangeClass::kOther;
    }
    for (const auto& k : keys_of(da, db)) {
      const Object* x = da != nullptr ? da->get(k) : nullptr;
      const Object* y = db->get(k);
      if (k == "Fields") {
        // The /Fields array may itself be an indirect object.
        if (y != nullptr && y->is(Kind::kRef) && is_changed(y->as_ref().num)) {
          explained_.insert(y->as_ref().num);
        }
        const Object fa = prev_.resolve(x);
        const Object fb = cur_.resolve(y);
        if (fa == fb) continue;
        if (!fb.is(Kind::kArray) || (!fa.is_null() && !fa.is(Kind::kArray))) {
          problems += "; /AcroForm /Fields is not an array";
          worst = ChangeClass::kOther;
          continue;
        }
        std::set<Ref> before;
        if (fa.is(Kind::kArray))
          for (const auto& e : fa.as_array())
            if (e.is(Kind::kRef)) before.insert(e.as_ref());
        std::set<Ref> after;
        for (const auto& e : fb.as_array()) {
          if (e.is(Kind::kRef)) after.insert(e.as_ref());
          if (e.is(Kind::kRef) && before.count(e.as_ref()) != 0) continue;
          new_signature_field(e, "/AcroForm /Fields");
        }
        for (const auto& r : before) {
          if (after.count(r) == 0) {
            problems += "; field " + ref_text(r.num, r.gen) + " removed from /AcroForm /Fields";
            worst = ChangeClass::kOther;
          }
        }
        if (rank(worst) < rank(ChangeClass::kFormFilling)) worst = ChangeClass::kFormFilling;
      } else if (same(x, y)) {
        continue;
      } else if (k == "SigFlags") {
        if (rank(worst) < rank(ChangeClass::kFormFilling)) worst = ChangeClass::kFormFilling;
      } else {
        problems += "; /AcroForm /" + k + " changed";
        worst = ChangeClass::kOther;
      }
    }
    return worst;
  }

  void catalog() {
    Ref pr, cr;
    try {
      pr = prev_.catalog_ref();
      cr = cur_.catalog_ref();
    } catch (const Error& e) {
      add("trailer", ChangeClass::kOther, std::string("catalog cannot be read: ") + e.what());
      return;
    }
    structural_.insert(cr.num);
    if (pr != cr) {
      add("trailer", ChangeClass::kOther,
          "trailer /Root now points to a different catalog " + ref_text(cr.num, cr.gen) + " (was " +
              ref_text(pr.num, pr.gen) + ")");
      explained_.insert(cr.num);
      return;
    }
    if (!is_changed(cr.num)) {
      // The catalog is unchanged, but an indirect /AcroForm may have changed.
      const Dict c = cur_.catalog();
      if (const Object* af = c.get("AcroForm");
          af != nullptr && af->is(Kind::kRef) && is_changed(af->as_ref().num)) {
        std::string problems;
        const Object before = prev_.catalog().get("AcroForm") != nullptr
                                  ? *prev_.catalog().get("AcroForm")
                                  : Object();
        const ChangeClass k = acroform(before, *af, problems);
        add(ref_text(af->as_ref().num), problems.empty() ? k : ChangeClass::kOther,
            problems.empty() ? "interactive form: new signature field(s) listed"
                             : "interactive form: " + problems.substr(2));
      }
      return;
    }
    const Object& old_o = changed_.at(cr.num).first;
    const Object& new_o = changed_.at(cr.num).second;
    const Dict* a = dict_of(old_o);
    const Dict* b = dict_of(new_o);
    explained_.insert(cr.num);
    if (a == nullptr || b == nullptr) {
      add(ref_text(cr.num), ChangeClass::kOther, "catalog is not a dictionary");
      return;
    }
    ChangeClass worst = ChangeClass::kLtaUpdate;
    std::string problems;
    std::vector<std::string> what;
    for (const auto& k : keys_of(a, b)) {
      const Object* x = a->get(k);
      const Object* y = b->get(k);
      if (same(x, y) && k != "AcroForm") continue;
      if (k == "DSS") {
        // ETSI EN 319 142-1 §5.4.2: the document security store holds validation data only.
        what.push_back("/DSS");
        if (y != nullptr) walk(*y, ChangeClass::kLtaUpdate, "document security store (/DSS)");
      } else if (k == "Extensions") {
        what.push_back("/Extensions");
      } else if (k == "AcroForm") {
        if (y == nullptr) {
          if (x != nullptr) {
            problems += "; /AcroForm removed";
            worst = ChangeClass::kOther;
          }
          continue;
        }
        const ChangeClass c = acroform(x != nullptr ? *x : Object(), *y, problems);
        if (!same(x, y) || c != ChangeClass::kLtaUpdate) what.push_back("/AcroForm");
        if (rank(c) > rank(worst)) worst = c;
      } else {
        problems += "; catalog /" + k +
                    (x == nullptr   ? " added"
                     : y == nullptr ? " removed"
                                    : " changed");
        worst = ChangeClass::kOther;
      }
    }
    if (!problems.empty()) {
      add(ref_text(cr.num), ChangeClass::kOther, "catalog: " + problems.substr(2));
      return;
    }
    std::string d;
    for (auto& w : what) d += (d.empty() ? "" : ", ") + w;
    add(ref_text(cr.num), worst,
        "catalog: " + (d.empty() ? std::string("rewritten") : d) + " updated");
  }

  // ISO 32000-1 §12.5.2: a page's /Annots may only grow by new signature widgets; nothing else of
  // a page may change (its /Contents, /Resources, /MediaBox... are what the signer saw).
  void pages() {
    std::vector<Ref> before, after;
    try {
      before = prev_.page_refs();
      after = cur_.page_refs();
    } catch (const Error& e) {
      add("trailer", ChangeClass::kOther, std::string("page tree cannot be read: ") + e.what());
      return;
    }
    std::set<Ref> before_set(before.begin(), before.end());
    for (std::size_t i = 0; i < after.size(); ++i) {
      page_index_[after[i].num] = i;
      structural_.insert(after[i].num);
    }
    for (std::size_t i = 0; i < after.size(); ++i) {
      const Ref p = after[i];
      const std::string page = "page " + std::to_string(i + 1);
      if (before_set.count(p) == 0) {
        add(ref_text(p.num, p.gen), ChangeClass::kOther,
            page + " was added (" + std::to_string(before.size()) + " -> " +
                std::to_string(after.size()) + " pages)");
        explained_.insert(p.num);
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
      bool annots_grew = false;
      for (const auto& k : keys_of(a, b)) {
        const Object* x = a != nullptr ? a->get(k) : nullptr;
        const Object* y = b->get(k);
        if (k == "Annots") {
          if (annots_obj_changed) explained_.insert(annots_val->as_ref().num);
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
            if (e.is(Kind::kRef)) new_refs.insert(e.as_ref());
            if (e.is(Kind::kRef) && old_refs.count(e.as_ref()) != 0) continue;
            new_signature_field(e, page + " /Annots");
            annots_grew = true;
          }
          for (const auto& r : old_refs)
            if (new_refs.count(r) == 0)
              problems += "; annotation " + ref_text(r.num, r.gen) + " removed";
        } else if (!same(x, y)) {
          problems += "; /" + k +
                      (x == nullptr   ? " added"
                       : y == nullptr ? " removed"
                                      : " changed");
        }
      }
      if (is_changed(p.num) || annots_obj_changed) {
        const std::uint32_t n = is_changed(p.num) ? p.num : annots_val->as_ref().num;
        explained_.insert(n);
        if (!problems.empty()) {
          add(ref_text(n), ChangeClass::kOther, page + ": " + problems.substr(2));
        } else {
          add(ref_text(n), ChangeClass::kFormFilling,
              page + ": " + (annots_grew ? "signature widget appended to /Annots" : "rewritten"));
        }
      }
    }
    for (const auto& p : before) {
      if (page_index_.count(p.num) == 0) {
        add(ref_text(p.num, p.gen), ChangeClass::kOther, "a page was removed from the page tree");
      }
    }
  }

  // Filling an existing, empty signature field (§12.7.4.5): /V (and an appearance) added.
  void filled_fields() {
    for (const auto& [num, pair] : changed_) {
      if (explained_.count(num) != 0 || structural_.count(num) != 0) continue;
      const Dict* a = dict_of(pair.first);
      const Dict* b = dict_of(pair.second);
      if (a == nullptr || b == nullptr) continue;
      if (field_type(*b) != "Sig" || a->has("V") || !b->has("V")) continue;
      bool only_v = true;
      for (const auto& k : keys_of(a, b)) {
        if (k == "V" || k == "AP") continue;
        if (!same(a->get(k), b->get(k))) only_v = false;
      }
      if (!only_v) continue;
      mark(num, ChangeClass::kFormFilling, "empty signature field filled");
      walk(pair.second, ChangeClass::kFormFilling, "part of a filled signature field");
    }
  }

  void info() {
    const Object* i = cur_.trailer().get("Info");
    if (i == nullptr || !i->is(Kind::kRef)) return;
    const std::uint32_t n = i->as_ref().num;
    if (!is_changed(n) || explained_.count(n) != 0) return;
    if (!new_value(n).is(Kind::kDict)) return;
    // The information dictionary is metadata that no viewer displays as page content (§14.3.3).
    mark(n, ChangeClass::kLtaUpdate, "document information dictionary (metadata) updated");
  }

  void analyse() {
    catalog();
    pages();
    filled_fields();
    info();
  }

  std::string describe(std::uint32_t num, const Object& o_old, const Object& o_new) const {
    const std::string verb = o_old.is_null() ? "new object" : "changed object";
    // Which page uses it as content?
    if (auto it = content_of_.find(num); it != content_of_.end()) {
      return verb + ": content stream of page " + std::to_string(it->second + 1) +
             " (the displayed page content changed)";
    }
    const Dict* d = dict_of(o_new);
    if (d != nullptr) {
      const Object* t = d->get("Type");
      const Object* st = d->get("Subtype");
      std::string what;
      if (t != nullptr && t->is(Kind::kName)) what = "/" + t->as_name();
      if (st != nullptr && st->is(Kind::kName)) what += (what.empty() ? "/" : " /") + st->as_name();
      if (is_name(t, "Pages")) return verb + ": page tree node (pages added, removed or reordered)";
      if (!what.empty()) return verb + " " + what + " not explained by any allowed update";
      return verb + (o_new.is(Kind::kStream) ? " (stream)" : " (dictionary)") +
             " not explained by any allowed update";
    }
    if (o_new.is_null()) return "object deleted (made free)";
    return verb + " (" + std::string(pdf::to_string(o_new.kind())) +
           ") not explained by any allowed update";
  }

  const pdf::Document& prev_;
  const pdf::Document& cur_;
  int index_;
  std::map<std::uint32_t, std::pair<Object, Object>> changed_;  // num -> (before, after)
  std::set<std::uint32_t> explained_;
  std::set<std::uint32_t> structural_;  // catalog, AcroForm, pages: own rules, never walked into
  std::map<std::uint32_t, std::size_t> page_index_;
  std::map<std::uint32_t, std::size_t> content_of_;  // content stream -> page index
  std::vector<Change> out_;
};

}  // namespace

std::vector<Change> classify_update(const pdf::Document& prev, const pdf::Document& cur, int index,
                                    const pdf::Revision& rev, std::size_t max_objects) {
  Analysis a(prev, cur, index);
  return a.run(rev, max_objects);
}

}  // namespace libcert::detail
