// Connection handling against the real certd on loopback (issue 17): slow clients cannot starve a
// well-behaved one, per-address connection caps, strict HTTP/1.1 framing (RFC 9112 §6),
// pipelining, SIGTERM drain, SIGHUP reload, SIGXFSZ ignored. The slow clients connect from
// 127.0.0.2 and the well-behaved client from 127.0.0.1, as an outside check would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "certd_fixture.h"
#include "support/process.h"

using certdtest::CertdProcess;
using certdtest::expect_problem;

// The server layer does not depend on the registry engine: the pg.* variants would only repeat
// these cases (and the file size limit needs a file registry).
#define SKIP_ON_POSTGRES()                                                          \
  if (certdtest::on_postgres()) GTEST_SKIP() << "connection handling: SQLite run only"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A TCP connection to certd from a chosen loopback source address.
int connect_from(const char* source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class Raw {
 public:
  explicit Raw(int port, const char* source = "127.0.0.1") : fd_(connect_from(source, port)) {}
  ~Raw() {
    if (fd_ >= 0) close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Everything until the peer closes or `seconds` pass; `closed` says which.
  std::string read_all(int seconds, bool* closed = nullptr) {
    std::string out;
    char buf[4096];
    const auto end = Clock::now() + std::chrono::seconds(seconds);
    bool eof = false;
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (poll(&p, 1, static_cast<int>(std::max<long long>(1, left))) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    if (closed != nullptr) *closed = eof;
    return out;
  }

 private:
  int fd_ = -1;
};

int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::stoi(raw.substr(9, 3));
}

int count_responses(const std::string& raw) {
  int n = 0;
  for (std::size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

std::string write_config(const testsupport::TempDir& dir, const nlohmann::json& j) {
  const std::string path = (dir / "certd.json").string();
  std::ofstream(path) << j.dump();
  return path;
}

// N connections from 127.0.0.2, each sending `trickle` one byte per `period` (1 s unless told)
// from one thread (poll, no thread per socket); records what certd answered on each and when it
// closed. Bounded: it stops when told or when the trickle ends.
class SlowSwarm {
 public:
  SlowSwarm(int port, int n, std::string prefix, std::string trickle,
            std::chrono::milliseconds period = std::chrono::seconds(1))
      : prefix_(std::move(prefix)), trickle_(std::move(trickle)), period_(period) {
    for (int i = 0; i < n; ++i) {
      Conn c;
      c.fd = connect_from("127.0.0.2", port);
      if (c.fd >= 0) {
        if (!prefix_.empty()) ::send(c.fd, prefix_.data(), prefix_.size(), MSG_NOSIGNAL);
        c.opened = Clock::now();
      }
      conns_.push_back(std::move(c));
    }
    thread_ = std::thread([this] { run(); });
  }
  ~SlowSwarm() { stop(); }
  SlowSwarm(const SlowSwarm&) = delete;
  SlowSwarm& operator=(const SlowSwarm&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
  }
  [[nodiscard]] int connected() const {
    return static_cast<int>(std::count_if(conns_.begin(), conns_.end(),
                                          [](const Conn& c) { return c.opened != Clock::time_point{}; }));
  }
  // After stop(): how many got an answer with this status; how many were closed by certd.
  [[nodiscard]] int answered(int status) const {
    return static_cast<int>(std::count_if(conns_.begin(), conns_.end(), [&](const Conn& c) {
      return status_of(c.received) == status;
    }));
  }
  [[nodiscard]] int closed() const {
    return static_cast<int>(
        std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.closed; }));
  }
  [[nodiscard]] std::vector<double> closed_after_s() const {
    std::vector<double> out;
    for (const auto& c : conns_) {
      if (c.closed) out.push_back(std::chrono::duration<double>(c.closed_at - c.opened).count());
    }
    return out;
  }
  // One line per connection (status, bytes sent, when closed): what a failure message needs.
  [[nodiscard]] std::string describe() const {
    std::string out;
    for (const auto& c : conns_) {
      out += "\n  status " + std::to_string(status_of(c.received)) + ", sent " +
             std::to_string(c.sent) + " trickle bytes, " +
             (c.closed ? "closed after " +
                             std::to_string(std::chrono::duration<double>(c.closed_at - c.opened)
                                                .count()) +
                             " s"
                       : std::string("open"));
    }
    return out;
  }
  [[nodiscard]] std::string first_answer() const {
    for (const auto& c : conns_) {
      if (!c.received.empty()) return c.received;
    }
    return {};
  }

 private:
  struct Conn {
    int fd = -1;
    std::size_t sent = 0;
    std::string received;
    bool closed = false;
    Clock::time_point opened{}, closed_at{};
  };

  void run() {
    auto next_byte = Clock::now() + period_;
    while (!stop_) {
      std::vector<pollfd> ps;
      std::vector<Conn*> who;
      for (auto& c : conns_) {
        if (c.fd >= 0 && !c.closed) {
          ps.push_back({c.fd, POLLIN, 0});
          who.push_back(&c);
        }
      }
      if (ps.empty()) break;
      poll(ps.data(), ps.size(),
           static_cast<int>(std::clamp<long long>(period_.count(), 1, 100)));
      for (std::size_t i = 0; i < ps.size(); ++i) {
        if ((ps[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(ps[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          who[i]->received.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          who[i]->closed = true;
          who[i]->closed_at = Clock::now();
        }
      }
      if (Clock::now() >= next_byte) {
        next_byte += period_;
        for (auto* c : who) {
          if (c->closed || !c->received.empty() || c->sent >= trickle_.size()) continue;
          ::send(c->fd, trickle_.data() + c->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
          ++c->sent;
        }
      }
    }
  }

  std::string prefix_, trickle_;
  std::chrono::milliseconds period_;
  std::vector<Conn> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct GoodRun {
  int sent = 0, answered = 0;
  double p99_ms = 0, max_ms = 0;
};

// The well-behaved client: GET /healthz every 100 ms for `seconds` from 127.0.0.1 on one
// kept-alive connection (httplib reconnects when certd closes it), 5 s timeout per request.
GoodRun good_client(int port, double seconds) {
  GoodRun g;
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  c.set_connection_timeout(5, 0);
  c.set_keep_alive(true);
  std::vector<double> lat;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end && g.sent < 1000) {
    const auto t0 = Clock::now();
    const auto r = c.Get("/healthz");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ++g.sent;
    if (r && r->status == 200) {
      ++g.answered;
      lat.push_back(ms);
    }
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(100));
  }
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    g.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    g.max_ms = lat.back();
  }
  std::printf("well-behaved client: %d/%d answered, p99 %.1f ms, max %.1f ms\n", g.answered,
              g.sent, g.p99_ms, g.max_ms);
  return g;
}

void expect_served(const GoodRun& g) {
  EXPECT_GT(g.sent, 30);
  EXPECT_GE(g.answered * 100, g.sent * 99) << g.answered << "/" << g.sent;
  EXPECT_LT(g.p99_ms, 1000.0);
}

const std::string kSlowHead = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

TEST(SlowClients, TricklingHeadersHoldNoWorkerAndGet408AtTheHeadDeadline) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "2"}},
                 {"--config", write_config(cfg, {{"limits", {{"header_timeout_s", 4}}}})});
  SlowSwarm swarm(d.port(), 8, kSlowHead, std::string(100, 'a'));
  ASSERT_EQ(swarm.connected(), 8);
  const GoodRun g = good_client(d.port(), 7);
  swarm.stop();
  expect_served(g);
  // The head deadline is total, not per byte: every trickler got 408 after 4 s although it sent
  // a byte every second.
  EXPECT_EQ(swarm.answered(408), 8) << swarm.describe() << "\n" << swarm.first_answer();
  EXPECT_NE(swarm.first_answer().find("request head: not received completely within 4 s"),
            std::string::npos)
      << swarm.first_answer();
  for (double s : swarm.closed_after_s()) {
    EXPECT_GT(s, 3.5);
    EXPECT_LT(s, 6.0);
  }
}

// A byte every 2 ms keeps a read of the head completing at any moment, so the deadline fires
// while the head reader is between two reads: it must still cut the head at 4 s (a deadline that
// only cancels the read pending at that instant lets the reader go on until the client stops).
TEST(SlowClients, AHeadArrivingFasterThanTheDeadlineFiresIsStillCutAtTheDeadline) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "2"}},
                 {"--config", write_config(cfg, {{"limits", {{"header_timeout_s", 4}}}})});
  // 7 s of bytes at one per 2 ms: 3,500 bytes, inside the default header limit.
  SlowSwarm swarm(d.port(), 8, kSlowHead, std::string(3500, 'a'), std::chrono::milliseconds(2));
  ASSERT_EQ(swarm.connected(), 8);
  std::this_thread::sleep_for(std::chrono::seconds(7));
  swarm.stop();
  EXPECT_EQ(swarm.answered(408), 8) << swarm.describe();
  for (double s : swarm.closed_after_s()) {
    EXPECT_GT(s, 3.5);
    EXPECT_LT(s, 6.0);
  }
}

