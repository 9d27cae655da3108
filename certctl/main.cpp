// certctl — command-line client for admins and batch work. See `certctl help`.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <sstream>
#include <system_error>

#include "certd_paths.h"
#include "command.h"
#include "libcert/error.h"
#include "libcert/error_class.h"
#include "libcert/example_keys.h"
#include "libcert/issuer.h"

namespace certctl {

namespace {
std::map<std::string_view, const Command*>& registry() {
  static std::map<std::string_view, const Command*> r;
  return r;
}
}  // namespace

Command::Command(std::string_view n, std::string_view s, std::string_view u, Handler h)
    : name(n), summary(s), usage(u), run(h) {
  registry()[name] = this;
}

const std::map<std::string_view, const Command*>& commands() { return registry(); }

// Parsing is CLI11's (Debian libcli11-dev, header-only): `--opt value`, `--opt=value`, `--`,
// clustered and repeated options, and its specific messages ("--data: 1 required TEXT missing",
// "The following arguments were not expected: --x") become UsageError (exit 2). Each command
// still declares its options as two lists, so adding a command needs no parser code.
Options::Options(const Args& args, const std::vector<std::string_view>& with_value,
                 const std::vector<std::string_view>& flags) {
  CLI::App app;
  app.set_help_flag();  // --help is answered by main() for every command alike
  app.allow_windows_style_options(false);
  std::map<std::string, std::string, std::less<>> values;
  std::vector<std::pair<std::string, CLI::Option*>> value_opts;
  std::vector<std::pair<std::string, CLI::Option*>> flag_opts;
  for (auto n : with_value) {
    const std::string name(n);
    // The last of a repeated option wins (as a shell user expects of `cmd $DEFAULTS --x y`).
    value_opts.emplace_back(name, app.add_option(name, values[name])
                                      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast));
  }
  for (auto n : flags) {
    const std::string name(n);
    flag_opts.emplace_back(name, app.add_flag(name));
  }
  app.add_option("operands", positional_);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }
  for (const auto& [name, opt] : value_opts) {
    if (opt->count() > 0) values_[name] = values[name];
  }
  for (const auto& [name, opt] : flag_opts) {
    if (opt->count() > 0) flags_.push_back(name);
  }
}

std::optional<std::string> Options::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Options::require(std::string_view name) const {
  auto v = get(name);
  if (!v) throw UsageError("missing required option " + std::string(name));
  return *v;
}

bool Options::flag(std::string_view name) const {
  for (const auto& f : flags_)
    if (f == name) return true;
  return false;
}

namespace {
std::optional<std::string> env_value(const char* name) {
  const char* e = std::getenv(name);
  if (e == nullptr || *e == '\0') return std::nullopt;
  return std::string(e);
}

// certd's configuration file, if one is named or installed: certctl reads its "templates" and
// "keys" fields (the one schema, daemon/config.h; certd validates the rest).
const nlohmann::json& config_file() {
  static const nlohmann::json j = [] {
    std::string path = global_options().config;
    if (path.empty()) path = env_value("CERTD_CONFIG").value_or("");
    const bool named = !path.empty();
    if (!named) path = certd::paths::kConfigFile;
    std::error_code ec;
    if (!named && !std::filesystem::exists(path, ec)) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(read_file(path), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                           "config " + path + ": not a JSON object");
    }
    for (const char* field : {"templates", "keys"}) {
      if (parsed.contains(field) && !parsed[field].is_string()) {
        throw libcert::Error(libcert::ErrorCode::kInvalidArgument,
                             "config " + path + ": " + field + ": expected a string");
      }
    }
    return parsed;
  }();
  return j;
}

std::optional<std::string> from_config(const char* field) {
  const auto& j = config_file();
  if (j.contains(field)) return j[field].get<std::string>();
  return std::nullopt;
}
}  // namespace

GlobalOptions& global_options() {
  static GlobalOptions g;
  return g;
}

std::string templates_dir(const Options& o) {
  if (auto v = o.get("--templates")) return *v;
  if (auto v = env_value("LIBCERT_TEMPLATES")) return *v;
  if (auto v = from_config("templates")) return *v;
  return certd::paths::kTemplates;
}

std::optional<std::string> configured_keys_dir(const Options& o) {
  if (global_options().example_keys) {
    const std::string dir = env_value("LIBCERT_EXAMPLE_KEYS").value_or(certd::paths::kExampleKeys);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      throw libcert::Error(libcert::ErrorCode::kIo,
                           "--example-keys: the demo keys are not installed at " + dir);
    }
    return dir;
  }
  if (auto v = o.get("--keys")) return *v;
  if (auto v = env_value("LIBCERT_KEYS")) return *v;
  if (auto v = from_config("keys")) return *v;
  return std::nullopt;
}

std::string keys_dir(const Options& o) {
  if (auto v = configured_keys_dir(o)) return *v;
  throw UsageError(std::string("no seal keys configured: give --keys DIR, set LIBCERT_KEYS, or set "
                               "\"keys\" in ") +
                   certd::paths::kConfigFile +
                   " (or the file of --config / $CERTD_CONFIG); --example-keys uses the demo "
                   "keys, which are NOT valid for real licences");
}

