// The demo PKI marker (libcert/example_keys.h).
#include "libcert/example_keys.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "example_keys_priv.h"
#include "libcert/trust_bundle.h"
#include "ossl.h"

namespace libcert {

namespace detail {
bool is_example_x509(const X509* cert) {
  if (cert == nullptr) return false;
  const X509_NAME* name = X509_get_subject_name(cert);
  for (int i = -1;;) {
    i = X509_NAME_get_index_by_NID(name, NID_commonName, i);
    if (i < 0) break;
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) continue;
    const std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    if (cn.find(kExampleSubjectMarker) != std::string::npos) return true;
  }
  return false;
}
}  // namespace detail

bool is_example_certificate(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  const bool example = cert && detail::is_example_x509(cert.get());
  ERR_clear_error();
  return example;
}

bool is_example_keys_dir(const std::string& keys_dir) {
  std::ifstream in(keys_dir + "/root/root.crt", std::ios::binary);
  if (!in) return false;
  std::stringstream pem;
  pem << in.rdbuf();
  try {
    return is_example_certificate(certificate_der_from_pem(pem.str()));
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace libcert
