// bench/ltv_bench.cpp — issuing a real licence at each PAdES level in one run (issue 19): B-B,
// B-T (+ signature time-stamp), B-LT (+ /DSS with the chains), B-LTA (+ document time-stamp),
// with the in-process demo TSA (keys-example/tsa, memory clock state) — the same local TSA certd
// uses. Reports per level: min / median / p90 time of Issuer::issue, licences/s on one thread
// (1 / median), and the PDF's size and what the level adds over B-B; then verify_pdf per level.
//
//   build/dev/bench/ltv_bench [N]      (default N = 50; 3 warm-up runs)
#include <cstdio>
#include <cstdlib>

#include "fixture.h"
#include "libcert/ltv.h"
#include "libcert/tsa.h"
#include "timing.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
  bench::Fixture f;
  const std::string tsa_dir = bench::kSrc + "/keys-example/tsa/";
  libcert::SystemRng rng;
  libcert::MemoryTsaClockState state;
  const auto tsa = libcert::TimeStampAuthority::from_files(
      tsa_dir + "tsa.key", tsa_dir + "tsa.crt", {},
      libcert::TsaOptions{&f.clock, &rng, &state, {}, 1});
  const std::string id = "business-licence-enterprise";
  libcert::IssueRequest req;
  req.template_id = id;
  req.data = bench::sample(id);
  req.serial = "2026000001";

  std::size_t bb_size = 0;
  std::printf("template %s, %d runs per level, one thread\n", id.c_str(), n);
  std::printf("%-6s %10s %10s %10s %12s %10s %10s\n", "level", "min ms", "median ms", "p90 ms",
              "licences/s", "bytes", "+ over B-B");
  std::vector<std::pair<libcert::PadesLevel, std::string>> made;
  for (const auto level : {libcert::PadesLevel::b_b, libcert::PadesLevel::b_t,
                           libcert::PadesLevel::b_lt, libcert::PadesLevel::b_lta}) {
    libcert::IssuerOptions o{.clock = &f.clock, .timestamper = &tsa, .level = level};
    const libcert::Issuer issuer(*f.templates, f.seals, o);
    std::string pdf;
    const bench::Stats st = bench::measure(3, n, [&] { pdf = issuer.issue(req).pdf; });
    if (level == libcert::PadesLevel::b_b) bb_size = pdf.size();
    std::printf("%-6s %10.2f %10.2f %10.2f %12.1f %10zu %10zu\n",
                std::string(libcert::to_string(level)).c_str(), st.min_us / 1000,
                st.median_us / 1000, st.p90_us / 1000, 1e6 / st.median_us, pdf.size(),
                pdf.size() - bb_size);
    made.emplace_back(level, std::move(pdf));
  }
  libcert::VerifyOptions vo;
  vo.clock = &f.clock;
  vo.keys = &f.seal_states;
  for (const auto& [level, pdf] : made) {
    libcert::VerificationReport r;
    const bench::Stats st =
        bench::measure(1, std::max(1, n / 5), [&] { r = libcert::verify_pdf(pdf, f.trust, vo); });
    std::printf("verify_pdf %-6s median %8.2f ms  -> %s\n",
                std::string(libcert::to_string(level)).c_str(), st.median_us / 1000,
                std::string(libcert::to_string(r.result)).c_str());
  }
  return 0;
}
