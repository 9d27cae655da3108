// daemon/store.h — the registry: principals (API keys), licences, idempotency records, seal key
// versions and the audit log. One implementation of its rules (registry.h) over a narrow SQL
// port (sql_port.h) with two drivers: SQLite (sqlite_store.h, the embedded default) and
// PostgreSQL (pg_store.h); both run the same schema and the same test suite.
//
//   auto store = certd::open_store("registry.db");          // applies pending migrations
//   store->void_abandoned_reservations(now);                  // at start-up (certd does)
//   auto p = store->find_principal(certd::sha256_hex(api_key));
//   certd::IssueContext ctx{...};
//   certd::LicenceRecord rec = certd::issue_licence(*store, ctx, [&](const certd::Allocation& a) {
//     return render_and_seal(a.serial, a.status_index, a.seal);  // runs with NO lock held
//   });                                                           // (issuance_service.h)
//
// Issuance is two short write transactions with the render between them (issuance.h,
// docs/service.md "Issuance"): reserve (serial, status-list index, active seal version, a
// `reservations` row) → render and seal outside any lock, so that requests render on every core →
// commit (seal version re-checked, reservation deleted, licence + audit row + idempotency
// response inserted). The issuance service drives the three steps; a guard (IssuanceGuard)
// releases the serial as a `licence.void` audit row unless the licence commits, and a
// reservation whose process died in between is voided once older than the lease.
//
// Guarantees the registry keeps (tests/integration/store_test.cpp checks them on both engines):
//  - every write is one transaction; a state change and its audit_log row commit together, and the
//    audit index has no gap;
//  - serials are unique per (type_code, issuer_code), taken from a counter (never MAX()+1), never
//    reused; status-list indexes are random and unique per department, among licences and open
//    reservations alike;
//  - every serial the counter handed out is accounted for: it is a licence, an open reservation
//    (an issuance in progress), or a `licence.void` audit row (render/commit failed, or the
//    reservation was abandoned for longer than StoreOptions::reservation_lease_s);
//  - a licence is committed only with the seal version that is active at its commit (a rotation
//    between reserve and commit makes commit_issue() refuse, and the issuer seals again with the
//    same serial and index);
//  - commit_issue() returns only after the licence row, its audit row and the idempotency
//    response are committed (a licence a client was told about is never lost);
//  - an idempotency key is bound to one request body: begin() says Started / Replay / InFlight /
//    Mismatch.
// Thread-safety: every method may be called from many threads at once.
// Failure: methods throw certd::RegistryError (registry_error.h) for database failures, with a
// code (busy → retry later, unavailable, conflict, state, corrupt, exhausted, internal) that does
// not depend on the database engine.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "registry_error.h"

namespace certd {

// Scopes a key can carry (service.md "Auth").
inline constexpr const char* kScopeIssue = "licence:issue";
inline constexpr const char* kScopeRead = "licence:read";
inline constexpr const char* kScopeRevoke = "licence:revoke";
inline constexpr const char* kScopeSealAdmin = "seal:admin";
inline constexpr const char* kScopeAuditRead = "audit:read";

struct Principal {
  std::string id;                         // "p_" + key prefix chars; never the key itself
  std::optional<std::string> department;  // nullopt: an admin key (no department binding)
  std::string key_prefix;                 // first 12 characters of the key, for listings
  std::vector<std::string> scopes;
  std::string label;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;

