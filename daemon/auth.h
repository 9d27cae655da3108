// daemon/auth.h — API keys: `lic_` + base32(32 random bytes), stored only as SHA-256.
//
//   libcert::SystemRng rng;
//   certd::NewKey k = certd::make_key(rng);          // k.key is shown once, then forgotten
//   store.create_principal({.department = "samr", .scopes = {...}, .key_prefix = k.prefix,
//                           .key_sha256 = k.sha256}, now, actor);
//   auto who = certd::authenticate(store, "Bearer lic_...");   // AuthResult
//
// The key itself is never stored, logged or put into an error message; lookups go by its
// SHA-256 (a hash lookup needs no constant-time compare: the hash of a guess reveals nothing).
// Thread-safe (pure functions; authenticate() uses the thread-safe Store).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/clock.h"
#include "store.h"

namespace certd {

struct NewKey {
  std::string key;     // "lic_" + 52 base32 characters (RFC 4648 alphabet, lower case, no padding)
  std::string prefix;  // first 12 characters, safe to show in listings
  std::string sha256;  // lower-case hex of SHA-256(key)
};

NewKey make_key(libcert::Rng& rng);
// RFC 4648 §6 base32, lower case, without padding.
std::string base32_lower(std::string_view bytes);

// GET /metrics (issue 17: operational counts are not public). Admin keys hold it; a key for the
// metrics scraper holds only it (`certctl keys create --admin --scopes metrics:read`).
inline constexpr const char* kScopeMetricsRead = "metrics:read";
// POST /v1/tsa (RFC 3161 time-stamps, tsa_service.h): any client may be given it, e.g. a
// time-stamp-only key `certctl keys create --admin --scopes tsa`.
inline constexpr const char* kScopeTsa = "tsa";

// The scopes a department key may hold, and those of an admin key.
const std::vector<std::string>& department_scopes();
const std::vector<std::string>& admin_scopes();
// Parses "licence:issue,licence:read"; throws libcert::Error(kInvalidArgument) naming an unknown
// or non-department scope.
std::vector<std::string> parse_department_scopes(std::string_view csv);
// The same for a key without department: a subset of admin_scopes().
std::vector<std::string> parse_admin_scopes(std::string_view csv);

struct AuthResult {
  enum Kind { kOk, kMissing, kMalformed, kUnknown, kRevoked } kind = kMissing;
  Principal principal;  // valid when kind == kOk (kRevoked: the revoked key's, for the audit)
};

// Reads `Authorization: Bearer lic_…` (or the bare key from X-Api-Key) and looks it up.
AuthResult authenticate(Store& store, std::string_view authorization_header,
                        std::string_view api_key_header);

}  // namespace certd
