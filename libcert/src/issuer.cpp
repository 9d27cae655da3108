#include "libcert/issuer.h"

#include <openssl/evp.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <filesystem>
#include <utility>

#include "libcert/error.h"
#include "libcert/ofd_writer.h"
#include "libcert/qr_payload.h"
#include "libcert/render.h"
#include "pdf_writer.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "ossl.h"

namespace libcert {

SealKeyring::SealKeyring() = default;
SealKeyring::~SealKeyring() = default;
SealKeyring::SealKeyring(SealKeyring&&) noexcept = default;
SealKeyring& SealKeyring::operator=(SealKeyring&&) noexcept = default;

SealKeyring SealKeyring::load_dir(const std::string& keys_dir) {
  namespace fs = std::filesystem;
  const fs::path seals = fs::path(keys_dir) / "seals";
  std::error_code ec;
  if (!fs::is_directory(seals, ec)) {
    throw Error(ErrorCode::kIo, seals.string() + ": not a directory of seal keys");
  }
  SealKeyring ring;
  for (const auto& entry : fs::directory_iterator(seals)) {
    const fs::path key = entry.path() / "seal.key";
    const fs::path crt = entry.path() / "seal.crt";
    if (!fs::is_regular_file(key, ec) || !fs::is_regular_file(crt, ec)) continue;
    // seal.crt is a full chain (seal certificate + issuing CA): the CMS carries both, never the
    // root, which is the verifier's trust anchor (RFC 5652 §5.1; trust.md "Roles").
    ring.add(entry.path().filename().string(),
             std::make_shared<PemFileSigner>(key.string(), crt.string()));
  }
  if (ring.signers_.empty()) {
    throw Error(ErrorCode::kNotFound, seals.string() + ": no <department>/seal.key + seal.crt");
  }
  return ring;
}

void SealKeyring::add(const std::string& department, std::shared_ptr<const Signer> signer) {
  signers_[department] = std::move(signer);
}

const Signer& SealKeyring::get(const std::string& department) const {
  auto it = signers_.find(department);
  if (it == signers_.end()) {
    throw Error(ErrorCode::kNotFound, "department " + department + " has no seal key");
  }
  return *it->second;
}

bool SealKeyring::has(const std::string& department) const {
  return signers_.find(department) != signers_.end();
}

namespace {

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ossl::check(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) == 1,
              "SHA-256");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2U * len);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4U];
    out += kHex[md[i] & 0xFU];
  }
  return out;
}

std::string iso_date(std::int32_t yyyymmdd) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", yyyymmdd / 10000, yyyymmdd / 100 % 100,
                yyyymmdd % 100);
  return buf;
}

// Seconds since the epoch of 24:00 China time (UTC+8) at the end of an ISO YYYY-MM-DD date.
std::int64_t end_of_china_day(const std::string& iso) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3) {
    throw Error(ErrorCode::kInternal, "valid_until is not an ISO date: " + iso);
  }
  y -= m <= 2 ? 1 : 0;  // days_from_civil (H. Hinnant)
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return (days + 1) * 86400 - 8 * 3600;
}

// One Renderer per process: it caches font coverage and is safe to share between threads.
const Renderer& shared_renderer() {
  static const Renderer renderer;
  return renderer;
}

}  // namespace

Issuer::Issuer(const TemplateSet& templates, const SealKeyring& seals, IssuerOptions options)
    : templates_(templates), seals_(seals), options_(std::move(options)) {
  if (options_.clock == nullptr) throw Error(ErrorCode::kInvalidArgument, "IssuerOptions.clock");
}

IssuedLicence Issuer::issue(const IssueRequest& request) const {
  const auto tmpl = templates_.get(request.template_id);
  (void)seals_.get(tmpl->department().id);  // fail before any work if there is no seal key
  IssueRequest r = request;
  r.issued_at = request.issued_at.value_or(options_.clock->now());
  return issue(r, tmpl->validate(request.data, FixedClock(*r.issued_at)));
}

