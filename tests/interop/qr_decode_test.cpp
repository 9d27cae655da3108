// Interop: the signed QR of licences issued through the default PDF writer (libcert's own,
// pdf_writer.h) decodes with zbarimg from the page as two renderers nobody here wrote draw it —
// Poppler (pdftoppm, Splash) and MuPDF (mutool draw) at 100 and 150 dpi — for many
// distinct signed symbols, not one sample per template: 2 licences of every template with random
// serials, status indices and issue dates (each signature is fresh, so every symbol differs), and
// 12 more of the template whose payload is the largest, with the longest serials. At 100 dpi a
// version-15/16 module is 1.9-2 px: the symbol must decode from edges that fall anywhere on the
// pixel grid (the writer draws the modules as an image mask of 2 x 2 samples per module, qr_image
// in pdf_writer.cpp, on the 1/50-inch grid up to version 15; the earlier
// 4 x 4-sample image mask failed on about one version-15 symbol in six at 100 dpi, and one fill
// per row of modules on about one version-14 symbol in 160: grey seams where fills met).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/qr.h"
#include "libcert/sign.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "pdf_writer.h"
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

// The symbol on the PDF's first page decodes to `text` in all four renderings: Poppler and
// MuPDF at 100 and 150 dpi. (MuPDF interpolates an upscaled image mask whatever its
// /Interpolate: at 150 dpi, 3 px for 2 samples per module, module edges are grey.)
void expect_decodes(const std::filesystem::path& pdf, const std::string& text,
                    const std::string& what, const std::filesystem::path& dir) {
  for (int dpi : {100, 150}) {
    EXPECT_EQ(testsupport::zbar_first_page(pdf, dpi, dir / ("p" + std::to_string(dpi))), text)
        << what << ": pdftoppm at " << dpi << " dpi";
    const auto png = (dir / ("m" + std::to_string(dpi) + ".png")).string();
    const auto r = run("(mutool draw -q -r " + std::to_string(dpi) + " -c gray -o " +
                       shell_quote(png) + " " + shell_quote(pdf.string()) + " 1 2>&1)");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(zbar(png), text) << what << ": mutool draw at " << dpi << " dpi";
  }
}

// LIBCERT_QR_DECODE_SYMBOLS=N: N random symbols per template instead of 2 (a longer run for the
// figures in docs/qr.md).
int symbols_per_template() {
  const char* n = std::getenv("LIBCERT_QR_DECODE_SYMBOLS");
  return n != nullptr && std::atoi(n) > 0 ? std::atoi(n) : 2;
}

// Issues `n` licences of template `id` with random serials of `min_len`..`max_len` characters and
// checks that each symbol decodes in all four renderings. Returns how many symbols were checked.
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
    expect_decodes(pdf, lic.qr_text, what, dir.path());
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
  const int n = symbols_per_template();
  EXPECT_EQ(check_symbols(GetParam(), n, 6, 16, rng), n);
}

