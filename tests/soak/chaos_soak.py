#!/usr/bin/env python3
"""Chaos soak: local-master (3 replicas, simulated agents) and soak-scheduler under random faults.

Starts local-master with --replicas 3 --enable-fault-injection --simulate and soak-scheduler
(heatblast::tasks::Framework with a SQLite store) keeping --tasks slots wanted, then injects
faults at random for --duration seconds: leadership moves, stream drops mid-record, stalled
heartbeats, 503 bursts, malformed records, slow responses, kill -9 of the master (restarted with
its --work-dir checkpoint) and of the scheduler (restarted with its store). After a settle period
it checks the invariants and prints them as a table; the exit status is 1 when any is violated.

The faults come from --seed (printed, with the command that replays the same fault sequence;
the timing of the processes is not replayed).

  python3 tests/soak/chaos_soak.py --local-master build/apps/local-master/local-master \\
      --scheduler build/tests/soak/soak-scheduler --duration 600

Invariants:
  wanted tasks      after the settle period every slot has exactly one RUNNING task in the
                    master. Simulated tasks do not survive a master restart (they end as
                    failed), so the scheduler must notice and relaunch them.
  one run per slot  in every sample of the master's /state (about 1 s apart) no slot has two
                    non-terminal tasks, and no task id is launched twice.
  acknowledged      after the settle period no task in the master has an unacknowledged
                    update, and the scheduler held back no acknowledgement.
  resubscribe       every fault that ends the subscription is followed by a SUBSCRIBED within
                    --recover-timeout; p50/p99/max per kind of fault.
  memory            resident memory of the scheduler and of the master: the median of the last
                    third of the chaos is at most 1.25x + 8 MiB the largest of the first third
                    (restarted processes start small: the largest sample is the fair base).
"""
import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import free_ports, http, proc_rss_kib  # noqa: E402

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
            "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"}
FAULTS = ["leader", "close-mid-record", "stall", "unavailable", "bad-record", "delay",
          "master-kill", "scheduler-kill"]
REPLICAS = 3


def now_ms():
    return int(time.time() * 1000)


