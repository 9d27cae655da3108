#include "auth.h"

#include <algorithm>
#include <array>

#include "libcert/error.h"

namespace certd {

std::string base32_lower(std::string_view bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char ch : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31u]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31u]);
  return out;
}

NewKey make_key(libcert::Rng& rng) {
  std::array<std::uint8_t, 32> raw{};
  rng.fill(raw);
  NewKey k;
  k.key = "lic_" +
          base32_lower(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  k.prefix = k.key.substr(0, 12);
  k.sha256 = sha256_hex(k.key);
  return k;
}

const std::vector<std::string>& department_scopes() {
  static const std::vector<std::string> s = {kScopeIssue, kScopeRead, kScopeRevoke, kScopeTsa};
  return s;
}

const std::vector<std::string>& admin_scopes() {
  // An admin key reads and revokes licences of every department (service.md: "department (own) /
  // admin") and manages seals and the audit log; it cannot issue (it has no department seal).
  static const std::vector<std::string> s = {kScopeSealAdmin, kScopeAuditRead, kScopeRead,
                                             kScopeRevoke, kScopeMetricsRead, kScopeTsa};
  return s;
}

namespace {
std::vector<std::string> parse_scopes(std::string_view csv, const std::vector<std::string>& ok,
                                      const char* kind) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= csv.size()) {
    std::size_t end = csv.find(',', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string s(csv.substr(start, end - start));
    if (s.empty()) {
      throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                           "--scopes: empty scope in the list");
    }
    if (std::find(ok.begin(), ok.end(), s) == ok.end()) {
      std::string allowed;
      for (const auto& a : ok) allowed += (allowed.empty() ? "" : ", ") + a;
      throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                           std::string("--scopes: unknown ") + kind + " scope '" + s +
                               "' (allowed: " + allowed + ")");
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    start = end + 1;
  }
  return out;
}
}  // namespace

std::vector<std::string> parse_department_scopes(std::string_view csv) {
  return parse_scopes(csv, department_scopes(), "department");
}

std::vector<std::string> parse_admin_scopes(std::string_view csv) {
  return parse_scopes(csv, admin_scopes(), "admin");
}

namespace {
bool well_formed(std::string_view key) {
  if (key.size() != 56 || key.substr(0, 4) != "lic_") return false;
  return std::all_of(key.begin() + 4, key.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}
}  // namespace

AuthResult authenticate(Store& store, std::string_view authorization,
                        std::string_view api_key_header) {
  AuthResult r;
  std::string_view key;
  if (!authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.size() <= kBearer.size() ||
        authorization.substr(0, kBearer.size()) != kBearer) {
      r.kind = AuthResult::kMalformed;
      return r;
    }
    key = authorization.substr(kBearer.size());
  } else if (!api_key_header.empty()) {
    key = api_key_header;
  } else {
    r.kind = AuthResult::kMissing;
    return r;
  }
  if (!well_formed(key)) {
    r.kind = AuthResult::kMalformed;
    return r;
  }
  auto p = store.find_principal(sha256_hex(key));
  if (!p) {
    r.kind = AuthResult::kUnknown;
    return r;
  }
  if (p->revoked_at) {
    r.kind = AuthResult::kRevoked;
    r.principal = std::move(*p);  // named in the audit row; it authorises nothing
    return r;
  }
  r.kind = AuthResult::kOk;
  r.principal = std::move(*p);
  return r;
}

}  // namespace certd
