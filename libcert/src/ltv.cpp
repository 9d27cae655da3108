// ltv.cpp — PAdES B-LT (/DSS) and B-LTA (document time-stamp) updates, and sealing to a level
// (see libcert/ltv.h and docs/signing.md "Levels").
#include "libcert/ltv.h"

#include <openssl/pkcs7.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <shared_mutex>

#include "libcert/error.h"
#include "libcert/pdf.h"
#include "libcert/sign.h"
#include "libcert/tsa.h"
#include "cms_der.h"
#include "ossl.h"

namespace libcert {

namespace {

using pdf::Dict;
using pdf::Kind;
using pdf::Object;

std::string digest(const EVP_MD* md, const std::vector<std::string_view>& parts) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> h{};
  unsigned n = 0;
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1;
  for (auto p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), h.data(), &n) == 1;
  ossl::check(ok, "ltv: hashing");
  return {reinterpret_cast<const char*>(h.data()), n};
}

std::string upper_hex(std::string_view b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (char ch : b) {
    const auto c = static_cast<unsigned char>(ch);
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

pdf::Name name(const char* n) { return pdf::Name{n}; }

// Every signature dictionary of the document (/AcroForm /Fields, one level of /Kids), with /V
// resolved: what /VRI keys and what the certificate collection reads.
std::vector<Dict> signature_dicts(const pdf::Document& doc) {
  std::vector<Dict> out;
  const auto af = doc.acroform();
  if (!af) return out;
  const Object fields = doc.resolve(af->get("Fields"));
  if (!fields.is(Kind::kArray)) return out;
  std::vector<Object> todo(fields.as_array().begin(), fields.as_array().end());
  std::set<std::uint32_t> seen;
  for (std::size_t i = 0; i < todo.size() && i < 10000; ++i) {
    if (todo[i].is(Kind::kRef) && !seen.insert(todo[i].as_ref().num).second) continue;
    const Object f = doc.resolve(todo[i]);
    if (!f.is(Kind::kDict)) continue;
    if (const Object* kids = f.as_dict().get("Kids")) {
      const Object k = doc.resolve(kids);
      if (k.is(Kind::kArray))
        for (const auto& e : k.as_array()) todo.push_back(e);
    }
    const Object* ft = f.as_dict().get("FT");
    if (ft == nullptr || !ft->is_name("Sig")) continue;
    const Object v = doc.resolve(f.as_dict().get("V"));
    if (v.is(Kind::kDict)) out.push_back(v.as_dict());
  }
  return out;
}

// DER strings this process has already decoded as one whole certificate / CRL. The proof is
// about the exact bytes, so an exact match proves it again without decoding: the seal, CA and TSA
// certificates (and a CA's CRLs) of every B-LT seal are the same few strings, and OpenSSL 3's
// d2i_X509 decodes the public key through its provider decoders (most of add_dss's CPU before,
// issue 21). Bounded: cleared when full (a rotated key brings new certificates; the old entries
// only cost memory). Thread-safe: certd seals on many threads.
class KnownDer {
 public:
  bool has(std::string_view der) const {
    std::shared_lock lock(mu_);
    return set_.find(der) != set_.end();
  }
  void add(std::string_view der) {
    std::unique_lock lock(mu_);
    if (set_.size() >= kMax) set_.clear();
    set_.emplace(der);
  }

 private:
  static constexpr std::size_t kMax = 256;
  mutable std::shared_mutex mu_;
  std::set<std::string, std::less<>> set_;
};

KnownDer& known_certificates() {
  static KnownDer k;
  return k;
}
KnownDer& known_crls() {
  static KnownDer k;
  return k;
}

KnownDer& canonical_certificates() {
  static KnownDer k;
  return k;
}

// True if `der` is one whole certificate that OpenSSL decodes and re-encodes to the same bytes
// (what the OpenSSL path below returns for it): decoded once per process per distinct string.
bool canonical_certificate(std::string_view der) {
  KnownDer& known = canonical_certificates();
  if (known.has(der)) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  bool ok = x != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
  if (ok) {
    unsigned char* d = nullptr;
    const int n = i2d_X509(x.get(), &d);
    ok = n > 0 && std::string_view(reinterpret_cast<char*>(d), static_cast<std::size_t>(n)) == der;
    OPENSSL_free(d);
  }
  ERR_clear_error();
  if (ok) known.add(der);
  return ok;
}

// The fast path: the certificates of a CMS (`tokens`: and of its signature time-stamp tokens)
// read with the DER reader, each certificate proven by canonical_certificate; false (nothing
// appended) if anything is not exactly as expected.
bool fast_certs(std::string_view der, bool tokens, std::vector<std::string>& out) {
  std::vector<std::string_view> certs, toks;
  if (!cms_der::read_signed_data(der, certs, tokens ? &toks : nullptr)) return false;
  for (const auto t : toks)
    if (!cms_der::read_signed_data(t, certs, nullptr)) return false;
  for (const auto c : certs)
    if (!canonical_certificate(c)) return false;
  for (const auto c : certs) out.emplace_back(c);
  return true;
}

// The DER certificates of a PKCS#7 / CMS SignedData (a time-stamp token's, RFC 3161 §2.4.2).
void token_certs(std::string_view der, std::vector<std::string>& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS7, ossl::Deleter<PKCS7_free>> p7(
      d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || !PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr) {
    ERR_clear_error();
    return;
  }
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
    unsigned char* d = nullptr;
    const int n = i2d_X509(sk_X509_value(certs, i), &d);
    if (n > 0) out.emplace_back(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
    OPENSSL_free(d);
  }
  ERR_clear_error();
}

// Certificates of a seal's CMS and of the time-stamp tokens in its unsigned attributes; for a
// document time-stamp, of the token itself.
void signature_certs(const Dict& sig, std::vector<std::string>& out) {
  const Object* c = sig.get("Contents");
  if (c == nullptr || !c->is(Kind::kString)) return;
  const std::string& der = c->as_string().bytes;
  const Object* type = sig.get("Type");
  const bool doc_ts = type != nullptr && type->is_name("DocTimeStamp");
  // Issue 21: OpenSSL's d2i of a CMS decodes every certificate's public key through its
  // provider decoders; the same few certificates are in every seal, so they are read from the
  // DER and proven once per process. The OpenSSL decoder stays the fallback for anything else.
  if (fast_certs(der, !doc_ts, out)) return;
  if (doc_ts) {
    token_certs(der, out);
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) {
    ERR_clear_error();
    return;
  }
  ossl::X509Stack certs(CMS_get1_certs(cms.get()));
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    unsigned char* d = nullptr;
    const int n = i2d_X509(sk_X509_value(certs.get(), i), &d);
    if (n > 0) out.emplace_back(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
    OPENSSL_free(d);
  }
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  ossl::Asn1Object oid(OBJ_txt2obj("1.2.840.113549.1.9.16.2.14", 1));  // RFC 3161 Appendix A
  for (int s = 0; sis != nullptr && s < sk_CMS_SignerInfo_num(sis); ++s) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, s);
    for (int loc = -1; (loc = CMS_unsigned_get_attr_by_OBJ(si, oid.get(), loc)) >= 0;) {
      X509_ATTRIBUTE* attr = CMS_unsigned_get_attr(si, loc);
      for (int i = 0; i < X509_ATTRIBUTE_count(attr); ++i) {
        const ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, i);
        if (t == nullptr || t->type != V_ASN1_SEQUENCE) continue;
        const ASN1_STRING* seq = t->value.sequence;
        token_certs(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(seq)),
                                     static_cast<std::size_t>(ASN1_STRING_length(seq))),
                    out);
      }
    }
  }
  ERR_clear_error();
}

