#include "libcert/preview.h"

#include <poppler.h>

#include <cmath>

#include "gobj.h"
#include "libcert/error.h"

namespace libcert {

namespace {

struct Opened {
  gobj::Bytes data;
  gobj::Object<PopplerDocument> doc;
  gobj::Object<PopplerPage> page;
  PixelSize px;
  double scale = 1;
};

// Opens the document without copying it and measures the page; throws as documented in preview.h.
Opened open_page(std::string_view pdf, const PreviewOptions& o) {
  if (!(o.dpi >= PreviewOptions::kMinDpi && o.dpi <= PreviewOptions::kMaxDpi)) {
    throw Error(ErrorCode::kInvalidArgument, "dpi: must be between " +
                                                 std::to_string(PreviewOptions::kMinDpi) + " and " +
                                                 std::to_string(PreviewOptions::kMaxDpi));
  }
  Opened r;
  r.data.reset(g_bytes_new_static(pdf.data(), pdf.size()));
  GError* err_raw = nullptr;
  r.doc.reset(poppler_document_new_from_bytes(r.data.get(), nullptr, &err_raw));
  gobj::GErrorPtr err(err_raw);
  if (!r.doc) {
    throw Error(ErrorCode::kPdfMalformed,
                std::string("pdf: Poppler cannot open it: ") + (err ? err->message : "unknown"));
  }
  const int pages = poppler_document_get_n_pages(r.doc.get());
  if (o.page < 0 || o.page >= pages) {
    throw Error(ErrorCode::kInvalidArgument, "page: " + std::to_string(o.page + 1) +
                                                 " does not exist (the document has " +
                                                 std::to_string(pages) + " page(s))");
  }
  r.page.reset(poppler_document_get_page(r.doc.get(), o.page));
  if (!r.page) {
    throw Error(ErrorCode::kPdfMalformed,
                "page " + std::to_string(o.page + 1) + ": Poppler cannot load it");
  }
  double w = 0, h = 0;
  poppler_page_get_size(r.page.get(), &w, &h);
  r.scale = o.dpi / 72.0;  // ISO 32000-1 §8.3.2.3: default user space unit = 1/72 inch
  const double pw = std::ceil(w * r.scale), ph = std::ceil(h * r.scale);
  if (!(pw >= 1 && ph >= 1) || pw * ph > o.max_pixels || pw > 32767 || ph > 32767) {
    throw Error(ErrorCode::kLimitExceeded, "page " + std::to_string(o.page + 1) + ": " +
                                               std::to_string(w) + " x " + std::to_string(h) +
                                               " pt at " + std::to_string(o.dpi) +
                                               " dpi exceeds the pixel limit");
  }
  r.px = {static_cast<int>(pw), static_cast<int>(ph)};
  return r;
}

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

PixelSize pdf_page_pixels(std::string_view pdf, const PreviewOptions& options) {
  return open_page(pdf, options).px;
}

std::string pdf_page_png(std::string_view pdf, const PreviewOptions& options) {
  const Opened p = open_page(pdf, options);
  // RGB24: no alpha channel, so the PNG is smaller and every viewer shows the white paper.
  gobj::Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, p.px.width, p.px.height));
  gobj::Cairo cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  cairo_scale(cr.get(), p.scale, p.scale);
  poppler_page_render(p.page.get(), cr.get());
  cairo_surface_flush(surface.get());
  if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender, "page " + std::to_string(options.page + 1) +
                                        ": cairo cannot draw it (" +
                                        cairo_status_to_string(cairo_status(cr.get())) + ")");
  }
  std::string png;
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface.get(), append, &png);
  if (st != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender,
                std::string("png: cairo cannot encode it (") + cairo_status_to_string(st) + ")");
  }
  return png;
}

}  // namespace libcert
