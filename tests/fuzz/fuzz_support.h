// fuzz_support.h — the contract of every libcert fuzz target: libcert::Error is the one expected
// failure; any other exception, or a broken invariant, is a bug and aborts (Botan's rule).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "libcert/error.h"

namespace fuzz {

template <typename F>
void run(F&& body) {
  try {
    body();
  } catch (const libcert::Error&) {
    // Rejected input: the expected outcome for most fuzz data.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "BUG: exception other than libcert::Error: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "BUG: non-standard exception\n");
    std::abort();
  }
}

// An invariant the code under test promises; failing it is a bug even without a crash.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "BUG: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace fuzz
