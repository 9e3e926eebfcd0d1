"""What the Python drivers (tests/soak/chaos_soak.py, tests/bench/scale_run.py) share: free
loopback ports, one HTTP request, and a process's CPU time and resident memory from /proc."""

import os
import random
import socket
import urllib.error
import urllib.request


def free_ports(n):
    """A port P with P .. P+n-1 free on 127.0.0.1 (checked by binding them, as the servers
    will: with SO_REUSEADDR)."""
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randrange(20000, 60000)
        sockets = []
        try:
            for i in range(n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", base + i))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def http(method, url, body=None, timeout=10):
    """(status, body bytes); an HTTP error status is an answer, not an exception."""
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def proc_cpu_s(pid):
    """User plus system CPU seconds of a live process (OSError once it is gone)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def proc_rss_kib(pid):
    """Resident memory of a live process in KiB (OSError once it is gone)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
