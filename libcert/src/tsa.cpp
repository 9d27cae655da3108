// tsa.cpp — RFC 3161 time-stamping authority on OpenSSL's TS_RESP_CTX (see libcert/tsa.h).
#include "libcert/tsa.h"

#include <openssl/pem.h>
#include <openssl/ts.h>

#include <array>
#include <ctime>
#include <fstream>
#include <sstream>

#include "libcert/error.h"
#include "libcert/roles.h"
#include "ossl.h"

namespace libcert {

bool MemoryTsaClockState::advance(std::int64_t t, std::int64_t& last) {
  std::lock_guard g(mu_);
  if (t < last_) {
    last = last_;
    return false;
  }
  last_ = t;
  return true;
}

std::int64_t MemoryTsaClockState::last() const {
  std::lock_guard g(mu_);
  return last_;
}

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ossl::Bio mem_bio(std::string_view s) {
  ossl::Bio b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
  ossl::check(b != nullptr, "BIO_new_mem_buf");
  return b;
}

template <typename T, typename F>
std::string to_der(const T* obj, F fn, std::string_view what) {
  const int n = fn(obj, nullptr);
  ossl::check(n > 0, what);
  std::string out(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  ossl::check(fn(obj, &p) == n, what);
  return out;
}

std::string x509_der(const X509* x) {
  return to_der(x, [](const X509* c, unsigned char** p) { return i2d_X509(c, p); },
                "DER-encoding a certificate");
}

ossl::Asn1Integer random_integer(Rng& rng, std::size_t bytes) {
  std::vector<std::uint8_t> b(bytes);
  do {
    rng.fill(b);
    b[0] &= 0x7f;  // 127 bits: positive and at most 16 DER content octets (RFC 3161 §2.4.2 asks
                   // for at most 160 bits)
  } while (b[0] == 0);  // full length, so every serial has the same size
  ossl::Bn bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  ossl::check(bn != nullptr, "random integer");
  ossl::Asn1Integer i(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  ossl::check(i != nullptr, "random integer");
  return i;
}

std::int64_t asn1_time_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  ossl::check(t != nullptr && ASN1_TIME_to_tm(t, &tm) == 1, "TSTInfo: unreadable genTime");
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string failure_text(TsaFailure f) {
  switch (f) {
    case TsaFailure::kBadAlg:
      return "bad algorithm";
    case TsaFailure::kBadRequest:
      return "bad request";
    case TsaFailure::kBadDataFormat:
      return "bad data format";
    case TsaFailure::kTimeNotAvailable:
      return "time not available";
    case TsaFailure::kUnacceptedPolicy:
      return "unaccepted policy";
    case TsaFailure::kUnacceptedExtension:
      return "unaccepted extension";
    case TsaFailure::kSystemFailure:
      return "system failure";
  }
  return "failure";
}

}  // namespace

struct TimeStampAuthority::Impl {
  ossl::PKey key;
  ossl::X509Ptr cert;
  ossl::X509Stack chain_x509;
  ossl::Asn1Object policy;
  std::string cert_der;
  std::vector<std::string> chain;
  TsaOptions opt;
  mutable std::mutex clock_mu;  // serialises "read the clock, advance the state" (time_cb)

  // The TimeStampResp to a DER query, as OpenSSL's object (respond() encodes it; stamp() takes
  // the token from it without encoding and parsing the whole response back).
  [[nodiscard]] ossl::TsResp response(std::string_view query_der) const;
};

namespace {

// Per-request data handed to OpenSSL's callbacks (they are C function pointers and must not
// throw: every exception becomes a rejection with a PKIFailureInfo).
struct CallbackData {
  const TsaOptions* opt;
  std::mutex* clock_mu;
};

ASN1_INTEGER* serial_cb(TS_RESP_CTX* ctx, void* data) {
  auto* d = static_cast<CallbackData*>(data);
  try {
    return random_integer(*d->opt->rng, 16).release();
  } catch (const std::exception&) {
    ERR_clear_error();
    TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "serial number not available");
    TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
    return nullptr;
  }
}

int time_cb(TS_RESP_CTX* ctx, void* data, long* sec, long* usec) {
  auto* d = static_cast<CallbackData*>(data);
  try {
    // RFC 3161 §2.4.2 genTime; the TSA's time must never run backwards, or two tokens could
    // order two events the wrong way round. Refuse rather than sign an earlier time.
    // Reading the clock and advancing the state happen under one lock, so two threads of this
    // instance cannot read t and t+1 and record them in the other order; another instance can
    // (it shares only the state), so a refusal is retried once with a fresh reading: only a
    // clock that is really behind the last token is refused.
    std::lock_guard g(*d->clock_mu);
    std::int64_t now = d->opt->clock->now();
    std::int64_t last = 0;
    bool moved = d->opt->state->advance(now, last);
    if (!moved) {
      now = d->opt->clock->now();
      moved = d->opt->state->advance(now, last);
    }
    if (!moved) {
      const std::string text = "clock behind the last token (" + std::to_string(now) + " < " +
                               std::to_string(last) + ")";
      TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, text.c_str());
      TS_RESP_CTX_add_failure_info(ctx, TS_INFO_TIME_NOT_AVAILABLE);
      return 0;
    }
    *sec = static_cast<long>(now);
    *usec = 0;
    return 1;
  } catch (const std::exception&) {
    ERR_clear_error();
    TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "time-stamp state unavailable");
    TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
    return 0;
  }
}

}  // namespace

