#include "issuance_service.h"

#include <fstream>
#include <map>

#include "app_internal.h"
#include "issuance.h"
#include "libcert/issuer.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "libcert/pkcs11.h"
#include "libcert/tsa.h"
#include "seal_keys.h"

namespace certd {

namespace {

ApiError unavailable(const char* slug, const char* title, const std::string& detail,
                     const char* retry_after) {
  ApiError e(503, slug, title, detail);
  e.headers.emplace_back("Retry-After", retry_after);
  return e;
}

std::string version_name(const SealKeyVersion& v) {
  return "seal key " + v.department + " v" + std::to_string(v.version);
}

// True when the private key file of `v` can be opened and read now (root reads mode-000 files,
// so the test is a read, not access()).
bool key_readable(const SealKeys& keys, const SealKeyVersion& v) {
  if (libcert::pkcs11::Uri::is_uri(v.key_ref)) return !keys.token_key_problem(v);
  std::ifstream in(keys.key_path(v.key_ref), std::ios::binary);
  char c = 0;
  return in && in.read(&c, 1) && in.gcount() == 1;
}

}  // namespace

std::optional<std::string> clock_problem(const SealKeyVersion& v, std::int64_t now,
                                         std::optional<std::int64_t> last_issued,
                                         std::int64_t max_skew_s) {
  using detail::rfc3339;
  // The usage window of a version starts at its activation (and never before its certificate's
  // notBefore, RFC 5280 §4.1.2.5): a signing time before it is rejected by every verifier.
  if (v.activated_at && now < *v.activated_at) {
    return "the clock reads " + rfc3339(now) + ", before " + version_name(v) +
           " was activated (" + rfc3339(*v.activated_at) +
           "); a licence sealed now would never verify. Correct the system clock (NTP)";
  }
  if (v.not_before && now < *v.not_before) {
    return "the clock reads " + rfc3339(now) + ", before the notBefore of " + version_name(v) +
           "'s certificate (" + rfc3339(*v.not_before) +
           "); a licence sealed now would never verify. Correct the system clock (NTP)";
  }
  if (last_issued && now + max_skew_s < *last_issued) {
    return "the clock reads " + rfc3339(now) + ", " + std::to_string(*last_issued - now) +
           " s before department " + v.department + "'s last issuance (" + rfc3339(*last_issued) +
           "), more than max_clock_skew_s (" + std::to_string(max_skew_s) +
           " s): the clock was set back. Correct the system clock (NTP)";
  }
  return std::nullopt;
}

SealKeyVersion IssuanceService::usable_seal(const std::optional<SealKeyVersion>& seal,
                                            const std::string& dept, std::int64_t now,
                                            std::optional<std::int64_t> last_issued,
                                            bool probe_key_file) const {
  if (!seal) {
    throw unavailable("no-active-seal-key", "No active seal key",
                      "department " + dept +
                          " has no active seal key version; an administrator must "
                          "activate one (POST /v1/seals/" +
                          dept + "/keys/{version}:activate)",
                      "60");
  }
  const SealKeyVersion& v = *seal;
  if (auto why = clock_problem(v, now, last_issued, s_.config->max_clock_skew_s)) {
    throw unavailable("clock-out-of-range", "Clock out of range", *why, "60");
  }
  // service.md: refuse to issue with a certificate that expires within a configured margin, and
  // warn well before.
  const std::int64_t left = v.not_after.value_or(0) - now;
  const double days = static_cast<double>(left) / 86400.0;
  metrics_.set_labeled_gauge("certd_seal_certificate_days_left",
                             "Days until the active seal certificate of a department expires.",
                             "department", dept, days);
  if (left < static_cast<std::int64_t>(s_.config->seal_refuse_days) * 86400) {
    throw unavailable("seal-certificate-expiring", "Seal certificate expiring",
                      version_name(v) + ": its certificate expires " +
                          detail::rfc3339(v.not_after.value_or(0)) + ", within the " +
                          std::to_string(s_.config->seal_refuse_days) +
                          "-day issuing margin (seal.refuse_days); rotate the key: POST /v1/seals/" +
                          dept + "/keys, install the certificate, activate it",
                      "3600");
  }
  if (left < static_cast<std::int64_t>(s_.config->seal_warn_days) * 86400 && s_.log) {
    // At most one warning per department and hour: enough to be seen, not a flood.
    static std::mutex mu;
    static std::map<std::string, std::int64_t> last;
    std::lock_guard l(mu);
    if (now - last[dept] >= 3600) {
      last[dept] = now;
      s_.log(nlohmann::json{{"ts", detail::rfc3339(now)},
                            {"level", "warn"},
                            {"msg", "seal certificate expires soon"},
                            {"department", dept},
                            {"version", v.version},
                            {"not_after", detail::rfc3339(v.not_after.value_or(0))},
                            {"days_left", static_cast<std::int64_t>(days)}}
                 .dump());
    }
  }
  s_.seal_keys->check_token_key(v);  // a token key: TokenError (503 naming the fault)
  if (probe_key_file && !key_readable(*s_.seal_keys, v)) {
    throw unavailable("seal-key-unavailable", "Seal key unavailable",
                      "the private key of " + version_name(v) +
                          " cannot be read on this server; an administrator must restore it",
                      "60");
  }
  return v;
}

LicenceRecord issue_licence(Store& store, const IssueContext& ctx,
                            const std::function<Rendered(const Allocation&)>& render) {
  IssuanceGuard guard(store, ctx);  // reserve: throws with nothing reserved, no serial taken
  if (ctx.on_reserved) ctx.on_reserved();
  for (int attempt = 1;; ++attempt) {
    Rendered r;
    try {
      r = render(guard.allocation());
    } catch (...) {
      guard.fail(detail::failure_reason("render-failed", std::current_exception()));
      throw;
    }
    std::optional<LicenceRecord> rec;
    try {
      rec = guard.commit(r);
    } catch (...) {
      // Nothing was committed (or, if the COMMIT itself was lost on the way back, the
      // reservation is already gone and the guard finds nothing to void).
      guard.fail(detail::failure_reason("commit-failed", std::current_exception()));
      throw;
    }
    if (rec) return std::move(*rec);
    // The seal version changed between reserve and commit (an activation, retirement or
    // revocation committed in between): seal again with the version active now, same serial and
    // index, so that no licence is committed with a version that was no longer active at its
    // issue time.
    if (attempt >= detail::kMaxRenders) {
      guard.fail({{"reason", "seal-changed"}, {"renders", attempt}});
      throw RegistryError(RegistryError::Code::kBusy,
                          "the seal key version of department " + ctx.department + " changed " +
                              std::to_string(attempt) + " times while serial " +
                              guard.allocation().serial +
                              " was being sealed; nothing was issued, retry");
    }
  }
}

libcert::LicenceData IssuanceService::validate(const libcert::Template& t,
                                               const nlohmann::json& data) const {
  return t.validate(data, *s_.clock);
}

LicenceRecord IssuanceService::issue(const libcert::Template& t, const libcert::LicenceData& data,
                                     IssueContext ctx, bool with_ofd) const {
  const std::string dept = t.department().id;
  ctx.now = s_.clock->now();
  // Read before the reserve transaction: the clock check needs only an upper bound of what the
  // department issued, and a concurrent issuance can only raise it by less than the skew.
  const std::optional<std::int64_t> last_issued = s_.store->last_issued_at(dept);
  // In the reserve transaction, before a serial is taken: a refusal burns no serial and writes
  // nothing.
  ctx.check_seal = [&](const std::optional<SealKeyVersion>& v) {
    // An OFD cannot be made without the departments' SM2 seals. Checked here, after the
    // Idempotency-Key's begin in the same transaction (IssueContext::begin_idempotency), so that
    // a replay is still answered with its stored response first.
    if (with_ofd && s_.ofd_seals == nullptr) {
      throw unavailable("ofd-unavailable", "OFD issuance unavailable",
                        "formats: this server has no OFD seals loaded (<keys>/sm2/seals/<dept>/"
                        "seal.{key,crt,esl}); issue as PDF only, or ask an administrator",
                        "60");
    }
    (void)usable_seal(v, dept, ctx.now, last_issued);
  };
  return issue_licence(*s_.store, ctx, [&](const Allocation& a) {
    libcert::IssueRequest r;
    r.template_id = t.id();
    r.serial = a.serial;
    r.status_index = static_cast<std::uint32_t>(a.status_index);
    // Seal with the version the registry held active in the reserve transaction; the issue time
    // is read after it, and the commit transaction re-checks that the version is still active
    // (or calls this again with the new one), so the issue time lies inside the version's usage
    // window whatever rotation runs concurrently (docs/key-lifecycle-and-audit.md).
    const std::int64_t issued_at = s_.clock->now();
    r.issued_at = issued_at;
    r.ofd = with_ofd;
    const SealKeyVersion v = usable_seal(a.seal, dept, issued_at, last_issued, false);
    std::shared_ptr<const libcert::Signer> signer;
    try {
      signer = s_.seal_keys->signer(v);
    } catch (const libcert::Error& e) {
      if (e.code() != libcert::ErrorCode::kIo) throw;
      // The key file vanished between the check and the load: same refusal, without its path.
      throw unavailable("seal-key-unavailable", "Seal key unavailable",
                        "the private key of " + version_name(v) +
                            " cannot be read on this server; an administrator must restore it",
                        "60");
    }
    libcert::SealKeyring ring;
    ring.add(dept, std::move(signer));
    // PAdES level per template / department (config "pades"); without a TSA key: B-B.
    libcert::IssuerOptions io;
    io.clock = s_.clock;
    io.qr_host = s_.config->qr_host;
    io.timestamper = s_.tsa;
    io.ofd_seals = s_.ofd_seals;
    io.level = libcert::PadesLevel::b_b;
    if (s_.tsa != nullptr) {
      io.level = libcert::parse_pades_level(s_.config->pades_level_for(r.template_id, dept));
      if (io.level >= libcert::PadesLevel::b_lt && s_.validation_data)
        io.validation_data = s_.validation_data();
    }
    const libcert::Issuer issuer(*s_.templates, ring, io);
    // The data validate() normalised, sealed as it is: validated once per issuance.
    const libcert::IssuedLicence lic = issuer.issue(r, data);
    Rendered out;
    out.id = lic.identifier;
    out.number = lic.identifier;
    if (!t.number_field().empty() && lic.data.contains(t.number_field()) &&
        lic.data[t.number_field()].is_string()) {
      out.number = lic.data[t.number_field()].get<std::string>();
    }
    out.template_version = std::to_string(t.version());
    out.data_json = lic.data.dump();
    out.pdf = lic.pdf;
    out.pdf_sha256 = lic.pdf_sha256;
    if (with_ofd) {
      // The issuer promises the OFD when asked (issuer.h): its absence is a bug, not bad input.
      if (lic.ofd.empty()) {
        throw libcert::Error(libcert::ErrorCode::kInternal,
                             "the issuer returned no OFD rendition for " + lic.identifier);
      }
      out.ofd = lic.ofd;
      out.ofd_sha256 = lic.ofd_sha256;
    }
    out.qr_text = lic.qr_text;
    out.seal_version = std::to_string(v.version);
    out.seal_cert_sha256 = v.cert_sha256;
    out.issued_at = lic.issued_at;
    return out;
  });
}

Readiness IssuanceService::readiness() const {
  std::lock_guard l(mu_);
  const auto t = std::chrono::steady_clock::now();
  if (!checked_at_ || t - *checked_at_ >= std::chrono::seconds(1)) {
    cached_ = compute_readiness();
    checked_at_ = t;
  }
  return cached_;
}

Readiness IssuanceService::compute_readiness() const {
  Readiness r;
  auto fail = [&](const char* check, const std::string& why) {
    r.checks[check] = "failing: " + why;
    r.ready = false;
  };
  // Reasons name the fault, never a server path (RegistryError messages may hold one: logged
  // elsewhere, not shown here).
  try {
    s_.store->probe_writable();
    r.checks["registry"] = "ok";
  } catch (const RegistryError& e) {
    fail("registry", std::string("the registry cannot be written (") +
                         std::string(to_string(e.code())) + ")");
  }
  if (s_.templates == nullptr || s_.seal_keys == nullptr) {
    fail("issuing", "templates or seal keys are not loaded");
    return r;
  }
  r.checks["issuing"] = "ok";
  try {
    const std::int64_t now = s_.clock->now();
    std::string clock_why, keys_why;
    for (const auto& v : s_.store->list_seal_keys(std::nullopt)) {
      if (v.state != "active") continue;
      if (clock_why.empty()) {
        if (auto why = clock_problem(v, now, s_.store->last_issued_at(v.department),
                                     s_.config->max_clock_skew_s)) {
          clock_why = *why;
        }
      }
      if (keys_why.empty() && !key_readable(*s_.seal_keys, v)) {
        keys_why = "the private key of " + version_name(v) + " cannot be read";
      }
    }
    if (clock_why.empty()) {
      r.checks["clock"] = "ok";
    } else {
      fail("clock", clock_why);
    }
    if (keys_why.empty()) {
      r.checks["seal_keys"] = "ok";
    } else {
      fail("seal_keys", keys_why);
    }
  } catch (const RegistryError& e) {
    fail("clock", std::string("the registry cannot be read (") + std::string(to_string(e.code())) +
                      ")");
  }
  return r;
}

}  // namespace certd
