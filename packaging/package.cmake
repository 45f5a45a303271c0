# The Debian package (docs/deploy.md, "Install the package"): in the build
# directory, `cpack -G DEB` writes polc_<version>_amd64.deb with
#   /usr/bin/polc                          stripped
#   /usr/share/polc/include/bpf/*.h        libbpf's headers for BPF programs, of
#                                          the libbpf polc links (the installed
#                                          polc compiles with them: codegen's
#                                          packagedIncludeDir(); bpf/lib is
#                                          embedded in the binary)
#   /usr/share/man/man1/polc*.1.gz         from --help, by help2man (man/generate.cmake)
#   /usr/share/bash-completion/completions/polc
#   /usr/lib/systemd/system/polc-agent.service   not enabled
#   /etc/default/polc                      the agent's settings (a conffile)
#   /etc/polc/trusted-keys/, /var/lib/polc/bundles/   the agent's defaults
# Included from the top CMakeLists.txt, after the targets.

# Paths below the prefix are fixed: the installed polc finds share/polc
# from bin/polc.
install(TARGETS polc RUNTIME DESTINATION bin)

# Only what polc's generated C includes (bpf_helpers.h includes the defs).
find_path(POLC_LIBBPF_INCLUDE_DIR bpf/bpf_helpers.h HINTS ${LIBBPF_INCLUDEDIR} REQUIRED)
install(FILES ${POLC_LIBBPF_INCLUDE_DIR}/bpf/bpf_helpers.h
              ${POLC_LIBBPF_INCLUDE_DIR}/bpf/bpf_helper_defs.h
              ${POLC_LIBBPF_INCLUDE_DIR}/bpf/bpf_endian.h
        DESTINATION share/polc/include/bpf)

# Man pages are written at install time (so that a build does not run
# help2man each time polc is linked), from the binary being installed.
set(POLC_MAN_DIR ${CMAKE_BINARY_DIR}/packaging/man)
install(CODE "
  execute_process(
    COMMAND \${CMAKE_COMMAND} -DPOLC=$<TARGET_FILE:polc> -DVERSION=${PROJECT_VERSION}
            -DSOURCE_DATE_EPOCH=${POLC_SOURCE_DATE_EPOCH} -DOUT=${POLC_MAN_DIR}
            -P ${CMAKE_CURRENT_LIST_DIR}/man/generate.cmake
    RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR \"writing the man pages failed\")
  endif()
  file(GLOB pages ${POLC_MAN_DIR}/*.1.gz)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/share/man/man1\" TYPE FILE FILES \${pages})
")

install(FILES ${CMAKE_CURRENT_LIST_DIR}/bash-completion/polc
        DESTINATION share/bash-completion/completions)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/polc-agent.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/default/polc DESTINATION /etc/default)
install(DIRECTORY DESTINATION /etc/polc/trusted-keys)
install(DIRECTORY DESTINATION /var/lib/polc/bundles)

set(POLC_PACKAGE_MAINTAINER "polc developers <polc@localhost>"
    CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME polc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "compiler of label-based network policy into eBPF programs, and their loader")
# CPack puts the summary first, then this, each line indented.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "polc compiles network policy written against labels, not IP addresses,
into small per-endpoint eBPF programs plus hashed lookup tables, and loads
them with tc on Linux hosts. It compiles the programs with clang at run
time. The package also holds the polc host agent's systemd unit, not enabled.")
set(CPACK_PACKAGE_CONTACT "${POLC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # polc_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries polc links, from dpkg-shlibdeps; besides them, clang
# compiles the programs and linux-libc-dev has the kernel headers they
# include (linux/bpf.h, asm/types.h). `polc lab` runs ip.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "clang, linux-libc-dev")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "iproute2")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
