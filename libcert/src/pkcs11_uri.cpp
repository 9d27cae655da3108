// pkcs11_uri.cpp — RFC 7512 PKCS#11 URIs and PIN sources (libcert/pkcs11.h).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "libcert/pkcs11.h"

namespace libcert::pkcs11 {

std::string_view to_string(Fault f) noexcept {
  switch (f) {
    case Fault::kModule:
      return "module";
    case Fault::kTokenAbsent:
      return "token-absent";
    case Fault::kPinIncorrect:
      return "pin-incorrect";
    case Fault::kPinLocked:
      return "pin-locked";
    case Fault::kPinUnavailable:
      return "pin-unavailable";
    case Fault::kKeyNotFound:
      return "key-not-found";
    case Fault::kDevice:
      return "device";
  }
  return "device";
}

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "pkcs11 URI: " + what);
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 7512 §2.3: pk11-pchar = unreserved / pk11-res-avail / pct-encoded, where the path excludes
// ';' and '?' (and '/' is allowed), the query excludes '&' (and '/', '?', '|' are allowed). We
// decode every %XX and refuse a bare '%' or a character outside the grammar.
std::string pct_decode(std::string_view s, bool query, const std::string& attr) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) bad(attr + ": truncated %-escape");
      const int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) bad(attr + ": bad %-escape");
      out += static_cast<char>(h * 16 + l);
      i += 2;
      continue;
    }
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    // pk11-res-avail = ":" / "[" / "]" / "@" / "!" / "$" / "'" / "(" / ")" / "*" / "+" / "," / "="
    const bool res_avail = std::string_view(":[]@!$'()*+,=").find(c) != std::string_view::npos;
    const bool extra =
        query ? std::string_view("/?|;").find(c) != std::string_view::npos : c == '/' || c == '&';
    if (!unreserved && !res_avail && !extra) {
      bad(attr + ": character '" + std::string(1, c) + "' must be %-encoded (RFC 7512 §2.3)");
    }
    out += c;
  }
  return out;
}

std::string pct_encode(std::string_view s, bool query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    const bool safe = unreserved ||
                      std::string_view(":[]@!$'()*+,").find(c) != std::string_view::npos ||
                      (query ? (c == '/' || c == '|') : c == '/');
    if (safe) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

void set_once(std::optional<std::string>& field, std::string value, const std::string& attr) {
  // RFC 7512 §2.3: "an attribute MUST NOT appear more than once in the path".
  if (field) bad(attr + ": appears twice");
  field = std::move(value);
}

}  // namespace

Uri Uri::parse(std::string_view text) {
  if (!is_uri(text)) bad("must start with 'pkcs11:'");
  std::string_view rest = text.substr(7);
  const auto q = rest.find('?');
  const std::string_view path = rest.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  Uri u;
  auto each = [](std::string_view s, char sep, auto fn) {
    while (!s.empty()) {
      const auto e = s.find(sep);
      fn(s.substr(0, e));
      if (e == std::string_view::npos) break;
      s.remove_prefix(e + 1);
      if (s.empty()) bad("empty attribute after '" + std::string(1, sep) + "'");
    }
  };
  each(path, ';', [&](std::string_view a) {
    const auto eq = a.find('=');
    if (eq == std::string_view::npos || eq == 0)
      bad("path attribute '" + std::string(a) + "' is not name=value");
    const std::string name(a.substr(0, eq));
    std::string v = pct_decode(a.substr(eq + 1), false, name);
    if (name == "token")
      set_once(u.token, std::move(v), name);
    else if (name == "manufacturer")
      set_once(u.manufacturer, std::move(v), name);
    else if (name == "serial")
      set_once(u.serial, std::move(v), name);
    else if (name == "model")
      set_once(u.model, std::move(v), name);
    else if (name == "library-manufacturer")
      set_once(u.library_manufacturer, std::move(v), name);
    else if (name == "library-description")
      set_once(u.library_description, std::move(v), name);
    else if (name == "slot-description")
      set_once(u.slot_description, std::move(v), name);
    else if (name == "slot-manufacturer")
      set_once(u.slot_manufacturer, std::move(v), name);
    else if (name == "object")
      set_once(u.object, std::move(v), name);
    else if (name == "id")
      set_once(u.id, std::move(v), name);
    else if (name == "type") {
      if (v != "private" && v != "public" && v != "cert" && v != "secret-key" && v != "data")
        bad("type: '" + v + "' is not private, public, cert, secret-key or data (§2.3)");
      set_once(u.type, std::move(v), name);
    } else if (name == "slot-id") {
      if (u.slot_id) bad("slot-id: appears twice");
      char* end = nullptr;
      if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos)
        bad("slot-id: must be a decimal number");
      u.slot_id = std::strtoul(v.c_str(), &end, 10);
    } else if (name == "library-version") {
      bad("library-version: not supported here (name the token instead)");
    } else {
      bad("unknown path attribute '" + name + "'");
    }
  });
  each(query, '&', [&](std::string_view a) {
    const auto eq = a.find('=');
    if (eq == std::string_view::npos || eq == 0)
      bad("query attribute '" + std::string(a) + "' is not name=value");
    const std::string name(a.substr(0, eq));
    std::string v = pct_decode(a.substr(eq + 1), true, name);
    if (name == "module-path")
      set_once(u.module_path, std::move(v), name);
    else if (name == "module-name")
      set_once(u.module_name, std::move(v), name);
    else if (name == "pin-source")
      set_once(u.pin_source, std::move(v), name);
    else if (name == "pin-value")
      bad("pin-value is refused: name a pin-source (file:, env: or credential:) instead");
    else
      bad("unknown query attribute '" + name + "'");
  });
  if (u.module_path && u.module_path->front() != '/') bad("module-path: must be an absolute path");
  return u;
}

