// daemon/audit.h — the audit log as a verifiable log (service.md "Audit log"): signed checkpoints
// over the store's leaves, proofs, and the full check that `certctl audit verify` runs.
//
//   certd::AuditLog log(store, "lic.ali.example/audit", read("keys-example/audit/audit.key"));
//   certd::AuditCheckpointRow cp = log.checkpoint(now);   // signs the current size if new
//   auto proof = log.inclusion(index, cp.tree_size);
//
//   certd::AuditReport r = certd::verify_audit_log(rows, saved_checkpoint, signed_checkpoints);
//   if (!r.ok) std::cerr << r.reason;                     // names r.first_bad_index
//
// Thread-safety: AuditLog methods may be called concurrently (the store serialises writes).
// Failure: libcert::Error(kInvalidArgument) for sizes/indexes outside the log, (kCrypto) for a
// key that cannot sign; RegistryError from the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libcert/clock.h"
#include "merkle.h"
#include "store.h"

namespace certd {

class AuditLog {
 public:
  AuditLog(Store& store, std::string origin, std::string key_pem);
  // The checkpoint key held elsewhere (a PKCS#11 token: docs/pkcs11.md).
  AuditLog(Store& store, std::string origin, NoteSigner signer);

  // The checkpoint of the log's current size: the stored one if it already covers that size,
  // else a newly signed one (stored in audit_checkpoints).
  AuditCheckpointRow checkpoint(std::int64_t now);
  // Leaf hashes [0, size) from the store.
  std::vector<std::string> leaves(std::int64_t size);
  [[nodiscard]] const std::string& origin() const { return origin_; }

 private:
  Store& store_;
  std::string origin_, key_pem_;
  NoteSigner signer_;  // used when key_pem_ is empty
};

// Signs checkpoints on a schedule (service.md "Audit log": a checkpoint every N entries or T
// seconds), so that a rewritten row is located to a short range even if nobody asked for a
// checkpoint: one when the log has grown by `every_entries` since the newest stored checkpoint,
// or has grown at all and `every_seconds` have passed since that checkpoint (by the injected
// clock). Several certd instances on one PostgreSQL registry may run one each: AuditLog keeps
// the first checkpoint stored for a size.
//
//   certd::AuditCheckpointer cp(log, store, clock, {.every_entries = 1000, .every_seconds = 300},
//                               [](const std::string& e) { log_warning(e); });
//   // ... runs until cp is destroyed (the destructor stops and joins its thread)
//
// Failure: a failed attempt (store busy, key error) is reported through `on_error` and retried
// at the next poll; it never stops the daemon.
class AuditCheckpointer {
 public:
  struct Options {
    std::int64_t every_entries = 1000;
    std::int64_t every_seconds = 300;
    std::chrono::milliseconds poll{1000};  // how often the thread looks
    bool start_thread = true;              // false: only tick() (tests)
  };
  AuditCheckpointer(AuditLog& log, Store& store, const libcert::Clock& clock, Options options,
                    std::function<void(const std::string&)> on_error);
  ~AuditCheckpointer();
  AuditCheckpointer(const AuditCheckpointer&) = delete;
  AuditCheckpointer& operator=(const AuditCheckpointer&) = delete;

  // One decision: signs and returns a checkpoint if one is due, else nullopt. Throws what the
  // store or the signer throws (the thread catches and reports it). Not re-entrant: called by
  // the object's own thread, or by a test that started none.
  std::optional<AuditCheckpointRow> tick();

 private:
  void run();

  AuditLog& log_;
  Store& store_;
  const libcert::Clock& clock_;
  Options options_;
  std::function<void(const std::string&)> on_error_;
  // The newest checkpoint this object has seen (tree size, created_at): the stored list is read
  // again only when this says one is due. Another instance's newer checkpoint can only make one
  // less due, so a stale value never skips a checkpoint; it only costs a re-read.
  std::optional<std::pair<std::int64_t, std::int64_t>> last_seen_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: started after every member it uses
};

struct AuditReport {
  bool ok = false;
  std::int64_t entries = 0;  // rows read
  std::optional<std::int64_t> first_bad_index;
  std::optional<std::int64_t> bad_range_end;  // set when only a range [first, end) is known
  std::string reason;                         // why, naming the index; or a summary when ok
  std::string root;                           // recomputed root at the checkpoint's size
};

// Recomputes every leaf from the row contents (never trusting the stored leaf_hash), checks the
// index sequence, that the log is at least as long as `checkpoint`, and that the first
// checkpoint.size leaves have its root. When only the root differs (rows and their stored hashes
// edited together), `others` — signed checkpoints already verified by the caller — narrow the
// first bad index down to the smallest failing range.
AuditReport verify_audit_log(const std::vector<AuditRow>& rows, const Checkpoint& checkpoint,
                             const std::vector<Checkpoint>& others = {});

}  // namespace certd
