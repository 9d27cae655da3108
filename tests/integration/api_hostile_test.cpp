// Hostile clients against the real certd on loopback (issue 10): slow bodies, too many
// connections, huge headers, repeated authentication failures, world-readable private keys, and
// secrets in logs, error bodies and /metrics. Every case ends with certd still answering a
// normal request, and no 5xx other than the 503 of deliberate overload.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "certd_fixture.h"
#include "store.h"
#include "support/process.h"

using certdtest::bearer;
using certdtest::CertdProcess;
using certdtest::expect_problem;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A raw TCP connection to certd (httplib's client cannot send slowly or malformed).
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() { close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  bool send_all(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // True once the peer has sent something (or closed): a non-blocking peek.
  bool answered() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || n == 0;
  }
  // Everything until the peer closes or `seconds` pass.
  std::string read_all(int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    const auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

int status_of(const std::string& raw_response) {
  // "HTTP/1.1 408 Request Timeout"
  if (raw_response.rfind("HTTP/1.1 ", 0) != 0 || raw_response.size() < 12) return 0;
  return std::stoi(raw_response.substr(9, 3));
}

std::string write_config(const testsupport::TempDir& dir, const nlohmann::json& j) {
  const std::string path = (dir / "certd.json").string();
  std::ofstream(path) << j.dump();
  return path;
}

void expect_healthy(const CertdProcess& d) {
  auto c = d.client();
  const auto r = c.Get("/healthz");
  ASSERT_TRUE(r) << "certd does not answer any more";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"ok"})");
}

// Checks the whole log of a run: no 5xx except 503.
void expect_no_5xx(const std::string& log) {
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("status")) continue;
    const int st = j["status"].get<int>();
    EXPECT_TRUE(st < 500 || st == 503) << line;
  }
}