TEST(SlowClients, SlowBodiesHoldNoWorkerAndGet408AtTheBodyDeadline) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "2"}},
                 {"--config", write_config(cfg, {{"limits", {{"body_timeout_s", 4}}}})});
  SlowSwarm swarm(d.port(), 16,
                  "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1000\r\n\r\n{",
                  std::string(100, ' '));
  ASSERT_EQ(swarm.connected(), 16);
  const GoodRun g = good_client(d.port(), 7);
  swarm.stop();
  expect_served(g);
  EXPECT_EQ(swarm.answered(408), 16) << swarm.describe() << "\n" << swarm.first_answer();
  EXPECT_NE(swarm.first_answer().find("body: not received completely within 4 s"),
            std::string::npos);
}

TEST(SlowClients, IdleKeepAlivePollersAreClosedAtTheIdleLimit) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "2"}},
                 {"--config", write_config(cfg, {{"limits", {{"keepalive_idle_s", 3}}}})});
  // 64 pollers: one request each, then silence on the kept-alive connection.
  SlowSwarm swarm(d.port(), 64, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "");
  ASSERT_EQ(swarm.connected(), 64);
  const GoodRun g = good_client(d.port(), 6);
  swarm.stop();
  expect_served(g);
  EXPECT_EQ(swarm.answered(200), 64);
  EXPECT_EQ(swarm.closed(), 64) << "idle kept-alive connections must be closed";
  for (double s : swarm.closed_after_s()) {
    EXPECT_GT(s, 2.5);
    EXPECT_LT(s, 5.0);
  }
}

