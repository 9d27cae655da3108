// Trust bundle: signed round trip, and every way a bundle must be refused.
#include "libcert/trust_bundle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cose.h"
#include "libcert/error.h"
#include "libcert/roles.h"
#include "support/qr_fixture.h"

namespace {

using libcert::ErrorCode;
using testsupport::QrKeys;

class TrustBundle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { keys_ = new QrKeys(); }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }
  static const QrKeys& k() { return *keys_; }
  static std::int64_t t0() { return libcert::cose::cert_times(k().seal).not_before + 3600; }
  static std::pair<ErrorCode, std::string> refusal(const std::string& file,
                                                   const std::string& root) {
    try {
      libcert::BundlePins p = k().pins();
      p.root_der = root;
      (void)libcert::TrustBundle::parse(file, p);
    } catch (const libcert::Error& e) {
      return {e.code(), e.what()};
    }
    return {ErrorCode::kInternal, "accepted"};
  }
  static inline QrKeys* keys_ = nullptr;
};

TEST_F(TrustBundle, SignedRoundTripKeepsEveryField) {
  auto b = k().bundle_v(42, t0());
  b.seals[1].state = libcert::SealState::kRevoked;
  b.seals[1].compromised_at = t0() - 5;
  b.seals[0].usage_until = t0() + 1000;
  b.status_lists.at(testsupport::kSamrUscc).set(12345, true);
  b.status_lists.emplace("115425000199003166", libcert::StatusList(4096));
  const std::string file = b.sign(k().bundle, k().bundle_sign);
  const auto got = libcert::TrustBundle::parse(file, k().pins());
  EXPECT_EQ(got.version, 42u);
  EXPECT_EQ(got.issued_at, t0());
  EXPECT_EQ(got.root_der, k().root);
  ASSERT_EQ(got.seals.size(), 2u);
  EXPECT_EQ(got.seals[0].department, "samr");
  EXPECT_EQ(got.seals[0].issuer_code, testsupport::kSamrUscc);
  EXPECT_EQ(got.seals[0].certificate_der, k().seal);
  EXPECT_EQ(got.seals[0].usage_until, t0() + 1000);
  EXPECT_EQ(got.seals[1].state, libcert::SealState::kRevoked);
  EXPECT_EQ(got.seals[1].compromised_at, t0() - 5);
  EXPECT_EQ(got.seals[0].not_before, libcert::cose::cert_times(k().seal).not_before);
  EXPECT_EQ(got.status_lists.size(), 2u);
  EXPECT_TRUE(got.status_lists.at(testsupport::kSamrUscc).get(12345));
  EXPECT_EQ(got.status_lists.at(testsupport::kSamrUscc).count_set(), 1u);
  EXPECT_EQ(got.seals_with_kid(libcert::cose_kid(k().seal2)).size(), 1u);
  EXPECT_EQ(got.file_sha256(), libcert::cose::hex(libcert::cose::sha256(file)));
  // Deterministic content: signing again changes only the (randomised) ECDSA signature.
  const auto again = libcert::cose::parse_sign1(b.sign(k().bundle, k().bundle_sign));
  EXPECT_EQ(again.payload, libcert::cose::parse_sign1(file).payload);
}

TEST_F(TrustBundle, RefusesBundleSignedByAKeyNotCertifiedByThePinnedRoot) {
  const auto b = k().bundle_v(1, t0());
  // rogue.crt has the bundle-signer role but chains to other-root: not pinned, and even when a
  // careless configuration pins it, not issued by the pinned root.
  const auto r = refusal(b.sign(k().rogue, k().rogue_sign), k().root);
  EXPECT_EQ(r.first, ErrorCode::kCrypto);
  EXPECT_NE(r.second.find("not pinned"), std::string::npos) << r.second;
  libcert::BundlePins p = k().pins();
  p.signer_spki_sha256.push_back(libcert::spki_sha256(k().rogue));
  try {
    (void)libcert::TrustBundle::parse(b.sign(k().rogue, k().rogue_sign), p);
    ADD_FAILURE() << "accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("not issued by the pinned root"), std::string::npos);
  }
  // The bundle key's signature presented with a seal certificate in x5chain: the seal's key is
  // not pinned.
  const auto r2 = refusal(b.sign(k().seal, k().bundle_sign), k().root);
  EXPECT_EQ(r2.first, ErrorCode::kCrypto);
  EXPECT_NE(r2.second.find("not pinned"), std::string::npos) << r2.second;
}

