// Offline QR verification end to end, with tools nobody here wrote: the QR is drawn as vector
// into a PDF (cairo), rasterised by pdftoppm at 150 dpi, decoded by zbarimg, and verified by
// `certctl verify-qr` against a bundle exported by `certctl trust-bundle export` from keys-example
// (no daemon, no network). The seal key is keys-example's SAMR seal through the sign.h Signer.
#include <cairo-pdf.h>
#include <cairo.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cbor.h"
#include "cose.h"
#include "gobj.h"
#include "libcert/qr.h"
#include "libcert/qr_payload.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "ossl.h"
#include "support/process.h"

namespace {

using testsupport::run;
using testsupport::shell_quote;

const std::string kSrc = LIBCERT_SOURCE_DIR;
const std::string kCertctl = CERTCTL_BIN;
constexpr std::int64_t kNow = 1780000000;  // 2026-05-28, inside the keys-example seal validity
constexpr const char* kTibetan = "མངའ་རིས་ས་ཁུལ་སྒར་རྫོང་གངས་ཅན་མཐོ་སྒང་ཕྱུགས་ལས་ཐོན་རྫས་ཚད་ཡོད་ཀུང་སི།";

libcert::QrClaims sample_claims() {
  // templates/business-licence-enterprise/sample.json, issued by the SAMR of Ali.
  libcert::QrClaims c;
  c.issuer = "115425000199003834";
  c.issued_at = kNow - 3600;
  auto& l = c.licence;
  l.identifier = "1.2.156.3005.2.11100000000013338W032.115425000199003834.2025000123.001.J";
  l.type_code = "11100000000013338W032";
  l.holder_name = "阿里狮泉河高原牧业发展有限公司";
  l.holder_code = "91542523MA6T1D4L25";
  l.title = "营业执照";
  l.issue_date = 20260528;
  l.area_code = 542523;
  l.status_index = 48213;
  l.digest = std::string(16, '\x5a');
  return c;
}

const libcert::Signer& samr() {
  static const libcert::PemFileSigner s(kSrc + "/keys-example/seals/samr/seal.key",
                                        kSrc + "/keys-example/seals/samr/seal.crt");
  return s;
}

// Draws the symbol at 0.5 mm per module (qr.md minimum) on an A4 page, 20 mm from the edges.
void draw_pdf(const std::string& text, const std::string& pdf) {
  const auto m = libcert::QrMatrix::encode(text, libcert::QrEcc::kQ);
  const double size_mm = (m.width() + 8) * 0.5;
  libcert::gobj::Surface s(cairo_pdf_surface_create(pdf.c_str(), 595.28, 841.89));
  libcert::gobj::Cairo cr(cairo_create(s.get()));
  libcert::draw_qr(cr.get(), m, 20 / 25.4 * 72, 20 / 25.4 * 72, size_mm);
  cairo_show_page(cr.get());
  cr.reset();
  cairo_surface_finish(s.get());
  ASSERT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS);
}

