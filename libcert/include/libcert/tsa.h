// libcert/tsa.h — a time-stamping authority (RFC 3161) built on OpenSSL's TS API.
//
//   libcert::SystemClock clock;
//   libcert::SystemRng rng;
//   libcert::MemoryTsaClockState state;          // certd backs this with its registry
//   libcert::TsaOptions opt{.clock = &clock, .rng = &rng, .state = &state};
//   auto tsa = libcert::TimeStampAuthority::from_files("keys-example/tsa/tsa.key",
//                                                      "keys-example/tsa/tsa.crt",
//                                                      {"keys-example/root/root.crt"}, opt);
//   std::string reply = tsa.respond(query_der);   // TimeStampResp DER, granted or rejected
//   std::string token = tsa.stamp(sha256_of_signature_value);  // TimeStampToken DER or throws
//
// What a granted token holds (RFC 3161 §2.4.2): TSTInfo version 1, the TSA policy
// (kTsaPolicyOid unless configured), the request's message imprint, a serial number of 127 random
// bits from the injected Rng (unique across TSA instances without coordination: two instances
// collide with probability ~n²/2¹²⁸), genTime = options.clock in whole seconds, accuracy
// options.accuracy_seconds, the request's nonce, ordering false; SignedData signed with SHA-256,
// the signed attribute signingCertificateV2 (ESSCertIDv2 with SHA-256, RFC 5816); the TSA
// certificate and chain are included when the request sets certReq (§2.4.1).
//
// Time never goes backwards: before every token the TSA asks its TsaClockState to advance to
// the clock's time. If the clock is behind the last token's genTime (a clock reset, or another
// instance with a faster clock), the request is rejected with PKIFailureInfo timeNotAvailable and
// nothing is signed. Equal times are allowed (many tokens per second).
//
// Failures of a request (not DER, SHA-1 or another unaccepted hash, an unaccepted policy, a
// clock behind, a state store that fails) are answered by respond() as a TimeStampResp with
// PKIStatus rejection and the PKIFailureInfo bit of RFC 3161 §2.4.2 — never by an exception.
//
// Thread-safety: respond() and stamp() may be called from many threads at once (one TS_RESP_CTX
// per call; the key and certificates are only read). The Clock, Rng and TsaClockState must be
// thread-safe (their contracts say so).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/clock.h"

namespace libcert {

// The "last token time" that keeps a TSA's genTime monotonic, shared by every instance that
// signs with the same TSA identity (certd: a row in the registry).
class TsaClockState {
 public:
  virtual ~TsaClockState() = default;
  // Atomically, across every process sharing the state: if `t` >= the recorded time, record `t`
  // and return true; otherwise change nothing, set `last` to the recorded time and return false.
  // May throw (a registry failure); the TSA then rejects the request with systemFailure.
  virtual bool advance(std::int64_t t, std::int64_t& last) = 0;
};

// A source of RFC 3161 time-stamp tokens: this process's TimeStampAuthority, or a client of a
// remote TSA. Used by seal_pdf for PAdES B-T (sign.h SealOptions::timestamper).
class TimeStamper {
 public:
  virtual ~TimeStamper() = default;
  // The TimeStampToken (DER ContentInfo with SignedData) whose message imprint is the SHA-256
  // `sha256_digest`. Throws Error(kInvalidArgument) for a digest that is not 32 bytes and
  // Error(kCrypto) if the TSA refuses.
  [[nodiscard]] virtual std::string stamp(std::span<const std::uint8_t> sha256_digest) const = 0;
  // An upper bound of the DER size of stamp()'s tokens (the /Contents reservation grows by it).
  [[nodiscard]] virtual std::size_t max_token_size() const = 0;
};

// In-process state (tests, certctl, a single instance without a registry).
class MemoryTsaClockState final : public TsaClockState {
 public:
  explicit MemoryTsaClockState(std::int64_t last = 0) : last_(last) {}
  bool advance(std::int64_t t, std::int64_t& last) override;
  [[nodiscard]] std::int64_t last() const;

