// OFD sealing and verification with GB/T 38540 v4 seals (libcert/ofd.h): our own seals, every
// tampering of the list, ZIP tricks, and third-party signed OFDs (tests/data/ofd).
#include "libcert/ofd.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <thread>

#include "libcert/error.h"
#include "support/ofd_fixture.h"

namespace {

using libcert::CheckStatus;
using libcert::Verdict;
using ofdtest::kSignTime;

// Trust data that knows every seal key as active (what a bundle or certd's registry would say).
struct AllActive final : libcert::SealKeyDirectory {
  std::optional<libcert::SealKeyState> lookup(std::string_view) const override {
    libcert::SealKeyState s;
    s.version = "v1";
    return s;
  }
};

libcert::TrustStore sm2_trust() {
  libcert::TrustStore t;
  t.add_path(ofdtest::kSm2 + "/root.crt");
  return t;
}

struct Ctx {
  libcert::FixedClock clock{kSignTime + 3600};
  AllActive keys;
  libcert::TrustStore trust = sm2_trust();
  libcert::VerifyOptions opts() const {
    libcert::VerifyOptions o;
    o.clock = &clock;
    o.keys = &keys;
    return o;
  }
  libcert::VerificationReport verify(std::string_view ofd) const {
    return libcert::verify_ofd(ofd, trust, opts());
  }
};

std::string seal(const std::string& ofd, const std::string& dept, double x = 140, double y = 215) {
  const auto s = ofdtest::seal_signer(dept);
  libcert::FixedClock clock(kSignTime);
  libcert::OfdSealOptions o;
  o.clock = &clock;
  o.x_mm = x;
  o.y_mm = y;
  return libcert::seal_ofd(ofd, s, ofdtest::esl_for(s), o);
}

std::vector<libcert::ofd::ZipEntry> entries(const std::string& ofd) {
  return libcert::ofd::zip_read(ofd);
}
std::string with(const std::string& ofd, const std::string& name, const std::string& data) {
  auto e = entries(ofd);
  bool found = false;
  for (auto& x : e)
    if (x.name == name) {
      x.data = data;
      found = true;
    }
  if (!found) e.push_back({name, data});
  return libcert::ofd::zip_write(e);
}
std::string get(const std::string& ofd, const std::string& name) {
  for (auto& x : entries(ofd))
    if (x.name == name) return x.data;
  ADD_FAILURE() << "no entry " << name;
  return {};
}
void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// The failing check of the (first) signature with this id.
const libcert::Check* sig_check(const libcert::VerificationReport& r, const std::string& id,
                                std::size_t i = 0) {
  if (r.signatures.size() <= i) return nullptr;
  return r.signatures[i].check(id);
}
std::string ids(const libcert::VerificationReport& r) {
  std::string s;
  for (const auto& f : r.failed_checks()) s += f + " ";
  return s + "\n" + r.to_text();
}

TEST(OfdSeal, SealedLicenceVerifiesValid) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  const auto r = c.verify(sealed);
  EXPECT_EQ(r.result, Verdict::kValid) << ids(r);
  ASSERT_EQ(r.signatures.size(), 1u);
  for (const char* id : {"signature-xml", "references", "seal-format", "seal-match", "data-hash",
                         "signature", "cert-in-seal", "seal-signature", "seal-validity",
                         "signing-time", "chain", "maker-chain", "maker-role", "signer-role",
                         "issuer-binding", "key-state"}) {
    const auto* ck = sig_check(r, id);
    ASSERT_NE(ck, nullptr) << id;
    EXPECT_EQ(ck->status, CheckStatus::kPass) << id << ": " << ck->detail;
  }
  EXPECT_EQ(r.check("coverage")->status, CheckStatus::kPass);
  EXPECT_EQ(r.signatures[0].uscc, ofdtest::kSamrUscc);
  EXPECT_EQ(r.signatures[0].field_name, "/Doc_0/Signs/Sign_0/Signature.xml");
  // The package layout of GB/T 38540 / ofdrw practice.
  for (const char* f : {"Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml",
                        "Doc_0/Signs/Sign_0/SignedValue.dat", "Doc_0/Signs/Sign_0/Seal.esl"})
    EXPECT_FALSE(get(sealed, f).empty()) << f;
  EXPECT_NE(get(sealed, "OFD.xml").find("<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>"),
            std::string::npos);
  const std::string sx = get(sealed, "Doc_0/Signs/Sign_0/Signature.xml");
  EXPECT_NE(sx.find("PageRef=\"1\" Boundary=\"140 215 42 42\""), std::string::npos) << sx;
  EXPECT_NE(sx.find("FileRef=\"/Doc_0/Pages/Page_0/Content.xml\""), std::string::npos);
  EXPECT_EQ(sx.find("FileRef=\"/Doc_0/Signs/Signatures.xml\""), std::string::npos);
}

