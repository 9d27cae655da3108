// Interop: the QR of EVERY template, on a licence issued by `certctl issue` from its sample, has
// modules of at least 0.5 mm (qr.md: an inspector's phone reads it at arm's length in poor light)
// and lies at least 10 mm inside every page edge, measured by MuPDF (`mutool trace`, a PDF reader
// nobody here wrote) from the page as drawn: the QR's dark modules are a 1-bit image mask
// (pdf_writer.cpp qr_image) placed upright on the page, whose side holds a whole number of
// samples per module of the issued symbol; the quiet zone of 4 modules (ISO/IEC 18004 §9.1) lies
// around it. And zbarimg reads every template's QR from a 100 dpi `pdftoppm` render (2 px per
// module on the 1/50-inch grid up to version 15, 1.99 px at version 16):
// bigger modules buy a lower scan resolution than the 150 dpi IssueAll uses (at 90 dpi the
// version-16 templates no longer decode).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "libcert/qr.h"
#include "support/process.h"
#include "support/templates.h"
#include "support/verifiers.h"

using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
constexpr double kMmPerPt = 25.4 / 72;
constexpr int kQuietZone = 4;         // modules on each side, ISO/IEC 18004 §9.1

// The QR as `mutool trace` shows it: the image mask drawn upright (b = c = 0, a = d) with the
// most samples, its transform mapping the image's unit square to device points (origin at the
// page's top-left corner, y down).
struct QrImage {
  bool found = false;
  double a = 0, b = 0, c = 0, d = 0, e = 0, f = 0;  // device transform
  int width = 0, height = 0;                          // samples
};

double attr(const std::string& s, std::size_t from, const std::string& name) {
  const std::size_t p = s.find(name + "=\"", from);
  return p == std::string::npos ? 0 : std::stod(s.substr(p + name.size() + 2));
}

QrImage qr_image(const std::string& trace) {
  QrImage q;
  for (std::size_t p = trace.find("<fill_image_mask "); p != std::string::npos;
       p = trace.find("<fill_image_mask ", p + 1)) {
    const std::size_t tp = trace.find("transform=\"", p);
    std::istringstream ts(trace.substr(tp + 11, trace.find('"', tp + 11) - tp - 11));
    QrImage i;
    ts >> i.a >> i.b >> i.c >> i.d >> i.e >> i.f;
    i.width = static_cast<int>(attr(trace, p, "width"));
    i.height = static_cast<int>(attr(trace, p, "height"));
    i.found = true;
    if (i.width > q.width) q = i;
  }
  return q;
}

class QrModuleSize : public ::testing::TestWithParam<std::string> {
 protected:
  testsupport::TempDir dir_;
};

