// libcert/error_class.h — what a libcert::Error means to the caller: the one classification
// behind both certd's HTTP answer (daemon/error_map.h) and certctl's exit code
// (docs/verdicts.md), so the two cannot disagree.
//
//   catch (const libcert::Error& e) { return libcert::exit_code(libcert::error_class(e.code())); }
#pragma once

#include "libcert/error.h"

namespace libcert {

// What a failure means to the caller, the one classification behind both certd's HTTP status
// (4xx / 503 + Retry-After / 500, daemon/error_map.h) and certctl's exit code (docs/verdicts.md):
//   kBadInput    — the caller's input is wrong (argument, data, PDF, limit, unknown name): exit 3
//   kEnvironment — a file, key or template of the installation cannot be used now (kIo, kCrypto,
//                  kTemplate): exit 5, certd 503
//   kInternal    — a bug (kInternal): exit 4, certd 500
enum class ErrorClass { kBadInput, kEnvironment, kInternal };
[[nodiscard]] ErrorClass error_class(ErrorCode code) noexcept;
// docs/verdicts.md's exit code for a failure of this class: 3, 5 or 4.
[[nodiscard]] int exit_code(ErrorClass c) noexcept;

}  // namespace libcert
