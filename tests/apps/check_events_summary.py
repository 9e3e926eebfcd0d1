#!/usr/bin/env python3
"""Generates a Mesos event stream of a given size, runs `mesos-events --summary` on both of its
encodings, and checks every count against the generator's own record of what it wrote."""
import argparse
import filecmp
import json
import os
import subprocess
import sys


def summary(tool, path, fmt=None):
    cmd = [tool, "--summary"] + (["--format", fmt] if fmt else []) + [path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        name, _, value = line.rpartition(" ")
        values[name.strip()] = value
    return values


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tool", required=True)
    p.add_argument("--generator", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--json-mb", type=int, default=100)
    args = p.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    meta_path = os.path.join(args.out_dir, "events.meta.json")
    subprocess.run([sys.executable, args.generator, "--json-mb", str(args.json_mb),
                    "--out-dir", args.out_dir], check=True, capture_output=True)
    meta = json.load(open(meta_path))
    totals, counts = meta["totals"], meta["counts"]

    failures = []
    for name, fmt in (("events.json.recordio", None), ("events.pb.recordio", None),
                      ("events.json.recordio", "json")):
        path = os.path.join(args.out_dir, name)
        got = summary(args.tool, path, fmt)
        want = {
            "format": "json" if "json" in name else "protobuf",
            "bytes": str(os.path.getsize(path)),
            "events": str(totals["events"]),
            "offers": str(totals["offers"]),
            "offer resources": str(totals["offer_resources"]),
            "updates": str(totals["updates"]),
        }
        want.update({t: str(n) for t, n in counts.items()})
        for key, value in want.items():
            if got.get(key) != value:
                failures.append(f"{name} (--format {fmt or 'detect'}): {key!r} is "
                                f"{got.get(key)!r}, expected {value!r}")
        print(f"{name}: {got.get('events')} events, {got.get('bytes')} bytes checked")
    # Re-encoding one file must give the generator's other file byte for byte: our JSON is what
    # a master writes, and our protobuf is what SerializeToString writes.
    for src, to, expected in (("events.pb.recordio", "json", "events.json.recordio"),
                              ("events.json.recordio", "protobuf", "events.pb.recordio")):
        out_path = os.path.join(args.out_dir, f"reencoded.{to}")
        with open(out_path, "wb") as out:
            subprocess.run([args.tool, "--to", to, os.path.join(args.out_dir, src)],
                           check=True, stdout=out)
        if not filecmp.cmp(out_path, os.path.join(args.out_dir, expected), shallow=False):
            failures.append(f"{src} re-encoded as {to} differs from {expected}")
        else:
            print(f"{src} --to {to}: identical to {expected}")
        os.remove(out_path)

    if failures:
        print("\n".join(failures))
        return 1
    print(f"{meta['json_bytes'] / 1e6:.0f} MB stream: all counts match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
