// daemon/pg_store.h — the registry on PostgreSQL (issue 11): several certd instances (and certctl)
// share one database. Selected by a location that starts with "postgresql://" or "postgres://"
// (a libpq connection URI) in open_store().
//
//   certd::StoreOptions opt;
//   auto store = certd::open_store("postgresql://certd@db.internal/registry", opt);
//
// Same schema and the same numbered migrations as SQLite (pg_migrations(): migration 1 in the
// PostgreSQL dialect — BIGINT, BYTEA — and the portable ones shared with sqlite_migrations()).
//
// Concurrency across processes is the database's job, never an in-process mutex:
//  - every write that appends to the audit log (and both short transactions of issue(): the
//    reserve, which reads the active seal version and allocates the serial and status index, and
//    the commit, which re-checks the seal version; the render between them holds no lock)
//    first takes the transaction-scoped advisory lock kRegistryWriteLock
//    (pg_advisory_xact_lock), the PostgreSQL counterpart of SQLite's BEGIN IMMEDIATE: audit
//    indexes are MAX+1 under that lock, hence gap-free across instances, and an activation
//    commits wholly before or after any licence;
//  - the schema backs this up: UNIQUE (type_code, issuer_code, serial), UNIQUE (department,
//    status_index) on licences and on reservations, audit_log.idx PRIMARY KEY, the partial UNIQUE
//    index seal_keys_one_active;
//  - idempotency keys use INSERT … ON CONFLICT DO NOTHING and SELECT … FOR UPDATE (row locks), and
//    issue() completes the key with UPDATE … WHERE state = 'in_flight' inside its transaction, so
//    one key yields one licence whichever instance each request reaches;
//  - migrations run under kMigrationLock, so instances starting at once apply each one once.
// Thread-safety: every method may be called from many threads at once (pooled connections).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "issuance.h"
#include "pg.h"
#include "sqlite_store.h"  // Migration
#include "store.h"

namespace certd {

// Advisory lock keys (one 64-bit key space per database; "certd" in ASCII plus a number).
inline constexpr std::int64_t kRegistryWriteLock = 0x6365727464000001;
inline constexpr std::int64_t kMigrationLock = 0x6365727464000002;

// The numbered migrations in the PostgreSQL dialect, same numbers as sqlite_migrations().
const std::vector<Migration>& pg_migrations();

class PgStore final : public Store {
 public:
  PgStore(const std::string& conninfo, const StoreOptions& options);
  ~PgStore() override;

  Principal create_principal(const NewPrincipal& p, std::int64_t now, const Actor& by) override;
  std::optional<Principal> find_principal(const std::string& key_sha256) override;
  std::vector<Principal> list_principals() override;
  bool revoke_principal(const std::string& id, std::int64_t now, const Actor& by) override;

  IdempotencyBegin begin_idempotent(const IdempotencyRef& ref, const std::string& request_sha256,
                                    std::int64_t now, std::int64_t lease_seconds) override;
  void finish_idempotent(const IdempotencyRef& ref, int status,
                         const std::string& response) override;
  void abandon_idempotent(const IdempotencyRef& ref) override;

  LicenceRecord issue(const IssueContext& ctx,
                      const std::function<Rendered(const Allocation&)>& render) override;
  std::int64_t void_abandoned_reservations(std::int64_t now) override;
  std::optional<LicenceRecord> get_licence(const std::string& id, bool with_pdf) override;
  ListPage list_licences(const ListQuery& q) override;
  std::optional<LicenceRecord> find_licence_by_pdf(const std::string& pdf_sha256) override;
  std::optional<RevokeResult> revoke_licence(const std::string& id, const std::string& reason,
                                             std::int64_t now, const Actor& by) override;
  std::int64_t count_licences() override;

  SealKeyVersion create_seal_key(const std::string& department, const std::string& key_ref,
                                 const std::string& algorithm, std::int64_t now,
                                 const Actor& by) override;
  SealKeyVersion install_seal_certificate(const std::string& department, std::int64_t version,
                                          const std::string& cert_der, const std::string& chain_der,
                                          std::int64_t not_before, std::int64_t not_after,
                                          std::int64_t now, const Actor& by) override;
  SealKeyVersion activate_seal_key(const std::string& department, std::int64_t version,
                                   std::int64_t now, const Actor& by) override;
  SealKeyVersion retire_seal_key(const std::string& department, std::int64_t version,
                                 std::int64_t now, const Actor& by) override;
  SealKeyVersion revoke_seal_key(const std::string& department, std::int64_t version,
                                 std::int64_t compromised_at, const std::string& reason,
                                 std::int64_t now, const Actor& by) override;
  SealKeyVersion import_seal_key(const SealKeyVersion& v, std::int64_t now,
                                 const Actor& by) override;
  std::vector<SealKeyVersion> list_seal_keys(const std::optional<std::string>& department) override;
  std::optional<SealKeyVersion> get_seal_key(const std::string& department,
                                             std::int64_t version) override;
  std::optional<SealKeyVersion> find_seal_key_by_cert(const std::string& cert_sha256) override;

  std::int64_t record_event(const std::string& action, const std::string& object,
                            const std::string& details_json, std::int64_t now,
                            const Actor& by) override;
  void add_audit_checkpoint(const AuditCheckpointRow& c) override;
  std::vector<AuditCheckpointRow> audit_checkpoints() override;
  std::int64_t audit_size() override;
  std::vector<AuditRow> audit_entries(std::int64_t from_idx, std::int64_t count) override;

  void ping() override;
  void probe_writable() override;
  std::optional<std::int64_t> last_issued_at(const std::optional<std::string>& department) override;
  bool advance_tsa_clock(std::int64_t t, std::int64_t& last) override;
  int schema_version() override;

 private:
  class Lease;
  pg::Conn acquire();
  void release(pg::Conn c);
  void migrate();
  // The three steps of issue() (issuance.h), each its own short write transaction.
  Allocation reserve(const IssueContext& ctx);
  detail::CommitResult commit_issue(const IssueContext& ctx, const Allocation& a,
                                    const Rendered& r);
  void release_reservation(const detail::Reservation& r, const nlohmann::json& why,
                           std::int64_t now, const Actor& by);
  std::int64_t draw_index(std::uint64_t size);

  std::string conninfo_;
  StoreOptions options_;
  std::unique_ptr<libcert::Rng> own_rng_;
  libcert::Rng* rng_;
  std::mutex rng_mu_;  // the Rng object's own state only; the database orders the writes
  std::mutex pool_mu_;
  std::vector<pg::Conn> pool_;  // GUARDED_BY(pool_mu_)
};

}  // namespace certd
