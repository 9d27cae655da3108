// fuzz_cms_der — the strict DER reader of a seal's CMS (cms_der.h, issue 21): the fast path by
// which document_certificates (`certctl ltv extend`, any PDF) collects certificates and signature
// time-stamp tokens. Seeds (corpus/fuzz_cms_der) are the /Contents of sealed samples at B-B and
// B-T (a token in the unsigned attributes), zero padding included.
//
// Invariants: no crash, no read outside the input; every view returned lies inside the input and
// is one whole DER SEQUENCE (tag 0x30 and a length that spans the view); a token's own SignedData
// is read the same way.
#include <cstdint>
#include <string_view>
#include <vector>

#include "cms_der.h"
#include "fuzz_support.h"

namespace {

void check_views(std::string_view in, const std::vector<std::string_view>& views) {
  for (const auto v : views) {
    fuzz::require(v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size(),
                  "a view lies inside the input");
    fuzz::require(v.size() >= 2 && static_cast<unsigned char>(v[0]) == 0x30,
                  "a view is a DER SEQUENCE");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::run([&] {
    std::vector<std::string_view> certs, tokens;
    const bool ok = libcert::cms_der::read_signed_data(in, certs, &tokens);
    check_views(in, certs);
    check_views(in, tokens);
    if (!ok) return;
    for (const auto t : tokens) {
      std::vector<std::string_view> tc;
      libcert::cms_der::read_signed_data(t, tc, nullptr);
      check_views(in, tc);
    }
  });
  return 0;
}
