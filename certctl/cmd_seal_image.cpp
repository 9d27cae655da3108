// certctl seal-image — export a department's seal picture (PNG or SVG) for the seal registry.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "libcert/error.h"
#include "libcert/seal_image.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

nlohmann::json load_json(const std::string& path) {
  const std::string text = certctl::read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kTemplate, path + ": " + e.what());
  }
}

// Tibetan text of a glossary key: {"entries": {KEY: {"bo": "...", ...}}}.
std::string glossary_bo(const nlohmann::json& glossary, const std::string& key,
                        const std::string& path) {
  const auto entries = glossary.find("entries");
  if (entries == glossary.end() || !entries->is_object()) {
    throw Error(ErrorCode::kTemplate, path + ": missing object \"entries\"");
  }
  const auto e = entries->find(key);
  if (e == entries->end() || !e->is_object() || !e->contains("bo") || !(*e)["bo"].is_string()) {
    throw Error(ErrorCode::kTemplate, path + ": entries." + key + ".bo is missing");
  }
  return (*e)["bo"].get<std::string>();
}

int run(const certctl::Args& args) {
  const certctl::Options o(args, {"--department", "--format", "--dpi", "-o", "--templates"}, {});
  if (!o.positional().empty()) {
    throw certctl::UsageError("unexpected argument " + o.positional().front());
  }
  const std::string id = o.require("--department");
  const std::string out = o.require("-o");
  std::string format = o.get("--format").value_or("");
  if (format.empty()) {
    format = out.size() > 4 && out.compare(out.size() - 4, 4, ".svg") == 0 ? "svg" : "png";
  }
  if (format != "png" && format != "svg") {
    throw certctl::UsageError("--format must be png or svg, got " + format);
  }
  double dpi = 600;
  if (auto d = o.get("--dpi")) {
    std::size_t used = 0;
    try {
      dpi = std::stod(*d, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != d->size()) throw certctl::UsageError("--dpi must be a number, got " + *d);
  }

  const std::string dir = certctl::templates_dir(o);
  const std::string dept_path = dir + "/departments.json";
  const std::string gloss_path = dir + "/glossary.json";
  const auto depts = load_json(dept_path);
  const nlohmann::json* dept = nullptr;
  if (depts.contains("departments") && depts["departments"].is_array()) {
    for (const auto& d : depts["departments"]) {
      if (d.is_object() && d.value("id", "") == id) dept = &d;
    }
  }
  if (dept == nullptr)
    throw Error(ErrorCode::kNotFound, dept_path + ": no department '" + id + "'");

  const auto glossary = load_json(gloss_path);
  libcert::SealSpec spec;
  try {
    spec.name_zh = dept->at("name_zh").get<std::string>();
    spec.name_bo = glossary_bo(glossary, dept->at("name_bo").get<std::string>(), gloss_path);
    const auto& seal = dept->at("seal");
    spec.diameter_mm = seal.value("diameter_mm", spec.diameter_mm);
    spec.border_mm = seal.value("border_mm", spec.border_mm);
    spec.star_mm = seal.value("star_mm", spec.star_mm);
    spec.function_zh = seal.value("function_zh", std::string());
    if (seal.contains("function_bo")) {
      spec.function_bo =
          glossary_bo(glossary, seal.at("function_bo").get<std::string>(), gloss_path);
    }
    spec.code = seal.value("code", std::string());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kTemplate, dept_path + ": department '" + id + "': " + e.what());
  }

  const std::string bytes =
      format == "svg" ? libcert::seal_svg(spec) : libcert::seal_png(spec, dpi);
  certctl::write_file_atomic(out, bytes);
  std::cout << out << ": " << format << ", " << spec.diameter_mm << " mm"
            << (format == "png" ? ", " + std::to_string(static_cast<int>(dpi)) + " dpi" : "")
            << "\n";
  return 0;
}

const certctl::Command kSealImage{
    "seal-image", "export a department's seal as PNG or SVG",
    "certctl seal-image --department ID [--format png|svg] [--dpi N] -o OUT [--templates DIR]",
    run};

}  // namespace
