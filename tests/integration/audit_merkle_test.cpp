// The audit log's Merkle tree and checkpoints (daemon/merkle.h).
//
// Test vectors: transparency-dev/merkle (Apache-2.0), the Go reference implementation of
// RFC 6962/9162 used by Certificate Transparency logs:
//   rfc6962/rfc6962_test.go  TestRFC6962Hasher (empty root, empty leaf, leaf "L123456",
//                            node ("N123", "N456"))
//   proof/verify_test.go     the 8 leaves, the roots of the trees of size 1..8, inclusionProofs
//                            and consistencyProofs (the same vectors as google/certificate-
//                            transparency's merkle_tree_test)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcert/error.h"
#include "merkle.h"
#include "support/process.h"

namespace {

namespace merkle = certd::merkle;

std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string hex(const std::string& raw) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (char c : raw) {
    out += k[static_cast<unsigned char>(c) >> 4];
    out += k[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

const std::vector<std::string> kLeafData = {"",
                                            unhex("00"),
                                            unhex("10"),
                                            unhex("2021"),
                                            unhex("3031"),
                                            unhex("40414243"),
                                            unhex("5051525354555657"),
                                            unhex("606162636465666768696a6b6c6d6e6f")};

const std::vector<std::string> kRoots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<std::string> leaf_hashes() {
  std::vector<std::string> out;
  for (const auto& d : kLeafData) out.push_back(merkle::leaf_hash(d));
  return out;
}

struct ProofVector {
  std::uint64_t a, b;  // inclusion: 1-based leaf, size; consistency: size1, size2
  std::vector<std::string> proof;
};

const std::vector<ProofVector> kInclusion = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {3, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {2,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

const std::vector<ProofVector> kConsistency = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<std::string> unhex_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& h : v) out.push_back(unhex(h));
  return out;
}

TEST(AuditMerkle, HasherMatchesRfc6962Vectors) {
  EXPECT_EQ(hex(merkle::empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(merkle::leaf_hash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(hex(merkle::leaf_hash("L123456")),
            "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  EXPECT_EQ(hex(merkle::node_hash("N123", "N456")),
            "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
}

TEST(AuditMerkle, RootsOfTreesOfSize1To8) {
  const auto l = leaf_hashes();
  for (std::size_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(hex(merkle::root(l, 0, n)), kRoots[n - 1]) << "size " << n;
  }
  EXPECT_EQ(hex(merkle::root(l, 0, 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(AuditMerkle, InclusionProofsAreTheKnownOnesAndVerify) {
  const auto l = leaf_hashes();
  for (const auto& v : kInclusion) {
    const auto want = unhex_all(v.proof);
    const auto got = merkle::inclusion_proof(l, v.a - 1, v.b);
    EXPECT_EQ(got, want) << "leaf " << v.a << " size " << v.b;
    const std::string root = unhex(kRoots[v.b - 1]);
    EXPECT_TRUE(merkle::verify_inclusion(v.a - 1, v.b, l[v.a - 1], want, root));
    // The corruptions of verify_test.go's corruptInclusionProof must all fail.
    if (v.a >= 2) {
      EXPECT_FALSE(merkle::verify_inclusion(v.a - 2, v.b, l[v.a - 1], want, root));
    }
    EXPECT_FALSE(merkle::verify_inclusion(v.a, v.b, l[v.a - 1], want, root));
    EXPECT_FALSE(merkle::verify_inclusion(v.a - 1, v.b * 2, l[v.a - 1], want, root));
    EXPECT_FALSE(
        merkle::verify_inclusion(v.a - 1, v.b, merkle::leaf_hash("WrongLeaf"), want, root));
    EXPECT_FALSE(merkle::verify_inclusion(v.a - 1, v.b, l[v.a - 1], want, merkle::empty_root()));
    auto longer = want;
    longer.push_back(root);
    EXPECT_FALSE(merkle::verify_inclusion(v.a - 1, v.b, l[v.a - 1], longer, root));
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto flipped = want;
      flipped[i][0] = static_cast<char>(flipped[i][0] ^ 8);
      EXPECT_FALSE(merkle::verify_inclusion(v.a - 1, v.b, l[v.a - 1], flipped, root));
    }
    if (!want.empty()) {
      auto shorter = want;
      shorter.pop_back();
      EXPECT_FALSE(merkle::verify_inclusion(v.a - 1, v.b, l[v.a - 1], shorter, root));
    }
  }
  // Every leaf of every tree up to 8: generated proofs verify.
  for (std::uint64_t n = 1; n <= 8; ++n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(merkle::verify_inclusion(i, n, l[i], merkle::inclusion_proof(l, i, n),
                                           merkle::root(l, 0, n)))
          << i << "/" << n;
    }
  }
}

TEST(AuditMerkle, ConsistencyProofsAreTheKnownOnesAndVerify) {
  const auto l = leaf_hashes();
  for (const auto& v : kConsistency) {
    const auto want = unhex_all(v.proof);
    EXPECT_EQ(merkle::consistency_proof(l, v.a, v.b), want) << v.a << " -> " << v.b;
    const std::string r1 = unhex(kRoots[v.a - 1]), r2 = unhex(kRoots[v.b - 1]);
    EXPECT_TRUE(merkle::verify_consistency(v.a, v.b, r1, r2, want));
    EXPECT_FALSE(merkle::verify_consistency(v.a, v.b, r2, r1, want));  // swapped roots
    EXPECT_FALSE(merkle::verify_consistency(v.a, v.b, r1, r2, {}));    // empty proof
    EXPECT_FALSE(merkle::verify_consistency(v.a - 1, v.b, r1, r2, want));
    EXPECT_FALSE(merkle::verify_consistency(v.a, v.b * 2, r1, r2, want));
    auto truncated = want;
    truncated.pop_back();
    EXPECT_FALSE(merkle::verify_consistency(v.a, v.b, r1, r2, truncated));
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto flipped = want;
      flipped[i][0] = static_cast<char>(flipped[i][0] ^ 16);
      EXPECT_FALSE(merkle::verify_consistency(v.a, v.b, r1, r2, flipped));
    }
  }
  EXPECT_TRUE(merkle::verify_consistency(1, 1, unhex(kRoots[0]), unhex(kRoots[0]), {}));
  for (std::uint64_t m = 1; m <= 8; ++m) {
    for (std::uint64_t n = m; n <= 8; ++n) {
      EXPECT_TRUE(merkle::verify_consistency(m, n, merkle::root(l, 0, m), merkle::root(l, 0, n),
                                             merkle::consistency_proof(l, m, n)))
          << m << " -> " << n;
    }
  }
  EXPECT_THROW((void)merkle::consistency_proof(l, 0, 3), libcert::Error);
  EXPECT_THROW((void)merkle::inclusion_proof(l, 8, 8), libcert::Error);
}

TEST(AuditCheckpoint, SignedNoteVerifiesWithOpenSslAndRejectsForgery) {
  const std::string keys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/audit/";
  const std::string key = testsupport::slurp(keys + "audit.key");
  const std::string pub = testsupport::slurp(keys + "audit.pub");
  const auto l = leaf_hashes();
  certd::Checkpoint c{"lic.ali.example/audit", 8, merkle::root(l)};
  const std::string note = certd::sign_checkpoint(c, key);
  const std::string text =
      "lic.ali.example/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
  ASSERT_EQ(note.substr(0, text.size() + 1), text + "\n");
  EXPECT_EQ(note.substr(text.size() + 1, 3 + 1 + c.origin.size() + 1),
            "\xE2\x80\x94 lic.ali.example/audit ");
  const certd::Checkpoint back = certd::open_checkpoint(note, pub);
  EXPECT_EQ(back.origin, c.origin);
  EXPECT_EQ(back.size, 8u);
  EXPECT_EQ(back.root, c.root);

  // The Ed25519 signature, checked by the openssl CLI over the checkpoint text.
  testsupport::TempDir dir;
  const auto sigline = note.substr(text.size() + 1);
  const auto b64 = sigline.substr(sigline.rfind(' ') + 1, sigline.size() - sigline.rfind(' ') - 2);
  const std::string blob = certd::base64_decode(b64, "sig");
  ASSERT_EQ(blob.size(), 68u);
  testsupport::spit(dir / "msg", text);
  testsupport::spit(dir / "sig", blob.substr(4));
  const auto r =
      testsupport::run("openssl pkeyutl -verify -rawin -pubin -inkey " + keys + "audit.pub -in " +
                       (dir / "msg").string() + " -sigfile " + (dir / "sig").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Signature Verified Successfully"), std::string::npos) << r.out;

  // A changed size or root no longer verifies; a note without our signature is refused.
  std::string forged = note;
  forged.replace(forged.find("\n8\n"), 3, "\n9\n");
  try {
    (void)certd::open_checkpoint(forged, pub);
    FAIL() << "forged checkpoint accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kCrypto);
    EXPECT_NE(std::string(e.what()).find("does not verify"), std::string::npos) << e.what();
  }
  try {
    (void)certd::open_checkpoint(text + "\n", pub);
    FAIL() << "unsigned checkpoint accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kCrypto);
  }
  EXPECT_THROW((void)certd::open_checkpoint("lic\nx\nAAAA\n\n", pub), libcert::Error);
}

}  // namespace
