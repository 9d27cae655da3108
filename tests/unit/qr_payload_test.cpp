// The signed QR payload: round trip, text forms, tamper detection byte by byte, key lookup,
// revocation, expiry, signing-time validity, rollback. Keys: tests/data/qr (openssl CLI).
#include "libcert/qr_payload.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "cbor.h"
#include "cose.h"
#include "libcert/error.h"
#include "libcert/trust_bundle.h"
#include "support/qr_fixture.h"

namespace {

using libcert::Verdict;
using testsupport::QrKeys;
using testsupport::realistic_claims;

class QrPayload : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { keys_ = new QrKeys(); }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }
  static const QrKeys& k() { return *keys_; }
  // A signing time inside the test certificates' validity.
  static std::int64_t t0() { return libcert::cose::cert_times(k().seal).not_before + 3600; }
  static std::string payload(const libcert::QrClaims& c) {
    return libcert::make_qr_payload(c, k().seal, k().seal_sign);
  }
  static inline QrKeys* keys_ = nullptr;
};

TEST_F(QrPayload, RoundTripIsValidWithEveryField) {
  const auto claims = realistic_claims(t0());
  const std::string text =
      libcert::make_qr_text(claims, k().seal, k().seal_sign, "LIC.ALI.EXAMPLE");
  ASSERT_EQ(text.rfind("HTTPS://LIC.ALI.EXAMPLE/V#", 0), 0u);
  const auto bundle = k().published(k().bundle_v(1, t0() + 10));
  const auto v = libcert::verify_qr(text, bundle, t0() + 86400);
  EXPECT_EQ(v.verdict, Verdict::kValid) << v.reason;
  ASSERT_TRUE(v.claims.has_value());
  EXPECT_EQ(*v.claims, claims);
  EXPECT_EQ(v.claims->licence.holder_name, "阿里地区噶尔县雪域高原牧业有限公司");
  EXPECT_TRUE(v.signature_ok);
  EXPECT_TRUE(v.status_checked);
  EXPECT_EQ(v.seal_department, "samr");
  EXPECT_EQ(v.kid_hex, libcert::cose::hex(libcert::cose_kid(k().seal)));
  EXPECT_EQ(v.bundle_version, 1u);
  EXPECT_EQ(v.bundle_age_seconds, 86400 - 10);
  EXPECT_EQ(libcert::to_string(v.verdict), "VALID");
  EXPECT_EQ(v.check, "");
}

TEST_F(QrPayload, RealisticPayloadIs180To300Bytes) {
  const std::string p = payload(realistic_claims(t0()));
  std::cout << "realistic payload: " << p.size() << " bytes, " << libcert::qr_digits(p).size()
            << " digits\n";
  EXPECT_GE(p.size(), 180u);
  EXPECT_LE(p.size(), 300u);
  // The COSE envelope as qr.md specifies it, read back by our strict decoder.
  const auto s = libcert::cose::parse_sign1(p);
  EXPECT_EQ(s.alg, -7);
  EXPECT_EQ(s.kid, libcert::cose_kid(k().seal));
  EXPECT_EQ(s.signature.size(), 64u);
  EXPECT_EQ(static_cast<unsigned char>(p[0]), 0xD2);  // tag 18
}

