// Unit tests of the PKCS#11 layer (libcert/pkcs11.h) on a real token: SoftHSM2 in a temp dir.
// Signatures are checked with OpenSSL against the public key the token reports, key attributes
// with OpenSC's pkcs11-tool (a third party), faults by their stable Fault value.
#include "libcert/pkcs11.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <atomic>
#include <thread>

#include "cose.h"
#include "libcert/sign.h"
#include "ossl.h"
#include "support/process.h"
#include "support/softhsm.h"

namespace p11 = libcert::pkcs11;
using libcert::Error;
using libcert::ErrorCode;

namespace {

p11::Fault fault_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const p11::TokenError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCrypto) << "a token fault is the environment (503, exit 5)";
    return e.fault();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a TokenError: " << e.what();
    return p11::Fault::kModule;
  }
  ADD_FAILURE() << "no TokenError thrown";
  return p11::Fault::kModule;
}

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no libcert::Error thrown";
  return ErrorCode::kInternal;
}

bool verify_ecdsa(const std::string& spki, const std::string& digest, const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  libcert::ossl::PKey k(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  libcert::ossl::PKeyCtx c(EVP_PKEY_CTX_new(k.get(), nullptr));
  return c && EVP_PKEY_verify_init(c.get()) == 1 &&
         EVP_PKEY_verify(c.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                         reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string unique_label(const char* base) {
  static std::atomic<int> n{0};
  return std::string(base) + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// C_GetAttributeValue(CKA_VALUE) on the private key labelled `label`, in a session of our own
// through the module's function list: the return value (CKR_ATTRIBUTE_SENSITIVE expected).
CK_RV read_private_value(const std::string& token_label, const std::string& label) {
  void* dl = ::dlopen(testsupport::kSoftHsmModule, RTLD_NOW | RTLD_LOCAL);
  if (dl == nullptr) return CKR_GENERAL_ERROR;
  CK_FUNCTION_LIST* f = nullptr;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"));
  if (get == nullptr || get(&f) != CKR_OK) return CKR_GENERAL_ERROR;
  (void)f->C_Initialize(nullptr);  // already initialised by libcert: CKR_CRYPTOKI_ALREADY_...
  CK_SLOT_ID slots[16];
  CK_ULONG n = 16;
  if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) return CKR_GENERAL_ERROR;
  for (CK_ULONG i = 0; i < n; ++i) {
    CK_TOKEN_INFO ti{};
    if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) continue;
    std::string l(reinterpret_cast<const char*>(ti.label), sizeof ti.label);
    while (!l.empty() && l.back() == ' ') l.pop_back();
    if (l != token_label) continue;
    CK_SESSION_HANDLE s = 0;
    if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
      return CKR_GENERAL_ERROR;
    std::string pin = "pin-" + token_label;
    (void)f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()),
                     static_cast<CK_ULONG>(pin.size()));
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG found = 0;
    (void)f->C_FindObjectsInit(s, t, 2);
    (void)f->C_FindObjects(s, &h, 1, &found);
    (void)f->C_FindObjectsFinal(s);
    CK_RV rv = CKR_GENERAL_ERROR;
    if (found == 1) {
      unsigned char buf[256];
      CK_ATTRIBUTE v{CKA_VALUE, buf, sizeof buf};
      rv = f->C_GetAttributeValue(s, h, &v, 1);
    }
    (void)f->C_CloseSession(s);
    return rv;
  }
  return CKR_TOKEN_NOT_PRESENT;
}

// ---- URIs (RFC 7512) ---------------------------------------------------------------------------

