// tests/support/postgres.h — a real PostgreSQL server for tests (issue 11), and one fresh database
// per test case in it.
//
//   const std::string uri = testsupport::postgres_new_database();  // "postgresql://…/t_…"
//   auto store = certd::open_store(uri);
//
// The server is tests/support/pg_server.sh (initdb into /tmp, pg_ctl on a free 127.0.0.1 port,
// as the `postgres` user when run as root). Under ctest it is started once per run by the fixture
// test `postgres_start` and named by $CERTD_TEST_PG_STATE; a test binary run by hand starts its
// own and stops it at exit. Test binaries using this link libpq (through certd_core).
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "support/process.h"

namespace testsupport {

class PostgresServer {
 public:
  // The server for this process (started on first use if ctest did not provide one).
  static PostgresServer& get() {
    static PostgresServer s;
    return s;
  }
  [[nodiscard]] const std::string& base_uri() const { return base_; }

  // CREATE DATABASE with a unique name; returns its URI.
  std::string new_database(const std::string& prefix = "t") {
    static std::atomic<int> counter{0};
    std::random_device rd;
    const std::string name = prefix + "_" + std::to_string(getpid()) + "_" +
                             std::to_string(counter++) + "_" + std::to_string(rd() % 100000);
    exec_admin("CREATE DATABASE " + name);
    return base_ + "/" + name;
  }

  // Runs one statement in the maintenance database `postgres`.
  void exec_admin(const std::string& sql) const {
    std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb((base_ + "/postgres").c_str()),
                                                   &PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK) {
      throw std::runtime_error("postgres: cannot connect: " + std::string(PQerrorMessage(c.get())));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      throw std::runtime_error("postgres: " + sql + ": " + PQerrorMessage(c.get()));
    }
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer() {
    if (own_) run(script() + " stop " + shell_quote(own_->path().string()));
  }

 private:
  PostgresServer() {
    std::filesystem::path state;
    if (const char* s = std::getenv("CERTD_TEST_PG_STATE");
        s != nullptr && std::filesystem::exists(std::filesystem::path(s) / "uri")) {
      state = s;
    } else {
      own_ = std::make_unique<TempDir>();
      state = own_->path();
      const auto r = run(script() + " start " + shell_quote(state.string()));
      if (r.exit_code != 0) throw std::runtime_error("cannot start PostgreSQL: " + r.out);
    }
    base_ = slurp(state / "uri");
    while (!base_.empty() && (base_.back() == '\n' || base_.back() == ' ')) base_.pop_back();
  }
  static std::string script() {
    return shell_quote(std::string(LIBCERT_SOURCE_DIR) + "/tests/support/pg_server.sh");
  }

  std::unique_ptr<TempDir> own_;
  std::string base_;
};

inline std::string postgres_new_database(const std::string& prefix = "t") {
  return PostgresServer::get().new_database(prefix);
}

}  // namespace testsupport
