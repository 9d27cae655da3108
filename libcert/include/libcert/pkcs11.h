// libcert/pkcs11.h — seal, bundle and audit keys that never leave a cryptographic token, through
// the PKCS#11 v2.40 C API (OASIS "PKCS #11 Cryptographic Token Interface Base Specification").
//
//   // The key: an RFC 7512 URI. The PIN is never in it: pin-source names a file, an environment
//   // variable or a systemd credential that holds it.
//   auto uri = libcert::pkcs11::Uri::parse(
//       "pkcs11:token=seals;object=samr-v2;type=private"
//       "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=credential:seal-pin");
//   libcert::pkcs11::Pkcs11Signer seal(uri, cert_der);   // a libcert::Signer (sign.h)
//   std::string sealed = libcert::seal_pdf(pdf, seal, options);
//
//   // Key lifecycle (certctl seal create --token): the pair is made inside the token,
//   // CKA_SENSITIVE, never extractable; only the public key comes out.
//   auto made = libcert::pkcs11::generate_key_pair(token_uri, KeyType::kEcP256, "samr-v2");
//   std::string csr = libcert::pkcs11::make_csr(made.uri, subject_entries);
//
// Why the C API directly (dlopen + C_GetFunctionList) and not libp11: Debian 12's libp11 0.4.12
// is an OpenSSL *ENGINE* (engine_pkcs11), an interface OpenSSL 3 deprecates, which hides session
// handling (no pool, no control over re-login after a token is removed) and cannot generate keys
// with the attributes we must set. The C API is small for what we use (find, sign, generate,
// login), p11-kit ships its header (p11-kit/pkcs11.h), and every token vendor ships a module.
//
// Errors: every failure is a libcert::Error. Failures of the token (absent, PIN wrong or locked,
// key gone, device error) are a TokenError: code kCrypto (the environment: certd answers 503,
// certctl exits 5, libcert/error_class.h) with a stable fault() that says which one. A malformed
// URI or PIN source is Error(kInvalidArgument). Messages never contain the PIN.
//
// Thread-safety: everything here may be used from many threads at once. A Pkcs11Signer keeps a
// pool of sessions (one signing operation per session at a time, PKCS#11 §5.6) and recovers by
// itself after the token was removed and put back: the next call after the token is back opens
// new sessions and logs in again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libcert/error.h"
#include "libcert/sign.h"

namespace libcert::pkcs11 {

// What went wrong with a token, stable names for logs, problems and tests.
enum class Fault {
  kModule,          // the module (.so) cannot be loaded or initialised      "module"
  kTokenAbsent,     // no slot has a token matching the URI                   "token-absent"
  kPinIncorrect,    // C_Login: CKR_PIN_INCORRECT / CKR_PIN_LEN_RANGE          "pin-incorrect"
  kPinLocked,       // C_Login: CKR_PIN_LOCKED (the SO must unblock it)        "pin-locked"
  kPinUnavailable,  // the pin-source cannot be read                          "pin-unavailable"
  kKeyNotFound,     // no (or no longer a) private key matching the URI       "key-not-found"
  kDevice,          // any other token failure (CKR_DEVICE_ERROR, ...)        "device"
};
std::string_view to_string(Fault f) noexcept;

class TokenError : public Error {
 public:
  TokenError(Fault fault, std::string message)
      : Error(ErrorCode::kCrypto, std::string(to_string(fault)) + ": " + message), fault_(fault) {}
  [[nodiscard]] Fault fault() const noexcept { return fault_; }

 private:
  Fault fault_;
};

// An RFC 7512 PKCS#11 URI. parse() decodes percent-encoding (§2.3: pk11-pchar), accepts the
// path attributes of §2.3 and the query attributes module-name, module-path and pin-source
// (§2.4). pin-value is refused: a PIN in a URI ends up in configuration files, registries and
// logs. Unknown path attributes are refused too (RFC 7512 §2.3 lets a consumer ignore vendor
// "x-" attributes; we refuse them so that a typo cannot widen a key selection). Throws
// Error(kInvalidArgument) naming the attribute.
struct Uri {
  std::optional<std::string> token, manufacturer, serial, model;  // CK_TOKEN_INFO
  std::optional<std::string> library_manufacturer, library_description;
  std::optional<std::string> slot_description, slot_manufacturer;
  std::optional<unsigned long> slot_id;
  std::optional<std::string> object;  // CKA_LABEL
  std::optional<std::string> id;      // CKA_ID (bytes)
  std::optional<std::string> type;    // "private", "public", "cert", "secret-key", "data"
  std::optional<std::string> module_path, module_name, pin_source;

