// The rendered licence checked with tools nobody here wrote: pdftotext, pdffonts, pdftoppm,
// zbarimg, pdfinfo, qpdf; and certctl render / templates end to end.
#include "libcert/render.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ids.h"
#include "libcert/template.h"
#include "pdf_writer.h"
#include "support/process.h"

namespace fs = std::filesystem;
using libcert::ErrorCode;
using nlohmann::json;
using testsupport::run;
using testsupport::shell_quote;

namespace {

const fs::path kTemplates = fs::path(LIBCERT_SOURCE_DIR) / "templates";
const fs::path kSample = kTemplates / "business-licence-enterprise" / "sample.json";
const libcert::FixedClock kClock(1741968000);  // 2025-03-15 00:00 China time
const char* const kIssued = "2025-03-15";

// zbarimg prints only the decoded text with --raw; its diagnostics (D-Bus, DataBar decoder) go
// to stderr, which is dropped here (run() merges stderr into the output).
std::string zbarimg(const std::string& png) {
  return "{ zbarimg --raw -q -Sdisable -Sqrcode.enable -Sdisable -Sqrcode.enable " + shell_quote(png) + " 2>/dev/null; }";
}

json sample() { return json::parse(testsupport::slurp(kSample)); }

std::string strip_space(const std::string& s) {
  std::string o;
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\f') o += c;
  return o;
}

struct Rendered {
  testsupport::TempDir dir;
  fs::path pdf;
  libcert::RenderResult result;
  std::string identifier, qr;
};

std::unique_ptr<Rendered> render(const json& data, const fs::path& templates = kTemplates) {
  auto set = libcert::TemplateSet::load(templates);
  auto t = set.get("business-licence-enterprise");
  auto d = t->validate(data, kClock);
  auto r = std::make_unique<Rendered>();
  r->identifier =
      libcert::LicenceId::make(t->type_code(), t->department().uscc, "2025000168", 1).str();
  r->qr = "HTTPS://LIC.ALI.EXAMPLE/V/" + r->identifier;
  libcert::Renderer renderer;
  r->result = renderer.render(*t, d, {r->identifier, kIssued, r->qr, kClock.now(), 1});
  r->pdf = r->dir / "licence.pdf";
  testsupport::spit(r->pdf, r->result.pdf);
  return r;
}

libcert::Error render_error(const json& data, const fs::path& templates = kTemplates) {
  try {
    (void)render(data, templates);
  } catch (const libcert::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected libcert::Error";
  return libcert::Error(ErrorCode::kInternal, "none");
}

// Minimal P6 PPM reader (pdftoppm's default output).
struct Ppm {
  int w = 0, h = 0;
  std::string px;
  [[nodiscard]] bool red(int x, int y) const {
    const auto i =
        (static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)) *
        3;
    const auto r = static_cast<unsigned char>(px[i]), g = static_cast<unsigned char>(px[i + 1]),
               b = static_cast<unsigned char>(px[i + 2]);
    return r > 150 && g < 110 && b < 110;
  }
};

Ppm read_ppm(const fs::path& p) {
  std::istringstream in(testsupport::slurp(p));
  std::string magic;
  int maxval = 0;
  Ppm m;
  in >> magic >> m.w >> m.h >> maxval;
  in.get();
  m.px.resize(static_cast<std::size_t>(m.w) * static_cast<std::size_t>(m.h) * 3);
  in.read(m.px.data(), static_cast<std::streamsize>(m.px.size()));
  return m;
}

}  // namespace