TEST(OfdSeal, ConcurrentVerificationsAgree) {
  // certd verifies from many threads: one shared TrustStore, libxml2 initialised once.
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        if (c.verify(sealed).result == Verdict::kValid) ++valid;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 20);
}

TEST(OfdSeal, WithoutTrustDataIndeterminate) {
  Ctx c;
  auto o = c.opts();
  o.keys = nullptr;
  const auto r = libcert::verify_ofd(seal(ofdtest::licence_ofd(), "samr"), c.trust, o);
  EXPECT_EQ(r.result, Verdict::kIndeterminate);
  EXPECT_EQ(sig_check(r, "key-state")->status, CheckStatus::kNotChecked);
}

TEST(OfdSeal, SecondDepartmentKeepsTheFirstIntact) {
  Ctx c;
  const std::string once = seal(ofdtest::licence_ofd(ofdtest::kSamrUscc, ofdtest::kApprovalUscc), "samr");
  const std::string twice = seal(once, "approval", 100, 215);
  const auto r = c.verify(twice);
  EXPECT_EQ(r.result, Verdict::kValid) << ids(r);
  ASSERT_EQ(r.signatures.size(), 2u);
  EXPECT_EQ(r.signatures[1].field_name, "/Doc_0/Signs/Sign_1/Signature.xml");
  EXPECT_EQ(r.signatures[0].result, Verdict::kValid);
  EXPECT_EQ(r.signatures[1].result, Verdict::kValid);
  // Every file of the first seal is byte-identical in the second package.
  for (const auto& e : entries(once)) {
    if (e.name != "Doc_0/Signs/Signatures.xml") {
      EXPECT_EQ(get(twice, e.name), e.data) << e.name;
    }
  }
}

TEST(OfdTamper, PageContentEditedIsInvalidReferences) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  std::string page = get(sealed, "Doc_0/Pages/Page_0/Content.xml");
  replace_all(page, "张三", "李四");
  const auto r = c.verify(with(sealed, "Doc_0/Pages/Page_0/Content.xml", page));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "references")->status, CheckStatus::kFail) << ids(r);
  EXPECT_NE(sig_check(r, "references")->detail.find("Content.xml"), std::string::npos);
}

TEST(OfdTamper, StampMovedIsInvalidDataHash) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  std::string sx = get(sealed, "Doc_0/Signs/Sign_0/Signature.xml");
  replace_all(sx, "Boundary=\"140 215", "Boundary=\"20 30");
  const auto r = c.verify(with(sealed, "Doc_0/Signs/Sign_0/Signature.xml", sx));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "data-hash")->status, CheckStatus::kFail) << ids(r);
  EXPECT_EQ(sig_check(r, "signature")->status, CheckStatus::kPass);
}

TEST(OfdTamper, SignatureXmlReferenceRemovedIsInvalidDataHash) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  std::string sx = get(sealed, "Doc_0/Signs/Sign_0/Signature.xml");
  const auto a = sx.find("<ofd:Reference FileRef=\"/Doc_0/Pages/Page_0/Content.xml\">");
  ASSERT_NE(a, std::string::npos);
  sx.erase(a, sx.find("</ofd:Reference>", a) + 16 - a);
  const auto r = c.verify(with(sealed, "Doc_0/Signs/Sign_0/Signature.xml", sx));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "data-hash")->status, CheckStatus::kFail) << ids(r);
  // and the page it no longer names is unprotected
  EXPECT_EQ(r.check("coverage")->status, CheckStatus::kFail);
}

TEST(OfdTamper, SealEslReplacedIsInvalidSealMatch) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  const auto water = ofdtest::seal_signer("water");
  const auto r = c.verify(with(sealed, "Doc_0/Signs/Sign_0/Seal.esl", ofdtest::esl_for(water)));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "seal-match")->status, CheckStatus::kFail) << ids(r);
  EXPECT_EQ(sig_check(r, "references")->status, CheckStatus::kFail);  // Seal.esl is protected
}

