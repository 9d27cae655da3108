// tests/support/attack_corpus.h — a licence-like PDF made with cairo, sealing it with the
// keys-example seals, and the byte surgery that turns a sealed file into the attacks of
// signing.md ("What a verifier must reject"). Shared by the unit and interop verify tests.
#pragma once

#include <cairo-pdf.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gobj.h"
#include "libcert/clock.h"
#include "libcert/ids.h"
#include "libcert/ltv.h"
#include "libcert/tsa.h"
#include "libcert/pdf.h"
#include "libcert/roles.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "support/test_pdf.h"
#include "xmp.h"

namespace attack {

namespace pdf = libcert::pdf;

inline const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kSealTime = 1767225600;    // 2026-01-01T00:00:00Z
constexpr std::int64_t kVerifyTime = 1780272000;  // 2026-06-01T00:00:00Z
constexpr double kSealX = 410.5, kSealY = 90.5, kSealSize = 119;

inline constexpr const char* kSamrUscc = testsupport::kUsccSamr;
inline constexpr const char* kApprovalUscc = testsupport::kUsccApproval;
inline constexpr const char* kWaterUscc = testsupport::kUsccWater;
using testsupport::licence_xmp;

// A one-page licence-like PDF made with cairo (classic xref table, as the renderer writes it):
// a title, a face value and a red circle where the seal goes; XMP naming `issuer` (default the
// market regulator) and the co-issuers that may add approval seals (default the approval bureau).
inline std::string cairo_licence(const std::string& issuer = kSamrUscc,
                                 const std::vector<std::string>& co_issuers = {kApprovalUscc}) {
  std::string out;
  auto write = +[](void* closure, const unsigned char* data, unsigned int len) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), len);
    return CAIRO_STATUS_SUCCESS;
  };
  {
    libcert::gobj::Surface s(cairo_pdf_surface_create_for_stream(write, &out, 595.28, 841.89));
    libcert::gobj::Cairo cr(cairo_create(s.get()));
    cairo_select_font_face(cr.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr.get(), 18);
    cairo_move_to(cr.get(), 72, 100);
    cairo_show_text(cr.get(), "Business licence (test)");
    cairo_move_to(cr.get(), 72, 160);
    cairo_show_text(cr.get(), "Registered capital: 1,000,000 CNY");
    cairo_set_source_rgb(cr.get(), 0.902, 0, 0.071);
    cairo_set_line_width(cr.get(), 3.4);
    cairo_arc(cr.get(), kSealX + kSealSize / 2, 841.89 - (kSealY + kSealSize / 2), 57.8, 0,
              6.283185307179586);
    cairo_stroke(cr.get());
    cairo_show_page(cr.get());
    cairo_surface_finish(s.get());
  }
  return libcert::detail::add_xmp_to_cairo_pdf(out, licence_xmp(issuer, co_issuers));
}

inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The example trust bundle: every keys-example seal active from its certificate's notBefore,
// signed by the example bundle key (what `certctl trust-bundle export` publishes). `edit` may
// change states before signing (retire, revoke).
template <typename Edit>
inline std::string example_bundle(Edit edit, std::uint64_t version = 1) {
  libcert::TrustBundle b;
  b.version = version;
  b.issued_at = 1767225600;  // 2026-01-01
  b.root_der = libcert::certificate_der_from_pem(slurp_file(kKeys + "/root/root.crt"));
  std::vector<std::filesystem::path> dirs;
  for (const auto& e : std::filesystem::directory_iterator(kKeys + "/seals"))
    dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    const std::string der =
        libcert::certificate_der_from_pem(slurp_file((d / "seal.crt").string()));
    b.seals.push_back(libcert::SealEntry::from_certificate(d.filename().string(),
                                                           libcert::certificate_role(der).uscc, der,
                                                           libcert::SealState::kActive));
  }
  edit(b);
  return b.sign(libcert::certificate_chain_der_from_pem(slurp_file(kKeys + "/bundle/bundle.crt")),
                libcert::digest_signer_from_pem(slurp_file(kKeys + "/bundle/bundle.key")));
}
inline std::string example_bundle() {
  return example_bundle([](libcert::TrustBundle&) {});
}
// The verifier's configuration for the example keys.
inline libcert::BundlePins example_pins() {
  return {libcert::certificate_der_from_pem(slurp_file(kKeys + "/root/root.crt")),
          libcert::read_pins(slurp_file(kKeys + "/bundle/pins.txt"))};
}
// The key states of the example trust bundle as a verifier's trust data (VerifyOptions::keys),
// parsed once per process and shared by every fixture.
inline const libcert::BundleSealKeys& example_seal_states() {
  static const libcert::BundleSealKeys keys(
      libcert::TrustBundle::parse(example_bundle(), example_pins()));
  return keys;
}
inline libcert::PemFileSigner seal_of(const std::string& dept) {
  return {kKeys + "/seals/" + dept + "/seal.key", kKeys + "/seals/" + dept + "/seal.crt"};
}

