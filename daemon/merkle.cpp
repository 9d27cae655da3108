#include "merkle.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "libcert/error.h"
#include "ossl.h"  // libcert/src: RAII aliases for OpenSSL objects
#include "store.h"

namespace certd::merkle {

namespace {

using libcert::Error;
using libcert::ErrorCode;

// The largest power of two strictly smaller than n (n >= 2): RFC 6962 §2.1's split point.
std::uint64_t split(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

void path(const std::vector<std::string>& l, std::uint64_t m, std::uint64_t begin,
          std::uint64_t end, std::vector<std::string>& out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) return;
  const std::uint64_t k = split(n);
  if (m < k) {
    path(l, m, begin, begin + k, out);
    out.push_back(root(l, begin + k, end));
  } else {
    path(l, m - k, begin + k, end, out);
    out.push_back(root(l, begin, begin + k));
  }
}

void subproof(const std::vector<std::string>& l, std::uint64_t m, std::uint64_t begin,
              std::uint64_t end, bool whole, std::vector<std::string>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(root(l, begin, end));
    return;
  }
  const std::uint64_t k = split(n);
  if (m <= k) {
    subproof(l, m, begin, begin + k, whole, out);
    out.push_back(root(l, begin + k, end));
  } else {
    subproof(l, m - k, begin + k, end, false, out);
    out.push_back(root(l, begin, begin + k));
  }
}

}  // namespace

std::string leaf_hash(std::string_view data) {
  std::string in(1, '\0');
  in.append(data);
  return sha256_raw(in);
}

std::string node_hash(std::string_view left, std::string_view right) {
  std::string in(1, '\1');
  in.append(left);
  in.append(right);
  return sha256_raw(in);
}

std::string empty_root() { return sha256_raw(""); }

std::string root(const std::vector<std::string>& l, std::size_t begin, std::size_t end) {
  if (begin > end || end > l.size()) {
    throw Error(ErrorCode::kInvalidArgument, "merkle: range [" + std::to_string(begin) + ", " +
                                                 std::to_string(end) + ") outside " +
                                                 std::to_string(l.size()) + " leaves");
  }
  const std::size_t n = end - begin;
  if (n == 0) return empty_root();
  if (n == 1) return l[begin];
  const std::size_t k = static_cast<std::size_t>(split(n));
  return node_hash(root(l, begin, begin + k), root(l, begin + k, end));
}

std::vector<std::string> inclusion_proof(const std::vector<std::string>& l, std::uint64_t index,
                                         std::uint64_t size) {
  if (size > l.size() || index >= size) {
    throw Error(ErrorCode::kInvalidArgument, "merkle: index " + std::to_string(index) +
                                                 " is not inside a tree of size " +
                                                 std::to_string(size));
  }
  std::vector<std::string> out;
  path(l, index, 0, size, out);
  return out;
}

std::vector<std::string> consistency_proof(const std::vector<std::string>& l, std::uint64_t first,
                                           std::uint64_t second) {
  if (first == 0 || first > second || second > l.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "merkle: consistency needs 0 < first <= second <= " + std::to_string(l.size()) +
                    " (got " + std::to_string(first) + ", " + std::to_string(second) + ")");
  }
  std::vector<std::string> out;
  subproof(l, first, 0, second, true, out);
  return out;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf,
                      const std::vector<std::string>& proof, std::string_view root_hash) {
  // RFC 9162 §2.1.3.2.
  if (index >= size || leaf.size() != 32 || root_hash.size() != 32) return false;
  std::uint64_t fn = index, sn = size - 1;
  std::string r(leaf);
  for (const std::string& p : proof) {
    if (p.size() != 32 || sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root_hash;
}

bool verify_consistency(std::uint64_t first, std::uint64_t second, std::string_view first_root,
                        std::string_view second_root, const std::vector<std::string>& proof) {
  // RFC 9162 §2.1.4.2, with the trivial cases of a size-0 or same-size first tree.
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty();
  if (proof.empty()) return false;
  std::vector<std::string> c = proof;
  if ((first & (first - 1)) == 0) c.insert(c.begin(), std::string(first_root));
  std::uint64_t fn = first - 1, sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  if (c[0].size() != 32) return false;
  std::string fr = c[0], sr = c[0];
  for (std::size_t i = 1; i < c.size(); ++i) {
    if (c[i].size() != 32 || sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c[i], fr);
      sr = node_hash(c[i], sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == first_root && sr == second_root;
}

}  // namespace certd::merkle

namespace certd {

namespace {

using libcert::Error;
using libcert::ErrorCode;

// The project's RAII aliases for OpenSSL objects (libcert/src/ossl.h).
using Pkey = libcert::ossl::PKey;

Pkey read_key(std::string_view pem, bool priv) {
  libcert::ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw Error(ErrorCode::kCrypto, "audit key: out of memory");
  Pkey k(priv ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
              : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!k || EVP_PKEY_get_id(k.get()) != EVP_PKEY_ED25519) {
    throw Error(ErrorCode::kCrypto, std::string("audit key: not an Ed25519 ") +
                                        (priv ? "private key (PKCS#8 PEM)" : "public key (PEM)"));
  }
  return k;
}

std::string raw_public(EVP_PKEY* k) {
  unsigned char buf[32];
  std::size_t n = sizeof buf;
  if (EVP_PKEY_get_raw_public_key(k, buf, &n) != 1 || n != 32) {
    throw Error(ErrorCode::kCrypto, "audit key: cannot read the Ed25519 public key");
  }
  return std::string(reinterpret_cast<const char*>(buf), n);
}

// C2SP signed-note key id: SHA-256(name ‖ "\n" ‖ 0x01 (Ed25519) ‖ public key)[0..4).
std::string key_id(const std::string& name, const std::string& pub) {
  std::string in = name + "\n";
  in.push_back('\1');
  in += pub;
  return sha256_raw(in).substr(0, 4);
}

const std::string kDash = "\xE2\x80\x94";  // U+2014 EM DASH, which starts a signature line

}  // namespace

std::string base64_encode(std::string_view raw) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto b = [&](std::size_t j) { return static_cast<unsigned>(static_cast<unsigned char>(raw[j])); };
  for (; i + 2 < raw.size(); i += 3) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += kAlpha[v & 63];
  }
  if (raw.size() - i == 1) {
    const unsigned v = b(i) << 16;
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += "==";
  } else if (raw.size() - i == 2) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text, std::string_view what) {
  auto bad = [&]() {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": not canonical base64");
  };
  if (text.size() % 4 != 0) throw bad();
  auto val = [&](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else {
        if (pad != 0) throw bad();
        v[j] = val(c);
        if (v[j] < 0) throw bad();
      }
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xFF));
  }
  if (base64_encode(out) != text) throw bad();  // non-zero padding bits
  return out;
}

