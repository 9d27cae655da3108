// ids.cpp — GB/T 36904 licence identifiers, GB 32100 USCC (with the GB 11714 organisation code
// inside it) and GB 11643 resident identity numbers. Pure functions, no shared state.
#include "libcert/ids.h"

#include <array>
#include <string>
#include <vector>

#include "libcert/error.h"

namespace libcert {

namespace {

constexpr std::string_view kRoot = "1.2.156.3005.2";     // GB/T 36904 canonical root
constexpr std::string_view kAltRoot = "1.2.156.3003.2";  // seen in some systems (formats.md §1)
constexpr std::size_t kMaxSerial = 64;                   // no real serial comes near this
constexpr std::size_t kMaxIdText = 256;

// ISO 7064 alphabet [0-9A-Z] → 0..35, or -1.
int val36(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kAlnum36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// GB 32100-2015 §4.2: the USCC uses 31 symbols (no I, O, S, V, Z), valued by position here.
constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kUsccWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                              29, 25, 13, 8,  24, 10, 30, 28};
constexpr std::array<int, 8> kOrgWeights = {3, 7, 9, 10, 5, 8, 4, 2};  // GB 11714-1997 §5
constexpr std::array<int, 17> kIdWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                            3, 7, 9,  10, 5, 8, 4, 2};  // GB 11643-1999 §8.2
constexpr std::string_view kIdCheckChars = "10X98765432";

int uscc_val(char c) {
  const auto p = kUsccAlphabet.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Printable description of a character for messages (bytes outside ASCII printable as \xNN).
std::string show(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
}

std::string check_msg(char got, char want) {
  return std::string("check character is ") + got + ", expected " + want;
}

[[noreturn]] void fail(std::string_view field, std::string_view rule, const std::string& msg) {
  std::string full = std::string(field) + ": " + msg;
  throw Error(ErrorCode::kValidation, full, {Problem{std::string(field), std::string(rule), msg}});
}

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

// Segment format rules shared by make() and parse(); returns a message or nullopt.
std::optional<std::string> check_alnum36(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (val36(s[i]) < 0) {
      return "character " + std::to_string(i + 1) + " " + show(s[i]) + " is not in [0-9A-Z]";
    }
  }
  return std::nullopt;
}

std::optional<std::string> type_code_format(std::string_view t) {
  if (t.size() != 21) {
    return "must be 21 characters (USCC of the defining authority + 3 digits), got " +
           std::to_string(t.size());
  }
  if (auto why = check_alnum36(t)) return why;
  for (std::size_t i = 18; i < 21; ++i) {
    if (!is_digit(t[i])) {
      return "character " + std::to_string(i + 1) + " " + show(t[i]) +
             " must be a digit (3-digit type sequence)";
    }
  }
  return std::nullopt;
}

std::optional<std::string> serial_format(std::string_view s) {
  if (s.empty()) return std::string("must not be empty");
  if (s.size() > kMaxSerial) {
    return "longer than " + std::to_string(kMaxSerial) + " characters (" +
           std::to_string(s.size()) + ")";
  }
  return check_alnum36(s);
}

std::string version3(int v) {
  std::string s = std::to_string(v);
  return std::string(3 - s.size(), '0') + s;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

}  // namespace

char mod37_36_check(std::string_view s) {
  // ISO 7064:2003 hybrid system MOD 37,36 as GB/T 36904 §5.6 uses it. Detects every single
  // substitution and every adjacent transposition.
  int p = 36;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int v = val36(s[i]);
    if (v < 0) {
      throw Error(ErrorCode::kValidation, "MOD 37,36 input: character " + std::to_string(i + 1) +
                                              " " + show(s[i]) + " is not in [0-9A-Z]");
    }
    int r = (p + v) % 36;
    if (r == 0) r = 36;
    p = (2 * r) % 37;
  }
  return kAlnum36[static_cast<std::size_t>((37 - p) % 36)];
}