IssuedLicence Issuer::issue(const IssueRequest& request, const LicenceData& data) const {
  const auto tmpl = templates_.get(request.template_id);
  if (data.template_id != tmpl->id()) {
    throw Error(ErrorCode::kInvalidArgument, "Issuer::issue: holder data validated for template '" +
                                                 data.template_id + "', not '" + tmpl->id() + "'");
  }
  const Department& dept = tmpl->department();
  const Signer& signer = seals_.get(dept.id);  // fail before any work if there is no seal key
  if (!request.pdf && !request.ofd) {
    throw Error(ErrorCode::kInvalidArgument, "Issuer::issue: no rendition requested");
  }
  if (request.ofd && options_.ofd_seals == nullptr) {
    throw Error(ErrorCode::kNotFound, "OFD requested but the issuer has no OFD (SM2) seals");
  }
  const OfdSeal* ofd_seal = request.ofd ? &options_.ofd_seals->get(dept.id) : nullptr;

  const std::int64_t issued_at = request.issued_at.value_or(options_.clock->now());
  const FixedClock at(issued_at);

  IssuedLicence out;
  out.id = LicenceId::make(tmpl->type_code(), dept.uscc, request.serial, request.version);
  out.identifier = out.id.str();
  out.template_id = tmpl->id();
  out.department = dept.id;
  out.issued_at = issued_at;
  for (const auto& [k, v] : data.values) out.data[k] = v;
  const std::string issue_date = iso_date(china_date(issued_at));  // dated in China time

  // The signed offline QR (qr.md): the licence's key data in a COSE_Sign1 made with the same
  // seal key as the PDF signature, so an inspector verifies it without network.
  const IssueContext ctx{out.identifier, issue_date, request.version};
  const nlohmann::json meta = tmpl->metadata(data, ctx);
  QrClaims claims;
  claims.issuer = dept.uscc;
  claims.issued_at = issued_at;
  if (auto until = meta.value("valid_until", std::string()); !until.empty()) {
    // Valid through the last day, 24:00 China time.
    claims.expires_at = end_of_china_day(until);
  }
  claims.licence.identifier = out.identifier;
  claims.licence.type_code = tmpl->type_code();
  claims.licence.holder_name = data.value(tmpl->holder_field());
  // Licences whose holder has no code of its own (a newborn, a married couple) carry the
  // licence number instead, so the inspector still has a number to compare with the paper.
  claims.licence.holder_code = tmpl->holder_code_field().empty()
                                   ? data.value(tmpl->number_field())
                                   : data.value(tmpl->holder_code_field());
  claims.licence.title = tmpl->title().zh;
  claims.licence.issue_date = static_cast<std::uint32_t>(china_date(issued_at));
  claims.licence.area_code = static_cast<std::uint32_t>(std::stoul(dept.area_code));
  claims.licence.status_index = request.status_index;
  out.qr_text = make_qr_text(
      claims, signer.certificate(),
      [&signer](std::span<const std::uint8_t> digest) { return signer.sign(digest); },
      options_.qr_host);

  RenderInput in;
  in.identifier = out.identifier;
  in.issue_date = issue_date;
  in.qr_text = out.qr_text;
  in.created_at = issued_at;
  in.version = request.version;
  if (ofd_seal != nullptr) {
    // The OFD rendition (issue 22): the same face as the PDF's, from the same layout, sealed at
    // the issue time with the department's GB/T 38540 seal.
    const OfdDocumentInfo info{meta, issued_at, "libcert"};
    out.ofd = write_sealed_ofd(shared_renderer().layout(*tmpl, data, in), info, *ofd_seal, at);
    out.ofd_sha256 = sha256_hex(out.ofd);
  }
  if (!request.pdf) return out;
  const RenderResult rendered = options_.pdf_writer == IssuerOptions::PdfWriter::kLibcert
                                    ? pdfw::render(shared_renderer(), *tmpl, data, in)
                                    : shared_renderer().render(*tmpl, data, in);

  SealOptions so;
  so.clock = &at;  // /M = the issue time, the same instant as the face and the metadata
  so.kind = SealKind::kCertification;
  so.docmdp_p = 1;  // one seal: no change allowed after sealing (signing.md)
  so.page = static_cast<std::size_t>(rendered.seal.page);
  so.rect = {rendered.seal.x, rendered.seal.y, rendered.seal.w, rendered.seal.h};
  so.reason = "电子证照签章";
  so.name = dept.name.zh;
  so.location = "阿里地区";
  so.timestamper = options_.timestamper;
  const PadesLevel level = options_.level.value_or(
      options_.timestamper != nullptr ? PadesLevel::b_t : PadesLevel::b_b);
  out.pdf = seal_to_level(rendered.pdf, signer, so, level, options_.timestamper,
                          options_.validation_data);
  out.pdf_sha256 = sha256_hex(out.pdf);
  return out;
}

void tune_allocator_for_issuing() noexcept {
#if defined(__GLIBC__)
  // glibc mallopt(3). Setting any of these also turns off the dynamic mmap threshold.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
}

}  // namespace libcert