TimeStampAuthority::TimeStampAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TimeStampAuthority::TimeStampAuthority(TimeStampAuthority&&) noexcept = default;
TimeStampAuthority& TimeStampAuthority::operator=(TimeStampAuthority&&) noexcept = default;
TimeStampAuthority::~TimeStampAuthority() = default;

TimeStampAuthority TimeStampAuthority::from_files(const std::string& key_path,
                                                  const std::string& cert_path,
                                                  const std::vector<std::string>& chain_paths,
                                                  const TsaOptions& options) {
  std::string chain;
  for (const auto& p : chain_paths) chain += read_all(p) + "\n";
  return from_pem(read_all(key_path), read_all(cert_path), chain, options);
}

TimeStampAuthority TimeStampAuthority::from_pem(std::string_view key_pem,
                                                std::string_view cert_pem,
                                                std::string_view chain_pem,
                                                const TsaOptions& options) {
  if (options.clock == nullptr || options.rng == nullptr || options.state == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "tsa: clock, rng and state are required");
  }
  if (options.accuracy_seconds < 1 || options.accuracy_seconds > 3600) {
    throw Error(ErrorCode::kInvalidArgument, "tsa.accuracy_seconds: must be 1..3600");
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.policy_oid.empty()) impl->opt.policy_oid = std::string(kTsaPolicyOid);
  impl->policy.reset(OBJ_txt2obj(impl->opt.policy_oid.c_str(), 1));
  if (!impl->policy) {
    ERR_clear_error();
    throw Error(ErrorCode::kInvalidArgument,
                "tsa.policy_oid: '" + impl->opt.policy_oid + "' is not a dotted OID");
  }
  {
    ossl::Bio b = mem_bio(key_pem);
    impl->key.reset(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    ossl::check(impl->key != nullptr, "tsa key: not an unencrypted PEM private key");
  }
  {
    ossl::Bio b = mem_bio(cert_pem);
    impl->cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    ossl::check(impl->cert != nullptr, "tsa certificate: not a PEM certificate");
  }
  ossl::check(X509_check_private_key(impl->cert.get(), impl->key.get()) == 1,
              "tsa key: does not match the certificate's public key");
  impl->cert_der = x509_der(impl->cert.get());
  // trust.md "Roles": a TSA certificate carries EKU id-kp-timeStamping and nothing else may
  // sign tokens; RFC 3161 §2.3 requires the extension to be critical.
  const CertificateRole role = certificate_role(impl->cert_der);
  if (role.role != CertRole::kTsa) {
    throw Error(ErrorCode::kInvalidArgument,
                "tsa certificate: not in the TSA role (" + role.why + ")");
  }
  const int eku_idx = X509_get_ext_by_NID(impl->cert.get(), NID_ext_key_usage, -1);
  if (eku_idx < 0 || X509_EXTENSION_get_critical(X509_get_ext(impl->cert.get(), eku_idx)) != 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "tsa certificate: extendedKeyUsage must be critical (RFC 3161 §2.3)");
  }
  impl->chain_x509.reset(sk_X509_new_null());
  ossl::check(impl->chain_x509 != nullptr, "tsa chain");
  // Certificates after the first in `cert_pem` are its chain (a "full chain" file such as
  // keys-example/tsa/tsa.crt: TSA certificate + issuing CA), then those of `chain_pem`.
  const auto read_chain = [&impl](std::string_view pem, bool skip_first) {
    ossl::Bio b = mem_bio(pem);
    std::size_t n = 0;
    for (bool first = true;; first = false) {
      ossl::X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
      if (!c) break;
      if (first && skip_first) continue;
      impl->chain.push_back(x509_der(c.get()));
      ossl::check(sk_X509_push(impl->chain_x509.get(), c.get()) > 0, "tsa chain");
      c.release();
      ++n;
    }
    ossl::drain_errors();  // the loop ends with a harmless "no start line"
    return n;
  };
  read_chain(cert_pem, true);
  if (!chain_pem.empty() && read_chain(chain_pem, false) == 0) {
    throw Error(ErrorCode::kCrypto, "tsa chain: no PEM certificate");
  }
  return TimeStampAuthority(std::move(impl));
}