  [[nodiscard]] bool has(std::string_view scope) const;
  [[nodiscard]] bool is_admin() const { return !department.has_value(); }
};

struct NewPrincipal {
  std::optional<std::string> department;
  std::vector<std::string> scopes;
  std::string label;
  std::string key_prefix;
  std::string key_sha256;  // lower-case hex SHA-256 of the whole key
};

// Who did a state change, for the audit row.
struct Actor {
  std::string principal;   // principal id, or "certctl" for local admin commands
  std::string request_id;  // X-Request-Id, or empty
};

// One version of a department's seal key (service.md "Seal key lifecycle"):
// pending → active → retired, and revoked (with compromised_at) from any state.
struct SealKeyVersion {
  std::string department;
  std::int64_t version = 0;  // 1, 2, … per department
  std::string state;         // "pending" | "active" | "retired" | "revoked"
  std::string key_ref;       // where the private key is (a file path for PEM keys)
  std::string algorithm;     // "ecdsa-p256"
  std::string cert_der;      // empty until the certificate is installed
  std::string chain_der;     // concatenated DER certificates above it (may be empty)
  std::string cert_sha256;   // lower-case hex of cert_der
  std::optional<std::int64_t> not_before, not_after;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> activated_at, retired_at, revoked_at, compromised_at;
  std::optional<std::string> reason;
};

// A lifecycle step that the version's current state does not allow (activate a version without a
// certificate, retire a pending one, install over an installed certificate...). The message names
// the department, the version, its state and the rule.
// It is a RegistryError with code kState, so callers that switch on the code need no other type.
struct SealStateError : RegistryError {
  explicit SealStateError(std::string message)
      : RegistryError(RegistryError::Code::kState, std::move(message)) {}
};

struct LicenceRecord {
  std::string id;  // GB/T 36904 identifier (canonical)
  std::string number;
  std::string serial;
  std::string type_code;
  std::string issuer_code;
  std::string department;
  std::string template_id;
  std::string template_version;
  std::string data_json;  // normalised face data (personal data: never logged)
  std::string pdf_sha256;
  std::string pdf;  // empty unless loaded (get_licence(..., with_pdf=true))
  std::string qr_text;
  std::string seal_version;
  std::string seal_cert_sha256;
  std::int64_t status_index = 0;
  std::int64_t issued_at = 0;
  std::string issued_by;
  std::string status;  // "valid" | "revoked"
  std::optional<std::int64_t> revoked_at;
  std::optional<std::string> reason;
  std::int64_t audit_index = 0;
};

// One stored rendition of a licence (table `renditions`, docs/service.md "Renditions"): a licence
// has one or more formats ("pdf", and "ofd" when issued in both: issue 22), each in versions 1,
// 2, … — a later version of a format is the same licence with fresh validation data (an archive
// renewal, issue 19: `certctl ltv extend`), never a different licence. GET returns the latest
// version of a format; every version is kept (a holder's older copy stays identifiable).
inline constexpr const char* kFormatPdf = "pdf";
inline constexpr const char* kFormatOfd = "ofd";

struct Rendition {
  std::string licence_id;
  std::string format;          // kFormatPdf | kFormatOfd
  std::int64_t version = 0;    // 1, 2, … per (licence, format)
  std::string sha256;          // lower-case hex of the bytes (the HTTP ETag)
  std::int64_t size = 0;       // bytes
  std::int64_t created_at = 0;
  std::string reason;          // "issue" for version 1; the caller's word after (e.g. "ltv-extend")
  std::int64_t audit_index = 0;  // the audit row that recorded it (licence.issue for version 1)
  std::string bytes;           // empty unless loaded (latest_rendition(..., with_bytes=true))
};

// What the store reserves for one issuance and hands to the renderer.
struct Allocation {
  std::string serial;
  std::int64_t status_index = 0;
  // The department's active seal key version, read in the reserve transaction and checked again
  // in the commit transaction: if another version became active (or this one was retired or
  // revoked) in between, the renderer is called again with the same serial and index and the
  // version active then. nullopt if the registry has none. The renderer seals with exactly this
  // version.
  std::optional<SealKeyVersion> seal;
};

// What the renderer gives back (the fields of LicenceRecord the store does not decide).
struct Rendered {
  std::string id;
  std::string number;
  std::string template_version;
  std::string data_json;
  std::string pdf;
  std::string pdf_sha256;
  std::string qr_text;
  std::string seal_version;
  std::string seal_cert_sha256;
  std::int64_t issued_at = 0;
  // The OFD rendition of the same licence (issue 22), made when the request asked for it; empty:
  // the licence is issued as a PDF only. Stored as rendition ofd/1 in the commit transaction.
  std::string ofd;
  std::string ofd_sha256;
};

// What commit_issue() found. committed: `record` is in the registry (with its PDF). Otherwise the
// department's active seal version is no longer the one the renderer used: `active_now` is the
// current one (nullopt: none), and nothing was written.
struct CommitResult {
  bool committed = false;
  LicenceRecord record;
  std::optional<SealKeyVersion> active_now;
};

struct IdempotencyRef {
  std::string principal;
  std::string key;
};

struct IssueContext {
  std::string department;
  std::string template_id;
  std::string type_code;    // 21 chars (template manifest)
  std::string issuer_code;  // the department's USCC
  std::int64_t now = 0;
  Actor actor;
  std::optional<IdempotencyRef> idempotency;  // the begin()-ed key to complete in the same tx
  // Builds the idempotent response (status + body) from the committed record; stored with it.
  std::function<std::pair<int, std::string>(const LicenceRecord&)> response;
  // Optional: called in the reserve transaction with the department's active seal version,
  // before a serial is taken. Throwing here (no active version, certificate about to expire)
  // aborts the issuance with nothing reserved, so such a refusal burns no serial.
  std::function<void(const std::optional<SealKeyVersion>&)> check_seal;
  // Optional (with `idempotency`): begin that key in the reserve transaction, before anything
  // else, as Store::begin_idempotent would in a transaction of its own (issue 21: one write
  // transaction, so one COMMIT, fewer per licence). A key that is not kStarted (a replay, a
  // request in flight, another body) reserves nothing: reserve() throws IdempotencyNotStarted.
  // A reserve that fails otherwise rolls the begin back with it: the key stays unused.
  struct IdempotencyStart {
    std::string request_sha256;
    std::int64_t lease_seconds = 0;
  };
  std::optional<IdempotencyStart> begin_idempotency;
  // Optional: called by issue_licence once the reserve transaction has committed (the serial is
  // taken; with begin_idempotency, the key is begun and must be completed or abandoned).
  std::function<void()> on_reserved;
};

struct ListQuery {
  std::optional<std::string> department;  // nullopt: all (admin)
  std::optional<std::string> status;
  std::optional<std::string> template_id;
  std::optional<std::int64_t> issued_after;
  int limit = 50;
  std::optional<std::int64_t> before_audit_index;  // the decoded cursor (keyset, no OFFSET)
};

struct ListPage {
  std::vector<LicenceRecord> items;  // newest first, without pdf
  std::optional<std::int64_t> next_before;
};

struct IdempotencyBegin {
  enum Kind { kStarted, kReplay, kInFlight, kMismatch } kind = kStarted;
  int status_code = 0;
  std::string response;
};

// reserve() with IssueContext::begin_idempotency: the key was not started, so nothing was
// reserved or written; `begin` is the answer begin_idempotent would have given (never kStarted).
// Not an error: the caller answers the replay, 409 or 422 from it.
struct IdempotencyNotStarted : std::exception {
  explicit IdempotencyNotStarted(IdempotencyBegin b) : begin(std::move(b)) {}
  const char* what() const noexcept override { return "idempotency key not started"; }
  IdempotencyBegin begin;
};

struct RevokeResult {
  LicenceRecord record;
  bool changed = false;  // false: it was already revoked (idempotent repeat)
};

struct AuditCheckpointRow {
  std::int64_t tree_size = 0;
  std::string root_hash;    // 32 raw bytes
  std::string signed_note;  // merkle.h checkpoint text + signature line
  std::int64_t created_at = 0;
};

struct AuditRow {
  std::int64_t idx = 0;
  std::int64_t ts = 0;
  std::string principal, action, object, request_id, details_json;
  std::string leaf_hash;  // 32 raw bytes, RFC 6962 leaf hash of the canonical leaf
};

// A published CRL (table crls): content_key identifies the revocations it lists, so a new CRL
// is made exactly when they change.
struct CrlRow {
  std::int64_t number = 0;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;
  std::string content_key;
  std::string der;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- principals ---
  virtual Principal create_principal(const NewPrincipal& p, std::int64_t now, const Actor& by) = 0;
  // Looks a key up by the SHA-256 of the presented key (revoked keys are returned with revoked_at).
  [[nodiscard]] virtual std::optional<Principal> find_principal(const std::string& key_sha256) = 0;
  [[nodiscard]] virtual std::vector<Principal> list_principals() = 0;
  // false if no such principal; revoking twice keeps the first revoked_at.
  virtual bool revoke_principal(const std::string& id, std::int64_t now, const Actor& by) = 0;

