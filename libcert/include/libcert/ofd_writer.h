// libcert/ofd_writer.h — a licence face (layout.h) as an OFD document (GB/T 33190-2016), sealed
// with the department's GB/T 38540-2020 v4 electronic seal (SM2 with SM3). docs/ofd.md "The OFD
// licence as built" describes the package; this is the second writer of the format-neutral
// layout beside the PDF one: no text is laid out here, and no cairo is used.
//
//   libcert::OfdSealKeyring seals = libcert::OfdSealKeyring::load_dir("keys-example");
//   libcert::PageLayout page = renderer.layout(*tmpl, data, input);        // render.h
//   libcert::OfdDocumentInfo info{.metadata = tmpl->metadata(data, ctx), .created_at = t};
//   std::string ofd = libcert::write_sealed_ofd(page, info, seals.get("samr"), clock);
//
// or, through the façade (issuer.h): IssueRequest::ofd = true and IssuerOptions::ofd_seals set,
// and IssuedLicence::ofd holds the sealed OFD of the same licence (same QR text) as ::pdf.
//
// The package (names as ofdrw and the tax authority use them; docs/ofd.md):
//   OFD.xml                           DocInfo (DocID, Title, CreationDate, Creator, CustomDatas =
//                                     the GB/T 36903 licence record with the PDF's XMP names:
//                                     LicenceIdentifier, LicenceTypeCode, IssuingAuthorityCode,
//                                     Holder, IssueDate, ValidUntil, ...), DocRoot, Signatures
//   Doc_0/Document.xml                CommonData (MaxUnitID, PageArea/PhysicalBox in mm,
//                                     PublicRes), Pages, CustomTags
//   Doc_0/PublicRes.xml               Fonts: one Font per face, FontFile = an embedded subset
//   Doc_0/Res/font_<id>.ttf           the subsets (hb-subset, glyph ids retained)
//   Doc_0/Pages/Page_0/Content.xml    one Layer: frame PathObjects, TextObjects (glyph ids in
//                                     CGTransform; Tibetan: one TextObject per HarfBuzz cluster),
//                                     the QR as one filled PathObject of its dark modules
//   Doc_0/Tags/CustomTags.xml + Licence.xml   the full GB/T 36903 record incl. the face fields
//   Doc_0/Signs/...                   the seal (ofd.h seal_ofd): Signatures.xml, Sign_0/
//                                     {Signature.xml, SignedValue.dat, Seal.esl}; the StampAnnot
//                                     is the seal's square at the layout's seal centre, drawn by
//                                     readers from the seal picture inside Seal.esl
//
// Byte stability: every file is written once as bytes, hashed (References, SM3) as those bytes
// and stored as those bytes; the ZIP is written once, after sealing. With a fixed clock the
// package is byte-identical except the SM2 signature value (OpenSSL draws a fresh k).
//
// Thread-safety: the functions are pure (font subsets are made per call from files); an
// OfdSealKeyring is immutable after loading and may be shared by threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "libcert/clock.h"
#include "libcert/layout.h"
#include "libcert/sign.h"

namespace libcert {

// A department's OFD seal: its SM2 key (Signer with SignatureAlgorithm::kSm2Sm3) and the seal file
// (DER SESeal v4, the .esl the seal maker made for that key; its certificate list names the
// signer's certificate).
struct OfdSeal {
  std::shared_ptr<const Signer> signer;
  std::string esl;
};

// The OFD seals an issuer may use, by department id (templates/departments.json).
class OfdSealKeyring {
 public:
  // Loads <keys_dir>/sm2/seals/<dept>/{seal.key, seal.crt, seal.esl} for every department found
  // there. Throws Error(kIo) if the directory is unreadable, Error(kNotFound) if it holds no
  // complete seal, Error(kCrypto) for a key that does not parse or match its certificate, and
  // Error(kInvalidArgument) for a seal file that does not parse or does not list the certificate.
  static OfdSealKeyring load_dir(const std::string& keys_dir);

  // Throws Error(kInvalidArgument) as load_dir for a seal that does not fit its signer.
  void add(const std::string& department, OfdSeal seal);
  // The department's seal, or throws Error(kNotFound) naming the department.
  [[nodiscard]] const OfdSeal& get(const std::string& department) const;
  [[nodiscard]] bool has(const std::string& department) const;

 private:
  std::map<std::string, OfdSeal> seals_;
};

struct OfdDocumentInfo {
  // Template::metadata() of the licence (formats.md §3): title, identifier, issuer_code, holder,
  // dates, ..., extension (face fields), co_issuer_codes.
  nlohmann::json metadata;
  std::int64_t created_at = 0;  // Unix seconds: DocInfo/CreationDate (China date)
  std::string creator = "libcert";
};

// The unsigned OFD package of one licence face. Throws Error(kInvalidArgument) for a layout
// without a page size or with a glyph run naming a font it does not list, Error(kRender) when a
// font file cannot be read or subset, Error(kInternal) if the ZIP cannot be written.
[[nodiscard]] std::string write_ofd(const PageLayout& page, const OfdDocumentInfo& info);

// The same, sealed by `seal` (ofd.h seal_ofd, GB/T 38540 v4) with the StampAnnot at the layout's
// seal (centre page.seal.cx/cy_mm, side page.seal.spec.diameter_mm) and the clock's time as
// SignatureDateTime / TBS_Sign.timeInfo. Throws as write_ofd and as seal_ofd (a seal that is not
// valid at the clock's time, a signer that is not SM2: kInvalidArgument; signing: kCrypto).
[[nodiscard]] std::string write_sealed_ofd(const PageLayout& page, const OfdDocumentInfo& info,
                                           const OfdSeal& seal, const Clock& clock);

}  // namespace libcert
