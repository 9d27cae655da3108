// libcert/verify.h — full verification of a sealed PDF: structure, every signature, coverage,
// what changed after each signature, certificate chain at the signing time, seal key state, and a
// rendered comparison of the signed revision with the whole file (shadow attacks).
//
//   libcert::TrustStore trust;
//   trust.add_path("keys-example/root/root-ca.pem");   // a PEM file or a directory of them
//   libcert::BundleSealKeys keys(libcert::TrustBundle::parse(bundle_file, pins));  // trust data
//   libcert::VerifyOptions opts;                        // limits; opts.clock for "now"
//   opts.keys = &keys;                                  // without it: INDETERMINATE
//   auto report = libcert::verify_pdf(pdf_bytes, trust, opts);
//   if (report.result != libcert::Verdict::kValid) {
//     std::cerr << report.to_text();                    // names every failed check
//   }
//   std::cout << report.to_json().dump(2);              // machine-readable
//
// verify_pdf never throws for anything wrong with the PDF: malformed or hostile input yields a
// report with result INVALID and the failed check (e.g. "structure"); input beyond a limit
// yields INDETERMINATE with check "limits" (never VALID). It throws
// libcert::Error only for caller errors (kInvalidArgument: an empty trust store is allowed, but a
// null clock is not) and kInternal bugs. It is thread-safe for concurrent calls: it shares nothing
// but the (read-only) TrustStore and VerifyOptions.
//
// What the verdicts mean (signing.md "What a verifier must reject"):
//   VALID          every signature is cryptographically intact, chains to the trust store at its
//                  signing time, is a seal certificate of the licence's issuer (or of a co-issuer
//                  the licence lists, for a later approval seal), whose key the trust data shows in
//                  use at the signing time, covers its revision exactly, and every later change is
//                  one its certification level (DocMDP /P) allows; the final file renders like the
//                  last signed revision outside new signature widgets.
//   INVALID        a signature is broken: malformed /ByteRange or /Contents (Universal Signature
//                  Forgery, Signature Wrapping), digest or signature mismatch, certificate outside
//                  its validity at the signing time, wrong key usage, a signer that is not a
//                  seal (signer-role) or not of the licence's issuer (issuer-binding), a key used
//                  outside its usage window, /M in the future (signing-time); or the file is not
//                  a readable PDF, or has no signature at all.
//   REVOKED        a seal key revoked with compromised_at at or before the signing time.
//   MODIFIED       the signatures are intact but the file was changed after signing in a way the
//                  certification level does not allow (Incremental Saving Attack), or the displayed
//                  content differs from what was signed (shadow attack).
//   UNKNOWN_SIGNER the signatures are intact but a signer's certificate does not chain to the
//                  trust store, or the trust data does not know the key.
//   INDETERMINATE  no trust data (VerifyOptions::keys), or the document names no issuer.
// When several apply, the precedence of libcert::worst applies (docs/verdicts.md).
//
// Note on time: a PAdES B-B signature carries no proven time. The signing time used for the
// certificate checks is the /M entry of the signature dictionary, which the signer *claims*; the
// report says so (SignatureReport::signing_time_source). A B-T signature time-stamp proves it;
// with B-LT validation data (the /DSS) and B-LTA document time-stamps the seal stays VALID
// after its certificates expire (docs/signing.md "Levels").
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/clock.h"
#include "libcert/verdict.h"

namespace libcert {

// The trust anchors: self-signed seal root certificates. Read-only after loading; sharing one
// TrustStore between threads that only call verify_pdf is safe.
class TrustStore {
 public:
  TrustStore();
  ~TrustStore();
  TrustStore(TrustStore&&) noexcept;
  TrustStore& operator=(TrustStore&&) noexcept;
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // Adds every certificate of a PEM text. Throws Error(kInvalidArgument) if it holds none or a
  // block does not parse (naming `source`).
  void add_pem(std::string_view pem, std::string_view source = "PEM text");
  // A PEM file, or a directory whose *.pem / *.crt files are all added. Throws Error(kIo) if the
  // path cannot be read, Error(kInvalidArgument) as add_pem.
  void add_path(const std::string& path);
  [[nodiscard]] std::size_t size() const;
  // SHA-256 (lower-case hex) of each root's DER, in load order.
  [[nodiscard]] std::vector<std::string> fingerprints() const;

