// daemon/server.cpp — certd's HTTP/1.1 server on Boost.Beast + Asio (issue 17).
//
// Why not cpp-httplib any more (docs/service.md "Connections", figures there): httplib hands every
// accepted socket to a pool thread before a byte of the request has arrived, and its read timeout
// restarts with every byte, so N sockets trickling a header hold N workers and 8 of them stopped
// all service. Here one or two I/O threads own every socket and read requests asynchronously
// against TOTAL deadlines (head, body); only a request whose head and body have fully arrived is
// handed to the bounded worker pool that runs App::handle, and the answer is written back by the
// I/O threads. A slow or idle connection costs a socket and a few KB, never a worker.
//
// The only file that includes Boost (as a system include: its headers are not -Werror clean).
#include "server.h"

#include <signal.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_set>

#include "problem.h"

namespace certd {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// RFC 9112 §3 recommends supporting request lines of at least 8000 octets; longer targets are
// 414 and longer single field lines 431 (RFC 6585 §5), the whole head is limited by header_bytes.
constexpr std::size_t kMaxTarget = 8192;
constexpr std::size_t kMaxFieldLine = 8192;
// After a final answer that closes the connection, unread request bytes are read and dropped for
// a short while before closing (RFC 9112 §9.6 "lingering close"): closing with unread data makes
// the kernel send RST, and the client would lose the answer (a 413 sent before the body).
constexpr auto kLingerTime = std::chrono::seconds(5);
// How often a fired deadline cancels again while the operation it cut has not yet completed.
constexpr auto kRecancel = std::chrono::milliseconds(20);
// A large body gets more time than body_timeout_s: its deadline is the longer of body_timeout_s
// and Content-Length at this minimum rate (a 20 MB PDF: 320 s), so that a legitimate upload on a
// slow link is not cut while a trickling client is still bounded (and costs no worker meanwhile).
constexpr std::uint64_t kMinBodyBytesPerSecond = 64u << 10;
constexpr std::size_t kLingerBytes = 64u << 20;

// The part of the configuration SIGHUP may change; connections take a snapshot when accepted.
struct Settings {
  std::chrono::seconds head_timeout{10}, keepalive_idle{5}, read_timeout{10}, body_timeout{30},
      write_timeout{30}, drain_timeout{10};
  std::size_t header_bytes = 32u << 10;
  std::size_t json_body_bytes = 1u << 20, pdf_body_bytes = 20u << 20;
  std::size_t max_connections = 512, per_address = 64;
  std::vector<IpRange> trusted;