TEST_F(QrPayload, DigitBlocks) {
  EXPECT_EQ(libcert::qr_digits(std::string(7, '\xff')), "72057594037927935");
  EXPECT_EQ(libcert::qr_digits(std::string(7, '\0')), std::string(17, '0'));
  const std::size_t want[] = {0, 3, 5, 8, 10, 13, 15};
  for (std::size_t kb = 1; kb <= 6; ++kb) {
    const std::string bytes(7 + kb, '\xff');
    const std::string d = libcert::qr_digits(bytes);
    EXPECT_EQ(d.size(), 17 + want[kb]) << kb;
    EXPECT_EQ(libcert::qr_digits_decode(d), bytes);
  }
  EXPECT_EQ(libcert::qr_digits("\x01"), "001");
  EXPECT_EQ(libcert::qr_digits(std::string("\x01\x00", 2)), "00256");
  auto why = [](const std::string& d) {
    try {
      (void)libcert::qr_digits_decode(d);
    } catch (const libcert::Error& e) {
      EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(why("0000").find("final block of 4 digits"), std::string::npos);
  EXPECT_NE(why("256").find("exceeds the range of 1 bytes"), std::string::npos);
  EXPECT_NE(why("72057594037927936").find("exceeds the range of 7 bytes"), std::string::npos);
  EXPECT_NE(why("99999999999999999").find("exceeds the range"), std::string::npos);
  EXPECT_NE(why("00a").find("non-digit"), std::string::npos);
}

TEST_F(QrPayload, Base45Rfc9285Vectors) {
  EXPECT_EQ(libcert::base45_encode("AB"), "BB8");
  EXPECT_EQ(libcert::base45_encode("Hello!!"), "%69 VD92EX0");
  EXPECT_EQ(libcert::base45_encode("base-45"), "UJCLQE7W581");
  EXPECT_EQ(libcert::base45_decode("QED8WEX0"), "ietf!");
  EXPECT_THROW((void)libcert::base45_decode("GGW"), libcert::Error);  // 65536+: RFC 9285 §6
  EXPECT_THROW((void)libcert::base45_decode("A"), libcert::Error);
  EXPECT_THROW((void)libcert::base45_decode("aa"), libcert::Error);
}

TEST_F(QrPayload, SurvivesScannerQuirks) {
  const std::string p = payload(realistic_claims(t0()));
  const std::string url = libcert::qr_url(p, "LIC.ALI.EXAMPLE");
  std::string lower = url;
  for (std::size_t i = 0; i < url.find('#'); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[i])));
  ASSERT_EQ(lower.rfind("https://lic.ali.example/v#", 0), 0u);
  const auto bundle = k().published(k().bundle_v(1, t0()));
  for (const std::string& t : {url, "QR-Code:" + url, "QR-Code:" + url + "\n", url + " \r\n", lower,
                               "qr-code:" + lower + "\n", libcert::qr_app_text(p),
                               "QR-Code:" + libcert::qr_app_text(p) + "\n"}) {
    EXPECT_EQ(libcert::qr_payload_from_text(t), p) << t;
    EXPECT_EQ(libcert::verify_qr(t, bundle, t0()).verdict, Verdict::kValid) << t;
  }
}

TEST_F(QrPayload, RejectsMalformedTextWithReason) {
  const auto bundle = k().published(k().bundle_v(1, t0()));
  const std::string p = payload(realistic_claims(t0()));
  const std::string url = libcert::qr_url(p, "LIC.ALI.EXAMPLE");
  auto reason = [&](const std::string& t) {
    const auto v = libcert::verify_qr(t, bundle, t0());
    EXPECT_EQ(v.verdict, Verdict::kInvalid) << t.substr(0, 60);
    EXPECT_EQ(v.check, "structure") << t.substr(0, 60);
    EXPECT_FALSE(v.signature_ok);
    return v.reason;
  };
  EXPECT_NE(reason(url.substr(0, url.size() - 1)).find("final block"), std::string::npos);
  EXPECT_NE(reason(url + std::string(5000, '0')).find("exceeds 4096"), std::string::npos);
  EXPECT_NE(reason("HTTPS://LIC.ALI.EXAMPLE/X#" + libcert::qr_digits(p)).find("path is not /V"),
            std::string::npos);
  EXPECT_NE(reason("HTTPS://LIC.ALI.EXAMPLE/V").find("no '#'"), std::string::npos);
  EXPECT_NE(reason("hello").find("neither"), std::string::npos);
  // A digit block beyond 2^56: not a byte string at all.
  std::string big = url;
  big.replace(big.find('#') + 1, 17, "99999999999999999");
  EXPECT_NE(reason(big).find("exceeds the range of 7 bytes"), std::string::npos);
  // 2000 digit blocks = 2000*7 bytes: more than the payload limit.
  EXPECT_NE(reason("HTTPS://H/V#" + std::string(17 * 200, '0')).find("exceeds 1024"),
            std::string::npos);
}

