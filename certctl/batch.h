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
// A result line is appended only after its PDF is in place, so the results file never names a
// PDF that is not there.
//
// Resuming: run the same command again. Lines that already have a result are skipped (a torn last
// result line, from a kill in mid-write, is cut off first); a licence whose PDF was written but
// whose result line was not is issued again, to the same file.
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