  static Uri parse(std::string_view text);
  // The canonical text (attributes in a fixed order, §2.3 reserved characters percent-encoded):
  // parse(u.str()) == u. Safe to log: it holds no PIN.
  [[nodiscard]] std::string str() const;
  [[nodiscard]] static bool is_uri(std::string_view text) { return text.rfind("pkcs11:", 0) == 0; }
  bool operator==(const Uri&) const = default;
};

// Environment lookup (injectable for tests); nullopt = unset.
using Env = std::function<std::optional<std::string>(const char*)>;
Env process_env();

// The PIN named by a pin-source: "file:/abs/path" or "/abs/path" (the file's first line),
// "env:NAME" (an environment variable), "credential:NAME" ($CREDENTIALS_DIRECTORY/NAME, systemd
// LoadCredential=/SetCredentialEncrypted=). Throws TokenError(kPinUnavailable) naming the source
// (never the PIN); Error(kInvalidArgument) for another scheme.
std::string read_pin(std::string_view pin_source, const Env& env);

enum class KeyType { kEcP256, kEd25519 };

struct Options {
  // Sessions kept per token for concurrent signing (PKCS#11 allows one operation per session).
  std::size_t max_sessions = 8;
  // Module used when the URI has neither module-path nor module-name.
  std::string default_module;
  // After a token failure, recovery (re-scanning slots, re-initialising the module) is tried at
  // most this often; calls in between fail fast with the last fault.
  std::int64_t retry_interval_ms = 500;
  Env env;  // empty: process_env()
};

// A private key in a token, usable for ECDSA P-256 (CKM_ECDSA over our own SHA-256) or Ed25519
// (CKM_EDDSA over the message). Thread-safe; copies share the session pool.
class Key {
 public:
  // Resolves nothing yet: the module is loaded, the token found, the PIN read and the key looked
  // up on first use (and again after a failure), so certd can start while a token is absent.
  explicit Key(const Uri& uri, Options options = {});
  ~Key();
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;

  // The key's type and public key (SubjectPublicKeyInfo DER), from the private key's attributes
  // or its public twin (same CKA_ID / CKA_LABEL). Throws TokenError.
  [[nodiscard]] KeyType type() const;
  [[nodiscard]] std::string public_key_spki() const;
  // ECDSA P-256: DER Ecdsa-Sig-Value over a 32-byte digest, low-S normalised (s <= n/2, as the
  // QR signer emits; qr.md "Low-S"). Throws Error(kInvalidArgument) if digest is not 32 bytes.
  [[nodiscard]] std::string sign_digest(std::span<const std::uint8_t> digest) const;
  // Ed25519 (RFC 8032 pure): the 64-byte signature of `message`.
  [[nodiscard]] std::string sign_message(std::string_view message) const;
  // The key's attributes as the token reports them (for checks and tests).
  struct Attributes {
    bool sensitive = false, extractable = true, token = false, always_sensitive = false,
         never_extractable = false, local = false;
  };
  [[nodiscard]] Attributes attributes() const;
  [[nodiscard]] const Uri& uri() const;

  struct State;  // private (pkcs11.cpp)

 private:
  std::shared_ptr<State> state_;
};

// A libcert::Signer over a token key (ECDSA P-256 only: the PDF and QR profile of signing.md).
class Pkcs11Signer final : public Signer {
 public:
  // `cert_der`: the key's certificate; its public key must be the token key's (checked on the
  // first signature, so a token that is absent at start-up does not stop certd).
  Pkcs11Signer(const Uri& key_uri, std::string cert_der, std::vector<std::string> chain = {},
               Options options = {});
  [[nodiscard]] const std::string& certificate() const override { return cert_; }
  [[nodiscard]] const std::vector<std::string>& chain() const override { return chain_; }
  [[nodiscard]] SignatureAlgorithm algorithm() const override {
    return SignatureAlgorithm::kEcdsaP256Sha256;
  }
  // Throws TokenError for a token failure, Error(kCrypto) if the token key does not match the
  // certificate.
  [[nodiscard]] std::string sign(std::span<const std::uint8_t> digest) const override;
  [[nodiscard]] const Key& key() const { return key_; }

 private:
  Key key_;
  std::string cert_;
  std::vector<std::string> chain_;
  std::shared_ptr<std::once_flag> checked_;
};

// Generates a key pair inside the token of `token_uri` (its object/id/type are ignored): private
// key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE false, CKA_SIGN; public key
// CKA_TOKEN, CKA_VERIFY; both labelled `label` with a fresh random 16-byte CKA_ID. Returns the
// URI of the private key (token + id + object + type=private, with the token URI's query) and the
// public key. Throws TokenError; Error(kInvalidArgument) if the label is empty or already used.
struct GeneratedKey {
  Uri uri;
  std::string spki_der;
};
GeneratedKey generate_key_pair(const Uri& token_uri, KeyType type, const std::string& label,
                               const Options& options = {});

// Deletes the key pair (private and public objects) named by `key_uri` (tests, and an admin who
// retires a token key for good). Throws TokenError(kKeyNotFound) if there is none.
void destroy_key_pair(const Uri& key_uri, const Options& options = {});

// A PKCS#10 CSR (RFC 2986) for an ECDSA P-256 token key, signed in the token: `subject` as
// (field, UTF-8 value) pairs in order ("C", "O", "organizationIdentifier", "CN"...). PEM.
std::string make_csr(const Key& key,
                     const std::vector<std::pair<std::string, std::string>>& subject);

}  // namespace libcert::pkcs11