// The DER of one whole object: rejects anything else (trailing bytes, not the expected type).
template <typename T, typename D2i>
void require_der(std::string_view der, D2i d2i, void (*free_fn)(T*), const char* what,
                 std::size_t index, KnownDer& known) {
  if (known.has(der)) return;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  T* obj = d2i(nullptr, &p, static_cast<long>(der.size()));
  const bool whole =
      obj != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
  if (obj != nullptr) free_fn(obj);
  ERR_clear_error();
  if (!whole) {
    throw Error(ErrorCode::kInvalidArgument, std::string("add_dss: ") + what + " " +
                                                 std::to_string(index + 1) +
                                                 " is not one DER-encoded " + what);
  }
  known.add(der);
}

// The DSS array `key` of `old_dss` (resolved), the DER bytes of its streams, appended with new
// streams for `ders` not yet present. Returns the refs of the streams added by this update.
std::vector<pdf::Ref> grow(const pdf::Document& doc, const Dict& old_dss, const char* key,
                           const std::vector<std::string>& ders, pdf::IncrementalUpdate& up,
                           Dict& new_dss) {
  pdf::Array arr;
  std::set<std::string> have;
  if (const Object* a = old_dss.get(key)) {
    const Object r = doc.resolve(a);
    if (!r.is(Kind::kArray)) throw Error(ErrorCode::kPdfMalformed, "/DSS /" + std::string(key) + " is not an array");
    arr = r.as_array();
    for (const auto& e : arr) {
      const Object s = doc.resolve(e);
      if (s.is(Kind::kStream)) have.insert(doc.decode(s.as_stream()));
    }
  }
  std::vector<pdf::Ref> added;
  for (const auto& d : ders) {
    if (!have.insert(d).second) continue;
    pdf::Stream s;
    s.data = d;  // plain DER: the change policy allows /Length (and /FlateDecode) only
    const pdf::Ref ref = up.allocate();
    up.set(ref, Object(std::move(s)));
    arr.push_back(Object(ref));
    added.push_back(ref);
  }
  if (!arr.empty()) new_dss.set(key, Object(std::move(arr)));
  return added;
}

}  // namespace

