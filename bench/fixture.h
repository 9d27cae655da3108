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
#include "libcert/template.h"
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
};

}  // namespace bench
