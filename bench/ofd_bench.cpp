// bench/ofd_bench.cpp — the OFD rendition (issue 22) beside the PDF: per template, the median time
// to issue each (validate + signed QR + layout/render + seal) and its size, then the issuance rate
// of each format over all templates on one thread.
//
//   build/dev/bench/ofd_bench [N]        (default N = 5 runs per template and format)
//
// Rows "ofd <template> <pdf bytes> <pdf ms> <ofd bytes> <ofd ms>"; then "rate pdf|ofd|both <n>/s".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fixture.h"
#include "libcert/issuer.h"
#include "libcert/ofd_writer.h"
#include "timing.h"

int main(int argc, char** argv) {
  libcert::tune_allocator_for_issuing();
  const int n = argc > 1 ? std::atoi(argv[1]) : 5;
  const bench::Fixture fx;
  const libcert::OfdSealKeyring ofd_seals = libcert::OfdSealKeyring::load_dir(bench::kSrc + "/keys-example");
  const libcert::Issuer issuer(*fx.templates, fx.seals,
                               {.clock = &fx.clock, .ofd_seals = &ofd_seals});
  std::printf("%-42s %9s %8s %9s %8s\n", "template", "pdf B", "pdf ms", "ofd B", "ofd ms");
  std::vector<libcert::IssueRequest> reqs;
  std::size_t pdf_total = 0, ofd_total = 0;
  for (const auto& t : fx.templates->ids()) {
    libcert::IssueRequest r;
    r.template_id = t;
    r.data = bench::sample(t);
    r.serial = "2026000001";
    reqs.push_back(r);
    libcert::IssueRequest o = r;
    o.pdf = false;
    o.ofd = true;
    const auto pdf = issuer.issue(r).pdf.size();
    const auto ofd = issuer.issue(o).ofd.size();
    const bench::Stats sp = bench::measure(2, n, [&] { (void)issuer.issue(r); });
    const bench::Stats so = bench::measure(2, n, [&] { (void)issuer.issue(o); });
    pdf_total += pdf;
    ofd_total += ofd;
    std::printf("ofd %-38s %9zu %8.2f %9zu %8.2f\n", t.c_str(), pdf, sp.median_us / 1000, ofd,
                so.median_us / 1000);
  }
  std::printf("mean size: pdf %zu B, ofd %zu B\n", pdf_total / reqs.size(),
              ofd_total / reqs.size());
  for (const auto& [name, want_pdf, want_ofd] :
       {std::tuple{"pdf", true, false}, std::tuple{"ofd", false, true},
        std::tuple{"both", true, true}}) {
    const auto t0 = std::chrono::steady_clock::now();
    int issued = 0;
    for (int round = 0; round < n; ++round)
      for (auto r : reqs) {
        r.pdf = want_pdf;
        r.ofd = want_ofd;
        (void)issuer.issue(r);
        ++issued;
      }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("rate %-4s %.1f licences/s (one thread, %d licences)\n", name, issued / s, issued);
  }
  return 0;
}
