#!/usr/bin/env python3
"""Scale run: a scheduler (soak-scheduler: heatblast::tasks::Framework with a SQLite store) takes
--tasks tasks to RUNNING on local-master --simulate with --agents agents, then the stream is
dropped and the leader moved while they run. Prints, per run and as medians:

  ramp_s            scheduler start -> the master counts --tasks RUNNING tasks
  launched_per_s    --tasks / ramp_s (tasks launched per second, end to end)
  sched_cpu_s       scheduler CPU time (user + system) spent in the ramp
  cpu_us_per_task   sched_cpu_s / --tasks (each task: one offer share, one ACCEPT, 2-3 updates)
  master_tasks_per_cpu_s  --tasks / local-master's CPU time in the ramp: its ceiling on one core
  rss_kib_per_task  scheduler resident memory at the end of the ramp / --tasks (the whole
                    process: libraries and the fixed heap included)
  rss_marginal_kib_per_task  with --baseline-tasks B: (resident memory at --tasks - resident
                    memory at B tasks) / (--tasks - B), each at the end of its own ramp: what
                    one more managed task costs
  rss_settled_mib   scheduler resident memory --settle seconds after the faults were answered
                    (the bursts' queues drained, the heap trimmed); rss_settled_kib_per_task and
                    rss_settled_marginal_kib_per_task as above
  drop_s            POST /admin/fault close=clean -> every task answered by the explicit
                    reconciliation after the resubscribe (the implicit one is answered first)
  drop_subscribe_s  the fault -> SUBSCRIBED (reconnect backoff and redirect included)
  leader_s, leader_subscribe_s  the same for a leadership move (leader=1, then back)
  acks_sent, acks_failed  ACKNOWLEDGE calls answered / failed by the end (a full call queue
                    refuses them; the master then sends those updates again)

  python3 tests/bench/scale_run.py --local-master build/apps/local-master/local-master \\
      --scheduler build/tests/soak/soak-scheduler --tasks 10000 --agents 1000 --runs 3

With --churn K every K-th task runs 3-9 s and ends (soak-scheduler relaunches it), so launches
go on while the others run; the ramp then waits for the tasks that do not churn.

With --baseline-tasks B each run first does the same with B tasks (a fresh local-master and
scheduler) for the marginal figures above.

With --real local-master runs each task as a process (soak-scheduler's `sleep 100000`, sandboxes
in the run's work directory) instead of --simulate; only the ramp is measured then, and the
processes are killed at the end (local-master leaves them running to re-adopt them).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import free_ports, http, proc_cpu_s, proc_rss_kib  # noqa: E402


class Facts:
    """soak-scheduler's fact log: "<ms> KIND fields..." lines."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for raw in chunk[:end].splitlines():
            parts = raw.decode(errors="replace").split(" ")
            if len(parts) >= 2:
                self.lines.append((int(parts[0]), parts[1], parts[2:]))


