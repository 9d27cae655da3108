// A small OFD package built by the tests (no layout engine): OFD.xml with the licence's issuer in
// CustomData, one page with one text object. Byte-for-byte deterministic.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/ses.h"
#include "ofd_zip.h"

namespace ofdtest {

inline const std::string kSrc = LIBCERT_SOURCE_DIR;
inline const std::string kSm2 = kSrc + "/keys-example/sm2";
inline constexpr const char* kSamrUscc = "115425000199003834";
inline constexpr const char* kApprovalUscc = "115425000199003166";
inline constexpr std::int64_t kSignTime = 1764900000;  // 2025-12-05

inline std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<libcert::ofd::ZipEntry> licence_entries(const std::string& issuer = kSamrUscc,
                                                           const std::string& co_issuers = "") {
  const std::string ns = "xmlns:ofd=\"http://www.ofdspec.org/2016\"";
  std::string custom = "<ofd:CustomData Name=\"IssuingAuthorityCode\">" + issuer + "</ofd:CustomData>";
  if (!co_issuers.empty())
    custom += "<ofd:CustomData Name=\"CoIssuingAuthorityCodes\">" + co_issuers + "</ofd:CustomData>";
  return {
      {"OFD.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:OFD " + ns +
                      " Version=\"1.2\" DocType=\"OFD\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>"
                      "0f1e2d3c4b5a69788796a5b4c3d2e1f0</ofd:DocID><ofd:CustomDatas>" + custom +
                      "</ofd:CustomDatas></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
                      "</ofd:DocBody></ofd:OFD>"},
      {"Doc_0/Document.xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Document " + ns +
           "><ofd:CommonData><ofd:MaxUnitID>4</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 "
           "210 297</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
           "</ofd:CommonData><ofd:Pages><ofd:Page ID=\"1\" BaseLoc=\"Pages/Page_0/Content.xml\"/>"
           "</ofd:Pages></ofd:Document>"},
      {"Doc_0/PublicRes.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Res " + ns +
                                  " BaseLoc=\"Res\"><ofd:Fonts><ofd:Font ID=\"2\" FontName=\"宋体\" "
                                  "FamilyName=\"宋体\"/></ofd:Fonts></ofd:Res>"},
      {"Doc_0/Pages/Page_0/Content.xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Page " + ns +
           "><ofd:Content><ofd:Layer ID=\"3\"><ofd:TextObject ID=\"4\" Boundary=\"20 30 170 10\" "
           "Font=\"2\" Size=\"5\"><ofd:TextCode X=\"0\" Y=\"5\">营业执照 持证人：张三</ofd:TextCode>"
           "</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"},
  };
}

inline std::string licence_ofd(const std::string& issuer = kSamrUscc,
                               const std::string& co_issuers = "") {
  return libcert::ofd::zip_write(licence_entries(issuer, co_issuers));
}

inline libcert::Sm2PemSigner seal_signer(const std::string& dept) {
  return {kSm2 + "/seals/" + dept + "/seal.key", kSm2 + "/seals/" + dept + "/seal.crt"};
}
inline libcert::Sm2PemSigner maker() {
  return {kSm2 + "/maker/maker.key", kSm2 + "/maker/maker.crt"};
}

// A department's .esl made in the test (certctl ses make-seal does the same with the seal image).
inline std::string esl_for(const libcert::Signer& s, const std::string& es_id = "54250000000001") {
  libcert::SesSealSpec spec;
  spec.es_id = es_id;
  spec.name = "电子证照专用章";
  spec.signer_certs = {s.certificate()};
  spec.picture = {"PNG", std::string("\x89PNG\r\n\x1a\n", 8) + "test picture", 42, 42};
  spec.create_date = spec.valid_start = 1735689600;
  spec.valid_end = 1924991999;
  return libcert::make_ses_seal(spec, maker());
}

}  // namespace ofdtest
