// verify_pdf (libcert/verify.h) on a corpus of attacks generated here from a valid sealed licence:
// each variant must be reported not VALID with the exact verdict and the check that failed
// (signing.md, "What a verifier must reject").
#include "libcert/verify.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "libcert/error.h"
#include "libcert/pdf.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "support/attack_corpus.h"
#include "support/process.h"

namespace pdf = libcert::pdf;
using libcert::CheckStatus;
using libcert::Verdict;
using testsupport::shell_quote;

using namespace attack;  // NOLINT: the corpus helpers

namespace {

// The state of everything a test asserts on: the verdict, and status of each check by id.
struct Outcome {
  libcert::VerificationReport report;
  [[nodiscard]] CheckStatus sig(const std::string& id, std::size_t i = 0) const {
    const auto* c = report.signatures.at(i).check(id);
    return c == nullptr ? CheckStatus::kNotChecked : c->status;
  }
  [[nodiscard]] std::string sig_detail(const std::string& id, std::size_t i = 0) const {
    const auto* c = report.signatures.at(i).check(id);
    return c == nullptr ? "" : c->detail;
  }
  [[nodiscard]] CheckStatus doc(const std::string& id) const {
    const auto* c = report.check(id);
    return c == nullptr ? CheckStatus::kNotChecked : c->status;
  }
};

std::string add_white_sig_widget(const std::string& sealed, const pdf::Array& rect) {
  return add_empty_sig_field(sealed, rect);
}

class VerifyCorpus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsigned_ = new std::string(cairo_licence());
    const auto samr = seal_of("samr");
    valid_p1_ = new std::string(seal(*unsigned_, samr, 1));
    valid_p2_ = new std::string(seal(*unsigned_, samr, 2));
  }
  static void TearDownTestSuite() {
    delete unsigned_;
    delete valid_p1_;
    delete valid_p2_;
  }
  void SetUp() override { trust_.add_path(kKeys + "/root/root.crt"); }

  Outcome verify(const std::string& bytes) const {
    libcert::VerifyOptions o;
    o.clock = &clock_;
    o.keys = &example_seal_states();  // the trust data: key states from the example bundle
    Outcome out{libcert::verify_pdf(bytes, trust_, o)};
    // Every report must serialise (hostile strings included).
    EXPECT_FALSE(out.report.to_json().dump().empty());
    EXPECT_FALSE(out.report.to_text().empty());
    return out;
  }

  static std::string* unsigned_;
  static std::string* valid_p1_;
  static std::string* valid_p2_;
  libcert::TrustStore trust_;
  libcert::FixedClock clock_{kVerifyTime};
};
std::string* VerifyCorpus::unsigned_ = nullptr;
std::string* VerifyCorpus::valid_p1_ = nullptr;
std::string* VerifyCorpus::valid_p2_ = nullptr;

TEST_F(VerifyCorpus, ValidLicenceIsValid) {
  const Outcome o = verify(*valid_p1_);
  ASSERT_EQ(o.report.result, Verdict::kValid) << o.report.to_text();
  EXPECT_TRUE(o.report.reasons.empty());
  ASSERT_EQ(o.report.signatures.size(), 1u);
  const auto& s = o.report.signatures[0];
  EXPECT_EQ(s.field_name, "Seal1");
  EXPECT_EQ(s.department, "阿里地区市场监督管理局");
  EXPECT_EQ(s.uscc, "115425000199003834");
  EXPECT_EQ(s.cert_sha256.size(), 64u);
  EXPECT_EQ(s.signing_time, "2026-01-01T00:00:00Z");
  EXPECT_NE(s.signing_time_source.find("claimed"), std::string::npos);
  EXPECT_EQ(s.sub_filter, "ETSI.CAdES.detached");
  EXPECT_EQ(s.docmdp_p, 1);
  EXPECT_EQ(o.report.certification_p, 1);
  EXPECT_TRUE(s.covers_whole_file);
  EXPECT_EQ(s.signed_revision, 1);
  EXPECT_EQ(s.revision_end, static_cast<std::int64_t>(valid_p1_->size()));
  for (const char* id : {"byte-range", "contents", "sub-filter", "cms", "digest", "signature",
                         "signed-attributes", "signing-certificate", "chain",
                         "validity-at-signing-time", "key-usage", "coverage", "modifications"}) {
    EXPECT_EQ(o.sig(id), CheckStatus::kPass) << id << ": " << o.sig_detail(id);
  }
  EXPECT_TRUE(s.changes.empty());
  // Nothing was appended after the seal, so no rendered comparison is needed.
  EXPECT_EQ(o.report.check("rendering"), nullptr);
  const auto j = o.report.to_json();
  EXPECT_EQ(j["result"], "VALID");
  EXPECT_EQ(j["signatures"][0]["signer"]["uscc"], "115425000199003834");
  EXPECT_EQ(j["signatures"][0]["kind"], "certification");
}