// Every byte of the payload, changed two ways: never VALID. Bytes of the kid name another key
// (UNKNOWN-SIGNER, check "kid", since no certificate carries that kid); all others give INVALID
// with check "signature" or "structure".
TEST_F(QrPayload, FlippingAnyByteIsDetected) {
  const std::string p = payload(realistic_claims(t0()));
  const auto bundle = k().published(k().bundle_v(1, t0()));
  const std::string kid = libcert::cose_kid(k().seal);
  const std::size_t kid_at = p.find(kid);
  ASSERT_NE(kid_at, std::string::npos);
  std::map<std::string, int> tally;  // by check id
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (const int x : {0x01, 0xFF}) {
      std::string q = p;
      q[i] = static_cast<char>(static_cast<unsigned char>(q[i]) ^ static_cast<unsigned char>(x));
      const auto v = libcert::verify_qr(libcert::qr_url(q, "LIC.ALI.EXAMPLE"), bundle, t0());
      ++tally[v.check];
      if (i >= kid_at && i < kid_at + 8) {
        EXPECT_EQ(v.verdict, Verdict::kUnknownSigner) << "byte " << i;
        EXPECT_EQ(v.check, "kid") << "byte " << i;
      } else {
        EXPECT_EQ(v.verdict, Verdict::kInvalid) << "byte " << i;
        EXPECT_TRUE(v.check == "signature" || v.check == "structure")
            << "byte " << i << " ^ " << x << ": " << libcert::to_string(v.verdict) << " " << v.check
            << " " << v.reason;
      }
    }
  }
  std::cout << p.size() << " bytes x 2 flips: INVALID/signature " << tally["signature"]
            << ", INVALID/structure " << tally["structure"] << ", UNKNOWN-SIGNER/kid (kid bytes) "
            << tally["kid"] << "\n";
  EXPECT_EQ(tally[""], 0);  // VALID has no failing check
  EXPECT_EQ(tally["kid"], 16);
  EXPECT_GT(tally["signature"], 0);
  EXPECT_GT(tally["structure"], 0);
}

TEST_F(QrPayload, UnknownKey) {
  const std::string text = libcert::make_qr_text(realistic_claims(t0()), k().unknown,
                                                 k().unknown_sign, "LIC.ALI.EXAMPLE");
  const auto v = libcert::verify_qr(text, k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kUnknownSigner);
  EXPECT_EQ(v.check, "kid");
  EXPECT_NE(v.reason.find(libcert::cose::hex(libcert::cose_kid(k().unknown))), std::string::npos);
  EXPECT_FALSE(v.signature_ok);
}

TEST_F(QrPayload, WrongKeyWithSameKidIsSignatureInvalid) {
  // The kid names seal.crt but the signature is made with another key.
  const std::string text =
      libcert::make_qr_text(realistic_claims(t0()), k().seal, k().unknown_sign, "LIC.ALI.EXAMPLE");
  const auto v = libcert::verify_qr(text, k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "signature");
  EXPECT_NE(v.reason.find("does not verify"), std::string::npos);
}

TEST_F(QrPayload, RevokedBitInNewerBundleAndRollbackRefused) {
  const auto claims = realistic_claims(t0());
  const std::string text = libcert::make_qr_text(claims, k().seal, k().seal_sign, "H.EXAMPLE");
  const auto v1 = k().published(k().bundle_v(1, t0()));
  auto b2 = k().bundle_v(2, t0() + 100);
  b2.status_lists.at(testsupport::kSamrUscc).set(claims.licence.status_index, true);
  const auto v2 = k().published(b2);

  libcert::BundleVersionGuard guard;
  guard.accept(v1);
  EXPECT_EQ(libcert::verify_qr(text, v1, t0() + 200).verdict, Verdict::kValid);
  guard.accept(v2);
  const auto r = libcert::verify_qr(text, v2, t0() + 200);
  EXPECT_EQ(r.verdict, Verdict::kRevoked);
  EXPECT_EQ(r.check, "status");
  EXPECT_NE(r.reason.find("status bit 734211"), std::string::npos);
  EXPECT_TRUE(r.signature_ok);
  try {
    guard.accept(v1);
    ADD_FAILURE() << "rollback accepted";
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("version 1 is older than version 2"), std::string::npos);
  }
  EXPECT_EQ(guard.highest(), 2u);
  // A different file claiming the accepted version is refused too.
  auto b2b = k().bundle_v(2, t0() + 101);
  EXPECT_THROW(guard.accept(k().published(b2b)), libcert::Error);
  EXPECT_NO_THROW(guard.accept(v2));
}

