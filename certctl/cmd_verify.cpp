// certctl verify — full verification report of a sealed PDF (libcert/verify.h).
//
//   certctl verify licence.pdf                       # trust: keys-example/root/root.crt
//   certctl verify --trust root.pem --trust dir/ --json licence.pdf
//
// Exit code 0 only if the result is VALID; 1 for INVALID / MODIFIED / UNKNOWN-SIGNER (the report
// names the failed checks); 2 usage; 4 the file or a trust root cannot be read.
#include <iostream>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/verify.h"

namespace {

int run_verify(const certctl::Args& args) {
  // --trust may be repeated: collect its values by hand (Options keeps the last one only).
  std::vector<std::string> trust_paths;
  certctl::Args rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--trust") {
      if (i + 1 >= args.size()) throw certctl::UsageError("option --trust needs a value");
      trust_paths.push_back(args[++i]);
    } else {
      rest.push_back(args[i]);
    }
  }
  const certctl::Options o(rest, {"--keys"}, {"--json"});
  if (o.positional().size() != 1) throw certctl::UsageError("expected exactly one FILE.pdf");
  if (trust_paths.empty()) trust_paths.push_back(certctl::keys_dir(o) + "/root/root.crt");

  libcert::TrustStore trust;
  for (const auto& p : trust_paths) trust.add_path(p);
  const std::string pdf = certctl::read_file(o.positional().front());

  libcert::SystemClock clock;
  libcert::VerifyOptions opts;
  opts.clock = &clock;
  const libcert::VerificationReport report = libcert::verify_pdf(pdf, trust, opts);
  if (o.flag("--json")) {
    std::cout << report.to_json().dump(2) << "\n";
  } else {
    std::cout << o.positional().front() << "\n" << report.to_text();
    const auto failed = report.failed_checks();
    if (!failed.empty()) {
      std::cout << "Failed checks:";
      for (const auto& f : failed) std::cout << " " << f;
      std::cout << "\n";
    }
  }
  return report.result == libcert::Verdict::kValid ? 0 : 1;
}

const certctl::Command kVerify{
    "verify", "verify the seals of a PDF and print the report (exit 0 only if VALID)",
    "certctl verify [--trust ROOT.pem|DIR ...] [--keys DIR] [--json] FILE.pdf", run_verify};

}  // namespace
