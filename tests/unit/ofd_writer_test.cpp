// The OFD writer (libcert/ofd_writer.h) in-process: the OFD rendition of the Issuer, its
// verification by verify_ofd, byte stability, the CGTransform encoding of Tibetan clusters, the
// embedded subsets, and the specific errors. Interop with external tools: tests/interop/
// ofd_issue_all_test.cpp (zbarimg, 24 templates) and tests/ofd-node (ofd.js, npm-only check).
#include "libcert/ofd_writer.h"

#include <gtest/gtest.h>

#include <regex>

#include "libcert/error.h"
#include "libcert/issuer.h"
#include "libcert/ofd.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "libcert/verify.h"
#include "ofd_zip.h"
#include "support/process.h"

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
constexpr std::int64_t kNov2026 = 1793462400;  // 2026-11-01T00:00:00Z

std::string entry(const std::string& ofd, const std::string& name) {
  for (auto& e : libcert::ofd::zip_read(ofd))
    if (e.name == name) return e.data;
  ADD_FAILURE() << name << " not in the package";
  return {};
}

class OfdWriterTest : public ::testing::Test {
 protected:
  OfdWriterTest()
      : templates_(libcert::TemplateSet::cached(kSrc + "/templates")),
        seals_(libcert::SealKeyring::load_dir(kSrc + "/keys-example")),
        ofd_seals_(libcert::OfdSealKeyring::load_dir(kSrc + "/keys-example")),
        clock_(kNov2026),
        issuer_(*templates_, seals_, {.clock = &clock_, .ofd_seals = &ofd_seals_}) {}

  libcert::IssueRequest request(const std::string& id) const {
    libcert::IssueRequest r;
    r.template_id = id;
    r.data = nlohmann::json::parse(testsupport::slurp(kSrc + "/templates/" + id + "/sample.json"));
    r.serial = "2026000123";
    return r;
  }
  libcert::PageLayout layout(const std::string& id) const {
    const auto t = templates_->get(id);
    const auto data = t->validate(request(id).data, clock_);
    libcert::RenderInput in{"1.2.156.3005.2.X", "2026-11-01", "HTTPS://LIC.ALI.EXAMPLE/V#123",
                            kNov2026, 1};
    return renderer_.layout(*t, data, in);
  }

  std::shared_ptr<const libcert::TemplateSet> templates_;
  libcert::SealKeyring seals_;
  libcert::OfdSealKeyring ofd_seals_;
  libcert::FixedClock clock_;
  libcert::Issuer issuer_;
  libcert::Renderer renderer_;
};

TEST_F(OfdWriterTest, IssuerMakesBothRenditionsWithOneQr) {
  auto req = request("business-licence-enterprise");
  req.ofd = true;
  const auto lic = issuer_.issue(req);
  ASSERT_FALSE(lic.pdf.empty());
  ASSERT_TRUE(libcert::looks_like_ofd(lic.ofd));
  EXPECT_EQ(lic.ofd_sha256.size(), 64U);

  libcert::TrustStore trust;
  trust.add_path(kSrc + "/keys-example/sm2/root.crt");
  const libcert::VerificationReport r = libcert::verify_ofd(lic.ofd, trust, {.clock = &clock_});
  ASSERT_EQ(r.signatures.size(), 1U);
  for (const auto& c : r.signatures[0].checks) {
    if (c.id == "key-state") continue;  // no trust data given here (interop test: VALID)
    EXPECT_EQ(c.status, libcert::CheckStatus::kPass) << c.id << ": " << c.detail;
  }
  // The GB/T 36903 record, with the PDF's XMP names, and the issuer binding's input.
  const std::string ofd_xml = entry(lic.ofd, "OFD.xml");
  EXPECT_NE(ofd_xml.find("<ofd:CustomData Name=\"LicenceIdentifier\">" + lic.identifier), std::string::npos);
  EXPECT_NE(ofd_xml.find("<ofd:CustomData Name=\"IssuingAuthorityCode\">115425000199003834"),
            std::string::npos);
  EXPECT_NE(entry(lic.ofd, "Doc_0/Tags/Licence.xml").find("<lic:Extension>"), std::string::npos);
}

TEST_F(OfdWriterTest, OnlyTheOfdWhenAsked) {
  auto req = request("marriage-certificate");
  req.pdf = false;
  req.ofd = true;
  const auto lic = issuer_.issue(req);
  EXPECT_TRUE(lic.pdf.empty());
  EXPECT_FALSE(lic.ofd.empty());
  req.ofd = false;
  try {
    (void)issuer_.issue(req);
    FAIL() << "no rendition accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
  }
}

