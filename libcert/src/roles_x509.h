// roles_x509.h (private) — certificate_role (libcert/roles.h) of a certificate already parsed, for
// verifiers that hold the X509 (verify_cms.cpp): a second d2i of the same DER was a fifth of
// verifying a licence's CMS (issue 21, bench/README.md).
#pragma once

#include "libcert/roles.h"

namespace libcert::detail {

// `cert` is an X509* (void* keeps OpenSSL out of this header); its extension cache is filled.
CertificateRole certificate_role_of(void* cert);

}  // namespace libcert::detail
