// GET /v1/crl against the real certd over loopback (issue 19, docs/crl.md): the issuing CA's CRL,
// checked by the openssl CLI and by libcert; a seal key version revoked through the admin API is
// listed in the next CRL with compromised_at; nextUpdate, ETag/304 and the renewal period.
#include <chrono>
#include <thread>

#include "certd_fixture.h"
#include "libcert/crl.h"
#include "libcert/trust_bundle.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::post_json;

const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";

std::string ca_der() {
  return libcert::certificate_der_from_pem(testsupport::slurp(kKeys + "/ca/issuing-ca.crt"));
}

struct Got {
  int status = 0;
  std::string body, etag, cache_control, content_type, number;
};

Got get_crl(httplib::Client& c, const std::string& if_none_match = {}) {
  httplib::Headers h;
  if (!if_none_match.empty()) h.emplace("If-None-Match", if_none_match);
  auto r = c.Get("/v1/crl", h);
  Got g;
  EXPECT_TRUE(r);
  if (!r) return g;
  g.status = r->status;
  g.body = r->body;
  g.etag = r->get_header_value("ETag");
  g.cache_control = r->get_header_value("Cache-Control");
  g.content_type = r->get_header_value("Content-Type");
  g.number = r->get_header_value("X-CRL-Number");
  return g;
}