TEST_F(VerifyCorpus, ByteChangedInsideSignedRangeFailsDigest) {
  std::string bad = *valid_p1_;
  const auto at = bad.find("Business licence");  // not present (cairo subsets glyphs)...
  // ...so change a byte of the cairo /Producer string in the signed first revision instead.
  const auto prod = bad.find("cairo");
  ASSERT_NE(prod, std::string::npos);
  (void)at;
  bad[prod] = 'C';
  const Outcome o = verify(bad);
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.sig("digest"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("digest").find("the signed bytes were changed"), std::string::npos);
  EXPECT_EQ(o.sig("signature"), CheckStatus::kPass);
  EXPECT_NE(o.report.to_text().find("[fail] digest"), std::string::npos);
}

// Incremental Saving Attack: an update that gives page 1 a new content stream (the face value is
// painted over and replaced). The document is P=2, so form filling would be allowed: the content
// change is caught as an "other" change, not merely by P=1.
TEST_F(VerifyCorpus, AppendedUpdateChangingFaceValueIsModified) {
  const std::string bad = face_value_changed(*valid_p2_);

  const Outcome o = verify(bad);
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("digest"), CheckStatus::kPass);  // the signature itself is intact
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
  EXPECT_FALSE(o.report.signatures[0].covers_whole_file);
  bool page_change = false;
  for (const auto& ch : o.report.signatures[0].changes) {
    if (ch.kind == libcert::ChangeClass::kOther && !ch.allowed &&
        ch.description.find("page 1: /Contents changed") != std::string::npos)
      page_change = true;
  }
  EXPECT_TRUE(page_change) << o.report.to_text();
  EXPECT_EQ(o.doc("rendering"), CheckStatus::kFail);
}

TEST_F(VerifyCorpus, AppendedPageIsModified) {
  const auto doc = pdf::Document::open(*valid_p2_);
  const pdf::Ref page0 = doc.page_ref(0);
  pdf::Object page = doc.object(page0);
  const pdf::Ref pages_ref = page.as_dict().get("Parent")->as_ref();
  pdf::Object pages = doc.object(pages_ref);
  page.as_dict().erase("Annots");
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref np = up.allocate();
  up.set(np, page);
  pdf::Array kids = pages.as_dict().get("Kids")->as_array();
  kids.emplace_back(np);
  pages.as_dict().set("Kids", pdf::Object(kids));
  pages.as_dict().set("Count", pdf::Object(2));
  up.set(pages_ref, pages);
  const Outcome o = verify(up.write().pdf);
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("modifications").find("page 2 was added (1 -> 2 pages)"),
            std::string::npos)
      << o.sig_detail("modifications");
  EXPECT_EQ(o.doc("pages"), CheckStatus::kFail);
  EXPECT_EQ(o.report.pages, 2);
}

// Shadow attack (hide): a new, empty signature field whose widget appearance paints the whole
// page white. An unsigned field is no allowed change (issue 16), its widget is not a verified
// seal's, so its pixels are compared too.
TEST_F(VerifyCorpus, ShadowOverlayWidgetIsCaughtByRendering) {
  const std::string bad = add_white_sig_widget(*valid_p2_, pdf::Array{0, 0, 596, 842});
  const Outcome o = verify(bad);
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail) << o.sig_detail("modifications");
  EXPECT_EQ(o.doc("annotations"), CheckStatus::kFail);
  EXPECT_NE(o.report.check("annotations")->detail.find("not a verified seal's"), std::string::npos)
      << o.report.check("annotations")->detail;
  EXPECT_EQ(o.doc("rendering"), CheckStatus::kFail);
}

// DocMDP P=1 (ISO 32000-1 §12.8.2.2 Table 254): even a new signature field — form filling,
// which P=2 allows — is a forbidden change.
TEST_F(VerifyCorpus, NewSignatureFieldOnP1CertificationIsModified) {
  const Outcome o = verify(add_white_sig_widget(*valid_p1_, pdf::Array{200, 90.5, 260, 150.5}));
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("modifications").find("not allowed by DocMDP P=1"), std::string::npos)
      << o.sig_detail("modifications");
  for (const auto& c : o.report.signatures[0].changes) EXPECT_FALSE(c.allowed);
  // A SIGNED new seal is form filling: refused at P=1, allowed at P=2.
  FieldSpec f;
  f.rect = pdf::Array{200, 90.5, 260, 150.5};
  const Outcome p1 = verify(add_signed_field(*valid_p1_, seal_of("approval"), f));
  EXPECT_EQ(p1.report.result, Verdict::kModified) << p1.report.to_text();
  bool form_filling = false;
  for (const auto& c : p1.report.signatures[0].changes)
    form_filling = form_filling || (c.kind == libcert::ChangeClass::kFormFilling && !c.allowed);
  EXPECT_TRUE(form_filling) << p1.report.to_text();
  const Outcome ok = verify(add_signed_field(*valid_p2_, seal_of("approval"), f));
  EXPECT_EQ(ok.report.result, Verdict::kValid) << ok.report.to_text();
}