  static std::shared_ptr<const Settings> from(const Config& c) {
    auto s = std::make_shared<Settings>();
    const Limits& L = c.limits;
    s->head_timeout = std::chrono::seconds(L.header_timeout_s);
    s->keepalive_idle = std::chrono::seconds(L.keepalive_idle_s);
    s->read_timeout = std::chrono::seconds(L.read_timeout_s);
    s->body_timeout = std::chrono::seconds(L.body_timeout_s);
    s->write_timeout = std::chrono::seconds(L.write_timeout_s);
    s->drain_timeout = std::chrono::seconds(L.drain_timeout_s);
    s->header_bytes = L.header_bytes;
    s->json_body_bytes = L.json_body_bytes;
    s->pdf_body_bytes = L.pdf_body_bytes;
    s->max_connections = L.max_connections;
    s->per_address = L.connections_per_address;
    s->trusted = c.trusted_proxy_ranges;
    return s;
  }
};

// The bounded pool that runs App::handle. try_post refuses (the caller answers 503) instead of
// queueing without bound: overload is a fast 503, not a growing latency for everyone.
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queue) : max_queue_(max_queue) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool try_post(std::function<void()> fn) {
    std::lock_guard l(mu_);
    if (stop_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(fn));
    cv_.notify_one();
    return true;
  }
  // Lets running jobs finish, drops queued ones (the drain deadline has passed), joins.
  void stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard l(mu_);
      stop_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  std::size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Percent-decoding as cpp-httplib did it (the App's path checks were written against it): %XX
// becomes the byte, anything else stays; in a query '+' is a space (HTML form encoding).
std::string percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 9112 §6 message framing, checked on the head before any body byte is read. Beast's parser
// takes several things a strict server must not (equal repeated Content-Length values,
// "gzip, chunked", a non-chunked Transfer-Encoding read as "no body"); anything ambiguous is a
// 400 and the connection is closed, because the rest of the stream cannot be trusted to be the
// next request (request smuggling, §11.2).
template <class Fields>
std::optional<std::string> framing_error(const http::request_header<Fields>& h) {
  int n_cl = 0, n_te = 0;
  std::string cl, te;
  for (const auto& f : h) {
    if (f.name() == http::field::content_length) {
      ++n_cl;
      cl = std::string(f.value());
    } else if (f.name() == http::field::transfer_encoding) {
      ++n_te;
      te = std::string(f.value());
    }
  }
  if (n_cl > 0 && n_te > 0) {
    return "headers: both Content-Length and Transfer-Encoding (RFC 9112 §6.1)";
  }
  if (n_cl > 1) return "headers: Content-Length given more than once (RFC 9112 §6.3)";
  if (n_cl == 1 && (cl.empty() || cl.size() > 18 ||
                    cl.find_first_not_of("0123456789") != std::string::npos)) {
    return "headers: Content-Length must be decimal digits only (RFC 9110 §8.6), got '" +
           cl.substr(0, 32) + "'";
  }
  if (n_te > 1) return "headers: Transfer-Encoding given more than once";
  if (n_te == 1 && lower(trim(te)) != "chunked") {
    return "headers: Transfer-Encoding '" + te.substr(0, 64) +
           "' is not supported; only 'chunked' (RFC 9112 §6.1)";
  }
  const auto m = h.method();
  const bool has_body = n_te == 1 || (n_cl == 1 && cl.find_first_not_of('0') != std::string::npos);
  if (has_body && (m == http::verb::get || m == http::verb::head || m == http::verb::delete_)) {
    return "body: " + std::string(h.method_string()) +
           " requests take no body here (RFC 9110 §9.3.1: no defined semantics)";
  }
  return std::nullopt;
}

class Server;

// A connection, type-erased for the server's registry (drain on SIGTERM).
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void drain() = 0;
  virtual asio::any_io_executor executor() = 0;
};

class Server {
 public:
  Server(const Config& config, const App& app, std::function<void(const std::string&)> log)
      : app_(app),
        log_(std::move(log)),
        settings_(Settings::from(config)),
        pool_(static_cast<std::size_t>(config.threads), config.max_queue) {}