LicenceId LicenceId::make(std::string type_code, std::string issuer_code, std::string serial,
                          int version) {
  // What we emit must be fully valid: the type code carries the defining authority's USCC and the
  // issuer is always an 18-character USCC (never the 6-digit area code some systems use).
  std::vector<Problem> problems;
  if (auto why = type_code_format(type_code)) {
    problems.push_back({"type_code", "format", *why});
  } else if (auto u = check_uscc(std::string_view(type_code).substr(0, 18))) {
    problems.push_back({"type_code", "uscc", "defining authority USCC: " + *u});
  }
  if (auto why = check_uscc(issuer_code)) problems.push_back({"issuer_code", "uscc", *why});
  if (auto why = serial_format(serial)) problems.push_back({"serial", "format", *why});
  if (version < 1 || version > 999) {
    problems.push_back(
        {"version", "range", "must be 1..999 (3 digits), got " + std::to_string(version)});
  }
  if (!problems.empty()) {
    std::string msg = "licence identifier:";
    for (const auto& p : problems) msg += " " + p.field + ": " + p.message + ";";
    msg.pop_back();
    throw Error(ErrorCode::kValidation, msg, std::move(problems));
  }
  LicenceId id;
  id.type_code = std::move(type_code);
  id.issuer_code = std::move(issuer_code);
  id.serial = std::move(serial);
  id.version = version;
  id.check = mod37_36_check(id.type_code + id.issuer_code + id.serial + version3(version));
  return id;
}

LicenceId LicenceId::parse(std::string_view text) {
  constexpr std::string_view kField = "licence_id";
  if (text.size() > kMaxIdText) {
    fail(kField, "length", "longer than " + std::to_string(kMaxIdText) + " characters");
  }
  const auto parts = split_dots(text);
  // root (5 parts) + type, issuer, serial, version, check.
  if (parts.size() != 10) {
    fail(kField, "format",
         "expected 10 dot-separated parts (1.2.156.3005.2.type.issuer.serial.version.check), "
         "got " +
             std::to_string(parts.size()));
  }
  const std::size_t root_len =
      parts[0].size() + parts[1].size() + parts[2].size() + parts[3].size() + parts[4].size() + 4;
  const std::string_view root = text.substr(0, root_len);
  if (root != kRoot && root != kAltRoot) {
    fail(kField, "root", "root is " + std::string(root) + ", expected " + std::string(kRoot));
  }
  const std::string_view type = parts[5], issuer = parts[6], serial = parts[7], ver = parts[8],
                         chk = parts[9];
  if (auto why = type_code_format(type)) fail(kField, "type-code", "type code " + *why);
  if (issuer.size() == 18) {
    for (std::size_t i = 0; i < issuer.size(); ++i) {
      if (uscc_val(issuer[i]) < 0) {
        fail(kField, "issuer-code",
             "issuer code character " + std::to_string(i + 1) + " " + show(issuer[i]) +
                 " is not allowed in a USCC");
      }
    }
  } else if (issuer.size() == 6) {
    // A 6-digit administrative area code as issuer: accepted when reading (formats.md §1).
    for (char c : issuer) {
      if (!is_digit(c)) fail(kField, "issuer-code", "6-character issuer code must be digits");
    }
  } else {
    fail(kField, "issuer-code",
         "issuer code must be an 18-character USCC (or a 6-digit area code), got " +
             std::to_string(issuer.size()) + " characters");
  }
  if (auto why = serial_format(serial)) fail(kField, "serial", "serial " + *why);
  if (ver.size() != 3 || !is_digit(ver[0]) || !is_digit(ver[1]) || !is_digit(ver[2]) ||
      ver == "000") {
    fail(kField, "version", "version '" + std::string(ver) + "' must be 3 digits, 001..999");
  }
  if (chk.size() != 1 || val36(chk[0]) < 0) {
    fail(kField, "check", "check segment '" + std::string(chk) + "' must be one of [0-9A-Z]");
  }
  const std::string body =
      std::string(type) + std::string(issuer) + std::string(serial) + std::string(ver);
  const char want = mod37_36_check(body);
  // Systems on the 1.2.156.3003.2 root compute the check over the root digits too (formats.md §1).
  // That needs no second rule: MOD 37,36 run over "1215630032" returns to its initial state
  // P = 36, so the prefix does not change the check. Root-included checks on the canonical root
  // (state 7 after "1215630052") are NOT accepted: a second valid check value would let one
  // mistyped check character through.
  if (chk[0] != want) fail(kField, "mod37-36-check", check_msg(chk[0], want));
  LicenceId id;
  id.type_code = std::string(type);
  id.issuer_code = std::string(issuer);
  id.serial = std::string(serial);
  id.version = (ver[0] - '0') * 100 + (ver[1] - '0') * 10 + (ver[2] - '0');
  // Canonical form: re-computed over type‖issuer‖serial‖version, whatever the input did.
  id.check = want;
  return id;
}

