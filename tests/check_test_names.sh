#!/usr/bin/env bash
# ctest cuts a test's name at ';' (a CMake list separator), and the Catch2 filter made from the
# cut name then matches nothing: the test "passes" without running. Refuse such names.
#   check_test_names.sh TESTS_DIR
set -u
if hits=$(grep -rn --include='*.cpp' 'TEST_CASE("[^"]*;' "$1"); then
  echo "TEST_CASE names with ';' never run under ctest; use ',' instead:"
  echo "$hits"
  exit 1
fi
