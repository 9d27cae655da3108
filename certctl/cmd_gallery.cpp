// certctl gallery — issue every template's sample licence and picture its first page: one PNG per
// template and a contact sheet of all of them, so a reader sees the 24 licences at a glance.
//
//   certctl gallery [-o docs/gallery] [--dpi 72] [--columns 6] [--issued 2026-11-01]
//
// Each PNG is the sealed PDF as a viewer shows it (libcert::pdf_page_png: Poppler), seal and QR
// included. The contact sheet scales every page into a cell of the same width, captioned with the
// template id, in the order `certctl templates` lists them. Deterministic for a given --issued
// date (the default), so regenerating without changes gives identical files.
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "issuing.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/issuer.h"
#include "libcert/preview.h"
#include "libcert/template.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;
using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Cairo = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

struct PngReader {
  std::string_view bytes;
  std::size_t pos = 0;
};

cairo_status_t read_png(void* closure, unsigned char* data, unsigned int length) {
  auto* r = static_cast<PngReader*>(closure);
  if (r->bytes.size() - r->pos < length) return CAIRO_STATUS_READ_ERROR;
  std::copy_n(r->bytes.data() + r->pos, length, data);
  r->pos += length;
  return CAIRO_STATUS_SUCCESS;
}

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

Surface decode_png(std::string_view png) {
  PngReader r{png};
  Surface s(cairo_image_surface_create_from_png_stream(read_png, &r), cairo_surface_destroy);
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender, "gallery: cannot read back a page picture");
  }
  return s;
}

int run_gallery(const certctl::Args& args) {
  const certctl::Options o(
      args, {"-o", "--dpi", "--columns", "--issued", "--templates", "--keys", "--cell"}, {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const std::string out = o.get("-o").value_or("docs/gallery");
  const int dpi = certctl::parse_int(o.get("--dpi").value_or("72"), "--dpi", 20, 300);
  const int columns = certctl::parse_int(o.get("--columns").value_or("6"), "--columns", 1, 24);
  const int cell = certctl::parse_int(o.get("--cell").value_or("320"), "--cell", 100, 2000);

  const certctl::IssuingContext ctx(
      o, o.get("--issued")
             ? certctl::issue_time(o)
             : certctl::issue_time(certctl::Options({"--issued", "2026-11-01"}, {"--issued"}, {})));
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw Error(ErrorCode::kIo, out + ": " + ec.message());

  struct Page {
    std::string id;
    Surface picture{nullptr, cairo_surface_destroy};
  };
  std::vector<Page> pages;
  for (const auto& id : ctx.templates->ids()) {
    libcert::IssueRequest req;
    req.template_id = id;
    req.data = certctl::read_json(certctl::templates_dir(o) + "/" + id + "/sample.json");
    req.serial = certctl::default_serial(id, req.data);
    const libcert::IssuedLicence lic = ctx.issuer.issue(req);
    libcert::PreviewOptions po;
    po.dpi = dpi;
    const std::string png = libcert::pdf_page_png(lic.pdf, po);
    const std::string path = out + "/" + id + ".png";
    certctl::write_file_atomic(path, png);
    std::cout << path << "\t" << png.size() << " bytes\n";
    pages.push_back({id, decode_png(png)});
  }

  // Contact sheet: cells `cell` px wide, each row as tall as its tallest scaled page (portrait
  // and landscape pages mix), the template id below each page.
  const int gap = 16, caption = 22;
  const int rows = (static_cast<int>(pages.size()) + columns - 1) / columns;
  std::vector<double> row_h(static_cast<std::size_t>(rows), 0);
  auto scaled_h = [&](const Page& p) {
    return cairo_image_surface_get_height(p.picture.get()) * static_cast<double>(cell) /
           cairo_image_surface_get_width(p.picture.get());
  };
  for (std::size_t i = 0; i < pages.size(); ++i) {
    auto& h = row_h[i / static_cast<std::size_t>(columns)];
    h = std::max(h, std::ceil(scaled_h(pages[i])));
  }
  double sheet_h = gap;
  for (double h : row_h) sheet_h += h + caption + gap;
  const int sheet_w = columns * (cell + gap) + gap;
  Surface sheet(cairo_image_surface_create(CAIRO_FORMAT_RGB24, sheet_w, static_cast<int>(sheet_h)),
                cairo_surface_destroy);
  Cairo cr(cairo_create(sheet.get()), cairo_destroy);
  cairo_set_source_rgb(cr.get(), 0.93, 0.93, 0.93);
  cairo_paint(cr.get());
  cairo_select_font_face(cr.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr.get(), 12);
  double y = gap;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const auto col = static_cast<int>(i % static_cast<std::size_t>(columns));
    const double rh = row_h[i / static_cast<std::size_t>(columns)];
    const double x = gap + col * (cell + gap);
    cairo_surface_t* pic = pages[i].picture.get();
    const double scale = static_cast<double>(cell) / cairo_image_surface_get_width(pic);
    cairo_save(cr.get());
    cairo_translate(cr.get(), x, y + rh - scaled_h(pages[i]));  // bottom-aligned in the row
    cairo_scale(cr.get(), scale, scale);
    cairo_set_source_surface(cr.get(), pic, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr.get()), CAIRO_FILTER_GOOD);
    cairo_paint(cr.get());
    cairo_restore(cr.get());
    cairo_set_source_rgb(cr.get(), 0.1, 0.1, 0.1);
    cairo_move_to(cr.get(), x, y + rh + 15);
    cairo_show_text(cr.get(), pages[i].id.c_str());
    if (col == columns - 1) y += rh + caption + gap;
  }
  cr.reset();
  std::string png;
  if (cairo_surface_write_to_png_stream(sheet.get(), append, &png) != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kRender, "gallery: cannot encode the contact sheet");
  }
  const std::string path = out + "/contact-sheet.png";
  certctl::write_file_atomic(path, png);
  std::cout << path << "\t" << png.size() << " bytes, " << pages.size() << " licences\n";
  return 0;
}

const certctl::Command kGallery{
    "gallery", "issue every template's sample and write per-template PNGs and a contact sheet",
    "certctl gallery [-o DIR (docs/gallery)] [--dpi N (72)] [--columns N (6)] [--cell PX (320)] "
    "[--issued YYYY-MM-DD (2026-11-01)] [--templates DIR] [--keys DIR]",
    run_gallery};

}  // namespace
