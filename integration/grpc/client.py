#!/usr/bin/python3
"""A real gRPC client (Debian's python3-grpcio) for `mld serve`, used by the integration tests.

Message classes come from `protoc --python_out` run on ../../protos at start-up into a temporary
directory (no grpc_tools needed); calls use grpcio's generic API (channel.unary_unary /
channel.stream_stream with the message serializers), so no generated service stubs are needed either.

    client.py ADDRESS evaluate INPUT.json OUTPUT.json   unary and streaming results for the given frames
    client.py ADDRESS health OUTPUT.json                 health checks
    client.py ADDRESS errors INPUT.json OUTPUT.json     provoke every error status, report what was seen
    client.py ADDRESS load INPUT.json OUTPUT.json CLIENTS STEPS   concurrent lock-step streams, latency
    client.py ADDRESS cancel INPUT.json OUTPUT.json COUNT   4 clients × COUNT streams cancelled mid-way, then one plain call
"""
import importlib.util
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "protos"))


def load_messages():
    out = tempfile.mkdtemp(prefix="mld-grpc-py-")
    subprocess.run(["protoc", "-I", PROTOS, "--python_out", out, "molecular_learning.proto",
                    "grpc/health/v1/health.proto"], check=True)
    def module(name, path):
        # By file: the generated grpc/health/v1 package would clash with grpcio's own "grpc" package.
        spec = importlib.util.spec_from_file_location(name, os.path.join(out, path))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        return m
    return module("molecular_learning_pb2", "molecular_learning_pb2.py"), module("health_pb2", "grpc/health/v1/health_pb2.py")


ml, health = load_messages()
SERVICE = "/molecular_learning.v1.ForceField/"


def methods(channel):
    return {
        "evaluate": channel.unary_unary(SERVICE + "Evaluate", request_serializer=ml.EvaluateRequest.SerializeToString,
                                        response_deserializer=ml.EvaluateResponse.FromString),
        "stream": channel.stream_stream(SERVICE + "EvaluateStream", request_serializer=ml.EvaluateRequest.SerializeToString,
                                        response_deserializer=ml.EvaluateResponse.FromString),
        "describe": channel.unary_unary(SERVICE + "DescribeModel", request_serializer=ml.DescribeModelRequest.SerializeToString,
                                        response_deserializer=ml.ModelDescription.FromString),
        "check": channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=health.HealthCheckRequest.SerializeToString,
                                     response_deserializer=health.HealthCheckResponse.FromString),
    }


def request(frame, i=0, with_species=True):
    r = ml.EvaluateRequest(positions_angstrom=frame["positions"], cell_angstrom=frame.get("cell") or [], id=i, step=10 * i)
    if with_species:
        r.symbols.extend(frame["symbols"])
    return r


def result(response):
    return {"id": response.id, "step": response.step, "energy": response.energy_ev,
            "forces": list(response.forces_ev_per_angstrom), "virial": list(response.virial_ev)}


class LockStep:
    """A bidirectional stream driven one step at a time, like an MD driver: send, wait for the answer, repeat."""

    def __init__(self, stream, **kwargs):
        self._queue = queue.Queue()
        self._responses = stream(iter(self._queue.get, None), **kwargs)

    def step(self, req):
        self._queue.put(req)
        return next(self._responses)

    def close(self):
        self._queue.put(None)
        rest = list(self._responses)
        return rest, self._responses.code()


def evaluate(address, frames):
    with grpc.insecure_channel(address) as channel:
        m = methods(channel)
        unary = [result(m["evaluate"](request(f, i), timeout=30)) for i, f in enumerate(frames)]
        stream = LockStep(m["stream"], timeout=60)
        streamed = [result(stream.step(request(f, i, with_species=(i == 0)))) for i, f in enumerate(frames)]
        rest, code = stream.close()
        assert not rest and code == grpc.StatusCode.OK, (rest, code)
        model = m["describe"](ml.DescribeModelRequest(), timeout=10)
        return {"unary": unary, "stream": streamed,
                "model": {"species": [s.symbol for s in model.species], "cutoff": model.cutoff_angstrom,
                          "order": model.order, "mode": model.mode, "max_atoms": model.max_atoms,
                          "source": model.training.source, "frames": model.training.frames,
                          "holdout": {e.symbol: e.rel_rmse for e in model.training.holdout}}}


def health_checks(address):
    with grpc.insecure_channel(address) as channel:
        check = methods(channel)["check"]
        out = {}
        for service in ["", "molecular_learning.v1.ForceField"]:
            out[service or "(server)"] = health.HealthCheckResponse.ServingStatus.Name(
                check(health.HealthCheckRequest(service=service), timeout=10).status)
        return out


def status_of(call):
    try:
        call()
        return {"code": "OK", "details": ""}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details() or ""}