INSTANTIATE_TEST_SUITE_P(Templates, QrDecodeOfTemplate,
                         ::testing::ValuesIn(testsupport::template_ids()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// Signed texts whose version-14 symbols did not decode from Poppler's 100 dpi page when the QR
// filled the template's 45 mm square (2.19 px modules, edges anywhere on the pixel grid: grey
// anti-aliased bands; one in the fresh-clone CI run, four in ~700 symbols of a local run; drawing
// the modules in one fill instead of one per row did not help). The symbol is a function of the
// text (the mask libqrencode would choose), so the same symbols are laid out again here on their
// templates' pages, now on the 1/50-inch grid (render.cpp fit_qr), and must decode in all four
// renderings.
TEST(QrDecode, SymbolsThatFailedUnalignedDecode) {
  const struct {
    const char* id;
    const char* text;
  } cases[] = {
      {"disability-certificate",  // serial J0VYSCDH
       "HTTPS://LIC.ALI.EXAMPLE/V#"
       "5925521407457024420383293161393748441262893261547533214663280729758913563782424508720135"
       "6931868852329034853981729987179399406971549125120018472409878946225142821300743728135648"
       "7369493432113846356895477808135637824072056831441717108508006728963926107006399012514727"
       "4138142614972295558213684135670809588672053065293483065926264381606620528902073196778293"
       "8396200009101640210944004072030349748613876238925482729623058342243815213245774715751723"
       "5605979659378502174223258266866323352589266567245173304742398772625343028744467507397342"
       "27505653023080"},
      {"marriage-certificate",  // serial PVUKUHYZIZTE0FSZ
       "HTTPS://LIC.ALI.EXAMPLE/V#"
       "5925521407457024420484584998146731584551248595934733214223476078648513563782424508720135"
       "6820201491817030373937283727361000007215790367582400820267852448925425404043350874130008"
       "3247037261032986659623546928135637824071393771441151889383249615766364957221348527786439"
       "5400129638566965022110770149733691486495221496785875580933615487076136621029477395952316"
       "5954600340082825828864023300198939634222484029060302120329197647630231297485309507720819"
       "7400931974274217565618888039389929605619513915938338747248748267651334581087622045631205"
       "265426329942584412811772"},
      {"marriage-certificate",  // serial PVUKUHYZIZTE0FSZ
       "HTTPS://LIC.ALI.EXAMPLE/V#"
       "5925521407457024420484584998146731584551248595934733214223476078648513563782424508720135"
       "6820201491817030373937283727361000007215790367582400820267852448925425404043350874130008"
       "3247037261032986659623546928135637824071393771441151889383249615766364957221348527786439"
       "5400129638566965022110770149733691486495221496785875580933615487076136621029477395952316"
       "5954600340082825828864023300198939634222484111484529748337936282205438972524445468340977"
       "0207075335053739550490709195523559212141854142730491948135735869598842307799102609670554"
       "139691841060952110000313"},
      {"disability-certificate",  // serial J0VYSCDH
       "HTTPS://LIC.ALI.EXAMPLE/V#"
       "5925521407457024420383293161393748441262893261547533214663280729758913563782424508720135"
       "6931868852329034853981729987179399406971549125120018472409878946225142821300743728135648"
       "7369493432113846356895477808135637824072056831441717108508006728963926107006399012514727"
       "4138142614972295558213684135670809588672053065293483065926264381606620528902073196778293"
       "8396200009101640210944004072030349995261089770957036807871450370683556830556376709578828"
       "2840379281321025938268295956586984512570249400458494013356443510204269411897789103397500"
       "80225496651140"},
      {"marriage-certificate",  // serial PHJLQS90E
       "HTTPS://LIC.ALI.EXAMPLE/V#"
       "5925521407457024420484584998146731584551248591347213214223476078648513563782424508720135"
       "6820201491817030344941758185473000007215785779922091306044890733313000832470371842329866"
       "5962354692813563782407139377144115188938324961576636495722134852778643954001296385669650"
       "2211077014973369148649522149678587558093361548707613662102947739595231659546003400813158"
       "7942402330019893942085248403894743398764503707062762397147616562297180818629693125074072"
       "5109487078923443300538172079280604376782625858282216466390146737371482111254397475527700"
       "4251799"},
  };
  const testsupport::TempDir dir;
  const libcert::Renderer renderer;
  const libcert::FixedClock clock{1793462400};
  for (const auto& k : cases) {
    const auto tmpl = env().templates->get(k.id);
    const auto data = tmpl->validate(
        nlohmann::json::parse(testsupport::slurp(std::filesystem::path(kSrc) / "templates" / k.id /
                                                 "sample.json")),
        clock);
    const libcert::RenderInput in{"1.2.156.3005.2.X", "2026-11-01", k.text, 1793462400, 1};
    const auto pdf = dir / (std::string(k.id) + ".pdf");
    testsupport::spit(pdf, libcert::pdfw::write_pdf(renderer.layout(*tmpl, data, in), {}));
    expect_decodes(pdf, k.text, k.id, dir.path());
  }
}

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
