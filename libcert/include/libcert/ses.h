// libcert/ses.h — SM2/SM3 and the GB/T 38540-2020 electronic seal (SES_Seal v4) and electronic
// signature (SES_Signature) structures, as OFD seals use them.
//
//   libcert::Sm2PemSigner maker("keys-example/sm2/maker/maker.key",
//                               "keys-example/sm2/maker/maker.crt");
//   libcert::Sm2PemSigner seal("keys-example/sm2/seals/samr/seal.key",
//                              "keys-example/sm2/seals/samr/seal.crt");
//   libcert::SesSealSpec spec;
//   spec.es_id = "54250000000001";  spec.name = "阿里地区市场监督管理局电子证照专用章";
//   spec.signer_certs = {seal.certificate()};
//   spec.picture = {"PNG", png_bytes, 42, 42};
//   spec.create_date = spec.valid_start = 1735689600;  spec.valid_end = 1924991999;
//   std::string esl = libcert::make_ses_seal(spec, maker);      // DER SESeal, the .esl file
//   libcert::SesSeal parsed = libcert::parse_ses_seal(esl);
//
// THE DISTINGUISHING ID (GM/T 0009-2012 §10 / GB/T 35276-2017: default "1234567812345678"):
// an SM2 signature hashes e = SM3(Z_A ‖ M) with Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA).
// OpenSSL 3.0 does NOT apply the default ID by itself (it hashes an empty ID), so every SM2
// signature made or checked by libcert sets it explicitly with EVP_PKEY_CTX_set1_id
// (docs/ofd.md "Pitfalls"). A signature made without it verifies nowhere else.
//
// ASN.1 (GB/T 38540-2020 §7 and §8; the module is written as OpenSSL ASN1 templates in
// ses_asn1.h):
//   SESeal        ::= SEQ { eSealInfo SES_SealInfo, cert OCTET STRING (maker), signAlgID OID,
//                           signedValue BIT STRING }                 -- maker signs DER(eSealInfo)
//   SES_SealInfo  ::= SEQ { header SEQ{ID IA5 "ES", version INTEGER 4, Vid IA5}, esID IA5,
//                           property SES_ESPropertyInfo, picture SES_ESPictrueInfo,
//                           extDatas ExtensionDatas OPTIONAL }
//   SES_ESPropertyInfo ::= SEQ { type INTEGER, name UTF8String, certListType INTEGER,
//                           certList SES_CertList, createDate, validStart, validEnd
//                           GeneralizedTime }
//   SES_ESPictrueInfo  ::= SEQ { type IA5 ("PNG"/"ofd"...), data OCTET STRING, width INTEGER,
//                           height INTEGER }                          -- size in millimetres
//   TBS_Sign      ::= SEQ { version INTEGER 4, eseal SESeal, timeInfo GeneralizedTime,
//                           dataHash BIT STRING, propertyInfo IA5String, extDatas [0] OPTIONAL }
//   SES_Signature ::= SEQ { toSign TBS_Sign, cert OCTET STRING (signer), signatureAlgID OID,
//                           signature BIT STRING, timeStamp [0] BIT STRING OPTIONAL }
// Signature values are DER SEQUENCE { r INTEGER, s INTEGER } (GM/T 0009 §7.3) in the BIT STRINGs.
//
// Thread-safety: every function is pure; Sm2PemSigner may sign from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/sign.h"

namespace libcert {

// GM/T 0009-2012 §10: the default distinguishing ID that every SM2 signature here uses.
inline constexpr std::string_view kSm2DefaultId = "1234567812345678";
// GM/T 0006: SM2-with-SM3 signature algorithm; SM3 hash.
inline constexpr std::string_view kOidSm2WithSm3 = "1.2.156.10197.1.501";
inline constexpr std::string_view kOidSm3 = "1.2.156.10197.1.401";

// SM3 (GB/T 32905) of `data`: 32 raw bytes.
[[nodiscard]] std::string sm3(std::string_view data);

// Verifies an SM2-with-SM3 signature `sig_der` (DER SEQUENCE{r, s}) over `message` with the public
// key of the DER certificate `cert_der` and the distinguishing ID `id`. Returns false for a wrong
// or malformed signature and for a certificate that is not an SM2 certificate; never throws for
// bad input (the OpenSSL error queue is left empty).
[[nodiscard]] bool sm2_verify(std::string_view cert_der, std::string_view message,
                              std::string_view sig_der, std::string_view id = kSm2DefaultId);

// An SM2 key (PEM file) with its SM2-with-SM3 certificate: SignatureAlgorithm::kSm2Sm3. It signs
// whole messages (Signer::sign_message) with the default distinguishing ID set explicitly;
// Signer::sign (a precomputed digest) throws Error(kInvalidArgument), because the SM2 digest
// depends on the key and the ID and is computed here.
class Sm2PemSigner final : public Signer {
 public:
  // Throws Error(kIo) if a file cannot be read, Error(kCrypto) if a PEM does not parse, the key is
  // not an SM2 key, or the key does not match the certificate.
  Sm2PemSigner(const std::string& key_path, const std::string& cert_path,
               const std::vector<std::string>& chain_paths = {});
  static Sm2PemSigner from_pem(std::string_view key_pem, std::string_view cert_pem,
                               std::string_view chain_pem = {});

