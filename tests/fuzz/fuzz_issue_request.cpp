// fuzz_issue_request — an issuance request as certd receives it (POST /v1/licences:
// {"template": id, "data": {...}, "valid_from"?, "valid_to"?}, docs/service.md) on arbitrary bytes,
// against the real template set: JSON parsing, Template::validate (every field rule), then for
// accepted data the metadata, every layout expression and the renderer. Invariants: validation
// fails only with Error(kValidation) listing at least one problem; accepted data is normalised
// (validating it again gives the same values); rendering fails only with Error(kRender) (a value
// that passes the field rules but does not fit its box), and its PDF opens in the strict reader.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "libcert/render.h"
#include "libcert/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto set = libcert::TemplateSet::cached(LIBCERT_SOURCE_DIR "/templates");
  static const auto ids = set->ids();
  static const libcert::FixedClock clock(1780272000);  // 2026-06-01
  static const libcert::Renderer renderer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return 0;  // certd answers 400 before validating

  fuzz::run([&] {
    // An unknown or missing template id still exercises validation: pick one by the input size.
    std::string id = ids[size % ids.size()];
    if (auto t = body.find("template"); t != body.end() && t->is_string()) {
      if (std::find(ids.begin(), ids.end(), t->get<std::string>()) != ids.end()) id = *t;
    }
    const auto tmpl = set->get(id);
    nlohmann::json holder = body.value("data", nlohmann::json::object());
    for (const char* k : {"valid_from", "valid_to"}) {
      if (body.contains(k) && tmpl->field(k) != nullptr && holder.is_object()) holder[k] = body[k];
    }
    libcert::LicenceData d;
    try {
      d = tmpl->validate(holder, clock);
    } catch (const libcert::Error& e) {
      fuzz::require(e.code() == libcert::ErrorCode::kValidation,
                    "validate failed with another code");
      fuzz::require(!e.problems().empty(), "validation failed without a problem");
      return;
    }
    nlohmann::json again = nlohmann::json::object();
    for (const auto& [k, v] : d.values) again[k] = v;
    const libcert::LicenceData d2 = tmpl->validate(again, clock);
    fuzz::require(d2.values == d.values, "validated data is not a fixed point of validation");

    const libcert::IssueContext ctx{"1.2.156.3005.2.11100000000000000X.11540000MB0000000X.001.1.X",
                                    "2026-06-01", 1};
    (void)tmpl->metadata(d, ctx);
    for (const auto& block : tmpl->layout().blocks) {
      for (const auto& line : block.lines) (void)tmpl->expand(line.text, d, ctx);
    }
    try {
      const libcert::RenderResult r = renderer.render(*tmpl, d,
                                                      {.identifier = ctx.identifier,
                                                       .issue_date = ctx.issue_date,
                                                       .qr_text = "HTTPS://LIC.ALI.EXAMPLE/V/FUZZ",
                                                       .created_at = clock.now()});
      const auto doc = libcert::pdf::Document::open(r.pdf);
      fuzz::require(doc.page_refs().size() == 1, "a rendered licence has one page");
    } catch (const libcert::Error& e) {
      fuzz::require(e.code() == libcert::ErrorCode::kRender, "render failed with another code");
    }
  });
  return 0;
}
