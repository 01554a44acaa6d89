# CPACK_PRE_BUILD_SCRIPTS of the .deb (cmake/Package.cmake): compresses the staged man pages
# with gzip -9n, as Debian policy 12.1 asks (man reads them either way; -n keeps the name and
# time out of the archive, so the package is reproducible). The install tree keeps plain pages.
file(GLOB_RECURSE pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/man/man1/*.1")
foreach(page IN LISTS pages)
  execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()
