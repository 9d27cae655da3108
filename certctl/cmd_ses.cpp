// certctl ses make-seal — make a GB/T 38540-2020 v4 electronic seal (.esl, SES_Seal) for a
// department's SM2 seal certificate, signed by the seal maker (libcert/ses.h, docs/ofd.md).
//
//   certctl ses make-seal --department samr -o samr.esl
//       [--maker-key K --maker-cert C] [--seal-cert C] [--es-id ID] [--valid-from YYYY-MM-DD]
//       [--valid-to YYYY-MM-DD] [--keys DIR] [--templates DIR]
//
// Defaults: the maker <keys>/sm2/maker/maker.{key,crt}, the seal certificate
// <keys>/sm2/seals/<department>/seal.crt, the picture the department's seal image (PNG,
// its diameter in mm, 300 dpi), esID 5425 + the last 10 digits of the department's USCC check, validity
// the seal certificate's.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <iostream>
#include <string>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ofd.h"
#include "libcert/seal_image.h"
#include "libcert/ses.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

nlohmann::json load_json(const std::string& path) {
  try {
    return nlohmann::json::parse(certctl::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kTemplate, path + ": " + e.what());
  }
}

std::string pem_to_der(const std::string& pem, const std::string& path) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = b != nullptr ? PEM_read_bio_X509(b, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(b);
  if (x == nullptr) throw Error(ErrorCode::kCrypto, path + ": not a PEM certificate");
  unsigned char* out = nullptr;
  const int n = i2d_X509(x, &out);
  std::string der;
  if (n > 0) der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  // The validity is read by the caller from the DER again; keep X509 handling local.
  X509_free(x);
  if (der.empty()) throw Error(ErrorCode::kCrypto, path + ": cannot encode the certificate");
  return der;
}

std::int64_t cert_time(const std::string& der, bool not_after) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) throw Error(ErrorCode::kCrypto, "seal certificate: not DER");
  struct tm tm {};
  const int ok = ASN1_TIME_to_tm(not_after ? X509_get0_notAfter(x) : X509_get0_notBefore(x), &tm);
  X509_free(x);
  if (ok != 1) throw Error(ErrorCode::kCrypto, "seal certificate: unreadable validity");
  return static_cast<std::int64_t>(timegm(&tm));
}

std::int64_t parse_date(const std::string& s, const char* opt) {
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0')
    throw certctl::UsageError(std::string(opt) + " must be YYYY-MM-DD, got " + s);
  return static_cast<std::int64_t>(timegm(&tm));
}

int make_seal(const certctl::Args& args) {
  const certctl::Options o(args,
                           {"--department", "-o", "--maker-key", "--maker-cert", "--seal-cert",
                            "--es-id", "--valid-from", "--valid-to", "--keys", "--templates",
                            "--created"},
                           {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional().front());
  const std::string id = o.require("--department");
  const std::string out = o.require("-o");
  const std::string keys = certctl::keys_dir(o);
  const std::string maker_key = o.get("--maker-key").value_or(keys + "/sm2/maker/maker.key");
  const std::string maker_cert = o.get("--maker-cert").value_or(keys + "/sm2/maker/maker.crt");
  const std::string seal_cert_path =
      o.get("--seal-cert").value_or(keys + "/sm2/seals/" + id + "/seal.crt");
  const libcert::Sm2PemSigner maker(maker_key, maker_cert);
  const std::string seal_cert = pem_to_der(certctl::read_file(seal_cert_path), seal_cert_path);

  const std::string dir = certctl::templates_dir(o);
  const auto depts = load_json(dir + "/departments.json");
  const nlohmann::json* dept = nullptr;
  if (depts.contains("departments") && depts["departments"].is_array())
    for (const auto& d : depts["departments"])
      if (d.is_object() && d.value("id", "") == id) dept = &d;
  if (dept == nullptr)
    throw Error(ErrorCode::kNotFound, dir + "/departments.json: no department '" + id + "'");
  const auto glossary = load_json(dir + "/glossary.json");

  libcert::SealSpec img;
  libcert::SesSealSpec spec;
  try {
    img.name_zh = dept->at("name_zh").get<std::string>();
    const std::string bo_key = dept->at("name_bo").get<std::string>();
    img.name_bo = glossary.at("entries").at(bo_key).at("bo").get<std::string>();
    const auto& seal = dept->at("seal");
    img.diameter_mm = seal.value("diameter_mm", img.diameter_mm);
    img.function_zh = seal.value("function_zh", std::string());
    if (seal.contains("function_bo"))
      img.function_bo =
          glossary.at("entries").at(seal.at("function_bo").get<std::string>()).at("bo");
    const std::string uscc = dept->at("uscc").get<std::string>();
    spec.es_id = o.get("--es-id").value_or("5425" + uscc.substr(uscc.size() - 10));
    spec.name = img.name_zh + img.function_zh;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kTemplate, "department '" + id + "': " + e.what());
  }
  const int mm = static_cast<int>(img.diameter_mm + 0.5);
  spec.picture = {"PNG", libcert::seal_png(img, 300), mm, mm};
  spec.signer_certs = {seal_cert};
  spec.valid_start = o.get("--valid-from") ? parse_date(*o.get("--valid-from"), "--valid-from")
                                           : cert_time(seal_cert, false);
  spec.valid_end = o.get("--valid-to") ? parse_date(*o.get("--valid-to"), "--valid-to") + 86399
                                       : cert_time(seal_cert, true);
  // The creation date is an input (deterministic files): default the start of validity.
  spec.create_date =
      o.get("--created") ? parse_date(*o.get("--created"), "--created") : spec.valid_start;
  const std::string esl = libcert::make_ses_seal(spec, maker);
  certctl::write_file_atomic(out, esl);
  std::cout << out << ": SES_Seal v4, esID " << spec.es_id << ", " << spec.name << ", picture "
            << mm << "x" << mm << " mm, " << esl.size() << " bytes\n";
  return 0;
}

