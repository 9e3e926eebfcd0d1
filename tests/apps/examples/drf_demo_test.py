#!/usr/bin/env python3
"""drf-demo on a 4 cpu / 8192 MB simulated local-master: one instance with (1 cpu, 512 MB)
tasks and one with (0.25 cpu, 2048 MB) tasks end with equal dominant shares (3 tasks each,
0.75), as DRF gives them. Without DRF, whoever came first would take all the cpus.

Long-running tasks never free their resources, so who is subscribed when resources appear
decides the outcome. To make that deterministic a third instance (a "blocker" whose one task
takes the whole agent) runs first; the two instances subscribe while nothing is free, and the
blocker's teardown then frees the whole agent at once for them.
  drf_demo_test.py LOCAL_MASTER DRF_DEMO"""
import re
import sys

from harness import Fail, Master, run, running_tasks, wait_until

local_master, drf_demo = sys.argv[1], sys.argv[2]


def test(procs):
    master = Master(procs, local_master, "--simulate", "--simulate-duration", "3600",
                    "--resources", "cpus:4;mem:8192")
    demo = [drf_demo, "--master", master.address]
    procs.start("blocker", demo + ["--name", "Blocker", "--task-cpus", "4", "--task-mem", "8192"])
    wait_until("the blocker's task to run", 15,
               lambda: len(running_tasks(master.framework("Blocker"))) == 1)

    procs.start("a", demo + ["--name", "Framework A", "--task-cpus", "1", "--task-mem", "512"])
    procs.start("b", demo + ["--name", "Framework B", "--task-cpus", "0.25", "--task-mem", "2048"])

    def both_subscribed():
        state = master.state()
        names = {fw["name"] for fw in state["frameworks"] if fw["active"]}
        return {"Framework A", "Framework B"} <= names

    wait_until("both instances to subscribe", 15, both_subscribed)
    if procs.interrupt("blocker") != 0:
        raise Fail("the blocker did not exit cleanly")

    # Converged: 3 tasks each; the 0.25 cpus and 512 MB left fit neither.
    def converged():
        a = running_tasks(master.framework("Framework A"))
        b = running_tasks(master.framework("Framework B"))
        return len(a) + len(b) == 6 and (a, b)

    a, b = wait_until("6 tasks to run", 15, converged)
    state = master.state()
    share = {}
    for fw in state["frameworks"]:
        if fw["name"] in ("Framework A", "Framework B"):
            used = fw["used_resources"]
            share[fw["name"]] = max(used["cpus"] / 4, used["mem"] / 8192)
    print(f"tasks: A {len(a)}, B {len(b)}; dominant shares {share}")
    if abs(share["Framework A"] - share["Framework B"]) > 0.1 * max(share.values()):
        raise Fail(f"dominant shares not within 10%: {share}")
    if len(a) != 3 or len(b) != 3:
        raise Fail(f"want 3 tasks each, have A {len(a)}, B {len(b)}")

    # The demo's own report says the same.
    for name, key in (("a", "Framework A"), ("b", "Framework B")):
        wait_until(f"{key} to print its share", 10,
                   lambda: re.search(r"3 tasks running .*dominant share 0\.75",
                                     procs.output(name)))
    for name in ("a", "b"):
        if procs.interrupt(name) != 0:
            raise Fail(f"{name} did not exit cleanly")
    wait_until("the frameworks to be gone", 10, lambda: not master.state()["frameworks"])


sys.exit(run(test))