std::string add_dss(std::string_view bytes, const ValidationData& vd) {
  if (vd.certs_der.empty() && vd.crls_der.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "add_dss: no certificates and no CRLs to add");
  }
  for (std::size_t i = 0; i < vd.certs_der.size(); ++i)
    require_der<X509>(vd.certs_der[i], d2i_X509, X509_free, "certificate", i, known_certificates());
  for (std::size_t i = 0; i < vd.crls_der.size(); ++i)
    require_der<X509_CRL>(vd.crls_der[i], d2i_X509_CRL, X509_CRL_free, "CRL", i, known_crls());

  const pdf::Document doc = pdf::Document::open(bytes);
  const pdf::Ref catalog_ref = doc.catalog_ref();
  Dict catalog = doc.catalog();
  pdf::IncrementalUpdate up(doc);

  // The earlier DSS, kept entry for entry (ETSI EN 319 142-1 §5.4.2: validation data only grow).
  const Object* dss_entry = catalog.get("DSS");
  Dict old_dss;
  if (dss_entry != nullptr) {
    const Object d = doc.resolve(dss_entry);
    if (!d.is(Kind::kDict)) throw Error(ErrorCode::kPdfMalformed, "/DSS is not a dictionary");
    old_dss = d.as_dict();
  }
  Dict dss;
  dss.set("Type", name("DSS"));
  const std::vector<pdf::Ref> certs = grow(doc, old_dss, "Certs", vd.certs_der, up, dss);
  const std::vector<pdf::Ref> crls = grow(doc, old_dss, "CRLs", vd.crls_der, up, dss);
  if (const Object* o = old_dss.get("OCSPs")) dss.set("OCSPs", *o);

  // /VRI (§5.4.2.3): per signature, keyed by SHA-1 of its /Contents bytes, the streams this
  // update adds — for signatures that have no entry yet (earlier entries never change).
  Dict vri;
  if (const Object* v = old_dss.get("VRI")) {
    const Object r = doc.resolve(v);
    if (!r.is(Kind::kDict)) throw Error(ErrorCode::kPdfMalformed, "/DSS /VRI is not a dictionary");
    vri = r.as_dict();
  }
  if (!certs.empty() || !crls.empty()) {
    for (const auto& sig : signature_dicts(doc)) {
      const Object* c = sig.get("Contents");
      if (c == nullptr || !c->is(Kind::kString)) continue;
      const std::string key = upper_hex(digest(EVP_sha1(), {c->as_string().bytes}));
      if (vri.has(key)) continue;
      Dict e;
      if (!certs.empty()) e.set("Cert", pdf::Array(certs.begin(), certs.end()));
      if (!crls.empty()) e.set("CRL", pdf::Array(crls.begin(), crls.end()));
      vri.set(key, Object(std::move(e)));
    }
  }
  if (vri.size() != 0) dss.set("VRI", Object(std::move(vri)));

  if (dss_entry != nullptr && dss_entry->is(Kind::kRef)) {
    up.set(dss_entry->as_ref(), Object(std::move(dss)));  // a new version of the same object
  } else {
    const pdf::Ref ref = up.allocate();
    up.set(ref, Object(std::move(dss)));
    catalog.set("DSS", Object(ref));
    up.set(catalog_ref, Object(std::move(catalog)));
  }
  return std::move(up.write().pdf);
}

