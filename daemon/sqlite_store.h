// daemon/sqlite_store.h — the embedded registry on SQLite (WAL, busy_timeout, BEGIN IMMEDIATE for
// every write, numbered migrations in schema_migrations applied when opened).
//
//   certd::StoreOptions opt;               // rng, status-list size, busy timeout
//   auto store = std::make_unique<certd::SqliteStore>("registry.db", opt);
//
// Writes inside one process are serialised by a mutex before BEGIN IMMEDIATE (fair queueing
// instead of SQLite's sleep-and-retry busy handler); other processes (certctl keys …) wait on the
// busy timeout. Reads use pooled connections and never block writers (WAL). issue() holds the
// mutex only for its two short transactions (reserve, commit), never while it renders
// (issuance.h), so renders of concurrent issuances run in parallel.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "issuance.h"
#include "sqlite.h"
#include "store.h"

namespace certd {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};
// The numbered migrations, in order (also the schema a PostgreSQL store mirrors).
const std::vector<Migration>& sqlite_migrations();

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const StoreOptions& options);
  ~SqliteStore() override;

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
  sql::Db acquire();
  void release(sql::Db db);
  void migrate();
  // The three steps of issue() (issuance.h), each its own short write transaction.
  Allocation reserve(const IssueContext& ctx);
  detail::CommitResult commit_issue(const IssueContext& ctx, const Allocation& a,
                                    const Rendered& r);
  void release_reservation(const detail::Reservation& r, const nlohmann::json& why,
                           std::int64_t now, const Actor& by);

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<libcert::Rng> own_rng_;
  libcert::Rng* rng_;
  std::mutex pool_mu_;
  std::vector<sql::Db> pool_;  // GUARDED_BY(pool_mu_)
  std::mutex write_mu_;        // serialises this process's write transactions
};

}  // namespace certd
