// Interop: the QR of EVERY template, on a licence issued by `certctl issue` from its sample, has
// modules of at least 0.5 mm (qr.md: an inspector's phone reads it at arm's length in poor light)
// and lies at least 10 mm inside every page edge, measured by MuPDF (`mutool trace`, a PDF reader
// nobody here wrote) from the page as drawn: the QR's dark modules are filled rectangles in module
// units (pdf_writer.cpp qr_path: integer corners, the finder patterns spanning the symbol's width
// and the timing pattern's one-module runs fixing the unit) under transforms that scale one unit
// to one module; the quiet zone of 4 modules (ISO/IEC 18004 §9.1) lies around them. And zbarimg
// reads every template's QR from a 100 dpi `pdftoppm` render (2 px per module on the 1/50-inch
// grid up to version 15, 1.99 px at version 16):
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

// The QR as `mutool trace` shows it: the filled paths drawn in module units (pdf_writer.cpp
// qr_path: one fill per row that starts rectangles, each under a transform of the module size
// that is upright with y down in device space, unlike the page's y-up paths), in device points.
struct QrPath {
  double module = 0;  // points per module
  int fills = 0;
  double min_x = 1e9, min_y = 1e9, max_x = -1e9, max_y = -1e9;  // device points
  bool integral = true;  // every corner on the module grid of the first corner
  bool upright = true;   // b = c = 0, a = d
};

double attr(const std::string& s, std::size_t from, const std::string& name) {
  const std::size_t p = s.find(name + "=\"", from);
  return p == std::string::npos ? 0 : std::stod(s.substr(p + name.size() + 2));
}

QrPath qr_paths(const std::string& trace) {
  QrPath q;
  std::vector<std::pair<double, double>> corners;
  for (std::size_t p = trace.find("<fill_path "); p != std::string::npos;
       p = trace.find("<fill_path ", p + 1)) {
    const std::size_t end = trace.find("</fill_path>", p);
    if (end == std::string::npos) break;
    const std::size_t tp = trace.find("transform=\"", p);
    std::istringstream ts(trace.substr(tp + 11, trace.find('"', tp + 11) - tp - 11));
    double t[6] = {0, 0, 0, 0, 0, 0};
    for (double& v : t) ts >> v;
    // Module space: y down in device space (d > 0) and a scale of more than a point per unit.
    if (!(t[3] > 0 && t[0] > 1.01)) {
      p = end;
      continue;
    }
    ++q.fills;
    if (q.module == 0) q.module = t[0];
    q.upright = q.upright && t[1] == 0 && t[2] == 0 && std::abs(t[0] - t[3]) < 1e-3 &&
                std::abs(t[0] - q.module) < 1e-3;
    for (std::size_t e = trace.find('<', trace.find('>', p)); e < end; e = trace.find('<', e + 1)) {
      if (trace.compare(e, 8, "<moveto ") != 0 && trace.compare(e, 8, "<lineto ") != 0) continue;
      const double x = attr(trace, e, "x"), y = attr(trace, e, "y");
      const double dx = t[4] + t[0] * x, dy = t[5] + t[3] * y;
      q.integral = q.integral && x == std::floor(x) && y == std::floor(y);
      corners.emplace_back(dx, dy);
      q.min_x = std::min(q.min_x, dx);
      q.min_y = std::min(q.min_y, dy);
      q.max_x = std::max(q.max_x, dx);
      q.max_y = std::max(q.max_y, dy);
    }
    p = end;
  }
  // Every corner a whole number of modules from the symbol's top-left corner (the transforms'
  // translations are printed to 3-5 digits: a tolerance of a 50th of a module).
  for (const auto& [x, y] : corners) {
    const double u = (x - q.min_x) / q.module, v = (y - q.min_y) / q.module;
    q.integral = q.integral && std::abs(u - std::round(u)) < 0.02 && std::abs(v - std::round(v)) < 0.02;
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
  const QrPath qr = qr_paths(r.out);
  ASSERT_GT(qr.fills, 10) << id << ": no QR drawn in module units on the page";
  EXPECT_TRUE(qr.upright) << id;
  EXPECT_TRUE(qr.integral) << id << ": QR corners are not whole modules";
  const double wx = (qr.max_x - qr.min_x) / qr.module, wy = (qr.max_y - qr.min_y) / qr.module;
  EXPECT_NEAR(wx, wy, 0.02) << id;
  const int width = static_cast<int>(std::lround(wx));
  const int version = (width - 17) / 4;
  EXPECT_EQ(17 + 4 * version, width) << id;
  EXPECT_GE(version, 1) << id;
  EXPECT_LE(version, 16) << id << ": qr.md allows version 16 at most";
  const int modules = width + 2 * kQuietZone;
  const double module_mm = qr.module * kMmPerPt;
  const double side_mm = module_mm * modules;
  const double x_mm = qr.min_x * kMmPerPt - kQuietZone * module_mm,
               y_mm = qr.min_y * kMmPerPt - kQuietZone * module_mm;
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
