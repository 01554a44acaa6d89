# Every dependency comes from a Debian 12 package; a missing one stops configuration with
# the package name to install (scripts/setup.sh installs them all).
include(FindPkgConfig)

function(prof_missing what package)
  message(FATAL_ERROR "profile: ${what} not found. Install it with: apt-get install ${package}"
                      " (or run scripts/setup.sh, which installs every dependency)")
endfunction()

find_package(Threads REQUIRED)

# libpfm4: event name -> perf_event_attr encoding (collector only). Opened with dlopen on first
# use (collector/src/events.cpp), not linked: its tens of thousands of relocations would be paid
# at the start of every run, also by the commands that never name an event.
find_path(PFM_INCLUDE_DIR perfmon/pfmlib_perf_event.h)
find_library(PFM_LIBRARY pfm)
if(NOT PFM_INCLUDE_DIR OR NOT PFM_LIBRARY)
  prof_missing("libpfm4 (perfmon/pfmlib_perf_event.h, libpfm.so)" libpfm4-dev)
endif()
add_library(prof_dep_pfm INTERFACE)
target_include_directories(prof_dep_pfm SYSTEM INTERFACE ${PFM_INCLUDE_DIR})
target_link_libraries(prof_dep_pfm INTERFACE ${CMAKE_DL_LIBS})
add_library(prof::dep::pfm ALIAS prof_dep_pfm)

# elfutils libdw + libelf (symbolizer only).
pkg_check_modules(LIBDW QUIET IMPORTED_TARGET libdw)
if(NOT LIBDW_FOUND)
  prof_missing("elfutils libdw (pkg-config libdw)" "libdw-dev libelf-dev")
endif()
add_library(prof_dep_dw INTERFACE)
target_link_libraries(prof_dep_dw INTERFACE PkgConfig::LIBDW)
add_library(prof::dep::dw ALIAS prof_dep_dw)

# Boost.program_options (command lines) and Boost.iostreams (gz/bz2/xz/zst input).
find_package(Boost 1.74 QUIET COMPONENTS program_options iostreams)
if(NOT Boost_FOUND)
  prof_missing("Boost program_options/iostreams"
               "libboost-program-options-dev libboost-iostreams-dev")
endif()

# protobuf (lite runtime) and protoc: pprof's profile.proto (interop only). zlib: pprof is gzip.
find_package(Protobuf 3 QUIET)
if(NOT Protobuf_FOUND OR NOT Protobuf_PROTOC_EXECUTABLE)
  prof_missing("protobuf (libprotobuf-lite, protoc)" "libprotobuf-dev protobuf-compiler")
endif()
find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  prof_missing("zlib" zlib1g-dev)
endif()

if(PROF_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    prof_missing("GoogleTest" "libgtest-dev libgmock-dev")
  endif()
endif()
if(PROF_BUILD_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    prof_missing("Google Benchmark" libbenchmark-dev)
  endif()
endif()
