// The usage example of libcert/issuer.h, built against the installed package: issue the sample
// licence of a template, verify it with libcert, and write it for the independent verifiers.
//
//   consumer TEMPLATES_DIR KEYS_DIR BUNDLE OUT.pdf
//
// BUNDLE is a trust bundle (`certctl trust-bundle export`): the key states a verifier needs, pinned
// by KEYS_DIR/bundle/pins.txt. Exit 0 when the licence was issued and libcert's verifier says
// VALID; 1 otherwise.
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "libcert/error.h"
#include "libcert/issuer.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: consumer TEMPLATES_DIR KEYS_DIR BUNDLE OUT.pdf\n";
    return 2;
  }
  const std::string templates_dir = argv[1], keys_dir = argv[2], bundle_file = argv[3],
                    out = argv[4];
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  try {
    // As in the header's example.
    libcert::TemplateSet templates = libcert::TemplateSet::load(templates_dir);
    libcert::SealKeyring seals = libcert::SealKeyring::load_dir(keys_dir);
    libcert::SystemClock clock;
    libcert::Issuer issuer(templates, seals, {.clock = &clock, .qr_host = "LIC.ALI.EXAMPLE"});
    std::ifstream sample(templates_dir + "/business-licence-enterprise/sample.json");
    libcert::IssueRequest req{.template_id = "business-licence-enterprise",
                              .data = nlohmann::json::parse(sample),
                              .serial = "2025000123"};
    libcert::IssuedLicence lic = issuer.issue(req);

    libcert::TrustStore trust;
    trust.add_path(keys_dir + "/root/root.crt");
    const libcert::BundlePins pins{
        libcert::certificate_der_from_pem(slurp(keys_dir + "/root/root.crt")),
        libcert::read_pins(slurp(keys_dir + "/bundle/pins.txt"))};
    const libcert::BundleSealKeys keys(libcert::TrustBundle::parse(slurp(bundle_file), pins));
    libcert::VerifyOptions opts;
    opts.keys = &keys;
    const libcert::VerificationReport report = libcert::verify_pdf(lic.pdf, trust, opts);
    std::ofstream(out, std::ios::binary) << lic.pdf;
    std::cout << "consumer: " << lic.identifier << " " << libcert::to_string(report.result)
              << " (" << lic.pdf.size() << " bytes)\n";
    if (report.result != libcert::Verdict::kValid) {
      std::cout << report.to_text();
      return 1;
    }
    return 0;
  } catch (const libcert::Error& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
