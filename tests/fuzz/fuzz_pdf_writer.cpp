// fuzz_pdf_writer — holder values through the layout into libcert's own PDF writer (pdf_writer.h,
// issue 21): the input's first byte picks one of the real templates (templates/), the rest is
// split at NUL bytes into values that replace the sample's fields in manifest order (a missing
// value keeps the sample's). The data is validated as certd would (kValidation is the expected
// refusal), then laid out and written; every template's static part goes through the same cache
// the issuing path uses, so inputs also exercise a cached static part with new variable parts.
//
// Invariants: libcert::Error is the only failure; a written PDF opens in the strict reader with
// one page whose fonts are all Type 0 / Identity-H with a ToUnicode map; writing the same layout
// twice gives the same bytes.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "libcert/render.h"
#include "libcert/template.h"
#include "pdf_writer.h"

namespace {

std::string slurp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::string s;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto set = libcert::TemplateSet::cached(std::string(LIBCERT_SOURCE_DIR) + "/templates");
  static const auto ids = set->ids();
  static const libcert::FixedClock clock(1795348800);  // 2026-11-22: every sample is past
  static const libcert::Renderer renderer;
  if (size == 0) return 0;
  const std::string& id = ids[data[0] % ids.size()];
  const auto t = set->get(id);
  nlohmann::json holder = nlohmann::json::parse(
      slurp(std::string(LIBCERT_SOURCE_DIR) + "/templates/" + id + "/sample.json"), nullptr, false);
  if (!holder.is_object()) std::abort();  // the source tree's own sample must parse

  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const auto& field : t->fields()) {
    if (rest.empty()) break;
    const std::size_t nul = rest.find('\0');
    const std::string_view value = rest.substr(0, nul);
    holder[field.name] = std::string(value);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }

  fuzz::run([&] {
    const libcert::LicenceData ld = t->validate(holder, clock);
    const libcert::RenderInput in{
        "1.2.156.3005.2.11100000000013338W001.115425000199003834.1.001.X", "2026-11-22",
        "HTTPS://LIC.ALI.EXAMPLE/V#0123456789012345", 1795348800, 1};
    const libcert::RenderResult r = libcert::pdfw::render(renderer, *t, ld, in);
    fuzz::require(libcert::pdfw::render(renderer, *t, ld, in).pdf == r.pdf,
                  "the same licence written twice differs");
    const auto doc = libcert::pdf::Document::open(r.pdf);
    fuzz::require(doc.page_refs().size() == 1, "a licence has one page");
    const libcert::pdf::Dict page = doc.object(doc.page_refs()[0]).as_dict();
    const libcert::pdf::Object* res = page.get("Resources");
    fuzz::require(res != nullptr && res->is(libcert::pdf::Kind::kDict), "page without resources");
    const libcert::pdf::Object* fonts = res->as_dict().get("Font");
    fuzz::require(fonts != nullptr && fonts->is(libcert::pdf::Kind::kDict), "page without fonts");
    for (const auto& [name, ref] : fonts->as_dict().entries()) {
      const libcert::pdf::Dict f = doc.object(ref.as_ref()).as_dict();
      fuzz::require(f.get("Subtype") != nullptr && f.get("Subtype")->is_name("Type0") &&
                        f.get("Encoding") != nullptr && f.get("Encoding")->is_name("Identity-H") &&
                        f.get("ToUnicode") != nullptr,
                    "a font is not Type 0 / Identity-H with ToUnicode");
    }
  });
  return 0;
}
