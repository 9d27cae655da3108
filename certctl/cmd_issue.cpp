// certctl issue — render + seal one licence (the library's Issuer façade) in one call.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/issuer.h"
#include "libcert/template.h"

namespace {

int run_issue(const certctl::Args& args) {
  const certctl::Options o(args,
                           {"--template", "--data", "--serial", "--issued", "--version", "-o",
                            "--templates", "--keys", "--qr-host"},
                           {"--json"});
  if (!o.positional().empty()) throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const std::string id = o.require("--template");
  const std::string out = o.require("-o");
  const nlohmann::json data = certctl::read_json(o.require("--data"));

  const auto templates = libcert::TemplateSet::cached(certctl::templates_dir(o));
  const auto seals = libcert::SealKeyring::load_dir(certctl::keys_dir(o));
  const certctl::IssueTime when = certctl::issue_time(o);
  const libcert::FixedClock clock(when.unix_seconds);
  libcert::IssuerOptions opts;
  opts.clock = &clock;
  if (auto h = o.get("--qr-host")) opts.qr_host = *h;
  const libcert::Issuer issuer(*templates, seals, opts);

  libcert::IssueRequest req;
  req.template_id = id;
  req.data = data;
  req.serial = o.get("--serial").value_or(certctl::default_serial(id, data));
  if (auto v = o.get("--version")) req.version = certctl::parse_int(*v, "--version", 1, 999);
  const libcert::IssuedLicence lic = issuer.issue(req);
  certctl::write_file_atomic(out, lic.pdf);

  if (o.flag("--json")) {
    std::cout << nlohmann::json{{"identifier", lic.identifier},
                                {"template", lic.template_id},
                                {"department", lic.department},
                                {"issued_at", lic.issued_at},
                                {"pdf", out},
                                {"pdf_sha256", lic.pdf_sha256},
                                {"qr_text", lic.qr_text}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << lic.identifier << "\t" << out << "\tsha256:" << lic.pdf_sha256 << "\n";
  }
  return 0;
}

const certctl::Command kIssue{
    "issue", "issue a licence: validate, render, seal with the department's seal key",
    "certctl issue --template ID --data FILE [--serial S] [--issued YYYY-MM-DD] [--version N] "
    "[--templates DIR] [--keys DIR] [--qr-host HOST] [--json] -o OUT.pdf",
    run_issue};

}  // namespace