std::string Uri::str() const {
  std::string p;
  auto add = [&](const char* name, const std::optional<std::string>& v) {
    if (!v) return;
    if (!p.empty()) p += ';';
    p += name;
    p += '=';
    p += pct_encode(*v, false);
  };
  add("library-manufacturer", library_manufacturer);
  add("library-description", library_description);
  add("slot-manufacturer", slot_manufacturer);
  add("slot-description", slot_description);
  if (slot_id) add("slot-id", std::to_string(*slot_id));
  add("manufacturer", manufacturer);
  add("model", model);
  add("serial", serial);
  add("token", token);
  add("object", object);
  add("id", id);
  add("type", type);
  std::string q;
  auto addq = [&](const char* name, const std::optional<std::string>& v) {
    if (!v) return;
    q += q.empty() ? '?' : '&';
    q += name;
    q += '=';
    q += pct_encode(*v, true);
  };
  addq("module-name", module_name);
  addq("module-path", module_path);
  addq("pin-source", pin_source);
  return "pkcs11:" + p + q;
}

Env process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string read_pin(std::string_view source, const Env& env_in) {
  const Env env = env_in ? env_in : process_env();
  const std::string src(source);
  auto first_line = [&](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw TokenError(Fault::kPinUnavailable, "pin-source " + src + ": cannot read the file");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw TokenError(Fault::kPinUnavailable, "pin-source " + src + ": empty");
    return line;
  };
  if (src.rfind("file:", 0) == 0) {
    // RFC 8089 file URI: "file:/abs" or "file:///abs".
    std::string path = src.substr(5);
    if (path.rfind("///", 0) == 0) path = path.substr(2);
    if (path.empty() || path[0] != '/')
      throw Error(ErrorCode::kInvalidArgument,
                  "pin-source " + src + ": file: needs an absolute path");
    return first_line(path);
  }
  if (!src.empty() && src[0] == '/') return first_line(src);
  if (src.rfind("env:", 0) == 0) {
    const std::string name = src.substr(4);
    if (name.empty())
      throw Error(ErrorCode::kInvalidArgument, "pin-source env: needs a variable name");
    auto v = env(name.c_str());
    if (!v || v->empty())
      throw TokenError(Fault::kPinUnavailable, "pin-source " + src + ": variable unset or empty");
    return *v;
  }
  if (src.rfind("credential:", 0) == 0) {
    // systemd.exec(5) "Credentials": LoadCredential=NAME:... puts the secret in
    // $CREDENTIALS_DIRECTORY/NAME, readable by the service only, never in its environment.
    const std::string name = src.substr(11);
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw Error(ErrorCode::kInvalidArgument,
                  "pin-source " + src + ": a credential name has no '/'");
    auto dir = env("CREDENTIALS_DIRECTORY");
    if (!dir || dir->empty())
      throw TokenError(Fault::kPinUnavailable,
                       "pin-source " + src +
                           ": $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)");
    return first_line(*dir + "/" + name);
  }
  throw Error(ErrorCode::kInvalidArgument,
              "pin-source '" + src + "': expected file:/PATH, /PATH, env:NAME or credential:NAME");
}

}  // namespace libcert::pkcs11