std::string add_document_timestamp(std::string_view bytes, const TimeStamper& tsa) {
  const pdf::Document doc = pdf::Document::open(bytes);
  const pdf::Ref catalog_ref = doc.catalog_ref();
  Dict catalog = doc.catalog();
  const pdf::Ref page_ref = doc.page_ref(0);

  const Object* af_entry = catalog.get("AcroForm");
  Dict acroform;
  if (af_entry != nullptr) {
    const Object af = doc.resolve(af_entry);
    if (!af.is(Kind::kDict)) throw Error(ErrorCode::kPdfMalformed, "/AcroForm is not a dictionary");
    acroform = af.as_dict();
  }
  pdf::Array fields;
  if (const Object* f = acroform.get("Fields")) fields = doc.resolve(f).as_array();
  std::set<std::string> names;
  for (const auto& f : fields) {
    const Object fd = doc.resolve(f);
    if (!fd.is(Kind::kDict)) continue;
    if (const Object* t = fd.as_dict().get("T"); t != nullptr && t->is(Kind::kString))
      names.insert(t->as_string().bytes);
  }
  std::string field_name;
  for (int n = 1;; ++n) {
    field_name = "DocTimeStamp" + std::to_string(n);
    if (names.count(field_name) == 0) break;
  }

  pdf::IncrementalUpdate up(doc);
  const pdf::Ref sig_ref = up.allocate();
  const pdf::Ref field_ref = up.allocate();
  // ISO 32000-2 §12.8.5 / ETSI EN 319 142-1 §5.4.3: the time-stamp dictionary (all direct).
  Dict sig;
  sig.set("Type", name("DocTimeStamp"));
  sig.set("Filter", name("Adobe.PPKLite"));
  sig.set("SubFilter", name("ETSI.RFC3161"));
  // An invisible merged field/widget (zero /Rect): the change policy's "document timestamp
  // field" rule (docs/signing.md).
  Dict field;
  field.set("Type", name("Annot"));
  field.set("Subtype", name("Widget"));
  field.set("FT", name("Sig"));
  field.set("T", pdf::String{field_name, false});
  field.set("V", sig_ref);
  field.set("F", Object(4));
  field.set("P", page_ref);
  field.set("Rect", pdf::Array{Object(0), Object(0), Object(0), Object(0)});
  up.set(field_ref, Object(std::move(field)));

  Dict page = doc.object(page_ref).as_dict();
  const Object* annots_entry = page.get("Annots");
  pdf::Array annots;
  if (annots_entry != nullptr) annots = doc.resolve(annots_entry).as_array();
  annots.push_back(Object(field_ref));
  if (annots_entry != nullptr && annots_entry->is(Kind::kRef)) {
    up.set(annots_entry->as_ref(), Object(std::move(annots)));
  } else {
    page.set("Annots", Object(std::move(annots)));
    up.set(page_ref, Object(std::move(page)));
  }
  fields.push_back(Object(field_ref));
  acroform.set("Fields", Object(std::move(fields)));
  acroform.set("SigFlags", Object(3));
  if (af_entry != nullptr && af_entry->is(Kind::kRef)) {
    up.set(af_entry->as_ref(), Object(std::move(acroform)));
  } else {
    catalog.set("AcroForm", Object(std::move(acroform)));
    up.set(catalog_ref, Object(std::move(catalog)));
  }

  // The token's DER size is bounded by the TSA; 256 bytes of margin as for seals.
  up.set_signature(sig_ref, std::move(sig), tsa.max_token_size() + 256);
  pdf::Output out = up.write();
  const pdf::ByteRange br = pdf::fill_byte_range(out.pdf, *out.signature);
  const std::string_view all(out.pdf);
  const std::string h = digest(EVP_sha256(), {all.substr(0, br.a), all.substr(br.b, br.c)});
  const std::string token = tsa.stamp(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()));
  pdf::fill_contents(out.pdf, *out.signature, token);
  return std::move(out.pdf);
}

