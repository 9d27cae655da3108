// bench/issue_bench.cpp — issuing real licences in-process with the Issuer façade, per stage and
// end to end, and the size of every template's sealed sample.
//
//   build/dev/bench/issue_bench [N [STAGE]]   (default N = 50; STAGE: only stages naming it)
//   ISSUE_BENCH_OUT=DIR build/dev/bench/issue_bench   also writes every template's sealed sample
//
// Stages for the business-licence-enterprise sample: validate (template rules), render (cairo +
// pango PDF with seal and QR), issue (validate + signed QR + render + seal), verify (verify_pdf of
// the issued licence), issue + verify. Then, for every template, the size of its sealed sample.
// Reports min, median and p90 over N runs after 5 warm-up runs, in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <array>
#include <string_view>
#include <vector>

#include "fixture.h"
#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/ltv.h"
#include "libcert/qr.h"
#include "libcert/render.h"
#include "libcert/sign.h"
#include "pdf_writer.h"
#include "libcert/template.h"
#include "libcert/tsa.h"
#include "libcert/verify.h"
#include "timing.h"

namespace {

// argv[2], when given, runs only the stages whose name contains it (for perf record).
const char* g_only = nullptr;

void report(const char* what, int n, const std::function<void()>& f) {
  if (g_only != nullptr && std::string_view(what).find(g_only) == std::string_view::npos) return;
  const bench::Stats st = bench::measure(5, n, f);
  std::printf("%-34s n=%d  min %7.2f ms  median %7.2f ms  p90 %7.2f ms  cpu median %7.2f ms\n",
              what, n, st.min_us / 1000, st.median_us / 1000, st.p90_us / 1000,
              st.cpu_median_us / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  libcert::tune_allocator_for_issuing();  // as certctl and certd do
  const int n = argc > 1 ? std::atoi(argv[1]) : 50;
  if (argc > 2) g_only = argv[2];
  const bench::Fixture fx;
  const auto& templates = fx.templates;
  const auto& clock = fx.clock;
  const auto& issuer = fx.issuer;
  const auto& trust = fx.trust;
  using bench::sample;

  const std::string id = "business-licence-enterprise";
  const auto tmpl = templates->get(id);
  const nlohmann::json data = sample(id);
  libcert::IssueRequest req;
  req.template_id = id;
  req.data = data;
  req.serial = "2026000001";
  const libcert::LicenceData ld = tmpl->validate(data, clock);
  const libcert::Renderer renderer;
  const libcert::RenderInput in{"1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X",
                                "2026-11-01", "HTTPS://LIC.ALI.EXAMPLE/V#0123456789", 0, 1};
  const libcert::IssuedLicence issued = issuer.issue(req);
  const std::string& pdf = issued.pdf;
  libcert::RenderInput real = in;
  real.qr_text = issued.qr_text;  // the signed payload, version 13-14 at ECC Q

  report("validate", n, [&] { (void)tmpl->validate(data, clock); });
  report("render (unsigned PDF, short QR)", n, [&] { (void)renderer.render(*tmpl, ld, in); });
  report("render (unsigned PDF, signed QR)", n, [&] { (void)renderer.render(*tmpl, ld, real); });
  // Issue 21: the same face through libcert's own PDF writer (pdf_writer.h), from the layout.
  report("render, libcert PDF writer (signed QR)", n,
         [&] { (void)libcert::pdfw::render(renderer, *tmpl, ld, real); });
  report("layout (format-neutral, signed QR)", n,
         [&] { (void)renderer.layout(*tmpl, ld, real); });
  report("QR encode (signed payload)", n,
         [&] { (void)libcert::QrMatrix::encode(issued.qr_text, libcert::QrEcc::kQ); });
  // Issue 21: the same symbol with libqrencode's own mask search (what encode did before).
  report("QR encode, libqrencode mask search", n, [&] {
    (void)libcert::QrMatrix::encode(issued.qr_text, libcert::QrEcc::kQ, 40,
                                    libcert::QrMaskSearch::kLibqrencode);
  });
  // The seal step alone (issue 21): PAdES B-B of the own writer's rendered licence, as
  // Issuer::issue seals it, and the signed QR payload.
  {
    const libcert::RenderResult rendered = libcert::pdfw::render(renderer, *tmpl, ld, real);
    const libcert::Signer& signer = fx.seals.get(tmpl->department().id);
    libcert::SealOptions so;
    so.clock = &clock;
    so.page = static_cast<std::size_t>(rendered.seal.page);
    so.rect = {rendered.seal.x, rendered.seal.y, rendered.seal.w, rendered.seal.h};
    so.reason = "电子证照签章";
    so.name = tmpl->department().name.zh;
    so.location = "阿里地区";
    report("seal (own-writer licence, B-B)", n,
           [&] { (void)libcert::seal_pdf(rendered.pdf, signer, so); });
    // The default profile (issue 21, ltcost): B-LT with the in-process demo TSA (keys-example/
    // tsa, memory clock state, as certd and ltv_bench use it): seal + signature time-stamp +
    // DSS update; and the time-stamp alone.
    const std::string tsa_dir = bench::kSrc + "/keys-example/tsa/";
    libcert::SystemRng rng;
    libcert::MemoryTsaClockState state;
    const auto tsa = libcert::TimeStampAuthority::from_files(
        tsa_dir + "tsa.key", tsa_dir + "tsa.crt", {},
        libcert::TsaOptions{&clock, &rng, &state, {}, 1});
    const std::array<std::uint8_t, 32> h{};
    report("TSA stamp (in-process token)", n, [&] { (void)tsa.stamp(h); });
    report("seal (own-writer licence, B-LT)", n, [&] {
      (void)libcert::seal_to_level(rendered.pdf, signer, so, libcert::PadesLevel::b_lt, &tsa, {});
    });
  }
  report("issue (validate+QR+render+seal)", n, [&] { (void)issuer.issue(req); });
  // The same issue through cairo (IssuerOptions::PdfWriter::kCairo; the default is libcert's own).
  const libcert::Issuer cairo_issuer{
      *templates, fx.seals,
      {.clock = &clock, .pdf_writer = libcert::IssuerOptions::PdfWriter::kCairo}};
  report("issue, cairo PDF writer", n, [&] { (void)cairo_issuer.issue(req); });
  report("verify_pdf (issued licence)", n,
         [&] { (void)libcert::verify_pdf(pdf, trust, {.clock = &clock, .keys = &fx.seal_states}); });
  report("issue + verify", n, [&] {
    const auto lic = issuer.issue(req);
    if (libcert::verify_pdf(lic.pdf, trust, {.clock = &clock, .keys = &fx.seal_states}).result != libcert::Verdict::kValid) {
      std::abort();
    }
  });

  if (g_only != nullptr) return 0;
  // Per template: sealed size and the median issue time (5 runs after 2 warm-ups); the rows
  // "template <id> <bytes> <ms> <CPU ms>" are read by bench/peer.sh.
  std::printf("\nper template: sealed bytes, median issue ms\n");
  std::vector<std::size_t> sizes;
  for (const auto& t : templates->ids()) {
    libcert::IssueRequest r;
    r.template_id = t;
    r.data = sample(t);
    r.serial = "2026000001";
    const auto lic = issuer.issue(r);
    const bench::Stats st = bench::measure(2, 5, [&] { (void)issuer.issue(r); });
    sizes.push_back(lic.pdf.size());
    // ISSUE_BENCH_OUT=DIR keeps each template's sealed sample (DIR/<id>.pdf) for inspection.
    if (const char* out = std::getenv("ISSUE_BENCH_OUT")) {
      std::ofstream(std::filesystem::path(out) / (t + ".pdf"), std::ios::binary) << lic.pdf;
    }
    std::printf("template %-42s %7zu %7.2f %7.2f\n", t.c_str(), lic.pdf.size(), st.median_us / 1000,
                st.cpu_median_us / 1000);
  }
  std::sort(sizes.begin(), sizes.end());
  std::printf("sizes: median %zu, max %zu, templates over 60 KB (61440 B): %zd\n",
              sizes[sizes.size() / 2], sizes.back(),
              std::count_if(sizes.begin(), sizes.end(), [](std::size_t s) { return s > 61440; }));
  return 0;
}