inline std::string seal(std::string_view in, const libcert::Signer& signer, int p,
                        libcert::SealKind kind = libcert::SealKind::kCertification,
                        double x = kSealX) {
  static const libcert::FixedClock clock(kSealTime);
  libcert::SealOptions o;
  o.clock = &clock;
  o.kind = kind;
  o.docmdp_p = p;
  o.rect = {x, kSealY, kSealSize, kSealSize};
  o.reason = "电子证照签章";
  return libcert::seal_pdf(in, signer, o);
}

// Where the /ByteRange array and the /Contents string of signature `index` are in the file.
struct SigPos {
  std::size_t br_pos, br_end, ct_pos, ct_end;
};
inline SigPos sig_pos(const std::string& bytes, std::size_t index = 0) {
  const auto doc = pdf::Document::open(bytes);
  const pdf::Object field = doc.resolve(doc.acroform()->get("Fields")->as_array().at(index));
  const pdf::Object sig = doc.object(field.as_dict().get("V")->as_ref());
  const auto* br = sig.as_dict().get("ByteRange");
  const auto* ct = sig.as_dict().get("Contents");
  return {br->pos, br->end, ct->pos, ct->end};
}

// Overwrites [pos, end) with `text` padded with spaces (same length: xref offsets stay valid).
inline std::string overwrite(std::string bytes, std::size_t pos, std::size_t end,
                             const std::string& text) {
  EXPECT_LE(text.size(), end - pos);
  bytes.replace(pos, end - pos, text + std::string(end - pos - text.size(), ' '));
  return bytes;
}

inline std::string with_byte_range(const std::string& bytes, std::int64_t a, std::int64_t b,
                                   std::int64_t c) {
  const SigPos p = sig_pos(bytes);
  return overwrite(
      bytes, p.br_pos, p.br_end,
      "[0 " + std::to_string(a) + " " + std::to_string(b) + " " + std::to_string(c) + "]");
}

// Incremental Saving Attack material: an update giving page 1 a new content stream in which the
// face value is painted over and replaced (ISO 32000-1 §7.5.6 update, written by our own writer).
inline std::string face_value_changed(const std::string& sealed) {
  const auto doc = pdf::Document::open(sealed);
  const pdf::Ref page_ref = doc.page_ref(0);
  pdf::Object page = doc.object(page_ref);
  const pdf::Object old_content = doc.resolve(page.as_dict().get("Contents"));
  pdf::Stream content;
  content.data = doc.decode(old_content.as_stream()) +
                 "\nq 1 1 1 rg 60 660 420 40 re f 0 0 0 rg 72 670 m 250 670 l 250 688 l 72 688 l "
                 "f Q\n";
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref c = up.allocate();
  up.set(c, pdf::Object(std::move(content)));
  page.as_dict().set("Contents", pdf::Object(c));
  up.set(page_ref, page);
  return up.write().pdf;
}

// ---- issue 16: the change-policy corpus ------------------------------------------------------

// Where the holder's name ("Business licence (test)") is painted: PDF user space.
constexpr double kNameX1 = 60, kNameY1 = 728, kNameX2 = 330, kNameY2 = 762;

using Changed = std::vector<std::pair<pdf::Ref, pdf::Object>>;

// The three kinds of sealed licence every class of attack is tried on.
enum class Licence { kP1, kP2, kApprovalOnly };
inline const char* to_string(Licence l) {
  return l == Licence::kP1 ? "P1" : l == Licence::kP2 ? "P2" : "approval-only";
}