  [[nodiscard]] const std::string& certificate() const override;
  [[nodiscard]] const std::vector<std::string>& chain() const override;
  [[nodiscard]] SignatureAlgorithm algorithm() const override;  // kSm2Sm3
  [[nodiscard]] std::string sign(std::span<const std::uint8_t> digest) const override;
  // DER SEQUENCE{r, s} over SM3(Z_A ‖ message), Z_A with kSm2DefaultId (GM/T 0003.2 §6.1).
  [[nodiscard]] std::string sign_message(std::span<const std::uint8_t> message) const override;

  Sm2PemSigner(Sm2PemSigner&&) noexcept;
  Sm2PemSigner& operator=(Sm2PemSigner&&) noexcept;
  ~Sm2PemSigner() override;

 private:
  struct Impl;
  explicit Sm2PemSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct SesPicture {
  std::string type = "PNG";  // IA5: "PNG", "ofd", "GIF", "JPG", "SVG"
  std::string data;          // the picture file
  int width_mm = 0, height_mm = 0;
};

// What the seal maker puts into a v4 seal.
struct SesSealSpec {
  std::string vid = "LIBCERT";  // vendor id (IA5) in the header
  std::string es_id;            // electronic seal identifier (IA5), e.g. "54250000000001"
  int type = 1;                 // 1 official seal of an organisation (单位印章), 2 personal
  std::string name;             // seal name (UTF-8)
  std::vector<std::string> signer_certs;  // DER certificates that may sign with this seal
  std::int64_t create_date = 0, valid_start = 0, valid_end = 0;  // Unix seconds, UTC
  SesPicture picture;
};

// Makes a DER SESeal v4 (the .esl file) signed by `maker` (an SM2 signer; GB/T 38540 §7: the
// maker signs DER(SES_SealInfo)). Throws Error(kInvalidArgument) for an empty es_id/name/cert
// list/picture, a non-ASCII vid/es_id/picture type, valid_start > valid_end, a picture size
// outside 1..200 mm, or a maker that is not kSm2Sm3; Error(kCrypto) if signing fails.
[[nodiscard]] std::string make_ses_seal(const SesSealSpec& spec, const Signer& maker);

// A parsed seal. `version` is the header version: 4 = GB/T 38540-2020 (fully parsed); 1..3 =
// GM/T 0031-2014 layouts, recognised by their header (format says which) with only the header
// fields set; 5 = GM/T 0031-2025 likewise.
struct SesSeal {
  int version = 0;
  std::string format;  // "GB/T 38540-2020 v4", "GM/T 0031-2014 v2", ...
  std::string vid, es_id;
  int type = 0;
  std::string name;
  int cert_list_type = 0;               // 1 certificates, 2 certificate digests
  std::vector<std::string> certs;       // type 1: DER certificates
  std::vector<std::pair<std::string, std::string>> cert_digests;  // type 2: (algorithm, value)
  std::int64_t create_date = 0, valid_start = 0, valid_end = 0;
  SesPicture picture;
  std::string seal_info_der;  // the exact bytes of SES_SealInfo the maker signed
  std::string maker_cert;     // DER
  std::string sign_alg;       // dotted OID
  std::string maker_signature;  // DER SEQUENCE{r, s}
};

// Parses a DER SESeal. Throws Error(kInvalidArgument) naming the field for anything malformed
// (trailing bytes included) and Error(kLimitExceeded) beyond 16 MiB. A GM/T 0031 seal yields
// version 1..3 or 5 with only version/format/vid/es_id set (not an error: the caller decides).
[[nodiscard]] SesSeal parse_ses_seal(std::string_view der);

// Makes a DER SES_Signature v4: TBS_Sign{4, seal_der (embedded as is), time, data_hash,
// property_info} signed by `signer` (kSm2Sm3) over DER(TBS_Sign). Throws as make_ses_seal.
[[nodiscard]] std::string make_ses_signature(std::string_view seal_der, std::int64_t time,
                                             std::string_view data_hash,
                                             std::string_view property_info,
                                             const Signer& signer);

struct SesSignature {
  int version = 0;      // 4; GM/T 0031 layouts give 1..3 / 5 with nothing else set
  std::string format;
  std::string tbs_der;  // the exact bytes of TBS_Sign the signer signed
  std::string seal_der;  // the exact bytes of the embedded SESeal
  std::int64_t time = 0;
  std::string data_hash;
  std::string property_info;
  std::string signer_cert;  // DER
  std::string sign_alg;
  std::string signature;  // DER SEQUENCE{r, s}
  bool has_timestamp = false;
};
// Parses a DER SES_Signature; throws as parse_ses_seal.
[[nodiscard]] SesSignature parse_ses_signature(std::string_view der);

}  // namespace libcert
