// bench/seal_bench.cpp — time to seal one PDF in-process (libcert::seal_pdf), and its parts.
//
//   build/release/bench/seal_bench [N]       (default N = 300)
//
// Input: the one-page cairo test PDF (tests/support/test_pdf.h, ~6 KB). Reports min, median and
// p90 over N runs after 20 warm-up runs, in microseconds, for: the whole seal_pdf call; only the
// signature (Signer::sign on a digest); only opening the sealed result with the PDF reader; and
// PAdES B-T (issue 19): seal_pdf with a signature time-stamp from the in-process demo TSA
// (libcert/tsa.h, memory clock state), the time-stamp alone, and the bytes B-T adds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "libcert/sign.h"
#include "libcert/tsa.h"
#include "support/test_pdf.h"
#include "timing.h"

namespace {

void report(const char* what, int n, const std::function<void()>& f) {
  const bench::Stats st = bench::measure(20, n, f);
  std::printf("%-34s n=%d  min %8.1f us  median %8.1f us  p90 %8.1f us\n", what, n, st.min_us,
              st.median_us, st.p90_us);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 300;
  const std::string keys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/seals/samr/";
  const libcert::PemFileSigner signer(keys + "seal.key", keys + "seal.crt");
  const libcert::FixedClock clock(1748736000);
  libcert::SealOptions o;
  o.clock = &clock;
  o.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
            testsupport::kSealSize};
  o.reason = "电子证照签章";
  const std::string in = testsupport::make_cairo_pdf();
  std::string sealed;
  std::printf("input: %zu bytes (one page, cairo)\n", in.size());
  report("seal_pdf (ECDSA P-256, DocMDP P=1)", n,
         [&] { sealed = libcert::seal_pdf(in, signer, o); });
  std::printf("output: %zu bytes (+%zu)\n", sealed.size(), sealed.size() - in.size());
  {
    const std::string tsa_dir = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/tsa/";
    libcert::SystemRng rng;
    libcert::MemoryTsaClockState state;
    libcert::TsaOptions to;
    to.clock = &clock;
    to.rng = &rng;
    to.state = &state;
    const auto tsa = libcert::TimeStampAuthority::from_files(tsa_dir + "tsa.key",
                                                             tsa_dir + "tsa.crt", {}, to);
    libcert::SealOptions bt = o;
    bt.timestamper = &tsa;
    std::string sealed_bt;
    report("seal_pdf B-T (+ signature time-stamp)", n,
           [&] { sealed_bt = libcert::seal_pdf(in, signer, bt); });
    std::printf("output B-T: %zu bytes (+%zu over B-B)\n", sealed_bt.size(),
                sealed_bt.size() - sealed.size());
    const std::uint8_t d[32] = {2};
    report("TimeStampAuthority::stamp", n, [&] { (void)tsa.stamp(d); });
  }
  const std::uint8_t digest[32] = {1};
  report("Signer::sign (ECDSA P-256)", n, [&] { (void)signer.sign(digest); });
  report("pdf::Document::open + catalog", n, [&] {
    const auto doc = libcert::pdf::Document::open(sealed);
    (void)doc.catalog();
  });
  return 0;
}
