// daemon/sqlite_store.h — the SQLite driver of the registry (registry.h): the embedded default.
// It only opens connections (WAL, busy_timeout, synchronous=FULL: sqlite.h), rewrites the
// portable `$n` placeholders to `?n`, binds, steps and converts column types; SQLite result codes
// become RegistryError codes in sqlite.cpp. The registry's rules are not here.
//
//   auto store = certd::open_store("registry.db", options);   // Registry over this driver
//
// Every transaction is BEGIN IMMEDIATE (port::TxKind: SQLite has one writer at a time), taken
// after this process's writers have queued on a mutex (fair queueing instead of SQLite's
// sleep-and-retry busy handler); other processes (certctl keys …) wait on the busy timeout.
// Reads are single statements on pooled connections and never block writers (WAL).
// Thread-safety: connect() may be called from many threads; each connection is used by one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sql_port.h"
#include "store.h"

namespace certd {

// The registry's numbered migrations (migrations.cpp) in SQLite's types (INTEGER, BLOB).
const std::vector<Migration>& sqlite_migrations();

// The SQLite driver for the registry file at `path` (options: busy_timeout_ms, sqlite_vfs).
std::unique_ptr<port::Driver> make_sqlite_driver(const std::string& path,
                                                 const StoreOptions& options);

}  // namespace certd
