// bench/scale_registry.cpp — builds the registry of the scale benchmark (bench/scale.sh, issue
// 21 point 5) through certd's own registry code, and measures the trust bundle at scale.
//
//   scale_registry prepare SRC_TEMPLATES OUT_TEMPLATES DEPARTMENTS
//       A template directory whose departments.json holds DEPARTMENTS departments: the real ones
//       plus synthetic "scale-NNN" ones (valid GB 32100 USCCs, glossary entries), the templates
//       themselves symlinked. certd and certctl then know every department's USCC.
//   scale_registry fill DB TEMPLATES KEYS SEAL_KEY_DIR POOL_DIR LICENCES [VERSIONS] [REVOKED_PPM]
//       Opens (or creates) the SQLite registry DB with certd's migrations; gives every department
//       VERSIONS seal key versions (certd's SealKeys: P-256 key, certificate from the example CA;
//       the last one active, the others retired); then issues licences through certd's issuance
//       protocol (issue_licence: reserve → render → commit, audit row, random status index) until
//       the registry holds LICENCES, and revokes REVOKED_PPM per million of them
//       (Store::revoke_licence). The "render" step takes a real sealed PDF of the same template
//       from POOL_DIR (<template>.pdf + <template>.json from `certctl issue --json`) instead of
//       rendering each one (~5 ms of CPU each: 142,202 would take the shared machine most of an
//       hour), so each row carries a real licence's bytes; bench/scale.sh measures the bytes of
//       really issued licences separately (certd on the same registry). Departments are drawn
//       from a Zipf(1) distribution (a few departments issue most licences, as in a prefecture).
//   scale_registry bundle TEMPLATES KEYS DB LICENCES [REVOKED_PPM] [STATUS_BITS]
//       The trust bundle certd would publish (every seal version of DB, root, policy) with status
//       lists as they would be for LICENCES licences spread over the departments as above with
//       REVOKED_PPM revoked at random indexes; signs it with KEYS/bundle/bundle.key and prints
//       its size, the part of the seals and of the status lists, and checks that it parses.
//
// Bounded: every step prints its rate; nothing here waits on the network.
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "issuance_service.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ids.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "seal_keys.h"
#include "store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A valid USCC (GB 32100-2015) for synthetic department n: registration authority 1 (organs),
// type 1, the Ali prefecture's area code, a 9-character organisation code with its own GB 11714
// check, then the check character found by trying the 31 allowed ones against libcert's check.
std::string synthetic_uscc(int n) {
  static constexpr std::string_view kChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  char base8[16];
  std::snprintf(base8, sizeof base8, "7%07d", n % 10000000);
  std::string org;
  for (char c : std::string_view("0123456789ABCDEFGHJKLMNPQRTUWXY")) {
    const std::string candidate = std::string(base8) + c;
    if (!libcert::check_org_code(candidate)) {
      org = candidate;
      break;
    }
  }
  if (org.empty()) throw std::runtime_error("no organisation code check character");
  for (char c : kChars) {
    std::string u = "11542500" + org + c;
    if (!libcert::check_uscc(u)) return u;
  }
  throw std::runtime_error("no USCC check character for " + org);
}

int prepare(const fs::path& src, const fs::path& out, int departments) {
  fs::create_directories(out);
  json depts = json::parse(read_file(src / "departments.json"));
  json gloss = json::parse(read_file(src / "glossary.json"));
  const json proto = depts["departments"][0];
  const std::string proto_bo = gloss["entries"][proto["name_bo"].get<std::string>()]["bo"];
  for (int n = static_cast<int>(depts["departments"].size()) + 1; n <= departments; ++n) {
    char id[32];
    std::snprintf(id, sizeof id, "scale-%03d", n);
    json d = proto;
    d["id"] = id;
    d["name_zh"] = "阿里地区第" + std::to_string(n) + "号发证机关";
    d["name_bo"] = std::string("dept.") + id;
    d["uscc"] = synthetic_uscc(n);
    depts["departments"].push_back(d);
    gloss["entries"][std::string("dept.") + id] = {
        {"bo", proto_bo}, {"zh", d["name_zh"]}, {"level", "L"}, {"source", "scale benchmark"}};
  }
  write_file(out / "departments.json", depts.dump(2));
  write_file(out / "glossary.json", gloss.dump(2));
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_directory()) continue;
    const fs::path link = out / e.path().filename();
    if (!fs::exists(link)) fs::create_directory_symlink(fs::absolute(e.path()), link);
  }
  const auto set = libcert::TemplateSet::load(out);  // proves the directory loads
  std::cout << "templates: " << set.departments().size() << " departments\n";
  return 0;
}

// Zipf(1) over n departments: the cumulative weights, for inverse-transform sampling.
std::vector<double> zipf_cdf(std::size_t n) {
  std::vector<double> c(n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) c[i] = (sum += 1.0 / static_cast<double>(i + 1));
  for (auto& v : c) v /= sum;
  return c;
}

struct PoolItem {
  std::string template_id, type_code, pdf, pdf_sha256, qr_text, data_json, template_version;
};

