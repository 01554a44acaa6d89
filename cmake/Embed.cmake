# prof_embed_files(OUTPUT <file.cpp> NAMESPACE <ns> FILES <symbol>=<path> ...)
# Generates, at build time, a .cpp that defines `extern const std::string_view <symbol>` in
# namespace <ns> for each file, holding its bytes. Used by the renderer to ship its own JavaScript
# and CSS inside the binary; the .cpp is regenerated when an asset changes.
set(PROF_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedScript.cmake)

function(prof_embed_files)
  cmake_parse_arguments(ARG "" "OUTPUT;NAMESPACE" "FILES" ${ARGN})
  set(deps)
  foreach(entry ${ARG_FILES})
    string(REGEX REPLACE "^[^=]*=" "" path "${entry}")
    list(APPEND deps ${path})
  endforeach()
  string(REPLACE ";" "|" files_arg "${ARG_FILES}")
  list(JOIN deps " " deps_text)
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${ARG_OUTPUT} -DNAMESPACE=${ARG_NAMESPACE}
            "-DFILES=${files_arg}" -P ${PROF_EMBED_SCRIPT}
    DEPENDS ${deps} ${PROF_EMBED_SCRIPT}
    COMMENT "Embedding ${deps_text}"
    VERBATIM)
endfunction()