// A signer that forgets the distinguishing ID (OpenSSL 3.0's default: an empty ID).
class NoIdSigner final : public libcert::Signer {
 public:
  explicit NoIdSigner(const std::string& dept)
      : inner_(ofdtest::seal_signer(dept)), key_path_(ofdtest::kSm2 + "/seals/" + dept + "/seal.key") {}
  const std::string& certificate() const override { return inner_.certificate(); }
  const std::vector<std::string>& chain() const override { return inner_.chain(); }
  libcert::SignatureAlgorithm algorithm() const override {
    return libcert::SignatureAlgorithm::kSm2Sm3;
  }
  std::string sign(std::span<const std::uint8_t>) const override { return {}; }
  std::string sign_message(std::span<const std::uint8_t> m) const override {
    FILE* f = fopen(key_path_.c_str(), "r");
    EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    fclose(f);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestSignInit_ex(md, nullptr, "SM3", nullptr, nullptr, k, nullptr);
    std::size_t len = 0;
    EVP_DigestSign(md, nullptr, &len, m.data(), m.size());
    std::string sig(len, '\0');
    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len, m.data(), m.size());
    sig.resize(len);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return sig;
  }

 private:
  libcert::Sm2PemSigner inner_;
  std::string key_path_;
};

TEST(OfdTamper, SignatureWithoutDistinguishingIdIsInvalidSignature) {
  Ctx c;
  const NoIdSigner s("samr");
  libcert::FixedClock clock(kSignTime);
  libcert::OfdSealOptions o;
  o.clock = &clock;
  const std::string sealed = libcert::seal_ofd(ofdtest::licence_ofd(), s, ofdtest::esl_for(s), o);
  const auto r = c.verify(sealed);
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "signature")->status, CheckStatus::kFail) << ids(r);
  EXPECT_NE(sig_check(r, "signature")->detail.find("distinguishing ID"), std::string::npos);
  EXPECT_EQ(sig_check(r, "data-hash")->status, CheckStatus::kPass);
}

TEST(OfdTamper, SealOfAnotherDepartmentIsInvalidIssuerBinding) {
  Ctx c;
  const auto r = c.verify(seal(ofdtest::licence_ofd(ofdtest::kSamrUscc), "water"));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "issuer-binding")->status, CheckStatus::kFail) << ids(r);
  EXPECT_EQ(sig_check(r, "signature")->status, CheckStatus::kPass);
}

TEST(OfdTamper, SealMadeByANonMakerIsInvalidMakerRole) {
  Ctx c;
  const auto s = ofdtest::seal_signer("samr");
  libcert::SesSealSpec spec;
  spec.es_id = "1";
  spec.name = "x";
  spec.signer_certs = {s.certificate()};
  spec.picture = {"PNG", "p", 40, 40};
  spec.valid_start = 1735689600;
  spec.valid_end = 1924991999;
  const std::string esl = libcert::make_ses_seal(spec, s);  // the seal key makes its own seal
  libcert::FixedClock clock(kSignTime);
  libcert::OfdSealOptions o;
  o.clock = &clock;
  const auto r = c.verify(libcert::seal_ofd(ofdtest::licence_ofd(), s, esl, o));
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(sig_check(r, "maker-role")->status, CheckStatus::kFail) << ids(r);
}

TEST(OfdTamper, UnprotectedFileAddedIsModifiedCoverage) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  const auto r = c.verify(with(sealed, "Doc_0/Res/extra.png", "not protected"));
  EXPECT_EQ(r.result, Verdict::kModified) << ids(r);
  EXPECT_EQ(r.check("coverage")->status, CheckStatus::kFail);
  EXPECT_NE(r.check("coverage")->detail.find("Doc_0/Res/extra.png"), std::string::npos);
}

TEST(OfdTamper, SecondSealThatChangedAProtectedFileIsModified) {
  Ctx c;
  const std::string once = seal(ofdtest::licence_ofd(ofdtest::kSamrUscc, ofdtest::kApprovalUscc), "samr");
  std::string page = get(once, "Doc_0/Pages/Page_0/Content.xml");
  replace_all(page, "张三", "李四");
  const std::string twice = seal(with(once, "Doc_0/Pages/Page_0/Content.xml", page), "approval");
  const auto r = c.verify(twice);
  EXPECT_EQ(r.result, Verdict::kModified) << ids(r);
  EXPECT_EQ(sig_check(r, "modifications", 0)->status, CheckStatus::kFail);
  EXPECT_EQ(r.signatures[1].result, Verdict::kValid);
}

