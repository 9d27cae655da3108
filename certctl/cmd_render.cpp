// certctl render — render an (unsigned) licence PDF from a template and holder data;
// certctl templates — list the templates.
#include <openssl/evp.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ids.h"
#include "libcert/render.h"
#include "libcert/template.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

// Deterministic default serial: 12 decimal digits from SHA-256 over the template id and the
// normalised data, so rendering the same data twice gives the same identifier.
std::string serial_from(const libcert::LicenceData& d) {
  std::string canon = d.template_id;
  for (const auto& [k, v] : d.values) canon += '\0' + k + '\0' + v;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 8) {
    throw Error(ErrorCode::kCrypto, "SHA-256 failed");
  }
  unsigned long long n = 0;
  for (int i = 0; i < 8; ++i) n = (n << 8) | md[i];
  std::string s = std::to_string(n % 1000000000000ULL);
  return std::string(12 - s.size(), '0') + s;
}

// Seconds since the epoch of 00:00 China time (UTC+8) on an ISO date.
std::int64_t china_midnight(const std::string& iso) {
  static const std::regex re("^([0-9]{4})-([0-9]{2})-([0-9]{2})$");
  std::smatch m;
  if (!std::regex_match(iso, m, re)) throw certctl::UsageError("--issued must be YYYY-MM-DD");
  int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) throw certctl::UsageError("--issued: invalid date");
  // days_from_civil (H. Hinnant)
  y -= mo <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  const std::int64_t t = days * 86400 - 8 * 3600;
  if (libcert::china_date(t) != std::stoi(m[1]) * 10000 + mo * 100 + d) {
    throw certctl::UsageError("--issued: invalid date " + iso);
  }
  return t;
}

int run_render(const certctl::Args& args) {
  const certctl::Options o(
      args, {"--template", "--data", "--serial", "--issued", "--qr-text", "-o", "--templates"}, {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const std::string id = o.require("--template");
  const std::string data_path = o.require("--data");
  const std::string out = o.require("-o");

  const auto set = libcert::TemplateSet::load(certctl::templates_dir(o));
  const auto tmpl = set.get(id);
  nlohmann::json data;
  try {
    data = nlohmann::json::parse(certctl::read_file(data_path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::kValidation, data_path + ": not JSON",
                {{data_path, "json-syntax", e.what()}});
  }
  // The CLI is the one place that reads the wall clock (the library takes it injected). With
  // --issued the run is fully deterministic: the creation time is 00:00 China time that day.
  const libcert::SystemClock system_clock;
  std::int64_t now = system_clock.now();
  std::string issued;
  if (auto i = o.get("--issued")) {
    now = china_midnight(*i);
    issued = *i;
  } else {
    const std::int32_t d = libcert::china_date(now);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d / 10000, d / 100 % 100, d % 100);
    issued = buf;
  }
  const libcert::FixedClock clock(now);
  const libcert::LicenceData ld = tmpl->validate(data, clock);
  const std::string serial = o.get("--serial").value_or(serial_from(ld));
  const auto lid = libcert::LicenceId::make(tmpl->type_code(), tmpl->department().uscc, serial, 1);
  const std::string identifier = lid.str();
  // Upper-case host and path keep the whole text in QR alphanumeric mode (qr.md).
  const std::string qr = o.get("--qr-text").value_or("HTTPS://LIC.ALI.EXAMPLE/V/" + identifier);

  const libcert::Renderer renderer;
  const auto r = renderer.render(*tmpl, ld, {identifier, issued, qr, now, 1});
  certctl::write_file_atomic(out, r.pdf);
  for (const auto& w : ld.warnings) {
    std::cerr << "warning: " << w.field << ": " << w.message << " [" << w.rule << "]\n";
  }
  std::cout << identifier << "\n";
  return 0;
}

int run_templates(const certctl::Args& args) {
  const certctl::Options o(args, {"--templates"}, {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const auto set = libcert::TemplateSet::load(certctl::templates_dir(o));
  for (const auto& id : set.ids()) {
    const auto t = set.get(id);
    std::cout << id << "\t" << t->department().name.zh << "\t" << t->title().zh << "\n";
  }
  return 0;
}

const certctl::Command kRender{
    "render", "render a licence PDF (unsigned) from a template and holder data",
    "certctl render --template ID --data FILE [--serial S] [--issued YYYY-MM-DD] [--qr-text T] "
    "[--templates DIR] -o OUT.pdf",
    run_render};

const certctl::Command kTemplates{"templates", "list the licence templates (id, department, title)",
                                  "certctl templates [--templates DIR]", run_templates};

}  // namespace