  const App& app() const { return app_; }
  WorkerPool& pool() { return pool_; }
  void log(const nlohmann::json& j) const {
    log_(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  std::shared_ptr<const Settings> settings() const {
    std::lock_guard l(mu_);
    return settings_;
  }
  void set_settings(std::shared_ptr<const Settings> s) {
    std::lock_guard l(mu_);
    settings_ = std::move(s);
  }
  std::shared_ptr<ssl::context> tls() const {
    std::lock_guard l(mu_);
    return tls_;
  }
  void set_tls(std::shared_ptr<ssl::context> t) {
    std::lock_guard l(mu_);
    tls_ = std::move(t);
  }

  // Connection slots: one global count and one per client address (empty: not counted per
  // address, e.g. a trusted proxy's own address).
  bool acquire(const std::string& addr, const Settings& s) {
    std::lock_guard l(mu_);
    if (connections_ >= s.max_connections) return false;
    if (!addr.empty() && per_address_[addr] >= s.per_address) return false;
    ++connections_;
    if (!addr.empty()) ++per_address_[addr];
    return true;
  }
  bool acquire_address(const std::string& addr, const Settings& s) {
    std::lock_guard l(mu_);
    if (per_address_[addr] >= s.per_address) return false;
    ++per_address_[addr];
    return true;
  }
  void release(const std::string& addr, bool connection) {
    std::lock_guard l(mu_);
    if (connection) --connections_;
    if (!addr.empty()) {
      auto it = per_address_.find(addr);
      if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    }
  }

  void add(SessionBase* s) {
    std::lock_guard l(mu_);
    sessions_.insert(s);
  }
  void remove(SessionBase* s) {
    std::lock_guard l(mu_);
    sessions_.erase(s);
  }
  std::size_t open_sessions() const {
    std::lock_guard l(mu_);
    return sessions_.size();
  }
  void drain_all() {
    std::lock_guard l(mu_);
    draining_ = true;
    for (SessionBase* s : sessions_) {
      asio::post(s->executor(), [w = s->weak_from_this()] {
        if (auto p = w.lock()) p->drain();
      });
    }
  }
  bool draining() const {
    std::lock_guard l(mu_);
    return draining_;
  }
  std::string next_request_id() { return "srv-" + std::to_string(++request_counter_); }

 private:
  const App& app_;
  std::function<void(const std::string&)> log_;
  mutable std::mutex mu_;
  std::shared_ptr<const Settings> settings_;  // GUARDED_BY(mu_)
  std::shared_ptr<ssl::context> tls_;         // GUARDED_BY(mu_)
  std::size_t connections_ = 0;               // GUARDED_BY(mu_)
  std::map<std::string, std::size_t> per_address_;  // GUARDED_BY(mu_)
  std::unordered_set<SessionBase*> sessions_;       // GUARDED_BY(mu_)
  bool draining_ = false;                           // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> request_counter_{0};
  WorkerPool pool_;
};

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

// One connection. Every handler runs on the connection's strand (the socket's executor); the
// worker pool only runs App::handle and posts the answer back to that strand.
template <class Stream>
class Session final : public SessionBase {
 public:
  enum class Phase { kStart, kHead, kBody, kWork, kWrite, kLinger, kClosed };
  enum class Timeout { kNone, kHead, kIdle, kBodyTotal, kBodyStall, kWrite, kDrain, kLinger };

  // `slot`: the address whose per-address slot this connection holds ("" none); `counted`: it
  // holds a global connection slot. `reject`: answer 503 at once and close (over a cap).
  Session(Server& srv, std::string peer, bool peer_trusted, std::string slot, bool counted,
          std::optional<ApiError> reject, std::shared_ptr<ssl::context> ctx, tcp::socket socket)
      : srv_(srv),
        ctx_(std::move(ctx)),
        stream_(make_stream(std::move(socket), ctx_.get())),
        timer_(stream_.get_executor()),
        settings_(srv.settings()),
        peer_(std::move(peer)),
        peer_trusted_(peer_trusted),
        slot_(std::move(slot)),
        counted_(counted),
        reject_(std::move(reject)),
        accepted_(Clock::now()) {}

  ~Session() override {
    srv_.release(slot_, counted_);
    if (!xff_slot_.empty()) srv_.release(xff_slot_, false);
    srv_.remove(this);
  }

  void start() {
    srv_.add(this);
    asio::dispatch(stream_.get_executor(), [self = self()] { self->begin(); });
  }

  asio::any_io_executor executor() override { return stream_.get_executor(); }

  // SIGTERM: a connection waiting for (or in the middle of) a request is closed now; one whose
  // request is being handled or answered finishes it, with Connection: close.
  void drain() override {
    draining_ = true;
    if (phase_ == Phase::kWork || phase_ == Phase::kWrite) return;
    fired_ = Timeout::kDrain;
    close();
  }

 private:
  // The TLS context must outlive the stream built on it (a SIGHUP may replace the server's).
  static Stream make_stream(tcp::socket s, ssl::context* ctx) {
    if constexpr (kTls<Stream>) {
      return Stream(std::move(s), *ctx);
    } else {
      (void)ctx;
      return s;
    }
  }
  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void arm(Clock::time_point deadline, Timeout kind) {
    const unsigned gen = ++gen_;
    fired_ = Timeout::kNone;
    timer_.expires_at(deadline);
    wait_deadline(gen, kind);
  }
  // cancel() reaches only the socket operation pending at that moment. A composed operation
  // (async_read_header, async_write) whose inner read had completed, its handler queued, when the
  // deadline fired starts its next inner read after the cancel, untouched by it: a trickler whose
  // byte arrives with the deadline would be read on past it. So the deadline, once fired, cancels
  // again every kRecancel until the operation's own handler disarms it (gen_ moves on).
  void wait_deadline(unsigned gen, Timeout kind) {
    timer_.async_wait([self = self(), gen, kind](const beast::error_code& ec) {
      if (ec || gen != self->gen_) return;
      self->fired_ = kind;
      beast::error_code ignored;
      self->lowest().cancel(ignored);
      self->timer_.expires_after(kRecancel);
      self->wait_deadline(gen, kind);
    });
  }
  void disarm() {
    ++gen_;
    timer_.cancel();
  }

  void begin() {
    if (draining_ || srv_.draining()) return close();
    if (reject_) {
      // Over a connection cap: answer without reading a request (the client's request, if it
      // sends one, is read and dropped by the lingering close).
      return problem(*reject_, true);
    }
    if constexpr (kTls<Stream>) {
      phase_ = Phase::kStart;
      arm(accepted_ + settings_->head_timeout, Timeout::kHead);
      stream_.async_handshake(ssl::stream_base::server, [self = self()](beast::error_code ec) {
        self->disarm();
        if (ec || self->fired_ != Timeout::kNone) return self->close();
        self->read_head();
      });
    } else {
      read_head();
    }
  }

  void read_head() {
    if (draining_) return close();
    phase_ = Phase::kHead;
    head_.emplace();
    body_.reset();
    head_->header_limit(static_cast<std::uint32_t>(settings_->header_bytes));
    // The route's body limit is applied on the head below (413); the parser's own default (1 MB,
    // checked against Content-Length while parsing the head) would answer first, as a 400.
    head_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // The first request's head must arrive within head_timeout of the accept (TLS handshake
    // included); on a kept-alive connection with nothing buffered, the next head must arrive
    // within keepalive_idle (an idle connection is closed quietly then).
    if (first_) {
      arm(accepted_ + settings_->head_timeout, Timeout::kHead);
    } else if (buffer_.size() == 0) {
      arm(Clock::now() + settings_->keepalive_idle, Timeout::kIdle);
    } else {
      arm(Clock::now() + settings_->head_timeout, Timeout::kHead);
    }
    http::async_read_header(stream_, buffer_, *head_,
                            [self = self()](beast::error_code ec, std::size_t) {
                              self->on_head(ec);
                            });
  }

  void on_head(beast::error_code ec) {
    disarm();
    const Timeout fired = fired_;
    if (fired == Timeout::kDrain) return close();
    if (fired == Timeout::kHead || fired == Timeout::kIdle) {
      if (!head_->got_some()) return close();  // an idle connection: nothing to answer
      const auto limit = fired == Timeout::kHead ? settings_->head_timeout : settings_->keepalive_idle;
      return problem(ApiError(408, "request-timeout", "Request timeout",
                              "request head: not received completely within " +
                                  std::to_string(limit.count()) + " s"),
                     true);
    }
    if (ec == http::error::header_limit) {
      return problem(ApiError(431, "headers-too-large", "Request header fields too large",
                              "headers: more than " + std::to_string(settings_->header_bytes) +
                                  " bytes; they exceed the limit of " +
                                  std::to_string(settings_->header_bytes)),
                     true);
    }
    if (ec.category() == beast::error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return problem(ApiError(400, "invalid-request", "Invalid request",
                              "request head: malformed (" + ec.message() + ")"),
                     true);
    }
    if (ec) return close();  // the client left (end of stream, reset, TLS error)

    auto& h = head_->get();
    {
      const std::string_view t(h.target().data(), std::min(h.target().size(), kMaxTarget));
      path_ = percent_decode(t.substr(0, t.find('?')), false);  // the problem's "instance"
    }
    if (h.target().size() > kMaxTarget) {
      return problem(ApiError(414, "uri-too-long", "URI too long",
                              "request target: " + std::to_string(h.target().size()) +
                                  " bytes exceed the limit of " + std::to_string(kMaxTarget)),
                     true);
    }
    for (const auto& f : h) {
      if (f.name_string().size() + f.value().size() + 2 > kMaxFieldLine) {
        return problem(ApiError(431, "headers-too-large", "Request header fields too large",
                                "header " + std::string(f.name_string()).substr(0, 64) +
                                    ": a field line longer than " + std::to_string(kMaxFieldLine) +
                                    " bytes exceed the limit of " +
                                    std::to_string(kMaxFieldLine)),
                       true);
      }
    }
    if (h.target().empty() || h.target()[0] != '/') {
      return problem(ApiError(400, "invalid-request", "Invalid request",
                              "request target: expected an absolute path (origin-form, RFC 9112 "
                              "§3.2.1)"),
                     true);
    }
    if (h.version() != 11 && h.version() != 10) {
      return problem(ApiError(505, "http-version-not-supported", "HTTP version not supported",
                              "request line: HTTP/1.0 and HTTP/1.1 only"),
                     true);
    }
    if (auto bad = framing_error(h)) {
      return problem(ApiError(400, "invalid-request", "Invalid request", *bad), true);
    }
    remote_addr_ = client_address(h);
    if (remote_addr_ != peer_ && xff_slot_.empty()) {
      // Behind a trusted proxy the per-address cap applies to the forwarded client.
      if (!srv_.acquire_address(remote_addr_, *settings_)) {
        return problem(too_many_connections(), true);
      }
      xff_slot_ = remote_addr_;
    }

    const bool chunked = head_->chunked();
    const auto length = head_->content_length();
    if (!chunked && (!length || *length == 0)) {
      // RFC 9112 §6.3 (7): a request with neither Content-Length nor Transfer-Encoding has an
      // empty body; it is answered at once.
      return dispatch(h, std::string());
    }
    // Route limits as the App applies them: licence file uploads to /v1/verify (PDF, OFD, or
    // either as octet-stream), JSON everywhere else.
    std::string ct = std::string(h[http::field::content_type]);
    if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
    ct = lower(trim(ct));
    const bool pdf =
        ct == "application/pdf" || ct == "application/ofd" || ct == "application/octet-stream";
    body_limit_ = pdf ? settings_->pdf_body_bytes : settings_->json_body_bytes;
    if (length && *length > body_limit_) {
      return problem(ApiError(413, "payload-too-large", "Payload too large",
                              "body: " + std::to_string(*length) + " bytes exceeds the limit of " +
                                  std::to_string(body_limit_) + " bytes" +
                                  (pdf ? " for a licence file" : " for JSON")),
                     true);
    }
    body_.emplace(std::move(*head_));
    head_.reset();
    body_->body_limit(body_limit_);
    body_seconds_ = settings_->body_timeout;
    if (length) {
      body_seconds_ = std::max(
          body_seconds_,
          std::chrono::seconds(static_cast<std::int64_t>(*length / kMinBodyBytesPerSecond)));
    }
    body_deadline_ = Clock::now() + body_seconds_;
    phase_ = Phase::kBody;
    if (lower(trim(std::string(body_->get()[http::field::expect]))) == "100-continue") {
      // RFC 9110 §10.1.1: the client waits for this before sending the body.
      static const std::string k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(Clock::now() + settings_->write_timeout, Timeout::kWrite);
      asio::async_write(stream_, asio::buffer(k100),
                        [self = self()](beast::error_code e, std::size_t) {
                          self->disarm();
                          if (e || self->fired_ != Timeout::kNone) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  // The body is read piece by piece: each piece must come within read_timeout (a stalled
  // client: 400), the whole body within body_timeout of its head (a trickling client: 408).
  void read_body() {
    if (body_->is_done()) {
      auto& m = body_->get();
      std::string body = std::move(m.body());
      return dispatch(m, std::move(body));
    }
    const auto stall = Clock::now() + settings_->read_timeout;
    if (stall < body_deadline_) {
      arm(stall, Timeout::kBodyStall);
    } else {
      arm(body_deadline_, Timeout::kBodyTotal);
    }
    http::async_read_some(stream_, buffer_, *body_,
                          [self = self()](beast::error_code ec, std::size_t) {
                            self->on_body(ec);
                          });
  }

  void on_body(beast::error_code ec) {
    disarm();
    switch (fired_) {
      case Timeout::kDrain:
        return close();
      case Timeout::kBodyTotal:
        return problem(ApiError(408, "request-timeout", "Request timeout",
                                "body: not received completely within " +
                                    std::to_string(body_seconds_.count()) + " s"),
                       true);
      case Timeout::kBodyStall:
        return problem(ApiError(400, "invalid-request", "Invalid request",
                                "body: could not be read completely (nothing received for " +
                                    std::to_string(settings_->read_timeout.count()) + " s)"),
                       true);
      default:
        break;
    }
    if (ec == http::error::body_limit) {
      return problem(ApiError(413, "payload-too-large", "Payload too large",
                              "body: exceeds the limit of " + std::to_string(body_limit_) +
                                  " bytes"),
                     true);
    }
    if (ec.category() == beast::error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return problem(ApiError(400, "invalid-request", "Invalid request",
                              "body: malformed chunked encoding (" + ec.message() + ")"),
                     true);
    }
    if (ec) return close();
    read_body();
  }

  // The client's address: the peer, or behind a trusted proxy the right-most X-Forwarded-For
  // entry that is not itself a trusted proxy (entries left of it are the client's own claims).
  template <class Fields>
  std::string client_address(const http::request_header<Fields>& h) const {
    if (!peer_trusted_) return peer_;
    std::vector<std::string> hops;
    for (const auto& f : h) {
      if (!beast::iequals(f.name_string(), "X-Forwarded-For")) continue;
      std::string_view v(f.value().data(), f.value().size());
      while (!v.empty()) {
        const auto comma = v.find(',');
        hops.push_back(trim(v.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
      auto ip = parse_ip(*it);
      if (!ip) return peer_;  // a malformed hop: trust nothing further left
      bool trusted = false;
      for (const auto& r : settings_->trusted) trusted = trusted || r.contains(*ip);
      if (!trusted) return *it;
    }
    return peer_;
  }

  template <class Message>
  void dispatch(const Message& m, std::string body) {
    HttpRequest r;
    r.method = std::string(m.method_string());
    const std::string_view target(m.target().data(), m.target().size());
    const auto q = target.find('?');
    r.path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
      std::string_view qs = target.substr(q + 1);
      while (!qs.empty()) {
        const auto amp = qs.find('&');
        const std::string_view kv = qs.substr(0, amp);
        if (!kv.empty()) {
          const auto eq = kv.find('=');
          r.query.emplace(percent_decode(kv.substr(0, eq), true),
                          eq == std::string_view::npos ? std::string()
                                                       : percent_decode(kv.substr(eq + 1), true));
        }
        if (amp == std::string_view::npos) break;
        qs.remove_prefix(amp + 1);
      }
    }
    for (const auto& f : m) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(body);
    r.remote_addr = remote_addr_;
    head_request_ = m.method() == http::verb::head;
    keep_alive_ = m.keep_alive();
    path_ = r.path;
    phase_ = Phase::kWork;
    // While App::handle runs nothing is read: pipelined requests wait in buffer_ and are answered
    // in order, one after the other (RFC 9112 §9.3.2).
    auto job = [self = self(), req = std::move(r)]() mutable {
      HttpResponse res;
      try {
        res = self->srv_.app().handle(std::move(req));
      } catch (...) {  // App::handle never throws; a last line of defence for the worker thread
        res = problem_response(ApiError(500, "internal", "Internal error", "the request failed"),
                               "", self->srv_.next_request_id());
      }
      asio::post(self->stream_.get_executor(),
                 [self, res = std::move(res)]() mutable { self->respond(std::move(res), false); });
    };
    if (!srv_.pool().try_post(std::move(job))) {
      ApiError e(503, "overloaded", "Service overloaded",
                 "every worker is busy and the queue is full; retry after 1 s");
      e.headers.emplace_back("Retry-After", "1");
      problem(e, true);
    }
  }

  ApiError too_many_connections() const {
    ApiError e(503, "overloaded", "Service overloaded",
               "too many connections from this address (limit " +
                   std::to_string(settings_->per_address) + "); retry after 1 s");
    e.headers.emplace_back("Retry-After", "1");
    return e;
  }

  void problem(const ApiError& e, bool close_after) {
    const std::string rid = srv_.next_request_id();
    HttpResponse p = problem_response(e, path_, rid);
    p.headers.emplace_back("X-Request-Id", rid);
    respond(std::move(p), close_after);
  }

  void respond(HttpResponse in, bool close_after) {
    if (phase_ == Phase::kClosed) return;
    close_after_ = close_after_ || close_after || !keep_alive_ || draining_;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(in.status));
    for (auto& [k, v] : in.headers) res_.insert(k, v);
    const bool no_body = in.status == 204 || in.status == 304 || in.status < 200;
    if (!no_body) {
      res_.set(http::field::content_type, in.content_type);
      res_.body() = std::move(in.body);
    }
    res_.keep_alive(!close_after_);
    res_.prepare_payload();
    if (head_request_) res_.body().clear();  // Content-Length stays that of the GET answer
    phase_ = Phase::kWrite;
    arm(Clock::now() + settings_->write_timeout, Timeout::kWrite);
    http::async_write(stream_, res_, [self = self()](beast::error_code ec, std::size_t) {
      self->disarm();
      if (ec || self->fired_ != Timeout::kNone) return self->close();
      if (self->close_after_ || self->draining_) return self->linger();
      self->first_ = false;
      self->head_request_ = false;
      self->read_head();
    });
  }

  // RFC 9112 §9.6: half-close, then read and drop what the client still sends for a moment.
  void linger() {
    if constexpr (kTls<Stream>) {
      return close();
    } else {
      if (draining_) return close();
      phase_ = Phase::kLinger;
      beast::error_code ignored;
      lowest().shutdown(tcp::socket::shutdown_send, ignored);
      arm(Clock::now() + kLingerTime, Timeout::kLinger);
      linger_read();
    }
  }
  void linger_read() {
    lowest().async_read_some(asio::buffer(discard_),
                             [self = self()](beast::error_code ec, std::size_t n) {
                               self->lingered_ += n;
                               if (ec || self->fired_ != Timeout::kNone ||
                                   self->lingered_ > kLingerBytes) {
                                 return self->close();
                               }
                               self->linger_read();
                             });
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    disarm();
    beast::error_code ignored;
    lowest().close(ignored);
  }

  Server& srv_;
  std::shared_ptr<ssl::context> ctx_;
  Stream stream_;
  asio::steady_timer timer_;
  std::shared_ptr<const Settings> settings_;
  const std::string peer_;
  const bool peer_trusted_;
  const std::string slot_;
  const bool counted_;
  std::optional<ApiError> reject_;
  const Clock::time_point accepted_;
  std::string xff_slot_, remote_addr_, path_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> body_;
  http::response<http::string_body> res_;
  std::array<char, 16384> discard_{};
  std::size_t lingered_ = 0, body_limit_ = 0;
  Clock::time_point body_deadline_;
  std::chrono::seconds body_seconds_{0};
  Phase phase_ = Phase::kStart;
  Timeout fired_ = Timeout::kNone;
  unsigned gen_ = 0;
  bool first_ = true, keep_alive_ = true, close_after_ = false, draining_ = false,
       head_request_ = false;
};

std::shared_ptr<ssl::context> make_tls(const Config& c) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(c.tls_cert);
  ctx->use_private_key_file(c.tls_key, ssl::context::pem);
  if (!c.tls_client_ca.empty()) {
    ctx->load_verify_file(c.tls_client_ca);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

class Listener {
 public:
  Listener(Server& srv, asio::io_context& ioc, tcp::acceptor& acceptor, bool tls)
      : srv_(srv), ioc_(ioc), acceptor_(acceptor), retry_(acceptor.get_executor()), tls_(tls) {}

  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // EMFILE and the like: retry shortly instead of spinning.
        retry_.expires_after(std::chrono::milliseconds(50));
        retry_.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      on_accept(std::move(s));
      accept();
    });
  }

 private:
  void on_accept(tcp::socket s) {
    beast::error_code ec;
    s.set_option(tcp::no_delay(true), ec);  // answers are written in one piece; no Nagle wait
    auto ep = s.remote_endpoint(ec);
    if (ec) return;
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    const std::string peer = addr.to_string();
    const auto settings = srv_.settings();
    bool trusted = false;
    if (auto ip = parse_ip(peer)) {
      for (const auto& r : settings->trusted) trusted = trusted || r.contains(*ip);
    }
    const std::string slot = trusted ? std::string() : peer;
    std::optional<ApiError> reject;
    bool counted = srv_.acquire(slot, *settings);
    if (!counted) {
      ApiError e(503, "overloaded", "Service overloaded",
                 "too many connections (limit " + std::to_string(settings->per_address) +
                     " per address, " + std::to_string(settings->max_connections) +
                     " in all); retry after 1 s");
      e.headers.emplace_back("Retry-After", "1");
      reject = std::move(e);
    }
    if (tls_) {
      if (reject) return;  // no handshake spent on a refused connection: closed
      auto session = std::make_shared<Session<ssl::stream<tcp::socket>>>(
          srv_, peer, trusted, slot, counted, std::nullopt, srv_.tls(), std::move(s));
      session->start();
    } else {
      auto session = std::make_shared<Session<tcp::socket>>(
          srv_, peer, trusted, counted ? slot : std::string(), counted, std::move(reject),
          nullptr, std::move(s));
      session->start();
    }
  }

  Server& srv_;
  asio::io_context& ioc_;
  tcp::acceptor& acceptor_;
  asio::steady_timer retry_;
  bool tls_;
};

}  // namespace

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Ignored, not blocked: an ignored SIGPIPE/SIGXFSZ is discarded and the write returns
  // EPIPE/EFBIG (POSIX write(): "[EFBIG] ... the SIGXFSZ signal ... is ignored").
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
}

int serve(const Config& config, const App& app, const std::string& port_file,
          const std::function<void(const std::string&)>& log,
          const std::function<Config()>& reload) {
  Server srv(config, app, log);
  const bool tls = !config.tls_cert.empty();
  if (tls) {
    try {
      srv.set_tls(make_tls(config));
    } catch (const std::exception& e) {
      srv.log({{"level", "error"},
               {"msg", "cannot load TLS certificate/key (tls.cert, tls.key, tls.client_ca)"},
               {"error", e.what()}});
      return 1;
    }
  }
  asio::io_context ioc;
  // On a strand: the drain closes it from another thread than the one accepting.
  tcp::acceptor acceptor(asio::make_strand(ioc));
  int port = -1;
  try {
    const tcp::endpoint ep(asio::ip::make_address(config.listen),
                           static_cast<std::uint16_t>(config.port));
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    srv.log({{"level", "error"},
             {"msg", "cannot bind"},
             {"listen", config.listen},
             {"port", config.port},
             {"error", e.what()}});
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
  srv.log({{"level", "info"},
           {"msg", "listening"},
           {"listen", config.listen},
           {"port", port},
           {"tls", tls},
           {"mutual_tls", !config.tls_client_ca.empty()}});

  Listener listener(srv, ioc, acceptor, tls);
  listener.accept();
  // Two I/O threads at most: they only parse and copy bytes; the work is in the pool.
  const unsigned io_threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  std::vector<std::thread> io;
  for (unsigned i = 0; i < io_threads; ++i) {
    io.emplace_back([&ioc, &srv] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {  // a handler threw (bad_alloc...): log, keep serving
          srv.log({{"level", "error"}, {"msg", "I/O thread: handler failed"}, {"error", e.what()}});
        }
      }
    });
  }

  // Signals: blocked in every thread (block_stop_signals), taken here synchronously.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    // SIGHUP: re-read the configuration; apply what can change while running, keep the rest.
    try {
      const Config next = reload();
      auto s = Settings::from(next);
      auto merged = std::make_shared<Settings>(*s);
      // Body limits are the App's too (it was built with the start-up configuration).
      const auto current = srv.settings();
      merged->json_body_bytes = current->json_body_bytes;
      merged->pdf_body_bytes = current->pdf_body_bytes;
      if (tls) {
        if (next.tls_cert.empty()) throw std::runtime_error("tls.cert: cannot turn TLS off by reload");
        srv.set_tls(make_tls(next));
      }
      srv.set_settings(std::move(merged));
      srv.log({{"level", "info"},
               {"msg", "configuration reloaded (SIGHUP)"},
               {"tls_reloaded", tls}});
    } catch (const std::exception& e) {
      srv.log({{"level", "error"},
               {"msg", "reload failed (SIGHUP); the running configuration stays"},
               {"error", e.what()}});
    }
  }

  // Drain: stop accepting, close idle and slow connections, let in-flight requests finish.
  const auto drain_timeout = srv.settings()->drain_timeout;
  const auto deadline = Clock::now() + drain_timeout;
  srv.log({{"level", "info"},
           {"msg", "draining"},
           {"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
           {"open_connections", srv.open_sessions()},
           {"drain_timeout_s", drain_timeout.count()}});
  asio::post(acceptor.get_executor(), [&] {
    beast::error_code ignored;
    acceptor.close(ignored);
  });
  srv.drain_all();
  while (srv.open_sessions() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::size_t left = srv.open_sessions();
  ioc.stop();
  for (auto& t : io) t.join();
  srv.pool().stop();
  srv.log({{"level", "info"}, {"msg", "stopped"}, {"connections_cut_at_deadline", left}});
  return 0;
}

}  // namespace certd
