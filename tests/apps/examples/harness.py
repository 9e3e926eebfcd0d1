"""Shared pieces of the example frameworks' tests: a local-master on a free port, processes
that are always stopped, polling with a deadline, and the master's /state."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fail(Exception):
    pass


def wait_until(what, seconds, predicate, interval=0.05):
    """Polls `predicate` until it returns something true; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)


class Processes:
    """Started processes, their output in files of one temporary directory; all killed at
    the end, their output printed when the test failed."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="examples-test-")
        self.procs = {}

    def start(self, name, args):
        out = open(os.path.join(self.dir, name + ".out"), "w")
        err = open(os.path.join(self.dir, name + ".err"), "w")
        self.procs[name] = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        return self.procs[name]

    def output(self, name):
        with open(os.path.join(self.dir, name + ".out")) as f:
            return f.read()

    def interrupt(self, name, seconds=10):
        """SIGINT, then waits for the exit; returns the exit status."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise Fail(f"{name} did not exit within {seconds}s of SIGINT")

    def dump(self):
        for name in self.procs:
            for suffix in (".out", ".err"):
                path = os.path.join(self.dir, name + suffix)
                with open(path) as f:
                    text = f.read()
                if text:
                    print(f"--- {name}{suffix}\n{text}", file=sys.stderr)

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


class Master:
    def __init__(self, procs, binary, *flags):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        procs.start("local-master", [binary, "--listen", self.address, "--hostname", "127.0.0.1",
                                     "--allocation-interval", "0.1", *flags])
        wait_until("local-master to listen", 10, self.listening)

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def get(self, path):
        with urllib.request.urlopen(f"http://{self.address}{path}", timeout=5) as response:
            return json.loads(response.read())

    def state(self):
        return self.get("/state")

    def framework(self, name):
        """The active framework of that name in /state, or None."""
        for fw in self.state()["frameworks"]:
            if fw["name"] == name:
                return fw
        return None


def running_tasks(framework):
    return [t for t in framework["tasks"] if t["state"] == "TASK_RUNNING"] if framework else []


def run(test):
    """Runs `test(procs)`; exit status 0 when it passed."""
    procs = Processes()
    try:
        test(procs)
    except Exception as error:  # a failed check or an unexpected error: both fail the test
        procs.stop_all()
        procs.dump()
        print(f"FAIL: {error}", file=sys.stderr)
        return 1
    procs.stop_all()
    print("PASS")
    return 0