TEST(Pkcs11Uri, ParsesPathAndQueryAttributesWithPercentEncoding) {
  const auto u = p11::Uri::parse(
      "pkcs11:token=Seal%20Token;manufacturer=SoftHSM%20project;serial=abc;object=samr%2Fv2;"
      "id=%01%02%ff;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&"
      "pin-source=file:/run/pin%20file");
  EXPECT_EQ(u.token, "Seal Token");
  EXPECT_EQ(u.manufacturer, "SoftHSM project");
  EXPECT_EQ(u.serial, "abc");
  EXPECT_EQ(u.object, "samr/v2");
  EXPECT_EQ(u.id, std::string("\x01\x02\xff", 3));
  EXPECT_EQ(u.type, "private");
  EXPECT_EQ(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(u.pin_source, "file:/run/pin file");
  // Canonical text round-trips.
  EXPECT_EQ(p11::Uri::parse(u.str()), u);
  EXPECT_EQ(p11::Uri::parse("pkcs11:slot-id=3;object=a").slot_id, 3UL);
  EXPECT_EQ(p11::Uri::parse("pkcs11:").str(), "pkcs11:");
}

TEST(Pkcs11Uri, RefusesPinValueUnknownAndRepeatedAttributesAndBadEscapes) {
  for (const char* bad :
       {"pkcs11:token=a?pin-value=1234", "pkcs11:token=a;colour=red", "pkcs11:token=a;token=b",
        "pkcs11:token=a%2", "pkcs11:token=a%zz", "pkcs11:token=a b", "pkcs11:type=secret",
        "pkcs11:slot-id=x", "pkcs11:token=a?module-path=relative.so", "pkcs11:token=a;", "token=a",
        "pkcs11:token=a?colour=red", "pkcs11:noequals"}) {
    EXPECT_EQ(code_of([&] { (void)p11::Uri::parse(bad); }), ErrorCode::kInvalidArgument) << bad;
  }
  try {
    (void)p11::Uri::parse("pkcs11:token=a?pin-value=1234");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("1234"), std::string::npos) << "the PIN is never echoed";
  }
}

// ---- PIN sources -------------------------------------------------------------------------------

TEST(Pkcs11Pin, FromFileEnvironmentAndSystemdCredential) {
  testsupport::TempDir d;
  testsupport::spit(d / "pin", "s3cret\nignored\n");
  std::filesystem::create_directories(d / "creds");
  testsupport::spit(d / "creds" / "seal-pin", "fromcred\n");
  const p11::Env env = [&](const char* n) -> std::optional<std::string> {
    if (std::string(n) == "SEAL_PIN") return "fromenv";
    if (std::string(n) == "CREDENTIALS_DIRECTORY") return (d / "creds").string();
    return std::nullopt;
  };
  EXPECT_EQ(p11::read_pin("file:" + (d / "pin").string(), env), "s3cret");
  EXPECT_EQ(p11::read_pin("file://" + (d / "pin").string(), env), "s3cret");
  EXPECT_EQ(p11::read_pin((d / "pin").string(), env), "s3cret");
  EXPECT_EQ(p11::read_pin("env:SEAL_PIN", env), "fromenv");
  EXPECT_EQ(p11::read_pin("credential:seal-pin", env), "fromcred");
  EXPECT_EQ(fault_of([&] { (void)p11::read_pin("env:NOPE", env); }), p11::Fault::kPinUnavailable);
  EXPECT_EQ(fault_of([&] { (void)p11::read_pin("credential:nope", env); }),
            p11::Fault::kPinUnavailable);
  EXPECT_EQ(fault_of([&] { (void)p11::read_pin("file:" + (d / "none").string(), env); }),
            p11::Fault::kPinUnavailable);
  EXPECT_EQ(code_of([&] { (void)p11::read_pin("credential:../x", env); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { (void)p11::read_pin("1234", env); }), ErrorCode::kInvalidArgument);
}

// ---- SoftHSM2 ----------------------------------------------------------------------------------

// This process loads SoftHSM2 itself: the slow unwinder lets tests/lsan.supp's
// `leak:libsofthsm2` match the module's own never-freed OpenSSL objects (tests/support/softhsm.h).
extern "C" const char* __lsan_default_options() { return "fast_unwind_on_malloc=0"; }

class Pkcs11Token : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)testsupport::SoftHsm::instance(); }
  testsupport::SoftHsm& hsm = testsupport::SoftHsm::instance();
  p11::Uri token(const std::string& label) { return p11::Uri::parse(hsm.token_uri(label)); }
};

