# The link dependencies of libcert, found in one place: by the build (CMakeLists.txt) and by a
# consumer's find_package(libcert) (libcertConfig.cmake includes this installed copy). libcert is
# a static library, so its private dependencies must be found by the consumer too; the
# pkg-config modules are GLOBAL imported targets so that any directory of the consumer sees them.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
find_dependency(OpenSSL 3)
find_dependency(nlohmann_json 3)
find_dependency(ZLIB)
foreach(_libcert_dep
    "CAIRO;cairo cairo-pdf cairo-svg cairo-png"
    "PANGO;pangocairo pangoft2 fontconfig harfbuzz harfbuzz-subset"
    "QRENCODE;libqrencode"
    "LIBDEFLATE;libdeflate"
    "POPPLER;poppler-glib"
    "ICU;icu-uc icu-i18n"
    "LIBZIP;libzip"
    "LIBXML2;libxml-2.0")
  list(GET _libcert_dep 0 _libcert_prefix)
  list(GET _libcert_dep 1 _libcert_modules)
  separate_arguments(_libcert_modules)
  if(NOT TARGET PkgConfig::${_libcert_prefix})
    pkg_check_modules(${_libcert_prefix} REQUIRED IMPORTED_TARGET GLOBAL ${_libcert_modules})
  endif()
endforeach()
unset(_libcert_dep)
unset(_libcert_prefix)
unset(_libcert_modules)