// The unsigned licence with an XMP packet naming `holder` (catalog /Metadata, ISO 32000-1
// §14.3.2), as the renderer's licences carry one.
inline std::string with_xmp(const std::string& unsigned_pdf, const std::string& holder) {
  const auto doc = pdf::Document::open(unsigned_pdf);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref m = up.allocate();
  pdf::Stream xmp;
  xmp.dict.set("Type", pdf::Name{"Metadata"});
  xmp.dict.set("Subtype", pdf::Name{"XML"});
  // The licence metadata the verifier binds the seal to (issuer samr, co-issuer the approval
  // bureau, as cairo_licence() writes), plus the holder as dc:creator for the XMP attacks.
  std::string data = licence_xmp(kSamrUscc, {kApprovalUscc});
  const std::string desc = "<rdf:Description ";
  data.replace(data.find(desc), desc.size(),
               desc + "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" ");
  const std::string end = "</rdf:Description>";
  data.insert(data.find(end), " <dc:creator>" + holder + "</dc:creator>\n");
  xmp.data = data;
  up.set(m, pdf::Object(std::move(xmp)));
  pdf::Dict cat = doc.catalog();
  cat.set("Metadata", m);
  up.set(doc.catalog_ref(), pdf::Object(std::move(cat)));
  return up.write().pdf;
}

inline std::string seal_licence(const std::string& unsigned_pdf, Licence l) {
  if (l == Licence::kApprovalOnly)
    return seal(unsigned_pdf, seal_of("samr"), 0, libcert::SealKind::kApproval);
  return seal(unsigned_pdf, seal_of("samr"), l == Licence::kP1 ? 1 : 2);
}

inline pdf::Ref first_field(const pdf::Document& doc) {
  return doc.acroform()->get("Fields")->as_array().at(0).as_ref();
}

// Replaces the trailer entry "/Key n 0 R" of the LAST update of `bytes` (written by our writer,
// which copies /Root and /Info) by "/Key m 0 R". The trailer follows the xref section, so
// startxref stays right.
inline std::string retarget_trailer(std::string bytes, std::size_t after, const std::string& key,
                                    std::uint32_t from, std::uint32_t to) {
  const std::string old = "/" + key + " " + std::to_string(from) + " 0 R";
  const auto t = bytes.rfind(old);
  EXPECT_NE(t, std::string::npos);
  EXPECT_GT(t, after);
  if (t == std::string::npos) return bytes;
  bytes.replace(t, old.size(), "/" + key + " " + std::to_string(to) + " 0 R");
  return bytes;
}

// An update that gives the catalog a /DSS (ETSI EN 319 142-1 §5.4.2) whose /Certs holds the seal
// certificate as a new plain stream — and, when `smuggled` is not empty, also lists those
// changed objects, which are written in the same update: the "reachable from /DSS means
// allowed" forgery of issue 16.
inline std::string dss_update(const std::string& sealed, const Changed& smuggled = {}) {
  const auto doc = pdf::Document::open(sealed);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref cert = up.allocate();
  pdf::Stream cs;
  cs.data = slurp_file(kKeys + "/seals/samr/seal.crt");
  up.set(cert, pdf::Object(std::move(cs)));
  pdf::Array certs{pdf::Object(cert)};
  for (const auto& [r, o] : smuggled) {
    up.set(r, o);
    certs.emplace_back(r);
  }
  pdf::Dict dss;
  dss.set("Type", pdf::Name{"DSS"});
  dss.set("Certs", pdf::Object(std::move(certs)));
  const pdf::Ref dss_ref = up.allocate();
  up.set(dss_ref, pdf::Object(std::move(dss)));
  pdf::Dict cat = doc.catalog();
  cat.set("DSS", dss_ref);
  up.set(doc.catalog_ref(), pdf::Object(std::move(cat)));
  return up.write().pdf;
}

// ---- objects an attacker changes (each returns the new versions) ----

// Page 1's content stream, with the holder's name painted over and a rectangle of "new text".
inline Changed page_content_changed(const pdf::Document& doc) {
  const pdf::Object page = doc.object(doc.page_ref(0));
  const pdf::Object* c = page.as_dict().get("Contents");
  pdf::Stream s;
  // The old content in q/Q, so the new marks are painted in default user space (§8.3.2.3).
  s.data = "q\n" + doc.decode(doc.resolve(c).as_stream()) +
           "\nQ\nq 1 1 1 rg 60 728 270 34 re f 0 0 0 rg 72 740 m 300 740 l 300 752 l 72 752 l f Q\n";
  return {{c->as_ref(), pdf::Object(std::move(s))}};
}

// The seal widget (field Seal1) with an action: JavaScript or a URI (ISO 32000-1 §12.6.4).
inline Changed seal_widget_action(const pdf::Document& doc, bool javascript) {
  const pdf::Ref w = first_field(doc);
  pdf::Object o = doc.object(w);
  pdf::Dict a;
  if (javascript) {
    a.set("S", pdf::Name{"JavaScript"});
    a.set("JS", pdf::String{"app.alert('this licence is valid')", false});
  } else {
    a.set("S", pdf::Name{"URI"});
    a.set("URI", pdf::String{"https://evil.example/verify", false});
  }
  o.as_dict().set("A", pdf::Object(std::move(a)));
  return {{w, o}};
}

// The first font's /ToUnicode CMap of page 1 replaced (copy-paste and search read other text).
inline Changed tounicode_changed(const pdf::Document& doc) {
  const pdf::Object page = doc.object(doc.page_ref(0));
  const pdf::Object res = doc.resolve(page.as_dict().get("Resources"));
  const pdf::Object fonts = doc.resolve(res.as_dict().get("Font"));
  for (const auto& [name, f] : fonts.as_dict().entries()) {
    const pdf::Object font = doc.resolve(f);
    const pdf::Object* tu = font.as_dict().get("ToUnicode");
    if (tu == nullptr || !tu->is(pdf::Kind::kRef)) continue;
    std::string cmap = doc.decode(doc.resolve(tu).as_stream());
    for (char& ch : cmap)
      if (ch == '4') ch = '5';  // every mapped code point moved
    pdf::Stream s;
    s.data = cmap;
    return {{tu->as_ref(), pdf::Object(std::move(s))}};
  }
  ADD_FAILURE() << "no font with /ToUnicode on page 1";
  return {};
}

// The XMP packet (catalog /Metadata) naming another holder.
inline Changed xmp_changed(const pdf::Document& doc) {
  const pdf::Dict cat = doc.catalog();
  const pdf::Object* m = cat.get("Metadata");
  EXPECT_NE(m, nullptr);
  if (m == nullptr) return {};
  pdf::Object x = doc.resolve(m);
  std::string data = doc.decode(x.as_stream());
  const auto at = data.find("<dc:creator>");
  data.replace(at + 12, data.find("</dc:creator>") - at - 12, "Another Holder Ltd");
  pdf::Stream s;
  s.dict = x.as_stream().dict;
  s.data = data;
  return {{m->as_ref(), pdf::Object(std::move(s))}};
}

// The seal widget made print-only (Print | NoView, §12.5.3) with an appearance that paints a
// different mark over the seal: screens show the signed page, paper shows the forgery.
inline Changed print_only_over_seal(const pdf::Document& doc) {
  const pdf::Ref w = first_field(doc);
  pdf::Object o = doc.object(w);
  o.as_dict().set("F", pdf::Object(4 | 32));
  const pdf::Ref ap = o.as_dict().get("AP")->as_dict().get("N")->as_ref();
  pdf::Stream s = doc.object(ap).as_stream();
  s.dict.erase("Filter");
  s.data = "q 1 1 1 rg 0 0 119 119 re f 0 0 1 rg 10 10 99 99 re f Q";
  return {{w, o}, {ap, pdf::Object(std::move(s))}};
}

// ---- updates that add a field ----

// Appends `field` to page 1's /Annots (if `in_annots`) and to /AcroForm /Fields (first, if
// `first`), in update `up`.
inline void list_field(const pdf::Document& doc, pdf::IncrementalUpdate& up, pdf::Ref field,
                       bool in_annots = true, bool first = false) {
  const pdf::Ref page_ref = doc.page_ref(0);
  pdf::Object page = doc.object(page_ref);
  if (in_annots) {
    const pdf::Object* annots = page.as_dict().get("Annots");
    if (annots != nullptr && annots->is(pdf::Kind::kRef)) {
      pdf::Object arr = doc.resolve(annots);
      arr.as_array().emplace_back(field);
      up.set(annots->as_ref(), arr);
    } else {
      pdf::Array arr = annots != nullptr ? annots->as_array() : pdf::Array{};
      arr.emplace_back(field);
      page.as_dict().set("Annots", pdf::Object(arr));
      up.set(page_ref, page);
    }
  }
  const pdf::Ref cat_ref = doc.catalog_ref();
  pdf::Dict cat = doc.catalog();
  const pdf::Object* af = cat.get("AcroForm");
  const pdf::Object fobj(field);
  pdf::Object form = doc.resolve(af);
  pdf::Object fields = doc.resolve(form.as_dict().get("Fields"));
  pdf::Array& arr = fields.as_array();
  arr.insert(first ? arr.begin() : arr.end(), fobj);
  form.as_dict().set("Fields", fields);
  if (af->is(pdf::Kind::kRef)) {
    up.set(af->as_ref(), form);
  } else {
    cat.set("AcroForm", form);
    up.set(cat_ref, pdf::Object(cat));
  }
}

// An update adding an EMPTY signature field (no /V) whose widget at `rect` paints it white:
// the "unsigned field over the holder's name" forgery.
inline std::string add_empty_sig_field(const std::string& sealed, const pdf::Array& rect) {
  const auto doc = pdf::Document::open(sealed);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref ap = up.allocate();
  const pdf::Ref widget = up.allocate();
  pdf::Stream appearance;
  appearance.dict.set("Type", pdf::Name{"XObject"});
  appearance.dict.set("Subtype", pdf::Name{"Form"});
  appearance.dict.set("BBox", rect);
  appearance.data = "1 1 1 rg 0 0 2000 2000 re f";
  up.set(ap, pdf::Object(std::move(appearance)));
  pdf::Dict w;
  w.set("Type", pdf::Name{"Annot"});
  w.set("Subtype", pdf::Name{"Widget"});
  w.set("FT", pdf::Name{"Sig"});
  w.set("T", pdf::String{"Seal9", false});
  w.set("F", 4);
  w.set("P", doc.page_ref(0));
  w.set("Rect", rect);
  pdf::Dict apd;
  apd.set("N", ap);
  w.set("AP", apd);
  up.set(widget, pdf::Object(std::move(w)));
  list_field(doc, up, widget);
  return up.write().pdf;
}

// An update adding a second field whose /V is the genuine signature dictionary of Seal1, listed
// FIRST in /AcroForm /Fields.
inline std::string add_field_on_genuine_sig(const std::string& sealed) {
  const auto doc = pdf::Document::open(sealed);
  const pdf::Object genuine = doc.object(first_field(doc));
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref widget = up.allocate();
  pdf::Dict w;
  w.set("Type", pdf::Name{"Annot"});
  w.set("Subtype", pdf::Name{"Widget"});
  w.set("FT", pdf::Name{"Sig"});
  w.set("T", pdf::String{"Seal0", false});
  w.set("V", *genuine.as_dict().get("V"));
  w.set("F", 4);
  w.set("P", doc.page_ref(0));
  w.set("Rect", pdf::Array{0, 0, 0, 0});
  up.set(widget, pdf::Object(std::move(w)));
  list_field(doc, up, widget, true, true);
  return up.write().pdf;
}

// A new signature (or document timestamp) field made by hand, signed for real with `signer`
// (a document timestamp gets a placeholder token: its verification is issue 19). `widget_extra`
// and `sig_extra` are merged into the widget and the signature dictionary.
struct FieldSpec {
  std::string name = "Seal2";
  pdf::Array rect{260, kSealY, 260 + 60, kSealY + 60};
  pdf::Dict widget_extra;
  pdf::Dict sig_extra;
  bool doc_timestamp = false;
};
inline std::string add_signed_field(const std::string& in, const libcert::Signer& signer,
                                    const FieldSpec& f) {
  const auto doc = pdf::Document::open(in);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref sig = up.allocate();
  const pdf::Ref widget = up.allocate();
  pdf::Dict sd;
  sd.set("Type", pdf::Name{f.doc_timestamp ? "DocTimeStamp" : "Sig"});
  sd.set("Filter", pdf::Name{"Adobe.PPKLite"});
  sd.set("SubFilter", pdf::Name{f.doc_timestamp ? "ETSI.RFC3161" : "ETSI.CAdES.detached"});
  if (!f.doc_timestamp) sd.set("M", pdf::String{"D:20260101000000Z", false});
  for (const auto& [k, v] : f.sig_extra.entries()) sd.set(k, v);
  up.set_signature(sig, sd, 8192);
  pdf::Dict w;
  w.set("Type", pdf::Name{"Annot"});
  w.set("Subtype", pdf::Name{"Widget"});
  w.set("FT", pdf::Name{"Sig"});
  w.set("T", pdf::String{f.name, false});
  w.set("V", sig);
  w.set("F", 4);
  w.set("P", doc.page_ref(0));
  w.set("Rect", f.rect);
  const bool visible = f.rect.at(2).as_number() > f.rect.at(0).as_number();
  if (visible) {
    const pdf::Ref ap = up.allocate();
    pdf::Stream appearance;
    appearance.dict.set("Type", pdf::Name{"XObject"});
    appearance.dict.set("Subtype", pdf::Name{"Form"});
    appearance.dict.set("BBox", f.rect);
    appearance.data = "0.9 0 0.07 RG 2 w 262 92 56 56 re S";
    up.set(ap, pdf::Object(std::move(appearance)));
    pdf::Dict apd;
    apd.set("N", ap);
    w.set("AP", apd);
  }
  for (const auto& [k, v] : f.widget_extra.entries()) w.set(k, v);
  up.set(widget, pdf::Object(std::move(w)));
  list_field(doc, up, widget, visible);
  pdf::Output out = up.write();
  const pdf::ByteRange br = pdf::fill_byte_range(out.pdf, *out.signature);
  unsigned char md[32];
  unsigned int md_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, out.pdf.data(), br.a);
  EVP_DigestUpdate(ctx, out.pdf.data() + br.b, br.c);
  EVP_DigestFinal_ex(ctx, md, &md_len);
  EVP_MD_CTX_free(ctx);
  const std::string der = f.doc_timestamp
                              ? std::string("\x30\x03\x02\x01\x05", 5)
                              : libcert::cades_detached_signature(std::span(md, md_len), signer);
  pdf::fill_contents(out.pdf, *out.signature, der);
  return out.pdf;
}

