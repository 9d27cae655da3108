// certctl/command.h — how a certctl subcommand registers itself.
//
//   static const certctl::Command kRender{"render", "render a licence PDF (unsigned)",
//       "certctl render --template ID --data FILE -o OUT.pdf", run_render};
//
// Each subcommand lives in its own cmd_<name>.cpp. Exit codes: 0 success, 1 the operation's
// verdict was negative (e.g. a licence did not verify), 2 usage error, 3 input rejected
// (validation), 4 other libcert error.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "libcert/trust_bundle.h"

namespace certctl {

using Args = std::vector<std::string>;
using Handler = int (*)(const Args& args);

struct Command {
  Command(std::string_view name, std::string_view summary, std::string_view usage, Handler run);
  std::string_view name, summary, usage;
  Handler run;
};

const std::map<std::string_view, const Command*>& commands();

// Minimal option parser shared by all subcommands: `--key value`, `--flag`, `-o value` and
// positional arguments. Unknown options are an error (exit 2), never silently ignored.
class Options {
 public:
  // `with_value` lists the options that take a value (e.g. {"--template", "--data", "-o"});
  // `flags` lists boolean options (e.g. {"--json"}).
  Options(const Args& args, const std::vector<std::string_view>& with_value,
          const std::vector<std::string_view>& flags);
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;
  [[nodiscard]] std::string require(std::string_view name) const;  // throws UsageError
  [[nodiscard]] bool flag(std::string_view name) const;
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> flags_;
  std::vector<std::string> positional_;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where certctl finds its files (issue 18; docs/operations.md "Files"). Each comes from, in
// order: the command's option (--templates / --keys), the environment (LIBCERT_TEMPLATES /
// LIBCERT_KEYS), certd's configuration file (its "templates" / "keys" fields: the global option
// --config FILE, else $CERTD_CONFIG, else /etc/certd/certd.json when it exists), else the
// installed default. Templates default to /usr/share/certd/templates. Seal keys have no default:
// keys_dir() throws UsageError (exit 2) naming what to configure, unless the global option
// --example-keys asks for the demo keys by name ($LIBCERT_EXAMPLE_KEYS, else
// /usr/share/certd/keys-example), which win over every other source.
std::string templates_dir(const Options& o);
std::string keys_dir(const Options& o);
// The keys directory if one is configured (verify uses its root only when there is one).
std::optional<std::string> configured_keys_dir(const Options& o);

// Global options, accepted anywhere on the command line and removed before the subcommand parses
// its own: --example-keys, --config FILE.
struct GlobalOptions {
  bool example_keys = false;
  std::string config;
  bool json = false;  // --json was given: machine output on stdout only (errors too, as JSON)
};
GlobalOptions& global_options();

// When `keys` is the demo PKI (libcert::is_example_keys_dir), writes kExampleKeysNotice to
// stderr (once per run; with --json the command's JSON carries it instead) and returns true:
// every command that seals calls it.
bool warn_if_example_keys(const std::string& keys);

// The verifier's bundle trust configuration (docs/qr.md "Trust bundle: who may sign it"): the root
// of `--root FILE` (default <keys>/root/root.crt) and the bundle-signer pins of `--bundle-pins
// FILE` (default <keys>/bundle/pins.txt). Commands that take them list both options.
libcert::BundlePins bundle_pins(const Options& o);

// Reads a JSON file; a syntax error is Error(kValidation) with one problem naming the file.
nlohmann::json read_json(const std::string& path);

// The issue time of a CLI run: `--issued YYYY-MM-DD` means 00:00 China time (UTC+8) that day, which
// makes the run fully deterministic; without it, the wall clock (the CLI is the one place that
// reads it — the library takes time injected).
struct IssueTime {
  std::int64_t unix_seconds = 0;
  std::string iso_date;  // YYYY-MM-DD in China time
};
IssueTime issue_time(const Options& o);

// Deterministic default GB/T 36904 serial for CLI runs: 12 decimal digits of SHA-256 over the
// template id and the canonical JSON of the data, so issuing the same data twice gives the same
// identifier. (certd allocates serials from its registry instead.)
std::string default_serial(std::string_view template_id, const nlohmann::json& data);

// Parses a decimal integer option in [lo, hi]; throws UsageError naming the option.
int parse_int(const std::string& text, std::string_view option, int lo, int hi);

// Reads a whole file; throws libcert::Error(kIo) naming the path.
std::string read_file(const std::string& path);
// Writes atomically (temp file + rename), so a failed run never leaves a partial file.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace certctl