class Run:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.port = free_ports(2)
        self.master = None
        self.scheduler = None

    def start_master(self):
        log = open(os.path.join(self.work, "local-master.log"), "ab")
        per_agent = max(1, -(-self.args.tasks // self.args.agents))  # tasks per agent, rounded up
        mode = (["--work-dir", os.path.join(self.work, "master")] if self.args.real
                else ["--simulate"])
        command = [self.args.local_master, "--listen", f"127.0.0.1:{self.port}",
                   "--replicas", "2", "--enable-fault-injection", *mode, "--quiet",
                   "--agents", str(self.args.agents),
                   "--resources", f"cpus:{per_agent * 0.02 + 1};mem:{per_agent * 16 + 1024}",
                   "--heartbeat-interval", "5", "--allocation-interval",
                   str(self.args.allocation_interval)]
        self.master = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.master.poll() is not None:
                raise RuntimeError(f"local-master exited; see {log.name}")
            try:
                if all(http("GET", f"http://127.0.0.1:{self.port + i}/health", timeout=1)[0]
                       == 200 for i in range(2)):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("local-master did not start")

    def metric(self, name):
        for i in range(2):
            try:
                status, body = http("GET", f"http://127.0.0.1:{self.port + i}/metrics/snapshot")
                if status == 200:
                    return json.loads(body).get(name, 0)
            except OSError:
                continue
        return None

    def fault(self, body):
        for i in range(2):
            try:
                status, answer = http("POST", f"http://127.0.0.1:{self.port + i}/admin/fault",
                                      body)
                if status == 200:
                    return
            except OSError:
                continue
        raise RuntimeError(f"fault '{body}' refused")

    def steady(self):
        churn = self.args.churn
        return sum(1 for i in range(self.args.tasks) if not (churn > 0 and i % churn == 0))

    def run(self):
        self.start_master()
        facts = Facts(os.path.join(self.work, "facts.log"))
        log = open(os.path.join(self.work, "scheduler.log"), "ab")
        command = [self.args.scheduler, "--master", f"127.0.0.1:{self.port},127.0.0.1:"
                   f"{self.port + 1}", "--store", os.path.join(self.work, "scheduler.db"),
                   "--log", facts.path, "--tasks", str(self.args.tasks),
                   "--churn", str(self.args.churn)]
        master_cpu0 = proc_cpu_s(self.master.pid)
        t0 = time.time()
        self.scheduler = subprocess.Popen(command, stdout=log, stderr=log)
        pid = self.scheduler.pid
        want = self.steady()
        deadline = t0 + self.args.timeout
        while True:
            if self.scheduler.poll() is not None:
                raise RuntimeError("soak-scheduler exited")
            running = self.metric("master/tasks_running") or 0
            if running >= want:
                break
            if time.time() > deadline:
                raise RuntimeError(f"only {running} of {want} running after {self.args.timeout} s")
            time.sleep(0.05)
        ramp = time.time() - t0
        cpu = proc_cpu_s(pid)
        rss = proc_rss_kib(pid)
        master_cpu = proc_cpu_s(self.master.pid) - master_cpu0
        result = {"ramp_s": ramp, "launched_per_s": self.args.tasks / ramp, "sched_cpu_s": cpu,
                  "cpu_us_per_task": cpu / self.args.tasks * 1e6,
                  "master_cpu_s": master_cpu,
                  "master_tasks_per_cpu_s": self.args.tasks / max(master_cpu, 1e-9),
                  "rss_kib_per_task": rss / self.args.tasks, "rss_mib": rss / 1024}
        if self.args.real:
            return result
        time.sleep(1)
        for name, bodies in (("drop", ["close=clean"]), ("leader", ["leader=1", "leader=0"])):
            times = []
            for body in bodies:
                times.append(self.resubscribe(facts, body, want))
            result[f"{name}_s"] = statistics.median(t[0] for t in times)
            result[f"{name}_subscribe_s"] = statistics.median(t[1] for t in times)
        sent, refused = self.acks(facts)
        result["acks_sent"] = sent
        result["acks_failed"] = refused
        time.sleep(self.args.settle)
        result["rss_settled_mib"] = proc_rss_kib(pid) / 1024
        result["rss_settled_kib_per_task"] = result["rss_settled_mib"] * 1024 / self.args.tasks
        return result

    def acks(self, facts):
        """ACKNOWLEDGE calls answered and failed (the call queue was full, or the connection
        went), from the scheduler's latest SUMMARY."""
        time.sleep(1.1)
        facts.poll()
        for ms, kind, fields in reversed(facts.lines):
            if kind == "SUMMARY":
                for f in fields:
                    if f.startswith("ACKNOWLEDGE="):
                        sent, _, failed = f.split("=")[1].split("/")
                        return int(sent), int(failed)
        return 0, 0

    def resubscribe(self, facts, body, want):
        """Seconds from the fault until the explicit reconciliation answered every task."""
        facts.poll()
        start_ms = int(time.time() * 1000)
        self.fault(body)
        deadline = time.time() + 120
        subscribed = None
        answered = 0
        last_ms = None
        seen = len(facts.lines)
        while time.time() < deadline:
            facts.poll()
            for ms, kind, fields in facts.lines[seen:]:
                if kind == "SUBSCRIBED" and ms >= start_ms:
                    subscribed = ms
                    answered = 0
                elif (kind == "UPDATE" and subscribed is not None and len(fields) == 3
                      and fields[2] == "-"):
                    answered += 1
                    last_ms = ms
            seen = len(facts.lines)
            # Implicit then explicit reconciliation: every running task is answered twice.
            if subscribed is not None and answered >= 2 * want:
                return (last_ms - start_ms) / 1000, (subscribed - start_ms) / 1000
            time.sleep(0.05)
        raise RuntimeError(f"'{body}': {answered} reconciliation answers of {2 * want}")

    def stop(self):
        for p in (self.scheduler, self.master):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.args.real:
            self.kill_tasks()

    def kill_tasks(self):
        """The task processes: those whose working directory is a sandbox of this run."""
        root = os.path.realpath(self.work) + os.sep
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{pid}/cwd").startswith(root):
                    os.kill(int(pid), 9)
            except OSError:
                continue


def one_run(args, work):
    """One Run in `work` (a temporary directory when None, removed afterwards)."""
    keep = work is not None
    if keep:
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="scale-run-")
    run = Run(args, work)
    try:
        return run.run()
    finally:
        run.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local-master", required=True)
    parser.add_argument("--scheduler", required=True, help="soak-scheduler")
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--churn", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--allocation-interval", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--real", action="store_true",
                        help="real processes instead of --simulate (ramp only)")
    parser.add_argument("--work-dir", help="kept afterwards (default: a temporary one)")
    parser.add_argument("--baseline-tasks", type=int, default=0,
                        help="also measure resident memory at this many tasks, for the marginal "
                        "memory per task")
    parser.add_argument("--settle", type=float, default=12,
                        help="seconds from the last fault's answers to rss_settled_mib")
    args = parser.parse_args()
    if args.baseline_tasks and not 0 < args.baseline_tasks < args.tasks:
        parser.error("--baseline-tasks must be between 0 and --tasks")

    results = []
    for i in range(args.runs):
        work = args.work_dir and os.path.join(args.work_dir, f"run-{i}")
        if work:
            shutil.rmtree(work, ignore_errors=True)
        baseline = None
        if args.baseline_tasks:
            baseline = one_run(argparse.Namespace(**{**vars(args), "tasks": args.baseline_tasks}),
                               work and os.path.join(work, "baseline"))
        result = one_run(args, work)
        if baseline:
            added = args.tasks - args.baseline_tasks
            for name in ("rss", "rss_settled"):
                if f"{name}_mib" not in result:
                    continue
                result[f"{name}_base_mib"] = baseline[f"{name}_mib"]
                result[f"{name}_marginal_kib_per_task"] = (
                    (result[f"{name}_mib"] - baseline[f"{name}_mib"]) * 1024 / added)
        results.append(result)
        print(f"run {i + 1}: " + " ".join(f"{k}={v:.3f}" for k, v in result.items()), flush=True)
    print(f"median of {len(results)}: " + " ".join(
        f"{k}={statistics.median(r[k] for r in results):.3f}" for k in results[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
