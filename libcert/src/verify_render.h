// verify_render.h (private) — shadow-attack detection by rendering (signing.md, attack 4): the
// signed revision and the whole file are rendered with Poppler at low resolution and compared
// page by page, together with their page counts and annotations.
//
//   auto checks = libcert::detail::compare_rendering(pdf.substr(0, b + c), pdf, seals, opts);
//   // checks: "pages", "annotations", "rendering"
//
// Pixels may differ only inside `seals`: the widgets of new signatures that the caller verified
// (the difference analysis found them, verify.cpp checked their signatures). Any other new
// annotation — an empty signature field, an unsigned or broken seal, a non-widget — is an
// "annotations" failure and its pixels are compared like the rest of the page. A seal larger
// than 10% of its page, or seals covering more than 20% of a page together, are failures too, so
// an allowed seal cannot be used to paint over the page. Never throws for bad input. Thread-safe
// (Poppler documents are per call).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "libcert/verify.h"

namespace libcert::detail {

// A verified new seal's widget: page (0-based) and /Rect (x1 <= x2, y1 <= y2, PDF user space).
struct AllowedArea {
  std::size_t page = 0;
  std::array<double, 4> rect{};
};

std::vector<Check> compare_rendering(std::string_view signed_revision, std::string_view whole,
                                     const std::vector<AllowedArea>& seals,
                                     const VerifyOptions& opts);

}  // namespace libcert::detail
