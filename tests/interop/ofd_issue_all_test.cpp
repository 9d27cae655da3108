// Interop: every template issued in BOTH renditions by one `certctl issue --batch --format both`
// (issue 22: one licence, two renditions), and the OFD checked against the PDF and by tools:
//   certctl verify --bundle: VALID (every GB/T 38540 check, key state from the trust bundle);
//   the QR: the OFD's QR path rasterised and decoded by zbarimg gives exactly the text zbarimg
//   reads from the PDF's page (the same payload), and `certctl verify-qr` finds it VALID offline
//   against the bundle alone;
//   the text: every Chinese sample value is in the OFD's TextCode text;
//   the fonts: every font is embedded (FontFile present, an sfnt), as a subset.
// The 24 licences are issued once per ctest run (tests/interop/issue_samples.sh, fixture
// interop_samples), not once per test.
// ofd.js and the npm-only seal check run on the same 24 files in tests/ofd-node (ofd_render_all).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/templates.h"
#include "support/verifiers.h"

using testsupport::contains;
using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;

std::string squeeze(std::string s) {
  std::erase_if(s, [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
  return s;
}
bool has_han(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 0xE3 && c <= 0xE9) || c == 0xF0) return true;
  }
  return false;
}
std::string entry(const std::filesystem::path& ofd, const std::string& name) {
  const auto r = run("unzip -p " + shell_quote(ofd.string()) + " " + shell_quote(name));
  EXPECT_EQ(r.exit_code, 0) << name;
  return r.out;
}
std::string unescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}}) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
      s.replace(p, from.size(), to);
  }
  return s;
}

// The QR of Content.xml (the page's last filled black PathObject) rasterised at 10 px/mm into a
// PGM on a white page margin, as any raster reader would draw it.
void rasterise_qr(const std::string& content, const std::filesystem::path& pgm) {
  // (string search, not std::regex: libstdc++'s regex recurses per character of the long path)
  const std::string key = "<ofd:FillColor Value=\"0 0 0\"/><ofd:AbbreviatedData>";
  const auto at = content.rfind(key);
  ASSERT_NE(at, std::string::npos) << "no QR path in Content.xml";
  const auto obj = content.rfind("<ofd:PathObject ", at);
  const auto bnd = content.find("Boundary=\"", obj) + 10;
  std::istringstream bs(content.substr(bnd, content.find('"', bnd) - bnd));
  double bx = 0, by = 0, bw = 0;
  bs >> bx >> by >> bw;
  const auto data_at = at + key.size();
  const std::string path = content.substr(data_at, content.find('<', data_at) - data_at);
  const double size = bw;
  constexpr double kPx = 10;  // px per mm
  const int margin = 40, n = static_cast<int>(size * kPx) + 2 * margin;
  std::string img(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), '\xff');
  std::istringstream d(path);
  std::string op;
  std::vector<double> xs, ys;
  auto fill = [&] {
    if (xs.empty()) return;
    const auto [x0, x1] = std::minmax_element(xs.begin(), xs.end());
    const auto [y0, y1] = std::minmax_element(ys.begin(), ys.end());
    for (int y = static_cast<int>(std::lround(*y0 * kPx)); y < std::lround(*y1 * kPx); ++y)
      for (int x = static_cast<int>(std::lround(*x0 * kPx)); x < std::lround(*x1 * kPx); ++x)
        img[static_cast<std::size_t>(y + margin) * static_cast<std::size_t>(n) +
            static_cast<std::size_t>(x + margin)] = '\0';
    xs.clear();
    ys.clear();
  };
  while (d >> op) {
    if (op == "C") {
      fill();
      continue;
    }
    double x = 0, y = 0;
    d >> x >> y;
    xs.push_back(x);
    ys.push_back(y);
  }
  fill();
  testsupport::spit(pgm, "P5\n" + std::to_string(n) + " " + std::to_string(n) + "\n255\n" + img);
}

