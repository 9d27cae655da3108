// The one hex spelling (hex.h).
#include "libcert/hex.h"

#include <openssl/evp.h>

#include "libcert/error.h"

namespace libcert {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += kDigits[c >> 4U];
    out += kDigits[c & 15U];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kCrypto, "SHA-256 failed");
  }
  return hex(md, n);
}

}  // namespace libcert