// issue 16 "What was seen" 5: a seal key (issued by the root) signs a forged bundle that lists an
// attacker's key. Refused by the pin; and refused by the role even if the seal key were pinned.
TEST_F(TrustBundle, SealKeyCannotSignABundle) {
  auto b = k().bundle_v(2, t0());
  b.seals.push_back(libcert::SealEntry::from_certificate("water", "1154250001990101XK", k().unknown,
                                                         libcert::SealState::kActive));
  const std::string forged = b.sign(k().seal, k().seal_sign);
  const auto r = refusal(forged, k().root);
  EXPECT_EQ(r.first, ErrorCode::kCrypto);
  EXPECT_NE(r.second.find("not pinned"), std::string::npos) << r.second;
  libcert::BundlePins p = k().pins();
  p.signer_spki_sha256.push_back(libcert::spki_sha256(k().seal));  // a configuration mistake
  try {
    (void)libcert::TrustBundle::parse(forged, p);
    ADD_FAILURE() << "accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("not a bundle signer"), std::string::npos) << e.what();
  }
}

// A rogue bundle with version 2^64-1 signed by a seal key is refused before the version guard
// sees it, so genuine bundles are still accepted afterwards (no denial of service by "rollback").
TEST_F(TrustBundle, RogueMaxVersionBySealKeyDoesNotBlockGenuineBundles) {
  libcert::BundleVersionGuard guard;
  guard.accept(k().published(k().bundle_v(5, t0())));
  const std::string rogue = k().bundle_v(UINT64_MAX, t0()).sign(k().seal, k().seal_sign);
  const auto r = refusal(rogue, k().root);
  EXPECT_EQ(r.first, ErrorCode::kCrypto);
  EXPECT_NE(r.second.find("not pinned"), std::string::npos) << r.second;
  EXPECT_EQ(guard.highest(), 5u);
  const auto next = k().published(k().bundle_v(6, t0() + 60));
  EXPECT_NO_THROW(guard.accept(next));
  EXPECT_EQ(guard.highest(), 6u);
}

// Rollover (docs/qr.md): verifiers pin the set {current, next}; the order does not matter and an
// unused pin does no harm. No pin at all is a configuration error, not "accept anything".
TEST_F(TrustBundle, PinsAreASetAndNeverEmpty) {
  const std::string file = k().bundle_v(1, t0()).sign(k().bundle, k().bundle_sign);
  libcert::BundlePins p{k().root,
                        {libcert::spki_sha256(k().rogue), libcert::spki_sha256(k().bundle)}};
  EXPECT_EQ(libcert::TrustBundle::parse(file, p).version, 1u);
  p.signer_spki_sha256.clear();
  try {
    (void)libcert::TrustBundle::parse(file, p);
    ADD_FAILURE() << "accepted without pins";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  const auto pins = libcert::read_pins("# comment\n\n" + libcert::spki_sha256(k().bundle) +
                                       "  bundle.crt\n" + libcert::spki_sha256(k().rogue) + "\n");
  ASSERT_EQ(pins.size(), 2u);
  EXPECT_EQ(pins[0], libcert::spki_sha256(k().bundle));
  EXPECT_THROW((void)libcert::read_pins("xyz\n"), libcert::Error);
  EXPECT_THROW((void)libcert::read_pins("# only a comment\n"), libcert::Error);
}

TEST_F(TrustBundle, RefusesARootOtherThanThePinnedOne) {
  auto b = k().bundle_v(1, t0());
  b.root_der = libcert::cose::cert_pem_to_der(testsupport::qr_data("other-root.crt"));
  const auto r = refusal(b.sign(k().bundle, k().bundle_sign), k().root);
  EXPECT_EQ(r.first, ErrorCode::kCrypto);
  EXPECT_NE(r.second.find("its root is not the pinned root"), std::string::npos);
}

TEST_F(TrustBundle, AnyChangedByteIsRefused) {
  const std::string file = k().bundle_v(1, t0()).sign(k().bundle, k().bundle_sign);
  // Every 7th byte (the file is ~3 KB of certificates + status list); each change must be refused.
  int refused = 0, total = 0;
  for (std::size_t i = 0; i < file.size(); i += 7) {
    std::string f = file;
    f[i] = static_cast<char>(f[i] ^ 0x20);
    ++total;
    if (refusal(f, k().root).second != "accepted") ++refused;
  }
  EXPECT_EQ(refused, total);
}

TEST_F(TrustBundle, SignRefusesRevokedSealWithoutCompromiseTime) {
  auto b = k().bundle_v(1, t0());
  b.seals[0].state = libcert::SealState::kRevoked;
  try {
    (void)b.sign(k().bundle, k().bundle_sign);
    ADD_FAILURE();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("needs compromised_at"), std::string::npos);
  }
}

}  // namespace

