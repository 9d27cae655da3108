// certd over loopback: the licence preview (GET /v1/licences/{id}/preview.png) and the published
// trust bundle (GET /v1/trust-bundle), checked with tools nobody here wrote: pdfinfo (page size),
// zbarimg (the QR in the picture) and the PNG format itself; and the bundle imported by
// `certctl verify-qr --bundle` (offline verification) before and after a revocation.
#include <cairo.h>
#include <zlib.h>

#include <cmath>
#include <regex>

#include "bundle.h"
#include "certd_fixture.h"
#include "libcert/qr_payload.h"
#include "store.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::expect_problem;

const std::string kTemplate = "business-licence-enterprise";

nlohmann::json issue(httplib::Client& c, const std::string& key, const std::string& idem) {
  const auto data = nlohmann::json::parse(testsupport::slurp(
      std::string(LIBCERT_SOURCE_DIR) + "/templates/" + kTemplate + "/sample.json"));
  auto r =
      c.Post("/v1/licences", {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}},
             nlohmann::json{{"template", kTemplate}, {"data", data}}.dump(), "application/json");
  if (!r || r->status != 201)
    throw std::runtime_error("issue failed: " + (r ? r->body : "no reply"));
  return nlohmann::json::parse(r->body);
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// Page size in points as pdfinfo (poppler-utils) reports it.
std::pair<double, double> pdfinfo_size(const std::string& pdf_path) {
  const auto r = testsupport::run("pdfinfo " + pdf_path);
  std::smatch m;
  const std::regex re(R"(Page size:\s+([0-9.]+) x ([0-9.]+) pts)");
  if (!std::regex_search(r.out, m, re)) throw std::runtime_error("pdfinfo: " + r.out);
  return {std::stod(m[1]), std::stod(m[2])};
}

cairo_status_t read_png(void* closure, unsigned char* data, unsigned int length) {
  auto* s = static_cast<std::string_view*>(closure);
  if (s->size() < length) return CAIRO_STATUS_READ_ERROR;
  std::copy_n(s->data(), length, data);
  s->remove_prefix(length);
  return CAIRO_STATUS_SUCCESS;
}

// Decodes the PNG with cairo (fails the test if it does not decode) and writes it back as pure
// black and white (luma < 128), as a scanner's binarisation does: Poppler's cairo backend draws
// the QR's 1-bit image mask with bilinear smoothing, and zbar reads a whole page of grey module
// edges only some of the time.
void write_binarised(const std::string& png, const std::filesystem::path& out) {
  std::string_view in(png);
  cairo_surface_t* s = cairo_image_surface_create_from_png_stream(read_png, &in);
  ASSERT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS)
      << "the preview is not a PNG cairo reads";
  cairo_surface_flush(s);
  const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  unsigned char* d = cairo_image_surface_get_data(s);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      unsigned char* p = d + static_cast<std::ptrdiff_t>(y) * stride + 4 * x;
      const int luma = (299 * p[2] + 587 * p[1] + 114 * p[0]) / 1000;
      const unsigned char v = luma < 128 ? 0 : 255;
      p[0] = p[1] = p[2] = v;
    }
  }
  cairo_surface_mark_dirty(s);
  const auto st = cairo_surface_write_to_png(s, out.c_str());
  cairo_surface_destroy(s);
  ASSERT_EQ(st, CAIRO_STATUS_SUCCESS);
}

std::string proof_of(const std::string& qr_text) {
  return certd::sha256_hex(libcert::qr_payload_from_text(qr_text)).substr(0, 32);
}

