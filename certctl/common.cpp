// Helpers shared by certctl subcommands (declared in command.h).
#include <openssl/evp.h>

#include <charconv>
#include <cstdio>
#include <regex>

#include "command.h"
#include "issuing.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"

namespace certctl {

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw libcert::Error(libcert::ErrorCode::kValidation, path + ": not JSON",
                         {{path, "json-syntax", e.what()}});
  }
}

namespace {
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

std::string iso(std::int32_t yyyymmdd) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", yyyymmdd / 10000, yyyymmdd / 100 % 100,
                yyyymmdd % 100);
  return buf;
}
}  // namespace

IssueTime issue_time(const Options& o) {
  IssueTime t;
  if (auto v = o.get("--issued")) {
    static const std::regex re("^([0-9]{4})-([0-9]{2})-([0-9]{2})$");
    std::smatch m;
    if (!std::regex_match(*v, m, re)) throw UsageError("--issued must be YYYY-MM-DD");
    const int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
    t.unix_seconds = days_from_civil(y, mo, d) * 86400 - 8 * 3600;  // 00:00 in UTC+8
    // Round-trip through the calendar rejects 2025-02-30 and friends.
    if (libcert::china_date(t.unix_seconds) != y * 10000 + mo * 100 + d) {
      throw UsageError("--issued: no such date " + *v);
    }
    t.iso_date = *v;
  } else {
    t.unix_seconds = libcert::SystemClock().now();
    t.iso_date = iso(libcert::china_date(t.unix_seconds));
  }
  return t;
}

std::string default_serial(std::string_view template_id, const nlohmann::json& data) {
  const std::string canon = std::string(template_id) + '\0' + data.dump();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 8) {
    throw libcert::Error(libcert::ErrorCode::kCrypto, "SHA-256 failed");
  }
  unsigned long long n = 0;
  for (unsigned i = 0; i < 8; ++i) n = (n << 8U) | md[i];
  std::string s = std::to_string(n % 1000000000000ULL);
  return std::string(12 - s.size(), '0') + s;
}

int parse_int(const std::string& text, std::string_view option, int lo, int hi) {
  int v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    throw UsageError(std::string(option) + " must be an integer in " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  }
  return v;
}

}  // namespace certctl

namespace certctl {

namespace {
libcert::IssuerOptions issuer_options(const Options& o, const libcert::Clock* clock,
                                      const std::optional<libcert::OfdSealKeyring>& ofd) {
  libcert::IssuerOptions opts;
  opts.clock = clock;
  opts.ofd_seals = ofd ? &*ofd : nullptr;
  if (auto h = o.get("--qr-host")) opts.qr_host = *h;
  // The PDF writer (issuer.h IssuerOptions::PdfWriter); absent: the library's default.
  if (auto w = o.get("--pdf-writer")) {
    if (*w == "libcert") {
      opts.pdf_writer = libcert::IssuerOptions::PdfWriter::kLibcert;
    } else if (*w == "cairo") {
      opts.pdf_writer = libcert::IssuerOptions::PdfWriter::kCairo;
    } else {
      throw UsageError("--pdf-writer must be libcert or cairo, got " + *w);
    }
  }
  return opts;
}
}  // namespace

IssuingContext::IssuingContext(const Options& o, const IssueTime& when)
    : keys(keys_dir(o)),
      example_keys(warn_if_example_keys(keys)),
      templates(libcert::TemplateSet::cached(templates_dir(o))),
      seals(libcert::SealKeyring::load_dir(keys)),
      ofd_seals(renditions(o).ofd ? std::optional(libcert::OfdSealKeyring::load_dir(keys))
                                  : std::nullopt),
      clock(when.unix_seconds),
      issuer(*templates, seals, issuer_options(o, &clock, ofd_seals)) {}

Renditions renditions(const Options& o) {
  const std::string f = o.get("--format").value_or("pdf");
  if (f == "pdf") return {true, false};
  if (f == "ofd") return {false, true};
  if (f == "both") return {true, true};
  throw UsageError("--format must be pdf, ofd or both, got " + f);
}

}  // namespace certctl

namespace certctl {

libcert::BundlePins bundle_pins(const Options& o) {
  libcert::BundlePins pins;
  // The keys directory is asked for only when an option is missing (keys_dir throws when none).
  pins.root_der = libcert::certificate_der_from_pem(read_file(
      o.get("--root") ? *o.get("--root") : keys_dir(o) + "/root/root.crt"));
  pins.signer_spki_sha256 = libcert::read_pins(read_file(
      o.get("--bundle-pins") ? *o.get("--bundle-pins") : keys_dir(o) + "/bundle/pins.txt"));
  return pins;
}

}  // namespace certctl
