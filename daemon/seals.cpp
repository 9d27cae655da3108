#include "seals.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "libcert/error.h"

namespace certd {

namespace {
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free_all(b); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
}  // namespace

std::string read_pem_certificate_der(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) throw libcert::Error(libcert::ErrorCode::kIo, path + ": cannot read");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    throw libcert::Error(libcert::ErrorCode::kCrypto, path + ": not a PEM certificate");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  if (n <= 0) throw libcert::Error(libcert::ErrorCode::kCrypto, path + ": cannot encode");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

libcert::TrustBundle load_seal_bundle(const libcert::TemplateSet& templates,
                                      const std::string& keys_dir, std::int64_t now) {
  libcert::TrustBundle b;
  b.version = 1;
  b.issued_at = now;
  b.root_der = read_pem_certificate_der(keys_dir + "/root/root.crt");
  for (const auto& d : templates.departments()) {
    const std::string crt = keys_dir + "/seals/" + d.id + "/seal.crt";
    if (!std::filesystem::exists(crt)) continue;
    b.seals.push_back(libcert::SealEntry::from_certificate(
        d.id, d.uscc, read_pem_certificate_der(crt), libcert::SealState::kActive));
  }
  return b;
}

void check_private_key_modes(const std::string& keys_dir, const std::vector<std::string>& extra) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(keys_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".key" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  for (const auto& f : extra) {
    if (!f.empty()) files.emplace_back(f);
  }
  std::string bad;
  std::vector<libcert::Problem> problems;
  for (const auto& f : files) {
    const fs::file_status st = fs::status(f, ec);
    if (ec) continue;  // a missing key is reported by whoever loads it
    const auto perms = st.permissions();
    const auto open_to_others = perms & (fs::perms::group_all | fs::perms::others_all);
    if (open_to_others == fs::perms::none) continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(perms) & 07777u);
    problems.push_back({f.string(), "key-file-mode",
                        "private key file has mode " + std::string(mode) +
                            ": group or others may read it; run chmod 600 " + f.string()});
    bad += (bad.empty() ? "" : ", ") + f.string() + " (mode " + mode + ")";
  }
  if (!problems.empty()) {
    throw libcert::Error(
        libcert::ErrorCode::kInvalidArgument,
        "private key files must be mode 0600 (owner only); refusing to start: " + bad, problems);
  }
}

}  // namespace certd
