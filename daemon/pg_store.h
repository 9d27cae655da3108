// daemon/pg_store.h — the PostgreSQL driver of the registry (registry.h, issue 11): several certd
// instances (and certctl) share one database. Selected by a location that starts with
// "postgresql://" or "postgres://" (a libpq connection URI) in open_store().
//
//   auto store = certd::open_store("postgresql://certd@db.internal/registry", opt);
//
// It only connects (lock_timeout, UTF-8, UTC: pg.h), binds (text; bytes as binary bytea),
// decodes bytea columns and maps SQLSTATEs to RegistryError codes (pg.cpp); the registry's rules
// are not here. Same schema and the same numbered migrations as SQLite (migrations.cpp, written
// once; pg_migrations() gives them PostgreSQL's types, BIGINT and BYTEA).
//
// Concurrency across processes is the database's job, never an in-process mutex:
//  - a kOrdered transaction (sql_port.h: every audit append, both short transactions of an
//    issuance, every seal lifecycle step) takes the transaction-scoped advisory lock
//    kRegistryWriteLock (pg_advisory_xact_lock), the counterpart of SQLite's BEGIN IMMEDIATE:
//    audit indexes are MAX+1 under that lock, hence gap-free across instances, and an activation
//    commits wholly before or after any licence;
//  - the schema backs this up: UNIQUE (type_code, issuer_code, serial), UNIQUE (department,
//    status_index) on licences and on reservations, audit_log.idx PRIMARY KEY, the partial UNIQUE
//    index seal_keys_one_active;
//  - idempotency keys use INSERT … ON CONFLICT DO NOTHING and SELECT … FOR UPDATE (the dialect's
//    row lock), and the commit completes the key with UPDATE … WHERE state = 'in_flight' inside
//    its transaction, so one key yields one licence whichever instance each request reaches;
//  - migrations run under kMigrationLock (TxKind::kSchema), so instances starting at once apply
//    each one once.
// Thread-safety: connect() may be called from many threads; each connection is used by one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sql_port.h"
#include "store.h"

namespace certd {

// Advisory lock keys (one 64-bit key space per database; "certd" in ASCII plus a number).
inline constexpr std::int64_t kRegistryWriteLock = 0x6365727464000001;
inline constexpr std::int64_t kMigrationLock = 0x6365727464000002;

// The registry's numbered migrations (migrations.cpp) in PostgreSQL's types (BIGINT, BYTEA).
const std::vector<Migration>& pg_migrations();

// The PostgreSQL driver for a libpq connection URI (options: busy_timeout_ms → lock_timeout).
std::unique_ptr<port::Driver> make_pg_driver(const std::string& conninfo,
                                             const StoreOptions& options);

}  // namespace certd
