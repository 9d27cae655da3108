// certctl token — keys that live in a PKCS#11 token (docs/pkcs11.md): generate a key pair inside
// the token for the trust-bundle signer (ECDSA P-256, with a CSR signed in the token) or the audit
// checkpoints (Ed25519), and show a key's attributes. Seal keys are made by `certctl seal create
// --token`, which also records the version in the registry.
//
//   certctl token keygen --token 'pkcs11:token=bundle?module-path=...&pin-source=file:/run/pin'
//       --type ec-p256 --label bundle-2027 --csr-out bundle.csr --subject-cn "Ali Bundle Signer"
//   certctl token keygen --token 'pkcs11:token=audit?...' --type ed25519 --label audit-2027
//       --pub-out audit.pub
//   certctl token show --key 'pkcs11:token=bundle;object=bundle-2027?...'
//
// The PIN comes from the URI's pin-source (file:, env:, credential:), never from this command
// line. Token faults exit 5 (docs/verdicts.md) with the fault name (token-absent, pin-incorrect,
// key-not-found...).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <iostream>

#include "command.h"
#include "libcert/error.h"
#include "libcert/pkcs11.h"

namespace {

using certctl::Options;
using certctl::UsageError;
namespace p11 = libcert::pkcs11;

p11::Uri uri_option(const Options& o, const char* name) {
  try {
    return p11::Uri::parse(o.require(name));
  } catch (const libcert::Error& e) {
    throw UsageError(std::string(name) + ": " + e.what());
  }
}

std::string spki_pem(const std::string& spki) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> k(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())), EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> b(BIO_new(BIO_s_mem()), BIO_free_all);
  if (!k || !b || PEM_write_bio_PUBKEY(b.get(), k.get()) != 1) {
    throw libcert::Error(libcert::ErrorCode::kCrypto, "cannot encode the public key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

int token_keygen(const certctl::Args& args) {
  Options o(args, {"--token", "--type", "--label", "--csr-out", "--subject-cn", "--pub-out"}, {});
  const p11::Uri token = uri_option(o, "--token");
  const std::string type = o.get("--type").value_or("ec-p256");
  if (type != "ec-p256" && type != "ed25519") throw UsageError("--type: ec-p256 or ed25519");
  const auto kt = type == "ed25519" ? p11::KeyType::kEd25519 : p11::KeyType::kEcP256;
  const auto made = p11::generate_key_pair(token, kt, o.require("--label"));
  const std::string pem = spki_pem(made.spki_der);
  if (auto f = o.get("--pub-out")) certctl::write_file_atomic(*f, pem);
  if (auto f = o.get("--csr-out")) {
    if (kt != p11::KeyType::kEcP256) throw UsageError("--csr-out: only for ec-p256 keys");
    // The subject of keys-example/make-bundle-key.sh; the CA adds the role's policy OID.
    const std::string csr = p11::make_csr(
        p11::Key(made.uri), {{"C", "CN"},
                             {"O", "Ali Prefecture"},
                             {"CN", o.get("--subject-cn").value_or("Ali Trust Bundle Signer")}});
    certctl::write_file_atomic(*f, csr);
  }
  std::cout << made.uri.str() << "\n" << pem;
  return 0;
}

int token_show(const certctl::Args& args) {
  Options o(args, {"--key"}, {});
  const p11::Key key(uri_option(o, "--key"));
  const auto a = key.attributes();
  std::cout << "type " << (key.type() == p11::KeyType::kEd25519 ? "ed25519" : "ec-p256")
            << "\nsensitive " << a.sensitive << "\nextractable " << a.extractable
            << "\nnever_extractable " << a.never_extractable << "\nlocal " << a.local << "\n"
            << spki_pem(key.public_key_spki());
  return 0;
}

int run_token(const certctl::Args& args) {
  if (args.empty()) throw UsageError("missing subcommand (keygen, show)");
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args[0] == "keygen") return token_keygen(rest);
  if (args[0] == "show") return token_show(rest);
  throw UsageError("unknown subcommand '" + args[0] + "' (keygen, show)");
}

const certctl::Command kToken{
    "token", "keys in a PKCS#11 token: generate the bundle or audit key pair, show a key",
    "certctl token keygen --token PKCS11-URI [--type ec-p256|ed25519] --label LABEL\n"
    "                     [--csr-out FILE [--subject-cn CN]] [--pub-out FILE]\n"
    "       certctl token show --key PKCS11-URI\n"
    "  (the PIN comes from the URI's pin-source: file:/PATH, env:NAME or credential:NAME)",
    run_token};

}  // namespace