  // --- idempotency ---
  // kStarted: the caller owns the key and must complete it in commit_issue(), finish_idempotent()
  // or abandon_idempotent(). An in-flight record older than `lease_seconds` (its owner crashed) is
  // taken over.
  virtual IdempotencyBegin begin_idempotent(const IdempotencyRef& ref,
                                            const std::string& request_sha256, std::int64_t now,
                                            std::int64_t lease_seconds) = 0;
  // Records a final (error) response for the key, so a replay gets it again.
  virtual void finish_idempotent(const IdempotencyRef& ref, int status,
                                 const std::string& response) = 0;
  // Forgets an in-flight key (a transient failure: the client may retry with the same key).
  virtual void abandon_idempotent(const IdempotencyRef& ref) = 0;

  // --- licences: the issuance protocol (issuance.h), driven by the issuance service ---
  // The reserve transaction: void reservations older than the lease, read the department's
  // active seal version (ctx.check_seal may refuse it: nothing reserved, no serial taken), take
  // the next serial from the counter and a random free status-list index (StoreOptions::rng),
  // insert the reservation. From its commit on, the serial ends as a licence or a licence.void
  // row. Throws RegistryError (kExhausted: no free status-list index) and what check_seal threw.
  virtual Allocation reserve(const IssueContext& ctx) = 0;
  // The commit transaction: if the department's active seal version is no longer a.seal, nothing
  // is written and the result says which one is active now (seal again, same serial and index);
  // else delete the reservation and insert the licence, its audit row and (if ctx.idempotency)
  // the idempotency response, all at once. Throws RegistryError: busy when the reservation was
  // voided as abandoned meanwhile, conflict when the idempotency key was taken over.
  virtual CommitResult commit_issue(const IssueContext& ctx, const Allocation& a,
                                    const Rendered& r) = 0;
  // Deletes the reservation (if it still exists) and appends its `licence.void` audit row with
  // `why` ({"reason": ..., ...}: detail::void_details), in one transaction. false: nothing to void
  // (committed, or voided already). Throws RegistryError; the row then stays for the lease.
  virtual bool release_reservation(const IssueContext& ctx, const Allocation& a,
                                   const nlohmann::json& why) = 0;
  // Voids every reservation created at or before now - StoreOptions::reservation_lease_s (its
  // issuer died between reserve and commit): deletes it and appends a `licence.void` audit row
  // (reason "abandoned"), all in one transaction. certd calls it at start-up; reserve() does the
  // same lazily. Returns how many were voided.
  virtual std::int64_t void_abandoned_reservations(std::int64_t now) = 0;
  [[nodiscard]] virtual std::optional<LicenceRecord> get_licence(const std::string& id,
                                                                 bool with_pdf) = 0;
  [[nodiscard]] virtual ListPage list_licences(const ListQuery& q) = 0;
  // The licence one of whose stored PDF versions has this SHA-256 (lower-case hex), without the
  // PDF bytes: find_licence_by_rendition(pdf_sha256, kFormatPdf).
  [[nodiscard]] virtual std::optional<LicenceRecord> find_licence_by_pdf(
      const std::string& pdf_sha256) = 0;
  // The licence one of whose stored renditions of `format` (any version) has this SHA-256.
  [[nodiscard]] virtual std::optional<LicenceRecord> find_licence_by_rendition(
      const std::string& sha256, const std::string& format) = 0;
  // nullopt: no such licence. Revoking a revoked licence changes nothing (changed=false).
  virtual std::optional<RevokeResult> revoke_licence(const std::string& id,
                                                     const std::string& reason, std::int64_t now,
                                                     const Actor& by) = 0;
  [[nodiscard]] virtual std::int64_t count_licences() = 0;