// Incremental Saving Attack with a new catalog: the trailer's /Root points to another object.
TEST_F(VerifyCorpus, AppendedNewCatalogIsModified) {
  const auto doc = pdf::Document::open(*valid_p2_);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref cat = up.allocate();
  pdf::Dict c = doc.catalog();
  c.set("PageMode", pdf::Name{"UseOutlines"});
  up.set(cat, pdf::Object(c));
  std::string bytes = up.write().pdf;
  // The writer copies /Root from the previous trailer; point the new trailer at the new catalog
  // (the trailer follows the xref section, so startxref stays right).
  const std::string old_root = "/Root " + std::to_string(doc.catalog_ref().num) + " 0 R";
  const auto t = bytes.rfind(old_root);
  ASSERT_NE(t, std::string::npos);
  ASSERT_GT(t, valid_p2_->size());
  bytes.replace(t, old_root.size(), "/Root " + std::to_string(cat.num) + " 0 R");
  const Outcome o = verify(bytes);
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
  bool found = false;
  for (const auto& ch : o.report.signatures[0].changes)
    found = found || (ch.object == "trailer" &&
                      ch.description.find("trailer /Root changed") != std::string::npos);
  EXPECT_TRUE(found) << o.report.to_text();
}

// Signature Wrapping.
TEST_F(VerifyCorpus, ByteRangeWithMovedGapIsInvalid) {
  const SigPos p = sig_pos(*valid_p1_);
  const auto size = static_cast<std::int64_t>(valid_p1_->size());
  const auto a = static_cast<std::int64_t>(p.ct_pos), b = static_cast<std::int64_t>(p.ct_end);
  const Outcome o = verify(with_byte_range(*valid_p1_, a - 40, b - 40, size - b + 40));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.sig("byte-range"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("byte-range").find("is not this signature's /Contents string"),
            std::string::npos)
      << o.sig_detail("byte-range");
}

TEST_F(VerifyCorpus, ByteRangeWithWidenedGapIsInvalid) {
  const SigPos p = sig_pos(*valid_p1_);
  const auto size = static_cast<std::int64_t>(valid_p1_->size());
  const auto a = static_cast<std::int64_t>(p.ct_pos), b = static_cast<std::int64_t>(p.ct_end);
  const Outcome o = verify(with_byte_range(*valid_p1_, a - 20, b + 20, size - b - 20));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.sig("byte-range"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("byte-range").find("is not this signature's /Contents string"),
            std::string::npos);
}

TEST_F(VerifyCorpus, ByteRangeNotReachingTheEndIsInvalid) {
  const SigPos p = sig_pos(*valid_p1_);
  const auto size = static_cast<std::int64_t>(valid_p1_->size());
  const auto a = static_cast<std::int64_t>(p.ct_pos), b = static_cast<std::int64_t>(p.ct_end);
  const Outcome o = verify(with_byte_range(*valid_p1_, a, b, size - b - 30));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.sig("byte-range"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("byte-range").find("not the end of any revision"), std::string::npos)
      << o.sig_detail("byte-range");
}

TEST_F(VerifyCorpus, ByteRangeOutsideFileAndOfWrongShapeIsInvalid) {
  const SigPos p = sig_pos(*valid_p1_);
  const auto a = static_cast<std::int64_t>(p.ct_pos), b = static_cast<std::int64_t>(p.ct_end);
  Outcome o = verify(with_byte_range(*valid_p1_, a, b, 99999999));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_NE(o.sig_detail("byte-range").find("points outside the file"), std::string::npos);
  o = verify(overwrite(*valid_p1_, p.br_pos, p.br_end,
                       "[0 " + std::to_string(a) + " " + std::to_string(b) + "]"));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_NE(o.sig_detail("byte-range").find("exactly four integers"), std::string::npos);
  o = verify(overwrite(*valid_p1_, p.br_pos, p.br_end, "null"));
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.sig_detail("byte-range"), "/ByteRange is missing or null");
}

// Universal Signature Forgery: /Contents emptied, nulled, of the wrong type.
TEST_F(VerifyCorpus, ContentsEmptiedNulledOrOfWrongTypeIsInvalid) {
  const SigPos p = sig_pos(*valid_p1_);
  const std::map<std::string, std::string> cases = {
      {"<>", "/Contents is empty"},
      {"null", "/Contents is missing or null"},
      {"/Contents", "/Contents is a name, not a hex string"},
      {"0", "/Contents is a integer, not a hex string"},
  };
  for (const auto& [replacement, detail] : cases) {
    const Outcome o = verify(overwrite(*valid_p1_, p.ct_pos, p.ct_end, replacement));
    EXPECT_EQ(o.report.result, Verdict::kInvalid) << replacement;
    EXPECT_EQ(o.sig("contents"), CheckStatus::kFail) << replacement;
    EXPECT_EQ(o.sig_detail("contents").substr(0, 18), detail.substr(0, 18))
        << replacement << ": " << o.sig_detail("contents");
    EXPECT_EQ(o.report.signatures[0].check("digest"), nullptr);  // never reached
  }
}