TEST_F(Pkcs11Token, GeneratesASensitiveNonExtractableP256KeyAndSignsLowS) {
  const std::string label = unique_label("seal");
  const auto made = p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, label);
  EXPECT_EQ(made.uri.object, label);
  ASSERT_TRUE(made.uri.id.has_value());
  EXPECT_EQ(made.uri.id->size(), 16U);
  EXPECT_EQ(made.uri.type, "private");

  p11::Key key(made.uri);
  EXPECT_EQ(key.type(), p11::KeyType::kEcP256);
  EXPECT_EQ(key.public_key_spki(), made.spki_der);
  const auto a = key.attributes();
  EXPECT_TRUE(a.sensitive);
  EXPECT_FALSE(a.extractable);
  EXPECT_TRUE(a.token);
  EXPECT_TRUE(a.never_extractable);
  EXPECT_TRUE(a.always_sensitive);
  EXPECT_TRUE(a.local);

  // 40 signatures: each verifies with the token's public key (OpenSSL) and is low-S.
  for (int i = 0; i < 40; ++i) {
    const std::string digest = libcert::cose::sha256("message " + std::to_string(i));
    const std::string der = key.sign_digest(bytes(digest));
    EXPECT_TRUE(verify_ecdsa(made.spki_der, digest, der)) << i;
    EXPECT_TRUE(libcert::cose::is_low_s(libcert::cose::der_to_raw(der))) << i;
  }
  EXPECT_EQ(code_of([&] { (void)key.sign_digest(bytes("short")); }), ErrorCode::kInvalidArgument);

  // OpenSC's view (a third party): sensitive, never extractable; reading the value fails.
  const auto list = hsm.tool("seals", "--list-objects --type privkey --label " + label);
  EXPECT_NE(list.out.find("sensitive"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("never extractable"), std::string::npos) << list.out;
  // Reading the key's value through the C API itself (not through our wrapper): refused.
  EXPECT_EQ(read_private_value("seals", label), CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(Pkcs11Token, GeneratesEd25519InTheTokenForAuditCheckpoints) {
  const auto made =
      p11::generate_key_pair(token("audit"), p11::KeyType::kEd25519, unique_label("audit"));
  p11::Key key(made.uri);
  EXPECT_EQ(key.type(), p11::KeyType::kEd25519);
  const std::string msg = "lic.ali.example/audit\n7\nroot\n";
  const std::string sig = key.sign_message(msg);
  ASSERT_EQ(sig.size(), 64U);
  const auto* p = reinterpret_cast<const unsigned char*>(made.spki_der.data());
  libcert::ossl::PKey pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(made.spki_der.size())));
  ASSERT_TRUE(pub);
  libcert::ossl::MdCtx ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pub.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), 64,
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()),
            1);
  EXPECT_EQ(code_of([&] { (void)key.sign_digest(bytes(std::string(32, 'x'))); }),
            ErrorCode::kCrypto);
}

TEST_F(Pkcs11Token, RefusesADuplicateLabel) {
  const std::string label = unique_label("dup");
  (void)p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, label);
  EXPECT_EQ(
      code_of([&] { (void)p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, label); }),
      ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11Token, WrongPinIsPinIncorrectAndNotRetriedUntilThePinChanges) {
  testsupport::TempDir d;
  const auto made =
      p11::generate_key_pair(token("spare"), p11::KeyType::kEcP256, unique_label("pin"));
  testsupport::spit(d / "pin", "wrong-pin\n");
  p11::Uri u = made.uri;
  u.pin_source = "file:" + (d / "pin").string();
  p11::Key key(u);
  const std::string digest(32, 'd');
  EXPECT_EQ(fault_of([&] { (void)key.sign_digest(bytes(digest)); }), p11::Fault::kPinIncorrect);
  EXPECT_EQ(fault_of([&] { (void)key.sign_digest(bytes(digest)); }), p11::Fault::kPinIncorrect);
  // The administrator fixes the PIN file: the same Key works without a restart.
  testsupport::spit(d / "pin", "pin-spare\n");
  EXPECT_TRUE(verify_ecdsa(made.spki_der, digest, key.sign_digest(bytes(digest))));
  // The message never carries the PIN.
  testsupport::spit(d / "pin", "another-wrong\n");
  p11::Key again(u);
  try {
    (void)again.public_key_spki();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("another-wrong"), std::string::npos);
  }
}