  // --- renditions (Rendition above; docs/service.md "Renditions") ---
  // Stores `bytes` as the next version of `format` of licence `id` (the latest version + 1; 1 if
  // the licence has none of that format) with its audit row "licence.rendition" {department,
  // format, version, sha256, size, reason}, in one ordered transaction (versions never collide,
  // even across instances). The bytes are stored as given: the caller has made and checked them
  // (e.g. `certctl ltv extend` output, which must still verify). Revoked licences accept it too
  // (renewal keeps a revoked licence's history verifiable). nullopt: no such licence. Throws
  // libcert::Error(kInvalidArgument) for a format other than kFormatPdf/kFormatOfd, empty bytes
  // or an empty reason; RegistryError for database failures.
  virtual std::optional<Rendition> add_rendition(const std::string& id, const std::string& format,
                                                 const std::string& bytes,
                                                 const std::string& reason, std::int64_t now,
                                                 const Actor& by) = 0;
  // Every rendition of licence `id` by format, then version (without bytes); empty: no licence.
  [[nodiscard]] virtual std::vector<Rendition> list_renditions(const std::string& id) = 0;
  // The latest version of `format` of licence `id`; nullopt: the licence has no such rendition
  // (or does not exist).
  [[nodiscard]] virtual std::optional<Rendition> latest_rendition(const std::string& id,
                                                                  const std::string& format,
                                                                  bool with_bytes) = 0;