class BadKeys : public VerifyCorpus {
 protected:
  static void SetUpTestSuite() {
    VerifyCorpus::SetUpTestSuite();
    dir_ = new testsupport::TempDir();
    const auto r = testsupport::run(
        "sh " + shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/data/make-bad-keys.sh") +
        " " + shell_quote((*dir_ / "bad").string()) + " " + shell_quote(kKeys));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    VerifyCorpus::TearDownTestSuite();
  }
  static std::string bad(const std::string& name) { return (*dir_ / ("bad/" + name)).string(); }
  static testsupport::TempDir* dir_;
};
testsupport::TempDir* BadKeys::dir_ = nullptr;

TEST_F(BadKeys, SealNotChainedToTheRootIsUnknownSigner) {
  const libcert::PemFileSigner s(bad("unchained/seal.key"), bad("unchained/seal.crt"));
  const Outcome o = verify(seal(*unsigned_, s, 1));
  EXPECT_EQ(o.report.result, Verdict::kUnknownSigner) << o.report.to_text();
  EXPECT_EQ(o.sig("chain"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("chain").find("does not chain to a trusted seal root"), std::string::npos);
  EXPECT_EQ(o.sig("digest"), CheckStatus::kPass);
  EXPECT_EQ(o.sig("signature"), CheckStatus::kPass);
}

TEST_F(BadKeys, CertificateUsedAfterItsValidityIsInvalid) {
  const libcert::PemFileSigner s(bad("expired/seal.key"), bad("expired/seal.crt"));
  const Outcome o = verify(seal(*unsigned_, s, 1));
  EXPECT_EQ(o.report.result, Verdict::kInvalid) << o.report.to_text();
  EXPECT_EQ(o.sig("validity-at-signing-time"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("validity-at-signing-time")
                .find("signing time 2026-01-01T00:00:00Z is after the certificate's notAfter"),
            std::string::npos)
      << o.sig_detail("validity-at-signing-time");
  EXPECT_EQ(o.sig("digest"), CheckStatus::kPass);
}

TEST_F(BadKeys, SealCertificateWithoutSigningKeyUsageIsInvalid) {
  // A certificate from the example root whose keyUsage is keyEncipherment only (openssl CLI).
  const std::string d = (*dir_ / "ku").string();
  const auto r = testsupport::run(
      "mkdir -p " + shell_quote(d) + " && cd " + shell_quote(d) +
      " && openssl ecparam -name prime256v1 -genkey -noout -out seal.key"
      " && openssl req -new -key seal.key -subj '/O=KU test/CN=KU test' -out seal.csr"
      " && printf 'keyUsage=critical,keyEncipherment\\n' > ext.cnf"
      " && openssl x509 -req -in seal.csr -CA " +
      shell_quote(kKeys + "/root/root.crt") + " -CAkey " + shell_quote(kKeys + "/root/root.key") +
      " -set_serial 4242 -days 3650 -extfile ext.cnf -out seal.crt");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const libcert::PemFileSigner s(d + "/seal.key", d + "/seal.crt");
  const Outcome o = verify(seal(*unsigned_, s, 1));
  EXPECT_EQ(o.report.result, Verdict::kInvalid) << o.report.to_text();
  EXPECT_EQ(o.sig("key-usage"), CheckStatus::kFail);
  EXPECT_EQ(o.sig("chain"), CheckStatus::kPass);
}

TEST_F(VerifyCorpus, TwoSealsOnP2CertificationAreValid) {
  const std::string twice =
      seal(*valid_p2_, seal_of("approval"), 2, libcert::SealKind::kApproval, 260);
  const Outcome o = verify(twice);
  ASSERT_EQ(o.report.result, Verdict::kValid) << o.report.to_text();
  ASSERT_EQ(o.report.signatures.size(), 2u);
  const auto& first = o.report.signatures[0];
  const auto& second = o.report.signatures[1];
  EXPECT_EQ(first.field_name, "Seal1");
  EXPECT_EQ(first.docmdp_p, 2);
  EXPECT_FALSE(first.covers_whole_file);
  EXPECT_EQ(second.field_name, "Seal2");
  EXPECT_FALSE(second.docmdp_p.has_value());
  EXPECT_TRUE(second.covers_whole_file);
  EXPECT_NE(first.department, second.department);
  ASSERT_FALSE(first.changes.empty());
  for (const auto& c : first.changes) {
    EXPECT_EQ(c.kind, libcert::ChangeClass::kFormFilling) << c.object << " " << c.description;
    EXPECT_TRUE(c.allowed);
  }
  EXPECT_EQ(o.doc("rendering"), CheckStatus::kPass) << o.report.check("rendering")->detail;
  EXPECT_EQ(o.doc("annotations"), CheckStatus::kPass) << o.report.check("annotations")->detail;
  EXPECT_EQ(o.report.to_json()["signatures"].size(), 2u);
}

TEST_F(VerifyCorpus, UnsignedAndGarbageInputAreInvalidNotCrashes) {
  Outcome o = verify(*unsigned_);
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.doc("signatures-present"), CheckStatus::kFail);
  o = verify("not a pdf at all");
  EXPECT_EQ(o.report.result, Verdict::kInvalid);
  EXPECT_EQ(o.doc("structure"), CheckStatus::kFail);
  // Every truncation of a sealed licence is a clear result, never a crash or an exception.
  for (std::size_t cut = 0; cut < valid_p1_->size(); cut += 997) {
    o = verify(valid_p1_->substr(0, cut));
    EXPECT_NE(o.report.result, Verdict::kValid) << cut;
  }
  libcert::VerifyOptions small;
  small.max_file_size = 1000;
  const auto r = libcert::verify_pdf(*valid_p1_, trust_, small);
  EXPECT_EQ(r.result, Verdict::kIndeterminate);  // a limit reached decides nothing
  ASSERT_NE(r.check("limits"), nullptr);
  EXPECT_EQ(r.check("limits")->status, CheckStatus::kFail);
}

TEST_F(VerifyCorpus, UntrustedWhenTrustStoreHasAnotherRoot) {
  libcert::TrustStore empty;
  libcert::VerifyOptions o;
  o.clock = &clock_;
  const auto r = libcert::verify_pdf(*valid_p1_, empty, o);
  EXPECT_EQ(r.result, Verdict::kUnknownSigner);
  EXPECT_EQ(r.signatures.at(0).check("chain")->status, CheckStatus::kFail);
}

// Seal key state from the service (issue 7): a key revoked with compromised_at before the
// signing time gives REVOKED. After it, a B-B seal is REVOKED too: its /M is only a claim that a
// thief could backdate (issue 19; the B-T cases are in verify_bt_test.cpp).
TEST_F(VerifyCorpus, RevokedSealKeyInvalidatesFromCompromiseTime) {
  struct Dir : libcert::SealKeyDirectory {
    std::int64_t compromised;
    explicit Dir(std::int64_t t) : compromised(t) {}
    std::optional<libcert::SealKeyState> lookup(std::string_view) const override {
      return libcert::SealKeyState{"v1", libcert::SealKeyState::State::kRevoked, compromised,
                                   std::nullopt, std::nullopt};
    }
  };
  libcert::VerifyOptions o;
  o.clock = &clock_;
  const Dir before(kSealTime - 1), after(kSealTime + 1);
  o.keys = &before;
  auto r = libcert::verify_pdf(*valid_p1_, trust_, o);
  EXPECT_EQ(r.result, Verdict::kRevoked);
  EXPECT_EQ(r.signatures[0].check("key-state")->status, CheckStatus::kFail);
  EXPECT_EQ(r.signatures[0].key_version, "v1");
  o.keys = &after;
  r = libcert::verify_pdf(*valid_p1_, trust_, o);
  EXPECT_EQ(r.result, Verdict::kRevoked) << r.to_text();
  EXPECT_EQ(r.signatures[0].key_state, "revoked");
  EXPECT_NE(r.signatures[0].check("key-state")->detail.find("no time-stamp proves"),
            std::string::npos)
      << r.to_text();
}


// ---- issue 16: the change policy as a whitelist of exact changes --------------------------------
// Every class of "What was seen" 1, 2, 3 and 7 at P=1, P=2 and on an approval-only licence, each
// asserting the verdict and the failing check.

class ChangePolicy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string unsigned_pdf = with_xmp(cairo_licence(), "Holder Co");
    for (Licence l : {Licence::kP1, Licence::kP2, Licence::kApprovalOnly})
      (*licences_)[l] = seal_licence(unsigned_pdf, l);
  }
  void SetUp() override { trust_.add_path(kKeys + "/root/root.crt"); }

  Outcome verify(const std::string& bytes) const {
    libcert::VerifyOptions o;
    o.clock = &clock_;
    o.keys = &example_seal_states();  // the trust data: key states from the example bundle
    Outcome out{libcert::verify_pdf(bytes, trust_, o)};
    EXPECT_FALSE(out.report.to_json().dump().empty());
    return out;
  }
  static const std::string& licence(Licence l) { return licences_->at(l); }
  static constexpr Licence kAll[] = {Licence::kP1, Licence::kP2, Licence::kApprovalOnly};

  // The first change of signature 0 that is "other" and not allowed, or nullptr.
  static const libcert::Change* first_other(const Outcome& o) {
    for (const auto& c : o.report.signatures.at(0).changes)
      if (c.kind == libcert::ChangeClass::kOther && !c.allowed) return &c;
    return nullptr;
  }
  static bool has_other(const Outcome& o, const std::string& object, const std::string& text) {
    for (const auto& c : o.report.signatures.at(0).changes)
      if (c.kind == libcert::ChangeClass::kOther && !c.allowed && c.object == object &&
          c.description.find(text) != std::string::npos)
        return true;
    return false;
  }

  static std::map<Licence, std::string>* licences_;
  libcert::TrustStore trust_;
  libcert::FixedClock clock_{kVerifyTime};
};
std::map<Licence, std::string>* ChangePolicy::licences_ = new std::map<Licence, std::string>();

