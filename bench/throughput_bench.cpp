// bench/throughput_bench.cpp — licences per second through the library on 1 and 2 threads:
// issuance end to end (validate + signed QR + render + seal) over all 24 templates in turn, then
// verification of the issued PDFs (verify_pdf) and of their QR texts (verify_qr against a trust
// bundle), with p50/p99 per operation and the process's peak RSS.
//
//   build/release/bench/throughput_bench [N]     (N operations per thread and phase, default 300)
//
// Each thread works on its own requests (distinct serials) with one shared Issuer, as certd's
// worker threads and `certctl issue --batch` do. 20 untimed warm-up issues per thread first (font
// and layout caches are per thread).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/qr_payload.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"

namespace {

struct Result {
  double per_second = 0, p50_ms = 0, p99_ms = 0;
};

// Runs `op(thread, i)` n times on each of `threads` threads; wall-clock rate and latency quantiles.
Result run(int threads, int n, const std::function<void(int, int)>& op) {
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& l = lat[static_cast<std::size_t>(t)];
      l.reserve(static_cast<std::size_t>(n));
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < n; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        op(t, i);
        l.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count());
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  go = true;
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (const auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  return {static_cast<double>(all.size()) / s, all[all.size() / 2], all[all.size() * 99 / 100]};
}

void print(const char* what, int threads, const Result& r) {
  std::printf("%-28s threads=%d  %8.1f /s  p50 %7.3f ms  p99 %7.3f ms\n", what, threads,
              r.per_second, r.p50_ms, r.p99_ms);
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  libcert::tune_allocator_for_issuing();  // as certctl and certd do
  const int n = argc > 1 ? std::atoi(argv[1]) : 300;
  const bench::Fixture fx;
  const auto& templates = fx.templates;
  const auto& seals = fx.seals;
  const auto& clock = fx.clock;
  const auto& issuer = fx.issuer;
  const auto& trust = fx.trust;
  using bench::kSrc;
  using bench::slurp;

  std::vector<libcert::IssueRequest> base;
  for (const auto& id : templates->ids()) {
    libcert::IssueRequest r;
    r.template_id = id;
    r.data = bench::sample(id);
    base.push_back(std::move(r));
  }
  auto request = [&](int thread, int i) {
    libcert::IssueRequest r = base[static_cast<std::size_t>(i) % base.size()];
    char serial[32];
    std::snprintf(serial, sizeof serial, "%d%08d", 20 + thread, i);
    r.serial = serial;
    return r;
  };

  // Warm-up happens inside each run: a first short run per thread count. The default issuer
  // writes with libcert's own PDF writer (issue 21); the cairo writer, kept for previews, is the
  // "before" row of the same run — on one thread only: libcairo 1.16 was seen to deadlock two
  // issuing threads (bench/README.md, session 7 "seal"), which is one reason it left the issuing
  // path.
  for (int threads : {1, 2}) {
    (void)run(threads, 20, [&](int t, int i) { (void)issuer.issue(request(t, i)); });
    print("issue (24 templates)", threads,
          run(threads, n, [&](int t, int i) { (void)issuer.issue(request(t, i)); }));
  }
  const libcert::Issuer cairo_issuer{
      *templates, seals, {.clock = &clock, .pdf_writer = libcert::IssuerOptions::PdfWriter::kCairo}};
  (void)run(1, 20, [&](int t, int i) { (void)cairo_issuer.issue(request(t, i)); });
  print("issue, cairo PDF writer", 1,
        run(1, n, [&](int t, int i) { (void)cairo_issuer.issue(request(t, i)); }));

  // Verification inputs: every template's licence and its QR text.
  std::vector<libcert::IssuedLicence> issued;
  for (int i = 0; i < static_cast<int>(base.size()); ++i)
    issued.push_back(issuer.issue(request(9, i)));
  libcert::TrustBundle bundle;
  bundle.version = 1;
  bundle.issued_at = clock.now();
  bundle.root_der = libcert::certificate_der_from_pem(slurp(kSrc + "/keys-example/root/root.crt"));
  for (const auto& id : templates->ids()) {
    const auto& dept = templates->get(id)->department();
    const bool have = std::any_of(bundle.seals.begin(), bundle.seals.end(),
                                  [&](const auto& s) { return s.department == dept.id; });
    if (have) continue;
    bundle.seals.push_back(libcert::SealEntry::from_certificate(
        dept.id, dept.uscc, std::string(seals.get(dept.id).certificate()),
        libcert::SealState::kActive));
    bundle.status_lists.try_emplace(dept.uscc, 1u << 20);
  }
  // What a published bundle carries: the issuer's URL prefix (IssuerOptions' default host).
  bundle.policy = libcert::BundlePolicy::for_host("LIC.ALI.EXAMPLE");
  const libcert::BundleSealKeys seal_states(bundle);  // key states for verify_pdf
  for (int threads : {1, 2}) {
    print("verify_pdf", threads, run(threads, n, [&](int, int i) {
            const auto& lic = issued[static_cast<std::size_t>(i) % issued.size()];
            if (libcert::verify_pdf(lic.pdf, trust, {.clock = &clock, .keys = &seal_states}).result !=
                libcert::Verdict::kValid) {
              std::abort();
            }
          }));
  }
  for (int threads : {1, 2}) {
    print("verify_qr", threads, run(threads, n * 10, [&](int, int i) {
            const auto& lic = issued[static_cast<std::size_t>(i) % issued.size()];
            if (libcert::verify_qr(lic.qr_text, bundle, clock.now()).verdict !=
                libcert::Verdict::kValid) {
              std::abort();
            }
          }));
  }
  std::printf("peak RSS %.1f MB\n", static_cast<double>(peak_rss_kb()) / 1024.0);
  return 0;
}