std::string checkpoint_text(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + base64_encode(c.root) + "\n";
}

std::string sign_checkpoint(const Checkpoint& c, std::string_view key_pem) {
  if (c.origin.empty() || c.origin.find('\n') != std::string::npos ||
      c.origin.find(' ') != std::string::npos || c.root.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument,
                "checkpoint: origin must be one non-empty word and root 32 bytes");
  }
  Pkey k = read_key(key_pem, true);
  const std::string text = checkpoint_text(c);
  libcert::ossl::MdCtx ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  std::size_t n = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &n, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size()) != 1) {
    throw Error(ErrorCode::kCrypto, "checkpoint: Ed25519 signing failed");
  }
  const std::string blob =
      key_id(c.origin, raw_public(k.get())) + std::string(reinterpret_cast<char*>(sig), n);
  return text + "\n" + kDash + " " + c.origin + " " + base64_encode(blob) + "\n";
}

std::string sign_checkpoint(const Checkpoint& c, const NoteSigner& signer) {
  if (c.origin.empty() || c.origin.find('\n') != std::string::npos ||
      c.origin.find(' ') != std::string::npos || c.root.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument,
                "checkpoint: origin must be one non-empty word and root 32 bytes");
  }
  const std::string text = checkpoint_text(c);
  const std::string pub = signer.public_raw();
  const std::string sig = signer.sign(text);
  if (pub.size() != 32 || sig.size() != 64) {
    throw Error(ErrorCode::kCrypto, "checkpoint: the signer is not Ed25519");
  }
  const std::string blob = key_id(c.origin, pub) + sig;
  return text + "\n" + kDash + " " + c.origin + " " + base64_encode(blob) + "\n";
}

Checkpoint open_checkpoint(std::string_view note, std::string_view pub_pem) {
  auto bad = [](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "checkpoint: " + why);
  };
  const auto sep = note.find("\n\n");
  if (sep == std::string_view::npos) throw bad("no empty line before the signatures");
  const std::string text(note.substr(0, sep + 1));
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < text.size();) {
    const auto j = text.find('\n', i);
    lines.emplace_back(text.substr(i, j - i));
    i = j + 1;
  }
  if (lines.size() < 3) throw bad("expected origin, size and root lines");
  Checkpoint c;
  c.origin = lines[0];
  if (c.origin.empty()) throw bad("line 1 (origin) is empty");
  const std::string& sz = lines[1];
  if (sz.empty() || sz.size() > 19 || (sz.size() > 1 && sz[0] == '0')) {
    throw bad("line 2 (tree size) is not a decimal integer");
  }
  for (char ch : sz) {
    if (ch < '0' || ch > '9') throw bad("line 2 (tree size) is not a decimal integer");
    c.size = c.size * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  c.root = base64_decode(lines[2], "checkpoint line 3 (root hash)");
  if (c.root.size() != 32) throw bad("line 3 (root hash) is not 32 bytes");

  Pkey k = read_key(pub_pem, false);
  const std::string pub = raw_public(k.get());
  const std::string want_id = key_id(c.origin, pub);
  const std::string_view sigs = note.substr(sep + 2);
  const std::string prefix = kDash + " " + c.origin + " ";
  bool any = false;
  for (std::size_t i = 0; i < sigs.size();) {
    auto j = sigs.find('\n', i);
    if (j == std::string_view::npos) throw bad("signature line without a final newline");
    const std::string_view line = sigs.substr(i, j - i);
    i = j + 1;
    if (line.substr(0, prefix.size()) != prefix) continue;  // another witness's signature
    const std::string blob = base64_decode(line.substr(prefix.size()), "checkpoint signature");
    if (blob.size() != 4 + 64 || blob.substr(0, 4) != want_id) continue;
    any = true;
    libcert::ossl::MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(blob.data() + 4), 64,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
      throw Error(ErrorCode::kCrypto, "checkpoint: the signature of " + c.origin +
                                          " does not verify with the given audit public key");
    }
  }
  if (!any) {
    throw Error(ErrorCode::kCrypto,
                "checkpoint: no signature by the audit key named '" + c.origin + "'");
  }
  return c;
}

}  // namespace certd
