// libcert/issuer.h — the façade: validate, render, seal, in one call.
//
//   libcert::TemplateSet templates = libcert::TemplateSet::load("templates");
//   libcert::SealKeyring seals = libcert::SealKeyring::load_dir("keys-example");
//   libcert::SystemClock clock;
//   libcert::Issuer issuer(templates, seals, {.clock = &clock, .qr_host = "LIC.ALI.EXAMPLE"});
//   libcert::IssueRequest req{.template_id = "business-licence-enterprise", .data = json,
//                             .serial = "2025000123"};
//   libcert::IssuedLicence lic = issuer.issue(req);   // lic.pdf is sealed, lic.id canonical
//
// Thread-safety: `issue` is const and may be called from many threads at once; the Issuer holds
// only immutable, shared state (parsed templates, loaded keys, font caches that are thread-safe).
// Nothing nondeterministic is read inside: time comes from options.clock, serials and status-list
// indexes from the request — so a fixed clock and request give a byte-identical PDF.
//
// Failure: throws libcert::Error — kValidation (with every problem) for bad holder data, kNotFound
// for an unknown template or a department without a seal key, kRender when a value cannot be
// printed (no glyph, does not fit), kCrypto when sealing fails. Nothing is returned half-done.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "libcert/clock.h"
#include "libcert/ids.h"
#include "libcert/ltv.h"

namespace libcert {

class TemplateSet;
class Signer;
class TimeStamper;  // tsa.h
class OfdSealKeyring;  // ofd_writer.h
struct LicenceData;

// The seal keys an issuer may use, by department id (templates/departments.json).
class SealKeyring {
 public:
  SealKeyring();
  ~SealKeyring();
  SealKeyring(SealKeyring&&) noexcept;
  SealKeyring& operator=(SealKeyring&&) noexcept;

  // Loads keys-example/seals/<dept>/{seal.key,seal.crt} for every department found there, with
  // keys-example/root/root.crt as the chain's root (not included in the CMS). Throws kIo/kCrypto.
  static SealKeyring load_dir(const std::string& keys_dir);

  void add(const std::string& department, std::shared_ptr<const Signer> signer);
  // The department's active signer, or throws Error(kNotFound) naming the department.
  [[nodiscard]] const Signer& get(const std::string& department) const;
  [[nodiscard]] bool has(const std::string& department) const;

 private:
  std::map<std::string, std::shared_ptr<const Signer>> signers_;
};

struct IssuerOptions {
  const Clock* clock = nullptr;             // required
  std::string qr_host = "LIC.ALI.EXAMPLE";  // upper case: keeps the QR in alphanumeric mode
  // PAdES B-T: every seal carries a signature time-stamp from this source (sign.h
  // SealOptions::timestamper); nullptr: B-B.
  const TimeStamper* timestamper = nullptr;
  // The departments' GB/T 38540 seals (SM2) for OFD renditions (IssueRequest::ofd); nullptr: a
  // request for an OFD throws Error(kNotFound).
  const OfdSealKeyring* ofd_seals = nullptr;
  // PAdES level (libcert/ltv.h seal_to_level): B-LT adds a /DSS with `validation_data` plus the
  // certificates the seal and its time-stamp carry, B-LTA also a document time-stamp. nullopt:
  // B-T with a timestamper, else B-B. A level above B-B without a timestamper is refused.
  std::optional<PadesLevel> level = std::nullopt;
  ValidationData validation_data = {};
  // Which PDF writer serialises the face (issue 21): libcert's own from the format-neutral layout
  // (layout.h; fonts subset once per document with hb-subset, streams deflated with libdeflate),
  // or cairo as render() draws it (previews keep cairo either way).
  enum class PdfWriter { kLibcert, kCairo };
  PdfWriter pdf_writer = PdfWriter::kLibcert;
};

struct IssueRequest {
  std::string template_id;
  nlohmann::json data;                    // holder/face fields, validated by the template
  std::string serial;                     // GB/T 36904 serial, [0-9A-Z]+, unique per type+issuer
  int version = 1;                        // re-issue increments it
  std::uint32_t status_index = 0;         // bit in the department's status list (qr.md);
                                          // allocated at random by the registry
  std::optional<std::int64_t> issued_at;  // default: options.clock->now()
  // Renditions to make (issue 22 "one licence, two renditions"): the same face, identifier and
  // QR text as a PAdES-sealed PDF and/or a GB/T 38540-sealed OFD (ofd_writer.h). At least one.
  bool pdf = true;
  bool ofd = false;
};

struct IssuedLicence {
  LicenceId id;
  std::string identifier;  // id.str()
  std::string template_id;
  std::string department;
  nlohmann::json data;  // normalised face data
  std::int64_t issued_at = 0;
  std::string qr_text;     // HTTPS://HOST/V#<digits>: signed COSE payload
  std::string pdf;         // sealed PDF bytes ("" unless IssueRequest::pdf)
  std::string pdf_sha256;  // lower-case hex
  std::string ofd;         // sealed OFD bytes ("" unless IssueRequest::ofd)
  std::string ofd_sha256;  // lower-case hex
};

class Issuer {
 public:
  Issuer(const TemplateSet& templates, const SealKeyring& seals, IssuerOptions options);
  [[nodiscard]] IssuedLicence issue(const IssueRequest& request) const;
  // The same with holder data the caller has validated already (Template::validate of the
  // request's template; request.data is then not read): a service that must refuse bad data
  // before it writes anything (certd) validates once and seals that result. Throws
  // Error(kInvalidArgument) when `validated` belongs to another template.
  [[nodiscard]] IssuedLicence issue(const IssueRequest& request,
                                    const LicenceData& validated) const;

 private:
  const TemplateSet& templates_;
  const SealKeyring& seals_;
  IssuerOptions options_;
};

// For a program whose job is issuing (certctl, certd, the benchmarks): call once at the start of
// main(), before any thread starts. A licence allocates and frees a few MB (cairo's PDF surface,
// font subsets, zlib's deflate state); with glibc's defaults the freed top of the heap goes back
// to the kernel after every licence and is page-faulted in again by the next one (perf: ~4 % of an
// issuance in the kernel, ~10 % of its CPU time all told). This keeps up to 256 MB of freed heap
// per arena instead (M_TRIM_THRESHOLD, M_TOP_PAD) and serves blocks under 32 MB from the heap
// (M_MMAP_THRESHOLD), so memory stays at its working-set peak instead of being returned.
// Process-wide (mallopt); a no-op on C libraries other than glibc. Never called by the library
// itself: a host application decides its allocator policy.
void tune_allocator_for_issuing() noexcept;

}  // namespace libcert
