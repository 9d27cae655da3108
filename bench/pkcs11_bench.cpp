// bench/pkcs11_bench.cpp — issuing throughput and latency with the seal key in a SoftHSM2 token
// (libcert/pkcs11.h, CKM_ECDSA through a session pool) against the same issuing with the PEM file
// signer, on 1 and 2 threads (issue 20).
//
//   build/dev/bench/pkcs11_bench [N]      (default N = 40 licences per thread and run)
//
// The token is created in a temp directory (SOFTHSM2_CONF, softhsm2-util); its samr seal key is
// generated inside it and certified by the example root in-process (a copy of samr's example
// certificate with the token's public key, re-signed by root.key). Every thread issues N real
// licences (validate + signed QR + render + PAdES seal) with the Issuer façade. Reports licences/s
// over the wall time, and median / p99 of the per-licence latency. Not run by bench/run.sh.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "fixture.h"
#include "libcert/pkcs11.h"
#include "ossl.h"
#include "support/softhsm.h"

namespace {

namespace p11 = libcert::pkcs11;

// samr's example certificate, with `spki` as its key, signed again by the example root.
std::string certificate_for(const std::string& spki) {
  auto pem_cert = [](const std::string& path) {
    libcert::ossl::Bio b(BIO_new_file(path.c_str(), "r"));
    return libcert::ossl::X509Ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  };
  libcert::ossl::X509Ptr c = pem_cert(bench::kSrc + "/keys-example/seals/samr/seal.crt");
  libcert::ossl::Bio kb(BIO_new_file((bench::kSrc + "/keys-example/root/root.key").c_str(), "r"));
  libcert::ossl::PKey root(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  libcert::ossl::PKey pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!c || !root || !pub || X509_set_pubkey(c.get(), pub.get()) != 1 ||
      X509_sign(c.get(), root.get(), EVP_sha256()) <= 0) {
    std::fprintf(stderr, "cannot certify the token key\n");
    std::exit(1);
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(c.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

struct Result {
  double per_s = 0, median_ms = 0, p99_ms = 0;
};

Result run(const libcert::Issuer& issuer, int threads, int n) {
  libcert::IssueRequest req;
  req.template_id = "business-licence-enterprise";
  req.data = bench::sample(req.template_id);
  req.serial = "2026000001";
  for (int i = 0; i < 3; ++i) (void)issuer.issue(req);  // warm-up
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < n; ++i) {
        const auto a = std::chrono::steady_clock::now();
        (void)issuer.issue(req);
        lat[static_cast<std::size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a)
                .count());
      }
    });
  }
  for (auto& t : ts) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (const auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  return {static_cast<double>(all.size()) / wall, all[all.size() / 2],
          all[std::min(all.size() - 1, all.size() * 99 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  libcert::tune_allocator_for_issuing();
  const int n = argc > 1 ? std::atoi(argv[1]) : 40;
  const bench::Fixture fx;
  auto& hsm = testsupport::SoftHsm::instance();
  const auto made = p11::generate_key_pair(p11::Uri::parse(hsm.token_uri("seals")),
                                           p11::KeyType::kEcP256, "bench-samr");
  libcert::SealKeyring token_ring;
  token_ring.add("samr",
                 std::make_shared<p11::Pkcs11Signer>(made.uri, certificate_for(made.spki_der)));
  libcert::SealKeyring pem_ring;
  pem_ring.add("samr", std::shared_ptr<const libcert::Signer>(&fx.seals.get("samr"),
                                                              [](const libcert::Signer*) {}));
  const libcert::Issuer pem(*fx.templates, pem_ring, {.clock = &fx.clock});
  const libcert::Issuer token(*fx.templates, token_ring, {.clock = &fx.clock});
  std::printf("issuing business-licence-enterprise, %d licences per thread\n", n);
  for (int threads : {1, 2}) {
    for (const auto& [name, issuer] :
         {std::pair<const char*, const libcert::Issuer*>{"PEM file signer", &pem},
          {"SoftHSM2 token signer", &token}}) {
      const Result r = run(*issuer, threads, n);
      std::printf("%-22s %d thread(s): %6.1f licences/s  median %7.2f ms  p99 %7.2f ms\n", name,
                  threads, r.per_s, r.median_ms, r.p99_ms);
    }
  }
  return 0;
}