  // --- seal key versions (issue 7) ---
  // New pending version max(version)+1 of `department` (no certificate yet); audit "seal.create".
  virtual SealKeyVersion create_seal_key(const std::string& department, const std::string& key_ref,
                                         const std::string& algorithm, std::int64_t now,
                                         const Actor& by) = 0;
  // Installs the certificate of a pending version (SealStateError unless pending and without a
  // certificate); audit "seal.install". The caller has checked that it matches the key.
  virtual SealKeyVersion install_seal_certificate(const std::string& department,
                                                  std::int64_t version, const std::string& cert_der,
                                                  const std::string& chain_der,
                                                  std::int64_t not_before, std::int64_t not_after,
                                                  std::int64_t now, const Actor& by) = 0;
  // pending (with certificate) → active; the previous active version becomes retired
  // (retired_at = now) in the same transaction. Audit "seal.activate" (+ "seal.retire").
  virtual SealKeyVersion activate_seal_key(const std::string& department, std::int64_t version,
                                           std::int64_t now, const Actor& by) = 0;
  // active → retired (the department then has no active version until one is activated).
  virtual SealKeyVersion retire_seal_key(const std::string& department, std::int64_t version,
                                         std::int64_t now, const Actor& by) = 0;
  // any state → revoked with compromised_at (licences sealed at or after it are invalid).
  // Revoking a revoked version again is SealStateError (compromised_at is never moved).
  virtual SealKeyVersion revoke_seal_key(const std::string& department, std::int64_t version,
                                         std::int64_t compromised_at, const std::string& reason,
                                         std::int64_t now, const Actor& by) = 0;
  // Writes a version row as given (state included), e.g. the keys-example seal imported as
  // version 1 at first start; audit "seal.import". The store enforces one active version per
  // department: a second active row fails with RegistryError (kConflict).
  virtual SealKeyVersion import_seal_key(const SealKeyVersion& v, std::int64_t now,
                                         const Actor& by) = 0;
  [[nodiscard]] virtual std::vector<SealKeyVersion> list_seal_keys(
      const std::optional<std::string>& department) = 0;
  [[nodiscard]] virtual std::optional<SealKeyVersion> get_seal_key(const std::string& department,
                                                                   std::int64_t version) = 0;
  [[nodiscard]] virtual std::optional<SealKeyVersion> find_seal_key_by_cert(
      const std::string& cert_sha256) = 0;
  // Changes whenever the seal key versions change, read with one aggregate row instead of every
  // version and its certificate: each lifecycle step adds a row or sets a column that was NULL
  // (certificate, activated_at, retired_at, revoked_at) and none clears one, so the count of set
  // columns only grows; their timestamps are added as well. SealKeys caches its views by it (a
  // QR verification on 1,203 versions re-read them all: 45 ms; bench/README.md "Scale").
  [[nodiscard]] virtual std::string seal_keys_fingerprint() = 0;