class OfdIssueAll : public ::testing::TestWithParam<std::string> {
 protected:
  // The samples: the ctest fixture's (LIBCERT_TEST_SAMPLES, tests/interop/issue_samples.sh run
  // once per ctest run: ctest runs each of the 24 tests in its own process, and the batch of 48
  // files is the same for all), or, run by hand, the same script into a temporary directory.
  static void SetUpTestSuite() {
    scratch_ = new testsupport::TempDir();
    const char* shared = std::getenv("LIBCERT_TEST_SAMPLES");
    if (shared != nullptr && *shared != '\0') {
      samples_ = shared;
    } else {
      samples_ = *scratch_ / "samples";
      const auto r = run("bash " + shell_quote(kSrc + "/tests/interop/issue_samples.sh") + " " +
                         shell_quote(CERTCTL_BIN) + " " + shell_quote(kSrc) + " " +
                         shell_quote(samples_.string()));
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    // results.jsonl's "line" is the 0-based line of batch.jsonl, whose "template" is the id.
    std::vector<std::string> lines_template;
    std::istringstream batch(testsupport::slurp(samples_ / "batch.jsonl"));
    std::string line;
    while (std::getline(batch, line))
      lines_template.push_back(nlohmann::json::parse(line).at("template").get<std::string>());
    ASSERT_EQ(lines_template.size(), template_ids().size()) << samples_;
    std::istringstream res(testsupport::slurp(samples_ / "out" / "results.jsonl"));
    while (std::getline(res, line)) {
      const auto j = nlohmann::json::parse(line);
      ASSERT_EQ(j.at("status"), "issued") << line;
      results_[lines_template.at(j.at("line").get<std::size_t>())] = j;
    }
  }
  static void TearDownTestSuite() {
    delete scratch_;
    results_.clear();
  }
  static testsupport::TempDir* scratch_;  // this process's files (rasterised QRs, pages)
  static std::filesystem::path samples_;  // issue_samples.sh's output (read only here)
  static std::map<std::string, nlohmann::json> results_;
};
testsupport::TempDir* OfdIssueAll::scratch_ = nullptr;
std::filesystem::path OfdIssueAll::samples_;
std::map<std::string, nlohmann::json> OfdIssueAll::results_;

TEST_P(OfdIssueAll, OfdRenditionIsValidAndCarriesThePdfsQr) {
  const std::string id = GetParam();
  ASSERT_TRUE(results_.count(id)) << id << " was not issued";
  const auto& res = results_[id];
  const std::filesystem::path ofd = res.at("ofd").get<std::string>();
  const std::filesystem::path pdf = res.at("pdf").get<std::string>();
  const std::string bundle = shell_quote((samples_ / "bundle.cose").string());

  // 1. Our verifier: VALID, with the key state from the trust bundle.
  auto r = run(std::string(CERTCTL_BIN) + " verify --json --bundle " + bundle + " --keys " +
               shell_quote(kSrc + "/keys-example") + " " +
               shell_quote(ofd.string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const auto report = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(report.at("result"), "VALID") << r.out;
  ASSERT_EQ(report.at("signatures").size(), 1U);

  // 2. The QR: the OFD's, decoded from a rasterisation of its path, is the PDF's text exactly,
  //    and verifies offline against the bundle.
  const std::string content = entry(ofd, "Doc_0/Pages/Page_0/Content.xml");
  const auto pgm = *scratch_ / (id + "-qr.pgm");
  rasterise_qr(content, pgm);
  r = run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote(pgm.string()) + " 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << "zbarimg found no QR in the OFD's QR path";
  std::string ofd_qr = r.out;
  while (!ofd_qr.empty() && (ofd_qr.back() == '\n' || ofd_qr.back() == '\r')) ofd_qr.pop_back();
  const std::string pdf_qr = testsupport::zbar_first_page(pdf, 150, *scratch_ / (id + "-page"));
  EXPECT_EQ(ofd_qr, pdf_qr);
  r = run(std::string(CERTCTL_BIN) + " verify-qr --json --bundle " + bundle + " " +
          shell_quote(ofd_qr));  // the text zbarimg read from the OFD's QR
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\"VALID\"")) << r.out;
  EXPECT_TRUE(contains(r.out, res.at("identifier").get<std::string>())) << r.out;

  // 3. Every Chinese sample value is text of the page (TextCode, in drawing order).
  std::string text;
  static const std::regex code(R"(<ofd:TextCode[^>]*>([^<]*)</ofd:TextCode>)");
  std::smatch m;
  for (auto it = content.cbegin(); std::regex_search(it, content.cend(), m, code);
       it = m.suffix().first)
    text += unescape(m[1]);
  text = squeeze(text);
  const auto data =
      nlohmann::json::parse(testsupport::slurp(kSrc + "/templates/" + id + "/sample.json"));
  for (const auto& [field, value] : data.items()) {
    if (!value.is_string() || !has_han(value.get<std::string>())) continue;
    EXPECT_TRUE(contains(text, squeeze(value.get<std::string>())))
        << id << ": field " << field << " value '" << value.get<std::string>()
        << "' is not in the OFD's text";
  }

  // 4. Fonts: each one embedded (FontFile in the package), an sfnt, and a subset (smaller than
  //    the installed file it came from would be: at most 1 MB here, where UMing is 20 MB).
  const std::string res_xml = entry(ofd, "Doc_0/PublicRes.xml");
  static const std::regex font(R"(<ofd:Font ID="\d+"[^>]*><ofd:FontFile>([^<]+)</ofd:FontFile>)");
  int fonts = 0;
  for (auto it = res_xml.cbegin(); std::regex_search(it, res_xml.cend(), m, font);
       it = m.suffix().first) {
    ++fonts;
    const std::string bytes = entry(ofd, "Doc_0/Res/" + m[1].str());
    ASSERT_GE(bytes.size(), 12U) << m[1];
    EXPECT_TRUE(bytes.compare(0, 4, std::string("\0\1\0\0", 4)) == 0 ||
                bytes.compare(0, 4, "OTTO") == 0)
        << m[1] << " is not an sfnt";
    EXPECT_LT(bytes.size(), 1U << 20) << m[1] << " is not a subset";
  }
  EXPECT_GE(fonts, 2) << res_xml;
  EXPECT_EQ(std::regex_search(res_xml, std::regex("<ofd:Font [^>]*/>")), false)
      << "a font without FontFile: " << res_xml;
}

INSTANTIATE_TEST_SUITE_P(AllTemplates, OfdIssueAll, ::testing::ValuesIn(template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