  struct Impl;
  [[nodiscard]] const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// State of a seal key version as the trust data knows it (service.md, issue 7; trust.md "Time and
// state"). certd passes its registry (SealKeys); offline verifiers pass a BundleSealKeys over a
// signed trust bundle (libcert/trust_bundle.h), so both apply the same rules. Without one, check
// "key-state" is not-checked and the verdict is INDETERMINATE (no trust data), never VALID.
struct SealKeyState {
  enum class State { kPending, kActive, kRetired, kRevoked };
  std::string version;  // e.g. "v2"
  State state = State::kActive;
  std::optional<std::int64_t> compromised_at;  // only for kRevoked; Unix seconds
  // The window in which the key was allowed to seal (activation .. end of the retirement second);
  // a signing time outside it fails "key-state". nullopt: not checked.
  std::optional<std::int64_t> usage_from, usage_until;
};

class SealKeyDirectory {
 public:
  virtual ~SealKeyDirectory() = default;
  // Looks a seal certificate up by the SHA-256 (lower-case hex) of its DER. nullopt: unknown.
  // Must be thread-safe.
  [[nodiscard]] virtual std::optional<SealKeyState> lookup(std::string_view cert_sha256) const = 0;
};

struct VerifyOptions {
  // "now": used when a signature has no /M (then the chain is checked at verification time).
  const Clock* clock = nullptr;  // nullptr: SystemClock
  // The trust data: key states and usage windows. nullptr: INDETERMINATE (check "key-state").
  const SealKeyDirectory* keys = nullptr;
  // A claimed signing time (/M) later than now + max_clock_skew seconds is refused: INVALID,
  // check "signing-time" (trust.md "Time and state"). Five minutes absorbs ordinary clock drift
  // between the sealing service and the verifier.
  std::int64_t max_clock_skew = 300;

  // Hostile-input limits (issues 10, 16). Exceeding one gives result INDETERMINATE (never VALID),
  // check "limits" naming the limit.
  std::size_t max_file_size = 64u << 20;  // bytes
  std::size_t max_revisions = 256;        // decades of archive renewals (B-LTA: DSS + timestamp)
  std::size_t max_signatures = 32;
  // Objects (re)defined by all updates after the earliest signature, together: what the
  // difference analysis compares. A licence's updates redefine tens.
  std::size_t max_objects = 100000;
  // Decoded bytes of one stream (FlateDecode): an inflate bomb stops here.
  std::size_t max_decoded_stream = 16u << 20;
  // Shadow-attack rendering: pages rendered at this resolution; skipped (check "rendering" ends
  // "not-checked" and the result cannot be VALID) if the document has more pages than
  // max_render_pages or rendering takes longer than render_budget_ms in total. Poppler cannot be
  // interrupted inside a page, so rendering runs on its own thread and verify_pdf stops waiting
  // for it after render_budget_ms (the thread finishes on its own; while two such overrunning
  // renderings still run in the process, later verifications skip rendering at once).
  double render_dpi = 36.0;
  int max_render_pages = 20;
  // Not rendered either ("not-checked"): a page whose content streams, with every form XObject
  // counted once per use and every image XObject by its pixels, exceed this many decoded bytes
  // (a few KB of nested forms can otherwise ask Poppler for billions of operators, a 2 MB
  // stream for a 30,000 x 30,000 image).
  std::uint64_t max_render_content = 64u << 20;
  std::int64_t render_budget_ms = 5000;
  bool render_compare = true;  // false only for benchmarks of the other checks
};

// The verdicts are the one set of libcert/verdict.h (docs/verdicts.md).

enum class CheckStatus { kPass, kFail, kWarn, kNotChecked };
std::string_view to_string(CheckStatus s) noexcept;  // "pass", "fail", "warn", "not-checked"

// One named check with its outcome. `id` is stable (tests and certd key on it):
//   document:  structure, limits, signatures-present, pages, annotations, rendering,
//              validation-data (the /DSS: its certificates and CRLs, PAdES B-LT)
//   signature: byte-range, contents, sub-filter, signing-time, cms, digest, signature,
//              signed-attributes, signing-certificate, chain, validity-at-signing-time,
//              key-usage, signer-role, issuer-binding, key-state, coverage, modifications,
//              signature-timestamp, ca-role (INVALID: an intermediate that is not an issuing CA),
//              revocation (REVOKED: a DSS CRL lists a chain certificate; not-checked:
//              INDETERMINATE, an expired certificate without a covering CRL), proof-of-existence
//              (INDETERMINATE: an expired certificate and no time-stamp proving the signing
//              time); a document time-stamp: timestamp-token (docs/signing.md "Levels")
// signer-role (INVALID): the signer certificate is not a seal certificate (libcert/roles.h: a
// TSA, bundle-signer, CA or policy-less certificate never seals). issuer-binding: INVALID when
// the seal's department (organizationIdentifier NTRCN-<USCC>) is not the licence's issuer (the
// earliest signature) or not the issuer or a co-issuer the licence lists (later signatures);
// INDETERMINATE (not-checked) when the document names no issuer. key-state: REVOKED when the key
// was compromised at or before the signing time, INVALID outside its usage window or pending,
// UNKNOWN-SIGNER when the trust data does not know the key, INDETERMINATE without trust data.
struct Check {
  std::string id;
  CheckStatus status = CheckStatus::kNotChecked;
  std::string detail;  // human sentence: what was found, and for a failure why
};

// pyHanko's modification levels (pyhanko/sign/diff_analysis): each change after a signature is
// classified by whitelist rules; a change no rule explains is kOther and always invalidates.
enum class ChangeClass { kLtaUpdate, kFormFilling, kOther };
std::string_view to_string(ChangeClass c) noexcept;  // "lta-update", "form-filling", "other"

struct Change {
  int revision = 0;    // 0-based index of the revision that made the change
  std::string object;  // "12 0 R" or "trailer"
  ChangeClass kind = ChangeClass::kOther;
  std::string description;  // e.g. "new signature field 'Seal2' with widget", "page 1 /Contents"
  bool allowed = false;     // allowed by the certification level in force
};

struct SignatureReport {
  std::string field_name;      // fully qualified (/T of the field and its parents)
  std::string signer_subject;  // RFC 2253, UTF-8
  std::string department;  // O (or CN) of the signer certificate, e.g. "噶尔县市场监督管理局"
  std::string uscc;        // the department's USCC: organizationIdentifier NTRCN-<USCC> of a seal
                           // certificate (empty for any other role)
  std::string role;        // the signer certificate's role (libcert/roles.h to_string(CertRole))
  std::string cert_sha256;      // SHA-256 of the signer certificate DER: the seal key identity
  std::string cert_serial;      // hex
  std::string cert_not_before;  // ISO 8601 UTC
  std::string cert_not_after;
  // The chain ends at a root of the demo PKI (libcert/example_keys.h): whatever the verdict, the
  // licence is not a real one, and every report on it says so.
  bool example_root = false;
  std::string key_version;  // from VerifyOptions::keys, else empty
  std::string key_state;    // "active", "retired", "revoked", "pending" or empty
  // The verdict a failed key-state check leads to: REVOKED (compromised at or before the signing
  // time), UNKNOWN-SIGNER (not in the trust data), INVALID (pending, outside the usage window).
  std::optional<Verdict> key_state_verdict;
  std::string signing_time;  // ISO 8601 UTC, from /M
  std::optional<std::int64_t> signing_time_unix;
  std::string signing_time_source;  // "claimed (/M, not proven by a B-B signature)" or "none"
  // B-T: the earliest genTime of a valid signature time-stamp (RFC 3161 token in the CMS
  // unsigned attribute id-aa-signatureTimeStampToken): the proven signing time. nullopt: B-B.
  std::optional<std::int64_t> proven_time;
  std::string sub_filter;           // e.g. "ETSI.CAdES.detached"
  std::string digest_algorithm;     // e.g. "sha256"
  std::string reason, location, name;

