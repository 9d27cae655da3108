// libcert/src/hb_ptr.h (private) — owning pointers for HarfBuzz objects (style.md: RAII for every
// C object), shared by the shaper (shaper.h) and the font subsetter (font_subset.h).
#pragma once

#include <hb.h>

#include <memory>

namespace libcert::hbptr {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
using Blob = std::unique_ptr<hb_blob_t, Deleter<hb_blob_destroy>>;
using Face = std::unique_ptr<hb_face_t, Deleter<hb_face_destroy>>;
using Font = std::unique_ptr<hb_font_t, Deleter<hb_font_destroy>>;
using Buffer = std::unique_ptr<hb_buffer_t, Deleter<hb_buffer_destroy>>;

}  // namespace libcert::hbptr