// keys-example: root -> issuing CA -> bundle signer. The bundle's x5chain carries
// [bundle certificate, issuing CA]; the verifier checks the CA's role and both signatures
// (docs/crl.md, docs/qr.md "who may sign it").
namespace {

std::string example_file(const std::string& rel) {
  std::ifstream in(std::string(LIBCERT_SOURCE_DIR) + "/keys-example/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string example_refusal(const std::string& chain_der) {
  libcert::TrustBundle b;
  b.version = 1;
  b.issued_at = 1767225600;  // 2026-01-01, inside the bundle certificate's validity
  b.root_der = libcert::certificate_der_from_pem(example_file("root/root.crt"));
  const std::string file =
      b.sign(chain_der, libcert::digest_signer_from_pem(example_file("bundle/bundle.key")));
  const libcert::BundlePins pins{b.root_der, libcert::read_pins(example_file("bundle/pins.txt"))};
  try {
    (void)libcert::TrustBundle::parse(file, pins);
  } catch (const libcert::Error& e) {
    return std::string(libcert::to_string(e.code())) + ": " + e.what();
  }
  return "accepted";
}

TEST(TrustBundleChain, IssuingCaInX5ChainIsCheckedForItsRole) {
  const std::string chain = libcert::certificate_chain_der_from_pem(example_file("bundle/bundle.crt"));
  const std::string leaf = libcert::certificate_der_from_pem(example_file("bundle/bundle.crt"));
  const std::string ca = libcert::certificate_der_from_pem(example_file("ca/issuing-ca.crt"));
  ASSERT_EQ(chain, leaf + ca);
  EXPECT_EQ(example_refusal(chain), "accepted");
  // The signer alone: it is not issued by the root itself.
  EXPECT_NE(example_refusal(leaf).find("crypto: trust bundle: signing certificate (") ,
            std::string::npos);
  EXPECT_NE(example_refusal(leaf).find(") is not issued by the pinned root"), std::string::npos)
      << example_refusal(leaf);
  // A seal certificate in the CA's place is not an issuing CA.
  const std::string seal = libcert::certificate_der_from_pem(example_file("seals/samr/seal.crt"));
  EXPECT_NE(example_refusal(leaf + seal).find("is not an issuing CA: not CA:TRUE"),
            std::string::npos)
      << example_refusal(leaf + seal);
  // The root in the CA's place: CA:TRUE but not pathlen 0.
  const std::string root = libcert::certificate_der_from_pem(example_file("root/root.crt"));
  EXPECT_NE(example_refusal(leaf + root).find("is not an issuing CA: pathLenConstraint"),
            std::string::npos)
      << example_refusal(leaf + root);
}

}  // namespace