TEST_F(Pkcs11Token, KeyNotFoundTokenAbsentAndKeyDeletedAtRuntime) {
  p11::Uri missing = token("seals");
  missing.object = "no-such-key";
  EXPECT_EQ(fault_of([&] { (void)p11::Key(missing).public_key_spki(); }), p11::Fault::kKeyNotFound);
  p11::Uri absent = token("seals");
  absent.token = "no-such-token";
  absent.object = "x";
  EXPECT_EQ(fault_of([&] { (void)p11::Key(absent).public_key_spki(); }), p11::Fault::kTokenAbsent);

  const auto made =
      p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, unique_label("del"));
  p11::Key key(made.uri);
  const std::string digest(32, 'e');
  EXPECT_TRUE(verify_ecdsa(made.spki_der, digest, key.sign_digest(bytes(digest))));
  p11::destroy_key_pair(made.uri);
  EXPECT_EQ(fault_of([&] { (void)key.sign_digest(bytes(digest)); }), p11::Fault::kKeyNotFound);
}

TEST_F(Pkcs11Token, ConcurrentSigningThroughTheSessionPool) {
  const auto made =
      p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, unique_label("pool"));
  p11::Options o;
  o.max_sessions = 3;
  p11::Key key(made.uri, o);
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string digest = libcert::cose::sha256(std::to_string(t * 1000 + i));
        if (verify_ecdsa(made.spki_der, digest, key.sign_digest(bytes(digest)))) ++ok;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 150);
}

TEST_F(Pkcs11Token, TokenDirectoryMovedAwayAndBack) {
  const auto made =
      p11::generate_key_pair(token("bundle"), p11::KeyType::kEcP256, unique_label("move"));
  p11::Options o;
  o.retry_interval_ms = 0;
  p11::Key key(made.uri, o);
  const std::string digest(32, 'm');
  ASSERT_TRUE(verify_ecdsa(made.spki_der, digest, key.sign_digest(bytes(digest))));
  const auto dir = hsm.token_dir("bundle");
  const auto away = hsm.dir() / "moved-away";
  std::filesystem::rename(dir, away);
  const p11::Fault f = fault_of([&] { (void)key.sign_digest(bytes(digest)); });
  EXPECT_TRUE(f == p11::Fault::kTokenAbsent || f == p11::Fault::kKeyNotFound ||
              f == p11::Fault::kDevice)
      << p11::to_string(f);
  std::filesystem::rename(away, dir);
  EXPECT_TRUE(verify_ecdsa(made.spki_der, digest, key.sign_digest(bytes(digest))));
}

TEST_F(Pkcs11Token, CsrSignedInTheTokenVerifiesWithOpenSsl) {
  // The CSR is signed in the token; OpenSSL (a third party) checks it.
  const auto made =
      p11::generate_key_pair(token("seals"), p11::KeyType::kEcP256, unique_label("csr"));
  p11::Key key(made.uri);
  const std::string csr = p11::make_csr(key, {{"C", "CN"}, {"CN", "令牌测试"}});
  testsupport::TempDir d;
  testsupport::spit(d / "req.csr", csr);
  const auto v = testsupport::run("openssl req -verify -noout -in " +
                                  testsupport::shell_quote((d / "req.csr").string()));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("verify OK"), std::string::npos) << v.out;
}

}  // namespace
