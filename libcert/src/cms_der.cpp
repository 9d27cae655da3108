// cms_der.cpp — see cms_der.h.
#include "cms_der.h"

#include <cstddef>

namespace libcert::cms_der {

namespace {

// A strict DER reader (X.690 §8.1: definite lengths only, at most 4 length octets, single-byte
// tags): the fast path of document_certificates. Anything it does not read exactly — BER,
// a structure other than the one expected — makes the caller fall back to OpenSSL's decoder.
struct Der {
  std::string_view rest;
  // The next TLV: its tag, content and whole encoding; false if none or malformed.
  bool next(unsigned char& tag, std::string_view& content, std::string_view* whole = nullptr) {
    if (rest.size() < 2) return false;
    tag = static_cast<unsigned char>(rest[0]);
    if ((tag & 0x1f) == 0x1f) return false;
    std::size_t len = static_cast<unsigned char>(rest[1]);
    std::size_t hdr = 2;
    if (len & 0x80) {
      const std::size_t k = len & 0x7f;
      if (k == 0 || k > 4 || rest.size() < 2 + k) return false;
      len = 0;
      for (std::size_t i = 0; i < k; ++i)
        len = (len << 8) | static_cast<unsigned char>(rest[2 + i]);
      // X.690 §10.1: the definite form in the fewest octets (no leading zero octet, and the
      // long form only for lengths above 127).
      if (rest[2] == '\0' || len < 0x80) return false;
      hdr += k;
    }
    if (rest.size() - hdr < len) return false;
    content = rest.substr(hdr, len);
    if (whole != nullptr) *whole = rest.substr(0, hdr + len);
    rest.remove_prefix(hdr + len);
    return true;
  }
  bool expect(unsigned char want, std::string_view& content) {
    unsigned char t = 0;
    return next(t, content) && t == want;
  }
};

constexpr std::string_view kOidSignedDataDer = "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02";
constexpr std::string_view kOidTstAttrDer = "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x02\x0e";

}  // namespace

bool read_signed_data(std::string_view der, std::vector<std::string_view>& certs,
                      std::vector<std::string_view>* tokens) {
  Der top{der};
  std::string_view ci, v, sd, c;
  // A seal's /Contents is zero-padded after the CMS (the reserved placeholder, ISO 32000-2
  // §12.8.1); nothing else may follow it.
  if (!top.expect(0x30, ci) || top.rest.find_first_not_of('\0') != std::string_view::npos)
    return false;
  Der d{ci};
  if (!d.expect(0x06, v) || v != kOidSignedDataDer || !d.expect(0xA0, sd) || !d.rest.empty())
    return false;
  Der e{sd};
  if (!e.expect(0x30, sd) || !e.rest.empty()) return false;
  Der s{sd};
  if (!s.expect(0x02, v) || !s.expect(0x31, v) || !s.expect(0x30, v)) return false;
  unsigned char tag = 0;
  if (!s.next(tag, c)) return false;
  if (tag == 0xA0) {
    Der cs{c};
    std::string_view whole;
    while (!cs.rest.empty()) {
      if (!cs.next(tag, v, &whole)) return false;
      if (tag == 0x30) certs.push_back(whole);  // other CertificateChoices are not X.509
    }
    if (!s.next(tag, c)) return false;
  }
  if (tag == 0xA1 && !s.next(tag, c)) return false;
  if (tag != 0x31 || !s.rest.empty()) return false;
  if (tokens == nullptr) return true;
  Der sis{c};
  while (!sis.rest.empty()) {
    std::string_view si;
    if (!sis.expect(0x30, si)) return false;
    Der f{si};
    std::string_view last;
    // version, sid, digestAlgorithm, [signedAttrs], signatureAlgorithm, signature, [unsigned]
    while (!f.rest.empty()) {
      if (!f.next(tag, last)) return false;
    }
    if (tag != 0xA1) continue;
    Der attrs{last};
    while (!attrs.rest.empty()) {
      std::string_view a, oid, vals;
      if (!attrs.expect(0x30, a)) return false;
      Der at{a};
      if (!at.expect(0x06, oid) || !at.expect(0x31, vals) || !at.rest.empty()) return false;
      if (oid != kOidTstAttrDer) continue;
      Der vs{vals};
      std::string_view tok, whole;
      while (!vs.rest.empty()) {
        if (!vs.next(tag, tok, &whole)) return false;
        if (tag == 0x30) tokens->push_back(whole);
      }
    }
  }
  return true;
}

}  // namespace libcert::cms_der
