// libcert/hex.h — the one lower-case hexadecimal spelling of bytes used across libcert, certd
// and certctl (key ids, fingerprints, ETags, authority key identifiers, digests in messages).
//
//   libcert::hex(der)           // "3082…"
//   libcert::sha256_hex(bytes)  // 64 lower-case hex digits of SHA-256(bytes)
//
// Serial numbers are not spelt here: RFC 5280 serials are upper-case without leading zeros
// (crl.h), the form OpenSSL prints.
#pragma once

#include <string>
#include <string_view>

namespace libcert {

// Two lower-case hex digits per byte, most significant nibble first.
std::string hex(std::string_view bytes);
inline std::string hex(const unsigned char* p, std::size_t n) {
  return hex(std::string_view(reinterpret_cast<const char*>(p), n));
}

// SHA-256 of `bytes` in lower-case hex. Throws Error(kCrypto) if the digest fails.
std::string sha256_hex(std::string_view bytes);

}  // namespace libcert
