# Warnings for our own targets only (prof_set_warnings(target)); -Werror with PROF_WERROR.
# -Wnull-dereference is left out: g++ 12 reports false positives inside Boost.program_options.
function(prof_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align
                                           -Wimplicit-fallthrough)
  if(PROF_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
