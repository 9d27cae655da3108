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
// All functions are thread-safe (no shared state but a table built once); encode takes ~0.3 ms
// for a licence payload (version 14-16 Q).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

typedef struct _cairo cairo_t;  // NOLINT

namespace libcert {

enum class QrEcc { kL, kM, kQ, kH };
enum class QrMaskSearch { kFast, kLibqrencode };

class QrMatrix {
 public:
  // Encodes `text` with the smallest version that fits at `ecc` (up to `max_version`, 1..40).
  // Throws Error(kInvalidArgument) if the text is empty, max_version is out of range, or the text
  // does not fit (the message gives the version it would need).
  //
  // The data mask (ISO/IEC 18004 §7.8) is the one libqrencode's own search picks, symbol for
  // symbol. kFast (the default, when the build found QRcode_encodeMask: fast_mask_choice())
  // builds the symbol once and scores the 8 masks on 64-bit rows and columns (~5x cheaper than
  // libqrencode's search, bench/README.md); kLibqrencode lets libqrencode search (the reference
  // the tests compare against).
  static QrMatrix encode(std::string_view text, QrEcc ecc, int max_version = 40,
                         QrMaskSearch search = QrMaskSearch::kFast);
  // True if this build chooses masks itself (libqrencode's QRcode_encodeMask was found at
  // configure time); otherwise kFast falls back to libqrencode's search.
  [[nodiscard]] static bool fast_mask_choice();

  // The version encode() would choose, computed from the segmentation and the capacity table
  // without building the symbol (~100x cheaper: no Reed-Solomon, no mask selection); 0 if the text
  // fits no version up to 40. Throws Error(kInvalidArgument) if the text is empty.
  [[nodiscard]] static int version_for(std::string_view text, QrEcc ecc);

  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] int width() const { return width_; }  // modules per side, without quiet zone
  [[nodiscard]] int mask() const { return mask_; }    // data mask pattern 0..7 (Table 10)
  [[nodiscard]] bool dark(int x, int y) const {
    return modules_[static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) +
                    static_cast<std::size_t>(x)] != 0;
  }

 private:
  int version_ = 0;
  int width_ = 0;
  int mask_ = 0;
  std::vector<std::uint8_t> modules_;
};

// Draws the symbol with a 4-module white quiet zone as a square of `size_mm` (quiet zone included)
// whose top-left corner is (x, y) in PDF points: a white square, then the dark modules as a 1-bit
// stencil mask of 4 x 4 samples per module without interpolation (a PDF /ImageMask with
// /Interpolate false: sharp squares in every reader, ~1 KB for a version-14 symbol).
// Restores the cairo state; clears the current path. Module size = size_mm / (width() + 8).
void draw_qr(cairo_t* cr, const QrMatrix& m, double x, double y, double size_mm);

}  // namespace libcert