TEST(ApiPreview, PngOfTheStoredPdfAtTheAskedDpiWithItsQr) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  const auto lic = issue(c, key, "pv-1");
  const std::string id = lic["id"];
  const std::string qr = lic["qr_text"];

  testsupport::TempDir d;
  auto pdf = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(pdf);
  testsupport::spit(d / "lic.pdf", pdf->body);
  const auto [wpt, hpt] = pdfinfo_size((d / "lic.pdf").string());

  for (int dpi : {100, 200}) {
    const std::string path =
        "/v1/licences/" + id + "/preview.png" + (dpi == 100 ? "" : "?dpi=" + std::to_string(dpi));
    auto r = c.Get(path, bearer(key));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
    EXPECT_EQ(r->get_header_value("Cache-Control"), "private, max-age=86400");
    EXPECT_EQ(r->get_header_value("Vary"), "Authorization, X-Api-Key, X-Licence-Proof");
    // PNG signature, then IHDR: width and height = ceil(points * dpi / 72), 8-bit RGB (type 2).
    ASSERT_GT(r->body.size(), 33u);
    EXPECT_EQ(r->body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(r->body.substr(12, 4), "IHDR");
    EXPECT_EQ(be32(r->body, 16), static_cast<std::uint32_t>(std::ceil(wpt * dpi / 72.0))) << dpi;
    EXPECT_EQ(be32(r->body, 20), static_cast<std::uint32_t>(std::ceil(hpt * dpi / 72.0))) << dpi;
    EXPECT_EQ(r->body[24], 8);  // bit depth
    EXPECT_EQ(r->body[25], 2);  // colour type RGB
    // The picture decodes, and zbar reads this licence's QR text from it (at 200 dpi a QR module
    // is about 3 pixels; binarised first, see write_binarised).
    if (dpi == 200) {
      const auto png = d / "p200.png";
      write_binarised(r->body, png);
      const auto z = testsupport::run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + png.string() + " 2>/dev/null)");
      EXPECT_EQ(z.exit_code, 0);
      std::string text = z.out;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      EXPECT_EQ(text, qr);
    }
    // Revalidation with the ETag.
    httplib::Headers h = bearer(key);
    h.emplace("If-None-Match", r->get_header_value("ETag"));
    auto again = c.Get(path, h);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304);
  }

  // The dpi bounds and unknown parameters are precise 400s.
  auto j = expect_problem(c.Get("/v1/licences/" + id + "/preview.png?dpi=49", bearer(key)), 400,
                          "invalid-request");
  EXPECT_EQ(j["detail"], "query dpi: expected an integer between 50 and 200");
  expect_problem(c.Get("/v1/licences/" + id + "/preview.png?dpi=201", bearer(key)), 400,
                 "invalid-request");
  j = expect_problem(c.Get("/v1/licences/" + id + "/preview.png?page=2", bearer(key)), 400,
                     "invalid-request");
  EXPECT_EQ(j["detail"], "query page: unknown parameter");
}

TEST(ApiPreview, SameAuthorisationAsThePdfOrTheQrProof) {
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_VERIFY_PER_MINUTE", "600"}});
  auto c = certd.client();
  const std::string samr = certd.make_key("samr");
  const std::string civil = certd.make_key("civil-affairs");
  const std::string admin = certd.make_key("admin");
  const auto lic = issue(c, samr, "pa-1");
  const std::string path = "/v1/licences/" + lic["id"].get<std::string>() + "/preview.png";

  // Another department: 404 as for an unknown id, as for /pdf (issue 17). Admin: 200.
  auto j = expect_problem(c.Get(path, bearer(civil)), 404, "not-found");
  auto a = c.Get(path, bearer(admin));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200);
  // No key and no proof: 401.
  j = expect_problem(c.Get(path), 401, "unauthorized");
  EXPECT_EQ(j["detail"],
            "Authorization: missing; send a department API key, or X-Licence-Proof with the proof "
            "read from the licence's QR code");
  // The proof from the QR (what the inspector's page sends): 200, the same picture.
  const std::string proof = proof_of(lic["qr_text"]);
  auto p = c.Get(path, {{"X-Licence-Proof", proof}});
  ASSERT_TRUE(p);
  ASSERT_EQ(p->status, 200) << p->body;
  EXPECT_EQ(p->body, a->body);
  // A wrong proof and an unknown id answer alike (404); a malformed proof is a 400.
  std::string wrong = proof;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  j = expect_problem(c.Get(path, {{"X-Licence-Proof", wrong}}), 404, "not-found");
  EXPECT_NE(j["detail"].get<std::string>().find("with this X-Licence-Proof"), std::string::npos);
  expect_problem(c.Get("/v1/licences/1.2.156.3005.2.X/preview.png", {{"X-Licence-Proof", proof}}),
                 404, "not-found");
  j = expect_problem(c.Get(path, {{"X-Licence-Proof", "ZZ"}}), 400, "invalid-request");
  // Path traversal in the id never reaches the handler.
  expect_problem(c.Get("/v1/licences/../x/preview.png", bearer(samr)), 400, "invalid-path");
}