// certctl ses seal-ofd: seal an OFD package with a department's SM2 key and its .esl.
int seal_ofd(const certctl::Args& args) {
  const certctl::Options o(args,
                           {"--department", "--seal", "-o", "--key", "--cert", "--page", "--x",
                            "--y", "--time", "--keys"},
                           {});
  if (o.positional().size() != 1) throw certctl::UsageError("expected exactly one IN.ofd");
  const std::string id = o.require("--department");
  const std::string keys = certctl::keys_dir(o);
  const libcert::Sm2PemSigner signer(o.get("--key").value_or(keys + "/sm2/seals/" + id + "/seal.key"),
                                     o.get("--cert").value_or(keys + "/sm2/seals/" + id + "/seal.crt"));
  auto num = [&](const char* opt, double def) {
    const auto v = o.get(opt);
    if (!v) return def;
    std::size_t used = 0;
    double d = 0;
    try {
      d = std::stod(*v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v->size()) throw certctl::UsageError(std::string(opt) + " must be a number");
    return d;
  };
  libcert::OfdSealOptions opt;
  // --time (Unix seconds) makes the output deterministic apart from the SM2 signature values.
  const libcert::FixedClock fixed(static_cast<std::int64_t>(num("--time", 0)));
  const libcert::SystemClock system;
  opt.clock = o.get("--time") ? static_cast<const libcert::Clock*>(&fixed) : &system;
  opt.page = static_cast<std::size_t>(num("--page", 0));
  opt.x_mm = num("--x", 140);
  opt.y_mm = num("--y", 215);
  const std::string out = o.require("-o");
  const std::string sealed = libcert::seal_ofd(certctl::read_file(o.positional().front()), signer,
                                               certctl::read_file(o.require("--seal")), opt);
  certctl::write_file_atomic(out, sealed);
  std::cout << out << ": sealed by " << id << ", " << sealed.size() << " bytes\n";
  return 0;
}

int run_ses(const certctl::Args& args) {
  if (args.empty()) throw certctl::UsageError("expected a subcommand: make-seal, seal-ofd");
  const certctl::Args rest(args.begin() + 1, args.end());
  if (args.front() == "make-seal") return make_seal(rest);
  if (args.front() == "seal-ofd") return seal_ofd(rest);
  throw certctl::UsageError("unknown ses subcommand " + args.front());
}

const certctl::Command kSes{
    "ses", "GB/T 38540 electronic seals (SM2): make a .esl seal file, seal an OFD",
    "certctl ses make-seal --department ID -o OUT.esl [--maker-key K --maker-cert C] "
    "[--seal-cert C] [--es-id ID] [--valid-from D] [--valid-to D] [--created D] [--keys DIR] "
    "[--templates DIR]\n"
    "       certctl ses seal-ofd --department ID --seal SEAL.esl -o OUT.ofd [--key K --cert C] "
    "[--page N] [--x MM --y MM] [--time UNIX] [--keys DIR] IN.ofd",
    run_ses};

}  // namespace
