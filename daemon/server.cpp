#include "server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "problem.h"

namespace certd {

namespace {

// Set on the threads that answer connections the pool has no room for (see BoundedPool).
thread_local bool t_shedding = false;

// httplib's ThreadPool has an unbounded queue. This one is bounded: when `max_queue` connections
// wait for a worker, a new connection is handed to one of two shedding threads instead, which
// read its request line and headers (bounded by the read timeout and header limit) and answer 503
// with Retry-After and Connection: close — the client learns at once to come back later, and the
// workers keep serving the queue (issue 10: overload is a 503, not a collapse). Only when the
// shedding queue is full too does the accept loop block, leaving further clients in the kernel's
// listen backlog: memory stays bounded in every case.
class BoundedPool final : public httplib::TaskQueue {
 public:
  static constexpr std::size_t kShedThreads = 2;
  static constexpr std::size_t kShedQueue = 64;

  BoundedPool(std::size_t threads, std::size_t max_queue) : max_queue_(max_queue) {
    for (std::size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { work(jobs_, false); });
    }
    for (std::size_t i = 0; i < kShedThreads; ++i) {
      workers_.emplace_back([this] { work(shed_, true); });
    }
  }
  ~BoundedPool() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock l(mu_);
    not_full_.wait(l,
                   [&] { return jobs_.size() < max_queue_ || shed_.size() < kShedQueue || stop_; });
    if (stop_) return;
    if (jobs_.size() < max_queue_) {
      jobs_.push_back(std::move(fn));
    } else {
      shed_.push_back(std::move(fn));
    }
    not_empty_.notify_all();
  }

  void shutdown() override {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work(std::deque<std::function<void()>>& queue, bool shedding) {
    t_shedding = shedding;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock l(mu_);
        not_empty_.wait(l, [&] { return !queue.empty() || stop_; });
        if (queue.empty()) return;  // stopping and drained
        fn = std::move(queue.front());
        queue.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }

  std::size_t max_queue_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  std::deque<std::function<void()>> shed_;  // GUARDED_BY(mu_)
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// cpp-httplib 0.11 decides keep-alive from the request alone, so "Connection: close" in one of
// our answers does not end the connection: the worker would go on reading from a client it just
// refused (the rest of a slow body, another slow request). This finds the connection's socket by
// its address pair and shuts its reading side; after writing the response httplib reads end of
// file and closes the socket itself (it still owns the descriptor: nothing is closed here).
// Set while handling a request that must be the connection's last (see set_logger in serve()).
thread_local bool t_close_after = false;

void end_connection(const httplib::Request& req) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    const std::string name = e.path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    sockaddr_storage peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) {
      continue;
    }
    auto addr_port = [](const sockaddr_storage& a, std::string& addr, int& port) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (a.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
        inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
        port = ntohs(v4->sin_port);
      } else if (a.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
        inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
        port = ntohs(v6->sin6_port);
      } else {
        return false;
      }
      addr = buf;
      return true;
    };
    std::string pa, la;
    int pp = -1, lp = -1;
    if (!addr_port(peer, pa, pp) || !addr_port(local, la, lp)) continue;
    if (pp == req.remote_port && pa == req.remote_addr && lp == req.local_port) {
      shutdown(fd, SHUT_RD);
      return;
    }
  }
}

// Shutting the reading side before the response is written would make httplib think the client
// left (it peeks for end of file before writing), so this only marks the request; the logger,
// which httplib calls after the response is written, ends the connection.
void end_connection_after_response(const httplib::Request&) { t_close_after = true; }

// A problem+json answer produced here (before the App sees the request), with a request id.
void problem(httplib::Response& res, const httplib::Request& req, const ApiError& e) {
  const std::string rid =
      "srv-" + std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()) % 100000000);
  const HttpResponse p = problem_response(e, req.path, rid);
  res.status = p.status;
  for (const auto& [k, v] : p.headers) res.set_header(k, v);
  res.set_header("X-Request-Id", rid);
  res.set_content(p.body, p.content_type);
}

