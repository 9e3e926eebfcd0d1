#!/usr/bin/env bash
# The quick start and CI entry point:
#   bash cmake/quickstart.sh run    build, then run the main job on the embedded default
#   bash cmake/quickstart.sh test   build everything and run the whole test suite (ctest)
# Both install missing Debian packages first (cmake/install-deps.sh). The build goes to
# ./build (override with HEATBLAST_BUILD_DIR). Under CI (CI=true) warnings are errors.
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

case "${1:-}" in
  run)
    configure >/dev/null
    cmake --build "$build" -j "$jobs" --target mesos-events
    sample="$build/sample"
    mkdir -p "$sample"
    # Until local-master lands, the main job decodes a generated stream of a busy cluster.
    python3 "$root/tests/bench/gen_events.py" --events 3000 --out-dir "$sample" >/dev/null
    echo "== the first three events of a generated stream, as JSON lines:"
    "$build/apps/mesos-events/mesos-events" "$sample/events.pb.recordio" >"$sample/events.jsonl"
    head -3 "$sample/events.jsonl" | cut -c1-200
    echo "== a summary of the whole stream (protobuf records):"
    "$build/apps/mesos-events/mesos-events" --summary "$sample/events.pb.recordio"
    ;;
  test)
    configure
    cmake --build "$build" -j "$jobs"
    cd "$build"
    ctest --output-on-failure -j "$jobs" --timeout 900
    ;;
  *)
    echo "usage: bash cmake/quickstart.sh run|test" >&2
    exit 2
    ;;
esac