std::size_t TimeStampAuthority::max_token_size() const {
  std::size_t n = impl_->cert_der.size();
  for (const auto& c : impl_->chain) n += c.size();
  // SignedData framing + TSTInfo (policy, imprint, 16-byte serial, genTime, accuracy, nonce) +
  // signed attributes (content type, signing time, message digest, ESSCertIDv2): well under 1 KiB.
  return n + static_cast<std::size_t>(EVP_PKEY_get_size(impl_->key.get())) + 1024;
}

const std::string& TimeStampAuthority::certificate() const { return impl_->cert_der; }
const std::vector<std::string>& TimeStampAuthority::chain() const { return impl_->chain; }

ossl::TsResp TimeStampAuthority::Impl::response(std::string_view query_der) const {
  ossl::TsRespCtx ctx(TS_RESP_CTX_new());
  ossl::check(ctx != nullptr, "TS_RESP_CTX_new");
  ossl::check(TS_RESP_CTX_set_signer_cert(ctx.get(), cert.get()) == 1,
              "tsa: signer certificate (needs a critical timeStamping EKU)");
  ossl::check(TS_RESP_CTX_set_signer_key(ctx.get(), key.get()) == 1, "tsa: signer key");
  ossl::check(TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256()) == 1, "tsa: digest");
  // ESSCertIDv2 with SHA-256 (RFC 5816) instead of the SHA-1 ESSCertID of RFC 3161.
  ossl::check(TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()) == 1,
              "tsa: ESSCertIDv2 digest");
  if (!chain.empty()) {
    ossl::check(TS_RESP_CTX_set_certs(ctx.get(), chain_x509.get()) == 1, "tsa: chain");
  }
  ossl::check(TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()) == 1, "tsa: policy");
  // Accepted imprint algorithms: the SHA-2 family only; a SHA-1 imprint is answered badAlg.
  ossl::check(TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) == 1 &&
                  TS_RESP_CTX_add_md(ctx.get(), EVP_sha384()) == 1 &&
                  TS_RESP_CTX_add_md(ctx.get(), EVP_sha512()) == 1,
              "tsa: accepted digests");
  ossl::check(TS_RESP_CTX_set_accuracy(ctx.get(), opt.accuracy_seconds, 0, 0) == 1,
              "tsa: accuracy");
  ossl::check(TS_RESP_CTX_set_clock_precision_digits(ctx.get(), 0) == 1, "tsa: precision");
  CallbackData data{&opt, &clock_mu};
  TS_RESP_CTX_set_serial_cb(ctx.get(), serial_cb, &data);
  TS_RESP_CTX_set_time_cb(ctx.get(), time_cb, &data);

  ossl::Bio in = mem_bio(query_der);
  ossl::TsResp resp(TS_RESP_create_response(ctx.get(), in.get()));
  // A response exists for every malformed or refused request (its status says why); only an
  // allocation failure leaves none.
  ossl::check(resp != nullptr, "tsa: building the TimeStampResp");
  ERR_clear_error();  // rejections leave their reason on the queue; the response carries it
  return resp;
}

