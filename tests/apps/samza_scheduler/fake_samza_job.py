#!/usr/bin/env python3
"""A fake Samza job "image" for samza-scheduler's tests, run as the job's command.

  get-mesos-configs <jobName>: posts a model of $FAKE_CONTAINERS (3) containers to
      $HEATBLAST_JOB_INFO_URL. $FAKE_JOB_INFO changes that: "heatblast" posts Heatblast's
      SamzaJobConfig to http://$HEATBLAST_HOST:$HEATBLAST_PORT/run-job as Heatblast's job
      images did; "fail" exits 3 without posting; "hang" never posts; "gate" waits until the
      file $FAKE_GATE exists, then posts.
  run-container: GETs $SAMZA_COORDINATOR_URL, checks that $SAMZA_CONTAINER_ID is in the model
      (exit 4 if not), writes "<container id> <containers in model>" to
      $FAKE_MARK_DIR/$MESOS_TASK_ID, and runs until killed.
"""
import json
import os
import signal
import sys
import time
import urllib.request


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def samza_model(job, count):
    containers = {}
    for i in range(count):
        name = "Partition %d" % i
        containers[str(i)] = {"container-id": i, "tasks": {name: {
            "task-name": name,
            "system-stream-partitions": [{"system": "kafka", "stream": "in", "partition": i}],
            "changelog-partition": i}}}
    return {"config": {"job.name": job, "task.inputs": "kafka.in"}, "containers": containers,
            "max-change-log-stream-partitions": count}


def heatblast_config(job, count):
    return {
        "jobName": job,
        "samzaConfig": {"job.name": job, "task.inputs": "kafka.in"},
        "samzaContainerIdToSSPTaskNames": [
            {"containerId": i, "taskNamesToSystemStreamPartitions": {
                "Partition %d" % i: [{"system": "kafka", "stream": "in", "partition": i}]}}
            for i in range(count)],
        "samzaTaskNameToChangeLogPartitionMapping": {"Partition %d" % i: i for i in range(count)},
    }


def get_mesos_configs(job):
    behaviour = os.environ.get("FAKE_JOB_INFO", "post")
    count = int(os.environ.get("FAKE_CONTAINERS", "3"))
    if behaviour == "fail":
        print("cannot compute the model", file=sys.stderr)
        sys.exit(3)
    if behaviour == "hang":
        while True:
            signal.pause()
    if behaviour == "gate":
        while not os.path.exists(os.environ["FAKE_GATE"]):
            time.sleep(0.05)
    if behaviour == "heatblast":
        url = "http://%s:%s/run-job" % (os.environ["HEATBLAST_HOST"], os.environ["HEATBLAST_PORT"])
        post(url, heatblast_config(job, count))
    else:
        post(os.environ["HEATBLAST_JOB_INFO_URL"], samza_model(job, count))


def run_container():
    container_id = os.environ["SAMZA_CONTAINER_ID"]
    # As a Samza container does, retry while the coordinator is unreachable (a restarting
    # scheduler), for up to 30 s.
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(os.environ["SAMZA_COORDINATOR_URL"], timeout=10) as response:
                model = json.load(response)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    if container_id not in model["containers"]:
        print("container %s is not in the model" % container_id, file=sys.stderr)
        sys.exit(4)
    mark_dir = os.environ.get("FAKE_MARK_DIR")
    if mark_dir:
        with open(os.path.join(mark_dir, os.environ["MESOS_TASK_ID"]), "w") as mark:
            mark.write("%s %d\n" % (container_id, len(model["containers"])))
    while True:
        signal.pause()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "get-mesos-configs":
        get_mesos_configs(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "run-container":
        run_container()
    else:
        print("usage: get-mesos-configs <jobName> | run-container", file=sys.stderr)
        sys.exit(2)
