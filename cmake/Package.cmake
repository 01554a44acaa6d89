# `cpack -G DEB` (or `cmake --build build --target package`): a Debian package of what
# `cmake --install` installs, under /usr. Depends come from dpkg-shlibdeps (libdw1, libelf1,
# libboost-*, libstdc++6, libc6, compression libraries), plus libpfm4 and libcurl4, which
# shlibdeps cannot see: they are dlopen()ed on first use instead of linked (the collector's
# events, collector/src/events.cpp; --push, cli/push.cpp), so that no run pays for loading them.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME profile)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Linux CPU profiler and flame-graph toolkit (perf_event_open, folded stacks, SVG)")
set(CPACK_PACKAGE_DESCRIPTION
    "One fast tool instead of perf record + perf script + stackcollapse-perf.pl + flamegraph.pl,
whose four stages also work alone and speak the ecosystem's formats (perf.data, perf-script
text, folded stacks, SVG, pprof, speedscope).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install with DESTDIR and prefix /usr, so the install rules see the real prefix (the zsh
# completion's directory depends on it: cmake/ShipProfile.cmake).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "profile developers <profile@invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libpfm4, libcurl4")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "linux-perf, libc6-dbg")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/DebManPages.cmake)
include(CPack)