  // --- audit ---
  // Appends one audit row for a state change that is not a registry write (an authentication
  // failure, an address locked out after repeated failures), in its own transaction. Returns its
  // index.
  virtual std::int64_t record_event(const std::string& action, const std::string& object,
                                    const std::string& details_json, std::int64_t now,
                                    const Actor& by) = 0;
  // Stores a signed checkpoint (idempotent per tree size).
  virtual void add_audit_checkpoint(const AuditCheckpointRow& c) = 0;
  [[nodiscard]] virtual std::vector<AuditCheckpointRow> audit_checkpoints() = 0;  // by size
  [[nodiscard]] virtual std::int64_t audit_size() = 0;
  [[nodiscard]] virtual std::vector<AuditRow> audit_entries(std::int64_t from_idx,
                                                            std::int64_t count) = 0;

  // --- time-stamping authority (libcert/tsa.h) ---
  // The TSA's "last token time", shared by every certd on this registry (one row, table
  // tsa_clock): if t >= the recorded time, records t and returns true; otherwise changes nothing,
  // sets `last` to the recorded time and returns false. One atomic statement, so two instances
  // can never both move it.
  virtual bool advance_tsa_clock(std::int64_t t, std::int64_t& last) = 0;

  // --- CRLs of the issuing CA (docs/crl.md; crl_service.h). One row per issuer (its SKI hex):
  // the CRL every instance serves, so the CRL number stays monotonic across instances. ---
  [[nodiscard]] virtual std::optional<CrlRow> current_crl(const std::string& issuer) = 0;
  // Stores `crl` as the issuer's current CRL if its number is greater than the stored one (or
  // none is stored); returns false, changing nothing, otherwise (another instance published
  // that number first). One atomic statement.
  virtual bool publish_crl(const std::string& issuer, const CrlRow& crl) = 0;

  // --- operations ---
  // Throws RegistryError unless the database answers (readiness probe).
  virtual void ping() = 0;
  // A write transaction that changes nothing, on a NEW connection (so that it sees the file's or
  // the server's state now, not a pooled connection's): throws RegistryError (unavailable: the
  // registry is read-only, full or unreachable) unless a write would commit. /readyz uses it.
  virtual void probe_writable() = 0;
  // The latest issued_at of the department's licences (nullopt: all departments); nullopt if none.
  [[nodiscard]] virtual std::optional<std::int64_t> last_issued_at(
      const std::optional<std::string>& department) = 0;
  [[nodiscard]] virtual int schema_version() = 0;
};

struct StoreOptions {
  int busy_timeout_ms = 5000;
  std::int64_t status_list_size = 1 << 20;  // status-list indexes are drawn from [0, size)
  std::size_t pool_size = 8;                // connections kept open
  libcert::Rng* rng = nullptr;              // status-list indexes; nullptr: SystemRng
  // A reservation older than this (seconds) belongs to an issuer that died between reserve and
  // commit: it is voided. certd sets it to idempotency_lease_s, the time after which the same
  // request may be retried under its idempotency key.
  std::int64_t reservation_lease_s = 120;
  // SQLite only: the VFS to open the file with (empty: SQLite's default). Tests pass
  // sql::FaultVfs's name (sqlite_fault.h) to make writes fail on purpose.
  std::string sqlite_vfs;
};

// Opens the registry at `location` — a SQLite file path, or a libpq URI ("postgresql://…",
// "postgres://…") — with that engine's driver, and applies pending migrations. Throws
// RegistryError, or libcert::Error(kInvalidArgument) for an unknown scheme.
std::unique_ptr<Store> open_store(const std::string& location, const StoreOptions& options = {});

// SHA-256 of bytes as lower-case hex (OpenSSL).
std::string sha256_hex(std::string_view bytes);
std::string sha256_raw(std::string_view bytes);

// The RFC 6962 leaf hash SHA-256(0x00 ‖ leaf) of an audit entry; the leaf is the canonical JSON
// of {v, idx, ts, principal, action, object, request_id, details_sha256} (service.md "Audit log":
// personal data stays out of the leaf, only its hash).
std::string audit_leaf_hash(const AuditRow& row);

}  // namespace certd
