#!/usr/bin/env python3
"""autoscaler against a simulated local-master and a metric endpoint served here, in the
Prometheus text format. High load: instances go up to --max; low load: back to --min; a load
between the thresholds changes nothing. Consecutive scale events are at least the cooldown
apart (by the autoscaler's own clock), and with nothing to launch the framework is suppressed.
  autoscaler_test.py LOCAL_MASTER AUTOSCALER"""
import http.server
import re
import sys
import threading

from harness import Fail, Master, free_port, run, running_tasks, wait_until

local_master, autoscaler = sys.argv[1], sys.argv[2]
COOLDOWN = 1.0
load = {"value": 5}


class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("# HELP queue_depth_total not this one\nqueue_depth_total 999\n"
                "# TYPE queue_depth gauge\n"
                f'queue_depth{{queue="jobs"}} {load["value"]}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def events(procs):
    return [(m[1], int(m[2]), float(m[3])) for m in re.finditer(
        r"^scale (up|down) to (\d+) instances at ([0-9.]+)s", procs.output("autoscaler"), re.M)]


def test(procs):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body(procs, server)
    finally:
        server.shutdown()


def body(procs, server):
    master = Master(procs, local_master, "--simulate", "--simulate-duration", "3600",
                    "--resources", "cpus:4;mem:4096")
    procs.start("autoscaler", [
        autoscaler, "--master", master.address, "--cmd", "sleep 3600", "--min", "1", "--max", "3",
        "--metric-url", f"http://127.0.0.1:{server.server_address[1]}/metrics",
        "--metric-name", "queue_depth", "--scale-up-above", "10", "--scale-down-below", "2",
        "--cooldown", f"{COOLDOWN:g}s", "--interval", "100ms"])

    highest = [0]

    def running(count):
        n = len(running_tasks(master.framework("autoscaler")))
        highest[0] = max(highest[0], n)
        return n == count

    wait_until("the first instance", 15, lambda: running(1))

    def suppressed():
        metrics = master.get("/metrics/snapshot")
        fw = master.framework("autoscaler")
        return metrics.get("master/messages_suppress_offers", 0) >= 1 and \
            not fw["offered_resources"].get("cpus")

    wait_until("offers to be suppressed while nothing is pending", 10, suppressed)
    if events(procs):
        raise Fail(f"scaled at a load between the thresholds: {events(procs)}")

    load["value"] = 50
    wait_until("3 instances", 15, lambda: running(3) and len(events(procs)) == 2)
    load["value"] = 0
    wait_until("back to 1 instance", 15, lambda: running(1) and len(events(procs)) == 4)
    if highest[0] > 3:
        raise Fail(f"{highest[0]} instances ran, more than --max 3")

    seen = events(procs)
    print("scale events:", seen)
    if [(kind, n) for kind, n, _ in seen] != [("up", 2), ("up", 3), ("down", 2), ("down", 1)]:
        raise Fail(f"unexpected scale events {seen}")
    for before, after in zip(seen, seen[1:]):
        if after[2] - before[2] < COOLDOWN - 1e-5:
            raise Fail(f"scale events {before} and {after} closer than the cooldown")
    if procs.interrupt("autoscaler") != 0:
        raise Fail("autoscaler did not exit cleanly")
    wait_until("the framework to be gone", 10, lambda: not master.state()["frameworks"])


sys.exit(run(test))