TEST_F(OfdWriterTest, AnIssuerWithoutOfdSealsRefusesAnOfd) {
  libcert::Issuer pdf_only(*templates_, seals_, {.clock = &clock_});
  auto req = request("marriage-certificate");
  req.ofd = true;
  try {
    (void)pdf_only.issue(req);
    FAIL() << "issued an OFD without SM2 seals";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kNotFound) << e.what();
  }
}

// Byte stability (docs/ofd.md): the same layout, record and time give the same entries; only
// SignedValue.dat differs (SM2 draws a fresh k). Every file a reference hashes is identical.
TEST_F(OfdWriterTest, SameInputSameBytesExceptTheSm2SignatureValue) {
  const auto page = layout("marriage-certificate");
  const libcert::OfdDocumentInfo info{{{"identifier", "X"}, {"title", "结婚证"}}, kNov2026};
  const auto& seal = ofd_seals_.get("civil-affairs");
  const auto a = libcert::ofd::zip_read(libcert::write_sealed_ofd(page, info, seal, clock_));
  const auto b = libcert::ofd::zip_read(libcert::write_sealed_ofd(page, info, seal, clock_));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    if (a[i].name.ends_with("SignedValue.dat")) continue;
    EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  }
  EXPECT_EQ(libcert::write_ofd(page, info), libcert::write_ofd(page, info));
}

// Tibetan: one TextObject per user-perceived cluster — a stack's characters (base + subjoined +
// vowel signs) share one TextCode and one CGTransform naming the embedded subset's glyphs — and
// no TextCode starts with a combining mark (a reader would draw it alone, on a dotted circle).
TEST_F(OfdWriterTest, TibetanStacksAreOneTextObjectEach) {
  const std::string content = entry(
      libcert::write_ofd(layout("marriage-certificate"), {{{"identifier", "X"}}, kNov2026}),
      "Doc_0/Pages/Page_0/Content.xml");
  static const std::regex obj(
      R"re(<ofd:CGTransform CodePosition="0" CodeCount="(\d+)" GlyphCount="(\d+)"><ofd:Glyphs>([\d ]+)</ofd:Glyphs></ofd:CGTransform><ofd:TextCode [^>]*>([^<]*)</ofd:TextCode>)re");
  int stacks = 0, objects = 0;
  std::smatch m;
  for (auto it = content.cbegin(); std::regex_search(it, content.cend(), m, obj);
       it = m.suffix().first) {
    ++objects;
    const std::string text = m[4];
    std::size_t chars = 0;
    for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    EXPECT_EQ(std::to_string(chars), m[1].str()) << text;
    std::istringstream g(m[3].str());
    std::size_t glyphs = 0;
    for (unsigned v = 0; g >> v;) ++glyphs;
    EXPECT_EQ(std::to_string(glyphs), m[2].str()) << text;
    // U+0F71..U+0F84 and U+0F8D..U+0FBC (vowel signs, subjoined letters) never start a TextCode.
    if (text.size() < 3) continue;  // ASCII (digits, punctuation)
    const auto b1 = static_cast<unsigned char>(text[1]), b2 = static_cast<unsigned char>(text[2]);
    if (static_cast<unsigned char>(text[0]) == 0xE0 && (b1 == 0xBD || b1 == 0xBE)) {
      const unsigned cp = 0x0F00u + ((b1 & 0x03u) << 6) + (b2 & 0x3Fu);
      EXPECT_FALSE((cp >= 0x0F71 && cp <= 0x0F84) || (cp >= 0x0F8D && cp <= 0x0FBC))
          << "a TextCode starts with the mark U+" << std::hex << cp;
      if (chars > 1) ++stacks;
    }
  }
  EXPECT_GT(objects, 50);
  EXPECT_GT(stacks, 5) << "no Tibetan stack found";
}

TEST_F(OfdWriterTest, SpecificErrors) {
  libcert::PageLayout empty;
  try {
    (void)libcert::write_ofd(empty, {});
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("page size"), std::string::npos) << e.what();
  }
  auto page = layout("marriage-certificate");
  page.text.front().font = page.fonts.size();
  try {
    (void)libcert::write_ofd(page, {});
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
  }
  // A seal file that does not list the key's certificate is refused when the keyring is built.
  libcert::OfdSealKeyring ring;
  const auto& samr = ofd_seals_.get("samr");
  try {
    ring.add("samr", {ofd_seals_.get("water").signer, samr.esl});
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("certificate list"), std::string::npos) << e.what();
  }
  try {
    (void)ring.get("samr");
    FAIL();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kNotFound);
  }
}

}  // namespace
