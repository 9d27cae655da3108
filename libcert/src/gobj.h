// gobj.h (private) — ownership of cairo, pango, glib and poppler objects (same pattern as ossl.h).
#pragma once

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <glib-object.h>
#include <pango/pangocairo.h>

#include <memory>

namespace libcert::gobj {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

using Surface = std::unique_ptr<cairo_surface_t, Deleter<cairo_surface_destroy>>;
using Pattern = std::unique_ptr<cairo_pattern_t, Deleter<cairo_pattern_destroy>>;
using Cairo = std::unique_ptr<cairo_t, Deleter<cairo_destroy>>;
using Path = std::unique_ptr<cairo_path_t, Deleter<cairo_path_destroy>>;
using FontOptions = std::unique_ptr<cairo_font_options_t, Deleter<cairo_font_options_destroy>>;
using FontDescription = std::unique_ptr<PangoFontDescription, Deleter<pango_font_description_free>>;
using AttrList = std::unique_ptr<PangoAttrList, Deleter<pango_attr_list_unref>>;
using Bytes = std::unique_ptr<GBytes, Deleter<g_bytes_unref>>;
using GErrorPtr = std::unique_ptr<GError, Deleter<g_error_free>>;
using LayoutIter = std::unique_ptr<PangoLayoutIter, Deleter<pango_layout_iter_free>>;
using FcPatternPtr = std::unique_ptr<FcPattern, Deleter<FcPatternDestroy>>;
using FcObjectSetPtr = std::unique_ptr<FcObjectSet, Deleter<FcObjectSetDestroy>>;
using FcFontSetPtr = std::unique_ptr<FcFontSet, Deleter<FcFontSetDestroy>>;
using FcCharSetPtr = std::unique_ptr<FcCharSet, Deleter<FcCharSetDestroy>>;

// Any GObject (PangoLayout, PangoContext, PangoFontMap, PopplerDocument, PopplerPage...).
// (A named function, not a lambda: a lambda's type would give every struct holding an Object in
// a header internal linkage, -Wsubobject-linkage.)
inline void object_unref(void* p) noexcept { g_object_unref(p); }
template <typename T>
using Object = std::unique_ptr<T, Deleter<object_unref>>;

}  // namespace libcert::gobj
