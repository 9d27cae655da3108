#include "audit.h"

#include <algorithm>

#include "libcert/error.h"

namespace certd {

AuditLog::AuditLog(Store& store, std::string origin, std::string key_pem)
    : store_(store), origin_(std::move(origin)), key_pem_(std::move(key_pem)) {}
AuditLog::AuditLog(Store& store, std::string origin, NoteSigner signer)
    : store_(store), origin_(std::move(origin)), signer_(std::move(signer)) {}

std::vector<std::string> AuditLog::leaves(std::int64_t size) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(size));
  while (static_cast<std::int64_t>(out.size()) < size) {
    const auto rows = store_.audit_entries(
        static_cast<std::int64_t>(out.size()),
        std::min<std::int64_t>(10000, size - static_cast<std::int64_t>(out.size())));
    if (rows.empty()) break;
    for (const auto& r : rows) {
      if (r.idx != static_cast<std::int64_t>(out.size())) {
        throw libcert::Error(libcert::ErrorCode::kInternal,
                             "audit log: index " + std::to_string(out.size()) +
                                 " is missing (next row has " + std::to_string(r.idx) + ")");
      }
      out.push_back(r.leaf_hash);
    }
  }
  if (static_cast<std::int64_t>(out.size()) != size) {
    throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                         "audit log: size " + std::to_string(size) + " exceeds the log's " +
                             std::to_string(out.size()) + " entries");
  }
  return out;
}

AuditCheckpointRow AuditLog::checkpoint(std::int64_t now) {
  const std::int64_t size = store_.audit_size();
  const auto stored = store_.audit_checkpoints();
  if (!stored.empty() && stored.back().tree_size == size) return stored.back();
  AuditCheckpointRow row;
  row.tree_size = size;
  row.root_hash = merkle::root(leaves(size));
  row.signed_note =
      key_pem_.empty()
          ? sign_checkpoint({origin_, static_cast<std::uint64_t>(size), row.root_hash}, signer_)
          : sign_checkpoint({origin_, static_cast<std::uint64_t>(size), row.root_hash}, key_pem_);
  row.created_at = now;
  store_.add_audit_checkpoint(row);
  // Two requests may sign the same size at once: the first stored one is the checkpoint.
  for (const auto& c : store_.audit_checkpoints()) {
    if (c.tree_size == size) return c;
  }
  return row;
}

AuditCheckpointer::AuditCheckpointer(AuditLog& log, Store& store, const libcert::Clock& clock,
                                     Options options,
                                     std::function<void(const std::string&)> on_error)
    : log_(log), store_(store), clock_(clock), options_(options), on_error_(std::move(on_error)) {
  if (options_.start_thread) thread_ = std::thread([this] { run(); });
}

AuditCheckpointer::~AuditCheckpointer() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<AuditCheckpointRow> AuditCheckpointer::tick() {
  const std::int64_t size = store_.audit_size();
  const std::int64_t now = clock_.now();
  // Due after `last` = (size, created_at) of the newest checkpoint; none yet: due as soon as the
  // log has an entry.
  auto due = [&](const std::optional<std::pair<std::int64_t, std::int64_t>>& last) {
    if (!last) return size > 0;
    if (size <= last->first) return false;  // nothing new to commit to
    return size - last->first >= options_.every_entries ||
           now - last->second >= options_.every_seconds;
  };
  if (last_seen_ && !due(last_seen_)) return std::nullopt;
  const auto stored = store_.audit_checkpoints();  // by size: the newest is last
  if (!stored.empty()) last_seen_ = {{stored.back().tree_size, stored.back().created_at}};
  if (!due(last_seen_)) return std::nullopt;
  AuditCheckpointRow c = log_.checkpoint(now);
  last_seen_ = {{c.tree_size, c.created_at}};
  return c;
}

void AuditCheckpointer::run() {
  std::unique_lock l(mu_);
  while (!stop_) {
    cv_.wait_for(l, options_.poll, [this] { return stop_; });
    if (stop_) break;
    l.unlock();
    try {
      tick();
    } catch (const std::exception& e) {
      if (on_error_) on_error_(std::string("audit checkpoint: ") + e.what());
    }
    l.lock();
  }
}

AuditReport verify_audit_log(const std::vector<AuditRow>& rows, const Checkpoint& checkpoint,
                             const std::vector<Checkpoint>& others) {
  AuditReport r;
  r.entries = static_cast<std::int64_t>(rows.size());
  auto fail = [&](std::int64_t idx, const std::string& why) {
    r.ok = false;
    r.first_bad_index = idx;
    r.reason = "first bad index " + std::to_string(idx) + ": " + why;
    return r;
  };
  std::vector<std::string> leaves;
  leaves.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const AuditRow& row = rows[i];
    const auto want = static_cast<std::int64_t>(i);
    if (row.idx > want) {
      return fail(want, "entry " + std::to_string(want) +
                            " is missing (deleted): the next entry has index " +
                            std::to_string(row.idx));
    }
    if (row.idx < want) {
      return fail(want, "entry index " + std::to_string(row.idx) + " appears again at position " +
                            std::to_string(want) + " (duplicated or reordered)");
    }
    const std::string leaf = audit_leaf_hash(row);
    if (leaf != row.leaf_hash) {
      return fail(want, "entry " + std::to_string(want) +
                            " does not match its leaf hash (edited, or moved from another index)");
    }
    leaves.push_back(leaf);
  }
  if (checkpoint.size > leaves.size()) {
    return fail(static_cast<std::int64_t>(leaves.size()),
                "the log has " + std::to_string(leaves.size()) +
                    " entries but the checkpoint covers " + std::to_string(checkpoint.size) +
                    " (truncated)");
  }
  r.root = merkle::root(leaves, 0, static_cast<std::size_t>(checkpoint.size));
  if (r.root != checkpoint.root) {
    // The rows and their stored hashes agree, so both were rewritten: only signed checkpoints can
    // tell where. The first failing one bounds the first bad entry.
    std::vector<Checkpoint> cps = others;
    cps.push_back(checkpoint);
    std::sort(cps.begin(), cps.end(),
              [](const Checkpoint& a, const Checkpoint& b) { return a.size < b.size; });
    std::uint64_t good = 0;
    for (const auto& c : cps) {
      if (c.size > leaves.size() || c.size == 0) continue;
      if (merkle::root(leaves, 0, static_cast<std::size_t>(c.size)) == c.root) {
        good = std::max(good, c.size);
        continue;
      }
      if (c.size <= good) continue;  // inconsistent checkpoints: keep the tightest proven prefix
      const auto first = static_cast<std::int64_t>(good);
      const auto end = static_cast<std::int64_t>(c.size);
      if (end - first == 1) {
        return fail(first, "entry " + std::to_string(first) +
                               " and its stored leaf hash were rewritten (the root at size " +
                               std::to_string(end) + " does not match its signed checkpoint)");
      }
      AuditReport out =
          fail(first, "an entry in [" + std::to_string(first) + ", " + std::to_string(end) +
                          ") was rewritten together with its stored leaf hash "
                          "(the root at size " +
                          std::to_string(end) +
                          " does not match its signed checkpoint; the one at size " +
                          std::to_string(first) + " does)");
      out.bad_range_end = end;
      return out;
    }
    return fail(0, "the root of the first " + std::to_string(checkpoint.size) +
                       " entries does not match the checkpoint");
  }
  r.ok = true;
  r.reason = std::to_string(rows.size()) + " entries; the first " +
             std::to_string(checkpoint.size) + " match the checkpoint's root " +
             base64_encode(checkpoint.root);
  return r;
}

}  // namespace certd