std::string TimeStampAuthority::respond(std::string_view query_der) const {
  const ossl::TsResp resp = impl_->response(query_der);
  return to_der(resp.get(), [](const TS_RESP* r, unsigned char** p) { return i2d_TS_RESP(r, p); },
                "tsa: encoding the TimeStampResp");
}

std::string timestamp_query(std::span<const std::uint8_t> sha256_digest,
                            std::span<const std::uint8_t> nonce) {
  if (sha256_digest.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument, "timestamp query: digest must be 32 bytes (SHA-256)");
  }
  ossl::TsReq req(TS_REQ_new());
  ossl::TsMsgImprint imprint(TS_MSG_IMPRINT_new());
  ossl::X509Algor alg(X509_ALGOR_new());
  ossl::check(req && imprint && alg, "timestamp query: allocation");
  ossl::check(X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) == 1 &&
                  TS_MSG_IMPRINT_set_algo(imprint.get(), alg.get()) == 1 &&
                  TS_MSG_IMPRINT_set_msg(imprint.get(),
                                         const_cast<unsigned char*>(sha256_digest.data()),
                                         static_cast<int>(sha256_digest.size())) == 1 &&
                  TS_REQ_set_version(req.get(), 1) == 1 &&
                  TS_REQ_set_msg_imprint(req.get(), imprint.get()) == 1 &&
                  TS_REQ_set_cert_req(req.get(), 1) == 1,
              "timestamp query");
  if (!nonce.empty()) {
    ossl::Bn bn(BN_bin2bn(nonce.data(), static_cast<int>(nonce.size()), nullptr));
    ossl::Asn1Integer n(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
    ossl::check(n != nullptr && TS_REQ_set_nonce(req.get(), n.get()) == 1,
                "timestamp query: nonce");
  }
  return to_der(req.get(), [](const TS_REQ* r, unsigned char** p) { return i2d_TS_REQ(r, p); },
                "timestamp query: encoding");
}

namespace {
// DER TLV with a definite length (X.690 §8.1.3).
std::string der(unsigned char tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    for (std::size_t v = n; v > 0; v >>= 8) len.insert(len.begin(), static_cast<char>(v & 0xff));
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  out += content;
  return out;
}
}  // namespace

std::string timestamp_rejection(TsaFailure failure, std::string_view text) {
  // OpenSSL 3.0 has no setter for PKIStatusInfo.failInfo/statusString outside TS_RESP_CTX, so
  // the few bytes are encoded here and read back with d2i_TS_RESP below (a malformed encoding
  // would throw instead of reaching a client).
  //   PKIStatusInfo ::= SEQUENCE { status INTEGER, statusString SEQUENCE OF UTF8String OPTIONAL,
  //                                failInfo BIT STRING OPTIONAL }          (RFC 3161 §2.4.2)
  const int bit = static_cast<int>(failure);
  std::string bits(static_cast<std::size_t>(bit / 8 + 1), '\0');
  bits[static_cast<std::size_t>(bit / 8)] = static_cast<char>(0x80 >> (bit % 8));
  // DER named bit list (X.690 §11.2.2): no trailing zero bits, so "unused" counts up to `bit`.
  const std::string fail_info = der(0x03, std::string(1, static_cast<char>(7 - bit % 8)) + bits);
  const std::string status = der(0x02, std::string(1, static_cast<char>(TS_STATUS_REJECTION)));
  const std::string free_text = der(0x30, der(0x0c, text));
  const std::string resp = der(0x30, der(0x30, status + free_text + fail_info));
  const TimeStampReply check = parse_timestamp_reply(resp);
  if (check.status != TS_STATUS_REJECTION || check.failures.size() != 1) {
    throw Error(ErrorCode::kInternal, "timestamp rejection: encoding does not read back");
  }
  return resp;
}

