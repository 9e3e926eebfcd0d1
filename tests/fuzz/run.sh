#!/usr/bin/env bash
# Runs every libFuzzer target (or the ones named) for a bounded time under ASan+UBSan:
#   bash tests/fuzz/run.sh [seconds per target, default 20] [target...]
# Builds them first with clang in ${HEATBLAST_FUZZ_BUILD_DIR:-build-fuzz}. Each target starts
# from its seed corpus in tests/fuzz/corpus/<target>/ (read only; new inputs go to the build
# dir). A crash, a leak, undefined behaviour, a timeout or running out of memory fails the run;
# the input that did it is kept in <build>/fuzz-work/<target>/ and named in the output: add it
# to tests/fuzz/corpus/<target>/ with the fix, so that ctest replays it from then on.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${HEATBLAST_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${HEATBLAST_JOBS:-$(nproc)}"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(recordio event master_call rest_bodies flags text_parsers)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="${HEATBLAST_FUZZ_CXX:-clang++}" -DHEATBLAST_FUZZ=ON \
    -DHEATBLAST_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$root/cmake/ubsan-suppressions.txt}"
failed=()
printf '%-14s %10s %8s %8s %8s %6s\n' target execs execs/s cov ft corpus
for target in "${targets[@]}"; do
  work="$build/fuzz-work/$target"
  rm -rf "$work" && mkdir -p "$work/corpus"
  status=0
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/corpus" "$here/corpus/$target" >"$work/log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
  last=$(grep -E '^#[0-9]+' "$work/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-14s %10s %8s %8s %8s %6s\n' "$target" "${execs:--}" "${rate:--}" "${cov:--}" \
    "${ft:--}" "${corp:--}"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    echo "== $target failed (exit $status); the end of its log ($work/log):"
    tail -40 "$work/log"
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
