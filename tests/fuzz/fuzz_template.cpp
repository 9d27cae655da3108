// fuzz_template — the template loader (libcert/template.h: glossary.json, departments.json and a
// manifest, every check of docs/template-manifest.md) on arbitrary bytes, through
// TemplateSet::parse (no file system). The input is up to three parts separated by NUL bytes:
//
//   <manifest.json> \0 <glossary.json> \0 <departments.json> \0 <holder data JSON>
//
// (the seeds are real manifests with the glossary entries and department they use, and the
// template's sample.json). Invariants: a rejected set is Error(kTemplate) with at least one
// problem; a loaded template validates the holder data (or {} if it is not JSON) to data or to
// Error(kValidation) with problems, and its metadata and every layout expression then expand
// without Error(kInternal).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/clock.h"
#include "libcert/template.h"

namespace {

std::string_view next_part(std::string_view& rest) {
  const auto nul = rest.find('\0');
  const std::string_view part = rest.substr(0, nul);
  rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  libcert::TemplateSet::Files files;
  files["fuzz/manifest.json"] = std::string(next_part(rest));
  files["glossary.json"] = std::string(next_part(rest));
  files["departments.json"] = std::string(next_part(rest));
  nlohmann::json holder = nlohmann::json::parse(next_part(rest), nullptr, false);
  if (holder.is_discarded()) holder = nlohmann::json::object();
  static const libcert::FixedClock clock(1780272000);  // 2026-06-01

  fuzz::run([&] {
    libcert::TemplateSet set;
    try {
      set = libcert::TemplateSet::parse(files, "fuzz");
    } catch (const libcert::Error& e) {
      fuzz::require(e.code() == libcert::ErrorCode::kTemplate, "loader failed with another code");
      fuzz::require(!e.problems().empty(), "a rejected template set names no problem");
      return;
    }
    for (const auto& id : set.ids()) {
      const auto t = set.get(id);
      fuzz::run([&] {
        try {
          const libcert::LicenceData d = t->validate(holder, clock);
          const libcert::IssueContext ctx;
          (void)t->metadata(d, ctx);
          for (const auto& block : t->layout().blocks) {
            for (const auto& line : block.lines) (void)t->expand(line.text, d, ctx);
          }
        } catch (const libcert::Error& e) {
          fuzz::require(e.code() != libcert::ErrorCode::kInternal,
                        "Error(kInternal) on a template");
          if (e.code() == libcert::ErrorCode::kValidation) {
            fuzz::require(!e.problems().empty(), "validation failed without a problem");
          }
        }
      });
    }
  });
  return 0;
}