TEST(Render, PdftotextFindsEveryChineseValueOfTheSample) {
  auto r = render(sample());
  auto out = run("pdftotext -enc UTF-8 " + shell_quote(r->pdf.string()) + " -");
  ASSERT_EQ(out.exit_code, 0) << out.out;
  const std::string text = strip_space(out.out);
  const json data = sample();
  for (const auto& [k, v] : data.items()) {
    std::string want = v.get<std::string>();
    if (k == "date_of_establishment" || k == "term_start") {
      want = libcert::format_date(want, "zh");  // printed as 2019年05月20日
    }
    EXPECT_NE(text.find(strip_space(want)), std::string::npos)
        << k << " = " << want << " missing from:\n"
        << out.out;
  }
  // Formatted values, the title, the department and the issue date in both scripts' Chinese form.
  for (const char* s :
       {"营业执照（企业）", "500万元", "2019年05月20日至长期", "阿里地区市场监督管理局",
        "2025年03月15日", "统一社会信用代码", "法定代表人", "经营范围"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s;
  }
  EXPECT_NE(text.find(r->identifier), std::string::npos);
}

TEST(Render, PdffontsShowsOnlyEmbeddedSubsets) {
  auto r = render(sample());
  auto out = run("pdffonts " + shell_quote(r->pdf.string()));
  ASSERT_EQ(out.exit_code, 0) << out.out;
  std::istringstream lines(out.out);
  std::string line;
  int rows = 0;
  std::getline(lines, line);  // header
  std::getline(lines, line);  // ----
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++rows;
    // name+subset tag, then "emb sub uni": all "yes".
    EXPECT_NE(line.find("yes yes yes"), std::string::npos) << line;
    EXPECT_EQ(line[6], '+') << "not a subset: " << line;
  }
  EXPECT_GE(rows, 2);  // the CJK (Noto Serif CJK SC) and Tibetan (Noto Serif Tibetan) subsets
  EXPECT_NE(out.out.find("NotoSerifCJK"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("NotoSerifTibetan"), std::string::npos) << out.out;
}

TEST(Render, ZbarimgDecodesExactlyTheQrText) {
  auto r = render(sample());
  const auto png = r->dir / "page";
  auto ppm = run("pdftoppm -r 150 -png -singlefile " + shell_quote(r->pdf.string()) + " " +
                 shell_quote(png.string()));
  ASSERT_EQ(ppm.exit_code, 0) << ppm.out;
  auto z = run(zbarimg(png.string() + ".png"));
  ASSERT_EQ(z.exit_code, 0) << z.out;
  EXPECT_EQ(z.out, r->qr + "\n");
}

TEST(Render, SampleIsAtMost60KB) {
  // The size bound is the issued licence's (issue 21): libcert's own writer, which the issuing
  // path uses. Cairo's rendering (previews) embeds cairo's CFF subset of Noto Serif CJK with its
  // subroutines (~0.5 MB) and is not bound.
  auto r = render(sample());
  auto set = libcert::TemplateSet::load(kTemplates);
  auto t = set.get("business-licence-enterprise");
  const libcert::Renderer renderer;
  r->result = libcert::pdfw::render(renderer, *t, t->validate(sample(), kClock),
                                    {r->identifier, kIssued, r->qr, kClock.now(), 1});
  testsupport::spit(r->pdf, r->result.pdf);
  EXPECT_LE(r->result.pdf.size(), 60U * 1024U) << "sample PDF is " << r->result.pdf.size();
  auto q = run("qpdf --check " + shell_quote(r->pdf.string()));
  EXPECT_EQ(q.exit_code, 0) << q.out;
  EXPECT_NE(q.out.find("No syntax or stream encoding errors"), std::string::npos) << q.out;
}

TEST(Render, SealMeasuresItsSpecDiameterOverTheIssueDate) {
  auto set = libcert::TemplateSet::load(kTemplates);
  auto t = set.get("business-licence-enterprise");
  auto r = render(sample());
  const double d_mm = t->department().seal.diameter_mm;  // 42
  const double cx = t->seal().cx_mm, cy = t->seal().cy_mm;
  // The seal rectangle for the signer: PDF user space, points, origin bottom-left.
  const double k = 72.0 / 25.4;
  EXPECT_EQ(r->result.seal.page, 0);
  EXPECT_NEAR(r->result.seal.x, (cx - d_mm / 2) * k, 1e-6);
  EXPECT_NEAR(r->result.seal.y, (t->page().height_mm - cy - d_mm / 2) * k, 1e-6);
  EXPECT_NEAR(r->result.seal.w, d_mm * k, 1e-6);
  // Render a 60 x 60 mm window around the seal at 600 dpi and measure the red pixels.
  const int dpi = 600;
  const double px_per_mm = dpi / 25.4;
  const int x0 = static_cast<int>((cx - 30) * px_per_mm),
            y0 = static_cast<int>((cy - 30) * px_per_mm);
  const int side = static_cast<int>(60 * px_per_mm);
  const auto out = r->dir / "seal";
  auto pp = run("pdftoppm -r 600 -singlefile -x " + std::to_string(x0) + " -y " +
                std::to_string(y0) + " -W " + std::to_string(side) + " -H " + std::to_string(side) +
                " " + shell_quote(r->pdf.string()) + " " + shell_quote(out.string()));
  ASSERT_EQ(pp.exit_code, 0) << pp.out;
  const Ppm img = read_ppm(out.string() + ".ppm");
  int minx = img.w, maxx = -1, miny = img.h, maxy = -1;
  for (int y = 0; y < img.h; ++y) {
    for (int x = 0; x < img.w; ++x) {
      if (!img.red(x, y)) continue;
      minx = std::min(minx, x), maxx = std::max(maxx, x);
      miny = std::min(miny, y), maxy = std::max(maxy, y);
    }
  }
  ASSERT_GE(maxx, 0) << "no red pixels";
  const double w_mm = (maxx - minx + 1) / px_per_mm, h_mm = (maxy - miny + 1) / px_per_mm;
  EXPECT_NEAR(w_mm, d_mm, 0.2);
  EXPECT_NEAR(h_mm, d_mm, 0.2);
  // Centred where the manifest says (±0.2 mm).
  EXPECT_NEAR(x0 / px_per_mm + (minx + maxx + 1) / 2.0 / px_per_mm, cx, 0.2);
  EXPECT_NEAR(y0 / px_per_mm + (miny + maxy + 1) / 2.0 / px_per_mm, cy, 0.2);
}

TEST(Render, MetadataInInfoDictAndXmp) {
  auto r = render(sample());
  auto info = run("pdfinfo " + shell_quote(r->pdf.string()));
  ASSERT_EQ(info.exit_code, 0) << info.out;
  EXPECT_NE(info.out.find("Title:           营业执照（企业）"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Subject:         " + r->identifier), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Author:          阿里地区市场监督管理局"), std::string::npos);
  EXPECT_NE(info.out.find("Creator:         libcert"), std::string::npos);
  EXPECT_NE(info.out.find("CreationDate:    Fri Mar 14 16:00:00 2025 UTC"), std::string::npos)
      << info.out;  // 2025-03-15 00:00 China time, from the injected clock
  auto meta = run("pdfinfo -meta " + shell_quote(r->pdf.string()));
  ASSERT_EQ(meta.exit_code, 0);
  for (const std::string& s :
       {"<lic:LicenceIdentifier>" + r->identifier + "</lic:LicenceIdentifier>",
        std::string("<lic:HolderCode>91542523MA6T1D4L25</lic:HolderCode>"),
        std::string("<lic:HolderCodeType>001</lic:HolderCodeType>"),
        std::string("<lic:IssuingAuthorityCode>115425000199003834</lic:IssuingAuthorityCode>"),
        std::string("<lic:LicenceNumber>5425232019000168</lic:LicenceNumber>"),
        std::string("<lic:IssueDate>2025-03-15</lic:IssueDate>"),
        std::string("<licx:legal_representative>次仁多吉</licx:legal_representative>")}) {
    EXPECT_NE(meta.out.find(s), std::string::npos) << s << "\n" << meta.out;
  }
  EXPECT_EQ(r->result.metadata["identifier"], r->identifier);
}

TEST(Render, ByteIdenticalForAFixedClock) {
  auto a = render(sample());
  auto b = render(sample());
  EXPECT_EQ(a->result.pdf, b->result.pdf);
}

TEST(Render, RareCharactersFromExtensionAAndBPrintWithRealGlyphs) {
  json d = sample();
  d["legal_representative"] = "次仁\U00020000\u3400";  // 𠀀 (Ext B) and 㐀 (Ext A)
  auto r = render(d);
  auto out = run("pdftotext -enc UTF-8 " + shell_quote(r->pdf.string()) + " -");
  EXPECT_NE(strip_space(out.out).find("次仁\U00020000\u3400"), std::string::npos) << out.out;
  auto fonts = run("pdffonts " + shell_quote(r->pdf.string()));
  EXPECT_NE(fonts.out.find("HanaMin"), std::string::npos) << fonts.out;
}

TEST(Render, CharacterWithoutAnyGlyphIsAnErrorNamingTheField) {
  for (const char* bad : {"\U0002FFFD", "\uE000"}) {  // unassigned; private use (not Tibetan)
    json d = sample();
    d["legal_representative"] = std::string("次仁") + bad;
    auto e = render_error(d);
    EXPECT_EQ(e.code(), ErrorCode::kRender);
    ASSERT_EQ(e.problems().size(), 1U);
    EXPECT_EQ(e.problems()[0].field, "legal_representative");
    EXPECT_EQ(e.problems()[0].rule, "no-glyph");
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(std::string("field legal_representative: character U+") +
                             (bad[0] == '\xF0' ? "2FFFD" : "E000") + " '" + bad +
                             "' has no glyph in any configured font",
                         0),
              0U)
        << what;
  }
}

