// Interop: the QR of EVERY template, on a licence issued by `certctl issue` from its sample, has
// modules of at least 0.5 mm (qr.md: an inspector's phone reads it at arm's length in poor light)
// and lies at least 10 mm inside every page edge, measured by MuPDF (`mutool trace`, a PDF reader
// nobody here wrote) from the page as drawn: the QR is the page's one /ImageMask (ISO 32000-1
// §8.9.6.2) of 4 x 4 samples per module including the 4-module quiet zone (ISO/IEC 18004 §9.1),
// so modules = /Width / 4 and the drawn square is the mask's transform. And zbarimg reads every
// template's QR from a 100 dpi `pdftoppm` render (1.99 px per module at version 16): bigger modules
// buy a lower scan resolution than the 150 dpi IssueAll uses (at 90 dpi the version-16 templates
// no longer decode).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
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
constexpr int kSamplesPerModule = 4;  // draw_qr (libcert/src/qr.cpp)
constexpr int kQuietZone = 4;         // modules on each side, ISO/IEC 18004 §9.1

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

  // 1. MuPDF's view of the page: its media box and the one image mask with its placement.
  r = run("(mutool trace " + shell_quote(pdf.string()) + " 1 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::smatch page;
  static const std::regex page_re(R"re(<page number="1" mediabox="0 0 ([0-9.]+) ([0-9.]+)")re");
  ASSERT_TRUE(std::regex_search(r.out, page, page_re)) << r.out.substr(0, 400);
  const double page_w = std::stod(page[1]) * kMmPerPt, page_h = std::stod(page[2]) * kMmPerPt;
  static const std::regex mask_re(
      R"re(<fill_image_mask transform="(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)"[^>]* width="(\d+)" height="(\d+)")re");
  std::vector<std::smatch> masks;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), mask_re);
       it != std::sregex_iterator(); ++it) {
    masks.push_back(*it);
  }
  ASSERT_EQ(masks.size(), 1U) << id << ": the QR is the page's only image mask";
  const auto& m = masks[0];
  const double a = std::stod(m[1]), b = std::stod(m[2]), c = std::stod(m[3]), d = std::stod(m[4]);
  const double x_mm = std::stod(m[5]) * kMmPerPt, y_mm = std::stod(m[6]) * kMmPerPt;
  const int width = std::stoi(m[7]), height = std::stoi(m[8]);
  // Upright and square (device space has y down: the image's top-left corner is (e, f)).
  EXPECT_DOUBLE_EQ(b, 0);
  EXPECT_DOUBLE_EQ(c, 0);
  EXPECT_NEAR(a, d, 1e-3) << id;
  EXPECT_EQ(width, height) << id;
  ASSERT_EQ(width % kSamplesPerModule, 0) << id;
  const int modules = width / kSamplesPerModule;  // with the quiet zone
  const int version = (modules - 2 * kQuietZone - 17) / 4;
  EXPECT_EQ(17 + 4 * version + 2 * kQuietZone, modules) << id;
  EXPECT_GE(version, 1) << id;
  EXPECT_LE(version, 16) << id << ": qr.md allows version 16 at most";
  const double side_mm = a * kMmPerPt;
  const double module_mm = side_mm / modules;
  EXPECT_GE(module_mm, 0.5) << id << ": " << side_mm << " mm / " << modules << " modules";
  // The payload may need version 16 for another holder: the square holds 89 modules of 0.5 mm.
  EXPECT_GE(side_mm, 44.5 - 1e-3) << id;
  // qr.md: at least 10 mm from every page edge.
  EXPECT_GE(x_mm, 10 - 1e-3) << id;
  EXPECT_GE(y_mm, 10 - 1e-3) << id;
  EXPECT_LE(x_mm + side_mm, page_w - 10 + 1e-3) << id;
  EXPECT_LE(y_mm + side_mm, page_h - 10 + 1e-3) << id;
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
