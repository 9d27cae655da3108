// daemon/http.h — the daemon's own request/response types. The API (app.h) is written against
// these, not against the HTTP library, so that it compiles fast, runs in tests and fuzzers without
// sockets (issue 10), and only server.cpp includes Boost.Beast (issue 17).
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace certd {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded path, without the query
  std::multimap<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The client's address (connection caps and rate limits key on it): the peer, or behind a
  // configured trusted proxy the right-most untrusted X-Forwarded-For entry (server.cpp).
  std::string remote_addr;
  std::string request_id;  // assigned by the server before dispatch

  // Case-insensitive header lookup (RFC 9110 §5.1); the first value.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }
  [[nodiscard]] std::string header_or_empty(std::string_view name) const {
    return header(name).value_or("");
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For logs and metrics: the route template ("/v1/licences/{id}") and the problem type, if any.
  std::string route;
  std::string problem_type;
};

}  // namespace certd