TEST_F(QrPayload, Expired) {
  const auto claims = realistic_claims(t0());
  const std::string p = libcert::qr_url(payload(claims), "H");
  const auto b = k().published(k().bundle_v(1, t0()));
  EXPECT_EQ(libcert::verify_qr(p, b, *claims.expires_at - 1).verdict, Verdict::kValid);
  const auto v = libcert::verify_qr(p, b, *claims.expires_at);
  EXPECT_EQ(v.verdict, Verdict::kExpired);
  EXPECT_EQ(v.check, "expiry");
  EXPECT_TRUE(v.signature_ok);
  auto no_exp = claims;
  no_exp.expires_at.reset();
  EXPECT_EQ(libcert::verify_qr(libcert::qr_url(payload(no_exp), "H"), b, t0() + 1000000000).verdict,
            Verdict::kValid);
}

TEST_F(QrPayload, KeyCompromiseInvalidatesOnlyLaterSignatures) {
  const auto claims = realistic_claims(t0());
  const std::string text = libcert::qr_url(payload(claims), "H");
  auto verdict_with = [&](std::int64_t compromised_at) {
    auto b = k().bundle_v(3, t0() + 500);
    b.seals[0].state = libcert::SealState::kRevoked;
    b.seals[0].compromised_at = compromised_at;
    return libcert::verify_qr(text, k().published(b), t0() + 600);
  };
  EXPECT_EQ(verdict_with(t0() + 1).verdict, Verdict::kValid);  // signed before the compromise
  const auto at = verdict_with(t0());
  EXPECT_EQ(at.verdict, Verdict::kRevoked);
  EXPECT_EQ(at.check, "key-state");
  EXPECT_NE(at.reason.find("compromised at"), std::string::npos);
  EXPECT_EQ(verdict_with(t0() - 1).verdict, Verdict::kRevoked);
}

TEST_F(QrPayload, ValidityCheckedAtSigningTimeNotNow) {
  const auto b = k().published(k().bundle_v(1, t0()));
  const auto nb = libcert::cose::cert_times(k().seal).not_before;
  const auto na = libcert::cose::cert_times(k().seal).not_after;
  // Signed before the certificate existed, verified "now" inside its validity: refused.
  auto early = realistic_claims(nb - 86400);
  const auto v = libcert::verify_qr(libcert::qr_url(payload(early), "H"), b, nb + 10);
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "key-state");
  EXPECT_NE(v.reason.find("outside the seal certificate's validity"), std::string::npos);
  // Signed inside the validity, verified after the certificate expired: still valid.
  auto ok = realistic_claims(t0());
  ok.expires_at.reset();
  EXPECT_EQ(libcert::verify_qr(libcert::qr_url(payload(ok), "H"), b, na + 86400).verdict,
            Verdict::kValid);
  // Retired key: valid for what it signed before retirement, refused after.
  auto retired = k().bundle_v(2, t0());
  retired.seals[0].state = libcert::SealState::kRetired;
  retired.seals[0].usage_until = t0() + 10;
  const auto rb = k().published(retired);
  EXPECT_EQ(libcert::verify_qr(libcert::qr_url(payload(ok), "H"), rb, t0() + 100).verdict,
            Verdict::kValid);
  const auto late = libcert::verify_qr(libcert::qr_url(payload(realistic_claims(t0() + 10)), "H"),
                                       rb, t0() + 100);
  EXPECT_EQ(late.verdict, Verdict::kInvalid);
  EXPECT_EQ(late.check, "key-state");
  EXPECT_NE(late.reason.find("usage window"), std::string::npos);
}

