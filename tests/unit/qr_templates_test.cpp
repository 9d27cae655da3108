// The QR of every template's sample licence fits version 16 at ECC Q (issue 5 acceptance), with
// the sample's holder as printed and also with a long (69-character) Tibetan holder name in its
// place; when a name must be shortened to fit, the shortening is visible (claim 10) and clean.
// Claims are built from templates/<id>/sample.json through the manifest's metadata.holder /
// holder_code expressions and the department's USCC, signed with the test seal (tests/data/qr).
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "libcert/qr.h"
#include "libcert/qr_payload.h"
#include "support/qr_fixture.h"

namespace {

const std::string kTemplates = std::string(LIBCERT_SOURCE_DIR) + "/templates";
constexpr const char* kTibetan = "མངའ་རིས་ས་ཁུལ་སྒར་རྫོང་གངས་ཅན་མཐོ་སྒང་ཕྱུགས་ལས་ཐོན་རྫས་ཚད་ཡོད་ཀུང་སི།";

std::string expand(const nlohmann::json& expr, const nlohmann::json& sample) {
  if (!expr.is_string()) return {};
  const std::string e = expr.get<std::string>();
  std::string out;
  const std::regex field(R"(\{([A-Za-z0-9_.]+)\})");
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(e.begin(), e.end(), field); it != std::sregex_iterator();
       ++it) {
    out += e.substr(last, static_cast<std::size_t>(it->position()) - last);
    const auto v = sample.find((*it)[1].str());
    if (v != sample.end() && v->is_string()) out += v->get<std::string>();
    last = static_cast<std::size_t>(it->position() + it->length());
  }
  return out + e.substr(last);
}

TEST(QrTemplates, EverySampleFitsVersion16AtQ) {
  const testsupport::QrKeys keys;
  const auto depts = nlohmann::json::parse(testsupport::slurp(kTemplates + "/departments.json"));
  std::map<std::string, std::string> uscc;
  for (const auto& d : depts.at("departments")) uscc[d.at("id")] = d.at("uscc");
  const auto glossary =
      nlohmann::json::parse(testsupport::slurp(kTemplates + "/glossary.json")).at("entries");
  int n = 0;
  int shortened = 0;
  for (const auto& dir : std::filesystem::directory_iterator(kTemplates)) {
    if (!std::filesystem::exists(dir.path() / "manifest.json")) continue;
    const auto m = nlohmann::json::parse(testsupport::slurp(dir.path() / "manifest.json"));
    const auto sample = nlohmann::json::parse(testsupport::slurp(dir.path() / "sample.json"));
    const std::string id = dir.path().filename().string();
    const auto md = m.value("metadata", nlohmann::json::object());
    libcert::QrClaims c = testsupport::realistic_claims(1780000000);
    c.issuer = uscc.at(m.at("department").get<std::string>());
    c.licence.holder_name = expand(md.value("holder", nlohmann::json()), sample);
    c.licence.holder_code = expand(md.value("holder_code", nlohmann::json()), sample);
    c.licence.type_code = m.at("type_code").get<std::string>();
    c.licence.identifier =
        "1.2.156.3005.2." + c.licence.type_code + "." + c.issuer + ".2026000001.001.X";
    c.licence.title = glossary.at(m.at("title").get<std::string>()).at("zh").get<std::string>();
    ASSERT_FALSE(c.licence.holder_name.empty()) << id;
    for (const bool tibetan : {false, true}) {
      if (tibetan) c.licence.holder_name = kTibetan;
      const auto fitted = libcert::fit_qr_claims(c, "LIC.ALI.EXAMPLE");
      const std::string text =
          libcert::make_qr_text(c, keys.seal, keys.seal_sign, "LIC.ALI.EXAMPLE");
      const int version = libcert::QrMatrix::encode(text, libcert::QrEcc::kQ).version();
      EXPECT_LE(version, 16) << id;
      const auto got = libcert::decode_qr_payload(libcert::qr_payload_from_text(text));
      if (!got.licence.holder_name_chars) {
        EXPECT_EQ(got.licence.holder_name, c.licence.holder_name) << id;  // whole
      } else {
        // Shortened visibly: the full length is recorded, what is kept is a prefix, cut after a
        // tsheg (U+0F0B) when the name has syllable marks, never mid-syllable.
        ++shortened;
        std::size_t chars = 0;
        for (char ch : c.licence.holder_name)
          if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++chars;
        EXPECT_EQ(*got.licence.holder_name_chars, chars) << id;
        EXPECT_EQ(c.licence.holder_name.rfind(got.licence.holder_name, 0), 0u) << id;
        if (tibetan) {
          EXPECT_TRUE(got.licence.holder_name.ends_with("\u0F0B")) << id;
        }
      }
      std::cout << id << (tibetan ? " (Tibetan holder)" : "") << ": "
                << libcert::qr_payload_from_text(text).size() << " bytes, version " << version
                << (fitted.licence.digest ? "" : ", digest dropped")
                << (got.licence.holder_name_chars
                        ? ", name shortened to " +
                              std::to_string(got.licence.holder_name.size() / 3) + " chars"
                        : std::string())
                << "\n";
    }
    ++n;
  }
  std::cout << n << " templates x 2 holders: " << shortened << " holder names shortened\n";
  EXPECT_GE(n, 24);
}

}  // namespace
