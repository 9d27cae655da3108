// fuzz_certd_http — certd's whole request path without sockets (issue 10): a raw HTTP/1.1 request
// (request line, headers, body) is split the way cpp-httplib would hand it over (server.cpp
// to_request: method, percent-decoded path, query parameters, headers, body) and dispatched by
// certd::App::handle against certd_world.h's world: a real SQLite registry in a temporary
// directory, the real template set, seal keys and trust anchor (keys-example). The seeds use two
// of its fixed keys: the admin's (lic_aaaa…) and samr's (lic_bbbb…).
//
// Invariants: handle() returns (it promises never to throw); no response is a 500 (an internal
// error is a bug: bad input must be a 4xx, overload a 503); a problem response is problem+json
// whose "status" equals the HTTP status; every response carries an X-Request-Id; no response body
// or log line contains an API key.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "certd_world.h"
#include "fuzz_support.h"

namespace {

const std::string& kAdminKey = fuzz::kAdminKey;
const std::string& kSamrKey = fuzz::kSamrKey;

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "METHOD TARGET VERSION\r\n" headers "\r\n" body — lenient (LF or CRLF), as the fuzz data comes.
certd::HttpRequest parse_request(std::string_view in) {
  certd::HttpRequest r;
  r.remote_addr = "127.0.0.1";
  auto take_line = [&in]() {
    const auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const std::string_view start = take_line();
  const auto sp1 = start.find(' ');
  r.method = std::string(start.substr(0, sp1));
  std::string_view target =
      sp1 == std::string_view::npos ? std::string_view() : start.substr(sp1 + 1);
  target = target.substr(0, target.find(' '));
  const auto q = target.find('?');
  r.path = percent_decode(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      const auto amp = qs.find('&');
      const std::string_view kv = qs.substr(0, amp);
      const auto eq = kv.find('=');
      r.query.emplace(percent_decode(kv.substr(0, eq)),
                      eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1)));
      qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    }
  }
  for (;;) {
    if (in.empty()) break;
    const std::string_view line = take_line();
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
  }
  r.body = std::string(in);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::CertdWorld world("fuzz_certd_http");
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const certd::HttpRequest req = parse_request(raw);
  const certd::HttpResponse r = world.handle(req);
  fuzz::require(r.status >= 200 && r.status <= 599, "status outside 200..599");
  if (r.status == 500)
    std::fprintf(stderr, "500: %s\nlog: %s\n", r.body.c_str(), world.last_log.c_str());
  fuzz::require(r.status != 500, "internal error (500) for a request");
  bool has_id = false;
  for (const auto& [k, v] : r.headers) has_id = has_id || k == "X-Request-Id";
  fuzz::require(has_id, "response without X-Request-Id");
  if (r.content_type == "application/problem+json") {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    fuzz::require(j.is_object() && j.value("status", 0) == r.status,
                  "problem+json body does not parse or names another status");
  }
  // A key the request itself carries outside its credentials (say in the path, which a problem
  // names as "instance") may come back; one that was only a credential must not.
  std::string elsewhere = req.method + req.path + req.body;
  for (const auto& [k, v] : req.query) elsewhere += k + v;
  for (const auto& [k, v] : req.headers) {
    if (req.header("Authorization") != v && req.header("X-Api-Key") != v) elsewhere += k + v;
  }
  for (const auto* key : {&kAdminKey, &kSamrKey}) {
    if (elsewhere.find(*key) != std::string::npos) continue;
    fuzz::require(r.body.find(*key) == std::string::npos, "an API key in a response body");
    fuzz::require(world.last_log.find(*key) == std::string::npos, "an API key in the log");
  }
  return 0;
}