std::string zbar_150dpi(const testsupport::TempDir& t, const std::string& pdf) {
  auto r = run("pdftoppm -r 150 -png -singlefile " + shell_quote(pdf) + " " +
               shell_quote((t / "page").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // zbarimg prints D-Bus noise on stderr in containers: keep only its stdout.
  r = run("{ zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote((t / "page.png").string()) + " 2>/dev/null; }");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  while (!r.out.empty() && (r.out.back() == '\n')) r.out.pop_back();
  return r.out;
}

class QrOffline : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = run(shell_quote(kCertctl) + " trust-bundle export --version 10 --now " +
                       std::to_string(kNow) + " -o " + shell_quote(bundle()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  std::string bundle() const { return (t_ / "bundle.cbor").string(); }
  testsupport::RunResult verify(const std::string& arg, const std::string& extra = "") const {
    return run(shell_quote(kCertctl) + " verify-qr --bundle " + shell_quote(bundle()) + " --now " +
               std::to_string(kNow) + " " + extra + " " + shell_quote(arg));
  }
  testsupport::TempDir t_;
};

TEST_F(QrOffline, DrawnAt150DpiDecodesWithZbarimgAndVerifiesWithOnlyTheBundle) {
  const auto claims = sample_claims();
  const std::string text = libcert::make_qr_text(claims, samr(), "LIC.ALI.EXAMPLE");
  const auto m = libcert::QrMatrix::encode(text, libcert::QrEcc::kQ);
  std::cout << "sample licence: " << libcert::qr_payload_from_text(text).size() << "-byte payload, "
            << text.size() << " chars, QR version " << m.version() << " at ECC Q\n";
  EXPECT_LE(m.version(), 16);
  const std::string pdf = (t_ / "licence.pdf").string();
  draw_pdf(text, pdf);
  const std::string scanned = zbar_150dpi(t_, pdf);
  EXPECT_EQ(scanned, text);

  // As zbarimg prints it with its prefix, and as the raw text: both VALID, fields shown.
  for (const std::string& arg :
       {scanned, "QR-Code:" + scanned + "\n", (t_ / "page.png").string()}) {
    const auto r = verify(arg);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("verdict:      VALID"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("holder:       阿里狮泉河高原牧业发展有限公司"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("identifier:   " + claims.licence.identifier), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("issuer:       115425000199003834 (samr)"), std::string::npos) << r.out;
    EXPECT_NE(
        r.out.find("bundle:       version 10, status data from 2026-05-28T20:26:40Z, 0 day(s) old"),
        std::string::npos)
        << r.out;
  }
  EXPECT_NE(verify((t_ / "page.png").string()).out.find("(zbar, 1 QR symbol(s))"),
            std::string::npos);
}

TEST_F(QrOffline, LongTibetanHolderNameStaysWithinVersion16AtQ) {
  auto claims = sample_claims();
  claims.licence.holder_name = kTibetan;  // 69 characters, 207 bytes of UTF-8
  const auto fitted = libcert::fit_qr_claims(claims, "LIC.ALI.EXAMPLE");
  // Packed one byte per character, the whole name fits once the optional digest is dropped.
  EXPECT_EQ(fitted.licence.holder_name, kTibetan);
  EXPECT_FALSE(fitted.licence.holder_name_chars.has_value());
  EXPECT_FALSE(fitted.licence.digest.has_value());
  const std::string text = libcert::make_qr_text(claims, samr(), "LIC.ALI.EXAMPLE");
  const auto m = libcert::QrMatrix::encode(text, libcert::QrEcc::kQ);
  std::cout << "Tibetan holder name (69 chars): " << libcert::qr_payload_from_text(text).size()
            << "-byte payload, QR version " << m.version() << " at ECC Q\n";
  EXPECT_LE(m.version(), 16);
  const std::string pdf = (t_ / "tibetan.pdf").string();
  draw_pdf(text, pdf);
  const std::string scanned = zbar_150dpi(t_, pdf);
  EXPECT_EQ(scanned, text);
  const auto r = verify(scanned);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(std::string("holder:       ") + kTibetan + "\n"), std::string::npos)
      << r.out;
}

TEST_F(QrOffline, OverlongNameIsShortenedVisiblyAndStillVerifies) {
  auto claims = sample_claims();
  // 3 x 69 Tibetan characters + a Chinese suffix (not packable: stays UTF-8).
  claims.licence.holder_name = std::string(kTibetan) + kTibetan + kTibetan + "（阿里）";
  const std::string text = libcert::make_qr_text(claims, samr(), "LIC.ALI.EXAMPLE");
  const auto m = libcert::QrMatrix::encode(text, libcert::QrEcc::kQ);
  const auto got = libcert::decode_qr_payload(libcert::qr_payload_from_text(text));
  std::cout << "overlong name: kept " << got.licence.holder_name.size() / 3
            << " of 211 chars, QR version " << m.version() << "\n";
  EXPECT_LE(m.version(), 16);
  ASSERT_TRUE(got.licence.holder_name_chars.has_value());
  EXPECT_EQ(*got.licence.holder_name_chars, 69u * 3 + 4);
  EXPECT_EQ(claims.licence.holder_name.rfind(got.licence.holder_name, 0), 0u);  // a prefix
  const auto r = verify(text);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("(shortened to fit the QR; the full name has 211 characters)"),
            std::string::npos)
      << r.out;
}

TEST_F(QrOffline, RevokedInANewerBundleAndRollbackRefused) {
  const auto claims = sample_claims();
  const std::string text = libcert::make_qr_text(claims, samr(), "LIC.ALI.EXAMPLE");
  const std::string revoked = (t_ / "revoked.txt").string();
  testsupport::spit(revoked, "samr " + std::to_string(claims.licence.status_index) + "\n");
  const std::string b2 = (t_ / "bundle2.cbor").string();
  auto r = run(shell_quote(kCertctl) + " trust-bundle export --version 11 --now " +
               std::to_string(kNow + 60) + " --revoked " + shell_quote(revoked) + " -o " +
               shell_quote(b2));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string state = (t_ / "state").string();
  EXPECT_EQ(verify(text, "--state " + shell_quote(state)).exit_code, 0);  // v10 accepted
  r = run(shell_quote(kCertctl) + " verify-qr --bundle " + shell_quote(b2) + " --state " +
          shell_quote(state) + " --now " + std::to_string(kNow + 120) + " " + shell_quote(text));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("verdict:      REVOKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("status bit 48213 set in trust bundle version 11"), std::string::npos);
  r = verify(text, "--state " + shell_quote(state));  // back to v10
  EXPECT_EQ(r.exit_code, 3) << r.out;  // rollback refused: bad input (docs/verdicts.md)
  EXPECT_NE(r.out.find("version 10 is older than version 11 already accepted: rollback refused"),
            std::string::npos)
      << r.out;
}

TEST_F(QrOffline, TamperedAndForeignTextsAreNotValid) {
  const std::string text = libcert::make_qr_text(sample_claims(), samr(), "LIC.ALI.EXAMPLE");
  std::string tampered = text;
  tampered[tampered.size() - 40] = tampered[tampered.size() - 40] == '1' ? '2' : '1';
  auto r = verify(tampered);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("verdict:      INVALID"), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.find("check:        signature") != std::string::npos ||
              r.out.find("check:        structure") != std::string::npos)
      << r.out;
  // Signed by a seal of another PKI (not in the bundle): UNKNOWN-SIGNER, check kid.
  testsupport::TempDir other;
  ASSERT_EQ(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x "
                "-days 3650 -keyout " +
                shell_quote((other / "k.pem").string()) + " -out " +
                shell_quote((other / "c.pem").string()))
                .exit_code,
            0);
  const libcert::PemFileSigner foreign((other / "k.pem").string(), (other / "c.pem").string());
  auto c = sample_claims();
  c.issued_at = kNow - 10;
  r = verify(libcert::make_qr_text(c, foreign, "LIC.ALI.EXAMPLE"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("verdict:      UNKNOWN-SIGNER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("check:        kid"), std::string::npos) << r.out;
}

// Issue 16 through the public tool: each refusal with its verdict, check id and exit code 1
// (docs/verdicts.md), read from `certctl verify-qr --json`.
nlohmann::json verdict_json(const testsupport::RunResult& r) {
  EXPECT_EQ(r.exit_code, 1) << r.out;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out;
    return {};
  }
}

TEST_F(QrOffline, HighSTwinIsInvalidSignature) {
  const std::string text = libcert::make_qr_text(sample_claims(), samr(), "LIC.ALI.EXAMPLE");
  auto s = libcert::cose::parse_sign1(libcert::qr_payload_from_text(text));
  ASSERT_TRUE(libcert::cose::is_low_s(s.signature));  // what the signer emits
  // s -> n - s with OpenSSL's BIGNUM arithmetic: the same signature, mathematically.
  libcert::ossl::Bn n(nullptr), sv(nullptr), out(BN_new());
  BIGNUM* np = nullptr;
  ASSERT_GT(BN_hex2bn(&np, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"), 0);
  n.reset(np);
  sv.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(s.signature.data()) + 32, 32, nullptr));
  ASSERT_EQ(BN_sub(out.get(), n.get(), sv.get()), 1);
  std::string high = s.signature;
  ASSERT_EQ(BN_bn2binpad(out.get(), reinterpret_cast<unsigned char*>(high.data()) + 32, 32), 32);
  s.signature = high;
  ASSERT_TRUE(libcert::cose::verify_es256(s, libcert::certificate_der_from_pem(testsupport::slurp(
                                                 kSrc + "/keys-example/seals/samr/seal.crt"))));
  using libcert::cbor::Value;
  const std::string forged =
      libcert::qr_url(libcert::cbor::encode(Value::tag(
                          18, Value::array({Value::bytes(s.protected_bstr), Value::map({}),
                                            Value::bytes(s.payload), Value::bytes(high)}))),
                      "LIC.ALI.EXAMPLE");
  const auto j = verdict_json(verify(forged, "--json"));
  EXPECT_EQ(j.value("verdict", ""), "INVALID");
  EXPECT_EQ(j.value("check", ""), "signature");
  EXPECT_NE(j.value("reason", "").find("high-S"), std::string::npos) << j.dump();
  EXPECT_EQ(verify(text).exit_code, 0);  // the genuine one
}

TEST_F(QrOffline, ForeignHostFutureIatAndMissingStatusAreRefused) {
  // A genuine payload under a host the bundle's policy does not list.
  const std::string genuine = libcert::make_qr_text(sample_claims(), samr(), "LIC.ALI.EXAMPLE");
  const std::string payload = libcert::qr_payload_from_text(genuine);
  auto j = verdict_json(verify(libcert::qr_url(payload, "LIC.ALI.EXAMPLE.EVIL.CN"), "--json"));
  EXPECT_EQ(j.value("verdict", ""), "INVALID");
  EXPECT_EQ(j.value("check", ""), "url-prefix");
  // The bundle's policy names the deployment's host (--qr-host): a QR for it verifies.
  const std::string b2 = (t_ / "other-host.cbor").string();
  auto r = run(shell_quote(kCertctl) + " trust-bundle export --version 12 --now " +
               std::to_string(kNow) + " --qr-host LIC.ALI.EXAMPLE.EVIL.CN -o " + shell_quote(b2));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run(shell_quote(kCertctl) + " verify-qr --bundle " + shell_quote(b2) + " --now " +
          std::to_string(kNow) + " " +
          shell_quote(libcert::qr_url(payload, "LIC.ALI.EXAMPLE.EVIL.CN")));
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // A host the QR alphanumeric mode cannot carry, or a skew above a day: usage errors (exit 2).
  for (const std::string bad : {"--qr-host lic.lower.case", "--clock-skew 90000"}) {
    r = run(shell_quote(kCertctl) + " trust-bundle export " + bad + " -o " +
            shell_quote((t_ / "bad.cbor").string()));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
  }

  // iat an hour ahead of the verifier's clock (skew 300 s): INVALID signing-time.
  auto c = sample_claims();
  c.issued_at = kNow + 3600;
  j = verdict_json(verify(libcert::make_qr_text(c, samr(), "LIC.ALI.EXAMPLE"), "--json"));
  EXPECT_EQ(j.value("verdict", ""), "INVALID");
  EXPECT_EQ(j.value("check", ""), "signing-time");

  // A status list shorter than the licence's index (48213): INDETERMINATE status.
  const std::string b3 = (t_ / "short-list.cbor").string();
  r = run(shell_quote(kCertctl) + " trust-bundle export --version 13 --status-bits 1000 --now " +
          std::to_string(kNow) + " -o " + shell_quote(b3));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  j = verdict_json(run(shell_quote(kCertctl) + " verify-qr --json --bundle " + shell_quote(b3) +
                       " --now " + std::to_string(kNow) + " " + shell_quote(genuine)));
  EXPECT_EQ(j.value("verdict", ""), "INDETERMINATE");
  EXPECT_EQ(j.value("check", ""), "status");
  EXPECT_EQ(j.value("status_checked", true), false);
}

}  // namespace
