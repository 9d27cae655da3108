// certctl issue — render + seal one licence (the library's Issuer façade) in one call.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "batch.h"
#include "command.h"
#include "issuing.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/example_keys.h"
#include "libcert/issuer.h"
#include "libcert/template.h"

namespace {

int run_batch(const certctl::Options& o) {
  for (const char* single : {"--template", "--data", "--serial", "--version", "-o"}) {
    if (o.get(single)) {
      throw certctl::UsageError(std::string(single) + " is per line in a --batch file");
    }
  }
  const certctl::IssuingContext ctx(o, certctl::issue_time(o));

  certctl::BatchOptions b;
  b.input = o.require("--batch");
  b.out_dir = o.require("--out-dir");
  b.results = o.get("--results").value_or("");
  const unsigned hw = std::max(1U, std::thread::hardware_concurrency());
  b.threads = o.get("--threads") ? certctl::parse_int(*o.get("--threads"), "--threads", 1, 256)
                                 : static_cast<int>(hw);
  if (auto c = o.get("--commit-every"))
    b.commit_every = certctl::parse_int(*c, "--commit-every", 1, 1000000);
  b.progress = o.flag("--progress") || (!o.flag("--no-progress") && ::isatty(2) != 0);
  const certctl::Renditions want = certctl::renditions(o);
  b.pdf = want.pdf;
  b.ofd = want.ofd;
  const certctl::BatchSummary s = certctl::run_batch(ctx.issuer, b);
  const double rate = s.seconds > 0 ? static_cast<double>(s.issued + s.rejected) / s.seconds : 0;
  if (o.flag("--json")) {
    nlohmann::json j{{"lines", s.lines},     {"skipped", s.skipped},
                     {"issued", s.issued},   {"rejected", s.rejected},
                     {"seconds", s.seconds}, {"per_second", rate},
                     {"threads", b.threads}, {"peak_rss_kb", s.peak_rss_kb},
                     {"example_keys", ctx.example_keys}};
    if (ctx.example_keys) j["notice"] = std::string(libcert::kExampleKeysNotice);
    std::cout << j.dump() << "\n";
  } else {
    std::printf(
        "batch: %lld lines, %lld issued, %lld rejected, %lld already done; %.1f s, %.1f "
        "licences/s on %d threads; peak RSS %.1f MB\n",
        static_cast<long long>(s.lines), static_cast<long long>(s.issued),
        static_cast<long long>(s.rejected), static_cast<long long>(s.skipped), s.seconds, rate,
        b.threads, static_cast<double>(s.peak_rss_kb) / 1024.0);
  }
  return s.rejected > 0 ? 3 : 0;
}

int run_issue(const certctl::Args& args) {
  const certctl::Options o(
      args,
      {"--template", "--data", "--serial", "--issued", "--version", "-o", "--templates", "--keys",
       "--qr-host", "--batch", "--out-dir", "--results", "--threads", "--format", "--commit-every", "--pdf-writer"},
      {"--json", "--progress", "--no-progress"});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  if (o.get("--batch")) return run_batch(o);
  const std::string id = o.require("--template");
  const std::string out = o.require("-o");
  const nlohmann::json data = certctl::read_json(o.require("--data"));

  const certctl::IssuingContext ctx(o, certctl::issue_time(o));

  libcert::IssueRequest req;
  req.template_id = id;
  req.data = data;
  req.serial = o.get("--serial").value_or(certctl::default_serial(id, data));
  if (auto v = o.get("--version")) req.version = certctl::parse_int(*v, "--version", 1, 999);
  const certctl::Renditions want = certctl::renditions(o);
  if (want.pdf && want.ofd) throw certctl::UsageError("--format both is for --batch; one -o file");
  req.pdf = want.pdf;
  req.ofd = want.ofd;
  const libcert::IssuedLicence lic = ctx.issuer.issue(req);
  const std::string& bytes = want.ofd ? lic.ofd : lic.pdf;
  const std::string& sha = want.ofd ? lic.ofd_sha256 : lic.pdf_sha256;
  certctl::write_file_atomic(out, bytes);

  if (o.flag("--json")) {
    nlohmann::json j{{"identifier", lic.identifier},   {"template", lic.template_id},
                     {"department", lic.department},   {"issued_at", lic.issued_at},
                     {want.ofd ? "ofd" : "pdf", out},
                     {want.ofd ? "ofd_sha256" : "pdf_sha256", sha},
                     {"qr_text", lic.qr_text},         {"example_keys", ctx.example_keys}};
    if (ctx.example_keys) j["notice"] = std::string(libcert::kExampleKeysNotice);
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << lic.identifier << "\t" << out << "\tsha256:" << sha
              << (ctx.example_keys ? "\t" + std::string(libcert::kExampleKeysNotice) : "")
              << "\n";
  }
  return 0;
}

const certctl::Command kIssue{
    "issue", "issue a licence: validate, render, seal with the department's seal key",
    "certctl issue --template ID --data FILE [--serial S] [--issued YYYY-MM-DD] [--version N] "
    "[--templates DIR] [--keys DIR] [--qr-host HOST] [--format pdf|ofd] [--pdf-writer libcert|cairo] "
    "[--json] -o OUT\n"
    "       certctl issue --batch FILE.jsonl --out-dir DIR [--results FILE] [--threads N] "
    "[--issued YYYY-MM-DD] [--format pdf|ofd|both] [--pdf-writer libcert|cairo] [--commit-every N] [--progress|--no-progress] "
    "[--json]\n"
    "         (one {\"template\", \"data\", \"serial\"?, \"version\"?} per line; resumable: "
    "run again to continue; results made durable every N licences, default 256)",
    run_issue};

}  // namespace