 private:
  mutable std::mutex mu_;
  std::int64_t last_;
};

struct TsaOptions {
  const Clock* clock = nullptr;      // required: genTime
  Rng* rng = nullptr;                // required: serial numbers (and nonces in stamp())
  TsaClockState* state = nullptr;    // required: genTime never goes backwards
  std::string policy_oid;            // empty: kTsaPolicyOid (roles.h)
  int accuracy_seconds = 1;          // TSTInfo.accuracy (§2.4.2), 1..3600
};

// The reason a request was rejected, as the PKIFailureInfo bit numbers of RFC 3161 §2.4.2.
enum class TsaFailure : int {
  kBadAlg = 0,
  kBadRequest = 2,
  kBadDataFormat = 5,
  kTimeNotAvailable = 14,
  kUnacceptedPolicy = 15,
  kUnacceptedExtension = 16,
  kSystemFailure = 25,
};

class TimeStampAuthority final : public TimeStamper {
 public:
  // Loads an unencrypted PEM key and the TSA's PEM certificate (+ the certificates above it, sent
  // when certReq is set: those after the first in the certificate file, then the optional PEM
  // chain files). Throws Error(kInvalidArgument) if an option
  // is missing or out of range or the certificate is not in the TSA role (roles.h: EKU
  // id-kp-timeStamping, critical — RFC 3161 §2.3), Error(kIo) if a file cannot be read,
  // Error(kCrypto) if a PEM does not parse or the key does not match the certificate.
  static TimeStampAuthority from_files(const std::string& key_path, const std::string& cert_path,
                                       const std::vector<std::string>& chain_paths,
                                       const TsaOptions& options);
  static TimeStampAuthority from_pem(std::string_view key_pem, std::string_view cert_pem,
                                     std::string_view chain_pem, const TsaOptions& options);

  // Answers a DER TimeStampReq (RFC 3161 §2.4.1) with a DER TimeStampResp (§2.4.2): status
  // granted with a token, or rejection with a PKIFailureInfo (see the top). Throws only
  // Error(kCrypto) if OpenSSL cannot build any response at all (out of memory).
  [[nodiscard]] std::string respond(std::string_view query_der) const;

  // Time-stamps a SHA-256 digest (32 bytes) for our own use (PAdES signature and document
  // time-stamps): a request with a fresh nonce and certReq true, answered by respond(); returns
  // the TimeStampToken (a DER ContentInfo with SignedData, what the CMS unsigned attribute
  // id-aa-signatureTimeStampToken and a /DocTimeStamp's /Contents hold). Throws
  // Error(kInvalidArgument) if the digest is not 32 bytes, Error(kCrypto) with the PKIFailureInfo
  // text if the request was rejected (e.g. "time not available: clock behind the last token").
  [[nodiscard]] std::string stamp(std::span<const std::uint8_t> sha256_digest) const override;
  // The certificates (TSA + chain, certReq), the SignedData and TSTInfo overhead and the key's
  // largest signature.
  [[nodiscard]] std::size_t max_token_size() const override;

  // DER of the TSA certificate, and of the chain above it (without the anchor unless given).
  [[nodiscard]] const std::string& certificate() const;
  [[nodiscard]] const std::vector<std::string>& chain() const;

  TimeStampAuthority(TimeStampAuthority&&) noexcept;
  TimeStampAuthority& operator=(TimeStampAuthority&&) noexcept;
  ~TimeStampAuthority() override;

 private:
  struct Impl;
  explicit TimeStampAuthority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What a parsed TimeStampResp says (for clients and tests): the PKIStatus (0 granted, 1
// grantedWithMods, 2 rejection, ...), the PKIFailureInfo bits, the status text, and for a
// granted reply the token and its TSTInfo fields. Throws Error(kCrypto) if `reply_der` is not a
// TimeStampResp.
struct TimeStampReply {
  int status = -1;
  std::vector<TsaFailure> failures;
  std::string status_text;
  std::string token;       // DER TimeStampToken; empty unless granted
  std::int64_t gen_time = 0;
  std::string serial_hex;  // upper-case hex of TSTInfo.serialNumber
  std::string policy_oid;
};
[[nodiscard]] TimeStampReply parse_timestamp_reply(std::string_view reply_der);

// A DER TimeStampResp with PKIStatus rejection, the PKIFailureInfo bit `failure` and
// `text` as its PKIFreeText — for refusals decided before a request reaches the TSA (a transport
// that has no TSA configured, a body that is too large, a caller over its rate). RFC 3161 §3.4:
// the HTTP answer to a TimeStampReq is always a TimeStampResp.
[[nodiscard]] std::string timestamp_rejection(TsaFailure failure, std::string_view text);

// A DER TimeStampReq for a SHA-256 digest (certReq true, the given nonce if not empty).
[[nodiscard]] std::string timestamp_query(std::span<const std::uint8_t> sha256_digest,
                                          std::span<const std::uint8_t> nonce);

}  // namespace libcert
