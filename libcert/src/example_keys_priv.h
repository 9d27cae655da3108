// example_keys_priv.h (private) — the example-PKI test on an OpenSSL certificate (verify_cms.cpp
// asks it of the trust anchor a chain ends at).
#pragma once

#include <openssl/x509.h>

namespace libcert::detail {
bool is_example_x509(const X509* cert);
}  // namespace libcert::detail
