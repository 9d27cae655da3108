// libcert/example_keys.h — how the demo PKI of keys-example/ is recognised, so that nothing sealed
// with it can pass for a real licence (issue 18).
//
//   if (libcert::is_example_certificate(root_der)) std::cerr << libcert::kExampleKeysNotice;
//
// keys-example/make-keys.sh names every certificate it makes "... (EXAMPLE — NOT FOR
// PRODUCTION)" in its commonName: that marker, carried by the certificate itself, is what is
// recognised (not a fingerprint, so a regenerated demo PKI is recognised too, and not a file
// beside the keys, which a copy can lose). A verifier marks every report whose chain ends at such
// a root (VerificationReport::example_keys); certctl and certd print kExampleKeysNotice whenever
// they seal with such keys.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace libcert {

// The one sentence every output about an example-keys licence carries.
inline constexpr std::string_view kExampleKeysNotice =
    "EXAMPLE KEYS \u2014 NOT VALID FOR REAL LICENCES";

// The marker of the demo PKI in a certificate's subject commonName.
inline constexpr std::string_view kExampleSubjectMarker = "NOT FOR PRODUCTION";

// True when the DER certificate's subject commonName contains kExampleSubjectMarker. False for
// anything else, including bytes that are not a certificate (never throws).
[[nodiscard]] bool is_example_certificate(std::string_view der);

// True when `keys_dir`/root/root.crt (the seal root of a key directory laid out as keys-example/)
// is an example certificate. False when the file is missing or unreadable (never throws).
[[nodiscard]] bool is_example_keys_dir(const std::string& keys_dir);

}  // namespace libcert
