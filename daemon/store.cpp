#include "store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "libcert/error.h"

namespace certd {

bool Principal::has(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::string sha256_raw(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    throw libcert::Error(libcert::ErrorCode::kCrypto, "SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), n);
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string raw = sha256_raw(bytes);
  std::string out;
  out.reserve(raw.size() * 2);
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string audit_leaf_hash(const AuditRow& row) {
  // nlohmann::json objects are std::map-backed: keys come out sorted, no whitespace — a canonical
  // form that any JSON tool can reproduce (RFC 8785 for these value types: ASCII keys, integers,
  // strings).
  nlohmann::json leaf = {{"v", 1},
                         {"idx", row.idx},
                         {"ts", row.ts},
                         {"principal", row.principal},
                         {"action", row.action},
                         {"object", row.object},
                         {"request_id", row.request_id},
                         {"details_sha256", sha256_hex(row.details_json)}};
  // RFC 6962 §2.1: MTH({d0}) = SHA-256(0x00 || d0).
  std::string input(1, '\0');
  input += leaf.dump();
  return sha256_raw(input);
}

}  // namespace certd
