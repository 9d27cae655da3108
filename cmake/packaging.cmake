# Installation of certd and certctl (FHS, issue 18) and the two Debian packages made by CPack:
#   certd        binaries, /usr/share/certd (templates, web, demo keys), /etc/certd/certd.json
#                (conffile), the systemd unit, man pages; postinst creates the `certd` user
#   libcert-dev  headers, static library, CMake package, pkg-config file
# Components: `certd_bin` (relative to the prefix: a `cmake --install --prefix DIR` of it is
# relocatable, tests/package uses it), `certd_system` (absolute /etc and /lib/systemd paths:
# the package only) and `dev`. cpack -G DEB groups them into the two packages.
#
#   cpack --config build/dev/CPackConfig.cmake -G DEB -B OUT_DIR   (tests/deb/run.sh)

set(CERTD_SHARE ${CMAKE_INSTALL_DATADIR}/certd)
install(DIRECTORY templates/ DESTINATION ${CERTD_SHARE}/templates COMPONENT certd_bin)
install(DIRECTORY daemon/web/ DESTINATION ${CERTD_SHARE}/web COMPONENT certd_bin)
# The demo PKI, for `certctl --example-keys` (every licence sealed with it says EXAMPLE).
install(DIRECTORY keys-example/ DESTINATION ${CERTD_SHARE}/keys-example COMPONENT certd_bin
        PATTERN "*.sh" EXCLUDE)
install(FILES packaging/certd.json DESTINATION ${CERTD_SHARE}/examples COMPONENT certd_bin)
install(FILES packaging/certd.json DESTINATION ${CERTD_CONFDIR} COMPONENT certd_system)
install(FILES packaging/certd.service DESTINATION /lib/systemd/system COMPONENT certd_system)

# Man pages: docs/man/<page>.<section>.md is the one source (scripts/md2man.sh makes the roff).
file(GLOB CERTD_MAN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/*.md)
set(CERTD_MAN_PAGES)
foreach(src ${CERTD_MAN_SOURCES})
  get_filename_component(page ${src} NAME_WLE)            # certd.json.5
  string(REGEX MATCH "[0-9]$" section ${page})
  set(out ${PROJECT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/md2man.sh ${src} ${PROJECT_VERSION} ${PROJECT_BINARY_DIR}/man/${page}
    COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/${page}
    DEPENDS ${src} ${PROJECT_SOURCE_DIR}/scripts/md2man.sh VERBATIM)
  list(APPEND CERTD_MAN_PAGES ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT certd_bin)
endforeach()
add_custom_target(man ALL DEPENDS ${CERTD_MAN_PAGES})

set(CPACK_PACKAGE_NAME certd)
set(CPACK_PACKAGE_VENDOR "libcert project")
set(CPACK_PACKAGE_CONTACT "libcert maintainers <maintainers@lic.ali.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL certd_bin certd_system dev)
set(CPACK_COMPONENT_CERTD_BIN_GROUP certd)
set(CPACK_COMPONENT_CERTD_SYSTEM_GROUP certd)
set(CPACK_COMPONENT_DEV_GROUP dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_CERTD_PACKAGE_NAME certd)
set(CPACK_DEBIAN_CERTD_DESCRIPTION
    "bilingual Tibetan-Chinese electronic licences: issuance and verification daemon\n certd issues licences as PAdES-sealed PDFs with a signed offline QR code over an HTTP\n API (SQLite or PostgreSQL registry, Merkle audit log); certctl is its command-line client.")
set(CPACK_COMPONENT_CERTD_BIN_DESCRIPTION "${CPACK_DEBIAN_CERTD_DESCRIPTION}")
set(CPACK_DEBIAN_CERTD_PACKAGE_SHLIBDEPS ON)
# Fonts are found through fontconfig at run time (no shared-library dependency to detect).
set(CPACK_DEBIAN_CERTD_PACKAGE_DEPENDS
    "fonts-noto-core, fonts-noto-cjk, fonts-arphic-uming, fonts-hanazono, fonts-tibetan-machine, fonts-wqy-zenhei, passwd")
set(CPACK_DEBIAN_CERTD_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/postinst ${PROJECT_SOURCE_DIR}/packaging/prerm
    ${PROJECT_SOURCE_DIR}/packaging/postrm ${PROJECT_SOURCE_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_CERTD_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcert-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "libcert: bilingual electronic licences (development files)\n Headers, static library, CMake package (find_package(libcert CONFIG)) and pkg-config\n file of libcert: render, seal (PAdES) and verify licences.")
set(CPACK_COMPONENT_DEV_DESCRIPTION "${CPACK_DEBIAN_DEV_DESCRIPTION}")
# What a consumer links against (cmake/libcertDeps.cmake, libcert.pc Requires.private).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libssl-dev, zlib1g-dev, libcairo2-dev, libpango1.0-dev, libqrencode-dev, libpoppler-glib-dev, libicu-dev, libzip-dev, libxml2-dev, libdeflate-dev, libharfbuzz-dev, nlohmann-json3-dev, pkg-config")
include(CPack)