TEST_P(QrModuleSize, ModulesAreAtLeastHalfAMillimetreAndZbarReadsThemAt100Dpi) {
  const std::string id = GetParam();
  const auto pdf = dir_ / (id + ".pdf");
  auto r = run(std::string(CERTCTL_BIN) + " issue --json --issued 2026-11-01 --template " + id +
               " --data " + shell_quote(kSrc + "/templates/" + id + "/sample.json") + " -o " +
               shell_quote(pdf.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto issued = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  const std::string qr_text = issued.at("qr_text");

  // 1. MuPDF's view of the page: its media box and the filled path with the most rectangles.
  r = run("(mutool trace " + shell_quote(pdf.string()) + " 1 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::smatch page;
  static const std::regex page_re(R"re(<page number="1" mediabox="0 0 ([0-9.]+) ([0-9.]+)")re");
  ASSERT_TRUE(std::regex_search(r.out, page, page_re)) << r.out.substr(0, 400);
  const double page_w = std::stod(page[1]) * kMmPerPt, page_h = std::stod(page[2]) * kMmPerPt;
  const QrImage qr = qr_image(r.out);
  ASSERT_TRUE(qr.found) << id << ": no image mask on the page";
  EXPECT_EQ(qr.b, 0) << id;
  EXPECT_EQ(qr.c, 0) << id;
  EXPECT_GT(qr.a, 0) << id;
  EXPECT_NEAR(qr.a, qr.d, 1e-3) << id << ": the QR is not square and upright";
  EXPECT_EQ(qr.width, qr.height) << id;
  // The issued symbol's modules per side (ISO/IEC 18004 §6.3.1: 17 + 4 x version).
  const int version = libcert::QrMatrix::version_for(qr_text, libcert::QrEcc::kQ);
  const int width = 17 + 4 * version;
  EXPECT_GE(version, 1) << id;
  EXPECT_LE(version, 16) << id << ": qr.md allows version 16 at most";
  ASSERT_EQ(qr.width % width, 0) << id << ": " << qr.width << " samples for " << width
                                 << " modules: not a whole number of samples per module";
  struct {
    double module, min_x, min_y;
  } const q{qr.a / width, qr.e, qr.f};
  const int modules = width + 2 * kQuietZone;
  const double module_mm = q.module * kMmPerPt;
  const double side_mm = module_mm * modules;
  const double x_mm = q.min_x * kMmPerPt - kQuietZone * module_mm,
               y_mm = q.min_y * kMmPerPt - kQuietZone * module_mm;
  EXPECT_GE(module_mm, 0.5) << id << ": " << side_mm << " mm / " << modules << " modules";
  // Drawn inside the template's square, which must hold a version-16 symbol of 0.5 mm modules
  // (89 with the quiet zone) for another holder's payload.
  const nlohmann::json box = nlohmann::json::parse(
      testsupport::slurp(kSrc + "/templates/" + id + "/manifest.json"))["qr"];
  const double bx = box["x_mm"], by = box["y_mm"], bs = box["size_mm"];
  EXPECT_GE(bs, 44.5 - 1e-2) << id;
  EXPECT_GE(x_mm, bx - 1e-2) << id;
  EXPECT_GE(y_mm, by - 1e-2) << id;
  EXPECT_LE(x_mm + side_mm, bx + bs + 1e-2) << id;
  EXPECT_LE(y_mm + side_mm, by + bs + 1e-2) << id;
  // render.cpp fit_qr: when the symbol fits at whole 1/50-inch modules, the modules and the
  // square's corner lie on that grid from the page's top-left corner (every edge on a pixel
  // boundary at 100, 150, 300 dpi). mutool's device space has its origin there.
  constexpr double kGrid = 25.4 / 50;
  if (modules * kGrid <= bs - kGrid) {
    const double k = module_mm / kGrid;
    EXPECT_NEAR(k, std::round(k), 1e-3) << id << ": module " << module_mm << " mm";
    EXPECT_NEAR(x_mm / kGrid, std::round(x_mm / kGrid), 1e-2) << id << ": x " << x_mm << " mm";
    EXPECT_NEAR(y_mm / kGrid, std::round(y_mm / kGrid), 1e-2) << id << ": y " << y_mm << " mm";
  }
  // qr.md: at least 10 mm from every page edge.
  EXPECT_GE(x_mm, 10 - 1e-2) << id;
  EXPECT_GE(y_mm, 10 - 1e-2) << id;
  EXPECT_LE(x_mm + side_mm, page_w - 10 + 1e-2) << id;
  EXPECT_LE(y_mm + side_mm, page_h - 10 + 1e-2) << id;
  std::cout << "[ figures  ] " << id << ": QR " << side_mm << " mm, version " << version << ", "
            << modules << " modules with quiet zone, module " << module_mm << " mm\n";

  // 2. zbarimg at 100 dpi (pdftoppm, Poppler's Splash) decodes exactly the issued text.
  EXPECT_EQ(testsupport::zbar_first_page(pdf, 100, dir_ / (id + "-100dpi")), qr_text) << id;
}

INSTANTIATE_TEST_SUITE_P(Templates, QrModuleSize, ::testing::ValuesIn(template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
