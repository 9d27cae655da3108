// verify_render.h (private) — shadow-attack detection by rendering (signing.md, attack 4): the
// signed revision and the whole file are rendered with Poppler at low resolution and compared
// page by page, together with their page counts and annotations.
//
//   auto checks = libcert::detail::compare_rendering(pdf.substr(0, b + c), pdf, opts);
//   // checks: "pages", "annotations", "rendering"
//
// Pixels may differ only inside annotations that are new in the whole file and are widgets (a
// later seal's appearance; whether that seal itself was allowed is the difference analysis's
// job); a new widget larger than 10% of its page is itself a failure, so an "allowed" signature
// widget cannot be used to paint over the page. Never throws for bad input. Thread-safe
// (Poppler documents are per call).
#pragma once

#include <string_view>
#include <vector>

#include "libcert/verify.h"

namespace libcert::detail {

std::vector<Check> compare_rendering(std::string_view signed_revision, std::string_view whole,
                                     const VerifyOptions& opts);

}  // namespace libcert::detail
