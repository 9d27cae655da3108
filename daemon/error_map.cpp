#include "error_map.h"

#include <cerrno>
#include <new>
#include <system_error>

#include "libcert/pkcs11.h"
#include "seal_keys.h"
#include "registry_error.h"

namespace certd {

namespace {

MappedError bad_input(ApiError e) { return {std::move(e), Fault::kBadInput, ""}; }

// A fault of the environment: 503 + Retry-After (RFC 9110 §15.6.4, §10.2.3). `what` is a fixed
// sentence without paths, SQL or driver text; the cause goes to the server log only.
MappedError environment(const std::string& what, int retry_after_s, const std::string& request_id,
                        std::string cause) {
  ApiError e(503, "unavailable", "Service unavailable",
             what + "; retry after " + std::to_string(retry_after_s) +
                 " s (the server log has the cause under request " + request_id + ")");
  e.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return {std::move(e), Fault::kEnvironment, std::move(cause)};
}

MappedError bug(const std::string& request_id, std::string cause) {
  return {ApiError(500, "internal", "Internal error",
                   "an internal error; see the server log for request " + request_id),
          Fault::kInternal, std::move(cause)};
}

// The registry's faults, whichever driver raised them (RegistryError codes).
MappedError registry_busy(const std::string& rid, std::string cause) {
  return environment("the registry is busy", 1, rid, std::move(cause));
}
MappedError registry_unavailable(const std::string& rid, std::string cause) {
  return environment("the registry cannot be written or read now (storage full, read-only or failing)",
                     5, rid, std::move(cause));
}

// The one switch RegistryError::Code → problem (registry_error.h; the drivers already mapped
// SQLite result codes and PostgreSQL SQLSTATEs onto these codes).
MappedError from_registry(const RegistryError& e, const std::string& rid) {
  using C = RegistryError::Code;
  switch (e.code()) {
    case C::kBusy:
      return registry_busy(rid, e.what());
    case C::kUnavailable:
    case C::kCorrupt:  // needs an operator, but it is the environment, not a bug here
      return registry_unavailable(rid, e.what());
    case C::kExhausted:
      return environment("a registry resource is used up (status-list indexes); an administrator "
                         "must enlarge it",
                         60, rid, e.what());
    case C::kConflict:
      return bad_input(ApiError(409, "conflict", "Conflict",
                                "the request conflicts with the registry's current state"));
    case C::kState:
      // A lifecycle step the key's state forbids (seal_keys.h): the message names the
      // department, version and states, no paths.
      return bad_input(ApiError(409, "seal-state-conflict", "Seal key state conflict", e.what()));
    case C::kInternal:
      break;
  }
  return bug(rid, e.what());
}

// The one switch libcert::ErrorCode → HTTP status and problem type (style.md rule 3).
MappedError from_libcert(const libcert::Error& e, const std::string& rid) {
  using libcert::ErrorCode;
  nlohmann::json extra = nlohmann::json::object();
  if (!e.problems().empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : e.problems()) {
      list.push_back({{"field", p.field}, {"rule", p.rule}, {"message", p.message}});
    }
    extra["problems"] = list;
  }
  std::string detail = e.what();
  if (e.code() == ErrorCode::kValidation && !e.problems().empty()) {
    // The detail names every field; the structured list is in `problems`.
    detail.clear();
    for (const auto& p : e.problems()) {
      if (!detail.empty()) detail += "; ";
      detail += "data." + p.field + ": " + p.message + " [" + p.rule + "]";
    }
  }
  // The class is libcert's (one classification for certd and certctl); the status and type
  // within a class are certd's.
  switch (libcert::error_class(e.code())) {
    case libcert::ErrorClass::kInternal:
      return bug(rid, e.what());
    case libcert::ErrorClass::kEnvironment:
      // The server's own files: templates, seal keys, any file read or written. Their messages
      // name paths, so only a fixed sentence reaches the client.
      return environment(e.code() == ErrorCode::kCrypto     ? "the seal key cannot be used"
                         : e.code() == ErrorCode::kTemplate ? "a template of the server cannot be loaded"
                                                            : "a file of the server cannot be read or written",
                         30, rid, e.what());
    case libcert::ErrorClass::kBadInput:
      break;
  }
  switch (e.code()) {
    case ErrorCode::kValidation:
      return bad_input({422, "validation-failed", "Holder data failed the template's rules",
                        detail, extra});
    case ErrorCode::kRender:
      // A value the template cannot print (no glyph, does not fit): the client's data.
      return bad_input(
          {422, "render-failed", "A value cannot be printed on this template", detail, extra});
    case ErrorCode::kPdfMalformed:
      return bad_input({422, "pdf-malformed", "The PDF cannot be read", detail, extra});
    case ErrorCode::kLimitExceeded:
      return bad_input({413, "limit-exceeded", "Input exceeds a limit", detail, extra});
    case ErrorCode::kNotFound:
      return bad_input({404, "not-found", "Not found", detail, extra});
    default:
      return bad_input({400, "invalid-argument", "Invalid argument", detail, extra});
  }
}

bool environmental_errno(int ev) {
  switch (ev) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EIO:
    case EROFS:
    case EACCES:
    case EPERM:
    case ENOENT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace

MappedError map_current_exception(const std::string& rid) noexcept {
  try {
    try {
      throw;
    } catch (const ApiError& e) {
      // Deliberate answers of the routes: already a problem (their 503s carry Retry-After).
      const Fault f = e.status() < 500  ? Fault::kBadInput
                      : e.status() == 503 ? Fault::kEnvironment
                                          : Fault::kInternal;
      return {e, f, f == Fault::kBadInput ? "" : e.what()};
    } catch (const libcert::pkcs11::TokenError& e) {
      // A key in a token that cannot be used now (absent, PIN refused or locked, key gone):
      // the environment (503, certctl exit 5), with the stable fault name for operators and
      // monitors; the URI and cause go to the log only.
      MappedError m = environment("the signing token cannot be used now (" +
                                      std::string(libcert::pkcs11::to_string(e.fault())) + ")",
                                  10, rid, e.what());
      m.problem = ApiError(m.problem.status(), "token-unavailable", "Signing token unavailable",
                           m.problem.what(),
                           {{"token_fault", std::string(libcert::pkcs11::to_string(e.fault()))}});
      m.problem.headers.emplace_back("Retry-After", "10");
      return m;
    } catch (const libcert::Error& e) {
      return from_libcert(e, rid);
    } catch (const RegistryError& e) {
      return from_registry(e, rid);
    } catch (const std::bad_alloc& e) {
      return environment("the server is out of memory", 5, rid, e.what());
    } catch (const std::system_error& e) {
      // Also std::filesystem::filesystem_error: the server's own files.
      if (environmental_errno(e.code().value()) &&
          (e.code().category() == std::generic_category() ||
           e.code().category() == std::system_category())) {
        return environment("a file of the server cannot be read or written", 30, rid, e.what());
      }
      return bug(rid, e.what());
    } catch (const std::exception& e) {
      return bug(rid, e.what());
    } catch (...) {
      return bug(rid, "a non-standard exception");
    }
  } catch (...) {
    // Mapping itself failed (memory exhausted while building strings): the smallest answer.
    try {
      return {ApiError(503, "unavailable", "Service unavailable", "retry later"),
              Fault::kEnvironment, ""};
    } catch (...) {
      std::terminate();
    }
  }
}

int exit_code_of_current_exception() noexcept {
  return libcert::exit_code(map_current_exception("").fault);
}

}  // namespace certd