  // Certification (DocMDP, ISO 32000-1 §12.8.2.2): nullopt for an approval signature.
  std::optional<int> docmdp_p;
  // A document timestamp (/Type /DocTimeStamp, ETSI EN 319 142-1 §5.4.3), not a seal: VALID when
  // its RFC 3161 token verifies (proven_time = its genTime); a broken one makes the overall result
  // INVALID; one whose TSA can no longer be relied on is INDETERMINATE and does not enter it.
  bool doc_timestamp = false;

  std::vector<std::int64_t> byte_range;  // as written (4 numbers when well-formed)
  bool covers_whole_file = false;
  int signed_revision = -1;       // 0-based revision whose end is b+c, -1 if none
  std::int64_t signed_bytes = 0;  // a + c
  std::int64_t revision_end = 0;  // b + c
  std::int64_t file_size = 0;

  std::vector<Check> checks;
  std::vector<Change> changes;  // every change after this signature's revision
  Verdict result = Verdict::kInvalid;

  [[nodiscard]] const Check* check(std::string_view id) const;
};

struct VerificationReport {
  Verdict result = Verdict::kInvalid;
  std::vector<std::string> reasons;  // one per failed check: "signature 'Seal1': digest: ..."
  std::int64_t file_size = 0;
  int revisions = 0;
  int pages = 0;
  std::optional<int> certification_p;  // DocMDP /P of the certification signature, if any
  // The licence's issuer as the document states it (XMP lic:IssuingAuthorityCode, which must equal
  // the identifier's issuer segment) and the co-issuing departments it lists
  // (lic:CoIssuingAuthorityCodes); empty when the document names none.
  std::string issuer_code;
  std::vector<std::string> co_issuer_codes;
  std::vector<Check> checks;  // document-level checks
  std::vector<SignatureReport> signatures;

  [[nodiscard]] const Check* check(std::string_view id) const;
  // True when a signature chains to a demo-PKI root: to_json() then carries "example_keys": true
  // and "notice" (kExampleKeysNotice), to_text() a NOTICE line under the result.
  [[nodiscard]] bool example_keys() const;
  // All failed check ids, document-level first, then "field:id" per signature.
  [[nodiscard]] std::vector<std::string> failed_checks() const;
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] std::string to_text() const;
};

// Verifies every signature of `pdf` (see the top of this file). Never throws for bad PDF input.
[[nodiscard]] VerificationReport verify_pdf(std::string_view pdf, const TrustStore& trust,
                                            const VerifyOptions& opts = {});

}  // namespace libcert