std::string ref_text(pdf::Ref r) { return std::to_string(r.num) + " " + std::to_string(r.gen) + " R"; }

TEST_F(ChangePolicy, GenuineLicencesAreValid) {
  for (Licence l : kAll) {
    const Outcome o = verify(licence(l));
    EXPECT_EQ(o.report.result, Verdict::kValid) << to_string(l) << o.report.to_text();
  }
}

// Seen 1: objects changed in an update that lists them under a new /DSS.
TEST_F(ChangePolicy, ChangesListedUnderDssAreModified) {
  for (Licence l : kAll) {
    for (const auto& a : dss_smuggles()) {
      SCOPED_TRACE(std::string(to_string(l)) + " " + a.name);
      const auto doc = pdf::Document::open(licence(l));
      const Changed changed = a.make(doc);
      ASSERT_FALSE(changed.empty());
      const Outcome o = verify(dss_update(licence(l), changed));
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
      EXPECT_EQ(o.sig("digest"), CheckStatus::kPass);
      // The smuggled object itself is named as an unexplained change, and the DSS is refused.
      bool named = false;
      for (const auto& c : o.report.signatures[0].changes)
        named = named || (c.kind == libcert::ChangeClass::kOther && !c.allowed &&
                          c.object == ref_text(changed.front().first));
      EXPECT_TRUE(named) << o.report.to_text();
      EXPECT_NE(o.sig_detail("modifications").find("not allowed"), std::string::npos);
    }
  }
}

