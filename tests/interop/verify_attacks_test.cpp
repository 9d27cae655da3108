// `certctl verify` on files of the attack corpus (exit code, the verdict and the failed check in
// its output), with pdfsig (Poppler/NSS, nobody here wrote it) as a second opinion where it has
// one: it must agree on the intact and the byte-changed licence.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "libcert/trust_bundle.h"
#include "support/attack_corpus.h"
#include "support/process.h"

namespace {

using testsupport::run;
using testsupport::shell_quote;

class CertctlVerify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    const std::string unsigned_pdf = attack::cairo_licence();
    const std::string p1 = attack::seal(unsigned_pdf, attack::seal_of("samr"), 1);
    const std::string p2 = attack::seal(unsigned_pdf, attack::seal_of("samr"), 2);
    testsupport::spit(*dir_ / "valid.pdf", p1);
    testsupport::spit(*dir_ / "two-seals.pdf", attack::seal(p2, attack::seal_of("approval"), 2,
                                                            libcert::SealKind::kApproval, 260));
    testsupport::spit(*dir_ / "water-seal.pdf",
                      attack::seal(unsigned_pdf, attack::seal_of("water"), 1));
    // Trust bundles (what `certctl trust-bundle export` publishes): the genuine one, one where the
    // market regulator's key was compromised before the licence was sealed, and a forgery signed
    // by a seal key (issued by the root, but not the pinned bundle signer).
    testsupport::spit(*dir_ / "bundle.cbor", attack::example_bundle());
    testsupport::spit(*dir_ / "revoked.cbor", attack::example_bundle(
                                                  [](libcert::TrustBundle& b) {
                                                    for (auto& e : b.seals)
                                                      if (e.department == "samr") {
                                                        e.state = libcert::SealState::kRevoked;
                                                        e.compromised_at = attack::kSealTime - 60;
                                                      }
                                                  },
                                                  2));
    {
      libcert::TrustBundle forged =
          libcert::TrustBundle::parse(attack::example_bundle(), attack::example_pins());
      forged.version = UINT64_MAX;
      testsupport::spit(*dir_ / "forged.cbor",
                        forged.sign(libcert::certificate_der_from_pem(
                                        attack::slurp_file(attack::kKeys + "/seals/samr/seal.crt")),
                                    libcert::digest_signer_from_pem(attack::slurp_file(
                                        attack::kKeys + "/seals/samr/seal.key"))));
    }
    std::string changed = p1;
    changed[changed.find("cairo")] = 'C';
    testsupport::spit(*dir_ / "byte-changed.pdf", changed);
    testsupport::spit(*dir_ / "face-value.pdf", attack::face_value_changed(p2));
    const attack::SigPos p = attack::sig_pos(p1);
    testsupport::spit(*dir_ / "contents-null.pdf",
                      attack::overwrite(p1, p.ct_pos, p.ct_end, "null"));
    const auto size = static_cast<std::int64_t>(p1.size());
    testsupport::spit(*dir_ / "short-range.pdf",
                      attack::with_byte_range(p1, static_cast<std::int64_t>(p.ct_pos),
                                              static_cast<std::int64_t>(p.ct_end),
                                              size - static_cast<std::int64_t>(p.ct_end) - 30));
    // NSS database trusting the example root, for pdfsig (testing.md).
    const std::string db = (*dir_ / "nss").string();
    const auto r = run("mkdir -p " + shell_quote(db) + " && certutil -N -d sql:" + shell_quote(db) +
                       " --empty-password && certutil -A -d sql:" + shell_quote(db) +
                       " -n root -t C,C,C -i " + shell_quote(attack::kKeys + "/root/root.crt"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }

  // With the example trust bundle (key states) unless the test names another one.
  static testsupport::RunResult certctl(const std::string& args,
                                        const std::string& bundle = "bundle.cbor") {
    return run(std::string(CERTCTL_BIN) + " verify " +
               (bundle.empty() ? std::string() : "--bundle " + file(bundle) + " ") + args);
  }
  static std::string file(const std::string& name) { return shell_quote((*dir_ / name).string()); }
  static testsupport::TempDir* dir_;
};
testsupport::TempDir* CertctlVerify::dir_ = nullptr;

TEST_F(CertctlVerify, ValidLicenceExitsZeroAndPdfsigAgrees) {
  const auto r = certctl(file("valid.pdf"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Result: VALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("阿里地区市场监督管理局 (USCC 115425000199003834)"), std::string::npos);
  const auto s =
      run("pdfsig -nssdir sql:" + shell_quote((*dir_ / "nss").string()) + " " + file("valid.pdf"));
  EXPECT_NE(s.out.find("Signature is Valid."), std::string::npos) << s.out;
}

TEST_F(CertctlVerify, TwoSealsVerifyValidWithBothListed) {
  const auto r = certctl("--json " + file("two-seals.pdf"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"], "VALID");
  ASSERT_EQ(j["signatures"].size(), 2u);
  EXPECT_EQ(j["signatures"][0]["field"], "Seal1");
  EXPECT_EQ(j["signatures"][0]["kind"], "certification");
  EXPECT_EQ(j["signatures"][1]["field"], "Seal2");
  EXPECT_EQ(j["signatures"][1]["kind"], "approval");
  EXPECT_EQ(j["signatures"][0]["changes"][0]["class"], "form-filling");
}

TEST_F(CertctlVerify, ByteChangedIsInvalidAndPdfsigAgrees) {
  const auto r = certctl(file("byte-changed.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("signature 'Seal1': digest:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Failed checks: Seal1:digest"), std::string::npos) << r.out;
  const auto s = run("pdfsig -nssdir sql:" + shell_quote((*dir_ / "nss").string()) + " " +
                     file("byte-changed.pdf"));
  EXPECT_EQ(s.out.find("Signature is Valid."), std::string::npos) << s.out;
}

TEST_F(CertctlVerify, FaceValueUpdateIsModified) {
  const auto r = certctl(file("face-value.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: MODIFIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[fail] modifications"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("page 1: /Contents changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[fail] rendering"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, ForgedStructuresNameTheirCheck) {
  auto r = certctl("--json " + file("contents-null.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"], "INVALID");
  EXPECT_EQ(j["reasons"][0], "signature 'Seal1': contents: /Contents is missing or null");
  r = certctl(file("short-range.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("[fail] byte-range: the signed range ends at byte"), std::string::npos)
      << r.out;
}

TEST_F(CertctlVerify, UsageAndUnreadableInput) {
  EXPECT_EQ(certctl("").exit_code, 2);
  EXPECT_EQ(certctl("--bogus " + file("valid.pdf")).exit_code, 2);
  const auto r = certctl(file("missing.pdf"));
  EXPECT_EQ(r.exit_code, 5);  // a file that cannot be read: environment (docs/verdicts.md)
  EXPECT_NE(r.out.find("missing.pdf"), std::string::npos);
  // Another trust root: the licence's signer is unknown.
  const auto u =
      certctl("--trust " + shell_quote(attack::kKeys + "/tsa/tsa.crt") + " " + file("valid.pdf"));
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.out.find("Result: UNKNOWN-SIGNER"), std::string::npos) << u.out;
}

// issue 16: key roles, the signer-issuer binding and key states, through the CLI.
// A real template's licence (manifest co_issuers: the approval bureau) sealed at P=2 by its
// issuer: the listed co-issuer's approval seal keeps it VALID (pdfsig agrees), another
// department's approval seal is refused (issuer-binding).
TEST_F(CertctlVerify, ApprovalSealOfATemplatesCoIssuerOnlyOnAnIssuedLicence) {
  const std::string src = LIBCERT_SOURCE_DIR;
  const std::string c = std::string(CERTCTL_BIN);
  auto r = run(c + " render --template business-licence-enterprise --data " +
               shell_quote(src + "/templates/business-licence-enterprise/sample.json") + " -o " +
               file("t.pdf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run(c + " sign --department samr --docmdp 2 --rect 400,100,120,120 " + file("t.pdf") +
          " -o " + file("t1.pdf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* dept : {"approval", "water"}) {
    r = run(c + " sign --department " + dept + " --approval --rect 250,100,120,120 " +
            file("t1.pdf") + " -o " + file(std::string("t2-") + dept + ".pdf"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  r = certctl(file("t2-approval.pdf"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Result: VALID"), std::string::npos) << r.out;
  r = certctl(file("t2-water.pdf"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("Result: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal2': issuer-binding"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, AnotherDepartmentsSealIsInvalid) {
  const auto r = certctl(file("water-seal.pdf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:issuer-binding"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, WithoutTrustDataIsIndeterminate) {
  const auto r = certctl(file("valid.pdf"), "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: INDETERMINATE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:key-state"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, KeyCompromisedBeforeSealingIsRevoked) {
  const auto r = certctl(file("valid.pdf"), "revoked.cbor");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Result: REVOKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seal1:key-state"), std::string::npos) << r.out;
}

TEST_F(CertctlVerify, BundleSignedByASealKeyIsRefused) {
  const auto r = certctl(file("valid.pdf"), "forged.cbor");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("not pinned"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Result:"), std::string::npos) << r.out;
}

// ---- issue 16: the change-policy corpus through certctl, cross-checked with MuPDF --------------

// A binary PNM (P5 grey or P6 RGB) as `mutool draw` writes it.
struct Pnm {
  int w = 0, h = 0, channels = 0;
  std::string px;
};
Pnm read_pnm(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Pnm p;
  std::string magic;
  int maxval = 0;
  f >> magic >> p.w >> p.h >> maxval;
  f.get();
  p.channels = magic == "P6" ? 3 : 1;
  p.px.resize(static_cast<std::size_t>(p.w) * static_cast<std::size_t>(p.h) *
              static_cast<std::size_t>(p.channels));
  f.read(p.px.data(), static_cast<std::streamsize>(p.px.size()));
  return p;
}

class ChangePolicyInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    const std::string unsigned_pdf = attack::with_xmp(attack::cairo_licence(), "Holder Co");
    for (attack::Licence l :
         {attack::Licence::kP1, attack::Licence::kP2, attack::Licence::kApprovalOnly}) {
      const std::string sealed = attack::seal_licence(unsigned_pdf, l);
      const std::string k = attack::to_string(l);
      put(k + "-genuine", sealed);
      put(k + "-dss", attack::dss_update(sealed));
      put(k + "-dss-doc-ts", attack::add_doc_timestamp(attack::dss_update(sealed)));
      for (const auto& a : attack::dss_smuggles())
        put(k + "-dss-" + a.name, attack::smuggle_under_dss(sealed, a));
      put(k + "-empty-field-over-name",
          attack::add_empty_sig_field(sealed, libcert::pdf::Array{attack::kNameX1, attack::kNameY1,
                                                                   attack::kNameX2,
                                                                   attack::kNameY2}));
      put(k + "-field-on-genuine-sig", attack::add_field_on_genuine_sig(sealed));
      // Info changed in place (the retargeted variants are in the unit corpus).
      const auto doc = libcert::pdf::Document::open(sealed);
      const libcert::pdf::Ref info = doc.trailer().get("Info")->as_ref();
      libcert::pdf::IncrementalUpdate up(doc);
      libcert::pdf::Dict d = doc.object(info).as_dict();
      d.set("Title", libcert::pdf::String{"Licence of Another Holder Ltd", false});
      up.set(info, libcert::pdf::Object(d));
      put(k + "-info-changed", up.write().pdf);
      sizes_[k] = sealed.size();
    }
    testsupport::spit(*dir_ / "bundle.cbor", attack::example_bundle());
  }
  static void TearDownTestSuite() { delete dir_; }
  static void put(const std::string& name, const std::string& bytes) {
    testsupport::spit(*dir_ / (name + ".pdf"), bytes);
  }
  static std::string file(const std::string& name) {
    return shell_quote((*dir_ / (name + ".pdf")).string());
  }
  static nlohmann::json verify(const std::string& name, int expect_exit) {
    // With the example trust bundle (key states): without trust data a genuine seal is
    // INDETERMINATE (docs/verdicts.md).
    const auto r = run(std::string(CERTCTL_BIN) + " verify --json --bundle " +
                       shell_quote((*dir_ / "bundle.cbor").string()) + " " + file(name));
    EXPECT_EQ(r.exit_code, expect_exit) << name << "\n" << r.out;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << name << ": not JSON: " << r.out;
      return {};
    }
  }
  static bool reason_has(const nlohmann::json& j, const std::string& text) {
    for (const auto& r : j["reasons"])
      if (r.get<std::string>().find(text) != std::string::npos) return true;
    return false;
  }
  // Pixels (at 36 dpi) in the PDF rectangle [x1 y1 x2 y2] of page 1 where MuPDF renders `a`
  // (a whole file) and the first `prefix` bytes of `b` differently.
  static int mupdf_differs(const std::string& name, std::size_t prefix, double x1, double y1,
                           double x2, double y2) {
    const std::string whole = (*dir_ / (name + ".pdf")).string();
    const std::string bytes = attack::slurp_file(whole);
    const std::string signed_rev = (*dir_ / (name + ".signed.pdf")).string();
    testsupport::spit(signed_rev, bytes.substr(0, prefix));
    const std::string pa = (*dir_ / (name + ".a.pnm")).string();
    const std::string pb = (*dir_ / (name + ".b.pnm")).string();
    auto r = run("mutool draw -q -r 36 -c rgb -o " + shell_quote(pa) + " " + shell_quote(whole) +
                 " 1 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    r = run("mutool draw -q -r 36 -c rgb -o " + shell_quote(pb) + " " + shell_quote(signed_rev) +
            " 1 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    const Pnm a = read_pnm(pa), b = read_pnm(pb);
    EXPECT_EQ(a.w, b.w);
    EXPECT_EQ(a.h, b.h);
    if (a.w != b.w || a.h != b.h || a.w == 0) return -1;
    const double s = 36.0 / 72.0;
    const double page_h = a.h / s;
    int n = 0;
    for (int y = static_cast<int>((page_h - y2) * s); y < static_cast<int>((page_h - y1) * s); ++y) {
      for (int x = static_cast<int>(x1 * s); x < static_cast<int>(x2 * s); ++x) {
        const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(a.w) +
                               static_cast<std::size_t>(x)) *
                               static_cast<std::size_t>(a.channels);
        if (a.px.compare(i, static_cast<std::size_t>(a.channels), b.px, i,
                         static_cast<std::size_t>(a.channels)) != 0)
          ++n;
      }
    }
    return n;
  }
  static testsupport::TempDir* dir_;
  static std::map<std::string, std::size_t> sizes_;
};
testsupport::TempDir* ChangePolicyInterop::dir_ = nullptr;
std::map<std::string, std::size_t> ChangePolicyInterop::sizes_;

const char* const kLicences[] = {"P1", "P2", "approval-only"};

TEST_F(ChangePolicyInterop, GenuineAndLtaUpdatesStayValid) {
  for (const char* l : kLicences) {
    for (const char* v : {"-genuine", "-dss", "-dss-doc-ts"}) {
      const auto j = verify(std::string(l) + v, 0);
      EXPECT_EQ(j["result"], "VALID") << l << v << j.dump(1);
    }
  }
}

TEST_F(ChangePolicyInterop, EveryForgeryIsModifiedWithItsCheck) {
  std::vector<std::pair<std::string, std::string>> cases;  // variant, failing check
  for (const auto& a : attack::dss_smuggles())
    cases.emplace_back(std::string("-dss-") + a.name, "modifications");
  cases.emplace_back("-empty-field-over-name", "modifications");
  cases.emplace_back("-field-on-genuine-sig", "signature-fields");
  cases.emplace_back("-info-changed", "modifications");
  for (const char* l : kLicences) {
    for (const auto& [v, check] : cases) {
      const std::string name = std::string(l) + v;
      const auto j = verify(name, 1);
      EXPECT_EQ(j["result"], "MODIFIED") << name << j.dump(1);
      EXPECT_TRUE(reason_has(j, check + ": ")) << name << " " << check << j.dump(1);
    }
  }
}

// The rendering-visible forgeries, seen by a second engine (MuPDF): the final file and the
// signed revision differ where the attack paints, and certctl's own rendered comparison fails.
TEST_F(ChangePolicyInterop, MupdfSeesTheVisibleForgeries) {
  for (const char* l : kLicences) {
    for (const char* v : {"-dss-page-content", "-empty-field-over-name"}) {
      const std::string name = std::string(l) + v;
      EXPECT_GT(mupdf_differs(name, sizes_[l], attack::kNameX1, attack::kNameY1, attack::kNameX2,
                              attack::kNameY2),
                0)
          << name;
      const auto j = verify(name, 1);
      EXPECT_TRUE(reason_has(j, "rendering: ")) << name << j.dump(1);
    }
    // A genuine DSS update renders the same in MuPDF too.
    EXPECT_EQ(mupdf_differs(std::string(l) + "-dss", sizes_[l], 0, 0, 595, 841), 0) << l;
  }
}

// Genuine licences stay valid in the independent verifiers.
TEST_F(ChangePolicyInterop, GenuineLicencesPassPdfsigAndMutool) {
  const std::string db = (*dir_ / "nss").string();
  auto r = run("mkdir -p " + shell_quote(db) + " && certutil -N -d sql:" + shell_quote(db) +
               " --empty-password && certutil -A -d sql:" + shell_quote(db) +
               " -n root -t C,C,C -i " + shell_quote(attack::kKeys + "/root/root.crt"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* l : kLicences) {
    const std::string f = file(std::string(l) + "-genuine");
    r = run("pdfsig -nssdir sql:" + shell_quote(db) + " " + f);
    EXPECT_NE(r.out.find("Signature is Valid."), std::string::npos) << l << r.out;
    r = run("mutool sign -v " + f + " 2>&1");
    EXPECT_NE(r.out.find("The document is unchanged since signing."), std::string::npos)
        << l << r.out;
  }
}

}  // namespace