TEST(ApiPreview, ProofRequestsAreRateLimited) {
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_VERIFY_PER_MINUTE", "1"}});
  auto c = certd.client();
  const std::string samr = certd.make_key("samr");
  const auto lic = issue(c, samr, "rl-1");
  const std::string path = "/v1/licences/" + lic["id"].get<std::string>() + "/preview.png";
  const httplib::Headers h = {{"X-Licence-Proof", proof_of(lic["qr_text"])},
                              {"If-None-Match", "\"x\""}};
  int limited = 0;
  for (int i = 0; i < 40 && limited == 0; ++i) {
    auto r = c.Get(path, h);
    ASSERT_TRUE(r);
    if (r->status == 429) {
      ++limited;
      EXPECT_FALSE(r->get_header_value("Retry-After").empty());
    }
  }
  EXPECT_EQ(limited, 1);
  // A department key is not limited by the public bucket.
  auto k = c.Get(path, bearer(samr));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->status, 200);
}

TEST(ApiTrustBundle, PublicSignedBundleVerifiesQrOfflineAndCarriesRevocations) {
  CertdProcess certd;
  auto c = certd.client();
  const std::string key = certd.make_key("samr");
  const auto lic = issue(c, key, "tb-1");
  const std::string qr = lic["qr_text"];

  // Public: no key.
  auto b1 = c.Get("/v1/trust-bundle");
  ASSERT_TRUE(b1);
  ASSERT_EQ(b1->status, 200) << b1->body;
  EXPECT_EQ(b1->get_header_value("Content-Type"), "application/cose; cose-type=\"cose-sign1\"");
  EXPECT_EQ(b1->get_header_value("Cache-Control"), "public, max-age=300");
  EXPECT_EQ(b1->get_header_value("ETag"), "\"" + certd::sha256_hex(b1->body) + "\"");
  EXPECT_FALSE(b1->get_header_value("Last-Modified").empty());
  // Stable while nothing changes; If-None-Match revalidates.
  auto same = c.Get("/v1/trust-bundle");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->body, b1->body);
  auto nm = c.Get("/v1/trust-bundle", {{"If-None-Match", b1->get_header_value("ETag")}});
  ASSERT_TRUE(nm);
  EXPECT_EQ(nm->status, 304);

  // certctl verify-qr (offline: only the downloaded bundle and the pinned root) says VALID.
  testsupport::TempDir d;
  testsupport::spit(d / "b1.cose", b1->body);
  const std::string verify = std::string(CERTCTL_BIN) + " verify-qr --keys " +
                             std::string(LIBCERT_SOURCE_DIR) + "/keys-example --json --state " +
                             (d / "state").string() + " --bundle ";
  auto v = testsupport::run(verify + (d / "b1.cose").string() + " " + testsupport::shell_quote(qr));
  ASSERT_EQ(v.exit_code, 0) << v.out;
  auto vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["verdict"], "VALID");
  EXPECT_EQ(vj["status_checked"], true);
  EXPECT_EQ(vj["claims"]["identifier"], lic["id"]);
  const auto v1 = vj["bundle"]["version"].get<std::uint64_t>();
  EXPECT_EQ(std::to_string(v1), b1->get_header_value("X-Bundle-Version"));

  // Revoke: the next bundle has a higher version with the licence's status bit set, and the
  // offline verifier says REVOKED with it (and refuses the old bundle afterwards: rollback).
  auto rv = c.Post("/v1/licences/" + lic["id"].get<std::string>() + "/revoke", bearer(key),
                   R"({"reason":"test"})", "application/json");
  ASSERT_TRUE(rv);
  ASSERT_EQ(rv->status, 200);
  auto b2 = c.Get("/v1/trust-bundle", {{"If-None-Match", b1->get_header_value("ETag")}});
  ASSERT_TRUE(b2);
  ASSERT_EQ(b2->status, 200);
  EXPECT_NE(b2->get_header_value("ETag"), b1->get_header_value("ETag"));
  EXPECT_GT(std::stoull(b2->get_header_value("X-Bundle-Version")), v1);
  testsupport::spit(d / "b2.cose", b2->body);
  v = testsupport::run(verify + (d / "b2.cose").string() + " " + testsupport::shell_quote(qr));
  EXPECT_EQ(v.exit_code, 1) << v.out;
  vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["verdict"], "REVOKED");
  v = testsupport::run(verify + (d / "b1.cose").string() + " " + testsupport::shell_quote(qr));
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.out.find("rollback refused"), std::string::npos) << v.out;
}