TEST_F(ChangePolicy, DssDescriptionsNameWhatChanged) {
  const std::string& l = licence(Licence::kP1);
  const auto doc = pdf::Document::open(l);
  Outcome o = verify(dss_update(l, xmp_changed(doc)));
  EXPECT_TRUE(has_other(o, ref_text(xmp_changed(doc).front().first), "XMP metadata"))
      << o.report.to_text();
  o = verify(dss_update(l, page_content_changed(doc)));
  EXPECT_TRUE(has_other(o, ref_text(page_content_changed(doc).front().first),
                        "content stream of page 1"))
      << o.report.to_text();
  EXPECT_EQ(o.doc("rendering"), CheckStatus::kFail);
  o = verify(dss_update(l, seal_widget_action(doc, true)));
  EXPECT_TRUE(has_other(o, "catalog", "") || first_other(o) != nullptr);
  EXPECT_NE(o.sig_detail("modifications").find("/DSS /Certs"), std::string::npos)
      << o.sig_detail("modifications");
  // The path of an unexplained object is named.
  o = verify(dss_update(l, tounicode_changed(doc)));
  bool path = false;
  for (const auto& c : o.report.signatures[0].changes)
    path = path || c.description.find("/ToUnicode") != std::string::npos;
  EXPECT_TRUE(path) << o.report.to_text();
}

// A genuine DSS update (validation data as new plain streams) is allowed at every level, and a
// document-timestamp-shaped update (B-LTA) too.
TEST_F(ChangePolicy, GenuineDssAndDocTimestampUpdatesStayAllowed) {
  for (Licence l : kAll) {
    SCOPED_TRACE(to_string(l));
    const std::string dss = dss_update(licence(l));
    Outcome o = verify(dss);
    EXPECT_EQ(o.report.result, Verdict::kValid) << o.report.to_text();
    ASSERT_FALSE(o.report.signatures[0].changes.empty());
    for (const auto& c : o.report.signatures[0].changes) {
      EXPECT_EQ(c.kind, libcert::ChangeClass::kLtaUpdate) << c.object << ": " << c.description;
      EXPECT_TRUE(c.allowed);
    }
    // B-LTA: DSS, then a document timestamp.
    o = verify(add_doc_timestamp(dss));
    EXPECT_EQ(o.report.result, Verdict::kValid) << o.report.to_text();
    EXPECT_EQ(o.sig("modifications"), CheckStatus::kPass) << o.sig_detail("modifications");
    ASSERT_EQ(o.report.signatures.size(), 2u);
    const auto& ts = o.report.signatures[1];
    EXPECT_TRUE(ts.doc_timestamp);
    EXPECT_EQ(ts.result, Verdict::kValid);  // its RFC 3161 token verifies (issue 19)
    ASSERT_NE(ts.check("timestamp-token"), nullptr);
    EXPECT_EQ(ts.check("timestamp-token")->status, CheckStatus::kPass);
    EXPECT_EQ(ts.check("byte-range")->status, CheckStatus::kPass);
  }
}

TEST_F(ChangePolicy, DocTimestampMustCoverTheFileUpToItsContents) {
  std::string ts = add_doc_timestamp(licence(Licence::kP1));
  const SigPos p = sig_pos(ts, 1);
  const auto size = static_cast<std::int64_t>(ts.size());
  ts = overwrite(ts, p.br_pos, p.br_end,
                 "[0 " + std::to_string(p.ct_pos) + " " + std::to_string(p.ct_end) + " " +
                     std::to_string(size - static_cast<std::int64_t>(p.ct_end) - 40) + "]");
  const Outcome o = verify(ts);
  EXPECT_EQ(o.report.result, Verdict::kInvalid) << o.report.to_text();
  ASSERT_EQ(o.report.signatures.size(), 2u);
  EXPECT_EQ(o.sig("byte-range", 1), CheckStatus::kFail) << o.report.to_text();
}

