#!/usr/bin/python3
"""gRPC load measurement of `mld serve`: 16 concurrent lock-step streams x 2,000 steps of the 96-atom water box.

    load.py [--mld DIR_WITH_mld.dll] [--label NAME] [--clients 16] [--steps 2000]

Fits a light model (order 1, four radial invariants: the transport, not the physics, should dominate) on
samples/water32-xtb, starts `mld serve MODEL --grpc 127.0.0.1:0`, records the server's RSS, drives the
streams with the Node client (integration/node/client.js: one event loop, small client cost; run
`npm install` there first), records RSS again, stops the server with SIGTERM and writes
integration/grpc/load-<UTC date>-<label>.json. Every response is checked against a unary answer
(id and energy), so a lost or reordered step is a failure in the file.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mld", default=os.path.join(ROOT, "src", "MolecularLearning.Cli", "bin", "Release", "net10.0"))
    p.add_argument("--label", default="")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--steps", type=int, default=2000)
    a = p.parse_args()
    mld = ["dotnet", os.path.join(a.mld, "mld.dll")]
    work = tempfile.mkdtemp(prefix="mld-grpc-load-")
    data = os.path.join(ROOT, "samples", "water32-xtb")
    model = os.path.join(work, "light.json")
    subprocess.run(mld + ["fit", data, "-o", model, "--order", "1", "--basis", "gauss:4:0.8:4.5", "--cutoff", "4.5",
                          "--stride", "50"], check=True, stdout=subprocess.DEVNULL)
    frames = os.path.join(work, "frames.json")
    # 40 frames of the run as the clients' input (symbols, positions, cell), via ASE.
    import ase.io
    pos = ase.io.read(os.path.join(data, "water32-xtb-pos-1.xyz.gz"), index=":40")
    box = 9.8528  # the sample's cubic cell (md.inp)
    with open(frames, "w") as f:
        json.dump({"frames": [{"symbols": at.get_chemical_symbols(), "positions": at.get_positions().ravel().tolist(),
                               "cell": [box, 0, 0, 0, box, 0, 0, 0, box]} for at in pos]}, f)

    server = subprocess.Popen(mld + ["serve", model, "--grpc", "127.0.0.1:0"], stdout=subprocess.PIPE,
                              stderr=open(os.path.join(work, "serve.log"), "w"), text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("gRPC listening on "):
        server.kill()
        sys.exit(f"server did not start: {line!r}; see {work}/serve.log")
    address = line.rsplit("/", 2)[-2] if line.endswith("/") else line.split("://")[1]
    time.sleep(1.0)
    rss_before = rss_kib(server.pid)
    out = os.path.join(work, "load.json")
    load_avg_before = os.getloadavg()
    run = subprocess.run(["node", os.path.join(ROOT, "integration", "node", "client.js"), address, "load", frames, out,
                          str(a.clients), str(a.steps)], capture_output=True, text=True)
    rss_after = rss_kib(server.pid)
    load_avg_after = os.getloadavg()
    server.send_signal(signal.SIGTERM)
    code = server.wait(60)
    if run.returncode != 0:
        sys.exit(f"load client failed: {run.stderr}")
    with open(out) as f:
        result = json.load(f)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result.update({
        "label": a.label, "commit": commit, "server": " ".join(mld[1:]), "client": "@grpc/grpc-js (integration/node/client.js)",
        "atoms": len(json.load(open(frames))["frames"][0]["symbols"]), "model": "order 1, gauss:4:0.8:4.5, cutoff 4.5",
        "server_rss_kib_before": rss_before, "server_rss_kib_after": rss_after, "server_exit_code": code,
        "load_average_before": load_avg_before, "load_average_after": load_avg_after, "cpus": os.cpu_count(),
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    name = f"load-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}" + (f"-{a.label}" if a.label else "") + ".json"
    tmp = os.path.join(HERE, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, os.path.join(HERE, name))
    print(json.dumps({k: result[k] for k in ("evaluations", "evaluations_per_second", "p50_us", "p99_us", "server_rss_kib_before",
                                             "server_rss_kib_after", "server_exit_code") if k in result}), "failures:", len(result["failures"]))


if __name__ == "__main__":
    main()
