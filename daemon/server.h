// daemon/server.h — serves an App over HTTP or HTTPS (cpp-httplib, OpenSSL), with a bounded
// thread pool, request timeouts and body limits, until SIGINT/SIGTERM.
#pragma once

#include <string>

#include "app.h"
#include "config.h"

namespace certd {

// Binds (port 0: any free port), writes the bound port to `port_file` if not empty, serves until
// a SIGINT or SIGTERM arrives, then returns 0. Returns 1 (after logging why) if it cannot bind
// or the TLS files cannot be loaded. The caller must block SIGINT/SIGTERM in all threads first
// (block_stop_signals()), so that only the server's signal thread receives them.
int serve(const Config& config, const App& app, const std::string& port_file,
          const std::function<void(const std::string&)>& log);

void block_stop_signals();

}  // namespace certd