TEST(HostileHttp, SlowBodyIsCutOffAtTheBodyDeadline) {
  testsupport::TempDir cfg;
  CertdProcess d({},
                 {"--config",
                  write_config(cfg, {{"limits", {{"body_timeout_s", 2}, {"read_timeout_s", 5}}}})});
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(
      s.send_all("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                 "Content-Length: 100000\r\n\r\n%PDF-1.7\n"));
  // One byte every 300 ms: each read succeeds well within the read timeout (slowloris).
  const auto t0 = Clock::now();
  std::string response;
  for (int i = 0; i < 40 && !s.answered(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (!s.send_all("x")) break;  // certd closed the connection
  }
  response = s.read_all(5);  // ends when certd closes the connection
  const auto secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(status_of(response), 408) << response;
  EXPECT_NE(response.find("body: not received completely within 2 s"), std::string::npos)
      << response;
  EXPECT_GT(secs, 1.9);
  EXPECT_LT(secs, 5.0);
  expect_healthy(d);
}

TEST(HostileHttp, StalledBodyEndsAtTheReadTimeout) {
  testsupport::TempDir cfg;
  CertdProcess d({}, {"--config", write_config(cfg, {{"limits", {{"read_timeout_s", 1}}}})});
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  const auto t0 = Clock::now();
  ASSERT_TRUE(
      s.send_all("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                 "Content-Length: 1000\r\n\r\n%PDF"));
  const std::string response = s.read_all(10);  // certd gives up and closes
  const auto secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(secs, 3.0) << response;
  EXPECT_EQ(status_of(response), 400) << response;
  EXPECT_NE(response.find("body: could not be read completely"), std::string::npos) << response;
  expect_healthy(d);
}

TEST(HostileHttp, OverloadIsA503WithRetryAfterNotACollapse) {
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "1"}, {"CERTD_VERIFY_PER_MINUTE", "100000"}},
                 {"--config", write_config(cfg, {{"max_queue", 1},
                                                 {"limits", {{"verify_burst", 100000}}}})});
  // Silent connections hold no worker any more (issue 17): they change nothing below.
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<Raw>(d.port()));
    ASSERT_TRUE(idle.back()->ok());
  }
  // One worker and a queue of one: a burst of 40 PDF verifications at once saturates them, and
  // the requests past the queue are answered 503 + Retry-After at once instead of waiting.
  const std::string key = d.make_key("samr");
  const std::string sample = testsupport::slurp(
      std::string(LIBCERT_SOURCE_DIR) + "/templates/business-licence-enterprise/sample.json");
  auto c = d.client();
  httplib::Headers h = bearer(key);
  h.emplace("Idempotency-Key", "overload-1");
  const auto issued = c.Post("/v1/licences", h,
                             nlohmann::json{{"template", "business-licence-enterprise"},
                                            {"data", nlohmann::json::parse(sample)}}
                                 .dump(),
                             "application/json");
  ASSERT_TRUE(issued);
  ASSERT_EQ(issued->status, 201) << issued->body;
  const std::string id = nlohmann::json::parse(issued->body).at("id");
  const auto pdf = c.Get("/v1/licences/" + id + "/pdf", bearer(key));
  ASSERT_TRUE(pdf);
  std::vector<int> statuses(40, 0);
  std::vector<std::string> retry(40), type(40);
  {
    std::vector<std::thread> ts;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      ts.emplace_back([&, i] {
        httplib::Client cl("127.0.0.1", d.port());
        cl.set_read_timeout(20, 0);
        const auto r = cl.Post("/v1/verify", pdf->body, "application/pdf");
        statuses[i] = r ? r->status : -1;
        if (r) {
          retry[i] = r->get_header_value("Retry-After");
          type[i] = r->body;
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  int n503 = 0, n200 = 0;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 503) << statuses[i];
    if (statuses[i] == 503) {
      ++n503;
      EXPECT_EQ(retry[i], "1");
      EXPECT_NE(type[i].find("https://libcert.example/problems/overloaded"), std::string::npos);
    }
    n200 += statuses[i] == 200;
  }
  EXPECT_GT(n503, 0);
  EXPECT_GT(n200, 0);
  idle.clear();
  expect_healthy(d);
  expect_no_5xx(d.log());
  std::printf("overload burst: %d x 200, %d x 503\n", n200, n503);
}

TEST(HostileHttp, HugeHeadersAre431Or400) {
  CertdProcess d;
  {  // 100 headers of 1 KB: 100 KB of header fields, above the 32 KB limit.
    httplib::Client c("127.0.0.1", d.port());
    httplib::Headers h;
    for (int i = 0; i < 100; ++i)
      h.emplace("X-Filler-" + std::to_string(i), std::string(1000, 'a'));
    const auto r = c.Get("/v1/templates", h);
    const auto j = expect_problem(r, 431, "headers-too-large");
    EXPECT_NE(j.value("detail", "").find("exceed the limit of 32768"), std::string::npos);
  }
  {  // One header line of 20 KB: field lines above 8 KB are refused (RFC 6585 §5: 431).
    Raw s(d.port());
    ASSERT_TRUE(s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') +
                           "\r\n\r\n"));
    const std::string response = s.read_all(2);
    EXPECT_EQ(status_of(response), 431) << response.substr(0, 300);
    EXPECT_NE(response.find("application/problem+json"), std::string::npos);
  }
  {  // A request target of 20 KB.
    Raw s(d.port());
    ASSERT_TRUE(s.send_all("GET /v1/templates/" + std::string(20000, 'c') +
                           " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string response = s.read_all(2);
    const int st = status_of(response);
    EXPECT_TRUE(st == 400 || st == 414 || st == 431) << response.substr(0, 300);
  }
  expect_healthy(d);
  expect_no_5xx(d.log());
}

TEST(HostileHttp, RepeatedAuthFailuresAreRateLimitedAndAudited) {
  testsupport::TempDir cfg;
  CertdProcess d(
      {},
      {"--config",
       write_config(cfg, {{"limits", {{"auth_failures_per_minute", 5}, {"auth_lockout_s", 60}}}})});
  const std::string good = d.make_key("samr");
  auto c = d.client();
  // Six different wrong keys: the sixth failure locks the address (each key failed only once).
  for (int i = 0; i < 6; ++i) {
    std::string wrong = "lic_" + std::string(52, 'z');
    wrong[4 + static_cast<std::size_t>(i)] = 'x';
    expect_problem(c.Get("/v1/templates", bearer(wrong)), 401 + (i == 5 ? 28 : 0),
                   i == 5 ? "auth-rate-limited" : "unauthorized");
  }
  // The address is locked out for keys that fail (issue 17: a key that authenticates is never
  // throttled for other clients' failures at its address).
  const auto fine = c.Get("/v1/templates", bearer(good));
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200) << fine->body;
  const auto r = c.Get("/v1/templates", bearer("lic_" + std::string(52, 'y')));
  const auto j = expect_problem(r, 429, "auth-rate-limited");
  EXPECT_NE(j.value("detail", "").find("more than 5 invalid API keys in a minute"),
            std::string::npos);
  const int retry = std::stoi(r->get_header_value("Retry-After"));
  EXPECT_GE(retry, 55);
  EXPECT_LE(retry, 60);
  // Public routes still answer.
  expect_healthy(d);
  // One audit row for the lock-out (a state change), naming no key and no raw address.
  auto store = certd::open_store(d.store());
  const auto rows = store->audit_entries(0, store->audit_size());
  int lockouts = 0;
  for (const auto& row : rows) {
    if (row.action != "auth.lockout") continue;
    ++lockouts;
    EXPECT_EQ(row.object.rfind("address:", 0), 0u) << row.object;
    EXPECT_EQ(row.object.find("127.0.0.1"), std::string::npos);
    EXPECT_EQ(row.principal, "anonymous");
    EXPECT_EQ(row.details_json.find("lic_"), std::string::npos);
    EXPECT_EQ(row.leaf_hash, certd::audit_leaf_hash(row));
  }
  EXPECT_EQ(lockouts, 1);
  EXPECT_NE(d.log().find("address locked out"), std::string::npos);
  expect_no_5xx(d.log());
}

TEST(HostileHttp, WorldReadablePrivateKeysStopStartUp) {
  testsupport::TempDir dir;
  const fs::path keys = dir / "keys";
  fs::copy(fs::path(LIBCERT_SOURCE_DIR) / "keys-example", keys, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(keys)) {
    if (e.path().extension() == ".key") {
      fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  const fs::path loose = keys / "seals" / "samr" / "seal.key";
  fs::permissions(loose, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                             fs::perms::others_read);
  std::string error;
  try {
    CertdProcess d({}, {"--keys", keys.string()});
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("certd exited at start-up"), std::string::npos) << error;
  EXPECT_NE(error.find("private key files must be mode 0600"), std::string::npos) << error;
  EXPECT_NE(error.find(loose.string() + " (mode 0644)"), std::string::npos) << error;
  EXPECT_EQ(error.find("BEGIN"), std::string::npos) << "key material in the message";
  // Only that file: the others are 0600.
  EXPECT_EQ(error.find("root.key"), std::string::npos) << error;
  // Fixed: certd starts.
  fs::permissions(loose, fs::perms::owner_read | fs::perms::owner_write);
  CertdProcess ok({}, {"--keys", keys.string()});
  expect_healthy(ok);
}

// A full run (keys created, licences issued and fetched, verification, bad keys, malformed
// requests, /metrics): neither an API key nor any private key's material may appear in the log,
// in any response body or in /metrics.
TEST(HostileHttp, NoSecretsInLogsErrorsOrMetrics) {
  CertdProcess d;
  const std::string samr = d.make_key("samr");
  const std::string admin = d.make_key("admin");
  std::vector<std::string> bodies;
  auto c = d.client();
  auto keep = [&](const httplib::Result& r) {
    ASSERT_TRUE(r);
    bodies.push_back(r->body);
    for (const auto& [k, v] : r->headers) bodies.push_back(k + ": " + v);
  };
  const std::string sample = testsupport::slurp(
      std::string(LIBCERT_SOURCE_DIR) + "/templates/business-licence-enterprise/sample.json");
  const std::string body = nlohmann::json{
      {"template", "business-licence-enterprise"},
      {"data", nlohmann::json::parse(
                   sample)}}.dump();
  httplib::Headers h = bearer(samr);
  h.emplace("Idempotency-Key", "secrets-1");
  const auto issued = c.Post("/v1/licences", h, body, "application/json");
  keep(issued);
  ASSERT_EQ(issued->status, 201) << issued->body;
  const std::string id = nlohmann::json::parse(issued->body).at("id");
  keep(c.Get("/v1/licences/" + id, bearer(samr)));
  const auto pdf = c.Get("/v1/licences/" + id + "/pdf", bearer(samr));
  keep(pdf);
  keep(c.Post("/v1/verify", pdf->body, "application/pdf"));
  keep(c.Get("/v1/licences", bearer(admin)));
  // Failures that echo input: a key sent where a key is wrong, a malformed key, a key in the body
  // and in the query string.
  keep(c.Get("/v1/templates", bearer(samr + "x")));
  keep(c.Get("/v1/templates", {{"Authorization", "Basic " + samr}}));
  keep(c.Get("/v1/templates", {{"X-Api-Key", admin.substr(0, 20)}}));
  keep(c.Post("/v1/licences", h, "{\"template\": 1, \"key\": \"" + samr + "\"}",
              "application/json"));
  keep(c.Get("/v1/licences?api_key=" + samr, bearer(samr)));
  keep(c.Post("/v1/licences/" + id + "/revoke", bearer(admin), "{bad json", "application/json"));
  const auto metrics = c.Get("/metrics", bearer(admin));
  keep(metrics);
  d.stop();
  const std::string log = d.log();
  ASSERT_FALSE(log.empty());

  std::vector<std::string> secrets = {samr, admin, samr.substr(4, 20), admin.substr(4, 20)};
  // Every private key of keys-example: its PEM body lines (base64 of the key material).
  for (const auto& e :
       fs::recursive_directory_iterator(fs::path(LIBCERT_SOURCE_DIR) / "keys-example")) {
    if (e.path().extension() != ".key") continue;
    std::istringstream in(testsupport::slurp(e.path().string()));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("-----", 0) != 0 && line.size() >= 16) secrets.push_back(line);
    }
  }
  ASSERT_GT(secrets.size(), 10u);
  auto scan = [&](const std::string& where, const std::string& text) {
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << where;
    for (const auto& s : secrets) {
      EXPECT_EQ(text.find(s), std::string::npos) << "secret " << s.substr(0, 8) << "… in " << where;
    }
  };
  scan("the log", log);
  scan("/metrics", metrics->body);
  std::size_t i = 0;
  for (const auto& b : bodies) scan("response " + std::to_string(i++), b);
  std::printf("scanned %zu bytes of log, %zu responses, %zu secrets\n", log.size(), bodies.size(),
              secrets.size());
}

}  // namespace