TEST_F(QrPayload, IssuerMustBeTheSealsDepartment) {
  auto c = realistic_claims(t0());
  c.issuer = "115425000199003166";  // approval bureau, but signed with the SAMR seal
  const auto v = libcert::verify_qr(libcert::qr_url(payload(c), "H"),
                                    k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "issuer-binding");
  EXPECT_NE(v.reason.find("is not the seal's department"), std::string::npos);
}

TEST_F(QrPayload, OnlyEs256IsAllowed) {
  // A correctly signed envelope that claims ES384 (-35): refused by the allowlist.
  using libcert::cbor::Value;
  const auto good = libcert::cose::parse_sign1(payload(realistic_claims(t0())));
  const std::string prot = libcert::cbor::encode(Value::map(
      {{Value::integer(1), Value::integer(-35)}, {Value::integer(4), Value::bytes(good.kid)}}));
  const std::string tbs =
      libcert::cbor::encode(Value::array({Value::text("Signature1"), Value::bytes(prot),
                                          Value::bytes(""), Value::bytes(good.payload)}));
  const std::string digest = libcert::cose::sha256(tbs);
  const std::string raw = libcert::cose::der_to_raw(k().seal_sign(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(digest.data()), digest.size())));
  const std::string forged = libcert::cbor::encode(
      Value::tag(18, Value::array({Value::bytes(prot), Value::map({}), Value::bytes(good.payload),
                                   Value::bytes(raw)})));
  const auto v =
      libcert::verify_qr(libcert::qr_url(forged, "H"), k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "signature");
  EXPECT_NE(v.reason.find("ES256 only"), std::string::npos);
}

TEST_F(QrPayload, NonCanonicalCborIsMalformedEvenWhenSigned) {
  // iat written in 8 bytes instead of 4: a correct signature over non-deterministic CBOR.
  using libcert::cbor::encode;
  using libcert::cbor::Value;
  const auto c = realistic_claims(t0());
  const auto good = libcert::cose::parse_sign1(payload(c));
  const Value cwt = libcert::cbor::decode(good.payload);
  std::string bad = "\xa4";
  bad += encode(Value::integer(1)) + encode(*cwt.find(1));
  bad += encode(Value::integer(4)) + encode(*cwt.find(4));
  bad += encode(Value::integer(6)) + "\x1b";
  for (int i = 7; i >= 0; --i) bad.push_back(static_cast<char>((c.issued_at >> (8 * i)) & 0xFF));
  bad += encode(Value::integer(-65537)) + encode(*cwt.find(-65537));
  const std::string env = libcert::cose::sign1(bad, good.kid, Value::map({}), k().seal_sign);
  const auto v =
      libcert::verify_qr(libcert::qr_url(env, "H"), k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "structure");
  EXPECT_NE(v.reason.find("shortest form"), std::string::npos);
  // Unprotected headers are refused: nothing may ride along unauthenticated.
  const std::string env2 = libcert::cose::sign1(
      good.payload, good.kid, Value::map({{Value::integer(33), Value::bytes("x")}}), k().seal_sign);
  const auto v2 =
      libcert::verify_qr(libcert::qr_url(env2, "H"), k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v2.verdict, Verdict::kInvalid);
  EXPECT_EQ(v2.check, "structure");
  EXPECT_NE(v2.reason.find("unprotected header must be empty"), std::string::npos);
}

TEST_F(QrPayload, ClaimValidationNamesEveryField) {
  libcert::QrClaims c;
  try {
    (void)payload(c);
    ADD_FAILURE();
  } catch (const libcert::Error& e) {
    EXPECT_EQ(e.code(), libcert::ErrorCode::kValidation);
    std::vector<std::string> fields;
    for (const auto& pr : e.problems()) fields.push_back(pr.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"iss", "licence.identifier", "licence.type_code",
                                                "licence.holder_name", "licence.issue_date",
                                                "licence.area_code"}));
  }
  EXPECT_THROW((void)libcert::qr_url("x", "lic.example"), libcert::Error);  // lower-case host
}

}  // namespace

