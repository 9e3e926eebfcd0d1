# heatblast_warnings(target): our warning set and, when asked for, sanitizers; applied per
# target (never through global flags).
set(HEATBLAST_SANITIZE "" CACHE STRING "Sanitizers for heatblast's own targets, e.g. 'address,undefined'")
# libFuzzer targets (tests/fuzz): clang only. Every target of ours then gets coverage
# instrumentation for the fuzzer, under ASan+UBSan unless HEATBLAST_SANITIZE says otherwise.
option(HEATBLAST_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)
if(HEATBLAST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "HEATBLAST_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT HEATBLAST_SANITIZE)
    set(HEATBLAST_SANITIZE "address,undefined" CACHE STRING "" FORCE)
  endif()
endif()

function(heatblast_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(HEATBLAST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(HEATBLAST_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${HEATBLAST_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${HEATBLAST_SANITIZE})
    if(HEATBLAST_SANITIZE MATCHES "undefined")
      # Undefined behaviour aborts, as an ASan report does: a test or fuzzer then fails even in
      # a child process whose environment has no UBSAN_OPTIONS=halt_on_error=1. Except
      # pointer-overflow, which RapidJSON's own header commits on every parse: it stays
      # recoverable so that cmake/ubsan-suppressions.txt can name that one place (with
      # halt_on_error=1 any other report still halts).
      target_compile_options(${target} PRIVATE -fno-sanitize-recover=undefined
                                               -fsanitize-recover=pointer-overflow)
    endif()
  endif()
  if(HEATBLAST_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