// ---- ZIP tricks -------------------------------------------------------------------------------

// Renames an entry in the raw archive (same length), in the local header, the central directory,
// or both.
std::string rename_raw(std::string zip, const std::string& from, const std::string& to, bool local,
                       bool central) {
  EXPECT_EQ(from.size(), to.size());
  for (auto p = zip.find(from); p != std::string::npos; p = zip.find(from, p + 1)) {
    // The local header is 30 bytes before the name (PK\3\4), the central one 46 (PK\1\2).
    const bool is_local = p >= 30 && zip.compare(p - 30, 4, "PK\x03\x04") == 0;
    const bool is_central = p >= 46 && zip.compare(p - 46, 4, "PK\x01\x02") == 0;
    if ((is_local && local) || (is_central && central)) zip.replace(p, from.size(), to);
  }
  return zip;
}

TEST(OfdZip, DuplicateEntryNamesAreRefused) {
  Ctx c;
  auto e = entries(seal(ofdtest::licence_ofd(), "samr"));
  e.push_back({"Doc_0/Pages/Page_0/Content.xmm", "<evil/>"});
  const std::string z = rename_raw(libcert::ofd::zip_write(e), "Doc_0/Pages/Page_0/Content.xmm",
                                   "Doc_0/Pages/Page_0/Content.xml", true, true);
  const auto r = c.verify(z);
  EXPECT_EQ(r.result, Verdict::kInvalid);
  ASSERT_NE(r.check("structure"), nullptr);
  EXPECT_EQ(r.check("structure")->status, CheckStatus::kFail);
  EXPECT_NE(r.check("structure")->detail.find("duplicate"), std::string::npos)
      << r.check("structure")->detail;
}

TEST(OfdZip, LocalCentralHeaderMismatchIsRefused) {
  Ctx c;
  const std::string z = rename_raw(seal(ofdtest::licence_ofd(), "samr"), "Doc_0/PublicRes.xml",
                                   "Doc_0/PublicRex.xml", true, false);
  const auto r = c.verify(z);
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_EQ(r.check("structure")->status, CheckStatus::kFail) << ids(r);
}

TEST(OfdZip, PathTraversalIsRefused) {
  Ctx c;
  auto e = entries(seal(ofdtest::licence_ofd(), "samr"));
  e.push_back({"aa/evil.xml", "x"});
  const std::string z = rename_raw(libcert::ofd::zip_write(e), "aa/evil.xml", "../evil.xml", true, true);
  const auto r = c.verify(z);
  EXPECT_EQ(r.result, Verdict::kInvalid);
  EXPECT_NE(r.check("structure")->detail.find("not a safe package path"), std::string::npos)
      << r.check("structure")->detail;
}

TEST(OfdZip, InflateBombStopsAtTheLimit) {
  Ctx c;
  auto e = entries(seal(ofdtest::licence_ofd(), "samr"));
  e.push_back({"Doc_0/Res/bomb.bin", std::string(40u << 20, '\0')});
  const std::string z = libcert::ofd::zip_write(e);
  EXPECT_LT(z.size(), 1u << 20);
  auto o = c.opts();
  o.max_file_size = 1u << 20;  // entries may inflate to 4x the file size, at least 1 MiB
  const auto r = libcert::verify_ofd(z, c.trust, o);
  EXPECT_EQ(r.result, Verdict::kIndeterminate);
  EXPECT_EQ(r.check("limits")->status, CheckStatus::kFail) << ids(r);
}

TEST(OfdZip, GarbageNeverThrows) {
  Ctx c;
  const std::string sealed = seal(ofdtest::licence_ofd(), "samr");
  for (std::size_t cut = 0; cut < sealed.size(); cut += sealed.size() / 37 + 1) {
    const auto r = c.verify(sealed.substr(0, cut));
    EXPECT_EQ(r.result, Verdict::kInvalid) << cut;
  }
}

TEST(OfdSeal, RefusesToBreakASealThatProtectsSignaturesXml) {
  // ofdrw_h.ofd's seals protect Signatures.xml: a further seal is refused up front.
  const auto s = ofdtest::seal_signer("samr");
  libcert::FixedClock clock(kSignTime);
  libcert::OfdSealOptions o;
  o.clock = &clock;
  const std::string h = ofdtest::read(ofdtest::kSrc + "/tests/data/ofd/ofdrw_h.ofd");
  try {
    (void)libcert::seal_ofd(h, s, ofdtest::esl_for(s), o);
    FAIL() << "sealed a document whose first seal protects Signatures.xml";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Signatures.xml"), std::string::npos) << e.what();
  }
}

