// bench/verify_bench.cpp — time to verify one sealed licence in-process (libcert::verify_pdf).
//
//   build/dev/bench/verify_bench [N]       (default N = 300)
//
// Inputs, all made here from the one-page cairo test PDF (tests/support/test_pdf.h): a licence
// sealed once (DocMDP P=1, the signature covers the whole file: no rendering needed), a two-seal
// licence (P=2 certification + approval: difference analysis and a Poppler rendered comparison
// of the signed revision with the whole file), and the same P=2 licence with an appended update
// that changes the page content (MODIFIED; the same work as the two-seal case). Reports min,
// median and p90 over N runs after 20 warm-up runs, in microseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "libcert/roles.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "support/test_pdf.h"
#include "timing.h"

namespace {

void report(const char* what, int n, const std::function<void()>& f) {
  const bench::Stats st = bench::measure(20, n, f);
  std::printf("%-44s n=%d  min %8.1f us  median %8.1f us  p90 %8.1f us\n", what, n, st.min_us,
              st.median_us, st.p90_us);
}

}  // namespace

int main(int argc, char** argv) {
  namespace pdf = libcert::pdf;
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 300;
  const std::string keys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/";
  const libcert::PemFileSigner samr(keys + "seals/samr/seal.key", keys + "seals/samr/seal.crt");
  // The second seal is an approval seal of the co-issuing department the licence lists.
  const libcert::PemFileSigner ecology(keys + "seals/approval/seal.key",
                                       keys + "seals/approval/seal.crt");
  const libcert::FixedClock seal_clock(1748736000);    // 2025-06-01
  const libcert::FixedClock verify_clock(1780272000);  // 2026-06-01
  libcert::SealOptions o;
  o.clock = &seal_clock;
  o.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
            testsupport::kSealSize};
  o.reason = "电子证照签章";
  const std::string in = testsupport::make_cairo_licence();
  const std::string one = libcert::seal_pdf(in, samr, o);
  o.docmdp_p = 2;
  const std::string p2 = libcert::seal_pdf(in, samr, o);
  o.kind = libcert::SealKind::kApproval;
  o.rect.x = 250;
  const std::string two = libcert::seal_pdf(p2, ecology, o);
  std::string modified;
  {
    const auto doc = pdf::Document::open(p2);
    const pdf::Ref page_ref = doc.page_ref(0);
    pdf::Object page = doc.object(page_ref);
    pdf::Stream content;
    content.data = doc.decode(doc.resolve(page.as_dict().get("Contents")).as_stream()) +
                   "\nq 1 1 1 rg 60 700 300 40 re f Q\n";
    pdf::IncrementalUpdate up(doc);
    const pdf::Ref c = up.allocate();
    up.set(c, pdf::Object(std::move(content)));
    page.as_dict().set("Contents", pdf::Object(c));
    up.set(page_ref, page);
    modified = up.write().pdf;
  }

  libcert::TrustStore trust;
  trust.add_path(keys + "root/root.crt");
  // Trust data (key states): the two seals, active, as a trust bundle would list them.
  libcert::TrustBundle bundle;
  for (const char* d : {"samr", "approval"}) {
    std::ifstream f(keys + "seals/" + d + "/seal.crt");
    std::ostringstream pem;
    pem << f.rdbuf();
    const std::string der = libcert::certificate_der_from_pem(pem.str());
    bundle.seals.push_back(libcert::SealEntry::from_certificate(
        d, libcert::certificate_role(der).uscc, der, libcert::SealState::kActive));
  }
  const libcert::BundleSealKeys seal_keys(bundle);
  libcert::VerifyOptions vo;
  vo.clock = &verify_clock;
  vo.keys = &seal_keys;
  auto run = [&](const char* what, const std::string& file, libcert::Verdict expect) {
    const auto r = libcert::verify_pdf(file, trust, vo);
    if (r.result != expect) {
      std::fprintf(stderr, "%s: unexpected verdict %s\n%s", what,
                   std::string(libcert::to_string(r.result)).c_str(), r.to_text().c_str());
      std::exit(1);
    }
    std::printf("%s: %zu bytes, %s\n", what, file.size(),
                std::string(libcert::to_string(r.result)).c_str());
    report(what, n, [&] { (void)libcert::verify_pdf(file, trust, vo); });
  };
  run("verify_pdf, one seal (whole file)", one, libcert::Verdict::kValid);
  run("verify_pdf, two seals (+diff +render)", two, libcert::Verdict::kValid);
  run("verify_pdf, content update (MODIFIED)", modified, libcert::Verdict::kModified);
  return 0;
}