class Facts:
    """Reads soak-scheduler's fact log as it grows ("<ms> KIND fields...")."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.subscribed = []      # ms
        self.disconnected = []    # ms
        self.starts = []          # ms
        self.launches = {}        # task id -> [(ms, slot)]
        self.updates = 0
        self.summary = None
        self.fatal = []
        self.lock = threading.Lock()

    def poll(self):
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    chunk = f.read()
            except FileNotFoundError:
                return
            self.offset += len(chunk)
            data = self.partial + chunk
            lines = data.split(b"\n")
            self.partial = lines.pop()
            for raw in lines:
                parts = raw.decode(errors="replace").split(" ")
                if len(parts) < 2:
                    continue
                ms, kind = int(parts[0]), parts[1]
                if kind == "SUBSCRIBED":
                    self.subscribed.append(ms)
                elif kind == "STATE" and len(parts) > 2 and parts[2] == "disconnected":
                    self.disconnected.append(ms)
                elif kind == "START":
                    self.starts.append(ms)
                elif kind == "LAUNCH":
                    self.launches.setdefault(parts[3], []).append((ms, parts[2]))
                elif kind == "UPDATE":
                    self.updates += 1
                elif kind == "SUMMARY":
                    self.summary = dict(p.split("=", 1) for p in parts[2:])
                elif kind == "FATAL":
                    self.fatal.append(" ".join(parts[2:]))

    def first_after(self, series, ms):
        with self.lock:
            for t in series:
                if t > ms:
                    return t
        return None


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = args.work_dir
        self.port = args.port or free_ports(REPLICAS)
        self.masters = ",".join(f"127.0.0.1:{self.port + i}" for i in range(REPLICAS))
        self.facts = Facts(os.path.join(self.work, "facts.log"))
        self.master = None
        self.scheduler = None
        self.leader = 0
        self.violations = []
        self.recoveries = {kind: [] for kind in FAULTS}
        self.injected = {kind: 0 for kind in FAULTS}
        self.rss = {"scheduler": [], "master": []}    # (s since chaos start, bytes)
        self.max_live_per_slot = 0
        self.double_runs = []
        self.samples = 0
        self.stop_sampling = threading.Event()
        self.chaos_start = None
        self.state_lock = threading.Lock()
        self.expected_exit = set()
        self.stall_kicks = 0

    # --- processes -------------------------------------------------------------------------

    def start_master(self):
        log = open(os.path.join(self.work, "local-master.log"), "ab")
        command = [self.args.local_master, "--listen", f"127.0.0.1:{self.port}",
                   "--replicas", str(REPLICAS), "--enable-fault-injection", "--simulate",
                   "--agents", str(self.args.agents),
                   "--resources", "cpus:8;mem:16384;disk:100000;ports:[31000-32000]",
                   "--work-dir", os.path.join(self.work, "master"),
                   "--heartbeat-interval", "1", "--allocation-interval", "0.5"]
        self.master = subprocess.Popen(command, stdout=log, stderr=log)
        self.leader = 0
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.master.poll() is not None:
                raise RuntimeError(f"local-master exited with {self.master.returncode}; see "
                                   f"{log.name}")
            try:
                if all(http("GET", f"http://127.0.0.1:{self.port + i}/health", timeout=1)[0]
                       == 200 for i in range(REPLICAS)):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("local-master did not answer /health within 20 s")

    def start_scheduler(self):
        log = open(os.path.join(self.work, "soak-scheduler.log"), "ab")
        command = [self.args.scheduler, "--master", self.masters,
                   "--store", os.path.join(self.work, "scheduler.db"),
                   "--log", self.facts.path, "--tasks", str(self.args.tasks),
                   "--churn", str(self.args.churn)]
        self.scheduler = subprocess.Popen(command, stdout=log, stderr=log)

    def kill(self, proc):
        self.expected_exit.add(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def check_alive(self):
        """A process that ended without our kill is a violation; it is restarted."""
        for name in ("master", "scheduler"):
            proc = getattr(self, name)
            if proc.poll() is not None and proc.pid not in self.expected_exit:
                self.violations.append(f"{name} exited on its own with status {proc.returncode}")
                self.expected_exit.add(proc.pid)
                self.start_master() if name == "master" else self.start_scheduler()

    # --- the master's view -----------------------------------------------------------------

    def state(self):
        for i in [self.leader] + [j for j in range(REPLICAS) if j != self.leader]:
            try:
                status, body = http("GET", f"http://127.0.0.1:{self.port + i}/state", timeout=3)
                if status == 200:
                    return json.loads(body)
            except Exception:  # down (killed), restarting, or a connection cut mid-answer
                continue
        return None

    @staticmethod
    def soak_tasks(state):
        for framework in state.get("frameworks", []):
            if framework.get("name") == "soak-scheduler":
                return framework.get("tasks", [])
        return []

    def check_state(self, state):
        live = {}
        for task in self.soak_tasks(state):
            if task["state"] not in TERMINAL:
                live.setdefault(task["name"], []).append(task["id"])
        with self.state_lock:
            self.samples += 1
            for slot, ids in live.items():
                self.max_live_per_slot = max(self.max_live_per_slot, len(ids))
                if len(ids) > 1 and len(self.double_runs) < 20:
                    self.double_runs.append(f"{slot}: {' '.join(sorted(ids))}")

    def sampler(self):
        while not self.stop_sampling.wait(1.0):
            state = self.state()
            if state is not None:
                self.check_state(state)
            if self.chaos_start is None:
                continue
            at = time.time() - self.chaos_start
            for name in ("scheduler", "master"):
                proc = getattr(self, name)
                try:
                    self.rss[name].append((at, proc_rss_kib(proc.pid) * 1024))
                except OSError:
                    pass

    def running_slots(self, state):
        running = {}
        for task in self.soak_tasks(state):
            if task["state"] == "TASK_RUNNING":
                running.setdefault(task["name"], []).append(task["id"])
        return running

    def churning(self, slot):
        return self.args.churn > 0 and slot % self.args.churn == 0

    def wait_all_running(self, timeout):
        """Every slot that does not churn is RUNNING (the churning ones come and go)."""
        deadline = time.time() + timeout
        steady = [f"slot-{i}" for i in range(self.args.tasks) if not self.churning(i)]
        while time.time() < deadline:
            state = self.state()
            if state is not None:
                running = self.running_slots(state)
                if all(slot in running for slot in steady):
                    return True
            time.sleep(0.25)
        return False

    # --- faults ----------------------------------------------------------------------------

    def fault(self, body):
        for i in [self.leader] + [j for j in range(REPLICAS) if j != self.leader]:
            try:
                status, answer = http("POST", f"http://127.0.0.1:{self.port + i}/admin/fault",
                                      body, timeout=5)
                if status != 200:
                    self.violations.append(f"POST /admin/fault '{body}': {status} {answer!r}")
                return
            except OSError:
                continue
        self.violations.append(f"POST /admin/fault '{body}': no replica answered")

    def wait_for(self, series, after_ms, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.facts.poll()
            t = self.facts.first_after(series, after_ms)
            if t is not None:
                return t
            time.sleep(0.02)
        return None

    def inject(self, kind):
        """Injects one fault; returns (ms the clock starts, whether a resubscribe must follow)."""
        rng = self.rng
        if kind == "leader":
            target = rng.choice([i for i in range(REPLICAS) if i != self.leader])
            t0 = now_ms()
            self.fault(f"leader={target}")
            self.leader = target
        elif kind == "close-mid-record":
            t0 = now_ms()
            self.fault("close=mid-record")
        elif kind == "stall":
            # The stalled master swallows every event, a new SUBSCRIBED too: lift the stall once
            # the scheduler gave the stream up (5 missed heartbeats of 1 s).
            t0 = now_ms()
            self.fault("stall=1")
            gave_up = self.wait_for(self.facts.disconnected, t0, 20)
            self.fault("stall=0")
            if gave_up is None:
                self.violations.append("stall: the scheduler did not drop the silent stream "
                                       "within 20 s")
            elif self.wait_for(self.facts.subscribed, t0, 3) is None:
                # The scheduler subscribed again before the stall was lifted, and the stalled
                # master swallowed that SUBSCRIBED: the client would wait 5 x 15 s (no interval
                # known yet) before trying again. Drop that stream instead; counted.
                self.stall_kicks += 1
                self.fault("close=clean")
        elif kind == "unavailable":
            # A 503 burst, with the stream dropped so that the resubscribe meets it.
            seconds = rng.choice([0.5, 1, 2, 3])
            t0 = now_ms()
            self.fault(f"unavailable={seconds}\nclose=clean")
        elif kind == "bad-record":
            t0 = now_ms()
            self.fault("bad-record=1")
        elif kind == "delay":
            # Slow responses, with the stream dropped so that the resubscribe is slow too.
            t0 = now_ms()
            self.fault(f"delay={rng.choice([100, 300, 700, 1500])}\nclose=clean")
        elif kind == "master-kill":
            t0 = now_ms()
            self.kill(self.master)
            time.sleep(rng.uniform(0, 1.5))
            self.start_master()
        elif kind == "scheduler-kill":
            self.kill(self.scheduler)
            time.sleep(rng.uniform(0, 1.0))
            t0 = now_ms()  # a new process: its time to subscribe
            self.start_scheduler()
        return t0

    def chaos(self):
        end = time.time() + self.args.duration
        weights = [1] * len(FAULTS)
        kinds = [k for k in FAULTS if k in self.args.faults]
        weights = [1] * len(kinds)
        while time.time() < end:
            kind = self.rng.choices(kinds, weights)[0]
            gap = self.rng.uniform(0.3, self.args.max_gap)
            self.injected[kind] += 1
            t0 = self.inject(kind)
            at = self.wait_for(self.facts.subscribed, t0, self.args.recover_timeout)
            if kind == "delay":
                self.fault("delay=0")
            if at is None:
                self.violations.append(f"{kind} at {time.strftime('%H:%M:%S')}: no SUBSCRIBED "
                                       f"within {self.args.recover_timeout} s")
            else:
                self.recoveries[kind].append((at - t0) / 1000.0)
            print(f"  {time.time() - self.chaos_start:6.1f}s {kind:17s} "
                  f"{'resubscribed in %.3f s' % ((at - t0) / 1000.0) if at else 'NOT RECOVERED'}",
                  flush=True)
            self.check_alive()
            time.sleep(gap)
            self.check_alive()

    # --- the run ---------------------------------------------------------------------------

    def settle(self):
        """Polls until every slot runs once and nothing is unacknowledged (or the time is up)."""
        deadline = time.time() + self.args.settle
        self.scheduler.send_signal(signal.SIGUSR1)  # churn off: every slot can then be running
        last = None
        while time.time() < deadline:
            self.facts.poll()
            state = self.state()
            if state is not None:
                last = state
                running = self.running_slots(state)
                unacked = sum(t.get("unacknowledged_updates", 0) for t in self.soak_tasks(state))
                if (len(running) == self.args.tasks and
                        all(len(ids) == 1 for ids in running.values()) and unacked == 0):
                    return state
            time.sleep(0.5)
        return last

    def run(self):
        print(f"chaos soak: seed {self.args.seed}, {self.args.tasks} tasks, "
              f"{self.args.agents} agents, {self.args.duration} s of faults, masters "
              f"{self.masters}, work dir {self.work}", flush=True)
        print(f"replay: {' '.join(replay_command(self.args))}", flush=True)
        self.start_master()
        self.start_scheduler()
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        try:
            started = time.time()
            if not self.wait_all_running(self.args.warmup):
                raise RuntimeError(f"the {self.args.tasks} tasks were not all running within "
                                   f"{self.args.warmup} s of the start")
            print(f"setup: the {self.args.tasks} tasks running after "
                  f"{time.time() - started:.1f} s", flush=True)
            self.chaos_start = time.time()
            self.chaos()
            chaos_seconds = time.time() - self.chaos_start
            settle_start = time.time()
            final = self.settle()
            settled_in = time.time() - settle_start
            self.stop_sampling.set()
            sampler.join()
            self.check_alive()
            if final is not None:
                self.check_state(final)
            return self.report(final, chaos_seconds, settled_in)
        finally:
            self.stop_sampling.set()
            for proc in (self.scheduler, self.master):
                if proc and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()

    # --- the table -------------------------------------------------------------------------

    def report(self, final, chaos_seconds, settled_in):
        self.facts.poll()
        rows = []

        def row(name, ok, detail):
            rows.append((name, "ok" if ok else "VIOLATED", detail))
            if not ok:
                self.violations.append(f"{name}: {detail}")

        tasks = self.soak_tasks(final) if final else []
        running = self.running_slots(final) if final else {}
        missing = [f"slot-{i}" for i in range(self.args.tasks) if f"slot-{i}" not in running]
        row("no wanted task missing", final is not None and not missing,
            f"{len(running)}/{self.args.tasks} slots RUNNING after {settled_in:.1f} s of settling"
            + (f"; missing: {' '.join(missing[:10])}" if missing else "")
            + ("" if final else "; the master never answered /state"))

        relaunched = [tid for tid, seen in self.facts.launches.items() if len(seen) > 1]
        launches = sum(len(v) for v in self.facts.launches.values())
        row("no task launched twice for one slot",
            self.max_live_per_slot <= 1 and not relaunched,
            f"{launches} launches; at most {self.max_live_per_slot} live task(s) per slot in "
            f"{self.samples} samples of /state"
            + (f"; two at once: {'; '.join(self.double_runs[:3])}" if self.double_runs else "")
            + (f"; task ids launched twice: {' '.join(relaunched[:5])}" if relaunched else ""))

        unacked = [(t["id"], t["unacknowledged_updates"]) for t in tasks
                   if t.get("unacknowledged_updates", 0)]
        held = int((self.facts.summary or {}).get("acks_held", "0"))
        row("every update with a uuid acknowledged", final is not None and not unacked and
            held == 0,
            f"{self.facts.updates} updates received; unacknowledged in the master: "
            f"{sum(n for _, n in unacked)}; held by the scheduler: {held}"
            + (f"; e.g. {' '.join(t for t, _ in unacked[:5])}" if unacked else ""))

        not_recovered = [v for v in self.violations if "no SUBSCRIBED" in v]
        row("every fault followed by a resubscribe", not not_recovered,
            f"{sum(self.injected.values())} faults, "
            f"{sum(len(v) for v in self.recoveries.values())} resubscribed within "
            f"{self.args.recover_timeout} s")

        for name in ("scheduler", "master"):
            samples = self.rss[name]
            third = chaos_seconds / 3
            first = [b for t, b in samples if t < third]
            last = sorted(b for t, b in samples if t >= 2 * third)
            if not first or not last:
                row(f"memory of the {name} not growing", False, "too few RSS samples")
                continue
            base = max(first)
            median_last = last[len(last) // 2]
            row(f"memory of the {name} not growing", median_last <= base * 1.25 + (8 << 20),
                f"RSS max of first third {base / 2**20:.1f} MiB, median of last third "
                f"{median_last / 2**20:.1f} MiB ({len(samples)} samples)")

        other = [v for v in self.violations
                 if not any(v.startswith(r[0]) for r in rows) and "no SUBSCRIBED" not in v]
        row("no other fault (process exits, refused faults)", not other and not self.facts.fatal,
            "; ".join(other[:5] + self.facts.fatal[:3]) or "none")

        width = max(len(r[0]) for r in rows)
        print()
        print(f"chaos soak, seed {self.args.seed}: {chaos_seconds:.0f} s of faults, "
              f"{self.args.tasks} tasks, {self.args.agents} agents")
        print(f"{'invariant':{width}s}  {'result':8s}  detail")
        for name, result, detail in rows:
            print(f"{name:{width}s}  {result:8s}  {detail}")
        print()
        print(f"{'fault':17s} {'injected':>8s} {'resub p50':>10s} {'resub p99':>10s} "
              f"{'max':>8s}")
        for kind in FAULTS:
            times = sorted(self.recoveries[kind])
            if not self.injected[kind]:
                continue
            p50 = percentile(times, 50)
            p99 = percentile(times, 99)
            print(f"{kind:17s} {self.injected[kind]:8d} {fmt_s(p50):>10s} {fmt_s(p99):>10s} "
                  f"{fmt_s(times[-1] if times else None):>8s}")
        print("(resubscribe: from the fault to the scheduler's next SUBSCRIBED; stall includes "
              "the 5 s of missed heartbeats, master-kill the restart, scheduler-kill counts from "
              "the new process's start)")
        if self.stall_kicks:
            print(f"(stall: {self.stall_kicks} time(s) the scheduler subscribed again before the "
                  "stall was lifted; that stream was dropped with close=clean)")
        failed = [r for r in rows if r[1] != "ok"]
        if failed:
            print(f"\nFAILED: {len(failed)} invariant(s) violated:")
            for name, _, detail in failed:
                print(f"  {name}: {detail}")
            print(f"logs: {self.work}")
            return 1
        print("\nall invariants hold")
        return 0


def percentile(values, p):
    if not values:
        return None
    # Nearest rank: the smallest value with at least p % of the values at or below it.
    k = max(0, min(len(values) - 1, math.ceil(p / 100.0 * len(values)) - 1))
    return values[k]


def fmt_s(value):
    return "-" if value is None else f"{value:.3f}s"


def replay_command(args):
    command = [sys.argv[0], "--local-master", args.local_master, "--scheduler", args.scheduler,
               "--duration", str(args.duration), "--seed", str(args.seed),
               "--tasks", str(args.tasks), "--agents", str(args.agents)]
    if args.faults != FAULTS:
        command += ["--faults", ",".join(args.faults)]
    return command


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local-master", required=True, help="the local-master program")
    parser.add_argument("--scheduler", required=True, help="the soak-scheduler program")
    parser.add_argument("--duration", type=float, default=60, help="seconds of faults (60)")
    parser.add_argument("--seed", type=int, default=None, help="fault sequence (random)")
    parser.add_argument("--tasks", type=int, default=300, help="slots kept wanted (300)")
    parser.add_argument("--churn", type=int, default=10,
                        help="every N-th slot ends after a few seconds and is relaunched (10)")
    parser.add_argument("--agents", type=int, default=10, help="simulated agents (10)")
    parser.add_argument("--faults", type=lambda s: s.split(","), default=FAULTS,
                        help="comma-separated subset of: " + ",".join(FAULTS))
    parser.add_argument("--max-gap", type=float, default=2.0,
                        help="longest pause between a recovery and the next fault (2 s)")
    parser.add_argument("--recover-timeout", type=float, default=30,
                        help="a fault not followed by SUBSCRIBED within this fails (30 s)")
    parser.add_argument("--warmup", type=float, default=30,
                        help="all tasks must run within this of the start (30 s)")
    parser.add_argument("--settle", type=float, default=40,
                        help="longest wait for the invariants after the faults (40 s)")
    parser.add_argument("--work-dir", help="logs, checkpoint and store (a new temporary "
                        "directory, removed after a passing run)")
    parser.add_argument("--port", type=int, default=0, help="first replica's port (free one)")
    args = parser.parse_args()
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s): {' '.join(unknown)}")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    temporary = args.work_dir is None
    if temporary:
        args.work_dir = tempfile.mkdtemp(prefix="chaos-soak-")
    else:
        shutil.rmtree(args.work_dir, ignore_errors=True)
        os.makedirs(args.work_dir)
    try:
        status = Soak(args).run()
    except RuntimeError as e:
        print(f"chaos soak: {e} (logs: {args.work_dir})", file=sys.stderr)
        return 1
    if status == 0 and temporary:
        shutil.rmtree(args.work_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
