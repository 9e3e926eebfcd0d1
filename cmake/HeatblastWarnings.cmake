# heatblast_warnings(target): our warning set and, when asked for, sanitizers; applied per
# target (never through global flags).
set(HEATBLAST_SANITIZE "" CACHE STRING "Sanitizers for heatblast's own targets, e.g. 'address,undefined'")

function(heatblast_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(HEATBLAST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(HEATBLAST_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${HEATBLAST_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${HEATBLAST_SANITIZE})
  endif()
endfunction()
