# What turns the built `profile` into an installable tool: the git revision behind --version,
# the man pages and shell completions generated from the binary's own option tables, and the
# install rules (bin/profile, man1, bash and zsh completion, docs). cli/CMakeLists.txt calls these.
include(GNUInstallDirs)

# Writes OUTPUT (a .cpp defining prof::app::git_revision()) on every build, through
# cmake/GitRevision.cmake, which rewrites it only when `git describe` changed.
function(prof_git_revision target output)
  add_custom_target(prof_git_revision
    BYPRODUCTS ${output}
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${output}
            -P ${CMAKE_SOURCE_DIR}/cmake/GitRevision.cmake
    COMMENT "Reading the git revision for --version" VERBATIM)
  add_dependencies(${target} prof_git_revision)
endfunction()

# Runs the linked binary's hidden --help-format (cli/docgen.h) for the man pages (one per
# subcommand, listed by the binary itself, so new subcommands and options need no edit here)
# and the completions; part of ALL, so `cmake --build` (not `--target profile`) makes them.
function(prof_generated_docs target)
  set(man_dir ${CMAKE_BINARY_DIR}/doc/man1)
  set(bash_file ${CMAKE_BINARY_DIR}/doc/completion/profile)
  set(zsh_file ${CMAKE_BINARY_DIR}/doc/completion/_profile)
  set(stamp ${CMAKE_BINARY_DIR}/doc/man1.stamp)
  add_custom_command(
    OUTPUT ${stamp} ${bash_file} ${zsh_file}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${man_dir}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir} ${CMAKE_BINARY_DIR}/doc/completion
    COMMAND $<TARGET_FILE:${target}> --help-format=man ${man_dir}
    COMMAND $<TARGET_FILE:${target}> --help-format=bash ${bash_file}
    COMMAND $<TARGET_FILE:${target}> --help-format=zsh ${zsh_file}
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${target}
    COMMENT "Generating man pages and shell completions from profile's options"
    VERBATIM)
  add_custom_target(profile_docs ALL DEPENDS ${stamp} ${bash_file} ${zsh_file})

  install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${man_dir}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          FILES_MATCHING PATTERN "*.1")
  install(FILES ${bash_file} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  # zsh looks in vendor-completions for the distribution's packages (prefix /usr, the .deb) and
  # in site-functions under /usr/local; decided when installing, as CPack installs to /usr.
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions\")
    else()
      set(zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/site-functions\")
    endif()
    file(INSTALL \"${zsh_file}\" DESTINATION \"\${zsh_dir}\")")
  file(GLOB docs ${CMAKE_SOURCE_DIR}/docs/*.md)
  install(FILES ${CMAKE_SOURCE_DIR}/README.md ${docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
endfunction()
