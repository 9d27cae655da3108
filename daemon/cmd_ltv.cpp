// certctl ltv extend — archive renewal of sealed PDFs (PAdES B-LTA, ETSI EN 319 142-1 §5.4;
// docs/signing.md "Levels"): for each file, fresh validation data (a /DSS update with the
// certificates its signatures carry, the given chain certificates and CRLs) and a new document
// time-stamp, as two incremental updates that keep every earlier byte.
//
//   certctl ltv extend --crl ca.crl [--cert ca.crt ...] licence.pdf [more.pdf ...]
//   certctl ltv extend --batch DIR --crl ca.crl              # every *.pdf under DIR, progress
//   certctl ltv extend --store REGISTRY --crl ca.crl         # every licence of a registry
//
// A file is extended in place (atomically) or, for one FILE, written to -o OUT. A file whose
// existing seals do not verify (verify_pdf at the current time: VALID, or with no --bundle only
// the key state unchecked) is refused and left unchanged: an archive renewal must not certify
// a broken or forged licence for decades. The time-stamps come from the configured TSA key
// (--tsa-key/--tsa-cert, default <keys>/tsa/tsa.key and tsa.crt; --tsa-chain for its CA).
//
// With --store, every licence of the registry (SQLite file or PostgreSQL URI, beside a running
// certd) is renewed: its latest PDF rendition is extended and stored as the next version
// (Store::add_rendition, reason "ltv-extend", one audit row with the new hash), which GET
// /v1/licences/{id}/pdf then serves; the older versions stay stored and recognised by
// /v1/verify. Progress on stderr, a licence at a time, so a long run over 142,202 licences can be
// watched and, if stopped, run again (each licence simply gains one more version).
// It lives beside certd's registry code (daemon/, linked into certctl with certd_core).
//
// Exit codes (docs/verdicts.md): 0 every file extended; 1 a file was refused (its verdict is
// printed); 2 usage; 3/4/5 as every command (a single FILE's error; in --batch a file that
// cannot be read or written is reported and counted as refused).
#include <filesystem>
#include <iostream>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/crl.h"
#include "libcert/error.h"
#include "libcert/ltv.h"
#include "libcert/trust_bundle.h"
#include "libcert/tsa.h"
#include "libcert/verify.h"
#include "registry_error.h"
#include "store.h"

namespace {

namespace fs = std::filesystem;

// Values of a repeatable option (Options keeps the last one only).
std::vector<std::string> take_all(certctl::Args& args, std::string_view name) {
  std::vector<std::string> out;
  certctl::Args rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      if (i + 1 >= args.size())
        throw certctl::UsageError("option " + std::string(name) + " needs a value");
      out.push_back(args[++i]);
    } else {
      rest.push_back(args[i]);
    }
  }
  args = std::move(rest);
  return out;
}

// A certificate or CRL file, PEM or DER, as DER. CRLs go through libcert::Crl::parse, which
// also refuses a malformed one naming the field (a DSS must not carry junk for decades).
std::string der_of_pem_or_der(const std::string& bytes, bool crl) {
  if (crl) return libcert::Crl::parse(bytes).der();
  if (bytes.find("-----BEGIN CERTIFICATE-----") == std::string::npos) return bytes;  // DER
  return libcert::certificate_der_from_pem(bytes);
}

