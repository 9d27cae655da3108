// certctl/batch.h — `certctl issue --batch`: issue every licence of a JSON Lines file on all cores,
// resumable after an interruption.
//
//   certctl::BatchOptions o{.input = "licences.jsonl", .out_dir = "out", .threads = 2};
//   certctl::BatchSummary s = certctl::run_batch(issuer, o);   // s.issued, s.rejected, ...
//
// Input: one JSON object per line, {"template": ID, "data": {...}, "serial": "…" (optional: the
// deterministic default of `certctl issue`), "version": N (optional)}. Blank lines are skipped.
//
// Output: out_dir/<identifier>.pdf for every issued licence (written atomically: temporary file +
// rename), and the results file (default out_dir/results.jsonl) with one line per input line, in
// completion order: {"line": N, "status": "issued", "identifier", "pdf", "pdf_sha256"} (and/or
// "ofd", "ofd_sha256" with BatchOptions::ofd: out_dir/<identifier>.ofd) or
// {"line": N, "status": "rejected", "error": {"code", "message", "problems": [...]}}.
//
// Durability (group commit): result lines are appended in groups — every `commit_every`
// licences, at least every 0.5 s, and at the end — each group only after the files it names are
// on disk: one syncfs(2) of the output directory's file system, then the lines are written and
// the results file fdatasync'd. So, after a kill or a power cut, every result line names a PDF
// whose bytes are on disk; a licence issued in the last, uncommitted group has its PDF but no
// result line and is issued again by the next run (the same file name, replaced atomically).
// One file-system sync per group instead of one fsync per PDF: a journal commit per licence
// would cap the batch at the disk's fsync rate.
//
// Resuming: run the same command again. Lines that already have a result are skipped (a torn last
// result line, from a power cut in mid-write, is cut off first); a licence whose PDF was written
// but whose result line was not is issued again, to the same file.
//
// Failure: a line that is not JSON or breaks a template rule is recorded as rejected and the batch
// goes on; I/O errors (input unreadable, output not writable) throw libcert::Error(kIo) and stop
// the batch with everything written so far kept and consistent.
// Thread-safety: run_batch itself starts `threads` workers over one shared, thread-safe Issuer.
#pragma once

#include <cstdint>
#include <string>

#include "libcert/issuer.h"

namespace certctl {

struct BatchOptions {
  std::string input;    // JSON Lines file
  std::string out_dir;  // created if missing
  std::string results;  // default: out_dir/results.jsonl
  int threads = 1;
  bool progress = false;  // a one-line progress bar (rate, ETA) on stderr, for terminals
  bool pdf = true, ofd = false;  // renditions: out_dir/<identifier>.pdf and/or .ofd
  int commit_every = 256;  // licences per durable group of result lines (>= 1), see above
};

struct BatchSummary {
  std::int64_t lines = 0;     // non-blank input lines
  std::int64_t skipped = 0;   // already had a result (resumed run)
  std::int64_t issued = 0;    // issued by this run
  std::int64_t rejected = 0;  // rejected by this run
  double seconds = 0;         // wall time of the issuing phase
  long peak_rss_kb = 0;       // the process's peak resident set size (getrusage)
};

BatchSummary run_batch(const libcert::Issuer& issuer, const BatchOptions& options);

}  // namespace certctl
