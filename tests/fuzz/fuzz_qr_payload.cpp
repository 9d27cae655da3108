// fuzz_qr_payload — the QR text parser, the strict CBOR codec, the COSE/CWT payload decoder and
// verify_qr on arbitrary bytes, with invariants: the CBOR decoder accepts only canonical input
// (decode → encode is the identity), the digit and Base45 decoders are exact inverses of their
// encoders, and verify_qr never throws.
#include <cstdint>
#include <string>
#include <string_view>

#include "cbor.h"
#include "fuzz_support.h"
#include "libcert/qr_payload.h"
#include "libcert/trust_bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::run([&] {
    const std::string payload = libcert::qr_payload_from_text(text);
    fuzz::require(payload.size() <= libcert::kQrMaxPayload, "oversize payload accepted");
    (void)libcert::decode_qr_payload(payload);
  });
  fuzz::run([&] {
    std::string kid;
    const auto claims = libcert::decode_qr_payload(text, &kid);
    fuzz::require(kid.size() == 8, "payload accepted with a kid other than 8 bytes");
    fuzz::require(!claims.licence.digest || claims.licence.digest->size() == 16,
                  "digest accepted with a length other than 16");
  });
  fuzz::run([&] {
    try {
      const auto v = libcert::cbor::decode(text);
      fuzz::require(libcert::cbor::encode(v) == text, "CBOR decoder accepted a non-canonical form");
    } catch (const libcert::cbor::DecodeError&) {
      // rejected: expected for most inputs
    }
  });
  fuzz::run([&] {
    const std::string b = libcert::qr_digits_decode(text);
    fuzz::require(libcert::qr_digits(b) == text, "digit decoding is not the inverse of encoding");
  });
  fuzz::run([&] {
    const std::string b = libcert::base45_decode(text);
    fuzz::require(libcert::base45_encode(b) == text, "Base45 decoding is not exact");
  });
  try {
    static const libcert::TrustBundle empty;
    const auto v = libcert::verify_qr(text, empty, 1800000000);
    // An empty bundle has no policy and no key: only structure, url-prefix or kid can decide.
    fuzz::require(v.verdict != libcert::Verdict::kValid &&
                      (v.check == "structure" || v.check == "url-prefix" || v.check == "kid"),
                  "an empty bundle verified something");
  } catch (...) {
    fuzz::require(false, "verify_qr threw");
  }
  return 0;
}
