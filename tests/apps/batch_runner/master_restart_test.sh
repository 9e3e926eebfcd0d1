#!/usr/bin/env bash
# batch-runner against the local-master program, killed (SIGKILL) and restarted on its work dir
# while a task of the batch runs. The batch must still end as it would have: retries used,
# limit kept, the task that outlived the restart reported finished.
#   master_restart_test.sh LOCAL_MASTER BATCH_RUNNER
set -u
local_master=$1
batch_runner=$2
work=$(mktemp -d)
master_pid=
runner_pid=
cleanup() {
  [[ -n $runner_pid ]] && kill -9 "$runner_pid" 2>/dev/null
  [[ -n $master_pid ]] && kill -9 "$master_pid" 2>/dev/null
  touch "$work/go"  # lets a task still waiting end by itself
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- batch-runner output"; cat "$work/runner.out" "$work/runner.err" 2>/dev/null
  echo "--- local-master output"; cat "$work/master.log" 2>/dev/null
  exit 1
}
# Waits (polling, with a deadline) until the command succeeds.
wait_until() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.05
  done
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_master() {
  "$local_master" --listen "127.0.0.1:$port" --work-dir "$work/master" --hostname localhost \
    --resources 'cpus:2;mem:1024;disk:1024' --allocation-interval 0.1 --heartbeat-interval 0.5 \
    >>"$work/master.log" 2>&1 &
  master_pid=$!
}

cat >"$work/jobs.txt" <<JOBS
# one that works, one that fails twice before it works, one that runs through the master's
# restart, one that always fails
echo one > $work/one
n=\$(ls $work/flaky.* 2>/dev/null | wc -l); touch $work/flaky.\$n; test \$n -ge 2
touch $work/slow.started; while [ ! -f $work/go ]; do sleep 0.05; done
exit 3
JOBS

start_master
"$batch_runner" --master "127.0.0.1:$port" --parallel 2 --retries 2 --give-up-after 30 \
  "$work/jobs.txt" >"$work/runner.out" 2>"$work/runner.err" &
runner_pid=$!

wait_until "the slow task to start" 30 test -f "$work/slow.started"
kill -9 "$master_pid"
wait "$master_pid" 2>/dev/null
start_master
# The framework is back on the restarted master when it sees its next offer or update; the
# slow task ends only now.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
wait_until "local-master to listen again" 10 listening
touch "$work/go"

deadline=$((SECONDS + 60))
while kill -0 "$runner_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "batch-runner did not end within 60s"
  sleep 0.1
done
wait "$runner_pid"
status=$?
runner_pid=
out=$(cat "$work/runner.out")
[[ $status -eq 1 ]] || fail "exit status $status, want 1 (one command failed for good)"
grep -q '^done: 3 finished, 1 failed$' <<<"$out" || fail "no 'done: 3 finished, 1 failed'"
grep -q '^cmd-3: done TASK_FINISHED$' <<<"$out" || fail "the task that outlived the restart did not finish"
[[ $(ls "$work"/flaky.* | wc -l) -eq 3 ]] || fail "the flaky command did not run 3 times"
[[ $(grep -c '^cmd-4: launched' <<<"$out") -eq 3 ]] || fail "cmd-4 did not run 1 + 2 retries"
[[ -f $work/one ]] || fail "cmd-1 did not run"
echo "ok: batch survived the master restart"
