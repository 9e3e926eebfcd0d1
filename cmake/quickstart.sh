#!/usr/bin/env bash
# The quick start and CI entry point:
#   bash cmake/quickstart.sh run    build, then run the main job on the embedded default
#   bash cmake/quickstart.sh test   build everything and run the whole test suite (ctest)
#   bash cmake/quickstart.sh sanitize  the same with clang under ASan+UBSan, then the fuzzers
#                                      (the build goes to ./build-san)
#   bash cmake/quickstart.sh tsan [ctest args]  clang under ThreadSanitizer, then ctest (all of
#                                      it, or e.g. `-L integration`; the build goes to ./build-tsan)
# All install missing Debian packages first (cmake/install-deps.sh). The build goes to
# ./build (override with HEATBLAST_BUILD_DIR). Under CI (CI=true) warnings are errors, and `test`
# goes on with `sanitize` (the whole suite under ASan+UBSan, then each fuzzer for 20 s).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${HEATBLAST_BUILD_DIR:-$root/build}"
jobs="${HEATBLAST_JOBS:-$(nproc)}"

bash "$here/install-deps.sh"

configure() {
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEATBLAST_WERROR="$werror" "$@"
}

sanitize() {
  # One clang build under AddressSanitizer and UBSan (UB aborts: -fno-sanitize-recover), with
  # libFuzzer's coverage instrumentation: the whole ctest suite, then each fuzz target for
  # HEATBLAST_FUZZ_SECONDS (20) from its corpus. -O1 (libFuzzer's advice: -O0 runs the tests
  # and fuzzers much slower under ASan) with line tables only (traces still name file:line,
  # links are much smaller).
  san="${HEATBLAST_SANITIZE_BUILD_DIR:-${build}-san}"
  werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S "$root" -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_COMPILER=clang++ \
    -DHEATBLAST_SANITIZE=address,undefined -DHEATBLAST_FUZZ=ON -DHEATBLAST_BUILD_BENCH=OFF \
    -DHEATBLAST_WERROR="$werror"
  cmake --build "$san" -j "$jobs"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan-suppressions.txt}"
  (cd "$san" && ctest --output-on-failure -j "$jobs" --timeout 900)
  HEATBLAST_FUZZ_BUILD_DIR="$san" bash "$root/tests/fuzz/run.sh" "${HEATBLAST_FUZZ_SECONDS:-20}"
}

tsan() {
  # One clang build under ThreadSanitizer, then ctest with the given arguments (the whole
  # suite without any). Not run by CI: almost all state lives on one Asio executor per process;
  # the threads that exist are few (tests/fuzz/README.md, "ThreadSanitizer").
  # Every process writes its reports to $tsan/tsan-reports/report.<pid>, children included (a
  # program a test starts, a load-worker that local-master starts): a report in a child whose
  # stderr a test does not show still fails the run, and is printed at the end.
  local tsan="${HEATBLAST_TSAN_BUILD_DIR:-${build}-tsan}"
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S "$root" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_COMPILER=clang++ \
    -DHEATBLAST_SANITIZE=thread -DHEATBLAST_BUILD_BENCH=OFF -DHEATBLAST_WERROR="$werror"
  cmake --build "$tsan" -j "$jobs"
  local reports="$tsan/tsan-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan-suppressions.txt:log_path=$reports/report}"
  local rc=0
  (cd "$tsan" && ctest --output-on-failure -j "$jobs" --timeout 900 "$@") || rc=$?
  if compgen -G "$reports/report.*" >/dev/null; then
    echo "== ThreadSanitizer reports (from $reports):" >&2
    cat "$reports"/report.* >&2
    rc=1
  fi
  return "$rc"
}

case "${1:-}" in
  run)
    configure >/dev/null
    cmake --build "$build" -j "$jobs" --target local-master etl-scheduler
    port="${HEATBLAST_PORT:-5050}"
    work="$build/quickstart"
    rm -rf "$work" && mkdir -p "$work"
    echo "== starting local-master on 127.0.0.1:$port (log: $work/local-master.log)"
    "$build/apps/local-master/local-master" --listen "127.0.0.1:$port" --work-dir "$work/master" \
      >"$work/local-master.log" 2>&1 &
    master_pid=$!
    trap 'kill "$master_pid" 2>/dev/null; wait "$master_pid" 2>/dev/null' EXIT
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      kill -0 "$master_pid" 2>/dev/null || { cat "$work/local-master.log"; exit 1; }
      sleep 0.1
    done
    echo "== etl-scheduler: 2 rounds of at most 3 tasks, a new round every 2 s"
    "$build/apps/etl-scheduler/etl-scheduler" -master "127.0.0.1:$port" -maxtasks 3 -rounds 2 \
      -wait 2 -cmd 'echo "task $MESOS_TASK_ID on $(hostname)"; sleep 1' \
      -listen '' -state-file "$work/etl-scheduler.db"
    echo "== what the first task printed, from its sandbox:"
    find "$work/master" -name stdout -path '*etl-1-1.*' -exec cat {} +
    ;;
  test)
    configure
    cmake --build "$build" -j "$jobs"
    (cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 900)
    # Once per CI run: the whole suite again under ASan+UBSan, then the fuzzers.
    if [ "${CI:-}" = "true" ]; then sanitize; fi
    ;;
  sanitize)
    sanitize
    ;;
  tsan)
    shift
    tsan "$@"
    ;;
  *)
    echo "usage: bash cmake/quickstart.sh run|test|sanitize|tsan [ctest args]" >&2
    exit 2
    ;;
esac