def errors(address, frames):
    frame = frames[0]
    with grpc.insecure_channel(address) as channel:
        m = methods(channel)
        out = {}

        def bad(edit):
            r = request(frame)
            edit(r)
            return lambda: m["evaluate"](r, timeout=10)

        out["nan"] = status_of(bad(lambda r: r.positions_angstrom.__setitem__(4, float("nan"))))
        out["wrong_length"] = status_of(bad(lambda r: r.positions_angstrom.append(1.0)))
        out["unknown_species"] = status_of(bad(lambda r: r.symbols.__setitem__(3, "Xe")))
        big = request({"symbols": frame["symbols"] * 3, "positions": frame["positions"] * 3, "cell": frame.get("cell")})
        out["too_many_atoms"] = status_of(lambda: m["evaluate"](big, timeout=10))
        huge = ml.EvaluateRequest(positions_angstrom=[0.5] * 30000)
        out["oversized"] = status_of(lambda: m["evaluate"](huge, timeout=10))
        out["compressed"] = status_of(lambda: m["evaluate"](request(frame), timeout=10, compression=grpc.Compression.Gzip))
        unknown = channel.unary_unary(SERVICE + "Teleport", request_serializer=ml.EvaluateRequest.SerializeToString,
                                      response_deserializer=ml.EvaluateResponse.FromString)
        out["unknown_method"] = status_of(lambda: unknown(request(frame), timeout=10))
        out["unknown_health_service"] = status_of(lambda: m["check"](health.HealthCheckRequest(service="nope"), timeout=10))

        def stalled_stream():
            # One step, then silence: the deadline (0.5 s) passes while the server waits for the next request.
            stream = LockStep(m["stream"], timeout=0.5)
            stream.step(request(frame))
            time.sleep(1.0)
            stream.close()
            raise AssertionError("the stalled stream should have failed")
        out["deadline"] = status_of(stalled_stream)

        def bad_mid_stream():
            stream = LockStep(m["stream"], timeout=10)
            stream.step(request(frame, 1))
            r = request(frame, 2, with_species=False)
            r.positions_angstrom[0] = float("inf")
            stream.step(r)
        out["mid_stream"] = status_of(bad_mid_stream)
        # The server still serves after all that.
        out["after"] = status_of(lambda: m["evaluate"](request(frame), timeout=10))
        return out


def load(address, frames, clients, steps):
    expected = None
    with grpc.insecure_channel(address) as channel:
        ev = methods(channel)["evaluate"]
        expected = [ev(request(f), timeout=30).energy_ev for f in frames]
    latencies = [[] for _ in range(clients)]
    failures = []

    def run(c):
        try:
            with grpc.insecure_channel(address) as channel:
                stream = LockStep(methods(channel)["stream"], timeout=600)
                for k in range(steps):
                    f = (k + 7 * c) % len(frames)
                    req = request(frames[f], k, with_species=(k == 0))
                    t0 = time.perf_counter()
                    resp = stream.step(req)
                    latencies[c].append(time.perf_counter() - t0)
                    if resp.id != k or abs(resp.energy_ev - expected[f]) > 1e-12 * abs(expected[f]) or len(resp.forces_ev_per_angstrom) != len(frames[f]["positions"]):
                        failures.append(f"client {c} step {k}: got id {resp.id}, energy {resp.energy_ev} (expected {expected[f]})")
                        return
                rest, code = stream.close()
                if rest or code != grpc.StatusCode.OK:
                    failures.append(f"client {c}: trailing {len(rest)} responses, status {code}")
        except Exception as e:  # noqa: BLE001 - reported to the test
            failures.append(f"client {c}: {e!r}")

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    flat = sorted(x for l in latencies for x in l)
    pct = (lambda p: flat[min(len(flat) - 1, int(p * len(flat)))] * 1e6) if flat else (lambda p: 0.0)
    return {"clients": clients, "steps": steps, "evaluations": len(flat), "seconds": wall,
            "evaluations_per_second": len(flat) / wall if wall > 0 else 0.0,
            "p50_us": pct(0.50), "p99_us": pct(0.99), "failures": failures}


def cancel(address, frames, count):
    """Four clients at once cancel (RST_STREAM) streams while the server is between their requests."""
    codes = []

    def run():
        with grpc.insecure_channel(address) as channel:
            stream = methods(channel)["stream"]
            for k in range(count):
                responses = stream(iter([request(frames[0], i) for i in range(50)]), timeout=30)
                next(responses)
                next(responses)
                responses.cancel()
                codes.append(responses.code().name)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with grpc.insecure_channel(address) as channel:
        after = status_of(lambda: methods(channel)["evaluate"](request(frames[0]), timeout=10))
    return {"codes": codes, "after": after}


def main(argv):
    address, mode = argv[1], argv[2]
    if mode == "health":
        out, path = health_checks(address), argv[3]
    else:
        with open(argv[3]) as f:
            frames = json.load(f)["frames"]
        path = argv[4]
        if mode == "evaluate":
            out = evaluate(address, frames)
        elif mode == "errors":
            out = errors(address, frames)
        elif mode == "cancel":
            out = cancel(address, frames, int(argv[5]))
        elif mode == "load":
            out = load(address, frames, int(argv[5]), int(argv[6]))
        else:
            raise SystemExit(f"unknown mode {mode}")
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv)
