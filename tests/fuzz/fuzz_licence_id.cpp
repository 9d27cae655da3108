// fuzz_licence_id — LicenceId::parse, check_uscc, check_org_code, check_id_number on arbitrary
// bytes, with round-trip invariants: whatever parse accepts re-parses to the same canonical form,
// and make() rebuilds it when its codes are valid USCCs.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/ids.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::run([&] {
    const auto id = libcert::LicenceId::parse(text);
    const std::string canonical = id.str();
    const auto again = libcert::LicenceId::parse(canonical);
    fuzz::require(again.str() == canonical, "parse(str()) is not a fixed point");
    const std::string body = id.type_code + id.issuer_code + id.serial +
                             canonical.substr(canonical.size() - 5, 3);  // "...001.F"
    fuzz::require(libcert::mod37_36_check(body) == id.check, "check of the canonical form");
    if (!libcert::check_uscc(id.issuer_code) &&
        !libcert::check_uscc(std::string_view(id.type_code).substr(0, 18))) {
      const auto made =
          libcert::LicenceId::make(id.type_code, id.issuer_code, id.serial, id.version);
      fuzz::require(made.str() == canonical, "make() disagrees with parse()");
    }
  });
  fuzz::run([&] {
    const auto why = libcert::check_uscc(text);
    fuzz::require(!why || !why->empty(), "empty USCC message");
    if (!why) fuzz::require(size == 18, "USCC accepted with a length other than 18");
  });
  fuzz::run([&] { (void)libcert::check_org_code(text); });
  fuzz::run([&] {
    const auto why = libcert::check_id_number(text, 20261122);
    if (!why) {
      const std::string n = libcert::normalise_id_number(text);
      fuzz::require(!libcert::check_id_number(n, 20261122), "normalised ID no longer valid");
      fuzz::require(n.back() != 'x', "normalise left a lower-case x");
    }
  });
  return 0;
}
