// ofd_zip.h (private) — the OFD container (GB/T 33190 §7.3: a ZIP package) read and written with
// libzip, with the checks a verifier needs against ZIP tricks: duplicate entry names, local and
// central headers that disagree (libzip's ZIP_CHECKCONS), names that leave the package (absolute,
// "..", backslashes, control characters), encrypted entries, and inflate bombs (size limits
// applied while reading, whatever the headers claim).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace libcert {
class Signer;
struct OfdSealOptions;
}  // namespace libcert

namespace libcert::ofd {

struct ZipEntry {
  std::string name;  // as stored, no leading '/'
  std::string data;  // decompressed bytes
};

struct ZipLimits {
  std::size_t max_entries = 4096;
  std::size_t max_entry_size = 32u << 20;   // decompressed bytes of one entry
  std::size_t max_total_size = 128u << 20;  // decompressed bytes of all entries
};

// Reads every file entry (directory entries, names ending in '/', are skipped) in archive order.
// Throws Error(kInvalidArgument, "zip: ...") for a malformed or tricky archive and
// Error(kLimitExceeded, "zip: ...") beyond a limit.
std::vector<ZipEntry> zip_read(std::string_view bytes, const ZipLimits& limits = {});

// Writes a new archive holding `entries` in this order, deflated, with a fixed DOS time
// (1980-01-01) so that the same entries give the same bytes. Throws Error(kInternal) if libzip
// fails.
std::string zip_write(const std::vector<ZipEntry>& entries);

// True if `name` is a safe relative package path: non-empty segments, no "." or "..", no '\\',
// no control characters, not absolute, at most 1024 bytes.
bool safe_name(std::string_view name);

// seal_ofd (ofd.h) on a package's entries before they are zipped, so that a writer (ofd_writer.h)
// zips once: the entries gain the signature files (and OFD.xml its Signatures element); nothing
// else changes. On a throw, `entries` is unspecified. Throws as seal_ofd.
void seal_entries(std::vector<ZipEntry>& entries, const Signer& signer, std::string_view seal_esl,
                  const OfdSealOptions& options);

// XML character data / attribute value escaping (XML 1.0 §2.4, §3.3.3), for the OFD reader's
// messages and the writer's documents alike.
inline std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace libcert::ofd