// A DSS update that changes a stream an earlier DSS added, or drops one, is not a superset.
TEST_F(ChangePolicy, DssChangingOrDroppingEarlierDataIsModified) {
  for (Licence l : kAll) {
    SCOPED_TRACE(to_string(l));
    const std::string dss = dss_update(licence(l));
    const auto doc = pdf::Document::open(dss);
    const pdf::Object d = doc.resolve(doc.catalog().get("DSS"));
    const pdf::Ref cert = d.as_dict().get("Certs")->as_array().at(0).as_ref();
    // (a) the certificate stream rewritten
    {
      pdf::IncrementalUpdate up(doc);
      pdf::Stream s;
      s.data = "not the certificate any more";
      up.set(cert, pdf::Object(std::move(s)));
      const Outcome o = verify(up.write().pdf);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
      EXPECT_TRUE(has_other(o, ref_text(cert), "")) << o.report.to_text();
    }
    // (b) the certificate dropped from /Certs
    {
      pdf::IncrementalUpdate up(doc);
      pdf::Object nd = d;
      nd.as_dict().set("Certs", pdf::Object(pdf::Array{}));
      up.set(doc.catalog().get("DSS")->as_ref(), nd);
      const Outcome o = verify(up.write().pdf);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_NE(o.sig_detail("modifications").find("removed"), std::string::npos)
          << o.sig_detail("modifications");
    }
    // (c) a DSS stream that is not plain (a dictionary key smuggled in)
    {
      const auto base = pdf::Document::open(licence(l));
      pdf::IncrementalUpdate up(base);
      const pdf::Ref s = up.allocate();
      pdf::Stream st;
      st.dict.set("Subtype", pdf::Name{"Form"});
      st.data = "0 0 1 rg 0 0 600 800 re f";
      up.set(s, pdf::Object(std::move(st)));
      pdf::Dict dd;
      dd.set("Certs", pdf::Array{pdf::Object(s)});
      pdf::Dict cat = base.catalog();
      cat.set("DSS", pdf::Object(dd));
      up.set(base.catalog_ref(), pdf::Object(cat));
      const Outcome o = verify(up.write().pdf);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_NE(o.sig_detail("modifications").find("plain streams"), std::string::npos)
          << o.sig_detail("modifications");
    }
  }
}

// Seen 2: the trailer's /Info retargeted to a new object, or to an existing dictionary that is
// then changed; and the information dictionary changed in place.
TEST_F(ChangePolicy, InfoRetargetedOrChangedIsModified) {
  for (Licence l : kAll) {
    SCOPED_TRACE(to_string(l));
    const std::string& sealed = licence(l);
    const auto doc = pdf::Document::open(sealed);
    const pdf::Ref info = doc.trailer().get("Info")->as_ref();
    // (a) to a new object
    {
      pdf::IncrementalUpdate up(doc);
      const pdf::Ref ni = up.allocate();
      pdf::Dict d = doc.object(info).as_dict();
      d.set("Title", pdf::String{"Licence of Another Holder Ltd", false});
      up.set(ni, pdf::Object(d));
      const std::string bad = retarget_trailer(up.write().pdf, sealed.size(), "Info", info.num,
                                               ni.num);
      const Outcome o = verify(bad);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
      EXPECT_TRUE(has_other(o, "trailer", "trailer /Info changed")) << o.report.to_text();
    }
    // (b) to an existing dictionary (the seal widget), which the same update changes
    {
      const pdf::Ref w = first_field(doc);
      pdf::IncrementalUpdate up(doc);
      pdf::Object wo = doc.object(w);
      wo.as_dict().set("Title", pdf::String{"Another Holder Ltd", false});
      up.set(w, wo);
      const std::string bad = retarget_trailer(up.write().pdf, sealed.size(), "Info", info.num,
                                               w.num);
      const Outcome o = verify(bad);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_TRUE(has_other(o, "trailer", "trailer /Info changed")) << o.report.to_text();
      EXPECT_TRUE(has_other(o, ref_text(w), "")) << o.report.to_text();
    }
    // (c) changed in place
    {
      pdf::IncrementalUpdate up(doc);
      pdf::Dict d = doc.object(info).as_dict();
      d.set("Title", pdf::String{"Licence of Another Holder Ltd", false});
      up.set(info, pdf::Object(d));
      const Outcome o = verify(up.write().pdf);
      EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
      EXPECT_TRUE(has_other(o, ref_text(info), "document information dictionary"))
          << o.report.to_text();
    }
  }
}

// Seen 3: an empty signature field whose widget paints over the holder's name.
TEST_F(ChangePolicy, EmptyFieldOverTheHoldersNameIsModified) {
  for (Licence l : kAll) {
    SCOPED_TRACE(to_string(l));
    const Outcome o = verify(
        add_empty_sig_field(licence(l), pdf::Array{kNameX1, kNameY1, kNameX2, kNameY2}));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
    EXPECT_NE(o.sig_detail("modifications").find("an empty (unsigned) signature field"),
              std::string::npos)
        << o.sig_detail("modifications");
    EXPECT_EQ(o.doc("annotations"), CheckStatus::kFail);
    EXPECT_EQ(o.doc("rendering"), CheckStatus::kFail);  // its pixels are compared
    ASSERT_EQ(o.report.signatures.size(), 1u);
  }
}

