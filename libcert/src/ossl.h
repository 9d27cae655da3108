// ossl.h (private) — ownership of OpenSSL objects, and the one place that turns OpenSSL's error
// queue into a libcert::Error.
//
//   ossl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
//   ossl::check(key != nullptr, "reading seal key");           // throws with the queue's text
//
// Every OpenSSL object is owned by one of the unique_ptr aliases below (BoringSSL's bssl::UniquePtr
// pattern). No bare *_free anywhere else.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "libcert/error.h"

namespace libcert::ossl {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509Stack = std::unique_ptr<STACK_OF(X509), Deleter<+[](STACK_OF(X509)* s) {
                                    sk_X509_pop_free(s, X509_free);
                                  }>>;
using X509Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Cms = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using Asn1OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Asn1Object = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using TsReq = std::unique_ptr<TS_REQ, Deleter<TS_REQ_free>>;
using TsResp = std::unique_ptr<TS_RESP, Deleter<TS_RESP_free>>;
using TsRespCtx = std::unique_ptr<TS_RESP_CTX, Deleter<TS_RESP_CTX_free>>;
using TsMsgImprint = std::unique_ptr<TS_MSG_IMPRINT, Deleter<TS_MSG_IMPRINT_free>>;
using X509Algor = std::unique_ptr<X509_ALGOR, Deleter<X509_ALGOR_free>>;

// Drains OpenSSL's (thread-local) error queue into one string; leaves the queue empty.
std::string drain_errors();

// Throws Error(code, what + ": " + queue text) unless ok. Always leaves the error queue empty
// on failure, so a later unrelated call does not report a stale error.
inline void check(bool ok, std::string_view what, ErrorCode code = ErrorCode::kCrypto) {
  if (!ok) {
    std::string msg(what);
    const std::string q = drain_errors();
    if (!q.empty()) msg += ": " + q;
    throw Error(code, std::move(msg));
  }
}

}  // namespace libcert::ossl
