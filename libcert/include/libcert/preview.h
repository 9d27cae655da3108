// libcert/preview.h — a PNG picture of one page of a PDF (Poppler + cairo), e.g. the preview that
// certd serves so an inspector can compare the registered licence with the paper in front of them.
//
//   libcert::PreviewOptions o;
//   o.dpi = 100;                                     // A4 -> 827 x 1170 pixels
//   std::string png = libcert::pdf_page_png(pdf_bytes, o);
//
// The page is drawn as a viewer shows it (annotations and the seal's visible appearance included),
// opaque on white, at ceil(page size in points * dpi / 72) pixels in each direction (ISO 32000-1
// §8.3.2.3: one unit of default user space is 1/72 inch), using the crop box as Poppler does.
//
// Success: the PNG bytes (8-bit RGB, no alpha). Failure: throws Error(kInvalidArgument) when the
// dpi is outside [kMinDpi, kMaxDpi] or the page does not exist, Error(kPdfMalformed) when Poppler
// cannot open the bytes, Error(kLimitExceeded) when the picture would exceed max_pixels, and
// Error(kRender) when cairo fails to draw or encode. Nothing is written anywhere.
// Thread-safety: may be called concurrently (each call has its own Poppler document).
#pragma once

#include <string>
#include <string_view>

namespace libcert {

struct PreviewOptions {
  static constexpr double kMinDpi = 10;
  static constexpr double kMaxDpi = 600;
  int page = 0;                // 0-based
  double dpi = 100;            // pixels per inch
  double max_pixels = 16.0e6;  // width * height bound (a hostile MediaBox cannot OOM us)
};

[[nodiscard]] std::string pdf_page_png(std::string_view pdf, const PreviewOptions& options = {});

// Pixel size pdf_page_png would produce, without drawing (same failures except kRender).
struct PixelSize {
  int width = 0;
  int height = 0;
};
[[nodiscard]] PixelSize pdf_page_pixels(std::string_view pdf, const PreviewOptions& options = {});

}  // namespace libcert