// Seen 3: a second field pointing at the genuine signature dictionary, listed first.
TEST_F(ChangePolicy, SecondFieldOnTheGenuineSignatureIsNotASecondSignature) {
  for (Licence l : kAll) {
    SCOPED_TRACE(to_string(l));
    const Outcome o = verify(add_field_on_genuine_sig(licence(l)));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    ASSERT_EQ(o.report.signatures.size(), 1u) << o.report.to_text();
    EXPECT_EQ(o.report.signatures[0].field_name, "Seal1");
    EXPECT_EQ(o.doc("signature-fields"), CheckStatus::kFail);
    EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
    EXPECT_NE(o.sig_detail("modifications").find("points at an existing object"),
              std::string::npos)
        << o.sig_detail("modifications");
  }
}

// A new, genuinely signed seal whose widget carries an action, or is print-only, or covers more
// than a seal slot: refused at P=2 and on approval-only licences (P=1 refuses any new seal).
TEST_F(ChangePolicy, NewSealWidgetWithActionOrOddPlacementIsModified) {
  for (Licence l : {Licence::kP2, Licence::kApprovalOnly}) {
    SCOPED_TRACE(to_string(l));
    FieldSpec genuine;
    Outcome o = verify(add_signed_field(licence(l), seal_of("approval"), genuine));
    EXPECT_EQ(o.report.result, Verdict::kValid) << o.report.to_text();
    ASSERT_EQ(o.report.signatures.size(), 2u);
    EXPECT_EQ(o.doc("rendering"), CheckStatus::kPass);

    FieldSpec js;
    pdf::Dict a;
    a.set("S", pdf::Name{"JavaScript"});
    a.set("JS", pdf::String{"app.alert(1)", false});
    js.widget_extra.set("A", pdf::Object(a));
    o = verify(add_signed_field(licence(l), seal_of("approval"), js));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_NE(o.sig_detail("modifications").find("has /A (an action"), std::string::npos)
        << o.sig_detail("modifications");

    FieldSpec uri;
    pdf::Dict u;
    u.set("S", pdf::Name{"URI"});
    u.set("URI", pdf::String{"https://evil.example", false});
    pdf::Dict aa;
    aa.set("E", pdf::Object(u));
    uri.widget_extra.set("AA", pdf::Object(aa));
    o = verify(add_signed_field(licence(l), seal_of("approval"), uri));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_NE(o.sig_detail("modifications").find("has /AA"), std::string::npos);

    FieldSpec print_only;
    print_only.widget_extra.set("F", pdf::Object(4 | 32));
    o = verify(add_signed_field(licence(l), seal_of("approval"), print_only));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_NE(o.sig_detail("modifications").find("annotation flags /F 36"), std::string::npos)
        << o.sig_detail("modifications");

    FieldSpec big;
    big.rect = pdf::Array{0, 0, 595, 400};
    o = verify(add_signed_field(licence(l), seal_of("approval"), big));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_NE(o.sig_detail("modifications").find("more than 10% of its page"), std::string::npos)
        << o.sig_detail("modifications");

    FieldSpec over_seal;
    over_seal.rect = pdf::Array{kSealX + 10, kSealY + 10, kSealX + 70, kSealY + 70};
    o = verify(add_signed_field(licence(l), seal_of("approval"), over_seal));
    EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
    EXPECT_NE(o.sig_detail("modifications").find("overlaps an annotation"), std::string::npos)
        << o.sig_detail("modifications");
  }
}

// Seen 7: a later signature with a DocMDP transform that the catalog's /Perms does not name is
// an approval signature, not the certification.
TEST_F(ChangePolicy, LaterDocMdpSignatureWithoutPermsIsNotTheCertification) {
  FieldSpec f;
  f.sig_extra.set("Reference", pdf::Object(docmdp_reference(1)));
  Outcome o = verify(add_signed_field(licence(Licence::kApprovalOnly), seal_of("approval"), f));
  EXPECT_FALSE(o.report.certification_p.has_value()) << o.report.to_text();
  ASSERT_EQ(o.report.signatures.size(), 2u);
  EXPECT_FALSE(o.report.signatures[1].docmdp_p.has_value());
  ASSERT_NE(o.report.signatures[1].check("docmdp"), nullptr);
  EXPECT_EQ(o.report.signatures[1].check("docmdp")->status, CheckStatus::kWarn);
  EXPECT_EQ(o.report.to_json()["signatures"][1]["kind"], "approval");
  // On a P=2 licence the certification stays Seal1's.
  o = verify(add_signed_field(licence(Licence::kP2), seal_of("approval"), f));
  EXPECT_EQ(o.report.certification_p, 2) << o.report.to_text();
  EXPECT_EQ(o.report.signatures[0].docmdp_p, 2);
  EXPECT_FALSE(o.report.signatures[1].docmdp_p.has_value());
}

}  // namespace
