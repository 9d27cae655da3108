#include "server.h"

#include <httplib.h>
#include <signal.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "problem.h"

namespace certd {

namespace {

// httplib's ThreadPool has an unbounded queue. This one is bounded: when `max_queue` connections
// wait, the accept loop blocks in enqueue(), so further clients wait in the kernel's listen
// backlog instead of growing memory without limit.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(std::size_t threads, std::size_t max_queue) : max_queue_(max_queue) {
    for (std::size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  ~BoundedPool() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock l(mu_);
    not_full_.wait(l, [&] { return jobs_.size() < max_queue_ || stop_; });
    if (stop_) return;
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
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
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock l(mu_);
        not_empty_.wait(l, [&] { return !jobs_.empty() || stop_; });
        if (jobs_.empty()) return;  // stopping and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }

  std::size_t max_queue_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

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
  // The largest body any route accepts; each route checks its own, smaller, limit (JSON 1 MB).
  srv->set_payload_max_length(
      std::max(config.limits.pdf_body_bytes, config.limits.json_body_bytes));

  auto handler = [&app](const httplib::Request& req, httplib::Response& res) {
    to_response(app.handle(to_request(req)), res);
  };
  srv->Get(R"(/.*)", handler);
  srv->Post(R"(/.*)", handler);
  srv->Put(R"(/.*)", handler);
  srv->Delete(R"(/.*)", handler);
  srv->Patch(R"(/.*)", handler);
  // Errors httplib produces itself (413 above the global limit, 400 for a broken request line,
  // 404 for OPTIONS...) become problem+json too, with a request id.
  srv->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
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