int fill(const std::string& db, const fs::path& templates, const std::string& keys,
         const std::string& seal_key_dir, const fs::path& pool_dir, std::int64_t target,
         int versions, std::int64_t revoked_ppm) {
  const auto set = libcert::TemplateSet::load(templates);
  libcert::SystemClock clock;
  certd::StoreOptions so;
  auto store = certd::open_store(db, so);
  certd::SealKeyOptions ko;
  ko.keys_dir = keys;
  ko.seal_key_dir = seal_key_dir;
  certd::SealKeys seals(*store, set, ko);
  const certd::Actor actor{"scale-bench", ""};

  // Seal key versions: 1 (keys-example for the real departments) … `versions`, the last active.
  auto t0 = std::chrono::steady_clock::now();
  const std::int64_t now = clock.now();
  int made = seals.bootstrap(now, actor);
  for (const auto& d : set.departments()) {
    auto have = store->list_seal_keys(d.id);
    while (static_cast<int>(have.size()) < versions) {
      certd::CreateSealKey how;
      how.example_ca = true;
      auto c = seals.create(d.id, how, now, actor);
      store->activate_seal_key(d.id, c.version.version, now, actor);
      ++made;
      have = store->list_seal_keys(d.id);
    }
  }
  const auto all_versions = store->list_seal_keys(std::nullopt);
  std::cout << "seal key versions: " << all_versions.size() << " (" << made << " made in "
            << seconds_since(t0) << " s)\n";

  std::vector<PoolItem> pool;
  std::vector<const libcert::Template*> tmpl;
  for (const auto& e : fs::directory_iterator(pool_dir)) {
    if (e.path().extension() != ".json") continue;
    const json meta = json::parse(read_file(e.path()));
    PoolItem p;
    p.template_id = meta["template"];
    const auto t = set.get(p.template_id);
    p.type_code = t->type_code();
    p.template_version = std::to_string(t->version());
    p.pdf = read_file(fs::path(e.path()).replace_extension(".pdf"));
    p.pdf_sha256 = certd::sha256_hex(p.pdf);
    p.qr_text = meta["qr_text"];
    p.data_json = json::parse(read_file(templates / p.template_id / "sample.json")).dump();
    pool.push_back(std::move(p));
  }
  if (pool.empty()) throw std::runtime_error("no <template>.json in " + pool_dir.string());
  std::sort(pool.begin(), pool.end(),
            [](const PoolItem& a, const PoolItem& b) { return a.template_id < b.template_id; });

  std::map<std::string, certd::SealKeyVersion> active;
  for (const auto& v : all_versions)
    if (v.state == "active") active[v.department] = v;
  const auto& depts = set.departments();
  const auto cdf = zipf_cdf(depts.size());
  std::int64_t have = store->count_licences();
  std::mt19937_64 rnd(static_cast<std::uint64_t>(have) * 7919 + 1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::int64_t start = have;
  t0 = std::chrono::steady_clock::now();
  std::int64_t revoked = 0;
  while (have < target) {
    const std::size_t di = static_cast<std::size_t>(
        std::lower_bound(cdf.begin(), cdf.end(), u(rnd)) - cdf.begin());
    const auto& dept = depts[std::min(di, depts.size() - 1)];
    const PoolItem& p = pool[static_cast<std::size_t>(have) % pool.size()];
    const certd::SealKeyVersion& seal = active.at(dept.id);
    certd::IssueContext ctx;
    ctx.department = dept.id;
    ctx.template_id = p.template_id;
    ctx.type_code = p.type_code;
    ctx.issuer_code = dept.uscc;
    ctx.now = clock.now();
    ctx.actor = actor;
    const auto rec = certd::issue_licence(*store, ctx, [&](const certd::Allocation& a) {
      certd::Rendered r;
      r.id = libcert::LicenceId::make(p.type_code, dept.uscc, a.serial, 1).str();
      r.number = r.id;
      r.template_version = p.template_version;
      r.data_json = p.data_json;
      r.pdf = p.pdf;
      r.pdf_sha256 = p.pdf_sha256;
      r.qr_text = p.qr_text;
      r.seal_version = std::to_string(seal.version);
      r.seal_cert_sha256 = seal.cert_sha256;
      r.issued_at = ctx.now;
      return r;
    });
    ++have;
    if (revoked_ppm > 0 && static_cast<std::int64_t>(rnd() % 1000000) < revoked_ppm) {
      store->revoke_licence(rec.id, "scale benchmark", ctx.now, actor);
      ++revoked;
    }
    if ((have - start) % 20000 == 0) {
      std::cerr << "  " << have << " licences, " << static_cast<double>(have - start) / seconds_since(t0)
                << " /s\n";
    }
  }
  const double s = seconds_since(t0);
  std::cout << "licences: " << have << " (" << (have - start) << " added in " << s << " s, "
            << (s > 0 ? static_cast<double>(have - start) / s : 0.0) << " /s, " << revoked
            << " revoked)\n";
  return 0;
}

std::string deflate_size_probe(const std::string& data) {
  // zlib level 9 of the whole file: what a gzip Content-Encoding or a zipped USB copy carries.
  std::string out(data.size() + data.size() / 100 + 64, '\0');
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

int bundle(const fs::path& templates, const std::string& keys, const std::string& db,
           std::int64_t licences, std::int64_t revoked_ppm, std::uint32_t status_bits) {
  const auto set = libcert::TemplateSet::load(templates);
  libcert::SystemClock clock;
  auto store = certd::open_store(db, {});
  certd::SealKeyOptions ko;
  ko.keys_dir = keys;
  certd::SealKeys seals(*store, set, ko);
  const std::int64_t now = clock.now();
  libcert::TrustBundle b = *seals.bundle(now);

  // Status lists for `licences` licences: per department its Zipf share, each licence revoked
  // with probability revoked_ppm / 10^6 at a uniformly random index (as the registry draws them).
  const auto& depts = set.departments();
  const auto cdf = zipf_cdf(depts.size());
  std::mt19937_64 rnd(42);
  std::int64_t set_bits = 0, max_share = 0;
  for (std::size_t i = 0; i < depts.size(); ++i) {
    const double w = cdf[i] - (i == 0 ? 0.0 : cdf[i - 1]);
    const auto n = static_cast<std::int64_t>(std::llround(w * static_cast<double>(licences)));
    max_share = std::max(max_share, n);
    libcert::StatusList list(status_bits);
    std::binomial_distribution<std::int64_t> k_of(n, static_cast<double>(revoked_ppm) / 1e6);
    std::int64_t k = k_of(rnd);
    while (k > 0) {
      const auto idx = static_cast<std::uint32_t>(rnd() % status_bits);
      if (list.get(idx)) continue;
      list.set(idx, true);
      --k;
      ++set_bits;
    }
    b.status_lists.emplace(depts[i].uscc, std::move(list));
  }
  const std::string cert = libcert::certificate_der_from_pem(read_file(keys + "/bundle/bundle.crt"));
  const auto signer = libcert::digest_signer_from_pem(read_file(keys + "/bundle/bundle.key"));
  auto t0 = std::chrono::steady_clock::now();
  const std::string file = b.sign(cert, signer);
  const double sign_s = seconds_since(t0);

  std::size_t cert_bytes = 0, list_bytes = 0;
  for (const auto& s : b.seals) cert_bytes += s.certificate_der.size();
  for (const auto& [code, list] : b.status_lists) list_bytes += list.compressed().size();
  libcert::TrustBundle only_seals = b;
  only_seals.status_lists.clear();
  const std::string seals_file = only_seals.sign(cert, signer);

  libcert::BundlePins pins{b.root_der, libcert::read_pins(read_file(keys + "/bundle/pins.txt"))};
  t0 = std::chrono::steady_clock::now();
  const auto back = libcert::TrustBundle::parse(file, pins);
  const double parse_s = seconds_since(t0);
  if (back.seals.size() != b.seals.size() || back.status_lists.size() != b.status_lists.size())
    throw std::runtime_error("the bundle does not read back");

  const std::string gz = deflate_size_probe(file);
  const std::string gz_seals = deflate_size_probe(seals_file);
  std::cout << "bundle: " << b.seals.size() << " seal versions (" << cert_bytes
            << " B of certificates), " << b.status_lists.size() << " status lists of "
            << status_bits << " bits for " << licences << " licences (largest department "
            << max_share << "), " << set_bits << " revoked bits (" << list_bytes
            << " B as encoded in the bundle)\n";
  std::cout << "bundle file: " << file.size() << " B, gzip -9: " << gz.size()
            << " B; without status lists: " << seals_file.size() << " B, gzip -9: "
            << gz_seals.size() << " B; sign " << sign_s * 1000 << " ms, parse+verify "
            << parse_s * 1000 << " ms\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 4 && a[0] == "prepare") return prepare(a[1], a[2], std::stoi(a[3]));
    if (a.size() >= 7 && a[0] == "fill")
      return fill(a[1], a[2], a[3], a[4], a[5], std::stoll(a[6]), a.size() > 7 ? std::stoi(a[7]) : 3,
                  a.size() > 8 ? std::stoll(a[8]) : 10000);
    if (a.size() >= 5 && a[0] == "bundle")
      return bundle(a[1], a[2], a[3], std::stoll(a[4]), a.size() > 5 ? std::stoll(a[5]) : 10000,
                    a.size() > 6 ? static_cast<std::uint32_t>(std::stoul(a[6])) : (1u << 20));
    std::cerr << "usage: scale_registry prepare SRC_TEMPLATES OUT_TEMPLATES DEPARTMENTS\n"
                 "       scale_registry fill DB TEMPLATES KEYS SEAL_KEY_DIR POOL_DIR LICENCES "
                 "[VERSIONS] [REVOKED_PPM]\n"
                 "       scale_registry bundle TEMPLATES KEYS DB LICENCES [REVOKED_PPM] "
                 "[STATUS_BITS]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "scale_registry: " << e.what() << "\n";
    return 1;
  }
}
