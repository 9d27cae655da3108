// tests/integration/certd_fixture.h — starts the real certd binary on a free loopback port with a
// temporary registry (SQLite, or a fresh PostgreSQL database in the pg.* variants:
// test_registry.h), and stops it (SIGTERM, then waits). The test client is httplib::Client
// (cpp-httplib fixtures: bind, wait until ready, stop + join in TearDown).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"
#include "test_registry.h"

extern char** environ;

namespace certdtest {

class CertdProcess {
 public:
  // `env` adds CERTD_* variables for the child; the store is dir/registry.db or a new PostgreSQL
  // database; `store` names an existing one instead (several instances on one registry).
  // `run_as` (e.g. "nobody"): certd runs as that unprivileged user (setpriv), owning the
  // temporary directory — for faults that need permissions to matter (root ignores chmod).
  explicit CertdProcess(std::map<std::string, std::string> env = {},
                        std::vector<std::string> extra_args = {}, std::string store = {},
                        std::string run_as = {}) {
    store_ = store.empty() ? new_registry(dir_.path()) : std::move(store);
    const std::string port_file = (dir_ / "port").string();
    std::vector<std::string> args = {CERTD_BIN,
                                     "--store",
                                     store_,
                                     "--port",
                                     "0",
                                     "--port-file",
                                     port_file,
                                     "--templates",
                                     std::string(LIBCERT_SOURCE_DIR) + "/templates",
                                     "--keys",
                                     private_keys_copy()};
    // New seal key versions go under the test's directory, never certd's default
    // /var/lib/certd/keys (a test that names its own CERTD_SEAL_KEY_DIR keeps it).
    if (!env.count("CERTD_SEAL_KEY_DIR")) {
      args.insert(args.end(), {"--seal-key-dir", (dir_ / "seal-keys").string()});
    }
    for (auto& a : extra_args) args.push_back(a);
    std::string program = CERTD_BIN;
    if (!run_as.empty()) {
      const auto r = testsupport::run("chown -R " + run_as + ": " + dir_.path().string());
      if (r.exit_code != 0) throw std::runtime_error("chown failed: " + r.out);
      program = "/usr/bin/setpriv";
      args.insert(args.begin(), {program, "--reuid=" + run_as, "--regid=nogroup", "--clear-groups"});
    }
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("CERTD_", 0) != 0) envs.emplace_back(*e);
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    log_ = (dir_ / "certd.log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int rc = posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start certd");
    // Wait for the port file (written after bind), then for /healthz.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("certd exited at start-up: " + log());
      }
      if (std::filesystem::exists(port_file)) {
        port_ = std::stoi(testsupport::slurp(port_file));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (port_ == 0) throw std::runtime_error("certd did not bind: " + log());
  }
  ~CertdProcess() { stop(); }

  // keys-example copied into the temporary directory with its private keys at mode 0600 (git
  // does not keep file modes, and certd refuses keys others may read).
  [[nodiscard]] std::string private_keys_copy() const {
    namespace fs = std::filesystem;
    const fs::path keys = dir_ / "keys";
    if (!fs::exists(keys)) {
      fs::copy(fs::path(LIBCERT_SOURCE_DIR) / "keys-example", keys, fs::copy_options::recursive);
      for (const auto& e : fs::recursive_directory_iterator(keys)) {
        if (e.path().extension() == ".key") {
          fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
        }
      }
    }
    return keys.string();
  }
  CertdProcess(const CertdProcess&) = delete;
  CertdProcess& operator=(const CertdProcess&) = delete;

  // SIGTERM and wait; returns the exit status (0 on a clean stop).
  int stop() {
    if (pid_ <= 0) return exit_;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    exit_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return exit_;
  }

  // SIGKILL (a crash: no clean shutdown) and wait; returns 128 + 9.
  int kill9() {
    if (pid_ <= 0) return exit_;
    kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    exit_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return exit_;
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }  // for signals (SIGHUP) and prlimit
  [[nodiscard]] const std::string& store() const { return store_; }
  [[nodiscard]] std::string log() const {
    return std::filesystem::exists(log_) ? testsupport::slurp(log_) : "";
  }
  [[nodiscard]] const testsupport::TempDir& dir() const { return dir_; }

  [[nodiscard]] httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_write_timeout(60, 0);
    return c;
  }

  // Creates an API key with certctl directly on the registry (as an operator would).
  [[nodiscard]] std::string make_key(const std::string& dept_or_admin,
                                     const std::string& scopes = "") const {
    std::string cmd = std::string(CERTCTL_BIN) + " keys create --store " + store_;
    cmd += dept_or_admin == "admin" ? std::string(" --admin") : " --department " + dept_or_admin;
    if (!scopes.empty()) cmd += " --scopes " + scopes;
    const auto r = testsupport::run(cmd + " --json");
    if (r.exit_code != 0) throw std::runtime_error("certctl keys create failed: " + r.out);
    return nlohmann::json::parse(r.out).at("key").get<std::string>();
  }

 private:
  testsupport::TempDir dir_;
  std::string store_, log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_ = -1;
};

inline httplib::Headers bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

// POSTs `body` as JSON with the key, expects status `want`; returns the parsed body.
inline nlohmann::json post_json(httplib::Client& c, const std::string& key, const std::string& path,
                                const nlohmann::json& body, int want) {
  auto r = c.Post(path, bearer(key), body.dump(), "application/json");
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, want) << path << ": " << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// Asserts a problem+json response with the given status and type slug; returns the body.
// templates/<id>/sample.json of the source tree: the holder data the API tests issue with.
inline nlohmann::json template_sample(const std::string& id) {
  return nlohmann::json::parse(
      testsupport::slurp(std::string(LIBCERT_SOURCE_DIR) + "/templates/" + id + "/sample.json"));
}

// How long a load test keeps issuing: `ci` seconds in the test suite, or CERTD_TEST_LOAD_SECONDS
// (1..3600; bench/soak.sh runs the issues' full-length soaks with it). Anything else there is a
// test setup error, reported as such rather than silently using the default.
inline int load_seconds(int ci) {
  const char* v = std::getenv("CERTD_TEST_LOAD_SECONDS");
  if (v == nullptr || *v == '\0') return ci;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > 3600) {
    ADD_FAILURE() << "CERTD_TEST_LOAD_SECONDS=" << v << ": want whole seconds, 1..3600";
    return ci;
  }
  return static_cast<int>(n);
}

inline nlohmann::json expect_problem(const httplib::Result& r, int status,
                                     const std::string& slug) {
  EXPECT_TRUE(r) << "no response";
  if (!r) return {};
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << r->body;
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r->body;
  if (j.is_discarded()) return {};
  EXPECT_EQ(j.value("type", ""), "https://libcert.example/problems/" + slug) << r->body;
  EXPECT_EQ(j.value("status", 0), status);
  EXPECT_FALSE(j.value("detail", "").empty());
  return j;
}

}  // namespace certdtest
