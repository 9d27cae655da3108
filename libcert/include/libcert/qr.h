// libcert/qr.h — QR symbols: the module matrix (libqrencode) and its vector drawing.
//
//   auto m = libcert::QrMatrix::encode("HTTPS://LIC.EXAMPLE/V#0123", libcert::QrEcc::kQ);
//   m.version();                                // 1..40
//   libcert::draw_qr(cr, m, x_pt, y_pt, 30.0);  // 30 mm square incl. 4-module quiet zone
//
// Text is split into segments so each part uses the densest QR mode that holds it (alphanumeric,
// numeric, 8-bit), as qr.md requires for HTTPS://HOST/V#<digits>: the split minimises the bit
// count (ISO/IEC 18004 §7.4), so e.g. HTTPS://LIC.EXAMPLE/V# + 486 digits needs version 13-Q
// instead of 21-Q as one 8-bit segment. Non-ASCII text is carried as UTF-8 bytes in 8-bit mode.
// All functions are thread-safe (no shared state); encode takes ~1 ms for a licence payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

typedef struct _cairo cairo_t;  // NOLINT

namespace libcert {

enum class QrEcc { kL, kM, kQ, kH };

class QrMatrix {
 public:
  // Encodes `text` with the smallest version that fits at `ecc` (up to `max_version`, 1..40).
  // Throws Error(kInvalidArgument) if the text is empty, max_version is out of range, or the text
  // does not fit (the message gives the version it would need).
  static QrMatrix encode(std::string_view text, QrEcc ecc, int max_version = 40);

  // The version encode() would choose, computed from the segmentation and the capacity table
  // without building the symbol (~100x cheaper: no Reed-Solomon, no mask selection); 0 if the text
  // fits no version up to 40. Throws Error(kInvalidArgument) if the text is empty.
  [[nodiscard]] static int version_for(std::string_view text, QrEcc ecc);

  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] int width() const { return width_; }  // modules per side, without quiet zone
  [[nodiscard]] bool dark(int x, int y) const {
    return modules_[static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) +
                    static_cast<std::size_t>(x)] != 0;
  }

 private:
  int version_ = 0;
  int width_ = 0;
  std::vector<std::uint8_t> modules_;
};

// Draws the symbol with a 4-module white quiet zone as a square of `size_mm` (quiet zone included)
// whose top-left corner is (x, y) in PDF points: a white square, then the dark modules as a 1-bit
// stencil mask of 4 x 4 samples per module without interpolation (a PDF /ImageMask with
// /Interpolate false: sharp squares in every reader, ~1 KB for a version-14 symbol).
// Restores the cairo state; clears the current path. Module size = size_mm / (width() + 8).
void draw_qr(cairo_t* cr, const QrMatrix& m, double x, double y, double size_mm);

}  // namespace libcert
