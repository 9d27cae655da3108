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
// key that cannot sign; StoreError from the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "merkle.h"
#include "store.h"

namespace certd {

class AuditLog {
 public:
  AuditLog(Store& store, std::string origin, std::string key_pem);

  // The checkpoint of the log's current size: the stored one if it already covers that size,
  // else a newly signed one (stored in audit_checkpoints).
  AuditCheckpointRow checkpoint(std::int64_t now);
  // Leaf hashes [0, size) from the store.
  std::vector<std::string> leaves(std::int64_t size);
  [[nodiscard]] const std::string& origin() const { return origin_; }

 private:
  Store& store_;
  std::string origin_, key_pem_;
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