TEST(SlowClients, ManySlowSocketsFromOneAddressAreCappedWith503) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({{"CERTD_THREADS", "2"}},
                 {"--config", write_config(cfg, {{"limits", {{"connections_per_address", 64}}}})});
  SlowSwarm swarm(d.port(), 256, kSlowHead, std::string(100, 'a'));
  ASSERT_EQ(swarm.connected(), 256);
  const GoodRun g = good_client(d.port(), 7);
  swarm.stop();
  expect_served(g);
  // 64 admitted (still trickling: the 10 s head deadline has not passed), 192 answered 503.
  EXPECT_EQ(swarm.answered(503), 192);
  const std::string a503 = [&] {
    const std::string f = swarm.first_answer();
    return f;
  }();
  EXPECT_NE(a503.find("Retry-After: 1\r\n"), std::string::npos) << a503;
  EXPECT_NE(a503.find("https://libcert.example/problems/overloaded"), std::string::npos) << a503;
  EXPECT_NE(a503.find("too many connections"), std::string::npos) << a503;
}

// Behind a trusted proxy the per-address cap counts the forwarded client (the right-most
// X-Forwarded-For entry that is not a trusted proxy); from anyone else the header is not believed.
TEST(SlowClients, TrustedProxyConnectionsAreCappedPerForwardedClient) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({}, {"--config",
                      write_config(cfg, {{"trusted_proxies", {"127.0.0.1", "10.0.0.0/8"}},
                                         {"limits", {{"connections_per_address", 1}}}})});
  auto ask = [&](Raw& s, const std::string& xff) {
    EXPECT_TRUE(s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + xff +
                           "\r\n\r\n"));
    std::string r;
    const auto end = Clock::now() + std::chrono::seconds(5);
    while (r.find("}") == std::string::npos && Clock::now() < end) r += s.read_all(1);
    return r;
  };
  // Three connections from the proxy (127.0.0.1): the proxy's own address is not capped.
  Raw a(d.port()), b(d.port()), c(d.port()), e(d.port());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && e.ok());
  EXPECT_EQ(status_of(ask(a, "198.51.100.7")), 200);  // holds 198.51.100.7's one slot (kept alive)
  // The same client through a second proxy hop (10.1.2.3, trusted): still 198.51.100.7, capped.
  const std::string r = ask(b, "203.0.113.1, 198.51.100.7, 10.1.2.3");
  EXPECT_EQ(status_of(r), 503) << r;
  EXPECT_NE(r.find("too many connections from this address"), std::string::npos) << r;
  EXPECT_EQ(status_of(ask(c, "198.51.100.8")), 200);  // another client
  // A client cannot escape its cap by writing its own X-Forwarded-For: only the right-most
  // untrusted entry counts (here 198.51.100.8, already holding its slot on c).
  EXPECT_EQ(status_of(ask(e, "192.0.2.99, 198.51.100.8")), 503);
  // From an address that is not a trusted proxy the header is ignored: the peer is the client.
  Raw f(d.port(), "127.0.0.2"), g(d.port(), "127.0.0.2");
  ASSERT_TRUE(f.ok() && g.ok());
  EXPECT_EQ(status_of(ask(f, "192.0.2.1")), 200);
  const std::string rg = g.read_all(3);
  EXPECT_EQ(status_of(rg), 503) << rg;  // 127.0.0.2 already holds its one connection
}

