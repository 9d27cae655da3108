#include "store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "issuance.h"
#include "libcert/error.h"
#include "libcert/hex.h"
#include "registry_error.h"

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

std::string sha256_hex(std::string_view bytes) { return libcert::sha256_hex(bytes); }

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

namespace detail {

bool same_seal(const std::optional<SealKeyVersion>& used,
               const std::optional<SealKeyVersion>& active) {
  if (!used || !active) return !used && !active;
  return used->department == active->department && used->version == active->version &&
         active->state == "active";
}

std::string format_serial(std::int64_t now, std::int64_t counter) {
  const std::time_t tt = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%06lld", tm.tm_year + 1900, static_cast<long long>(counter));
  return buf;
}

Reservation reservation_of(const IssueContext& ctx, const Allocation& a) {
  Reservation r;
  r.type_code = ctx.type_code;
  r.issuer_code = ctx.issuer_code;
  r.serial = a.serial;
  r.department = ctx.department;
  r.template_id = ctx.template_id;
  r.status_index = a.status_index;
  if (a.seal) r.seal_version = a.seal->version;
  r.principal = ctx.actor.principal;
  r.request_id = ctx.actor.request_id;
  r.created_at = ctx.now;
  return r;
}

std::string void_object(const Reservation& r) {
  return "serial:" + r.type_code + "/" + r.issuer_code + "/" + r.serial;
}

nlohmann::json void_details(const Reservation& r, const nlohmann::json& why) {
  nlohmann::json d = {{"department", r.department},
                      {"template", r.template_id},
                      {"type_code", r.type_code},
                      {"issuer_code", r.issuer_code},
                      {"serial", r.serial},
                      {"status_index", r.status_index},
                      {"reserved_at", r.created_at},
                      {"reserved_by", r.principal},
                      {"reserved_request_id", r.request_id}};
  if (r.seal_version) d["seal_version"] = *r.seal_version;
  for (const auto& [k, v] : why.items()) d[k] = v;
  return d;
}

nlohmann::json failure_reason(const char* reason, const std::exception_ptr& e) {
  nlohmann::json why = {{"reason", reason}};
  // At most 300 bytes of the message: enough to name the field and the rule (a UTF-8 sequence cut
  // at the end is replaced, so that the audit details always serialise).
  auto msg = [](const char* m) {
    std::string s(m);
    if (s.size() > 300) s.resize(300);
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  try {
    std::rethrow_exception(e);
  } catch (const libcert::Error& x) {
    why["error_code"] = std::string(libcert::to_string(x.code()));
    why["error"] = nlohmann::json::parse(msg(x.what()));
  } catch (const RegistryError& x) {
    why["error_code"] = std::string("registry.") + std::string(to_string(x.code()));
    why["error"] = nlohmann::json::parse(msg(x.what()));
  } catch (const std::exception& x) {
    why["error"] = nlohmann::json::parse(msg(x.what()));
  } catch (...) {
    why["error"] = "unknown exception";
  }
  return why;
}

}  // namespace detail

IssuanceGuard::IssuanceGuard(Store& store, const IssueContext& ctx)
    : store_(store), ctx_(ctx), a_(store.reserve(ctx)) {}

IssuanceGuard::~IssuanceGuard() {
  if (committed_) return;
  try {
    (void)store_.release_reservation(
        ctx_, a_, why_.is_object() ? why_ : nlohmann::json{{"reason", "not-committed"}});
  } catch (...) {  // NOLINT(bugprone-empty-catch): the lease voids it later (see the header)
  }
}

std::optional<LicenceRecord> IssuanceGuard::commit(const Rendered& r) {
  CommitResult c = store_.commit_issue(ctx_, a_, r);
  if (c.committed) {
    committed_ = true;
    return std::move(c.record);
  }
  a_.seal = std::move(c.active_now);
  return std::nullopt;
}

}  // namespace certd
