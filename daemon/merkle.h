// daemon/merkle.h — the RFC 6962 Merkle tree of certd's audit log (service.md "Audit log"), and
// signed checkpoints in the C2SP tlog-checkpoint / signed-note format.
//
//   std::vector<std::string> leaves = ...;                   // 32-byte leaf hashes, index order
//   std::string root = certd::merkle::root(leaves);           // MTH(D[n])
//   auto path = certd::merkle::inclusion_proof(leaves, 3, leaves.size());
//   bool ok = certd::merkle::verify_inclusion(3, n, leaves[3], path, root);
//   auto cp = certd::merkle::consistency_proof(leaves, 4, n);
//   bool same = certd::merkle::verify_consistency(4, n, old_root, root, cp);
//
//   certd::Checkpoint c{"lic.ali.example/audit", n, root};
//   std::string note = certd::sign_checkpoint(c, ed25519_key_pem);      // text, see below
//   certd::Checkpoint back = certd::open_checkpoint(note, ed25519_pub_pem);  // throws if forged
//
// Hashes (RFC 6962 §2.1, RFC 9162 §2.1.1): leaf = SHA-256(0x00 ‖ d), node = SHA-256(0x01 ‖ L ‖ R),
// the tree of n leaves splits at k = the largest power of two smaller than n; the empty tree's hash
// is SHA-256(""). Proofs are ordered from the leaf upward (RFC 9162 §2.1.3.1, §2.1.4.1) and
// verified with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
//
// Checkpoint text (C2SP tlog-checkpoint): "<origin>\n<tree size>\n<base64 root>\n", signed as a
// C2SP signed note: the text, an empty line, then "— <key name> <base64(key id ‖ signature)>\n"
// where the key name is the origin, the signature is Ed25519 over the text and the key id is
// the first 4 bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ 32-byte public key).
//
// Failure: functions given an index or size out of range throw libcert::Error(kInvalidArgument);
// verify_* return false for any proof that does not verify (never throw for bad proofs).
// open_checkpoint throws libcert::Error(kCrypto) for a bad signature, (kInvalidArgument) for a
// malformed note, naming the line. Thread-safety: all functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace certd::merkle {

std::string leaf_hash(std::string_view data);  // SHA-256(0x00 ‖ data)
std::string node_hash(std::string_view left, std::string_view right);
std::string empty_root();  // SHA-256 of the empty string

// MTH over leaf hashes [begin, end) (hashes, not data: the audit log stores leaf hashes).
std::string root(const std::vector<std::string>& leaf_hashes, std::size_t begin, std::size_t end);
inline std::string root(const std::vector<std::string>& leaf_hashes) {
  return root(leaf_hashes, 0, leaf_hashes.size());
}

// PATH(index, D[size]) of RFC 6962 §2.1.1 over the first `size` leaf hashes.
std::vector<std::string> inclusion_proof(const std::vector<std::string>& leaf_hashes,
                                         std::uint64_t index, std::uint64_t size);
// PROOF(first, D[second]) of RFC 6962 §2.1.2. 0 < first <= second <= leaf_hashes.size().
std::vector<std::string> consistency_proof(const std::vector<std::string>& leaf_hashes,
                                           std::uint64_t first, std::uint64_t second);

bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf,
                      const std::vector<std::string>& proof, std::string_view root);
bool verify_consistency(std::uint64_t first, std::uint64_t second, std::string_view first_root,
                        std::string_view second_root, const std::vector<std::string>& proof);

}  // namespace certd::merkle

namespace certd {

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  std::string root;  // 32 raw bytes
};

// The unsigned checkpoint text (three lines).
std::string checkpoint_text(const Checkpoint& c);
// The signed note. `key_pem`: an Ed25519 private key (PKCS#8 PEM, keys-example/audit/audit.key).
std::string sign_checkpoint(const Checkpoint& c, std::string_view key_pem);
// The same with an Ed25519 key held elsewhere (a PKCS#11 token, CKM_EDDSA): `public_raw`
// returns the 32-byte public key, `sign` the RFC 8032 signature of the note text.
struct NoteSigner {
  std::function<std::string()> public_raw;
  std::function<std::string(std::string_view)> sign;
};
std::string sign_checkpoint(const Checkpoint& c, const NoteSigner& signer);
// Parses a signed note and checks the signature line of the key `pub_pem` (SPKI PEM) named after
// the origin. Throws libcert::Error as described at the top.
Checkpoint open_checkpoint(std::string_view note, std::string_view pub_pem);

std::string base64_encode(std::string_view raw);
// Strict: throws libcert::Error(kInvalidArgument) naming `what` for anything but canonical base64.
std::string base64_decode(std::string_view text, std::string_view what);

}  // namespace certd
