// Hostile PDFs (issue 10): each resource limit of the reader and the verifier, hit by a file
// generated here, gives a clear verification result (verdict INVALID or not VALID, the check that
// failed and a message naming the limit) in bounded time: never a crash, a hang or an exception.
#include <gtest/gtest.h>
#include <time.h>
#include <zlib.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/pdf.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "support/attack_corpus.h"

namespace pdf = libcert::pdf;
using libcert::CheckStatus;
using libcert::Verdict;

namespace {

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

class HostilePdf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsigned_ = new std::string(attack::cairo_licence());
    sealed_ = new std::string(attack::seal(*unsigned_, attack::seal_of("samr"), 2));
    keys_ = new libcert::BundleSealKeys(
        libcert::TrustBundle::parse(attack::example_bundle(), attack::example_pins()));
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete unsigned_;
    delete sealed_;
  }
  void SetUp() override {
    trust_.add_path(attack::kKeys + "/root/root.crt");
    opts_.clock = &clock_;
    opts_.keys = keys_;  // trust data: without it nothing is VALID
  }

  // Verifies and returns the report; also asserts the call returned within `max_ms` of wall
  // time (a bound on waiting: hangs, render budgets) and, when given, used less than
  // `max_cpu_ms` of this thread's CPU (a bound on the verifier's own work that the machine's load
  // does not move: the sanitizer suites run beside builds).
  libcert::VerificationReport verify(const std::string& bytes, std::int64_t max_ms = 20000,
                                     std::int64_t max_cpu_ms = -1) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_ms();
    auto r = libcert::verify_pdf(bytes, trust_, opts_);
    const double cpu = thread_cpu_ms() - cpu0;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_LT(ms, max_ms) << "verification took " << ms << " ms";
    if (max_cpu_ms >= 0) {
      EXPECT_LT(cpu, static_cast<double>(max_cpu_ms)) << "verification used " << cpu << " ms CPU";
    }
    EXPECT_FALSE(r.to_json().dump().empty());
    return r;
  }
  static std::string detail(const libcert::VerificationReport& r, const std::string& id) {
    const auto* c = r.check(id);
    return c == nullptr ? "(no check " + id + ")" : c->detail;
  }
  static CheckStatus status(const libcert::VerificationReport& r, const std::string& id) {
    const auto* c = r.check(id);
    return c == nullptr ? CheckStatus::kNotChecked : c->status;
  }

  // The sealed licence plus one update that gives page 1 a new content stream `content`
  // (with `filter` if not empty: the data is then already encoded).
  static std::string with_new_content(const std::string& content, const std::string& filter = "") {
    const auto doc = pdf::Document::open(*sealed_);
    const pdf::Ref page_ref = doc.page_ref(0);
    pdf::Object page = doc.object(page_ref);
    pdf::IncrementalUpdate up(doc);
    const pdf::Ref c = up.allocate();
    pdf::Stream s;
    if (!filter.empty()) s.dict.set("Filter", pdf::Name{filter});
    s.data = content;
    up.set(c, pdf::Object(std::move(s)));
    page.as_dict().set("Contents", pdf::Object(c));
    up.set(page_ref, page);
    return up.write().pdf;
  }

  static std::string deflate(const std::string& in) {
    uLongf n = compressBound(static_cast<uLong>(in.size()));
    std::string out(n, '\0');
    EXPECT_EQ(
        compress2(reinterpret_cast<Bytef*>(out.data()), &n,
                  reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()), 9),
        Z_OK);
    out.resize(n);
    return out;
  }

  static std::string* unsigned_;
  static std::string* sealed_;
  static inline libcert::BundleSealKeys* keys_ = nullptr;
  libcert::TrustStore trust_;
  libcert::FixedClock clock_{attack::kVerifyTime};
  libcert::VerifyOptions opts_;
};

std::string* HostilePdf::unsigned_ = nullptr;
std::string* HostilePdf::sealed_ = nullptr;

TEST_F(HostilePdf, TheUnchangedSealIsValid) {
  const auto r = verify(*sealed_);
  EXPECT_EQ(r.result, Verdict::kValid) << r.to_text();
}

// A limit reached decides nothing: INDETERMINATE (never VALID), check "limits" (issue 16).
TEST_F(HostilePdf, FileLargerThanTheLimitIsIndeterminateWithoutParsing) {
  opts_.max_file_size = sealed_->size() - 1;
  const auto r = verify(*sealed_);
  EXPECT_EQ(r.result, Verdict::kIndeterminate);
  EXPECT_EQ(status(r, "limits"), CheckStatus::kFail);
  EXPECT_NE(detail(r, "limits").find("more than the limit " + std::to_string(sealed_->size() - 1)),
            std::string::npos)
      << detail(r, "limits");
  EXPECT_TRUE(r.signatures.empty());
}

