// daemon/server.h — serves an App over HTTP or HTTPS (Boost.Beast on Asio, OpenSSL) with 1–2 I/O
// threads that read whole requests against total deadlines and a bounded worker pool that runs
// App::handle on complete requests only (issue 17; docs/service.md "Connections").
#pragma once

#include <functional>
#include <string>

#include "app.h"
#include "config.h"

namespace certd {

// Binds (port 0: any free port), writes the bound port to `port_file` if not empty, and serves
// until SIGINT or SIGTERM: then it stops accepting, lets in-flight requests finish for up to
// limits.drain_timeout_s, closes the rest and returns 0. SIGHUP calls `reload` (re-reads the
// configuration) and applies its reloadable part: the TLS certificate/key for new connections,
// the connection limits and deadlines, trusted_proxies (docs/operations.md). Returns 1 (after
// logging why) if it cannot bind or the TLS files cannot be loaded. The caller must first call
// block_stop_signals() before starting any thread, so that only serve() receives them.
int serve(const Config& config, const App& app, const std::string& port_file,
          const std::function<void(const std::string&)>& log,
          const std::function<Config()>& reload);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts later), and
// ignores SIGPIPE and SIGXFSZ: a write to a closed socket or past `ulimit -f` becomes an error
// (EPIPE, EFBIG) that its caller handles, instead of killing certd.
void block_stop_signals();

}  // namespace certd
