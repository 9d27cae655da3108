// tests/support/attack_corpus.h — a licence-like PDF made with cairo, sealing it with the
// keys-example seals, and the byte surgery that turns a sealed file into the attacks of
// signing.md ("What a verifier must reject"). Shared by the unit and interop verify tests.
#pragma once

#include <cairo-pdf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gobj.h"
#include "libcert/clock.h"
#include "libcert/ids.h"
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
  return b.sign(libcert::certificate_der_from_pem(slurp_file(kKeys + "/bundle/bundle.crt")),
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

}  // namespace attack
