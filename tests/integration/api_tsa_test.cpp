// certd's time-stamping authority over loopback: POST /v1/tsa (RFC 3161 §3.4). Queries made by
// `openssl ts -query`, replies verified by `openssl ts -verify` against the demo root; refusals
// are TimeStampResp rejections with the PKIFailureInfo bit; the clock state lives in the
// registry; stamping is audited as one aggregated row per principal and interval.
#include "certd_fixture.h"
#include "libcert/roles.h"
#include "libcert/tsa.h"

namespace {

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::RawDb;
using certdtest::expect_problem;
using testsupport::run;
using testsupport::shell_quote;
using testsupport::slurp;
using testsupport::spit;

const std::string kRoot = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/root/root.crt";

httplib::Headers with_key(const std::string& key) {
  auto h = bearer(key);
  return h;
}

std::string make_query(const testsupport::TempDir& dir, const std::string& data,
                       const std::string& algo = "-sha256") {
  spit(dir / "msg.bin", data);
  const auto r = run("openssl ts -query -data " + shell_quote((dir / "msg.bin").string()) + " " +
                     algo + " -cert -out " + shell_quote((dir / "q.tsq").string()));
  if (r.exit_code != 0) throw std::runtime_error("openssl ts -query: " + r.out);
  return slurp(dir / "q.tsq");
}

class ApiTsa : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A small per-principal rate, so the limit is reachable in a test.
    cfg_dir_ = new testsupport::TempDir();
    spit(*cfg_dir_ / "certd.json", R"({"limits": {"tsa_per_minute": 60, "tsa_burst": 5}})");
    certd_ = new CertdProcess({}, {"--config", (*cfg_dir_ / "certd.json").string()});
  }
  static void TearDownTestSuite() {
    delete certd_;
    certd_ = nullptr;
    delete cfg_dir_;
    cfg_dir_ = nullptr;
  }
  static CertdProcess* certd_;
  static testsupport::TempDir* cfg_dir_;
};
CertdProcess* ApiTsa::certd_ = nullptr;
testsupport::TempDir* ApiTsa::cfg_dir_ = nullptr;

TEST_F(ApiTsa, GrantedReplyVerifiesWithOpensslAndTimeIsMonotonicInTheRegistry) {
  const std::string key = certd_->make_key("admin", "tsa");
  testsupport::TempDir dir;
  const std::string q = make_query(dir, "signature value 1");
  auto c = certd_->client();
  auto r = c.Post("/v1/tsa", with_key(key), q, "application/timestamp-query");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/timestamp-reply");
  spit(dir / "r.tsr", r->body);
  const auto v = run("openssl ts -verify -data " + shell_quote((dir / "msg.bin").string()) +
                     " -in " + shell_quote((dir / "r.tsr").string()) + " -CAfile " +
                     shell_quote(kRoot));
  EXPECT_NE(v.out.find("Verification: OK"), std::string::npos) << v.out;
  const auto reply = libcert::parse_timestamp_reply(r->body);
  EXPECT_EQ(reply.status, 0);
  EXPECT_EQ(reply.policy_oid, libcert::kTsaPolicyOid);
  // The registry holds the last token time.
  EXPECT_EQ(RawDb(certd_->store()).int64("SELECT last_time FROM tsa_clock"), reply.gen_time);

  // Another instance (or a clock reset) recorded a later time: this one refuses to go back.
  RawDb(certd_->store())
      .exec("UPDATE tsa_clock SET last_time = " + std::to_string(reply.gen_time + 86400));
  auto behind = c.Post("/v1/tsa", with_key(key), q, "application/timestamp-query");
  ASSERT_TRUE(behind);
  EXPECT_EQ(behind->status, 200);
  const auto rej = libcert::parse_timestamp_reply(behind->body);
  EXPECT_EQ(rej.status, 2);
  EXPECT_EQ(rej.failures,
            std::vector<libcert::TsaFailure>{libcert::TsaFailure::kTimeNotAvailable});
  RawDb(certd_->store()).exec("UPDATE tsa_clock SET last_time = 0");
}

