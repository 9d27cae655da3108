// daemon/seals.h — what certd knows about the departments' seal certificates at start-up: the
// root (for PDF verification) and an in-memory trust bundle (root + every department's seal
// certificate) for online QR verification. Seal key versions in the registry are issue 7.
//
//   libcert::TrustBundle seals = certd::load_seal_bundle(templates, "keys-example", now);
#pragma once

#include <string>
#include <vector>

#include "libcert/template.h"
#include "libcert/trust_bundle.h"

namespace certd {

// DER of the first certificate in a PEM file. Throws libcert::Error(kIo) / (kCrypto) naming it.
std::string read_pem_certificate_der(const std::string& path);

// root_der = keys_dir/root/root.crt; one active SealEntry per department of `templates` that has
// keys_dir/seals/<id>/seal.crt. Throws libcert::Error naming the file that failed.
libcert::TrustBundle load_seal_bundle(const libcert::TemplateSet& templates,
                                      const std::string& keys_dir, std::int64_t now);

// Refuses private key files others may read: every "*.key" file under keys_dir, and each of
// `extra` that is not empty (the TLS key), must have no group or other permission bits (mode
// 0600 or stricter). Throws libcert::Error(kInvalidArgument) listing every offending file with
// its mode and the fix ("chmod 600 FILE"); never names or reads the key material.
void check_private_key_modes(const std::string& keys_dir, const std::vector<std::string>& extra);

}  // namespace certd
