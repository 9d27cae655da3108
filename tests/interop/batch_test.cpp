// Interop: `certctl issue --batch` over a JSON Lines file of mixed templates (bench/make_batch.sh),
// with rejected lines, a torn results file and a kill -9 in mid-run: every line ends up with
// exactly one result, every issued PDF is where its result says with the recorded SHA-256, and
// the PDFs verify (certctl verify; pdfsig with the example root trusted for a sample of them).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/verifiers.h"

using testsupport::run;
using testsupport::shell_quote;

namespace {

const std::string kSrc = LIBCERT_SOURCE_DIR;
const std::string kCertctl = CERTCTL_BIN;

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += kHex[md[i] >> 4U];
    out += kHex[md[i] & 0xFU];
  }
  return out;
}

std::vector<nlohmann::json> read_results(const std::filesystem::path& p) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(testsupport::slurp(p));
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

std::string batch_cmd(const testsupport::TempDir& d, const std::string& extra = "") {
  return kCertctl + " issue --batch " + shell_quote((d / "in.jsonl").string()) + " --out-dir " +
         shell_quote((d / "out").string()) + " --issued 2026-11-01 --threads 2 --no-progress " +
         extra;
}

// Checks the results against the input: one result per line, issued PDFs present and intact.
void check_complete(const testsupport::TempDir& d, std::size_t lines,
                    const std::set<std::size_t>& bad) {
  const auto rows = read_results(d / "out" / "results.jsonl");
  ASSERT_EQ(rows.size(), lines);
  std::set<std::size_t> seen;
  for (const auto& r : rows) {
    const auto n = r.at("line").get<std::size_t>();
    EXPECT_TRUE(seen.insert(n).second) << "line " << n << " has two results";
    if (bad.count(n) != 0) {
      EXPECT_EQ(r.at("status"), "rejected") << r.dump();
      continue;
    }
    ASSERT_EQ(r.at("status"), "issued") << r.dump();
    const std::string pdf = r.at("pdf");
    EXPECT_EQ(sha256_hex(testsupport::slurp(pdf)), r.at("pdf_sha256")) << pdf;
  }
  EXPECT_EQ(seen.size(), lines);
}