std::string iso(std::int64_t t) {
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The upper-case hex serial of a PEM certificate, read by the openssl CLI.
std::string serial_of(const std::string& pem, const testsupport::TempDir& d) {
  testsupport::spit(d / "v.crt", pem);
  const auto r = testsupport::run("openssl x509 -noout -serial -in " + (d / "v.crt").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::string s = r.out.substr(r.out.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  while (s.size() > 1 && s[0] == '0') s.erase(0, 1);
  return s;
}

TEST(ApiCrl, RevokedVersionIsListedInTheNextCrlWhichOpensslVerifies) {
  testsupport::TempDir d;
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_CRL_PERIOD_S", "3600"}});
  const std::string admin = certd.make_key("admin");
  auto c = certd.client();

  // The first CRL: number 1, empty, current, cacheable until nextUpdate.
  const Got g1 = get_crl(c);
  ASSERT_EQ(g1.status, 200) << g1.body;
  EXPECT_EQ(g1.content_type, "application/pkix-crl");
  EXPECT_EQ(g1.number, "1");
  const libcert::Crl crl1 = libcert::Crl::parse(g1.body);
  EXPECT_EQ(crl1.number, 1u);
  EXPECT_TRUE(crl1.revoked.empty());
  EXPECT_EQ(crl1.next_update - crl1.this_update, 3600);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_EQ(crl1.check(ca_der(), now).problem, libcert::CrlProblem::kNone);
  const std::string max_age = g1.cache_control.substr(g1.cache_control.find("max-age=") + 8);
  EXPECT_NE(g1.cache_control.find("public"), std::string::npos) << g1.cache_control;
  EXPECT_GT(std::stoll(max_age), 3500) << g1.cache_control;
  EXPECT_LE(std::stoll(max_age), 3600) << g1.cache_control;
  // Unchanged: the same bytes again, and 304 for the client's ETag.
  EXPECT_EQ(get_crl(c).body, g1.body);
  const Got not_modified = get_crl(c, g1.etag);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  // A new samr version certified by the issuing CA, activated, then revoked as compromised.
  const auto created =
      post_json(c, admin, "/v1/seals/samr/keys", {{"example_ca", true}, {"validity_days", 30}}, 201);
  const std::int64_t v = created.value("version", 0);
  ASSERT_EQ(v, 2);
  const std::string cert_pem = created.value("certificate_pem", "");
  ASSERT_FALSE(cert_pem.empty()) << created.dump();
  // Issued by the issuing CA, not the root: openssl builds root -> issuing CA -> seal.
  testsupport::spit(d / "v2.crt", cert_pem);
  const auto chain = testsupport::run("openssl verify -CAfile " + kKeys + "/root/root.crt -untrusted " +
                                      kKeys + "/ca/issuing-ca.crt " + (d / "v2.crt").string());
  EXPECT_EQ(chain.exit_code, 0) << chain.out;
  (void)post_json(c, admin, "/v1/seals/samr/keys/2:activate", nlohmann::json::object(), 200);
  const std::int64_t t = static_cast<std::int64_t>(std::time(nullptr)) - 60;
  (void)post_json(c, admin, "/v1/seals/samr/keys/2:revoke",
                  {{"compromised_at", iso(t)}, {"reason", "key file copied"}}, 200);

  const Got g2 = get_crl(c, g1.etag);
  ASSERT_EQ(g2.status, 200) << "the old ETag must not match a CRL listing the revocation";
  EXPECT_EQ(g2.number, "2");
  EXPECT_NE(g2.etag, g1.etag);
  const libcert::Crl crl2 = libcert::Crl::parse(g2.body);
  EXPECT_EQ(crl2.number, 2u);
  const std::string serial = serial_of(cert_pem, d);
  const libcert::RevokedCertificate* e = crl2.find(serial);
  ASSERT_NE(e, nullptr) << "serial " << serial << " not listed";
  EXPECT_EQ(e->revocation_date, t);
  ASSERT_TRUE(e->invalidity_date.has_value());
  EXPECT_EQ(*e->invalidity_date, t);
  EXPECT_EQ(e->reason, libcert::CrlReason::kKeyCompromise);
  // v1 (the keys-example seal, retired by the rotation) is not revoked: not listed.
  EXPECT_EQ(crl2.revoked.size(), 1u);

  // The openssl CLI verifies the served CRL with the issuing CA and lists the serial.
  testsupport::spit(d / "c.crl", g2.body);
  const auto ossl = testsupport::run("openssl crl -inform DER -in " + (d / "c.crl").string() +
                                     " -CAfile " + kKeys + "/ca/issuing-ca.crt -verify -noout -text 2>&1");
  EXPECT_EQ(ossl.exit_code, 0) << ossl.out;
  EXPECT_NE(ossl.out.find("verify OK"), std::string::npos) << ossl.out;
  EXPECT_NE(ossl.out.find("Serial Number: " + serial), std::string::npos) << ossl.out;
  EXPECT_NE(ossl.out.find("Key Compromise"), std::string::npos) << ossl.out;

  // certctl crl show checks it against the issuing CA (exit 0: verifies and is current).
  const auto show = testsupport::run(std::string(CERTCTL_BIN) + " crl show " +
                                     (d / "c.crl").string() + " --ca-cert " + kKeys +
                                     "/ca/issuing-ca.crt --json");
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("\"check\":\"none\""), std::string::npos) << show.out;
}

// nextUpdate honoured: with a 60 s period the CRL is renewed once half of it has passed (a new
// number, thisUpdate later), and every served CRL is current when served.
TEST(ApiCrl, RenewedBeforeNextUpdate) {
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_CRL_PERIOD_S", "60"}});
  auto c = certd.client();
  const Got g1 = get_crl(c);
  ASSERT_EQ(g1.status, 200);
  const libcert::Crl crl1 = libcert::Crl::parse(g1.body);
  EXPECT_EQ(crl1.next_update - crl1.this_update, 60);
  std::this_thread::sleep_for(std::chrono::seconds(31));
  const Got g2 = get_crl(c);
  ASSERT_EQ(g2.status, 200);
  const libcert::Crl crl2 = libcert::Crl::parse(g2.body);
  EXPECT_EQ(crl2.number, crl1.number + 1);
  EXPECT_GE(crl2.this_update, crl1.this_update + 30);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_EQ(crl2.check(ca_der(), now).problem, libcert::CrlProblem::kNone);
  EXPECT_EQ(crl1.check(ca_der(), crl1.next_update).problem, libcert::CrlProblem::kExpired);
}

// A revocation made offline (certctl seal revoke on the registry) reaches certd's CRL, and
// certctl crl make and certd agree on the number sequence: one CRL per content, from the registry.
TEST(ApiCrl, OfflineRevocationAndCertctlMakeShareTheRegistrysCrl) {
  testsupport::TempDir d;
  CertdProcess certd(std::map<std::string, std::string>{{"CERTD_CRL_PERIOD_S", "3600"}});
  auto c = certd.client();
  ASSERT_EQ(get_crl(c).number, "1");
  const std::string certctl = std::string(CERTCTL_BIN);
  auto r = testsupport::run(certctl + " seal revoke --store " + certd.store() +
                            " --department water --version 1 --compromised-at " +
                            iso(static_cast<std::int64_t>(std::time(nullptr)) - 3600) +
                            " --reason superseded 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = testsupport::run(certctl + " crl make --store " + certd.store() + " -o " +
                       (d / "next.crl").string() + " --json 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const libcert::Crl made = libcert::Crl::parse(testsupport::slurp(d / "next.crl"));
  EXPECT_EQ(made.number, 2u);
  const std::string serial =
      serial_of(testsupport::slurp(kKeys + "/seals/water/seal.crt"), d);
  ASSERT_NE(made.find(serial), nullptr) << serial;
  EXPECT_EQ(made.find(serial)->reason, libcert::CrlReason::kSuperseded);
  // certd serves the same CRL (number 2), not a third one, from its next registry read (at most
  // once per second).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const Got g = get_crl(c);
  EXPECT_EQ(g.number, "2");
  EXPECT_EQ(g.body, testsupport::slurp(d / "next.crl"));
}

}  // namespace
