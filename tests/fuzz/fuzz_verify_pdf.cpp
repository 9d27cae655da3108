// fuzz_verify_pdf — libcert::verify_pdf on arbitrary bytes (issue 10: the verifier on hostile
// PDFs). verify_pdf promises never to throw for bad input, so here even a libcert::Error escaping
// it is a bug; and the report must be consistent: VALID has no reasons and no failed check, every
// other verdict names at least one reason, and the report always serialises.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/clock.h"
#include "libcert/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view pdf(reinterpret_cast<const char*>(data), size);
  // No trust anchor: the fuzzer cannot forge a trusted seal, and every path up to the chain
  // check (structure, ByteRange, CMS, digest, difference analysis, rendering) is still reached.
  static const libcert::TrustStore trust;
  static const libcert::FixedClock clock(1780272000);  // 2026-06-01
  libcert::VerifyOptions opts;
  opts.clock = &clock;
  opts.max_file_size = 4u << 20;
  opts.max_render_pages = 2;
  opts.render_dpi = 18;
  opts.render_budget_ms = 2000;
  bool returned = false;
  fuzz::run([&] {
    const libcert::VerificationReport r = libcert::verify_pdf(pdf, trust, opts);
    returned = true;
    fuzz::require(r.result != libcert::Verdict::kValid, "VALID without a trusted root");
    fuzz::require(!r.reasons.empty(), "a verdict other than VALID without a reason");
    fuzz::require(!r.to_json().dump().empty(), "report does not serialise to JSON");
    fuzz::require(!r.to_text().empty(), "report does not render as text");
  });
  fuzz::require(returned, "verify_pdf threw libcert::Error for PDF input");
  return 0;
}