class Batch : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = run("bash " + shell_quote(kSrc + "/bench/make_batch.sh") + " 48 > " +
                       shell_quote((dir_ / "in.jsonl").string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  testsupport::TempDir dir_;
};

TEST_F(Batch, IssuesEveryLineRecordsRejectionsAndVerifies) {
  // Two bad lines at the end: not JSON, and a USCC with a wrong check character.
  auto text = testsupport::slurp(dir_ / "in.jsonl");
  text += "{not json\n";
  nlohmann::json bad;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_object() && j.value("template", "") == "business-licence-enterprise") bad = j;
  }
  ASSERT_TRUE(bad.is_object());
  bad["data"]["uscc"] = "91542523MA6T1D4L26";
  bad["serial"] = "2699999999";
  text += bad.dump() + "\n";
  testsupport::spit(dir_ / "in.jsonl", text);

  const auto r = run(batch_cmd(dir_));
  EXPECT_EQ(r.exit_code, 3) << r.out;  // some lines were rejected
  EXPECT_NE(r.out.find("50 lines, 48 issued, 2 rejected, 0 already done"), std::string::npos)
      << r.out;
  check_complete(dir_, 50, {48, 49});
  const auto rows = read_results(dir_ / "out" / "results.jsonl");
  for (const auto& row : rows) {
    if (row.at("line") == 49) {
      const auto& p = row.at("error").at("problems").at(0);
      EXPECT_EQ(p.at("field"), "uscc") << row.dump();
      EXPECT_EQ(p.at("rule"), "uscc-check") << row.dump();
    }
    if (row.at("line") == 48) {
      EXPECT_EQ(row.at("error").at("problems").at(0).at("rule"), "json");
    }
  }
  // Every template's licence verifies; pdfsig (NSS) agrees for the first of each.
  testsupport::NssTrust nss(dir_ / "nss", kSrc + "/keys-example/root/root.crt");
  // With the trust bundle (key states): without trust data a seal is INDETERMINATE.
  const std::string bundle = (dir_ / "bundle.cose").string();
  const auto b = run(kCertctl + " trust-bundle export --version 1 -o " + shell_quote(bundle));
  ASSERT_EQ(b.exit_code, 0) << b.out;
  int checked = 0;
  for (const auto& row : rows) {
    if (row.at("status") != "issued" || row.at("line").get<int>() >= 24) continue;
    const std::string pdf = row.at("pdf");
    const auto v = run(kCertctl + " verify --bundle " + shell_quote(bundle) + " " + shell_quote(pdf));
    EXPECT_EQ(v.exit_code, 0) << v.out;
    const auto s = run("pdfsig -nssdir " + shell_quote("sql:" + (dir_ / "nss").string()) + " " +
                       shell_quote(pdf));
    EXPECT_NE(s.out.find("Signature is Valid."), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("Certificate is Trusted."), std::string::npos) << s.out;
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

TEST_F(Batch, ResumesAfterATornResultsFileWithoutReissuing) {
  ASSERT_EQ(run(batch_cmd(dir_)).exit_code, 0);
  // Keep 10 results and half of the 11th (a kill in mid-write), then run again.
  const auto all = testsupport::slurp(dir_ / "out" / "results.jsonl");
  std::size_t cut = 0;
  for (int i = 0; i < 10; ++i) cut = all.find('\n', cut) + 1;
  const std::size_t half = cut + (all.find('\n', cut) - cut) / 2;
  testsupport::spit(dir_ / "out" / "results.jsonl", all.substr(0, half));
  const auto r = run(batch_cmd(dir_));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("48 lines, 38 issued, 0 rejected, 10 already done"), std::string::npos)
      << r.out;
  check_complete(dir_, 48, {});
}

TEST_F(Batch, SurvivesKillNineAndCompletesOnRestart) {
  // Kill the batch after its first results appear (made durable in groups of 4 here, so some
  // appear long before the end); the restart completes it with one result per line (a PDF
  // written but not yet committed is issued again to the same name).
  const auto results = (dir_ / "out" / "results.jsonl").string();
  const auto r =
      run("(" + batch_cmd(dir_, "--commit-every 4") + " >/dev/null 2>&1 & p=$!; " + "for i in $(seq 1 200); do [ -s " +
          shell_quote(results) + " ] && break; sleep 0.05; done; kill -9 $p; wait $p; true)");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto committed = read_results(dir_ / "out" / "results.jsonl");
  EXPECT_GT(committed.size(), 0U);
  EXPECT_LT(committed.size(), 48U);
  // Every committed result names its PDF, whole (results are written after their files).
  for (const auto& row : committed) {
    ASSERT_EQ(row.at("status"), "issued") << row.dump();
    EXPECT_EQ(sha256_hex(testsupport::slurp(row.at("pdf").get<std::string>())),
              row.at("pdf_sha256"));
  }
  const auto again = run(batch_cmd(dir_));
  EXPECT_EQ(again.exit_code, 0) << again.out;
  check_complete(dir_, 48, {});
}

TEST_F(Batch, RefusesPerLineOptionsAndAForeignResultsFile) {
  auto r = run(batch_cmd(dir_, "--template business-licence-enterprise"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--template is per line in a --batch file"), std::string::npos) << r.out;
  std::filesystem::create_directories(dir_ / "out");
  testsupport::spit(dir_ / "out" / "results.jsonl", "hello\n");
  r = run(batch_cmd(dir_));
  EXPECT_EQ(r.exit_code, 5) << r.out;  // a results file that cannot be used: environment
  EXPECT_NE(r.out.find("is not a batch result; refusing to append"), std::string::npos) << r.out;
  EXPECT_EQ(testsupport::slurp(dir_ / "out" / "results.jsonl"), "hello\n");  // untouched
}

}  // namespace
