// certctl/command.h — how a certctl subcommand registers itself.
//
//   static const certctl::Command kRender{"render", "render a licence PDF (unsigned)",
//       "certctl render --template ID --data FILE -o OUT.pdf", run_render};
//
// Each subcommand lives in its own cmd_<name>.cpp. Exit codes: 0 success, 1 the operation's
// verdict was negative (e.g. a licence did not verify), 2 usage error, 3 input rejected
// (validation), 4 other libcert error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Default locations (overridable by --templates / --keys or the environment variables
// LIBCERT_TEMPLATES and LIBCERT_KEYS): the source tree's templates/ and keys-example/.
std::string templates_dir(const Options& o);
std::string keys_dir(const Options& o);

// Reads a whole file; throws libcert::Error(kIo) naming the path.
std::string read_file(const std::string& path);
// Writes atomically (temp file + rename), so a failed run never leaves a partial file.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace certctl