namespace {

TEST_F(QrPayload, TibetanNamesArePackedOneBytePerCharacter) {
  auto c = realistic_claims(t0());
  const std::string tib = "བཀྲ་ཤིས་རྡོ་རྗེ།";  // 16 characters, 48 bytes of UTF-8
  c.licence.holder_name = tib;
  const std::string p = payload(c);
  const auto s = libcert::cose::parse_sign1(p);
  const auto lic = *libcert::cbor::decode(s.payload).find(-65537);
  ASSERT_EQ(lic.find(3)->kind(), libcert::cbor::Value::Kind::kBytes);
  EXPECT_EQ(lic.find(3)->as_bytes().size(), 16u);
  const auto v =
      libcert::verify_qr(libcert::qr_url(p, "H"), k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kValid);
  EXPECT_EQ(v.claims->licence.holder_name, tib);
  // Mixed scripts stay UTF-8 text.
  c.licence.holder_name = tib + "（阿里）";
  const auto lic2 =
      *libcert::cbor::decode(libcert::cose::parse_sign1(payload(c)).payload).find(-65537);
  EXPECT_EQ(lic2.find(3)->kind(), libcert::cbor::Value::Kind::kText);
}

TEST_F(QrPayload, FitDropsDigestThenShortensNameOnlyWhenNeeded) {
  const auto c = realistic_claims(t0());
  EXPECT_EQ(libcert::fit_qr_claims(c, "LIC.ALI.EXAMPLE"), c);  // fits as is
  auto big = c;
  big.licence.holder_name = std::string(120, 'A');  // 120 ASCII characters
  const auto f = libcert::fit_qr_claims(big, "LIC.ALI.EXAMPLE");
  EXPECT_FALSE(f.licence.digest.has_value());
  ASSERT_TRUE(f.licence.holder_name_chars.has_value());
  EXPECT_EQ(*f.licence.holder_name_chars, 120u);
  EXPECT_LT(f.licence.holder_name.size(), 120u);
  const std::string text = libcert::make_qr_text(big, k().seal, k().seal_sign, "LIC.ALI.EXAMPLE");
  const auto v = libcert::verify_qr(text, k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kValid);
  EXPECT_EQ(v.claims->licence, f.licence);
  EXPECT_THROW((void)libcert::fit_qr_claims(c, std::string(400, 'H')), libcert::Error);
}

TEST_F(QrPayload, NonCanonicalIdentifierIsCarriedInFull) {
  auto c = realistic_claims(t0());
  c.licence.identifier = "1.2.156.3003.2.11100000000013338W032.115425000199003834.2025000123.001.J";
  const auto v = libcert::verify_qr(libcert::qr_url(payload(c), "H"),
                                    k().published(k().bundle_v(1, t0())), t0());
  EXPECT_EQ(v.verdict, Verdict::kValid);
  EXPECT_EQ(v.claims->licence.identifier, c.licence.identifier);
}

}  // namespace

