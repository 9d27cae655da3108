// libcert/ltv.h — long-term validation of sealed PDFs: PAdES B-LT and B-LTA (ETSI EN 319 142-1
// §5.4), and sealing to a PAdES level.
//
//   libcert::ValidationData vd{.certs_der = {seal_ca_der, tsa_der}, .crls_der = {ca_crl_der}};
//   std::string lt = libcert::add_dss(sealed_pdf, vd);              // B-T -> B-LT
//   std::string lta = libcert::add_document_timestamp(lt, tsa);    // B-LT -> B-LTA
//
//   // or in one go, from an unsigned PDF:
//   std::string out = libcert::seal_to_level(unsigned_pdf, signer, seal_options,
//                                            libcert::PadesLevel::b_lta, &tsa, vd);
//
// Both functions append ONE incremental update (ISO 32000-1 §7.5.6): every earlier byte is kept,
// so every earlier signature stays intact, and the verifier's change policy (docs/signing.md "The
// change policy") classifies exactly these updates as "lta-update", allowed at every DocMDP level.
//
// add_dss writes a document security store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4.2):
// /DSS << /Type /DSS /Certs [DER streams] /CRLs [DER streams] /VRI << /<SHA-1> << /Cert [...]
// /CRL [...] >> >> >>. An existing DSS is kept entry for entry and only grows (earlier streams are
// never rewritten); a certificate or CRL already present (same bytes) is not added twice. /VRI gets
// one entry per signature of the document that has none yet, keyed by the upper-case hex SHA-1 of
// its /Contents bytes (§5.4.2.3), naming the streams of this update.
//
// add_document_timestamp adds a document time-stamp (ISO 32000-2 §12.8.5, ETSI EN 319 142-1
// §5.4.3): an invisible signature field whose /V is /Type /DocTimeStamp /Filter /Adobe.PPKLite
// /SubFilter /ETSI.RFC3161, /ByteRange [0 a b c] ending at the end of the file, /Contents an RFC
// 3161 TimeStampToken whose imprint is SHA-256 of the two byte ranges.
//
// Errors: Error(kPdfMalformed / kLimitExceeded) if `pdf` cannot be read, Error(kInvalidArgument)
// for an empty ValidationData or a certificate/CRL that is not DER, Error(kCrypto) if the
// time-stamping authority refuses. Thread-safe (no shared state; the TimeStamper's contract).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libcert {

class TimeStamper;  // tsa.h
class Signer;       // sign.h
struct SealOptions;

// Validation data for a DSS: DER certificates (the seal chain and the TSA chain, without or with
// the root) and DER CRLs (RFC 5280 §5) of their issuers.
struct ValidationData {
  std::vector<std::string> certs_der;
  std::vector<std::string> crls_der;
};

// Appends a /DSS update with `vd` (see the top). Throws Error(kInvalidArgument) if `vd` is empty
// or an entry does not parse as a DER certificate / CRL.
[[nodiscard]] std::string add_dss(std::string_view pdf, const ValidationData& vd);

// Appends a document time-stamp from `tsa` (see the top).
[[nodiscard]] std::string add_document_timestamp(std::string_view pdf, const TimeStamper& tsa);

// The PAdES baseline levels (ETSI EN 319 142-1 §6): B-B a CAdES signature; B-T + a signature
// time-stamp (proves when the seal existed); B-LT + a DSS with the chains and CRLs (verifies
// offline after the certificates expire); B-LTA + a document time-stamp (protects the validation
// data, renewable with `certctl ltv extend`).
enum class PadesLevel { b_b, b_t, b_lt, b_lta };
// "B-B", "B-T", "B-LT", "B-LTA".
[[nodiscard]] std::string_view to_string(PadesLevel level) noexcept;
// Accepts "B-B", "B-T", "B-LT", "B-LTA" (case-insensitive, '-' or '_'); nullopt otherwise.
[[nodiscard]] std::optional<PadesLevel> parse_pades_level(std::string_view s);

// The DER certificates every signature of `pdf` carries (each seal's CMS certificates, the TSA
// certificates of its signature time-stamps, those of document time-stamps), each once: the
// certificate part of fresh validation data (`certctl ltv extend`). Throws like add_dss.
[[nodiscard]] ValidationData document_certificates(std::string_view pdf);

// Seals `pdf` to `level`: seal_pdf (B-B), with options.timestamper = tsa (B-T), then add_dss(vd)
// (B-LT), then add_document_timestamp(tsa) (B-LTA). For B-LT and B-LTA the DSS holds `vd` plus
// the signer's certificate and chain and the TSA certificates found in the signature's token.
// Throws Error(kInvalidArgument) if a level above B-B is asked without a `tsa`, plus what
// seal_pdf, add_dss and add_document_timestamp throw.
[[nodiscard]] std::string seal_to_level(std::string_view pdf, const Signer& signer,
                                        const SealOptions& options, PadesLevel level,
                                        const TimeStamper* tsa, const ValidationData& vd = {});

}  // namespace libcert
