// daemon/error_map.h — the ONE place where an exception becomes an answer: a problem+json for
// certd (single and batch routes alike) and an exit code for certctl (docs/verdicts.md). The model
// is Botan's ffi_guard_thunk: code below throws its own error type (libcert::Error, ApiError,
// RegistryError (and SealStateError), std::bad_alloc, std::system_error, ...) and never translates it;
// the outermost frame calls map_current_exception() inside `catch (...)`.
//
//   try {
//     r = dispatch(req);
//   } catch (...) {
//     const certd::MappedError m = certd::map_current_exception(req.request_id);
//     r = certd::problem_response(m.problem, req.path, req.request_id);
//     log(m.cause);                          // the full cause, server-side only
//   }
//
//   catch (...) { return certd::exit_code_of_current_exception(); }   // a certctl command
//
// Classes (one per exit code of docs/verdicts.md):
//   kBadInput    — the caller's data or request is wrong: 4xx naming the field and the rule; exit 3
//   kEnvironment — a server file, key, the registry or memory cannot be used now (EACCES, ENOSPC,
//                  EFBIG, SQLITE_BUSY/FULL/IOERR/READONLY, bad_alloc): 503 + Retry-After; exit 5
//   kInternal    — an invariant did not hold: 500; exit 4
// For kEnvironment and kInternal the problem's `detail` is a fixed sentence naming the kind of fault
// and the request id — never e.what(), which may carry server paths or SQL; the full cause is in
// MappedError::cause for the server log.
#pragma once

#include <string>

#include "libcert/error.h"
#include "libcert/error_class.h"
#include "problem.h"

namespace certd {

// The classes are libcert's (libcert/error.h), so certd and certctl cannot disagree.
using Fault = libcert::ErrorClass;

struct MappedError {
  ApiError problem;
  Fault fault = Fault::kInternal;
  std::string cause;  // e.what() of the original exception (server log only; empty for 4xx)
};

// Must be called inside a catch block (it rethrows std::current_exception()). Never throws.
MappedError map_current_exception(const std::string& request_id) noexcept;

// docs/verdicts.md's exit code of the current exception (3 bad input, 4 internal, 5 environment;
// 2, usage, is certctl's own). Must be called inside a catch block.
int exit_code_of_current_exception() noexcept;

}  // namespace certd
