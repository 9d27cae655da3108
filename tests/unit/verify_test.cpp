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

// An update adding an empty signature field (form filling) whose widget at `rect` has an
// appearance that paints its rectangle white.
std::string add_white_sig_widget(const std::string& sealed, const pdf::Array& rect) {
  const auto doc = pdf::Document::open(sealed);
  const pdf::Ref page_ref = doc.page_ref(0);
  pdf::Object page = doc.object(page_ref);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref ap = up.allocate();
  const pdf::Ref widget = up.allocate();
  pdf::Stream appearance;
  appearance.dict.set("Type", pdf::Name{"XObject"});
  appearance.dict.set("Subtype", pdf::Name{"Form"});
  appearance.dict.set("BBox", rect);
  appearance.data = "1 1 1 rg 0 0 2000 2000 re f";
  up.set(ap, pdf::Object(std::move(appearance)));
  pdf::Dict w;
  w.set("Type", pdf::Name{"Annot"});
  w.set("Subtype", pdf::Name{"Widget"});
  w.set("FT", pdf::Name{"Sig"});
  w.set("T", pdf::String{"Seal9", false});
  w.set("F", 4);
  w.set("P", page_ref);
  w.set("Rect", rect);
  pdf::Dict apd;
  apd.set("N", ap);
  w.set("AP", apd);
  up.set(widget, pdf::Object(std::move(w)));
  // Append the widget to the page's /Annots and the field to /AcroForm /Fields.
  const pdf::Object* annots = page.as_dict().get("Annots");
  if (annots->is(pdf::Kind::kRef)) {
    pdf::Object arr = doc.resolve(annots);
    arr.as_array().emplace_back(widget);
    up.set(annots->as_ref(), arr);
  } else {
    pdf::Array arr = annots->as_array();
    arr.emplace_back(widget);
    page.as_dict().set("Annots", pdf::Object(arr));
    up.set(page_ref, page);
  }
  const pdf::Ref cat_ref = doc.catalog_ref();
  pdf::Dict cat = doc.catalog();
  const pdf::Object* af = cat.get("AcroForm");
  if (af->is(pdf::Kind::kRef)) {
    pdf::Object form = doc.resolve(af);
    pdf::Object fields = doc.resolve(form.as_dict().get("Fields"));
    fields.as_array().emplace_back(widget);
    form.as_dict().set("Fields", fields);
    up.set(af->as_ref(), form);
  } else {
    pdf::Dict form = af->as_dict();
    pdf::Array fields = doc.resolve(form.get("Fields")).as_array();
    fields.emplace_back(widget);
    form.set("Fields", pdf::Object(fields));
    cat.set("AcroForm", pdf::Object(form));
    up.set(cat_ref, pdf::Object(cat));
  }
  return up.write().pdf;
}

class VerifyCorpus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsigned_ = new std::string(cairo_licence());
    const auto samr = seal_of("samr");
    valid_p1_ = new std::string(seal(*unsigned_, samr, 1));
    valid_p2_ = new std::string(seal(*unsigned_, samr, 2));
    keys_ =
        new libcert::BundleSealKeys(libcert::TrustBundle::parse(example_bundle(), example_pins()));
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete unsigned_;
    delete valid_p1_;
    delete valid_p2_;
  }
  void SetUp() override { trust_.add_path(kKeys + "/root/root.crt"); }

  Outcome verify(const std::string& bytes) const {
    libcert::VerifyOptions o;
    o.clock = &clock_;
    o.keys = keys_;  // the trust data: key states from the example trust bundle
    Outcome out{libcert::verify_pdf(bytes, trust_, o)};
    // Every report must serialise (hostile strings included).
    EXPECT_FALSE(out.report.to_json().dump().empty());
    EXPECT_FALSE(out.report.to_text().empty());
    return out;
  }

  static std::string* unsigned_;
  static std::string* valid_p1_;
  static std::string* valid_p2_;
  static libcert::BundleSealKeys* keys_;
  libcert::TrustStore trust_;
  libcert::FixedClock clock_{kVerifyTime};
};
std::string* VerifyCorpus::unsigned_ = nullptr;
std::string* VerifyCorpus::valid_p1_ = nullptr;
std::string* VerifyCorpus::valid_p2_ = nullptr;
libcert::BundleSealKeys* VerifyCorpus::keys_ = nullptr;

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

// Shadow attack (hide): a new, empty signature field — form filling, which P=2 allows — whose
// widget appearance paints the whole page white. The difference analysis allows the change; the
// rendered comparison does not.
TEST_F(VerifyCorpus, ShadowOverlayWidgetIsCaughtByRendering) {
  const std::string bad = add_white_sig_widget(*valid_p2_, pdf::Array{0, 0, 596, 842});
  const Outcome o = verify(bad);
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kPass) << o.sig_detail("modifications");
  EXPECT_EQ(o.doc("annotations"), CheckStatus::kFail);
  EXPECT_NE(o.report.check("annotations")->detail.find("a new widget covers"), std::string::npos)
      << o.report.check("annotations")->detail;
  EXPECT_EQ(o.doc("rendering"), CheckStatus::kPass);  // only inside the (too large) widget
}

// DocMDP P=1 (ISO 32000-1 §12.8.2.2 Table 254): even a new signature field — form filling,
// which P=2 allows — is a forbidden change.
TEST_F(VerifyCorpus, NewSignatureFieldOnP1CertificationIsModified) {
  const Outcome o = verify(add_white_sig_widget(*valid_p1_, pdf::Array{200, 90.5, 260, 150.5}));
  EXPECT_EQ(o.report.result, Verdict::kModified) << o.report.to_text();
  EXPECT_EQ(o.sig("modifications"), CheckStatus::kFail);
  EXPECT_NE(o.sig_detail("modifications").find("not allowed by DocMDP P=1"), std::string::npos)
      << o.sig_detail("modifications");
  for (const auto& c : o.report.signatures[0].changes) {
    EXPECT_EQ(c.kind, libcert::ChangeClass::kFormFilling) << c.object << ": " << c.description;
    EXPECT_FALSE(c.allowed);
  }
  // The same update on a P=2 certification is allowed and renders the same outside the widget.
  const Outcome ok = verify(add_white_sig_widget(*valid_p2_, pdf::Array{200, 90.5, 260, 150.5}));
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
    found = found || ch.description.find("trailer /Root now points to a different catalog") !=
                         std::string::npos;
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
  EXPECT_EQ(r.result, Verdict::kInvalid);
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
// signing time gives REVOKED; after it, it does not.
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
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
  EXPECT_EQ(r.signatures[0].key_state, "revoked");
}

}  // namespace