HttpRequest to_request(const httplib::Request& in) {
  HttpRequest r;
  r.method = in.method;
  r.path = in.path;
  r.body = in.body;
  r.remote_addr = in.remote_addr;
  for (const auto& [k, v] : in.params) r.query.emplace(k, v);
  for (const auto& [k, v] : in.headers) r.headers.emplace_back(k, v);
  return r;
}

void to_response(const HttpResponse& in, httplib::Response& out) {
  out.status = in.status;
  for (const auto& [k, v] : in.headers) out.set_header(k, v);
  if (in.status != 304 && in.status != 204) out.set_content(in.body, in.content_type);
}

}  // namespace

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int serve(const Config& config, const App& app, const std::string& port_file,
          const std::function<void(const std::string&)>& log) {
  std::unique_ptr<httplib::Server> srv;
  if (!config.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        config.tls_cert.c_str(), config.tls_key.c_str(),
        config.tls_client_ca.empty() ? nullptr : config.tls_client_ca.c_str());
    if (!ssl->is_valid()) {
      log(nlohmann::json{
          {"level", "error"},
          {"msg", "cannot load TLS certificate/key (tls.cert, tls.key, tls.client_ca)"}}
              .dump());
      return 1;
    }
    srv = std::move(ssl);
  } else {
    srv = std::make_unique<httplib::Server>();
  }
  const auto threads = static_cast<std::size_t>(config.threads);
  const std::size_t max_queue = config.max_queue;
  srv->new_task_queue = [threads, max_queue] { return new BoundedPool(threads, max_queue); };
  srv->set_read_timeout(config.limits.read_timeout_s, 0);
  srv->set_write_timeout(config.limits.write_timeout_s, 0);
  // httplib writes the status line + headers and the body separately; with Nagle's algorithm the
  // body then waits for the client's delayed ACK (40 ms on Linux) on every keep-alive request, which
  // capped certd at ~25 requests/s per connection (bench/README.md "certd over HTTP").
  srv->set_tcp_nodelay(true);
  // The largest body any route accepts; each route checks its own, smaller, limit (JSON 1 MB).
  srv->set_payload_max_length(
      std::max(config.limits.pdf_body_bytes, config.limits.json_body_bytes));

  // Before routing and before any body is read: overload shedding and the header limit.
  const std::size_t header_limit = config.limits.header_bytes;
  srv->set_pre_routing_handler([header_limit](const httplib::Request& req, httplib::Response& res) {
    if (t_shedding) {
      ApiError e(503, "overloaded", "Service overloaded",
                 "every worker is busy and the queue is full; retry after 1 s");
      e.headers.emplace_back("Retry-After", "1");
      problem(res, req, e);
      res.set_header("Connection", "close");
      end_connection_after_response(req);
      return httplib::Server::HandlerResponse::Handled;
    }
    // RFC 6585 §5: 431 when the header fields are too large. (A single line above 8 KB is
    // already refused by cpp-httplib with 400.)
    std::size_t bytes = req.method.size() + req.path.size() + 12;
    for (const auto& [k, v] : req.headers) bytes += k.size() + v.size() + 4;
    for (const auto& [k, v] : req.params) bytes += k.size() + v.size() + 2;
    if (bytes > header_limit) {
      problem(res, req,
              ApiError(431, "headers-too-large", "Request header fields too large",
                       "headers: " + std::to_string(bytes) + " bytes exceed the limit of " +
                           std::to_string(header_limit)));
      res.set_header("Connection", "close");
      end_connection_after_response(req);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  srv->set_logger([](const httplib::Request& req, const httplib::Response&) {
    if (!t_close_after) return;
    t_close_after = false;
    end_connection(req);
  });

  auto handler = [&app](const httplib::Request& req, httplib::Response& res) {
    to_response(app.handle(to_request(req)), res);
  };
  // Requests with a body read it here, chunk by chunk, against a deadline for the whole body: the
  // read timeout alone restarts with every byte, so a client sending one byte every few seconds
  // (slowloris) would hold a worker for ever.
  const auto body_timeout = std::chrono::seconds(config.limits.body_timeout_s);
  const std::size_t body_max =
      std::max(config.limits.pdf_body_bytes, config.limits.json_body_bytes);
  auto body_handler = [&app, body_timeout, body_max](const httplib::Request& req,
                                                     httplib::Response& res,
                                                     const httplib::ContentReader& reader) {
    const auto deadline = std::chrono::steady_clock::now() + body_timeout;
    std::string body;
    bool late = false, too_big = false;
    const bool ok = reader([&](const char* data, std::size_t n) {
      if (std::chrono::steady_clock::now() > deadline) {
        late = true;
        return false;
      }
      if (body.size() + n > body_max) {
        too_big = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    // httplib refuses a Content-Length above the payload limit itself and says so in res.status.
    if (!ok && res.status == 413) too_big = true;
    if (late || too_big || !ok) {
      ApiError e = late      ? ApiError(408, "request-timeout", "Request timeout",
                                        "body: not received completely within " +
                                            std::to_string(body_timeout.count()) + " s")
                   : too_big ? ApiError(413, "payload-too-large", "Payload too large",
                                        "body: exceeds the server's largest body limit")
                             : ApiError(400, "invalid-request", "Invalid request",
                                        "body: could not be read completely");
      problem(res, req, e);
      res.set_header("Connection", "close");
      end_connection_after_response(req);
      return;
    }
    HttpRequest r = to_request(req);
    r.body = std::move(body);
    to_response(app.handle(std::move(r)), res);
  };
  srv->Get(R"(/.*)", handler);
  srv->Post(R"(/.*)", body_handler);
  srv->Put(R"(/.*)", body_handler);
  srv->Delete(R"(/.*)", handler);
  srv->Patch(R"(/.*)", body_handler);
  // Errors httplib produces itself (413 above the global limit, 400 for a broken request line,
  // 404 for OPTIONS...) become problem+json too, with a request id.
  srv->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // A request httplib could not parse or would not take: the rest of the connection
        // cannot be trusted to be a next request.
        if (res.status == 400 || res.status == 413 || res.status == 414) {
          end_connection_after_response(req);
        }
        std::string slug = "http-error", title = "HTTP error", detail = "the request was rejected";
        if (res.status == 413) {
          slug = "payload-too-large";
          title = "Payload too large";
          detail = "body: exceeds the server's largest body limit";
        }
        ApiError e(res.status, slug, title, detail);
        std::string rid;
        if (res.has_header("X-Request-Id")) {
          rid = res.get_header_value("X-Request-Id");
        } else {
          rid = "srv-" + std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()) %
                                        100000000);
          res.set_header("X-Request-Id", rid);
        }
        const HttpResponse p = problem_response(e, req.path, rid);
        res.set_content(p.body, p.content_type);
        return httplib::Server::HandlerResponse::Handled;
      }));

  int port = config.port;
  if (port == 0) {
    port = srv->bind_to_any_port(config.listen);
  } else if (!srv->bind_to_port(config.listen, port)) {
    port = -1;
  }
  if (port < 0) {
    log(nlohmann::json{{"level", "error"},
                       {"msg", "cannot bind"},
                       {"listen", config.listen},
                       {"port", config.port}}
            .dump());
    return 1;
  }
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << port << "\n";
    }
    std::rename(tmp.c_str(), port_file.c_str());
  }
  log(nlohmann::json{{"level", "info"},
                     {"msg", "listening"},
                     {"listen", config.listen},
                     {"port", port},
                     {"tls", !config.tls_cert.empty()},
                     {"mutual_tls", !config.tls_client_ca.empty()}}
          .dump());

  std::thread stopper([&srv] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    srv->stop();
  });
  srv->listen_after_bind();
  // listen_after_bind returned: either stop() was called by the signal thread, or the socket
  // failed; make sure the signal thread ends in both cases.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  log(nlohmann::json{{"level", "info"}, {"msg", "stopped"}}.dump());
  return 0;
}

}  // namespace certd
