// certctl verify-qr — offline verification of a licence QR code (docs/qr.md "Verifier
// behaviour"): the text as printed in the QR (URL prefix included) or an image decoded with zbar,
// checked against a trust bundle file only (no daemon, no network). Exit 0 only for VALID.
#include <cairo.h>
#include <zbar.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/qr_payload.h"
#include "libcert/example_keys.h"
#include "libcert/trust_bundle.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

template <auto Fn>
struct Del {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
using Surface = std::unique_ptr<cairo_surface_t, Del<cairo_surface_destroy>>;
using zbar::zbar_image_scanner_t;
using zbar::zbar_image_t;
using zbar::zbar_symbol_t;
using Scanner = std::unique_ptr<zbar_image_scanner_t, Del<zbar::zbar_image_scanner_destroy>>;
using Image = std::unique_ptr<zbar_image_t, Del<zbar::zbar_image_destroy>>;

// Decodes every QR symbol of a PNG with zbar (the library behind zbarimg). The PNG is read by
// cairo and turned into 8-bit luma (Y800), composited over white.
std::vector<std::string> decode_png(const std::string& path) {
  Surface s(cairo_image_surface_create_from_png(path.c_str()));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS)
    throw Error(ErrorCode::kIo, path + ": cannot read as PNG (" +
                                    cairo_status_to_string(cairo_surface_status(s.get())) + ")");
  const auto fmt = cairo_image_surface_get_format(s.get());
  if (fmt != CAIRO_FORMAT_ARGB32 && fmt != CAIRO_FORMAT_RGB24)
    throw Error(ErrorCode::kInvalidArgument, path + ": unsupported PNG pixel format");
  const int w = cairo_image_surface_get_width(s.get());
  const int h = cairo_image_surface_get_height(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  const unsigned char* data = cairo_image_surface_get_data(s.get());
  std::vector<unsigned char> luma(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint32_t px = 0;
      std::memcpy(&px, data + static_cast<std::ptrdiff_t>(y) * stride + 4 * x, 4);
      const unsigned a = fmt == CAIRO_FORMAT_ARGB32 ? (px >> 24) & 0xFFu : 0xFFu;
      // cairo stores premultiplied colour: over white adds (255 - alpha).
      const unsigned r = ((px >> 16) & 0xFFu) + (255 - a), g = ((px >> 8) & 0xFFu) + (255 - a),
                     b = (px & 0xFFu) + (255 - a);
      luma[static_cast<std::size_t>(y) * static_cast<std::size_t>(w) +
           static_cast<std::size_t>(x)] =
          static_cast<unsigned char>(std::min(255u, (299 * r + 587 * g + 114 * b) / 1000));
    }
  }
  Scanner scanner(zbar::zbar_image_scanner_create());
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 0);
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_QRCODE, zbar::ZBAR_CFG_ENABLE, 1);
  // Keep the bytes as encoded: zbar would otherwise guess a text encoding for 8-bit segments.
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_QRCODE, zbar::ZBAR_CFG_BINARY, 1);
  Image img(zbar::zbar_image_create());
  zbar::zbar_image_set_format(img.get(), zbar_fourcc('Y', '8', '0', '0'));
  zbar::zbar_image_set_size(img.get(), static_cast<unsigned>(w), static_cast<unsigned>(h));
  zbar::zbar_image_set_data(img.get(), luma.data(), luma.size(), nullptr);  // luma outlives img
  if (zbar::zbar_scan_image(scanner.get(), img.get()) < 0)
    throw Error(ErrorCode::kInternal, path + ": zbar scan failed");
  std::vector<std::string> out;
  for (const zbar_symbol_t* sym = zbar::zbar_image_first_symbol(img.get()); sym != nullptr;
       sym = zbar::zbar_symbol_next(sym)) {
    if (zbar::zbar_symbol_get_type(sym) != zbar::ZBAR_QRCODE) continue;
    out.emplace_back(zbar::zbar_symbol_get_data(sym), zbar::zbar_symbol_get_data_length(sym));
  }
  return out;
}

std::string yyyymmdd(std::uint32_t d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", d / 10000, d / 100 % 100, d % 100);
  return buf;
}

// Rollback state: "<highest version> <sha256 of that bundle file>".
libcert::BundleVersionGuard load_state(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  std::istringstream in(certctl::read_file(path));
  std::uint64_t v = 0;
  std::string sha;
  if (!(in >> v >> sha))
    throw Error(ErrorCode::kInvalidArgument, path + ": not '<version> <sha256>' bundle state");
  return {v, sha};
}

