# heatblast_warnings(target): our warning set, applied per target (never to global flags).
function(heatblast_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(HEATBLAST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
