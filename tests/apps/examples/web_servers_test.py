#!/usr/bin/env python3
"""web-servers --count 3 on local-master running real processes: three web servers on three
distinct ports of the offer answer HTTP; after SIGINT no task is left and the framework is
gone from /state.
  web_servers_test.py LOCAL_MASTER WEB_SERVERS"""
import re
import sys
import urllib.request

from harness import Fail, Master, run, wait_until

local_master, web_servers = sys.argv[1], sys.argv[2]


def answers(address):
    try:
        with urllib.request.urlopen(f"http://{address}/", timeout=2) as response:
            return response.status
    except OSError:
        return None


def test(procs):
    master = Master(procs, local_master, "--resources", "cpus:2;mem:1024;ports:[31000-31099]")
    procs.start("web-servers", [web_servers, "--master", master.address, "--count", "3"])
    lines = wait_until("3 servers to answer", 25, lambda: (lambda found: len(found) == 3 and found)(
        re.findall(r"^(\S+:(\d+)) answers HTTP 200$", procs.output("web-servers"), re.M)))
    addresses = [address for address, _ in lines]
    ports = {int(port) for _, port in lines}
    print("servers:", addresses)
    if len(ports) != 3 or not all(31000 <= port <= 31099 for port in ports):
        raise Fail(f"want 3 distinct offered ports, have {sorted(ports)}")
    for address in addresses:
        if answers(address) != 200:
            raise Fail(f"{address} does not answer HTTP 200 here")

    if procs.interrupt("web-servers") != 0:
        raise Fail("web-servers did not exit cleanly")
    state = master.state()
    if any(fw["name"] == "web-servers" for fw in state["frameworks"]):
        raise Fail("the framework is still in /state after SIGINT")
    if not any(fw["name"] == "web-servers" for fw in state["completed_frameworks"]):
        raise Fail("the framework is not among the completed frameworks")
    # The processes end once the master's kill reached them.
    wait_until("the servers to stop", 15,
               lambda: all(answers(address) is None for address in addresses))
    wait_until("no task left", 10, lambda: all(
        not agent["used_resources"].get("cpus") for agent in master.state()["slaves"]))


sys.exit(run(test))