TEST_F(ApiTsa, AuthenticationIsAProblemEverythingAfterItIsATimeStampResp) {
  testsupport::TempDir dir;
  const std::string q = make_query(dir, "x");
  auto c = certd_->client();
  (void)expect_problem(c.Post("/v1/tsa", q, "application/timestamp-query"), 401, "unauthorized");
  const std::string no_scope = certd_->make_key("samr", "licence:read");
  (void)expect_problem(c.Post("/v1/tsa", with_key(no_scope), q, "application/timestamp-query"),
                       403, "forbidden");

  const std::string key = certd_->make_key("samr", "tsa");
  auto wrong_type = c.Post("/v1/tsa", with_key(key), q, "application/octet-stream");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
  EXPECT_EQ(wrong_type->get_header_value("Content-Type"), "application/timestamp-reply");
  auto r = libcert::parse_timestamp_reply(wrong_type->body);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadRequest});

  auto garbage = c.Post("/v1/tsa", with_key(key), "not a TimeStampReq", "application/timestamp-query");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 200);
  r = libcert::parse_timestamp_reply(garbage->body);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadDataFormat});

  auto sha1 = c.Post("/v1/tsa", with_key(key), make_query(dir, "x", "-sha1"),
                     "application/timestamp-query");
  ASSERT_TRUE(sha1);
  r = libcert::parse_timestamp_reply(sha1->body);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadAlg});

  auto big = c.Post("/v1/tsa", with_key(key), std::string(9000, '\x30'),
                    "application/timestamp-query");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  r = libcert::parse_timestamp_reply(big->body);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kBadDataFormat});
}

TEST_F(ApiTsa, CallersAreRateLimitedPerKey) {
  const std::string key = certd_->make_key("admin", "tsa");
  const std::string other = certd_->make_key("admin", "tsa");
  testsupport::TempDir dir;
  const std::string q = make_query(dir, "rate");
  auto c = certd_->client();
  int granted = 0, status = 0;
  std::string retry_after, body;
  for (int i = 0; i < 8 && status != 429; ++i) {
    auto r = c.Post("/v1/tsa", with_key(key), q, "application/timestamp-query");
    ASSERT_TRUE(r);
    status = r->status;
    if (status == 200) ++granted;
    retry_after = r->get_header_value("Retry-After");
    body = r->body;
  }
  EXPECT_GE(granted, 5);  // the burst
  ASSERT_EQ(status, 429);
  EXPECT_FALSE(retry_after.empty());
  const auto r = libcert::parse_timestamp_reply(body);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.failures, std::vector<libcert::TsaFailure>{libcert::TsaFailure::kSystemFailure});
  EXPECT_NE(r.status_text.find("rate limited"), std::string::npos) << r.status_text;
  // Another key is not limited by this one.
  auto fine = c.Post("/v1/tsa", with_key(other), q, "application/timestamp-query");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

// No audit row per token: stamping is one tsa.stamp row per principal and interval, with the
// counts by outcome (written when the interval ends, or at shutdown).
TEST(ApiTsaAudit, StampingIsAuditedInAggregate) {
  CertdProcess certd;
  const std::string key = certd.make_key("admin", "tsa");
  testsupport::TempDir dir;
  const std::string q = make_query(dir, "audit");
  auto c = certd.client();
  const auto rows_before = RawDb(certd.store()).int64("SELECT COUNT(*) FROM audit_log");
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post("/v1/tsa", with_key(key), q, "application/timestamp-query");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  (void)c.Post("/v1/tsa", with_key(key), "junk", "application/timestamp-query");
  EXPECT_EQ(RawDb(certd.store()).int64("SELECT COUNT(*) FROM audit_log WHERE action = 'tsa.stamp'"),
            0);
  ASSERT_EQ(certd.stop(), 0);
  RawDb db(certd.store());
  EXPECT_EQ(db.int64("SELECT COUNT(*) FROM audit_log WHERE action = 'tsa.stamp'"), 1);
  const auto rows = db.rows("SELECT details_json FROM audit_log WHERE action = 'tsa.stamp'", 1);
  ASSERT_EQ(rows.size(), 1u);
  const auto details = nlohmann::json::parse(*rows[0][0]);
  EXPECT_EQ(details["count"], 6);
  EXPECT_EQ(details["outcomes"]["granted"], 5);
  EXPECT_EQ(details["outcomes"]["rejected:bad-data-format"], 1);
  EXPECT_GE(db.int64("SELECT COUNT(*) FROM audit_log"), rows_before + 1);
}

}  // namespace