TEST_F(HostilePdf, ObjectCountAboveTheLimit) {
  // The trailer claims 3 million objects (the reader's limit is 2 million): rejected before any
  // table of that size is built.
  std::string b = *unsigned_;
  const std::size_t at = b.rfind("/Size ");
  ASSERT_NE(at, std::string::npos);
  const std::size_t end = b.find_first_of(" /\n>", at + 6);
  b.replace(at, end - at, "/Size 3000000");
  const auto r = verify(b);
  EXPECT_EQ(r.result, Verdict::kIndeterminate);
  EXPECT_EQ(status(r, "limits"), CheckStatus::kFail) << r.to_text();
  EXPECT_NE(detail(r, "limits").find("2000000"), std::string::npos) << detail(r, "limits");
}

TEST_F(HostilePdf, NestingDeeperThanTheLimit) {
  // An update whose page dictionary holds 100000 nested arrays (the reader stops at 64 levels,
  // so no recursion can exhaust the stack).
  const auto doc = pdf::Document::open(*sealed_);
  const pdf::Ref page_ref = doc.page_ref(0);
  std::string b = *sealed_;
  pdf::IncrementalUpdate up(doc);
  pdf::Object page = doc.object(page_ref);
  page.as_dict().set("PieceInfo", pdf::Name{"DEEP"});
  up.set(page_ref, page);
  std::string upd = up.write().pdf;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::size_t at = upd.rfind("/DEEP");
  ASSERT_NE(at, std::string::npos);
  // Same length replacement is impossible; the xref offsets of the update stay right because
  // the page object is the last object before the xref table: rebuild the offsets instead.
  upd.replace(at, 5, deep);
  const std::size_t xref = upd.rfind("\nxref\n") + 1;
  const std::size_t sx = upd.rfind("startxref\n") + 10;
  upd.replace(sx, upd.find('\n', sx) - sx, std::to_string(xref));
  const auto r = verify(upd);
  EXPECT_NE(r.result, Verdict::kValid) << r.to_text();
  const std::string all = r.to_text();
  EXPECT_NE(all.find("nesting deeper than 64"), std::string::npos) << all;
}

TEST_F(HostilePdf, StreamLengthPastTheEndOfTheFile) {
  // The update's content stream claims 99999999 bytes. The file keeps its length (6 bytes of the
  // data go where the longer number needs them), so every xref offset stays right.
  const std::string content = "q 0 0 1 rg 0 0 100 100 re f Q";
  std::string b = with_new_content(content);
  const std::string old_len = "/Length " + std::to_string(content.size());
  const std::size_t at = b.rfind(old_len);
  ASSERT_NE(at, std::string::npos);
  const std::size_t data = b.find("stream", at) + 7;
  ASSERT_EQ(b.compare(data, content.size(), content), 0);
  b.erase(data, 6);
  b.replace(at, old_len.size(), "/Length 99999999");
  const auto r = verify(b);
  EXPECT_NE(r.result, Verdict::kValid) << r.to_text();
  const std::string all = r.to_text();
  EXPECT_NE(all.find("/Length 99999999"), std::string::npos) << all;
}

TEST_F(HostilePdf, DecompressionBombStopsAtTheDecodedSizeLimit) {
  // 200 MB of spaces deflate to ~200 KB; the verifier stops inflating at 16 MB.
  const std::string bomb = deflate(std::string(200u << 20, ' '));
  ASSERT_LT(bomb.size(), 1u << 20);
  const std::string b = with_new_content(bomb, "FlateDecode");
  const auto r = verify(b);
  EXPECT_NE(r.result, Verdict::kValid) << r.to_text();
  const std::string all = r.to_text();
  EXPECT_NE(all.find("decoded stream larger than 16777216"), std::string::npos) << all;
}

TEST_F(HostilePdf, XrefPrevCycleIsDetected) {
  // Two updates whose /Prev point at each other: A -> B -> A.
  const std::string one = with_new_content("q Q");
  const auto d1 = pdf::Document::open(one);
  pdf::IncrementalUpdate up(d1);
  up.set(d1.page_ref(0), d1.object(d1.page_ref(0)));
  std::string two = up.write().pdf;
  const std::size_t xref_b = two.rfind("\nxref\n") + 1;
  const std::size_t xref_a = one.rfind("\nxref\n") + 1;
  // Make A's /Prev point at B (B's /Prev already points at A). Same-width replacement: pad.
  const std::size_t prev_a = two.find("/Prev ", xref_a);
  ASSERT_LT(prev_a, xref_b);
  const std::size_t end = two.find_first_of(" />\n", prev_a + 6);
  const std::string old = two.substr(prev_a, end - prev_a);
  std::string repl = "/Prev " + std::to_string(xref_b);
  ASSERT_LE(repl.size(), old.size() + 0) << "offsets grew; cannot patch in place";
  repl.resize(old.size(), ' ');
  two.replace(prev_a, old.size(), repl);
  const auto r = verify(two);
  EXPECT_EQ(r.result, Verdict::kInvalid) << r.to_text();
  EXPECT_EQ(status(r, "structure"), CheckStatus::kFail) << r.to_text();
  EXPECT_NE(detail(r, "structure").find("loops"), std::string::npos) << detail(r, "structure");
}

