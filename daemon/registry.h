// daemon/registry.h (private to certd) — the one implementation of the registry's rules (store.h):
// principals, idempotency keys, the issuance protocol's reserve / commit / void steps (issuance.h),
// the seal key state machine, audit appends, listing and revocation, written once against the
// narrow SQL port (sql_port.h). Each database contributes only a port::Driver (SQLite:
// sqlite_store.h, PostgreSQL: pg_store.h); open_store() picks it from the location.
//
//   auto store = certd::open_store("registry.db");                       // SQLite
//   auto shared = certd::open_store("postgresql://certd@db/registry");   // PostgreSQL
//
// Concurrency is the driver's transaction kind (port::TxKind): every write that appends to the
// audit log, allocates a serial or changes a seal version runs in a kOrdered transaction (SQLite:
// BEGIN IMMEDIATE; PostgreSQL: the registry-wide advisory lock), so audit indexes are MAX+1 and
// gap-free, and an activation commits wholly before or after any licence; idempotency keys and
// checkpoints need only row order (kWrite). Connections are pooled; one that failed with
// unavailable/corrupt (READONLY, IOERR, FULL, a read-only standby) is dropped, not pooled.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "issuance.h"
#include "sql_port.h"
#include "store.h"

namespace certd {

class Registry final : public Store {
 public:
  // Applies pending migrations. Throws RegistryError, libcert::Error(kInvalidArgument) for a
  // status_list_size below 8.
  Registry(std::unique_ptr<port::Driver> driver, const StoreOptions& options);
  ~Registry() override;

  Principal create_principal(const NewPrincipal& p, std::int64_t now, const Actor& by) override;
  std::optional<Principal> find_principal(const std::string& key_sha256) override;
  std::vector<Principal> list_principals() override;
  bool revoke_principal(const std::string& id, std::int64_t now, const Actor& by) override;

  IdempotencyBegin begin_idempotent(const IdempotencyRef& ref, const std::string& request_sha256,
                                    std::int64_t now, std::int64_t lease_seconds) override;
  void finish_idempotent(const IdempotencyRef& ref, int status,
                         const std::string& response) override;
  void abandon_idempotent(const IdempotencyRef& ref) override;

  Allocation reserve(const IssueContext& ctx) override;
  CommitResult commit_issue(const IssueContext& ctx, const Allocation& a,
                            const Rendered& r) override;
  bool release_reservation(const IssueContext& ctx, const Allocation& a,
                           const nlohmann::json& why) override;
  std::int64_t void_abandoned_reservations(std::int64_t now) override;
  std::optional<LicenceRecord> get_licence(const std::string& id, bool with_pdf) override;
  ListPage list_licences(const ListQuery& q) override;
  std::optional<LicenceRecord> find_licence_by_pdf(const std::string& pdf_sha256) override;
  std::optional<RevokeResult> revoke_licence(const std::string& id, const std::string& reason,
                                             std::int64_t now, const Actor& by) override;
  std::optional<LicenceRecord> find_licence_by_rendition(const std::string& sha256,
                                                         const std::string& format) override;
  std::int64_t count_licences() override;
  std::optional<Rendition> add_rendition(const std::string& id, const std::string& format,
                                         const std::string& bytes, const std::string& reason,
                                         std::int64_t now, const Actor& by) override;
  std::vector<Rendition> list_renditions(const std::string& id) override;
  std::optional<Rendition> latest_rendition(const std::string& id, const std::string& format,
                                            bool with_bytes) override;

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
  std::string seal_keys_fingerprint() override;

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
  std::optional<CrlRow> current_crl(const std::string& issuer) override;
  bool publish_crl(const std::string& issuer, const CrlRow& crl) override;
  int schema_version() override;

 private:
  class Lease;
  struct WriteJob;
  // Group commit: runs `work` in an ordered write transaction shared with every other group
  // write queued meanwhile (one COMMIT, so one fsync on SQLite / one WAL flush on PostgreSQL,
  // for the whole batch), and returns only once that transaction has committed. Each job runs
  // inside its own SAVEPOINT: a job that throws is rolled back alone and gets its exception; the
  // others commit. If the transaction itself fails (BEGIN, COMMIT, a broken connection), every
  // job of the batch gets that exception and nothing of the batch is written. The first writer
  // in the queue is the leader: it takes up to kMaxBatch queued jobs, runs them, commits, wakes
  // their owners and hands the lead to the next in the queue (LevelDB's writer queue).
  // `work` must not call a group write itself (it joins the running transaction if it does).
  void group_write(const std::function<void(port::Connection&)>& work);
  static constexpr std::size_t kMaxBatch = 64;
  std::unique_ptr<port::Connection> acquire();
  void release(std::unique_ptr<port::Connection> c);
  void migrate();
  std::int64_t draw_index();
  // begin_idempotent's statements, inside the caller's write transaction.
  IdempotencyBegin begin_idempotent_in(port::Connection& c, const IdempotencyRef& ref,
                                       const std::string& request_sha256, std::int64_t now,
                                       std::int64_t lease_seconds);

  std::unique_ptr<port::Driver> driver_;
  StoreOptions options_;
  std::unique_ptr<libcert::Rng> own_rng_;
  libcert::Rng* rng_;
  std::mutex rng_mu_;  // the Rng object's own state only; the database orders the writes
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<port::Connection>> pool_;  // GUARDED_BY(pool_mu_)
  std::mutex write_queue_mu_;
  std::deque<WriteJob*> write_queue_;  // GUARDED_BY(write_queue_mu_); front = the leader
};

}  // namespace certd
