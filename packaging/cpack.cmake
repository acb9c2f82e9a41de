# Install rules and the Debian package of the probe: `cmake --build B --target kuzet-probe && cd B &&
# cpack -G DEB` gives kuzet-probe_<version>_<arch>.deb (docs/packaging.md). Only the "probe" component
# is packaged; the collector is deployed differently.
include(GNUInstallDirs)
# `cpack` / `make install` must not build every target (tests, benchmarks) first: build kuzet-probe,
# then package. packaging/test-deb.sh does both.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(KUZET_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(FILES ${KUZET_PACKAGING_DIR}/kuzet-probe.service DESTINATION lib/systemd/system COMPONENT probe)
install(FILES ${KUZET_PACKAGING_DIR}/probe.yaml DESTINATION /etc/kuzet
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT probe)
install(FILES ${PROJECT_SOURCE_DIR}/tests-spec/kz.yaml ${PROJECT_SOURCE_DIR}/tests-spec/global.yaml
        DESTINATION share/kuzet/specs COMPONENT probe)
install(FILES ${PROJECT_SOURCE_DIR}/docs/daemon.md ${PROJECT_SOURCE_DIR}/docs/packaging.md ${PROJECT_SOURCE_DIR}/docs/consent.md
              ${PROJECT_SOURCE_DIR}/docs/probe-config.example.yaml ${KUZET_PACKAGING_DIR}/capture.conf.example
        DESTINATION share/doc/kuzet-probe COMPONENT probe)
# Man pages, gzip-compressed as Debian policy wants (written roff pages: packaging/man; help2man would need
# a build-time run of the binary and gives worse pages). Bash completion where bash-completion looks.
foreach(page kuzet-probe kuzet-collector)
  set(gz ${CMAKE_BINARY_DIR}/man/${page}.1.gz)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man)
  file(ARCHIVE_CREATE OUTPUT ${gz} PATHS ${KUZET_PACKAGING_DIR}/man/${page}.1 FORMAT raw COMPRESSION GZip)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${KUZET_PACKAGING_DIR}/man/${page}.1)
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/man/kuzet-probe.1.gz DESTINATION share/man/man1 COMPONENT probe)
install(FILES ${KUZET_PACKAGING_DIR}/bash-completion/kuzet-probe DESTINATION share/bash-completion/completions
        COMPONENT probe)
install(FILES ${CMAKE_BINARY_DIR}/man/kuzet-collector.1.gz DESTINATION share/man/man1 COMPONENT collector)
install(FILES ${KUZET_PACKAGING_DIR}/bash-completion/kuzet-collector DESTINATION share/bash-completion/completions
        COMPONENT collector)

set(CPACK_PACKAGE_NAME kuzet)
set(CPACK_PACKAGE_VENDOR "Kuzet project")
set(CPACK_PACKAGE_CONTACT "Kuzet project <kuzet@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kuzet probe: measures internet censorship and shutdowns")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)  # RelWithDebInfo binaries are ~10x larger with their debug info
set(CPACK_COMPONENTS_ALL probe)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_PROBE_PACKAGE_NAME kuzet-probe)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
# libpcap is loaded only when capture is switched on (probe/capture/libpcap.hpp), so shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, libpcap0.8 (>= 1.5)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Measures DNS, TCP, TLS and HTTP reachability of targets, detects blocking, throttling,\n TLS interception and shutdowns, and uploads signed results to a Kuzet collector.\n Runs as an unprivileged, hardened systemd service.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${KUZET_PACKAGING_DIR}/debian/postinst ${KUZET_PACKAGING_DIR}/debian/prerm
    ${KUZET_PACKAGING_DIR}/debian/postrm ${KUZET_PACKAGING_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