// Inflates a gzip body (RFC 1952) as a browser does for Content-Encoding: gzip.
std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(in.size() * 8 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

TEST(ApiTrustBundle, AcceptEncodingGzipParsing) {
  EXPECT_TRUE(certd::accepts_gzip("gzip"));
  EXPECT_TRUE(certd::accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(certd::accepts_gzip("br;q=1.0, GZip;q=0.5"));
  EXPECT_TRUE(certd::accepts_gzip("x-gzip"));
  EXPECT_TRUE(certd::accepts_gzip("*"));
  EXPECT_FALSE(certd::accepts_gzip(""));
  EXPECT_FALSE(certd::accepts_gzip("identity"));
  EXPECT_FALSE(certd::accepts_gzip("deflate, br"));
  EXPECT_FALSE(certd::accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(certd::accepts_gzip("gzip; q=0.000, identity"));
  EXPECT_FALSE(certd::accepts_gzip("*, gzip;q=0"));  // the named coding wins over *
  EXPECT_TRUE(certd::accepts_gzip("gzip;q=0.001"));
}

// The bundle gzip-compressed for clients that accept it (browsers do): the same file once
// inflated, its own ETag, and either ETag revalidates.
TEST(ApiTrustBundle, GzipForClientsThatAcceptItIsTheSameFile) {
  CertdProcess certd;
  auto c = certd.client();
  c.set_decompress(false);  // the bytes on the wire, inflated here
  auto plain = c.Get("/v1/trust-bundle");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(plain->get_header_value("Vary"), "Accept-Encoding");
  auto gz = c.Get("/v1/trust-bundle", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(gz);
  ASSERT_EQ(gz->status, 200);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gz->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz->get_header_value("ETag"), "\"" + certd::sha256_hex(plain->body) + "+gzip\"");
  EXPECT_LT(gz->body.size(), plain->body.size());
  EXPECT_EQ(gunzip(gz->body), plain->body);
  auto refused = c.Get("/v1/trust-bundle", {{"Accept-Encoding", "gzip;q=0, identity"}});
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->has_header("Content-Encoding"));
  EXPECT_EQ(refused->body, plain->body);
  auto nm = c.Get("/v1/trust-bundle", {{"If-None-Match", gz->get_header_value("ETag")}});
  ASSERT_TRUE(nm);
  EXPECT_EQ(nm->status, 304);
}

TEST(ApiWeb, TheInspectorPageAndOnlyItsFiles) {
  CertdProcess certd(std::map<std::string, std::string>{},
                     {"--web", std::string(LIBCERT_SOURCE_DIR) + "/daemon/web"});
  auto c = certd.client();
  // The QR's path /V (and /v): the page, with a CSP that allows only this origin's scripts.
  for (const char* path : {"/V", "/v"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r->body,
              testsupport::slurp(std::string(LIBCERT_SOURCE_DIR) + "/daemon/web/index.html"));
    EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"),
              std::string::npos);
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  }
  auto sw = c.Get("/sw.js");
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->status, 200);
  EXPECT_EQ(sw->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(sw->get_header_value("Service-Worker-Allowed"), "/");
  auto js = c.Get("/web/verify.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("X-Content-Type-Options"), "nosniff");
  // Nothing else: unknown names, other extensions, dots, traversal.
  for (const char* bad :
       {"/web/nothere.js", "/web/index.exe", "/web/x.y.js", "/web/.js", "/web/INDEX.html"}) {
    expect_problem(c.Get(bad), 404, "not-found");
  }
  expect_problem(c.Get("/web/../app.cpp"), 400, "invalid-path");
  expect_problem(c.Get("/web/%2e%2e%2fapp.cpp"), 400, "invalid-path");
}

}  // namespace