std::string LicenceId::str() const {
  return std::string(kRoot) + "." + type_code + "." + issuer_code + "." + serial + "." +
         version3(version) + "." + std::string(1, check);
}

std::optional<std::string> check_org_code(std::string_view code) {
  // GB 11714-1997: 8 body characters [0-9A-Z] + check; C9 = 11 − (Σ Ci·Wi mod 11), 10 → X,
  // 11 → 0. Letters count A=10 … Z=35.
  if (code.size() != 9) {
    return "organisation code must be 9 characters, got " + std::to_string(code.size());
  }
  int sum = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const int v = val36(code[i]);
    if (v < 0) {
      return "organisation code character " + std::to_string(i + 1) + " " + show(code[i]) +
             " is not in [0-9A-Z]";
    }
    sum += v * kOrgWeights[i];
  }
  const int c = 11 - sum % 11;
  const char want = c == 10 ? 'X' : c == 11 ? '0' : static_cast<char>('0' + c);
  if (code[8] != want) return "organisation code " + check_msg(code[8], want);
  return std::nullopt;
}

std::optional<std::string> check_uscc(std::string_view code) {
  // GB 32100-2015: 1 registration authority, 1 organisation type, 6 area code (digits),
  // 9 organisation code (GB 11714, own check), 1 check over the first 17 (weights 3^i mod 31).
  if (code.size() != 18) return "must be 18 characters, got " + std::to_string(code.size());
  int sum = 0;
  for (std::size_t i = 0; i < 18; ++i) {
    const int v = uscc_val(code[i]);
    if (v < 0) {
      return "character " + std::to_string(i + 1) + " " + show(code[i]) +
             " is not allowed (GB 32100 alphabet 0-9 A-H J-N P-R T U W-Y)";
    }
    if (i < 17) sum += v * kUsccWeights[i];
  }
  for (std::size_t i = 2; i < 8; ++i) {
    if (!is_digit(code[i])) {
      return "character " + std::to_string(i + 1) + " " + show(code[i]) +
             " must be a digit (characters 3-8 are the administrative area code)";
    }
  }
  if (auto why = check_org_code(code.substr(8, 9))) return why;
  const int c = 31 - sum % 31;
  const char want = kUsccAlphabet[static_cast<std::size_t>(c == 31 ? 0 : c)];
  if (code[17] != want) return check_msg(code[17], want);
  return std::nullopt;
}

std::optional<std::string> check_id_number(std::string_view id, std::int32_t today_yyyymmdd) {
  // GB 11643-1999: 6-digit area code, 8-digit birth date (GB/T 7408), 3-digit sequence, check
  // = "10X98765432"[Σ ai·Wi mod 11] with Wi = 2^(17-i) mod 11.
  if (id.size() != 18) return "must be 18 characters, got " + std::to_string(id.size());
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    if (!is_digit(id[i])) {
      return "character " + std::to_string(i + 1) + " " + show(id[i]) + " must be a digit";
    }
    sum += (id[i] - '0') * kIdWeights[i];
  }
  const char last = id[17] == 'x' ? 'X' : id[17];
  if (!is_digit(last) && last != 'X') {
    return "character 18 " + show(id[17]) + " must be a digit or X";
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (id[i] - '0');
    return v;
  };
  const int y = num(6, 4), m = num(10, 2), d = num(12, 2);
  const std::string date(id.substr(6, 8));
  if (y < 1800) return "birth year " + std::to_string(y) + " (characters 7-10) is before 1800";
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
    return "birth date " + date + " (characters 7-14) is not a real date";
  }
  if (y * 10000 + m * 100 + d > today_yyyymmdd) {
    return "birth date " + date + " (characters 7-14) is in the future";
  }
  const char want = kIdCheckChars[static_cast<std::size_t>(sum % 11)];
  if (last != want) return check_msg(id[17], want);
  return std::nullopt;
}

std::string normalise_id_number(std::string_view id) {
  std::string s(id);
  if (!s.empty() && s.back() == 'x') s.back() = 'X';
  return s;
}

}  // namespace libcert