// A DocMDP transform (§12.8.2.2) for a hand-made signature's /Reference.
inline pdf::Array docmdp_reference(int p) {
  pdf::Dict params;
  params.set("Type", pdf::Name{"TransformParams"});
  params.set("P", p);
  params.set("V", pdf::Name{"1.2"});
  pdf::Dict ref;
  ref.set("Type", pdf::Name{"SigRef"});
  ref.set("TransformMethod", pdf::Name{"DocMDP"});
  ref.set("TransformParams", pdf::Object(std::move(params)));
  return pdf::Array{pdf::Object(std::move(ref))};
}

// A document timestamp field (ETSI EN 319 142-1 §5.4.3): invisible widget, /DocTimeStamp.
// A genuine document time-stamp (B-LTA) from the demo TSA at kSealTime + 1 day
// (libcert::add_document_timestamp).
inline std::string add_doc_timestamp(const std::string& in) {
  const libcert::FixedClock clock(kSealTime + 86400);
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = libcert::TimeStampAuthority::from_files(
      kKeys + "/tsa/tsa.key", kKeys + "/tsa/tsa.crt", {},
      libcert::TsaOptions{&clock, &rng, &state, {}, 1});
  return libcert::add_document_timestamp(in, tsa);
}

// The attacks of "What was seen" 1, each as the objects it changes.
struct DssSmuggle {
  const char* name;
  Changed (*make)(const pdf::Document&);
};
inline const std::vector<DssSmuggle>& dss_smuggles() {
  static const std::vector<DssSmuggle> v = {
      {"page-content", [](const pdf::Document& d) { return page_content_changed(d); }},
      {"seal-javascript", [](const pdf::Document& d) { return seal_widget_action(d, true); }},
      {"seal-uri", [](const pdf::Document& d) { return seal_widget_action(d, false); }},
      {"tounicode", [](const pdf::Document& d) { return tounicode_changed(d); }},
      {"xmp-holder", [](const pdf::Document& d) { return xmp_changed(d); }},
      {"print-only-over-seal", [](const pdf::Document& d) { return print_only_over_seal(d); }},
  };
  return v;
}

inline std::string smuggle_under_dss(const std::string& sealed, const DssSmuggle& a) {
  const auto doc = pdf::Document::open(sealed);
  return dss_update(sealed, a.make(doc));
}

}  // namespace attack
