// certctl sign — seal an existing PDF with a department's seal key (PAdES B-B, docs/signing.md).
#include <charconv>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/sign.h"

namespace {

double parse_number(const std::string& s, const char* what) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) {
    throw certctl::UsageError(std::string(what) + ": not a number: '" + s + "'");
  }
  return v;
}

long long parse_int(const std::string& s, const char* what) {
  long long v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) {
    throw certctl::UsageError(std::string(what) + ": not an integer: '" + s + "'");
  }
  return v;
}

libcert::Rect parse_rect(const std::string& s) {
  std::vector<double> v;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    v.push_back(parse_number(s.substr(start, comma - start), "--rect"));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (v.size() != 4 || v[2] <= 0 || v[3] <= 0) {
    throw certctl::UsageError("--rect wants x,y,w,h in PDF points with w, h > 0");
  }
  return {v[0], v[1], v[2], v[3]};
}

bool valid_department_id(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

int run_sign(const certctl::Args& args) {
  const certctl::Options o(
      args,
      {"--department", "--key", "--cert", "--chain", "--rect", "--page", "--docmdp", "--reason",
       "--location", "--name", "--field", "--time", "--keys", "-o"},
      {"--approval"});
  if (o.positional().size() != 1) throw certctl::UsageError("exactly one input PDF expected");
  const std::string out = o.require("-o");

  std::string key = o.get("--key").value_or("");
  std::string cert = o.get("--cert").value_or("");
  if (key.empty() != cert.empty()) throw certctl::UsageError("--key and --cert go together");
  if (key.empty()) {
    const std::string dept = o.require("--department");
    if (!valid_department_id(dept)) {
      throw certctl::UsageError("--department: '" + dept + "' is not a department id ([a-z0-9-])");
    }
    const std::string keys = certctl::keys_dir(o);
    certctl::warn_if_example_keys(keys);
    const std::string dir = keys + "/seals/" + dept;
    key = dir + "/seal.key";
    cert = dir + "/seal.crt";
  }
  std::vector<std::string> chain;
  if (auto c = o.get("--chain")) chain.push_back(*c);
  const libcert::PemFileSigner signer(key, cert, chain);

  libcert::SystemClock system_clock;
  std::optional<libcert::FixedClock> fixed;
  if (auto t = o.get("--time")) fixed.emplace(parse_int(*t, "--time"));
  libcert::SealOptions so;
  so.clock = fixed ? static_cast<const libcert::Clock*>(&*fixed) : &system_clock;
  so.kind = o.flag("--approval") ? libcert::SealKind::kApproval : libcert::SealKind::kCertification;
  if (auto p = o.get("--docmdp")) so.docmdp_p = static_cast<int>(parse_int(*p, "--docmdp"));
  if (auto p = o.get("--page")) {
    const long long page = parse_int(*p, "--page");
    if (page < 1) throw certctl::UsageError("--page counts from 1");
    so.page = static_cast<std::size_t>(page - 1);
  }
  if (auto r = o.get("--rect")) so.rect = parse_rect(*r);
  so.reason = o.get("--reason").value_or("");
  so.location = o.get("--location").value_or("");
  so.name = o.get("--name").value_or("");
  so.field_name = o.get("--field").value_or("");

  const std::string in = certctl::read_file(o.positional()[0]);
  const std::string sealed = libcert::seal_pdf(in, signer, so);
  certctl::write_file_atomic(out, sealed);
  std::cerr << "sealed " << o.positional()[0] << " -> " << out << " (" << sealed.size()
            << " bytes, " << (sealed.size() - in.size()) << " appended)\n";
  return 0;
}

const certctl::Command kSign{
    "sign", "seal a PDF with a department's seal key (PAdES B-B, incremental update)",
    "certctl sign (--department ID | --key K.pem --cert C.pem [--chain CHAIN.pem]) IN.pdf -o "
    "OUT.pdf\n"
    "  [--approval] [--docmdp 1|2|3] [--rect x,y,w,h] [--page N] [--reason TEXT]\n"
    "  [--location TEXT] [--name TEXT] [--field NAME] [--time UNIX_SECONDS] [--keys DIR]\n"
    "  Default: a DocMDP P=1 certification seal with <keys>/seals/ID; --docmdp 2 when\n"
    "  further seals will follow; --approval for those further seals. Without --rect the\n"
    "  signature is invisible. --time fixes /M (tests, reproducible output).",
    run_sign};

}  // namespace
