// The per-glyph CFF subsets (cff_subset.h) read by tools nobody here wrote:
//   - fontTools (Debian python3-fonttools, tests/support/cff_outlines.py) parses the subset as a
//     bare CFF: CID-keyed, no global or local subroutines, no hint operators, and every glyph
//     draws exactly the source face's path and width (its charstrings run through their subrs);
//   - in a licence written by our PDF writer: pdffonts lists Noto Serif CJK SC as an embedded,
//     subset "CID Type 0C" font and no UMing, and MuPDF draws it without a font complaint
//     (pixels and pdftotext of every value: pdf_writer_test.cpp and issue_all_test.cpp).
#include <gtest/gtest.h>
#include <hb.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cff_subset.h"
#include "font_subset.h"
#include "libcert/clock.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "pdf_writer.h"
#include "support/process.h"

namespace fs = std::filesystem;
using testsupport::run;
using testsupport::shell_quote;

namespace {

const char* kNoto = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";
constexpr unsigned kSc = 2;  // Noto Serif CJK SC in the collection
const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const fs::path kChecker = fs::path(LIBCERT_SOURCE_DIR) / "tests/support/cff_outlines.py";

bool have_fonttools() { return run("/usr/bin/python3 -c 'import fontTools' 2>&1").exit_code == 0; }

TEST(CffSubsetInterop, FontToolsReadsTheSubsetAsTheSourceGlyphs) {
  if (!fs::exists(kNoto)) GTEST_SKIP() << "fonts-noto-cjk not installed";
  if (!have_fonttools()) GTEST_SKIP() << "python3-fonttools not installed";
  libcert::font::HbBlob blob(hb_blob_create_from_file_or_fail(kNoto));
  libcert::font::HbFace face(hb_face_create(blob.get(), kSc));
  libcert::font::HbFont font(hb_font_create(face.get()));
  libcert::font::HbBlob table(hb_face_reference_table(face.get(), HB_TAG('C', 'F', 'F', ' ')));
  unsigned len = 0;
  const char* p = hb_blob_get_data(table.get(), &len);
  const libcert::font::CidCff cff(std::string_view(p, len));
  // Han text of the licences, rare-ish characters, digits, Latin and full-width punctuation.
  const std::u32string text =
      U"中华人民共和国营业执照西藏自治区阿里地区噶尔县狮泉河镇藏汉双语电子证照统一社会信用代码"
      U"食品经营许可证医师执业证书鑫淼犇骉龘0123456789ABCXYZabcxyz（），。：、《》-/.";
  std::vector<std::uint32_t> ids;
  for (char32_t c : text) {
    hb_codepoint_t g = 0;
    ASSERT_TRUE(hb_font_get_nominal_glyph(font.get(), c, &g)) << static_cast<unsigned>(c);
    ids.push_back(g);
  }
  const testsupport::TempDir dir;
  const fs::path file = dir / "subset.cff";
  testsupport::spit(file, cff.subset(ids));
  std::string cmd = "/usr/bin/python3 " + shell_quote(kChecker.string()) + " " + kNoto + " " +
                    std::to_string(kSc) + " " + shell_quote(file.string());
  for (std::uint32_t g : cff.kept(ids)) {
    if (g != 0) cmd += " " + std::to_string(cff.cid(g));
  }
  const auto r = run(cmd + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ok " + std::to_string(cff.kept(ids).size() - 1) + " glyphs"),
            std::string::npos)
      << r.out;
}

TEST(CffSubsetInterop, LicenceEmbedsNotoAsSubsetCidType0C) {
  if (!fs::exists(kNoto)) GTEST_SKIP() << "fonts-noto-cjk not installed";
  const libcert::FixedClock clock(1795348800);
  const std::string id = "business-licence-enterprise";
  const auto set = libcert::TemplateSet::cached(kTemplates);
  const auto t = set->get(id);
  const auto data = t->validate(
      nlohmann::json::parse(testsupport::slurp(kTemplates / id / "sample.json")), clock);
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2025-03-15", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345",
                                1795348800, 1};
  const libcert::Renderer renderer;
  const libcert::PageLayout page = renderer.layout(*t, data, in);
  const testsupport::TempDir dir;
  const fs::path pdf = dir / "licence.pdf";
  testsupport::spit(pdf, libcert::pdfw::write_pdf(page, {}));

  auto r = run("pdffonts " + shell_quote(pdf.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  int noto = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("NotoSerifCJK") == std::string::npos) continue;
    ++noto;
    EXPECT_NE(line.find("CID Type 0C"), std::string::npos) << line;
    EXPECT_NE(line.find("Identity-H       yes yes yes"), std::string::npos) << line;
    EXPECT_EQ(line[6], '+') << "subset tag: " << line;
  }
  // The template's constant text and the holder's values: one subset each.
  EXPECT_GE(noto, 1) << r.out;
  EXPECT_EQ(r.out.find("UMing"), std::string::npos) << "every sample character is in Noto: " << r.out;

  // MuPDF draws it without a font complaint.
  r = run("mutool draw -q -r 50 -o " + shell_quote((dir / "m.png").string()) + " " +
          shell_quote(pdf.string()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("font"), std::string::npos) << r.out;
}

}  // namespace
