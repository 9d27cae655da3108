#include "ofd_zip.h"

#include <zip.h>

#include <memory>
#include <set>

#include "libcert/error.h"

namespace libcert::ofd {

namespace {
struct ZipCloser {
  void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct SourceFree {
  void operator()(zip_source_t* s) const noexcept { zip_source_free(s); }
};
struct FileClose {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
using Zip = std::unique_ptr<zip_t, ZipCloser>;
using Source = std::unique_ptr<zip_source_t, SourceFree>;
using File = std::unique_ptr<zip_file_t, FileClose>;

[[noreturn]] void bad(const std::string& m) { throw Error(ErrorCode::kInvalidArgument, "zip: " + m); }
[[noreturn]] void limit(const std::string& m) {
  throw Error(ErrorCode::kLimitExceeded, "zip: " + m);
}
std::string zerr(zip_error_t* e) {
  const std::string s = zip_error_strerror(e);
  return s;
}
}  // namespace

bool safe_name(std::string_view name) {
  if (name.empty() || name.size() > 1024 || name.front() == '/') return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = name.find('/', start);
    const std::string_view seg =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (slash == std::string_view::npos && seg.empty()) return true;  // "dir/" (directory entry)
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (const char ch : seg) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::vector<ZipEntry> zip_read(std::string_view bytes, const ZipLimits& limits) {
  zip_error_t err;
  zip_error_init(&err);
  Source src(zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err));
  if (!src) bad("cannot create a source: " + zerr(&err));
  // ZIP_CHECKCONS: libzip compares every local header with its central directory entry (name,
  // sizes, CRC, method) and the directory with the end record — a local/central mismatch is the
  // classic way to show one file to one reader and another to the next.
  Zip za(zip_open_from_source(src.get(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!za) {
    const std::string m = zerr(&err);
    const int code = zip_error_code_zip(&err);
    zip_error_fini(&err);
    // libzip refuses a central directory that names one entry twice (readers disagree on which
    // copy counts: first or last).
    if (code == ZIP_ER_EXISTS) bad("duplicate entry name in the central directory (" + m + ")");
    bad("not a consistent ZIP archive: " + m);
  }
  zip_source_keep(src.get());  // za holds a reference now; ours is released by Source
  const zip_int64_t n = zip_get_num_entries(za.get(), 0);
  if (n < 0) bad("cannot count entries");
  if (static_cast<std::size_t>(n) > limits.max_entries)
    limit(std::to_string(n) + " entries, limit " + std::to_string(limits.max_entries));
  std::vector<ZipEntry> out;
  std::set<std::string, std::less<>> names;
  std::size_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(n); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za.get(), i, ZIP_FL_ENC_RAW, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0)
      bad("entry " + std::to_string(i) + " unreadable");
    const std::string name = st.name;
    if (!safe_name(name)) bad("entry name '" + name + "' is not a safe package path");
    // The same name twice: readers disagree on which one counts (first or last).
    if (!names.insert(name).second) bad("duplicate entry name '" + name + "'");
    if (name.back() == '/') continue;  // directory entry
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 &&
        st.encryption_method != ZIP_EM_NONE)
      bad("entry '" + name + "' is encrypted");
    if ((st.valid & ZIP_STAT_COMP_METHOD) != 0 && st.comp_method != ZIP_CM_STORE &&
        st.comp_method != ZIP_CM_DEFLATE)
      bad("entry '" + name + "': compression method " + std::to_string(st.comp_method) +
          " (only stored and deflate)");
    if (st.size > limits.max_entry_size)
      limit("entry '" + name + "' declares " + std::to_string(st.size) + " bytes, limit " +
            std::to_string(limits.max_entry_size));
    File f(zip_fopen_index(za.get(), i, 0));
    if (!f) bad("entry '" + name + "' cannot be opened: " + zip_strerror(za.get()));
    // Read at most the declared size + 1: more data than declared is an inconsistency, and the
    // limit holds whatever the header says.
    std::string data(static_cast<std::size_t>(st.size) + 1, '\0');
    std::size_t got = 0;
    for (;;) {
      const zip_int64_t r = zip_fread(f.get(), data.data() + got, data.size() - got);
      if (r < 0) bad("entry '" + name + "' is corrupt: " + zip_file_strerror(f.get()));
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
      if (got == data.size()) bad("entry '" + name + "' inflates beyond its declared size");
    }
    if (got != st.size) bad("entry '" + name + "' is shorter than its declared size");
    data.resize(got);
    total += got;
    if (total > limits.max_total_size)
      limit("more than " + std::to_string(limits.max_total_size) + " decompressed bytes");
    out.push_back({name, std::move(data)});
  }
  return out;
}

std::string zip_write(const std::vector<ZipEntry>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  Source src(zip_source_buffer_create(nullptr, 0, 0, &err));
  if (!src) throw Error(ErrorCode::kInternal, "zip: " + zerr(&err));
  zip_t* za = zip_open_from_source(src.get(), ZIP_TRUNCATE, &err);
  if (za == nullptr) throw Error(ErrorCode::kInternal, "zip: open for writing: " + zerr(&err));
  zip_source_keep(src.get());
  Zip guard(za);
  for (const auto& e : entries) {
    if (!safe_name(e.name)) throw Error(ErrorCode::kInvalidArgument, "zip: bad name " + e.name);
    zip_source_t* s = zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    if (s == nullptr) throw Error(ErrorCode::kInternal, "zip: buffer");
    const zip_int64_t idx = zip_file_add(za, e.name.c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      throw Error(ErrorCode::kInternal, std::string("zip: add: ") + zip_strerror(za));
    }
    const auto u = static_cast<zip_uint64_t>(idx);
    if (zip_set_file_compression(za, u, ZIP_CM_DEFLATE, 9) != 0 ||
        zip_file_set_mtime(za, u, 315532800, 0) != 0)  // 1980-01-01: the DOS epoch
      throw Error(ErrorCode::kInternal, std::string("zip: attributes: ") + zip_strerror(za));
  }
  if (zip_close(guard.get()) != 0)
    throw Error(ErrorCode::kInternal, std::string("zip: close: ") + zip_strerror(guard.get()));
  (void)guard.release();  // closed and freed by zip_close
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(src.get(), &st) != 0 || zip_source_open(src.get()) != 0)
    throw Error(ErrorCode::kInternal, "zip: reading the written archive");
  std::string out(static_cast<std::size_t>(st.size), '\0');
  const zip_int64_t r = zip_source_read(src.get(), out.data(), out.size());
  zip_source_close(src.get());
  if (r < 0 || static_cast<std::size_t>(r) != out.size())
    throw Error(ErrorCode::kInternal, "zip: short read of the written archive");
  return out;
}

}  // namespace libcert::ofd