TEST(Drain, SigtermWithSlowClientsExitsWithinTheDrainDeadline) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  CertdProcess d({}, {"--config", write_config(cfg, {{"limits", {{"drain_timeout_s", 3}}}})});
  SlowSwarm heads(d.port(), 8, kSlowHead, std::string(100, 'a'));
  SlowSwarm bodies(d.port(), 8,
                   "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 1000\r\n\r\n{",
                   std::string(100, ' '));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto t0 = Clock::now();
  EXPECT_EQ(d.stop(), 0);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  // Slow connections are closed at once; the deadline (3 s) + 1 s bounds the exit in any case.
  EXPECT_LT(secs, 4.0);
  std::printf("SIGTERM to exit with 16 slow clients: %.2f s\n", secs);
  EXPECT_NE(d.log().find("\"msg\":\"draining\""), std::string::npos);
  EXPECT_NE(d.log().find("\"msg\":\"stopped\""), std::string::npos);
}

// Each ambiguous framing is a 400 and the connection is closed: the bytes after it are never
// read as a next request (request smuggling, RFC 9112 §11.2).
void expect_framing_rejected(const CertdProcess& d, const std::string& request,
                             const std::string& detail) {
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(request + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  const std::string r = s.read_all(5, &closed);
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_EQ(count_responses(r), 1) << "a smuggled request was answered: " << r;
  EXPECT_TRUE(closed);
  EXPECT_NE(r.find("https://libcert.example/problems/invalid-request"), std::string::npos) << r;
  EXPECT_NE(r.find(detail), std::string::npos) << r;
}

TEST(Framing, AmbiguousOrForbiddenBodiesAre400AndClose) {
  SKIP_ON_POSTGRES();
  CertdProcess d;
  expect_framing_rejected(d, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nABCD",
                          "GET requests take no body");
  expect_framing_rejected(
      d, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET requests take no body");
  expect_framing_rejected(
      d, "DELETE /v1/licences/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
      "DELETE requests take no body");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                          "Transfer-Encoding 'gzip, chunked' is not supported");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nTransfer-Encoding: gzip\r\n\r\n",
                          "Transfer-Encoding 'gzip' is not supported");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                          "Content-Length given more than once");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                          "request head: malformed");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nContent-Length: +10\r\n\r\n{\"qr\":\"x\"}",
                          "request head: malformed");
  expect_framing_rejected(d,
                          "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          "application/json\r\nContent-Length: 2\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                          "request head: malformed");
  // certd still serves.
  auto c = d.client();
  const auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Framing, PipelinedRequestsAreAnsweredInOrder) {
  SKIP_ON_POSTGRES();
  CertdProcess d;
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-1\r\n\r\n"
      "GET /v1/no-such-route HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-2\r\n\r\n"
      "POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-3\r\nContent-Type: "
      "application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"));
  bool closed = false;
  const std::string r = s.read_all(10, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(count_responses(r), 3) << r;
  const auto a = r.find("X-Request-Id: pipe-1"), b = r.find("X-Request-Id: pipe-2"),
             c = r.find("X-Request-Id: pipe-3");
  ASSERT_NE(a, std::string::npos) << r;
  ASSERT_NE(b, std::string::npos) << r;
  ASSERT_NE(c, std::string::npos) << r;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  const auto second = r.find("HTTP/1.1 ", 1), third = r.find("HTTP/1.1 ", second + 1);
  EXPECT_EQ(status_of(r), 200);
  EXPECT_EQ(status_of(r.substr(second)), 404);
  EXPECT_EQ(status_of(r.substr(third)), 400);  // {} without "qr"
}

