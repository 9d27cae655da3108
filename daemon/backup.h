// daemon/backup.h — online backup and restore of a SQLite registry (issue 18, docs/operations.md
// "Backups").
//
//   certd::BackupResult b = certd::backup_sqlite("/var/lib/certd/registry.db", "/srv/bk/1",
//                                                "/etc/certd/keys", now);
//   certd::RestoreResult r = certd::restore_sqlite({.from_dir = "/srv/bk/1",
//       .target = "/var/lib/certd/registry.db", .advance = 2000, .now = now});
//
// Backup: one `VACUUM INTO` statement — SQLite copies the database as of one read transaction
// (https://sqlite.org/lang_vacuum.html#vacuuminto), so the copy is consistent while certd keeps
// issuing (WAL readers do not block the writer). Beside the copy: manifest.json with the copy's
// SHA-256, its audit size, serial counters and seal key versions, and the fingerprints of every
// certificate and public key of the keys directory — never a private key (the manifest lists
// which private keys exist, so the operator knows what to keep elsewhere).
//
// Restore: a registry restored from a backup has lost what was issued after the backup. Its serial
// counters would hand those identifiers out again, so restore_sqlite() advances every counter by
// `advance` (and creates the counters of `counters` that the backup lacks at `advance`) before the
// file appears at `target`: the restored registry never issues before that. The caller derives
// `advance` from the latest exported audit checkpoint (each issuance is at least one audit leaf,
// so checkpoint size − backup audit size + entries after that checkpoint bounds the lost serials)
// or takes it from the operator. The advance is an audit row (`registry.restore`).
//
// Errors: libcert::Error(kIo) for files, kInvalidArgument for a target that exists or a backup
// whose copy does not match its manifest; RegistryError from SQLite. Nothing is left at `target`
// on failure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"

namespace certd {

struct BackupResult {
  std::string registry;  // <out_dir>/registry.db (mode 0600)
  std::string manifest;  // <out_dir>/manifest.json (mode 0600)
  std::string sha256;    // of the copy
  std::int64_t audit_size = 0;
  std::string audit_root;  // RFC 6962 root of the copy's audit log (32 raw bytes)
  std::int64_t licences = 0;
};

// `registry`: an SQLite registry file (certd may be running on it). `out_dir`: created 0700 if
// missing; must not already hold a registry.db. `keys_dir`: empty, or a key directory whose
// certificates and public keys are fingerprinted into the manifest.
BackupResult backup_sqlite(const std::string& registry, const std::string& out_dir,
                           const std::string& keys_dir, std::int64_t now);

struct RestoreOptions {
  std::string from_dir;  // a backup_sqlite() directory
  std::string target;    // the new registry file; must not exist
  std::int64_t advance = 0;  // added to every serial counter (> 0)
  // (type_code, issuer_code) of every template in use: counters the backup lacks start here.
  std::vector<std::pair<std::string, std::string>> counters;
  std::int64_t now = 0;
  Actor by{"certctl", "restore"};
  // Called on the restored copy before anything is changed (certctl: the audit log verified
  // against the backup's checkpoint); throwing aborts the restore with nothing at `target`.
  std::function<void(Store&)> check;
};

struct RestoreResult {
  std::int64_t audit_size = 0;        // entries in the restored log (before the restore row)
  std::int64_t counters_advanced = 0;  // rows advanced or created
};

// The backup's manifest.json (parsed); throws kIo / kInvalidArgument.
nlohmann::json read_backup_manifest(const std::string& from_dir);

RestoreResult restore_sqlite(const RestoreOptions& o);

}  // namespace certd
