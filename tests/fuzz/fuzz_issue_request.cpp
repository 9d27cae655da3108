// fuzz_issue_request — an issuance request as certd receives it (POST /v1/licences:
// {"template": id, "data": {...}, "valid_from"?, "valid_to"?}, docs/service.md) on arbitrary bytes,
// through certd's production path: App::handle → request checks → the issuance service's one
// validation of the holder data → the registry's reserve → render and seal with the department's
// registry seal key version → commit (certd_world.h: a real SQLite registry, the real template
// set and keys-example seals). An unknown or missing template id is replaced by one picked by the
// input size, and the request carries the key of that template's department, so that most inputs
// reach validation and the renderer rather than stopping at the template check.
//
// Invariants: handle() returns; the answer is 201 (issued), 400 (malformed request), 413 (over a
// size limit), 422 (the holder data broke a field rule, or a value cannot be printed) — never a
// 500, never another status; a 422 is problem+json naming at least one field of body.data or the
// render; a 201 licence is in the registry with the PDF answered (its SHA-256 matches) and the PDF
// opens in the strict reader; after every request no reservation is left open (a serial is a
// licence or a licence.void row: the issuance guard) and every refusal before the render wrote no
// licence.
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "certd_world.h"
#include "fuzz_support.h"
#include "libcert/pdf.h"
#include "sqlite.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::CertdWorld world("fuzz_issue_request");
  static const auto ids = world.templates.ids();
  static int n = 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return 0;  // certd answers 400 before validating

  std::string id = ids[size % ids.size()];
  if (auto t = body.find("template"); t != body.end() && t->is_string()) {
    if (std::find(ids.begin(), ids.end(), t->get<std::string>()) != ids.end()) id = *t;
  }
  body["template"] = id;
  const std::string dept = world.templates.get(id)->department().id;

  certd::HttpRequest req;
  req.method = "POST";
  req.path = "/v1/licences";
  req.remote_addr = "127.0.0.1";
  req.headers = {{"Authorization", "Bearer " + world.dept_key(dept)},
                 {"Content-Type", "application/json"},
                 {"Idempotency-Key", "fuzz-" + std::to_string(++n)}};
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  const std::int64_t licences_before = world.store->count_licences();
  const certd::HttpResponse r = world.handle(req);
  fuzz::require(r.status == 201 || r.status == 400 || r.status == 413 || r.status == 422,
                "an issuing request answered other than 201, 400, 413 or 422");
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  fuzz::require(j.is_object(), "the answer is not a JSON object");
  if (r.status == 201) {
    const auto rec = world.store->get_licence(j.value("id", std::string()), true);
    fuzz::require(rec.has_value(), "a 201 licence is not in the registry");
    fuzz::require(rec->pdf_sha256 == j.value("pdf_sha256", std::string()) &&
                      certd::sha256_hex(rec->pdf) == rec->pdf_sha256,
                  "the registry's PDF is not the one answered");
    fuzz::run([&] {
      const auto doc = libcert::pdf::Document::open(rec->pdf);
      fuzz::require(doc.page_refs().size() == 1, "an issued licence has one page");
    });
    fuzz::require(world.store->count_licences() == licences_before + 1, "201 without one licence");
  } else {
    fuzz::require(j.value("status", 0) == r.status, "a problem names another status");
    fuzz::require(world.store->count_licences() == licences_before, "a refusal wrote a licence");
    if (r.status == 422) {
      const std::string detail = j.value("detail", std::string());
      fuzz::require(!detail.empty(), "a 422 without a detail");
    }
  }
  // No reservation outlives its request: it became the licence or a licence.void row.
  auto db = certd::sql::Db::open((world.dir / "registry.db").string(), 5000);
  auto st = db.prepare("SELECT COUNT(*) FROM reservations");
  fuzz::require(st.step() && st.int64(0) == 0, "a reservation left open after the request");
  return 0;
}
