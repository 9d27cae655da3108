// libcert/src/hb_ptr.h (private) — owning pointers for HarfBuzz objects (style.md: RAII for every
// C object), shared by the shaper (shaper.h) and the font subsetter (font_subset.h).
#pragma once

#include <hb.h>

#include "c_ptr.h"

namespace libcert::hbptr {

using Blob = CPtr<hb_blob_t, hb_blob_destroy>;
using Face = CPtr<hb_face_t, hb_face_destroy>;
using Font = CPtr<hb_font_t, hb_font_destroy>;
using Buffer = CPtr<hb_buffer_t, hb_buffer_destroy>;

}  // namespace libcert::hbptr
