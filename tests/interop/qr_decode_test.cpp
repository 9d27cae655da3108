// Interop: the signed QR of licences issued through the default PDF writer (libcert's own,
// pdf_writer.h) decodes with zbarimg from the page as two renderers nobody here wrote draw it —
// Poppler (pdftoppm, Splash) at 100 and 150 dpi and MuPDF (mutool draw) at 100 dpi — for many
// distinct signed symbols, not one sample per template: 2 licences of every template with random
// serials, status indices and issue dates (each signature is fresh, so every symbol differs), and
// 12 more of the template whose payload is the largest, with the longest serials. At 100 dpi a
// version-15/16 module is 1.9-2 px: the symbol must decode from edges that fall anywhere on the
// pixel grid (the writer draws the modules as geometry, qr_path in pdf_writer.cpp; the earlier
// 4 x 4-sample image mask failed on about one version-15 symbol in six at 100 dpi).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/qr.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "support/process.h"
#include "support/templates.h"
#include "support/verifiers.h"

using testsupport::run;
using testsupport::shell_quote;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;

struct Env {
  std::shared_ptr<const libcert::TemplateSet> templates =
      libcert::TemplateSet::cached(kSrc + "/templates");
  libcert::SealKeyring seals = libcert::SealKeyring::load_dir(kSrc + "/keys-example");
  libcert::FixedClock clock{1793462400};  // 2026-11-01T00:00:00Z
  libcert::Issuer issuer{*templates, seals, {.clock = &clock}};  // the default writer
};

Env& env() {
  static Env e;
  return e;
}

std::string zbar(const std::string& png) {
  auto r = run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote(png) + " 2>/dev/null)");
  std::string s = r.out;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Issues `n` licences of template `id` with random serials of `min_len`..`max_len` characters and
// checks that each symbol decodes in all three renderings. Returns how many symbols were checked.
int check_symbols(const std::string& id, int n, std::size_t min_len, std::size_t max_len,
                  std::mt19937& rng) {
  const testsupport::TempDir dir;
  static const std::string kAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const auto tmpl = env().templates->get(id);
  const nlohmann::json data = nlohmann::json::parse(
      testsupport::slurp(std::filesystem::path(kSrc) / "templates" / id / "sample.json"));
  int checked = 0;
  for (int i = 0; i < n; ++i) {
    libcert::IssueRequest req;
    req.template_id = id;
    req.data = data;
    const std::size_t len = std::uniform_int_distribution<std::size_t>(min_len, max_len)(rng);
    for (std::size_t k = 0; k < len; ++k) req.serial += kAlnum[rng() % kAlnum.size()];
    req.status_index = static_cast<std::uint32_t>(rng() % 131072);
    req.issued_at = 1793462400 + static_cast<std::int64_t>(rng() % (200 * 86400));
    const libcert::IssuedLicence lic = env().issuer.issue(req);
    const auto pdf = dir / ("l" + std::to_string(i) + ".pdf");
    testsupport::spit(pdf, lic.pdf);
    const int version = libcert::QrMatrix::version_for(lic.qr_text, libcert::QrEcc::kQ);
    const std::string what = id + " serial " + req.serial + " (QR version " +
                             std::to_string(version) + ", " + std::to_string(lic.qr_text.size()) +
                             " characters)";
    for (int dpi : {100, 150}) {
      EXPECT_EQ(testsupport::zbar_first_page(pdf, dpi, dir / ("p" + std::to_string(dpi))),
                lic.qr_text)
          << what << ": pdftoppm at " << dpi << " dpi";
    }
    const auto png = (dir / "m100.png").string();
    const auto r = run("(mutool draw -q -r 100 -c gray -o " + shell_quote(png) + " " +
                       shell_quote(pdf.string()) + " 1 2>&1)");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(zbar(png), lic.qr_text) << what << ": mutool draw at 100 dpi";
    ++checked;
  }
  return checked;
}

TEST(QrDecode, DefaultWriterIsLibcerts) {
  EXPECT_EQ(libcert::IssuerOptions{}.pdf_writer, libcert::IssuerOptions::PdfWriter::kLibcert);
}

class QrDecodeOfTemplate : public ::testing::TestWithParam<std::string> {};

TEST_P(QrDecodeOfTemplate, TwoRandomSignedSymbolsDecodeAt100And150Dpi) {
  std::mt19937 rng(static_cast<std::uint32_t>(std::hash<std::string>{}(GetParam())));
  EXPECT_EQ(check_symbols(GetParam(), 2, 6, 16, rng), 2);
}

INSTANTIATE_TEST_SUITE_P(Templates, QrDecodeOfTemplate,
                         ::testing::ValuesIn(testsupport::template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(QrDecode, LargestTemplatesPayloadDecodesAt100And150Dpi) {
  // The template whose sample gives the longest signed text, with the same serial for all.
  std::string largest;
  std::size_t most = 0;
  for (const auto& id : testsupport::template_ids()) {
    libcert::IssueRequest req;
    req.template_id = id;
    req.data = nlohmann::json::parse(
        testsupport::slurp(std::filesystem::path(kSrc) / "templates" / id / "sample.json"));
    req.serial = "2026000001";
    const auto lic = env().issuer.issue(req);
    if (lic.qr_text.size() > most) {
      most = lic.qr_text.size();
      largest = id;
    }
  }
  ASSERT_FALSE(largest.empty());
  std::cout << "[ figures  ] largest payload: " << largest << ", " << most << " characters\n";
  std::mt19937 rng(2026);
  // Serials up to 20 characters: longer than any department's numbering, a larger symbol.
  EXPECT_EQ(check_symbols(largest, 12, 12, 20, rng), 12);
}

}  // namespace
