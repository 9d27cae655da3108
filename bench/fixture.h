// bench/fixture.h — what the issuing benchmarks load once: the source tree's templates and
// keys-example seals, a clock fixed at 2026-11-01T00:00:00Z, an Issuer, the example root as the
// trust store, and the templates' sample data.
#pragma once

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/sign.h"
#include "libcert/template.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"

namespace bench {

inline const std::string kSrc = LIBCERT_SOURCE_DIR;

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// templates/<id>/sample.json
inline nlohmann::json sample(const std::string& id) {
  return nlohmann::json::parse(slurp(kSrc + "/templates/" + id + "/sample.json"));
}

// The key states a verifier needs (trust.md; without them a seal is INDETERMINATE): every
// department seal of the templates, active — what `certctl trust-bundle export` publishes.
inline libcert::TrustBundle example_states(const libcert::TemplateSet& templates,
                                           const libcert::SealKeyring& seals) {
  libcert::TrustBundle b;
  for (const auto& id : templates.ids()) {
    const auto& dept = templates.get(id)->department();
    bool have = false;
    for (const auto& e : b.seals) have = have || e.department == dept.id;
    if (have || !seals.has(dept.id)) continue;
    b.seals.push_back(libcert::SealEntry::from_certificate(
        dept.id, dept.uscc, std::string(seals.get(dept.id).certificate()),
        libcert::SealState::kActive));
  }
  return b;
}

// Not copyable or movable: the Issuer refers to the other members.
struct Fixture {
  Fixture() { trust.add_path(kSrc + "/keys-example/root/root.crt"); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  std::shared_ptr<const libcert::TemplateSet> templates =
      libcert::TemplateSet::cached(kSrc + "/templates");
  libcert::SealKeyring seals = libcert::SealKeyring::load_dir(kSrc + "/keys-example");
  libcert::FixedClock clock{1793462400};  // 2026-11-01T00:00:00Z
  libcert::Issuer issuer{*templates, seals, {.clock = &clock}};
  libcert::TrustStore trust;
  libcert::BundleSealKeys seal_states{example_states(*templates, seals)};
};

}  // namespace bench