TEST(Framing, PostWithoutBodyOrContentLengthIsAnEmptyBodyAnsweredAtOnce) {
  SKIP_ON_POSTGRES();
  CertdProcess d;
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  const auto t0 = Clock::now();
  ASSERT_TRUE(
      s.send_all("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n\r\n"));
  // Read one answer (the connection stays open: keep-alive).
  std::string r;
  while (r.find("}") == std::string::npos && Clock::now() - t0 < std::chrono::seconds(5)) {
    r += s.read_all(1);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(secs, 1.5) << r;
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_NE(r.find("body: empty; send the PDF"), std::string::npos) << r;
}

TEST(Framing, OversizedContentLengthIs413BeforeTheBody) {
  SKIP_ON_POSTGRES();
  CertdProcess d;
  Raw s(d.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(
      "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2000000\r\n\r\n"));
  bool closed = false;
  const std::string r = s.read_all(5, &closed);  // answered without sending a body byte
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_NE(r.find("body: 2000000 bytes exceeds the limit of 1048576 bytes"), std::string::npos)
      << r;
  EXPECT_TRUE(closed);
}

TEST(Signals, SighupReloadsConfigurationAndKeepsServing) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir cfg;
  const std::string path =
      write_config(cfg, {{"limits", {{"connections_per_address", 64}}}});
  CertdProcess d({}, {"--config", path});
  write_config(cfg, {{"limits", {{"connections_per_address", 2}}}});
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (d.log().find("configuration reloaded") == std::string::npos && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(d.log().find("configuration reloaded"), std::string::npos) << d.log();
  // The new cap applies to new connections: two from 127.0.0.2 are held, the third is a 503.
  Raw a(d.port(), "127.0.0.2"), b(d.port(), "127.0.0.2");
  ASSERT_TRUE(a.ok() && b.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Raw c(d.port(), "127.0.0.2");
  ASSERT_TRUE(c.ok());
  const std::string r = c.read_all(3);
  EXPECT_EQ(status_of(r), 503) << r;
  // A broken file on the next SIGHUP: logged, the running configuration stays, still serving.
  std::ofstream(path) << "{\"limits\": {\"connections_per_address\": \"many\"}}";
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  const auto end2 = Clock::now() + std::chrono::seconds(5);
  while (d.log().find("reload failed") == std::string::npos && Clock::now() < end2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(d.log().find("reload failed"), std::string::npos) << d.log();
  auto h = d.client();
  const auto ok = h.Get("/healthz");
  ASSERT_TRUE(ok) << "certd died on SIGHUP";
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Signals, SighupReloadsTheTlsCertificateForNewConnections) {
  SKIP_ON_POSTGRES();
  testsupport::TempDir dir;
  const std::string p = dir.path().string();
  auto make = [&](const std::string& name) {
    const auto r = testsupport::run(
        "cd " + p + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes " +
        "-keyout " + name + ".key -out " + name + ".crt -subj /CN=" + name +
        " -days 2 -addext subjectAltName=IP:127.0.0.1 && chmod 600 " + name + ".key");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  };
  make("first");
  make("second");
  fs::copy_file(dir / "first.crt", dir / "srv.crt");
  fs::copy_file(dir / "first.key", dir / "srv.key");
  fs::permissions(dir / "srv.key", fs::perms::owner_read | fs::perms::owner_write);
  testsupport::TempDir cfg;
  const std::string conf = write_config(
      cfg, {{"tls", {{"cert", p + "/srv.crt"}, {"key", p + "/srv.key"}}}});
  CertdProcess d({}, {"--config", conf});
  auto subject = [&] {
    return testsupport::run("echo | openssl s_client -connect 127.0.0.1:" +
                            std::to_string(d.port()) + " 2>/dev/null | openssl x509 -noout " +
                            "-subject")
        .out;
  };
  EXPECT_NE(subject().find("CN = first"), std::string::npos);
  fs::copy_file(dir / "second.crt", dir / "srv.crt", fs::copy_options::overwrite_existing);
  fs::copy_file(dir / "second.key", dir / "srv.key", fs::copy_options::overwrite_existing);
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (d.log().find("configuration reloaded") == std::string::npos && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(subject().find("CN = second"), std::string::npos) << d.log();
  const auto ok = testsupport::run("curl -sS -k https://127.0.0.1:" + std::to_string(d.port()) +
                                   "/healthz");
  EXPECT_EQ(ok.out, R"({"status":"ok"})");
}

TEST(Signals, WritesPastTheFileSizeLimitDoNotKillCertd) {
  SKIP_ON_POSTGRES();
  CertdProcess d;
  const std::string key = d.make_key("samr");
  const std::string sample = testsupport::slurp(
      std::string(LIBCERT_SOURCE_DIR) + "/templates/business-licence-enterprise/sample.json");
  const std::string body = nlohmann::json{{"template", "business-licence-enterprise"},
                                          {"data", nlohmann::json::parse(sample)}}
                               .dump();
  auto c = d.client();
  {  // Issuing works before the limit.
    httplib::Headers h = certdtest::bearer(key);
    h.emplace("Idempotency-Key", "fsize-before");
    const auto r = c.Post("/v1/licences", h, body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  // `ulimit -f` for the running certd: its files may grow by 64 KB at most from here.
  std::uintmax_t biggest = 0;
  for (const auto& e : fs::recursive_directory_iterator(d.dir().path())) {
    if (e.is_regular_file()) biggest = std::max(biggest, e.file_size());
  }
  rlimit lim{};
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_FSIZE, nullptr, &lim), 0);
  lim.rlim_cur = static_cast<rlim_t>(biggest + (64u << 10));
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_FSIZE, &lim, nullptr), 0);
  int failed = 0, answered = 0;
  std::string failure;
  for (int i = 0; i < 30 && failed == 0; ++i) {
    httplib::Headers h = certdtest::bearer(key);
    h.emplace("Idempotency-Key", "fsize-" + std::to_string(i));
    const auto r = c.Post("/v1/licences", h, body, "application/json");
    ASSERT_TRUE(r) << "certd did not answer (killed by SIGXFSZ?) after " << i << " issues";
    ++answered;
    if (r->status >= 500) {
      ++failed;
      failure = std::to_string(r->status) + " " + r->body;
    }
  }
  EXPECT_EQ(failed, 1) << "the file size limit was never reached";
  const auto h = c.Get("/healthz");
  ASSERT_TRUE(h) << "certd died";
  EXPECT_EQ(h->status, 200);
  std::printf("%d issues answered; the write past the limit failed without killing certd: %s\n",
              answered, failure.c_str());
}

}  // namespace
