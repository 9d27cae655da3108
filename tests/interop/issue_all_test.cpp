// Interop: one licence of EVERY template issued by `certctl issue` (render + seal) from its
// templates/<id>/sample.json, then checked only by tools nobody here wrote:
//   pdfsig (NSS, example root trusted): Signature is Valid / Certificate is Trusted / Total
//   document signed;  qpdf --check: no errors;  pdftoppm 150 dpi + zbarimg: the QR decodes to
//   exactly the text certctl reported;  pdftotext: every Chinese sample value is on the page;
//   pdffonts: every font embedded and subset.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "support/process.h"
#include "support/templates.h"
#include "support/verifiers.h"

using testsupport::contains;
using testsupport::run;
using testsupport::shell_quote;
using testsupport::template_ids;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;

// pdftotext output with all whitespace removed (values wrap across lines in their boxes).
std::string squeeze(std::string s) {
  std::erase_if(
      s, [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'; });
  return s;
}

bool has_han(const std::string& s) {
  // Any UTF-8 sequence starting with E3..E9 (U+3000..U+9FFF) or F0 (beyond the BMP).
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 0xE3 && c <= 0xE9) || c == 0xF0) return true;
  }
  return false;
}

class IssueAll : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    nss_ = new testsupport::NssTrust(*dir_ / "nss", kSrc + "/keys-example/root/root.crt");
    const auto r = run(std::string(CERTCTL_BIN) + " trust-bundle export --version 1 -o " +
                       shell_quote((*dir_ / "bundle.cose").string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() {
    delete nss_;
    delete dir_;
  }
  static testsupport::TempDir* dir_;
  static testsupport::NssTrust* nss_;
};
testsupport::TempDir* IssueAll::dir_ = nullptr;
testsupport::NssTrust* IssueAll::nss_ = nullptr;

TEST_P(IssueAll, IssuedSampleIsValidForIndependentVerifiers) {
  const std::string id = GetParam();
  const auto pdf = *dir_ / (id + ".pdf");
  const std::string sample = kSrc + "/templates/" + id + "/sample.json";
  auto r = run(std::string(CERTCTL_BIN) + " issue --json --issued 2026-11-01 --template " + id +
               " --data " + shell_quote(sample) + " -o " + shell_quote(pdf.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto issued = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  const std::string qr_text = issued.at("qr_text");

  // 1. pdfsig: valid, trusted, covering the whole document.
  const std::string sig = nss_->pdfsig(pdf);
  const auto blocks = testsupport::pdfsig_blocks(sig);
  ASSERT_EQ(blocks.size(), 1U) << sig;
  EXPECT_TRUE(contains(blocks[0], "Signature Validation: Signature is Valid.")) << sig;
  EXPECT_TRUE(contains(blocks[0], "Certificate Validation: Certificate is Trusted.")) << sig;
  EXPECT_TRUE(contains(blocks[0], "Total document signed")) << sig;

  // 2. qpdf --check: structure without errors (exit 0; 2 = errors, 3 = warnings).
  r = run("qpdf --check " + shell_quote(pdf.string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "No syntax or stream encoding errors found")) << r.out;

  // 3. The QR on the page, at 150 dpi, decodes to exactly the issued QR text, and verifies
  //    offline against the exported bundle alone (certctl decodes the same PNG with zbar).
  EXPECT_EQ(testsupport::zbar_first_page(pdf, 150, *dir_ / (id + "-page")), qr_text);
  r = run(std::string(CERTCTL_BIN) + " verify-qr --json --bundle " +
          shell_quote((*dir_ / "bundle.cose").string()) + " " +
          shell_quote((*dir_ / (id + "-page.png")).string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\"VALID\"")) << r.out;
  EXPECT_TRUE(contains(r.out, issued.at("identifier").get<std::string>())) << r.out;

  // 4. Every Chinese value of the sample is extractable text on the page.
  r = run("pdftotext -enc UTF-8 " + shell_quote(pdf.string()) + " -");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string text = squeeze(r.out);
  const auto data = nlohmann::json::parse(testsupport::slurp(sample));
  for (const auto& [field, value] : data.items()) {
    if (!value.is_string() || !has_han(value.get<std::string>())) continue;
    EXPECT_TRUE(contains(text, squeeze(value.get<std::string>())))
        << id << ": field " << field << " value '" << value.get<std::string>()
        << "' not found by pdftotext";
  }

  // 5. pdffonts: every font row embedded (emb=yes) and subset (sub=yes).
  r = run("pdffonts " + shell_quote(pdf.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int fonts = 0;
  static const std::regex row(R"(^\S+\s+.*\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$)");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    ++fonts;
    EXPECT_EQ(m[1], "yes") << "not embedded: " << line;
    EXPECT_EQ(m[2], "yes") << "not a subset: " << line;
  }
  EXPECT_GE(fonts, 2) << r.out;

  // 6. Size: at most 60 KB per sealed licence (issue 4; bench/README.md records every template).
  EXPECT_LE(std::filesystem::file_size(pdf), 60U * 1024U) << id;
}

INSTANTIATE_TEST_SUITE_P(Templates, IssueAll, ::testing::ValuesIn(template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(IssueAllTemplates, ThereAre24) { EXPECT_EQ(template_ids().size(), 24U); }

}  // namespace
