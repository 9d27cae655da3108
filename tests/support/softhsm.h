// tests/support/softhsm.h — a real PKCS#11 token for tests: SoftHSM2 with its token directory in
// a temporary directory (SOFTHSM2_CONF), tokens initialised by softhsm2-util, PINs in files.
//
//   auto& hsm = testsupport::SoftHsm::instance();          // one per process: the module reads
//   std::string uri = hsm.token_uri("seals");              // SOFTHSM2_CONF once, at C_Initialize
//
// The PKCS#11 module is loaded once per process, so every test of a process shares one
// SOFTHSM2_CONF; tokens are created before the first test touches the module.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.h"

namespace testsupport {

inline const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

class SoftHsm {
 public:
  // Tokens "seals", "bundle", "audit" (user PIN = "pin-<label>", SO PIN "so-<label>"), each
  // with its PIN in <dir>/<label>.pin.
  static SoftHsm& instance() {
    static SoftHsm h({"seals", "bundle", "audit", "spare"});
    return h;
  }

  explicit SoftHsm(const std::vector<std::string>& labels) {
    std::filesystem::create_directories(tokens_dir());
    spit(conf(), "directories.tokendir = " + tokens_dir().string() +
                     "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
    ::setenv("SOFTHSM2_CONF", conf().c_str(), 1);
    // Under LeakSanitizer (asan-ubsan preset), SoftHSM2 keeps OpenSSL objects it never frees (an
    // Ed25519 key's "edwards25519" parameters). The fast unwinder stops inside libcrypto, so
    // tests/lsan.supp's `leak:libsofthsm2` cannot match them, and the slow unwinder makes a
    // certd under load too slow for the token-fault timings. So the children of this process that
    // load the module (certctl token commands, a token-only certd) run without the leak check;
    // every other certd and certctl test keeps it, and this process's own check is untouched.
    if (const char* lsan = std::getenv("LSAN_OPTIONS"); lsan != nullptr && *lsan != '\0') {
      ::setenv("LSAN_OPTIONS", (std::string(lsan) + ":detect_leaks=0").c_str(), 1);
    }
    for (const auto& l : labels) {
      auto r = run("softhsm2-util --init-token --free --label " + l + " --pin pin-" + l +
                   " --so-pin so-" + l);
      if (r.exit_code != 0) throw std::runtime_error("softhsm2-util --init-token: " + r.out);
      spit(pin_file(l), "pin-" + l + "\n");
    }
  }

  [[nodiscard]] std::filesystem::path dir() const { return dir_.path(); }
  [[nodiscard]] std::filesystem::path conf() const { return dir_ / "softhsm2.conf"; }
  [[nodiscard]] std::filesystem::path tokens_dir() const { return dir_ / "tokens"; }
  [[nodiscard]] std::filesystem::path pin_file(const std::string& label) const {
    return dir_ / (label + ".pin");
  }
  // pkcs11:token=<label>?module-path=...&pin-source=file:<pin file>
  [[nodiscard]] std::string token_uri(const std::string& label) const {
    return "pkcs11:token=" + label + "?module-path=" + std::string(kSoftHsmModule) +
           "&pin-source=file:" + pin_file(label).string();
  }
  // The directory softhsm2 keeps one token in (a UUID-named directory under tokens_dir()).
  [[nodiscard]] std::filesystem::path token_dir(const std::string& label) const {
    for (const auto& e : std::filesystem::directory_iterator(tokens_dir())) {
      const auto r = run("grep -l -a " + shell_quote(label) + " " +
                         shell_quote((e.path() / "token.object").string()));
      if (r.exit_code == 0) return e.path();
    }
    throw std::runtime_error("no token directory for " + label);
  }
  // pkcs11-tool on a token, with its PIN from the file (never on a command line in production).
  [[nodiscard]] RunResult tool(const std::string& label, const std::string& args) const {
    return run("pkcs11-tool --module " + std::string(kSoftHsmModule) + " --token-label " + label +
               " --login --pin pin-" + label + " " + args);
  }

 private:
  TempDir dir_;
};

}  // namespace testsupport