TEST(Render, ValueThatCannotFitIsAnErrorNeverClipped) {
  testsupport::TempDir tmp;
  fs::copy(kTemplates, tmp.path(), fs::copy_options::recursive);
  auto mp = tmp / "business-licence-enterprise" / "manifest.json";
  json m = json::parse(testsupport::slurp(mp));
  for (auto& it : m["layout"]["items"]) {
    if (it.value("field", "") == "business_scope") it["value_box"] = json::array({62, 106, 86, 3});
  }
  testsupport::spit(mp, m.dump());
  auto e = render_error(sample(), tmp.path());
  EXPECT_EQ(e.code(), ErrorCode::kRender);
  EXPECT_NE(std::string(e.what()).find("field business_scope: value does not fit its box"),
            std::string::npos)
      << e.what();
  // The longest scope the schema allows (600 characters) fits the real box.
  json d = sample();
  std::string scope;
  const std::string unit = "牦牛藏绵羊养殖及销售；";  // 11 characters
  while (scope.size() / 3 + 11 <= 600) scope += unit;
  d["business_scope"] = scope;
  EXPECT_NO_THROW((void)render(d));
}

TEST(Certctl, RenderWritesAVerifiablePdf) {
  testsupport::TempDir tmp;
  const auto out = tmp / "out.pdf";
  auto r = run(std::string(CERTCTL_BIN) + " render --template business-licence-enterprise --data " +
               shell_quote(kSample.string()) + " --issued 2025-03-15 --serial 2025000168 -o " +
               shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string id = "1.2.156.3005.2.11100000000013338W001.115425000199003834.2025000168.001.X";
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_NO_THROW((void)libcert::LicenceId::parse(id));
  auto png = tmp / "p";
  ASSERT_EQ(run("pdftoppm -r 150 -png -singlefile " + shell_quote(out.string()) + " " +
                shell_quote(png.string()))
                .exit_code,
            0);
  auto z = run(zbarimg(png.string() + ".png"));
  EXPECT_EQ(z.out, "HTTPS://LIC.ALI.EXAMPLE/V/" + id + "\n");
}

TEST(Certctl, RenderRejectsBadDataOneLinePerProblemAndWritesNothing) {
  testsupport::TempDir tmp;
  json d = sample();
  d["uscc"] = "91542523MA6T1D4L24";           // wrong check character
  d.erase("legal_representative");            // missing
  d["name"] = std::string(61, 'X');           // too long
  d["domicile"] = "噶尔县\x07狮泉河镇";       // control character
  d["business_scope"] = "\xEF\x8C\x80";       // U+F300 legacy Tibetan PUA
  d["date_of_establishment"] = "2019-02-29";  // not a leap year
  testsupport::spit(tmp / "bad.json", d.dump());
  const auto out = tmp / "out.pdf";
  auto r = run(std::string(CERTCTL_BIN) + " render --template business-licence-enterprise --data " +
               shell_quote((tmp / "bad.json").string()) + " -o " + shell_quote(out.string()));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 6U) << r.out;
  std::sort(got.begin(), got.end());
  const std::vector<std::string> rules = {
      "error: business_scope: ", "error: date_of_establishment: ",
      "error: domicile: ",       "error: legal_representative: ",
      "error: name: ",           "error: uscc: "};
  const std::vector<std::string> tags = {"[legacy-tibetan-pua]", "[date-invalid]",
                                         "[control-character]",  "[required]",
                                         "[max-length]",         "[uscc-check]"};
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].rfind(rules[i], 0), 0U) << got[i];
    EXPECT_NE(got[i].find(tags[i]), std::string::npos) << got[i];
  }
}

TEST(Certctl, TemplatesListsIdDepartmentTitle) {
  auto r = run(std::string(CERTCTL_BIN) + " templates");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("business-licence-enterprise\t阿里地区市场监督管理局\t营业执照（企业）\n"),
            std::string::npos)
      << r.out;
}
