// certctl/batch.cpp — see batch.h.
#include "batch.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include "command.h"
#include "libcert/error.h"

namespace certctl {

namespace {

namespace fs = std::filesystem;
using libcert::Error;
using libcert::ErrorCode;

// Reads the results of an earlier run: marks their lines done and cuts a torn last line (a kill
// between write() calls) so that appending continues on a line boundary.
std::vector<bool> load_done(const std::string& path, std::int64_t* count) {
  std::vector<bool> done;
  *count = 0;
  std::error_code ec;
  if (!fs::exists(path, ec)) return done;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::string line;
  std::uintmax_t good_end = 0, pos = 0;
  while (std::getline(in, line)) {
    const bool complete = !in.eof();  // getline stopped at a '\n'
    pos += line.size() + (complete ? 1 : 0);
    if (!complete) break;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("line") ||
        !j["line"].is_number_unsigned()) {
      throw Error(ErrorCode::kIo, path + ": result line at byte " + std::to_string(good_end) +
                                      " is not a batch result; refusing to append to it");
    }
    const auto n = j["line"].get<std::size_t>();
    if (n >= done.size()) done.resize(n + 1, false);
    if (!done[n]) ++*count;
    done[n] = true;
    good_end = pos;
  }
  in.close();
  if (fs::file_size(path, ec) != good_end) fs::resize_file(path, good_end);
  return done;
}

std::int64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  }
  return n;
}

nlohmann::json error_json(const Error& e) {
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : e.problems()) {
    problems.push_back({{"field", p.field}, {"rule", p.rule}, {"message", p.message}});
  }
  return {{"code", std::string(libcert::to_string(e.code()))},
          {"message", e.what()},
          {"problems", std::move(problems)}};
}

libcert::IssueRequest parse_request(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(ErrorCode::kValidation, "line is not a JSON object",
                {{"", "json", "the line is not a JSON object"}});
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "template" && k != "data" && k != "serial" && k != "version") {
      throw Error(ErrorCode::kValidation, "unknown member " + k,
                  {{k, "unknown-member", "allowed: template, data, serial, version"}});
    }
  }
  if (!j.contains("template") || !j["template"].is_string()) {
    throw Error(ErrorCode::kValidation, "template: a string is required",
                {{"template", "required", "a template id (string) is required"}});
  }
  if (!j.contains("data") || !j["data"].is_object()) {
    throw Error(ErrorCode::kValidation, "data: an object is required",
                {{"data", "required", "the holder data (an object) is required"}});
  }
  libcert::IssueRequest r;
  r.template_id = j["template"].get<std::string>();
  r.data = j["data"];
  if (j.contains("serial")) {
    if (!j["serial"].is_string()) {
      throw Error(ErrorCode::kValidation, "serial: must be a string",
                  {{"serial", "type", "the serial is a string of digits"}});
    }
    r.serial = j["serial"].get<std::string>();
  } else {
    r.serial = default_serial(r.template_id, r.data);
  }
  if (j.contains("version")) {
    if (!j["version"].is_number_integer() || j["version"].get<std::int64_t>() < 1 ||
        j["version"].get<std::int64_t>() > 999) {
      throw Error(ErrorCode::kValidation, "version: must be an integer 1..999",
                  {{"version", "range", "the version is an integer from 1 to 999"}});
    }
    r.version = j["version"].get<int>();
  }
  return r;
}

std::string duration(double s) {
  const auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

}  // namespace

