// certctl render — render an (unsigned) licence PDF from a template and holder data;
// certctl templates — list the templates.
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/error.h"
#include "libcert/ids.h"
#include "libcert/render.h"
#include "libcert/template.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;

int run_render(const certctl::Args& args) {
  const certctl::Options o(
      args,
      {"--template", "--data", "--serial", "--issued", "--qr-text", "-o", "--templates",
       "--pdf-writer"},
      {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const std::string id = o.require("--template");
  const std::string data_path = o.require("--data");
  const std::string out = o.require("-o");

  const auto set = libcert::TemplateSet::load(certctl::templates_dir(o));
  const auto tmpl = set.get(id);
  const nlohmann::json data = certctl::read_json(data_path);
  // --issued YYYY-MM-DD makes the run fully deterministic (00:00 China time that day).
  const certctl::IssueTime when = certctl::issue_time(o);
  const std::int64_t now = when.unix_seconds;
  const std::string issued = when.iso_date;
  const libcert::FixedClock clock(now);
  const libcert::LicenceData ld = tmpl->validate(data, clock);
  const std::string serial = o.get("--serial").value_or(certctl::default_serial(id, data));
  const auto lid = libcert::LicenceId::make(tmpl->type_code(), tmpl->department().uscc, serial, 1);
  const std::string identifier = lid.str();
  // Upper-case host and path keep the whole text in QR alphanumeric mode (qr.md).
  const std::string qr = o.get("--qr-text").value_or("HTTPS://LIC.ALI.EXAMPLE/V/" + identifier);

  // The writer: libcert's own (the issued licences' writer, the default) or cairo's.
  const std::string writer = o.get("--pdf-writer").value_or("libcert");
  if (writer != "libcert" && writer != "cairo")
    throw certctl::UsageError("--pdf-writer must be libcert or cairo, got " + writer);
  const libcert::Renderer renderer;
  const libcert::RenderInput in{identifier, issued, qr, now, 1};
  const auto r = writer == "cairo" ? renderer.render(*tmpl, ld, in)
                                   : renderer.render_own_writer(*tmpl, ld, in);
  certctl::write_file_atomic(out, r.pdf);
  for (const auto& w : ld.warnings) {
    std::cerr << "warning: " << w.field << ": " << w.message << " [" << w.rule << "]\n";
  }
  std::cout << identifier << "\n";
  return 0;
}

int run_templates(const certctl::Args& args) {
  const certctl::Options o(args, {"--templates"}, {});
  if (!o.positional().empty())
    throw certctl::UsageError("unexpected argument " + o.positional()[0]);
  const auto set = libcert::TemplateSet::load(certctl::templates_dir(o));
  for (const auto& id : set.ids()) {
    const auto t = set.get(id);
    std::cout << id << "\t" << t->department().name.zh << "\t" << t->title().zh << "\n";
  }
  return 0;
}

const certctl::Command kRender{
    "render", "render a licence PDF (unsigned) from a template and holder data",
    "certctl render --template ID --data FILE [--serial S] [--issued YYYY-MM-DD] [--qr-text T] "
    "[--pdf-writer libcert|cairo] [--templates DIR] -o OUT.pdf",
    run_render};

const certctl::Command kTemplates{"templates", "list the licence templates (id, department, title)",
                                  "certctl templates [--templates DIR]", run_templates};

}  // namespace
