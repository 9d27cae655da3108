// certctl/issuing.h — what an issuing subcommand (issue, issue --batch, gallery) loads once.
//
//   certctl::IssuingContext ctx(options, certctl::issue_time(options));
//   libcert::IssuedLicence lic = ctx.issuer.issue(request);
#pragma once

#include <memory>
#include <optional>

#include "command.h"
#include "libcert/clock.h"
#include "libcert/issuer.h"
#include "libcert/ofd_writer.h"
#include "libcert/template.h"

namespace certctl {

// --format pdf|ofd|both (default pdf) as the renditions to make; throws UsageError otherwise.
struct Renditions {
  bool pdf = true, ofd = false;
};
Renditions renditions(const Options& o);

// The templates (--templates), the seal keys (--keys), a clock fixed at `when` and an Issuer over
// them (--qr-host). Throws libcert::Error when the templates or keys cannot be loaded. Not
// copyable or movable: the Issuer refers to the other members.
struct IssuingContext {
  // Refuses (UsageError, command.h keys_dir) when no seal keys are configured; prints the example
  // notice (warn_if_example_keys) when they are the demo keys.
  IssuingContext(const Options& o, const IssueTime& when);
  IssuingContext(const IssuingContext&) = delete;
  IssuingContext& operator=(const IssuingContext&) = delete;

  std::string keys;    // the seal keys directory
  bool example_keys;   // keys is the demo PKI: every output says kExampleKeysNotice
  std::shared_ptr<const libcert::TemplateSet> templates;
  libcert::SealKeyring seals;
  // The SM2 seals (<keys>/sm2/seals), loaded only when --format asks for OFD.
  std::optional<libcert::OfdSealKeyring> ofd_seals;
  libcert::FixedClock clock;
  libcert::Issuer issuer;
};

}  // namespace certctl