namespace {
// The fields of a TimeStampResp object. `token_only`: of a granted token only its DER (stamp()
// needs nothing else of a response this process has just built).
TimeStampReply reply_fields(TS_RESP* resp, bool token_only) {
  TimeStampReply out;
  TS_STATUS_INFO* si = TS_RESP_get_status_info(resp);
  out.status = static_cast<int>(ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si)));
  if (const ASN1_BIT_STRING* fi = TS_STATUS_INFO_get0_failure_info(si); fi != nullptr) {
    for (const TsaFailure f :
         {TsaFailure::kBadAlg, TsaFailure::kBadRequest, TsaFailure::kBadDataFormat,
          TsaFailure::kTimeNotAvailable, TsaFailure::kUnacceptedPolicy,
          TsaFailure::kUnacceptedExtension, TsaFailure::kSystemFailure}) {
      if (ASN1_BIT_STRING_get_bit(fi, static_cast<int>(f)) == 1) out.failures.push_back(f);
    }
  }
  if (const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(si); text != nullptr) {
    for (int i = 0; i < sk_ASN1_UTF8STRING_num(text); ++i) {
      const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(text, i);
      if (!out.status_text.empty()) out.status_text += "; ";
      out.status_text.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  if (PKCS7* token = TS_RESP_get_token(resp); token != nullptr) {
    out.token = to_der(token, [](const PKCS7* t, unsigned char** q) {
      return i2d_PKCS7(const_cast<PKCS7*>(t), q);
    }, "timestamp reply: token");
    if (token_only) return out;
    TS_TST_INFO* info = TS_RESP_get_tst_info(resp);
    ossl::check(info != nullptr, "timestamp reply: token without TSTInfo");
    out.gen_time = asn1_time_seconds(TS_TST_INFO_get_time(info));
    ossl::Bn serial(ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(info), nullptr));
    ossl::check(serial != nullptr, "timestamp reply: serial");
    char* hex = BN_bn2hex(serial.get());
    ossl::check(hex != nullptr, "timestamp reply: serial");
    out.serial_hex = hex;
    OPENSSL_free(hex);
    char buf[256];
    const int n = OBJ_obj2txt(buf, sizeof buf, TS_TST_INFO_get_policy_id(info), 1);
    if (n > 0 && static_cast<std::size_t>(n) < sizeof buf) out.policy_oid.assign(buf, static_cast<std::size_t>(n));
  }
  return out;
}
}  // namespace

TimeStampReply parse_timestamp_reply(std::string_view reply_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(reply_der.data());
  ossl::TsResp resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply_der.size())));
  ossl::check(resp != nullptr &&
                  p == reinterpret_cast<const unsigned char*>(reply_der.data()) + reply_der.size(),
              "timestamp reply: not a DER TimeStampResp");
  return reply_fields(resp.get(), false);
}

std::string TimeStampAuthority::stamp(std::span<const std::uint8_t> sha256_digest) const {
  std::array<std::uint8_t, 16> nonce{};
  impl_->opt.rng->fill(nonce);
  nonce[0] = static_cast<std::uint8_t>((nonce[0] & 0x7f) | 0x01);
  // Our own response, taken as the object OpenSSL built: encoding it and decoding it back
  // (respond() + parse_timestamp_reply) would prove nothing more about a token this process
  // signed itself. A token from another TSA is always parsed and checked in full (verify_tst.cpp).
  const ossl::TsResp resp = impl_->response(timestamp_query(sha256_digest, nonce));
  const TimeStampReply r = reply_fields(resp.get(), true);
  if (r.status > 1 || r.token.empty()) {
    std::string why;
    for (const TsaFailure f : r.failures) why += (why.empty() ? "" : ", ") + failure_text(f);
    throw Error(ErrorCode::kCrypto, "time-stamp refused (" + (why.empty() ? "no reason" : why) +
                                        "): " + r.status_text);
  }
  return r.token;
}

}  // namespace libcert