int run(const certctl::Args& args) {
  certctl::Options o(args, {"--bundle", "--root", "--bundle-pins", "--keys", "--state", "--now"},
                     {"--json"});
  const std::string bundle_path = o.require("--bundle");
  if (o.positional().size() != 1)
    throw certctl::UsageError("expected exactly one QR text or image file");
  libcert::SystemClock clock;
  std::int64_t now = clock.now();
  if (auto n = o.get("--now")) {
    try {
      now = std::stoll(*n);
    } catch (const std::exception&) {
      throw certctl::UsageError("--now must be Unix seconds");
    }
  }

  const auto bundle =
      libcert::TrustBundle::parse(certctl::read_file(bundle_path), certctl::bundle_pins(o));
  if (auto st = o.get("--state")) {
    auto guard = load_state(*st);
    guard.accept(bundle);  // throws "rollback refused"
    certctl::write_file_atomic(*st,
                               std::to_string(guard.highest()) + " " + guard.file_sha256() + "\n");
  }

  // An existing file is an image; anything else is the QR text itself.
  const std::string arg = o.positional()[0];
  std::string text = arg;
  std::string source = "text";
  if (arg.size() < 1024 && std::filesystem::is_regular_file(arg)) {
    const auto symbols = decode_png(arg);
    if (symbols.empty()) {
      std::cerr << "error: " << arg << ": no QR code found\n";
      return 1;
    }
    text = symbols.front();
    source = arg + " (zbar, " + std::to_string(symbols.size()) + " QR symbol(s))";
  }

  const libcert::QrVerdict v = libcert::verify_qr(text, bundle, now);
  const long days = static_cast<long>(v.bundle_age_seconds / 86400);
  // The bundle's root is the demo PKI: whatever the verdict, not a real licence (issue 18).
  const bool example = libcert::is_example_certificate(bundle.root_der);
  if (o.flag("--json")) {
    nlohmann::json j = {{"verdict", libcert::to_string(v.verdict)},
                        {"check", v.check.empty() ? nlohmann::json() : nlohmann::json(v.check)},
                        {"reason", v.reason},
                        {"signature_ok", v.signature_ok},
                        {"status_checked", v.status_checked},
                        {"kid", v.kid_hex},
                        {"seal_department", v.seal_department},
                        {"seal_version", v.seal_version},
                        {"bundle",
                         {{"version", v.bundle_version},
                          {"issued_at", v.bundle_issued_at},
                          {"age_seconds", v.bundle_age_seconds}}}};
    if (v.claims) {
      const auto& c = *v.claims;
      j["claims"] = {{"iss", c.issuer},
                     {"iat", c.issued_at},
                     {"identifier", c.licence.identifier},
                     {"type_code", c.licence.type_code},
                     {"holder_name", c.licence.holder_name},
                     {"holder_code", c.licence.holder_code},
                     {"title", c.licence.title},
                     {"issue_date", c.licence.issue_date},
                     {"area_code", c.licence.area_code},
                     {"status_index", c.licence.status_index}};
      if (c.licence.holder_name_chars)
        j["claims"]["holder_name_full_chars"] = *c.licence.holder_name_chars;
      if (c.expires_at) j["claims"]["exp"] = *c.expires_at;
    }
    j["example_keys"] = example;
    if (example) j["notice"] = std::string(libcert::kExampleKeysNotice);
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "verdict:      " << libcert::to_string(v.verdict) << "\n";
    if (example) std::cout << "NOTICE:       " << libcert::kExampleKeysNotice << "\n";
    if (!v.check.empty()) std::cout << "check:        " << v.check << "\n";
    if (!v.reason.empty()) std::cout << "reason:       " << v.reason << "\n";
    if (v.claims) {
      const auto& c = *v.claims;
      if (!v.signature_ok)
        std::cout << "(fields below are NOT authenticated: the signature did not verify)\n";
      std::cout << "holder:       " << c.licence.holder_name
                << (c.licence.holder_name_chars
                        ? "… (shortened to fit the QR; the full name has " +
                              std::to_string(*c.licence.holder_name_chars) + " characters)"
                        : std::string())
                << "\n"
                << "holder code:  " << c.licence.holder_code << "\n"
                << "identifier:   " << c.licence.identifier << "\n"
                << "title:        " << c.licence.title << "\n"
                << "type code:    " << c.licence.type_code << "\n"
                << "issue date:   " << yyyymmdd(c.licence.issue_date) << "\n"
                << "area code:    " << c.licence.area_code << "\n"
                << "issuer:       " << c.issuer
                << (v.seal_department.empty() ? "" : " (" + v.seal_department + ")") << "\n"
                << "signed at:    " << libcert::rfc3339(c.issued_at) << "\n"
                << "expires:      " << (c.expires_at ? libcert::rfc3339(*c.expires_at) : "never") << "\n"
                << "status index: " << c.licence.status_index
                << (v.status_checked ? "" : " (no status data)") << "\n";
    }
    std::cout << "source:       " << source << "\n"
              << "bundle:       version " << v.bundle_version << ", status data from "
              << libcert::rfc3339(v.bundle_issued_at) << ", " << days << " day(s) old\n";
  }
  return libcert::exit_code(v.verdict);  // docs/verdicts.md: 0 VALID, 1 any other verdict
}

const certctl::Command kVerifyQr{
    "verify-qr", "verify a licence QR code offline against a trust bundle",
    "certctl verify-qr --bundle FILE [--root CERT.pem] [--bundle-pins PINS.txt] [--state FILE] "
    "[--now T] [--json] "
    "<QR text | image.png>\n"
    "  prints the verdict (docs/verdicts.md) and the failing check (structure, url-prefix, kid,\n"
    "  signature, issuer-binding, signing-time, key-state, status, expiry);\n"
    "  exit 0 VALID; 1 INVALID / REVOKED / EXPIRED / UNKNOWN-SIGNER / INDETERMINATE;\n"
    "  --state FILE keeps the highest bundle version seen and refuses a rollback",
    run};

}  // namespace
