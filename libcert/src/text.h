// text.h (private) — Unicode helpers shared by template validation and rendering (ICU).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace libcert::text {

// Decodes strict UTF-8 (no overlongs, surrogates or truncation). nullopt if ill-formed.
std::optional<std::u32string> decode(std::string_view utf8);
std::string encode(std::u32string_view cps);
std::string encode(char32_t cp);
// NFC normalisation (Unicode UAX #15) via ICU. Input must be well-formed.
std::u32string nfc(const std::u32string& s);
// Removes leading/trailing white space (Unicode White_Space, incl. U+3000 ideographic space).
std::u32string trim(const std::u32string& s);
bool is_white_space(char32_t cp);
// "U+20000"
std::string code_point_name(char32_t cp);

}  // namespace libcert::text