// Issue 16: the QR verifier's strictness. Each case asserts the verdict and the failing check.
namespace {

// The same envelope with another signature (protected header and payload unchanged).
std::string with_signature(const libcert::cose::Sign1& s, const std::string& raw) {
  using libcert::cbor::Value;
  return libcert::cbor::encode(
      Value::tag(18, Value::array({Value::bytes(s.protected_bstr), Value::map({}),
                                   Value::bytes(s.payload), Value::bytes(raw)})));
}

// n - s for P-256 (the malleated twin of a signature), computed here independently of libcert.
std::string high_s_twin(std::string raw) {
  static const unsigned char n[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
                                      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84,
                                      0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
  int borrow = 0;
  for (std::size_t i = 32; i-- > 0;) {
    const int d = n[i] - static_cast<unsigned char>(raw[32 + i]) - borrow;
    borrow = d < 0;
    raw[32 + i] = static_cast<char>(d + (borrow ? 256 : 0));
  }
  return raw;
}

TEST_F(QrPayload, SignerEmitsOnlyLowS) {
  // ECDSA picks a random k, so without normalisation half the signatures would be high-S: 64
  // low-S ones in a row by chance has probability 2^-64.
  for (int i = 0; i < 64; ++i) {
    auto c = realistic_claims(t0() + i);
    const auto s = libcert::cose::parse_sign1(payload(c));
    EXPECT_TRUE(libcert::cose::is_low_s(s.signature)) << i;
  }
}

TEST_F(QrPayload, HighSTwinOfAGenuineSignatureIsInvalid) {
  const auto bundle = k().published(k().bundle_v(1, t0()));
  const auto genuine = libcert::cose::parse_sign1(payload(realistic_claims(t0())));
  ASSERT_TRUE(libcert::cose::is_low_s(genuine.signature));
  auto twin = genuine;
  twin.signature = high_s_twin(genuine.signature);
  ASSERT_NE(twin.signature, genuine.signature);
  // Valid mathematics: OpenSSL's ECDSA accepts (r, n-s) for the same key and message...
  ASSERT_TRUE(libcert::cose::verify_es256(twin, k().seal));
  ASSERT_FALSE(libcert::cose::is_low_s(twin.signature));
  // ...but the QR verifier refuses it.
  const auto v = libcert::verify_qr(
      libcert::qr_url(with_signature(genuine, twin.signature), "LIC.ALI.EXAMPLE"), bundle, t0());
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "signature");
  EXPECT_NE(v.reason.find("high-S"), std::string::npos) << v.reason;
  EXPECT_FALSE(v.signature_ok);
  // The genuine one still verifies.
  EXPECT_EQ(libcert::verify_qr(
                libcert::qr_url(with_signature(genuine, genuine.signature), "LIC.ALI.EXAMPLE"),
                bundle, t0())
                .verdict,
            Verdict::kValid);
}

TEST_F(QrPayload, FutureSigningTimeBeyondClockSkewIsInvalid) {
  auto b = k().bundle_v(1, t0());
  b.policy.clock_skew_s = 300;
  const auto bundle = k().published(b);
  EXPECT_EQ(bundle.policy.clock_skew_s, 300);
  const std::int64_t now = t0() + 86400;
  const auto at = [&](std::int64_t iat) {
    auto c = realistic_claims(iat);
    return libcert::verify_qr(libcert::qr_url(payload(c), "H"), bundle, now);
  };
  EXPECT_EQ(at(now).verdict, Verdict::kValid);
  EXPECT_EQ(at(now + 300).verdict, Verdict::kValid);  // inside the stated skew
  const auto v = at(now + 301);
  EXPECT_EQ(v.verdict, Verdict::kInvalid);
  EXPECT_EQ(v.check, "signing-time");
  EXPECT_NE(v.reason.find("301 s in the future"), std::string::npos) << v.reason;
  EXPECT_TRUE(v.signature_ok);  // authentic, but the claimed time cannot be true
  // A bundle with no skew at all.
  b.policy.clock_skew_s = 0;
  const auto strict = k().published(b);
  auto c = realistic_claims(now + 1);
  const auto v0 = libcert::verify_qr(libcert::qr_url(payload(c), "H"), strict, now);
  EXPECT_EQ(v0.verdict, Verdict::kInvalid);
  EXPECT_EQ(v0.check, "signing-time");
}

TEST_F(QrPayload, MissingStatusDataFailsClosed) {
  const auto claims = realistic_claims(t0());
  const std::string text = libcert::qr_url(payload(claims), "H");
  // No status list for the issuer at all.
  auto none = k().bundle_v(1, t0());
  none.status_lists.clear();
  const auto v = libcert::verify_qr(text, k().published(none), t0());
  EXPECT_EQ(v.verdict, Verdict::kIndeterminate);
  EXPECT_EQ(v.check, "status");
  EXPECT_NE(v.reason.find("no status list for issuer " + claims.issuer), std::string::npos);
  EXPECT_FALSE(v.status_checked);
  // A list that does not reach the licence's index (734211).
  auto small = k().bundle_v(1, t0());
  small.status_lists.at(testsupport::kSamrUscc) = libcert::StatusList(1000);
  const auto w = libcert::verify_qr(text, k().published(small), t0());
  EXPECT_EQ(w.verdict, Verdict::kIndeterminate);
  EXPECT_EQ(w.check, "status");
  EXPECT_NE(w.reason.find("outside the issuer's status list of 1000 bits"), std::string::npos);
  // INDETERMINATE outranks EXPIRED (docs/verdicts.md precedence).
  const auto late = libcert::verify_qr(text, k().published(none), *claims.expires_at + 1);
  EXPECT_EQ(late.verdict, Verdict::kIndeterminate);
}

TEST_F(QrPayload, UrlPrefixMustBeInTheBundlesPolicy) {
  const std::string p = payload(realistic_claims(t0()));
  const auto bundle = k().published(k().bundle_v(1, t0()));
  // Any other host: INVALID url-prefix.
  for (const std::string host : {"EVIL.EXAMPLE", "LIC.ALI.EXAMPLE.EVIL", "LIC.ALI.EXAMPLE:8443"}) {
    const auto v = libcert::verify_qr(libcert::qr_url(p, host), bundle, t0());
    EXPECT_EQ(v.verdict, Verdict::kInvalid) << host;
    EXPECT_EQ(v.check, "url-prefix") << host;
    EXPECT_NE(v.reason.find("HTTPS://" + host + "/V#"), std::string::npos) << v.reason;
  }
  const auto path =
      libcert::verify_qr("HTTPS://LIC.ALI.EXAMPLE/X/V#" + libcert::qr_digits(p), bundle, t0());
  EXPECT_EQ(path.verdict, Verdict::kInvalid);
  EXPECT_EQ(path.check, "structure");  // a '/' in the host part: not even the URL form
  // Listed hosts pass in any letter case (cameras lower-case scheme and host).
  EXPECT_EQ(
      libcert::verify_qr("https://h.example/v#" + libcert::qr_digits(p), bundle, t0()).verdict,
      Verdict::kValid);
  // A bundle that states no URL policy cannot judge a URL: INDETERMINATE; the app form (no URL)
  // still verifies.
  auto nopolicy = k().bundle_v(1, t0());
  nopolicy.policy.url_prefixes.clear();
  const auto np = k().published(nopolicy);
  const auto v = libcert::verify_qr(libcert::qr_url(p, "LIC.ALI.EXAMPLE"), np, t0());
  EXPECT_EQ(v.verdict, Verdict::kIndeterminate);
  EXPECT_EQ(v.check, "url-prefix");
  EXPECT_EQ(libcert::verify_qr(libcert::qr_app_text(p), np, t0()).verdict, Verdict::kValid);
}

TEST_F(QrPayload, BundlePolicyRoundTripsAndIsChecked) {
  auto b = k().bundle_v(7, t0());
  b.policy = libcert::BundlePolicy::for_host("LIC.ALI.EXAMPLE");
  b.policy.clock_skew_s = 120;
  const auto got = k().published(b);
  EXPECT_EQ(got.policy.url_prefixes, std::vector<std::string>{"HTTPS://LIC.ALI.EXAMPLE/V#"});
  EXPECT_EQ(got.policy.clock_skew_s, 120);
  EXPECT_EQ(libcert::qr_url_prefix("LIC.ALI.EXAMPLE"), "HTTPS://LIC.ALI.EXAMPLE/V#");
  // A writer cannot sign a policy verifiers could not compare exactly.
  for (const std::string bad : {"https://lic.ali.example/v#", "HTTPS://LIC.ALI.EXAMPLE/V",
                                "HTTP://LIC.ALI.EXAMPLE/V#", "HTTPS:///V#", "HTTPS://A B/V#"}) {
    auto x = k().bundle_v(7, t0());
    x.policy.url_prefixes = {bad};
    EXPECT_THROW((void)x.sign(k().bundle, k().bundle_sign), libcert::Error) << bad;
  }
  auto skew = k().bundle_v(7, t0());
  skew.policy.clock_skew_s = libcert::BundlePolicy::kMaxClockSkew + 1;
  EXPECT_THROW((void)skew.sign(k().bundle, k().bundle_sign), libcert::Error);
  EXPECT_THROW((void)libcert::BundlePolicy::for_host("lic.example"), libcert::Error);
}

}  // namespace
