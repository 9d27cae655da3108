// trust_store.h (private) — what a libcert::TrustStore holds.
#pragma once

#include <string>
#include <vector>

#include "libcert/verify.h"
#include "ossl.h"

namespace libcert {

struct TrustStore::Impl {
  std::vector<ossl::X509Ptr> roots;  // trust anchors, in load order
};

namespace detail {
// SHA-256 (lower-case hex) of a certificate's DER encoding.
std::string cert_sha256(const X509* c);
}  // namespace detail

}  // namespace libcert
