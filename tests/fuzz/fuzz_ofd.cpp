// fuzz_ofd — the OFD and GB/T 38540 parsers on arbitrary bytes: the ZIP container reader
// (ofd_zip.h), the SES_Seal and SES_Signature decoders (ses.h) and verify_ofd, with invariants:
// verify_ofd never throws and never says VALID without trust data; a decoded v4 seal's
// SES_SealInfo is a byte range of the input (the maker's signature is checked over what was
// signed, never over a re-encoding); every name the ZIP reader returns is a safe package path.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/ofd.h"
#include "libcert/ses.h"
#include "ofd_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::run([&] {
    for (const auto& e : libcert::ofd::zip_read(in))
      fuzz::require(libcert::ofd::safe_name(e.name), "unsafe entry name returned");
  });
  fuzz::run([&] {
    const libcert::SesSeal s = libcert::parse_ses_seal(in);
    if (s.version == 4)
      fuzz::require(in.find(s.seal_info_der) != std::string_view::npos,
                    "SES_SealInfo is not a byte range of the input");
  });
  fuzz::run([&] {
    const libcert::SesSignature s = libcert::parse_ses_signature(in);
    if (s.version == 4)
      fuzz::require(in.find(s.tbs_der) != std::string_view::npos,
                    "TBS_Sign is not a byte range of the input");
  });
  fuzz::run([&] {
    static const libcert::TrustStore empty;
    const libcert::FixedClock clock(1764900000);
    libcert::VerifyOptions o;
    o.clock = &clock;
    const auto r = libcert::verify_ofd(in, empty, o);
    fuzz::require(r.result != libcert::Verdict::kValid, "VALID without trust data");
  });
  return 0;
}
