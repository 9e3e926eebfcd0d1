#!/usr/bin/env bash
# load-worker beside wrk against the same local HTTP target (fixed_http_server), each pinned to
# one core with taskset, the server on another: requests/s of both and their ratio, the median
# of RUNS runs. Needs wrk (apt-get install wrk) and a build with HEATBLAST_BUILD_BENCH=ON.
#   tests/bench/http_worker_bench.sh [BUILD_DIR] [CONNECTIONS] [RUNS] [SECONDS]
# BASELINE_WORKER=PATH also runs another load-worker binary (an older build) in each run, after
# the current one, so that before and after are compared under the same machine load.
set -euo pipefail
build=${1:-build}
connections=${2:-1}
runs=${3:-5}
seconds=${4:-5}
client_cpu=${CLIENT_CPU:-0}
server_cpu=${SERVER_CPU:-1}
server_bin=$build/tests/bench/fixed_http_server
worker_bin=$build/apps/load-tester/load-worker
for f in "$server_bin" "$worker_bin"; do
  [ -x "$f" ] || { echo "missing $f: cmake --build $build --target fixed_http_server load-worker" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }

out=$(mktemp)
taskset -c "$server_cpu" "$server_bin" 0 >"$out" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
until grep -q listening "$out"; do
  kill -0 $server 2>/dev/null || { echo "fixed_http_server did not start" >&2; exit 1; }
  sleep 0.05
done
port=$(awk '/listening/ {print $3}' "$out")
url=http://127.0.0.1:$port

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

baseline=${BASELINE_WORKER:-}
worker_rate() {  # BINARY QUERIES: the queries/s load-worker prints
  taskset -c "$client_cpu" "$1" --target "$url" --query 'GET /' \
      --queries "$2" --connections "$connections" 2>&1 |
    sed -n 's/.*(\([0-9.]*\) queries\/s).*/\1/p'
}

wrk_rates=() worker_rates=() baseline_rates=()
for ((i = 1; i <= runs; i++)); do
  w=$(taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${seconds}s" "$url/" |
    awk '/^Requests\/sec:/ {print $2}')
  # As many queries as wrk answered in the same time, so both run about as long.
  queries=$(awk -v r="$w" -v s="$seconds" 'BEGIN {printf "%d", r * s}')
  l=$(worker_rate "$worker_bin" "$queries")
  wrk_rates+=("$w") worker_rates+=("$l")
  if [ -n "$baseline" ]; then
    b=$(worker_rate "$baseline" "$queries")
    baseline_rates+=("$b")
    echo "run $i: wrk $w req/s, load-worker $l queries/s, baseline $b queries/s"
  else
    echo "run $i: wrk $w req/s, load-worker $l queries/s"
  fi
done
wm=$(printf '%s\n' "${wrk_rates[@]}" | median)
lm=$(printf '%s\n' "${worker_rates[@]}" | median)
awk -v w="$wm" -v l="$lm" -v c="$connections" 'BEGIN {
  printf "median of runs, %d connection(s), one core: wrk %.0f req/s, load-worker %.0f queries/s, ratio %.2f\n", c, w, l, l / w }'
if [ -n "$baseline" ]; then
  bm=$(printf '%s\n' "${baseline_rates[@]}" | median)
  awk -v w="$wm" -v b="$bm" 'BEGIN {
    printf "baseline load-worker %.0f queries/s, ratio %.2f\n", b, b / w }'
fi