bool warn_if_example_keys(const std::string& keys) {
  if (!libcert::is_example_keys_dir(keys)) return false;
  static bool said = false;
  if (!said && !global_options().json) {
    std::cerr << "certctl: " << libcert::kExampleKeysNotice << " (" << keys << ")\n";
  }
  said = true;
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw libcert::Error(libcert::ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  // POSIX calls rather than an ofstream: no stream buffer to allocate and fill per file (a batch
  // writes one file per licence, issue 21), and write(2)'s errno for the message.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw libcert::Error(libcert::ErrorCode::kIo, tmp + ": " + std::strerror(errno));
  const auto fail = [&](int err) {
    ::close(fd);
    std::remove(tmp.c_str());
    throw libcert::Error(libcert::ErrorCode::kIo, tmp + ": " + std::strerror(err));
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw libcert::Error(libcert::ErrorCode::kIo, tmp + ": " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw libcert::Error(libcert::ErrorCode::kIo, path + ": " + std::strerror(err));
  }
}

}  // namespace certctl

namespace {
void list_commands(std::ostream& out) {
  out << "usage: certctl <command> [options]   (certctl <command> --help: its options)\n"
         "global options: --example-keys, --config FILE; --version\n\ncommands:\n";
  for (const auto& [name, cmd] : certctl::commands()) {
    out << "  " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ')
        << cmd->summary << "\n";
  }
}

int usage() {
  list_commands(std::cerr);
  return 2;
}

// The one place an error becomes output and an exit code (docs/verdicts.md). With --json the
// error is a JSON object on standard output, {"error": {"exit_code", "code", "message",
// "problems"?}}, so that scripts parse one stream; otherwise a line on standard error.
int fail(bool json, int exit_code, const std::string& code, const std::string& message,
         const std::vector<libcert::Problem>& problems = {}, std::string_view usage_text = {}) {
  if (json) {
    nlohmann::json j{{"exit_code", exit_code}, {"code", code}, {"message", message}};
    if (!problems.empty()) {
      j["problems"] = nlohmann::json::array();
      for (const auto& p : problems) {
        j["problems"].push_back({{"field", p.field}, {"rule", p.rule}, {"message", p.message}});
      }
    }
    if (!usage_text.empty()) j["usage"] = std::string(usage_text);
    std::cout << nlohmann::json{{"error", j}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
              << "\n";
    return exit_code;
  }
  if (!problems.empty()) {
    // One line per problem, naming the field and the rule (the contract).
    for (const auto& p : problems) {
      std::cerr << "error: " << p.field << ": " << p.message << " [" << p.rule << "]\n";
    }
  } else if (!usage_text.empty()) {
    std::cerr << message << "\nusage: " << usage_text << "\n";
  } else {
    std::cerr << "error: [" << code << "] " << message << "\n";
  }
  return exit_code;
}
}  // namespace

int main(int argc, char** argv) {
  libcert::tune_allocator_for_issuing();
  if (argc < 2) return usage();
  const std::string first = argv[1];
  if (first == "--version") {
    std::cout << "certctl " << LIBCERT_VERSION << "\n";
    return 0;
  }
  if (first == "help" || first == "--help" || first == "-h") {
    if (argc >= 3) {
      auto it = certctl::commands().find(argv[2]);
      if (it == certctl::commands().end()) {
        std::cerr << "certctl: unknown command '" << argv[2] << "'\n";
        return usage();
      }
      std::cout << "usage: " << it->second->usage << "\n";
      return 0;
    }
    list_commands(std::cout);
    return 0;
  }
  auto it = certctl::commands().find(first);
  if (it == certctl::commands().end()) {
    std::cerr << "certctl: unknown command '" << first << "'\n";
    return usage();
  }
  // Conventions for every command, before it parses its own options: `--opt=value` is the same
  // as `--opt value`; --help/-h prints the command's usage (stdout, exit 0); the global options
  // (command.h GlobalOptions) may stand anywhere after the command name.
  certctl::Args args;
  bool json = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << "usage: " << it->second->usage << "\n";
      return 0;
    }
    if (a == "--json") json = certctl::global_options().json = true;
    std::optional<std::string> value;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a.resize(eq);
    }
    if (a == "--example-keys") {
      certctl::global_options().example_keys = true;
    } else if (a == "--config" && (value || i + 1 < argc)) {
      certctl::global_options().config = value ? *value : argv[++i];
    } else {
      args.push_back(a);
      if (value) args.push_back(*value);
    }
  }
  const std::string cmd = "certctl " + first + ": ";
  try {
    return it->second->run(args);
  } catch (const certctl::UsageError& e) {
    return fail(json, 2, "usage", cmd + e.what(), {}, it->second->usage);
  } catch (const libcert::Error& e) {
    if (e.code() == libcert::ErrorCode::kValidation && !e.problems().empty()) {
      return fail(json, libcert::exit_code(libcert::ErrorClass::kBadInput), "validation",
                  e.what(), e.problems());
    }
    // The same classes as certd's HTTP answers (libcert::error_class, daemon/error_map.h):
    // 3 bad input, 5 environment (the 503 causes), 4 a bug. docs/verdicts.md.
    return fail(json, libcert::exit_code(libcert::error_class(e.code())),
                std::string(libcert::to_string(e.code())), e.what());
  } catch (const std::bad_alloc&) {
    return fail(json, libcert::exit_code(libcert::ErrorClass::kEnvironment), "environment",
                "out of memory");
  } catch (const std::system_error& e) {
    // std::filesystem_error and friends: a file of this machine cannot be used now.
    return fail(json, libcert::exit_code(libcert::ErrorClass::kEnvironment), "io", e.what());
  } catch (const std::exception& e) {
    return fail(json, libcert::exit_code(libcert::ErrorClass::kInternal), "internal", e.what());
  }
}