// ---- third-party OFDs -------------------------------------------------------------------------

libcert::VerificationReport verify_sample(const std::string& name) {
  Ctx c;
  c.clock = libcert::FixedClock(1798761600);  // 2027-01-01: after every sample's signing time
  return c.verify(ofdtest::read(ofdtest::kSrc + "/tests/data/ofd/" + name));
}

class ThirdPartySeal : public testing::TestWithParam<std::string> {};

TEST_P(ThirdPartySeal, IntactWithAnUntrustedSigner) {
  const auto r = verify_sample(GetParam());
  EXPECT_EQ(r.result, Verdict::kUnknownSigner) << ids(r);
  ASSERT_FALSE(r.signatures.empty());
  for (const auto& s : r.signatures) {
    for (const char* id : {"references", "data-hash", "signature", "seal-signature", "cert-in-seal"})
      EXPECT_EQ(s.check(id)->status, CheckStatus::kPass) << GetParam() << " " << id << ": " << s.check(id)->detail;
    EXPECT_EQ(s.check("chain")->status, CheckStatus::kFail);
  }
}
INSTANTIATE_TEST_SUITE_P(Samples, ThirdPartySeal,
                         testing::Values("ofdrw_signedFile.ofd", "ofdrw_v4signed.ofd",
                                         "dltech_999.ofd"),
                         [](const auto& i) {
                           std::string n = i.param.substr(0, i.param.size() - 4);
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(ThirdPartySeal, SignedWithAnExpiredSealIsInvalidSealValidity) {
  // ofdrw regenerated this test file on 2026-08-04 with its test seal valid 2020-04-22 ..
  // 2022-04-22: intact, but sealed outside the seal's validity (which ofdrw does not check).
  const auto r = verify_sample("ofdrw_SESV4SignDoc.ofd");
  EXPECT_EQ(r.result, Verdict::kInvalid) << ids(r);
  ASSERT_EQ(r.signatures.size(), 1u);
  const auto& s = r.signatures[0];
  for (const char* id : {"references", "data-hash", "signature", "seal-signature", "cert-in-seal"})
    EXPECT_EQ(s.check(id)->status, CheckStatus::kPass) << id;
  EXPECT_EQ(s.check("seal-validity")->status, CheckStatus::kFail);
}

TEST(ThirdPartySeal, TaxInvoiceLeavesOfdXmlUnprotectedAWarning) {
  const auto r = verify_sample("dltech_999.ofd");
  EXPECT_EQ(r.check("coverage")->status, CheckStatus::kWarn);
  EXPECT_NE(r.check("coverage")->detail.find("OFD.xml"), std::string::npos);
}

TEST(ThirdPartySeal, GmT0031SealIsADistinctFormat) {
  const auto r = verify_sample("ofdrw_n.ofd");
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << ids(r);
  ASSERT_EQ(r.signatures.size(), 1u);
  const auto* f = r.signatures[0].check("seal-format");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status, CheckStatus::kNotChecked);
  EXPECT_NE(f->detail.find("GM/T 0031"), std::string::npos) << f->detail;
}

TEST(ThirdPartySeal, SecondSealChangedWhatTheFirstProtectedIsModified) {
  const auto r = verify_sample("ofdrw_h.ofd");
  EXPECT_EQ(r.result, Verdict::kModified) << ids(r);
}

TEST(ThirdPartySeal, SealingAnOfdrwDocumentVerifies) {
  Ctx c;
  const std::string hello = ofdtest::read(ofdtest::kSrc + "/tests/data/ofd/ofdrw_helloworld.ofd");
  const auto r = c.verify(seal(hello, "samr", 10, 10));
  // No issuer named in that document: every check passes but the binding cannot be decided.
  EXPECT_EQ(r.result, Verdict::kIndeterminate) << ids(r);
  EXPECT_EQ(sig_check(r, "issuer-binding")->status, CheckStatus::kNotChecked);
  EXPECT_EQ(r.failed_checks(),
            std::vector<std::string>{"/Doc_0/Signs/Sign_0/Signature.xml:issuer-binding"})
      << ids(r);
}

}  // namespace