BatchSummary run_batch(const libcert::Issuer& issuer, const BatchOptions& o) {
  if (o.threads < 1) throw Error(ErrorCode::kInvalidArgument, "threads must be at least 1");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw Error(ErrorCode::kIo, o.out_dir + ": " + ec.message());
  const std::string results_path =
      o.results.empty() ? (fs::path(o.out_dir) / "results.jsonl").string() : o.results;

  BatchSummary sum;
  sum.lines = count_lines(o.input);
  const std::vector<bool> done = load_done(results_path, &sum.skipped);
  std::ifstream input(o.input, std::ios::binary);
  if (!input) throw Error(ErrorCode::kIo, o.input + ": " + std::strerror(errno));
  std::FILE* results = std::fopen(results_path.c_str(), "ab");
  if (results == nullptr) throw Error(ErrorCode::kIo, results_path + ": " + std::strerror(errno));
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> results_guard(results, std::fclose);

  std::mutex in_mu, out_mu;
  std::size_t next_line = 0;  // 0-based index among all physical lines (guarded by in_mu)
  std::atomic<std::int64_t> issued{0}, rejected{0};
  std::exception_ptr fatal;  // the first I/O failure (guarded by out_mu)
  std::atomic<bool> stop{false};

  // One result line, appended in one fwrite + fflush (a single write(2) for lines below the
  // buffer size), after the PDF is in place.
  auto record = [&](const nlohmann::json& r) {
    const std::string text = r.dump() + "\n";
    std::lock_guard<std::mutex> lock(out_mu);
    if (std::fwrite(text.data(), 1, text.size(), results) != text.size() ||
        std::fflush(results) != 0) {
      throw Error(ErrorCode::kIo, results_path + ": " + std::strerror(errno));
    }
  };

  auto worker = [&] {
    std::string text;
    while (!stop.load()) {
      std::size_t n = 0;
      {
        std::lock_guard<std::mutex> lock(in_mu);
        if (!std::getline(input, text)) return;
        n = next_line++;
      }
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (n < done.size() && done[n]) continue;
      try {
        nlohmann::json r{{"line", n}};
        try {
          libcert::IssueRequest req = parse_request(text);
          req.pdf = o.pdf;
          req.ofd = o.ofd;
          const libcert::IssuedLicence lic = issuer.issue(req);
          r["status"] = "issued";
          r["identifier"] = lic.identifier;
          for (const auto& [on, ext, bytes, sha] :
               {std::tuple{o.pdf, "pdf", &lic.pdf, &lic.pdf_sha256},
                std::tuple{o.ofd, "ofd", &lic.ofd, &lic.ofd_sha256}}) {
            if (!on) continue;
            const std::string file =
                (fs::path(o.out_dir) / (lic.identifier + "." + ext)).string();
            write_file_atomic(file, *bytes);
            r[ext] = file;
            r[std::string(ext) + "_sha256"] = *sha;
          }
          record(r);
          ++issued;
        } catch (const Error& e) {
          if (e.code() == ErrorCode::kIo) throw;
          r["status"] = "rejected";
          r["error"] = error_json(e);
          record(r);
          ++rejected;
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(out_mu);
        if (!fatal) fatal = std::current_exception();
        stop = true;
        return;
      }
    }
  };

  const auto t0 = std::chrono::steady_clock::now();
  std::mutex progress_mu;
  std::condition_variable progress_cv;
  bool finished = false;
  std::thread progress;
  if (o.progress) {
    progress = std::thread([&] {
      const std::int64_t todo = sum.lines - sum.skipped;
      std::unique_lock<std::mutex> lock(progress_mu);
      while (
          !progress_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return finished; })) {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::int64_t d = issued.load() + rejected.load();
        const double rate = s > 0 ? static_cast<double>(d) / s : 0;
        const double frac = todo > 0 ? static_cast<double>(d) / static_cast<double>(todo) : 1;
        const int width = 30;
        const auto filled = static_cast<int>(frac * width);
        std::string bar(static_cast<std::size_t>(filled), '=');
        bar.resize(static_cast<std::size_t>(width), ' ');
        std::fprintf(stderr, "\r[%s] %lld/%lld  %.0f/s  ETA %s  ", bar.c_str(),
                     static_cast<long long>(d), static_cast<long long>(todo), rate,
                     rate > 0 ? duration(static_cast<double>(todo - d) / rate).c_str() : "-");
      }
      std::fprintf(stderr, "\n");
    });
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(o.threads));
  for (int i = 0; i < o.threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (progress.joinable()) {
    {
      std::lock_guard<std::mutex> lock(progress_mu);
      finished = true;
    }
    progress_cv.notify_all();
    progress.join();
  }
  if (fatal) std::rethrow_exception(fatal);
  if (input.bad()) throw Error(ErrorCode::kIo, o.input + ": read failed");
  ::fsync(fileno(results));  // the results survive a power cut, not only a kill

  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.issued = issued.load();
  sum.rejected = rejected.load();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  sum.peak_rss_kb = ru.ru_maxrss;
  return sum;
}

}  // namespace certctl
