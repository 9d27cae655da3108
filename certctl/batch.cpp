// certctl/batch.cpp — see batch.h.
#include "batch.h"

#include <fcntl.h>
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
#include <utility>
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

// An owned file descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Results not yet durable are at most this old (or commit_every licences).
constexpr std::chrono::milliseconds kCommitInterval{500};

// The results file, opened for appending; a new one's directory entry is made durable at once
// (the file may be outside the output directory).
Fd open_results(const std::string& path) {
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  Fd f(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (f.fd < 0) throw Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  if (!existed) {
    const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
    const Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.fd < 0 || ::fsync(d.fd) != 0)
      throw Error(ErrorCode::kIo, dir.string() + ": " + std::strerror(errno));
  }
  return f;
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(ErrorCode::kIo, path + ": " + std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
}

// Writes back every file of the file system holding `dir_fd` (the batch's PDFs and their
// renames) and commits its journal once: syncfs(2), which reports write-back errors since Linux
// 5.8. Elsewhere sync(2), which flushes every file system.
int sync_filesystem(int dir_fd) {
#if defined(__linux__)
  return ::syncfs(dir_fd);
#else
  (void)dir_fd;
  ::sync();
  return 0;
#endif
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
  auto j = nlohmann::json::parse(text, nullptr, false);
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
  r.data = std::move(j["data"]);
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
  if (o.commit_every < 1)
    throw Error(ErrorCode::kInvalidArgument, "commit_every must be at least 1");
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
  const Fd results = open_results(results_path);
  const Fd out_dir(::open(o.out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (out_dir.fd < 0) throw Error(ErrorCode::kIo, o.out_dir + ": " + std::strerror(errno));

  std::mutex in_mu, out_mu;
  std::size_t next_line = 0;  // 0-based index among all physical lines (guarded by in_mu)
  std::atomic<std::int64_t> issued{0}, rejected{0};
  std::exception_ptr fatal;  // the first I/O failure (guarded by out_mu)
  std::atomic<bool> stop{false};

  // Group commit (batch.h "Durability"): workers queue their result lines; the committer makes
  // the PDFs durable (one syncfs of the output directory's file system), then appends the lines
  // and fdatasyncs the results file — every `commit_every` licences or kCommitInterval, and at
  // the end. A PDF per fsync would cost a journal commit per licence.
  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::string pending;             // complete result lines not yet in the results file
  std::size_t pending_count = 0;   // (guarded by commit_mu)
  bool workers_done = false;       // (guarded by commit_mu)
  const std::size_t commit_every = static_cast<std::size_t>(o.commit_every);
  auto record = [&](const nlohmann::json& r) {
    std::string text = r.dump() + "\n";
    std::lock_guard<std::mutex> lock(commit_mu);
    pending += text;
    if (++pending_count >= commit_every) commit_cv.notify_one();
  };
  auto fail = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(out_mu);
    if (!fatal) fatal = std::move(e);
    stop = true;
  };
  auto commit = [&](const std::string& lines) {
    if (sync_filesystem(out_dir.fd) != 0)
      throw Error(ErrorCode::kIo, o.out_dir + ": syncing the issued files: " + std::strerror(errno));
    write_all(results.fd, lines, results_path);
    if (::fdatasync(results.fd) != 0)
      throw Error(ErrorCode::kIo, results_path + ": " + std::strerror(errno));
  };
  std::thread committer([&] {
    std::unique_lock<std::mutex> lock(commit_mu);
    for (;;) {
      commit_cv.wait_for(lock, kCommitInterval,
                         [&] { return workers_done || pending_count >= commit_every; });
      if (pending.empty()) {
        if (workers_done) return;
        continue;
      }
      std::string lines;
      lines.swap(pending);
      pending_count = 0;
      lock.unlock();
      try {
        commit(lines);
      } catch (...) {
        // Stop the workers; the lines not written are re-issued by the next run.
        fail(std::current_exception());
        lock.lock();
        pending.clear();
        pending_count = 0;
        if (workers_done) return;
        continue;
      }
      lock.lock();
    }
  });
  // Ends the committer after a last commit of what is queued (also when a worker failed: the
  // licences finished before the failure keep their results).
  auto finish_commits = [&] {
    {
      std::lock_guard<std::mutex> lock(commit_mu);
      workers_done = true;
    }
    commit_cv.notify_one();
    committer.join();
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
        fail(std::current_exception());
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
  finish_commits();
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

  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.issued = issued.load();
  sum.rejected = rejected.load();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  sum.peak_rss_kb = ru.ru_maxrss;
  return sum;
}

}  // namespace certctl
