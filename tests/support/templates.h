// tests/support/templates.h — the template ids of the source tree, for parameterised tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace testsupport {

// The ids (directory names) of templates/<id>/manifest.json under the source tree, sorted — the
// order `certctl templates` lists them in.
inline std::vector<std::string> template_ids() {
  std::vector<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(LIBCERT_SOURCE_DIR) / "templates")) {
    if (e.is_directory() && std::filesystem::exists(e.path() / "manifest.json")) {
      ids.push_back(e.path().filename().string());
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace testsupport
