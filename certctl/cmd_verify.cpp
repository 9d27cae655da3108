// certctl verify — full verification report of a sealed PDF (libcert/verify.h).
//
//   certctl verify --bundle trust-bundle.cbor licence.pdf   # roots: <keys>/root/root.crt
//   certctl verify --trust root.pem --trust dir/ --bundle B --bundle-pins pins.txt --json f.pdf
//
// The key states (retired, revoked, compromised_at) come from a signed trust bundle, applied
// offline exactly as `certctl verify-qr` does (libcert::BundleSealKeys); the bundle is accepted
// only when signed by a pinned bundle-signer key (--bundle-pins, default <keys>/bundle/pins.txt;
// --root, default <keys>/root/root.crt). Without --bundle the result is INDETERMINATE (check
// "key-state": no trust data), never VALID.
//
// Exit code 0 only if the result is VALID; 1 for any other verdict (docs/verdicts.md; the report
// names the failed checks); 2 usage; 3 a bundle that is refused; 4/5 unreadable files.
#include <iostream>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/ofd.h"
#include "libcert/trust_bundle.h"
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
  const certctl::Options o(rest, {"--keys", "--bundle", "--bundle-pins", "--root"}, {"--json"});
  if (o.positional().size() != 1) throw certctl::UsageError("expected exactly one FILE.pdf");
  const std::string pdf = certctl::read_file(o.positional().front());
  // An OFD (a ZIP package) is verified as GB/T 38540 seals (libcert/ofd.h); its default root is
  // the SM2 seal root.
  const bool ofd = libcert::looks_like_ofd(pdf);
  // Without --trust, the root of the configured keys (--keys, --example-keys, ...); with none
  // configured nothing is trusted, so no licence is VALID (an example licence verifies only
  // where the example root is explicitly trusted).
  if (trust_paths.empty()) {
    if (auto keys = certctl::configured_keys_dir(o)) {
      trust_paths.push_back(*keys + (ofd ? "/sm2/root.crt" : "/root/root.crt"));
    } else {
      throw certctl::UsageError(
          "no trust anchors: give --trust ROOT.pem, --keys DIR (its root/root.crt), or "
          "--example-keys (the demo root)");
    }
  }

  libcert::TrustStore trust;
  for (const auto& p : trust_paths) trust.add_path(p);

  libcert::SystemClock clock;
  libcert::VerifyOptions opts;
  opts.clock = &clock;
  std::optional<libcert::BundleSealKeys> keys;
  if (auto b = o.get("--bundle")) {
    keys.emplace(libcert::TrustBundle::parse(certctl::read_file(*b), certctl::bundle_pins(o)));
    opts.keys = &*keys;
  }
  const libcert::VerificationReport report =
      ofd ? libcert::verify_ofd(pdf, trust, opts) : libcert::verify_pdf(pdf, trust, opts);
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
    "verify", "verify the seals of a PDF or OFD and print the report (exit 0 only if VALID)",
    "certctl verify [--trust ROOT.pem|DIR ...] [--bundle FILE [--bundle-pins PINS.txt] "
    "[--root CERT.pem]] [--keys DIR] [--json] FILE.pdf|FILE.ofd",
    run_verify};

}  // namespace
