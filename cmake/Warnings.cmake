# Warnings for our own targets only (prof_set_warnings(target)); -Werror with PROF_WERROR.
function(prof_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wnull-dereference
                                           -Wimplicit-fallthrough)
  if(PROF_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
