// tests/support/verifiers.h — independent verifiers (Poppler's pdfsig with an NSS trust store,
// qpdf, zbarimg, pdftotext) wrapped for tests. Their verdicts are parsed from text: pdfsig's exit
// code is 0 even for invalid signatures (testing.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

namespace testsupport {

// An NSS database (sql:) in which the example seal root is trusted for pdfsig.
class NssTrust {
 public:
  NssTrust(const std::filesystem::path& dir, const std::string& root_pem) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const std::string db = shell_quote("sql:" + dir_.string());
    auto r = run("certutil -N -d " + db + " --empty-password");
    if (r.exit_code != 0) throw std::runtime_error("certutil -N: " + r.out);
    r = run("certutil -A -d " + db + " -n root -t C,C,C -i " + shell_quote(root_pem));
    if (r.exit_code != 0) throw std::runtime_error("certutil -A: " + r.out);
  }
  // pdfsig's full output (no -no-ocsp: in poppler 22.12 it breaks chain validation).
  [[nodiscard]] std::string pdfsig(const std::filesystem::path& pdf) const {
    return run("pdfsig -nssdir " + shell_quote("sql:" + dir_.string()) + " " +
               shell_quote(pdf.string()))
        .out;
  }

 private:
  std::filesystem::path dir_;
};

// One block of pdfsig output per signature ("Signature #1:" ...).
inline std::vector<std::string> pdfsig_blocks(const std::string& out) {
  std::vector<std::string> blocks;
  std::size_t p = out.find("Signature #");
  while (p != std::string::npos) {
    const std::size_t next = out.find("Signature #", p + 1);
    blocks.push_back(out.substr(p, next == std::string::npos ? std::string::npos : next - p));
    p = next;
  }
  return blocks;
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// First page rendered by pdftoppm at `dpi`, then decoded by zbarimg --raw; the decoded text
// without the trailing newline ("" if nothing decoded).
inline std::string zbar_first_page(const std::filesystem::path& pdf, int dpi,
                                   const std::filesystem::path& work_prefix) {
  auto r = run("pdftoppm -r " + std::to_string(dpi) + " -f 1 -l 1 -singlefile -png " +
               shell_quote(pdf.string()) + " " + shell_quote(work_prefix.string()));
  if (r.exit_code != 0) return "";
  // zbarimg prints "WARNING: ... databar" noise on stderr for some images: keep stdout only.
  r = run("(zbarimg --raw -q -Sdisable -Sqrcode.enable " + shell_quote(work_prefix.string() + ".png") + " 2>/dev/null)");
  std::string s = r.out;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace testsupport