TEST_F(HostilePdf, TooManyPagesToRenderIsNotChecked) {
  opts_.max_render_pages = 0;
  const auto r = verify(with_new_content("q Q"));
  EXPECT_NE(r.result, Verdict::kValid);
  EXPECT_EQ(status(r, "rendering"), CheckStatus::kNotChecked);
  EXPECT_NE(detail(r, "rendering").find("more than the rendering limit 0"), std::string::npos)
      << detail(r, "rendering");
}

// The sealed licence plus an update whose page 1 paints a form XObject that paints the next one
// `fan_out` times, `levels` deep; the last one fills a `leaf`-point square.
std::string form_bomb(const std::string& sealed, int levels, int fan_out, int leaf) {
  const auto doc = pdf::Document::open(sealed);
  const pdf::Ref page_ref = doc.page_ref(0);
  pdf::Object page = doc.object(page_ref);
  pdf::IncrementalUpdate up(doc);
  std::vector<pdf::Ref> forms;
  for (int i = 0; i < levels; ++i) forms.push_back(up.allocate());
  for (int i = 0; i < levels; ++i) {
    pdf::Stream s;
    s.dict.set("Type", pdf::Name{"XObject"});
    s.dict.set("Subtype", pdf::Name{"Form"});
    s.dict.set("BBox",
               pdf::Array{pdf::Object(0), pdf::Object(0), pdf::Object(600), pdf::Object(850)});
    if (i + 1 < levels) {
      pdf::Dict xo;
      xo.set("N", forms[static_cast<std::size_t>(i + 1)]);
      pdf::Dict res;
      res.set("XObject", xo);
      s.dict.set("Resources", res);
      for (int k = 0; k < fan_out; ++k) s.data += "q 1 0 0 1 0.01 0.01 cm /N Do Q\n";
    } else {
      s.data = "0.5 g 100 100 " + std::to_string(leaf) + " " + std::to_string(leaf) + " re f\n";
    }
    up.set(forms[static_cast<std::size_t>(i)], pdf::Object(std::move(s)));
  }
  const pdf::Ref content = up.allocate();
  pdf::Stream c;
  c.data = "/Bomb Do\n";
  up.set(content, pdf::Object(std::move(c)));
  pdf::Dict xo;
  xo.set("Bomb", forms[0]);
  pdf::Dict res;
  res.set("XObject", xo);
  page.as_dict().set("Resources", res);
  page.as_dict().set("Contents", pdf::Object(content));
  up.set(page_ref, page);
  return up.write().pdf;
}

TEST_F(HostilePdf, ExpandedContentAboveTheLimitIsNotRendered) {
  // 8^9 = 134 million fills from 3 KB: refused before Poppler sees it, with little work.
  const std::string bomb = form_bomb(*sealed_, 10, 8, 1);
  ASSERT_LT(bomb.size(), sealed_->size() + 8192);
  const auto r = verify(bomb, 20000, 5000);
  EXPECT_NE(r.result, Verdict::kValid);
  EXPECT_EQ(status(r, "rendering"), CheckStatus::kNotChecked) << r.to_text();
  EXPECT_NE(detail(r, "rendering").find("page 1 paints more than 67108864 bytes of content"),
            std::string::npos)
      << detail(r, "rendering");
}

// A page under the content limit that still takes Poppler a long time (8^6 = 262144 fills):
// verify_pdf stops waiting after render_budget_ms, reports "rendering" not-checked (never VALID),
// and while two such renderings still run, later verifications skip rendering at once.
TEST_F(HostilePdf, RenderingTimeIsBounded) {
  const std::string slow = form_bomb(*sealed_, 7, 8, 300);
  opts_.render_budget_ms = 100;
  for (int i = 0; i < 2; ++i) {
    const auto r = verify(slow, 3000);
    EXPECT_NE(r.result, Verdict::kValid);
    EXPECT_EQ(status(r, "rendering"), CheckStatus::kNotChecked) << r.to_text();
    EXPECT_NE(detail(r, "rendering").find("exceeded the time budget of 100 ms"), std::string::npos)
        << detail(r, "rendering");
  }
  const std::string cheap = with_new_content("q Q");
  const auto r = verify(cheap, 3000);
  EXPECT_NE(r.result, Verdict::kValid);
  EXPECT_EQ(status(r, "rendering"), CheckStatus::kNotChecked);
  EXPECT_NE(detail(r, "rendering").find("exceeded the time budget still run"), std::string::npos)
      << detail(r, "rendering");
  // The abandoned renderings end on their own; then rendering is done again (and this process
  // exits with no renderer thread left).
  opts_.render_budget_ms = 60000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  std::string why;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    why = detail(verify(cheap, 300000), "rendering");
  } while (why.find("still run") != std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(why.find("could not be made"), std::string::npos) << why;
}

}  // namespace