int run_ltv(const certctl::Args& raw) {
  certctl::Args args = raw;
  if (args.empty() || args.front() != "extend")
    throw certctl::UsageError("expected the subcommand 'extend'");
  args.erase(args.begin());
  const std::vector<std::string> trust_paths = take_all(args, "--trust");
  const std::vector<std::string> crl_paths = take_all(args, "--crl");
  const std::vector<std::string> cert_paths = take_all(args, "--cert");
  const std::vector<std::string> tsa_chain = take_all(args, "--tsa-chain");
  const certctl::Options o(args,
                           {"--keys", "--bundle", "--bundle-pins", "--root", "--batch", "-o",
                            "--tsa-key", "--tsa-cert", "--store"},
                           {});
  std::vector<std::string> files = o.positional();
  if (auto dir = o.get("--batch")) {
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(*dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".pdf") files.push_back(e.path().string());
    if (ec) throw libcert::Error(libcert::ErrorCode::kIo, *dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
  }
  const std::optional<std::string> store_path = o.get("--store");
  if (store_path && (!files.empty() || o.get("-o")))
    throw certctl::UsageError("--store REGISTRY takes no FILE.pdf, --batch or -o");
  if (files.empty() && !store_path)
    throw certctl::UsageError("expected FILE.pdf ..., --batch DIR or --store REGISTRY");
  if (o.get("-o") && files.size() != 1)
    throw certctl::UsageError("-o OUT needs exactly one FILE.pdf");

  const std::string keys = certctl::keys_dir(o);
  certctl::warn_if_example_keys(keys);
  libcert::TrustStore trust;
  if (trust_paths.empty()) {
    trust.add_path(keys + "/root/root.crt");
  } else {
    for (const auto& p : trust_paths) trust.add_path(p);
  }
  std::optional<libcert::BundleSealKeys> bundle;
  if (auto b = o.get("--bundle"))
    bundle.emplace(libcert::TrustBundle::parse(certctl::read_file(*b), certctl::bundle_pins(o)));

  libcert::ValidationData extra;
  for (const auto& p : cert_paths)
    extra.certs_der.push_back(der_of_pem_or_der(certctl::read_file(p), false));
  for (const auto& p : crl_paths)
    extra.crls_der.push_back(der_of_pem_or_der(certctl::read_file(p), true));

  libcert::SystemClock clock;
  libcert::SystemRng rng;
  // certctl's own TSA: one process, so an in-memory "last token time" (certd keeps it in its
  // registry, shared by its instances).
  libcert::MemoryTsaClockState state;
  const libcert::TimeStampAuthority tsa = libcert::TimeStampAuthority::from_files(
      o.get("--tsa-key").value_or(keys + "/tsa/tsa.key"),
      o.get("--tsa-cert").value_or(keys + "/tsa/tsa.crt"), tsa_chain,
      libcert::TsaOptions{&clock, &rng, &state, {}, 1});
  extra.certs_der.push_back(tsa.certificate());
  for (const auto& c : tsa.chain()) extra.certs_der.push_back(c);

  // One PDF: nullopt and `why` when its seals do not verify (it must not be certified for
  // decades), else the PDF with a /DSS update and a document time-stamp after every earlier byte.
  auto extend = [&](const std::string& pdf, std::string& why) -> std::optional<std::string> {
    libcert::VerifyOptions vo;
    vo.clock = &clock;
    if (bundle) vo.keys = &*bundle;
    const libcert::VerificationReport r = libcert::verify_pdf(pdf, trust, vo);
    bool ok = r.result == libcert::Verdict::kValid;
    if (!ok && !bundle && r.result == libcert::Verdict::kIndeterminate) {
      // Without trust data only the key state may be open; anything else refuses.
      ok = true;
      for (const auto& c : r.failed_checks())
        ok = ok && c.size() > 10 && c.compare(c.size() - 10, 10, ":key-state") == 0;
    }
    if (!ok) {
      why = std::string(libcert::to_string(r.result)) +
            (r.reasons.empty() ? std::string() : " (" + r.reasons.front() + ")");
      return std::nullopt;
    }
    libcert::ValidationData vd = libcert::document_certificates(pdf);
    for (const auto& c : extra.certs_der)
      if (std::find(vd.certs_der.begin(), vd.certs_der.end(), c) == vd.certs_der.end())
        vd.certs_der.push_back(c);
    vd.crls_der = extra.crls_der;
    return libcert::add_document_timestamp(libcert::add_dss(pdf, vd), tsa);
  };

  if (store_path) try {
    auto store = certd::open_store(*store_path);
    // Every licence id first (keyset pages, newest first), then one at a time.
    std::vector<std::string> ids;
    certd::ListQuery q;
    q.limit = 500;
    for (;;) {
      const certd::ListPage page = store->list_licences(q);
      for (const auto& l : page.items) ids.push_back(l.id);
      if (!page.next_before) break;
      q.before_audit_index = page.next_before;
    }
    int refused = 0;
    std::size_t n = 0;
    for (const auto& id : ids) {
      ++n;
      const auto cur = store->latest_rendition(id, certd::kFormatPdf, true);
      if (!cur) continue;
      std::string why;
      const auto out = extend(cur->bytes, why);
      if (!out) {
        ++refused;
        std::cerr << "[" << n << "/" << ids.size() << "] " << id << ": refused: " << why << "\n";
        continue;
      }
      const auto v = store->add_rendition(id, certd::kFormatPdf, *out, "ltv-extend",
                                          clock.now(), {"certctl", ""});
      std::cerr << "[" << n << "/" << ids.size() << "] " << id << ": pdf version "
                << (v ? v->version : 0) << " (" << cur->size << " -> " << out->size()
                << " bytes)\n";
    }
    std::cerr << "ltv extend: " << (ids.size() - static_cast<std::size_t>(refused)) << " of "
              << ids.size() << " licence(s) extended, " << refused << " refused\n";
    return refused == 0 ? 0 : 1;
  } catch (const certd::RegistryError& e) {
    // The registry is the environment: exit 4 (kIo), as every certctl command over a registry.
    throw libcert::Error(libcert::ErrorCode::kIo, std::string("registry: ") + e.what());
  }

  const bool batch = o.get("--batch").has_value();
  int refused = 0;
  std::size_t n = 0;
  for (const auto& f : files) {
    ++n;
    auto progress = [&](const std::string& what) {
      std::cerr << "[" << n << "/" << files.size() << "] " << f << ": " << what << "\n";
    };
    try {
      const std::string pdf = certctl::read_file(f);
      std::string why;
      const auto out = extend(pdf, why);
      if (!out) {
        ++refused;
        progress("refused: " + why);
        continue;
      }
      certctl::write_file_atomic(o.get("-o").value_or(f), *out);
      progress("extended (" + std::to_string(pdf.size()) + " -> " + std::to_string(out->size()) +
               " bytes)");
    } catch (const libcert::Error& e) {
      if (!batch) throw;
      ++refused;
      progress(std::string("error: ") + e.what());
    }
  }
  if (files.size() > 1) {
    std::cerr << "ltv extend: " << (files.size() - static_cast<std::size_t>(refused)) << " of "
              << files.size() << " file(s) extended, " << refused << " refused\n";
  }
  return refused == 0 ? 0 : 1;
}

const certctl::Command kLtv{
    "ltv",
    "add fresh validation data (DSS) and a document time-stamp to sealed PDFs (B-LTA renewal)",
    "certctl ltv extend [--crl CRL ...] [--cert CERT ...] [--trust ROOT ...] [--bundle FILE] "
    "[--tsa-key K --tsa-cert C [--tsa-chain CA ...]] [--keys DIR] (FILE.pdf ... [-o OUT] | "
    "--batch DIR | --store REGISTRY)",
    run_ltv};

}  // namespace
