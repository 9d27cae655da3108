// CRLs of the issuing CA (libcert/crl.h): made by us and read by the openssl CLI, made by the
// openssl CLI and read by us, and every check with its specific problem.
#include "libcert/crl.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "libcert/trust_bundle.h"

namespace {

namespace fs = std::filesystem;
const std::string kKeys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example";
constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ca_der() { return libcert::certificate_der_from_pem(slurp(kKeys + "/ca/issuing-ca.crt")); }
std::string root_der() { return libcert::certificate_der_from_pem(slurp(kKeys + "/root/root.crt")); }
libcert::DigestSigner ca_signer() {
  return libcert::digest_signer_from_pem(slurp(kKeys + "/ca/issuing-ca.key"));
}

// Runs a shell command; returns (exit status, stdout+stderr).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class TmpDir {
 public:
  TmpDir() {
    std::string t = (fs::temp_directory_path() / "crl_test.XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

libcert::Crl sample() {
  libcert::Crl c;
  c.number = 42;
  c.this_update = kNow;
  c.next_update = kNow + 86400;
  c.revoked.push_back({"3A0F9C", kNow - 7200, libcert::CrlReason::kKeyCompromise, kNow - 86400});
  c.revoked.push_back({"01", kNow - 3600, libcert::CrlReason::kSuperseded, std::nullopt});
  c.revoked.push_back({"00ff", kNow - 60, libcert::CrlReason::kCessationOfOperation, std::nullopt});
  return c;
}

TEST(Crl, MadeCrlVerifiesWithOpensslAndListsTheSerials) {
  const std::string der = sample().sign(ca_der(), ca_signer());
  TmpDir d;
  std::ofstream(d.file("c.crl"), std::ios::binary) << der;
  // The issuing CA's certificate (its chain to the root) is what openssl checks the signature
  // with: -CAfile holds the issuing CA.
  const auto [rc, out] = run("openssl crl -inform DER -in " + d.file("c.crl") + " -noout -CAfile " +
                             kKeys + "/ca/issuing-ca.crt -verify");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify OK"), std::string::npos) << out;
  const auto [rc2, text] = run("openssl crl -inform DER -in " + d.file("c.crl") + " -noout -text");
  ASSERT_EQ(rc2, 0) << text;
  EXPECT_NE(text.find("Version 2"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 CRL Number: \n                42"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos) << text;
  EXPECT_NE(text.find("Serial Number: 3A0F9C"), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  EXPECT_NE(text.find("Superseded"), std::string::npos) << text;
  EXPECT_NE(text.find("Cessation Of Operation"), std::string::npos) << text;
  EXPECT_NE(text.find("Invalidity Date"), std::string::npos) << text;
  EXPECT_NE(text.find("Next Update: Jan  2 00:00:00 2026 GMT"), std::string::npos) << text;
}

TEST(Crl, ParseRoundTripsEveryField) {
  const libcert::Crl in = sample();
  const libcert::Crl got = libcert::Crl::parse(in.sign(ca_der(), ca_signer()));
  EXPECT_EQ(got.number, 42u);
  EXPECT_EQ(got.this_update, kNow);
  EXPECT_EQ(got.next_update, kNow + 86400);
  ASSERT_EQ(got.revoked.size(), 3u);
  // Ascending serial order, serials normalised to upper-case hex without leading zeros.
  EXPECT_EQ(got.revoked[0].serial_hex, "1");
  EXPECT_EQ(got.revoked[1].serial_hex, "FF");
  EXPECT_EQ(got.revoked[2].serial_hex, "3A0F9C");
  ASSERT_NE(got.find("3a0f9c"), nullptr);
  EXPECT_EQ(*got.find("003A0F9C"), in.revoked[0]);
  EXPECT_EQ(got.find("FF")->reason, libcert::CrlReason::kCessationOfOperation);
  EXPECT_FALSE(got.find("FF")->invalidity_date.has_value());
  EXPECT_EQ(got.find("02"), nullptr);
  EXPECT_NE(got.issuer.find("Ali Seal Issuing CA"), std::string::npos) << got.issuer;
  EXPECT_EQ(got.authority_key_id_hex.size(), 40u);
}

TEST(Crl, CheckNamesEachProblem) {
  const libcert::Crl got = libcert::Crl::parse(sample().sign(ca_der(), ca_signer()));
  EXPECT_EQ(got.check(ca_der(), kNow).problem, libcert::CrlProblem::kNone);
  EXPECT_EQ(got.check(ca_der(), kNow - 1).problem, libcert::CrlProblem::kNotYetValid);
  // nextUpdate honoured: at nextUpdate the CRL is no longer current.
  EXPECT_EQ(got.check(ca_der(), kNow + 86400).problem, libcert::CrlProblem::kExpired);
  // Another CA (the root) did not issue it.
  EXPECT_EQ(got.check(root_der(), kNow).problem, libcert::CrlProblem::kIssuer);
  // One flipped bit in the signature value (the last byte of the DER).
  std::string der = got.der();
  der.back() = static_cast<char>(der.back() ^ 0x01);
  const libcert::CrlCheck c = libcert::Crl::parse(der).check(ca_der(), kNow);
  EXPECT_EQ(c.problem, libcert::CrlProblem::kSignature) << c.detail;
}

TEST(Crl, SignRefusesBadContentAndTheWrongKey) {
  libcert::Crl c = sample();
  c.next_update = c.this_update;
  try {
    (void)c.sign(ca_der(), ca_signer());
    FAIL() << "accepted nextUpdate == thisUpdate";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("nextUpdate"), std::string::npos) << e.what();
  }
  c = sample();
  c.revoked.push_back({"3a0f9c", kNow, libcert::CrlReason::kSuperseded, std::nullopt});
  try {
    (void)c.sign(ca_der(), ca_signer());
    FAIL() << "accepted a serial twice";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("3A0F9C is listed twice"), std::string::npos) << e.what();
  }
  // The root's key signing for the issuing CA: the assembled CRL does not verify.
  try {
    (void)sample().sign(ca_der(), libcert::digest_signer_from_pem(slurp(kKeys + "/root/root.key")));
    FAIL() << "accepted a signature by another key";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("does not verify"), std::string::npos) << e.what();
  }
  // A seal certificate may not sign CRLs.
  try {
    (void)sample().sign(libcert::certificate_der_from_pem(slurp(kKeys + "/seals/samr/seal.crt")),
                        libcert::digest_signer_from_pem(slurp(kKeys + "/seals/samr/seal.key")));
    FAIL() << "a seal signed a CRL";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("not a CA"), std::string::npos) << e.what();
  }
}

std::string parse_error(std::string_view der) {
  try {
    (void)libcert::Crl::parse(der);
  } catch (const libcert::Error& e) {
    return std::string(libcert::to_string(e.code())) + ": " + e.what();
  }
  return "accepted";
}

TEST(Crl, ParseErrorsNameTheField) {
  EXPECT_NE(parse_error("not a crl").find("not a DER CertificateList"), std::string::npos);
  const std::string der = sample().sign(ca_der(), ca_signer());
  EXPECT_NE(parse_error(der + "x").find("trailing bytes"), std::string::npos);
  EXPECT_NE(parse_error(der.substr(0, der.size() - 5)).find("not a DER CertificateList"),
            std::string::npos);
  EXPECT_NE(parse_error("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
                .find("not a PEM X509 CRL"),
            std::string::npos);
  // PEM is accepted too.
  EXPECT_EQ(libcert::Crl::parse(libcert::crl_der_to_pem(der)).der(), der);
}

// CRLs made by the openssl CLI (`openssl ca -gencrl`), read by us: a v2 CRL with a cRLNumber
// parses and verifies; a v1 CRL (no extensions) is refused, naming the version.
TEST(Crl, ReadsCrlsMadeByTheOpensslCli) {
  TmpDir d;
  std::ofstream(d.file("index.txt")) << "";
  std::ofstream(d.file("crlnumber")) << "1F\n";
  std::ofstream(d.file("ca.cnf")) << "[ ca ]\ndefault_ca = x\n[ x ]\ndatabase = " +
                                         d.file("index.txt") +
                                         "\ndefault_md = sha256\ndefault_crl_days = 7\n"
                                         "crlnumber = " + d.file("crlnumber") +
                                         "\ncrl_extensions = ext\n[ ext ]\n"
                                         "authorityKeyIdentifier = keyid:always\n";
  const std::string gen = "openssl ca -gencrl -config " + d.file("ca.cnf") + " -keyfile " + kKeys +
                          "/ca/issuing-ca.key -cert " + kKeys + "/ca/issuing-ca.crt";
  auto [rc, out] = run(gen + " -out " + d.file("v2.pem"));
  ASSERT_EQ(rc, 0) << out;
  const libcert::Crl v2 = libcert::Crl::parse(slurp(d.file("v2.pem")));
  EXPECT_EQ(v2.number, 0x1Fu);
  EXPECT_TRUE(v2.revoked.empty());
  EXPECT_EQ(v2.next_update - v2.this_update, 7 * 86400);
  EXPECT_EQ(v2.check(ca_der(), v2.this_update).problem, libcert::CrlProblem::kNone);

  std::ofstream(d.file("ca.cnf")) << "[ ca ]\ndefault_ca = x\n[ x ]\ndatabase = " +
                                         d.file("index.txt") +
                                         "\ndefault_md = sha256\ndefault_crl_days = 7\n";
  std::tie(rc, out) = run(gen + " -out " + d.file("v1.pem"));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(parse_error(slurp(d.file("v1.pem"))).find("invalid-argument: crl: version is not v2"),
            std::string::npos)
      << parse_error(slurp(d.file("v1.pem")));
}

}  // namespace