ValidationData document_certificates(std::string_view bytes) {
  const pdf::Document doc = pdf::Document::open(bytes);
  std::vector<std::string> all;
  for (const auto& sig : signature_dicts(doc)) signature_certs(sig, all);
  ValidationData vd;
  std::set<std::string> seen;
  for (auto& c : all)
    if (seen.insert(c).second) vd.certs_der.push_back(std::move(c));
  return vd;
}

std::string_view to_string(PadesLevel level) noexcept {
  switch (level) {
    case PadesLevel::b_b:
      return "B-B";
    case PadesLevel::b_t:
      return "B-T";
    case PadesLevel::b_lt:
      return "B-LT";
    case PadesLevel::b_lta:
      return "B-LTA";
  }
  return "B-B";
}

std::optional<PadesLevel> parse_pades_level(std::string_view s) {
  std::string n;
  for (char c : s) n += c == '_' ? '-' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (PadesLevel l : {PadesLevel::b_b, PadesLevel::b_t, PadesLevel::b_lt, PadesLevel::b_lta})
    if (n == to_string(l)) return l;
  return std::nullopt;
}

std::string seal_to_level(std::string_view pdf, const Signer& signer, const SealOptions& options,
                          PadesLevel level, const TimeStamper* tsa, const ValidationData& vd) {
  if (level != PadesLevel::b_b && tsa == nullptr) {
    throw Error(ErrorCode::kInvalidArgument,
                "seal: PAdES " + std::string(to_string(level)) +
                    " needs a time-stamping authority (a signature time-stamp)");
  }
  SealOptions o = options;
  o.timestamper = level == PadesLevel::b_b ? nullptr : tsa;
  std::string out = seal_pdf(pdf, signer, o);
  if (level == PadesLevel::b_b || level == PadesLevel::b_t) return out;
  // The DSS: the given data plus every certificate the document's signatures and tokens carry
  // (the seal chain of the CMS, the TSA certificates of the tokens).
  ValidationData all = document_certificates(out);
  for (const auto& c : vd.certs_der)
    if (std::find(all.certs_der.begin(), all.certs_der.end(), c) == all.certs_der.end())
      all.certs_der.push_back(c);
  all.crls_der = vd.crls_der;
  out = add_dss(out, all);
  if (level == PadesLevel::b_lta) out = add_document_timestamp(out, *tsa);
  return out;
}

}  // namespace libcert
