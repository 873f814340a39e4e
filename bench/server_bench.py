#!/usr/bin/env python3
"""Benchmark (not a test) of `seer serve`: requests/s and p50/p99 latency of POST /v1/tag at
several client concurrencies, with the tiny committed tagger and with the full-size WD14
ViT-B/16@448 graph, plus the server's overhead per request against `seer bench` (the engine
alone) on the same graph.

    bench/server_bench.py [--seer build/seer] [--concurrency 1,8,32] [--seconds 10]
                          [--models tiny,vit] [--image tests/fixtures/images/exact_448x448.jpg]

The ViT graph is .cache/bench/wd14_vit_b16_448_opset13.onnx (tools/gen_vit_b16.py makes it,
random weights, 10861 classes); a selected_tags.csv with that many rows is generated next to a
symlink in a temporary models dir. Clients are Python threads with one keep-alive connection
each, sending the same JPEG (base64) every time; the server runs with its defaults (dynamic
batching, 2 ms batch window). Overhead = the server's p50 latency at concurrency 1 minus the
engine's time per image at batch 1 from `seer bench`: it holds HTTP, JSON, base64, image decode
and preprocessing, queueing and post-processing; "outside" = client latency minus the server's
X-Inference-Time header (decode + queue + run), i.e. HTTP, JSON, base64 and formatting alone.
Server req/s at 1 client is compared with `seer bench --batch 1` img/s. Stdlib only. On a shared machine the figures
move with the other load: run it twice and compare.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIT = os.path.join(ROOT, ".cache/bench/wd14_vit_b16_448_opset13.onnx")
VIT_CLASSES = 10861


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_tags_csv(path, classes):
    with open(path, "w") as f:
        f.write("tag_id,name,category,count\n")
        for i, r in enumerate(["general", "sensitive", "questionable", "explicit"]):
            f.write(f"{9000000 + i},{r},9,1000\n")
        for i in range(classes - 4):
            f.write(f"{i},tag_{i:05d},{4 if i % 10 == 9 else 0},{100 + i}\n")


def make_models_dir(tmp, models):
    d = os.path.join(tmp, "models")
    os.makedirs(d)
    ids = {}
    if "tiny" in models:
        src = os.path.join(ROOT, "tests/fixtures/models/tagger-tiny")
        os.makedirs(os.path.join(d, "tagger-tiny"))
        for f in ("model.onnx", "selected_tags.csv"):
            shutil.copy(os.path.join(src, f), os.path.join(d, "tagger-tiny", f))
        ids["tiny"] = ("tagger-tiny", os.path.join(d, "tagger-tiny/model.onnx"))
    if "vit" in models:
        if not os.path.exists(VIT):
            sys.exit(f"server_bench: {VIT} is missing (make it with tools/gen_vit_b16.py)")
        vd = os.path.join(d, "wd14-vit-b16-448")
        os.makedirs(vd)
        os.symlink(VIT, os.path.join(vd, "model.onnx"))
        write_tags_csv(os.path.join(vd, "selected_tags.csv"), VIT_CLASSES)
        ids["vit"] = ("wd14-vit-b16-448", VIT)
    return d, ids


class Server:
    def __init__(self, seer, models_dir, tmp, extra):
        self.port = free_port()
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
        self.log = open(os.path.join(tmp, "serve.log"), "w")
        self.proc = subprocess.Popen([seer, "serve", "--port", str(self.port), "--models-dir", models_dir,
                                      "--keep-alive", "-1"] + extra, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit("server_bench: seer serve did not come up")

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def run_load(port, body, concurrency, seconds):
    """Each client loops POST /v1/tag on its own keep-alive connection for `seconds`.

    Per request it keeps the client-observed latency and the server's X-Inference-Time (ms:
    decode + queue + engine run); their difference is what the server adds outside inference
    (HTTP, JSON, base64, formatting) plus the client's own Python overhead. A transport error
    (reset, server closed the connection) is counted and the client reconnects, as a real client
    would; it is reported, not hidden.
    """
    latencies, outside, errors, transport = [], [], [0], []
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        mine, mine_outside = [], []
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/tag", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    transport.append(type(e).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                continue
            dt = time.perf_counter() - t0
            if r.status == 200:
                mine.append(dt)
                inference_ms = r.getheader("X-Inference-Time")
                if inference_ms is not None:
                    mine_outside.append(dt * 1000 - float(inference_ms))
            else:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            outside.extend(mine_outside)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    outside.sort()
    n = len(latencies)
    pick = lambda xs, q, scale=1000: xs[min(len(xs) - 1, int(q * len(xs)))] * scale if xs else float("nan")
    return {"requests": n, "errors": errors[0], "transport_errors": len(transport),
            "transport_kinds": sorted(set(transport)), "rps": n / wall, "p50_ms": pick(latencies, 0.50),
            "p99_ms": pick(latencies, 0.99), "mean_ms": statistics.mean(latencies) * 1000 if n else float("nan"),
            "outside_p50_ms": pick(outside, 0.50, 1), "outside_mean_ms": statistics.mean(outside) if outside else float("nan")}


def metrics_batches(port, model):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith(f'seer_batch_size_count{{model="{model}"}}'):
            count = float(line.split()[-1])
        if line.startswith(f'seer_batch_size_sum{{model="{model}"}}'):
            total = float(line.split()[-1])
    return count, total


def engine_bench(seer, onnx, seconds, batches):
    out = subprocess.run([seer, "bench", "--onnx", onnx, "--batch", batches, "--seconds", str(seconds), "--json"],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return {r["batch"]: r["img_per_s"] for r in json.loads(out)["results"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seer", default=os.path.join(ROOT, "build/seer"))
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--models", default="tiny,vit")
    ap.add_argument("--image", default=os.path.join(ROOT, "tests/fixtures/images/exact_448x448.jpg"))
    ap.add_argument("--serve-arg", action="append", default=[], help="extra `seer serve` flag (repeatable)")
    args = ap.parse_args()
    models = args.models.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]
    with open(args.image, "rb") as f:
        image_b64 = base64.b64encode(f.read()).decode()

    tmp = tempfile.mkdtemp(prefix="seer-server-bench-")
    try:
        models_dir, ids = make_models_dir(tmp, models)
        server = Server(args.seer, models_dir, tmp, args.serve_arg)
        rows = []
        try:
            for key in models:
                model_id, onnx = ids[key]
                body = json.dumps({"image": image_b64, "model": model_id})
                st, data = server.request("POST", "/v1/tag", body)  # loads the model
                if st != 200:
                    sys.exit(f"server_bench: {model_id}: {st} {data[:300]!r}")
                run_load(server.port, body, 1, min(2.0, args.seconds))  # warm-up
                for c in levels:
                    b0 = metrics_batches(server.port, model_id)
                    r = run_load(server.port, body, c, args.seconds)
                    b1 = metrics_batches(server.port, model_id)
                    r["mean_batch"] = (b1[1] - b0[1]) / (b1[0] - b0[0]) if b1[0] > b0[0] else float("nan")
                    r.update(model=key, concurrency=c)
                    rows.append(r)
                    print(f"[{key} c={c}] {r['rps']:.1f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                          f"outside inference p50 {r['outside_p50_ms']:.2f} ms, mean batch {r['mean_batch']:.2f}, "
                          f"errors {r['errors']}, transport errors {r['transport_errors']} {r['transport_kinds']}",
                          file=sys.stderr)
                server.request("POST", "/v1/models/unload", json.dumps({"model": model_id}))
        finally:
            server.stop()

        engine = {}
        for key in models:
            engine[key] = engine_bench(args.seer, ids[key][1], max(3.0, args.seconds / 2), "1,8")

        print(f"\nseer serve, POST /v1/tag, image {os.path.basename(args.image)}, {os.cpu_count()} CPUs "
              f"(shared machine: figures move with other load)")
        print(f"{'model':6} {'clients':>7} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'outside':>8} {'batch':>6} "
              f"{'errors':>6} {'transport':>9}")
        for r in rows:
            print(f"{r['model']:6} {r['concurrency']:>7} {r['rps']:>9.1f} {r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f} "
                  f"{r['outside_p50_ms']:>8.2f} {r['mean_batch']:>6.2f} {r['errors']:>6} {r['transport_errors']:>9}")
        print("  outside = p50 of (client latency - X-Inference-Time) in ms: HTTP, JSON, base64, formatting")
        print("\nengine alone (seer bench, same graph) vs the server at 1 client:")
        for key in models:
            e1, e8 = engine[key].get(1), engine[key].get(8)
            one = next((r for r in rows if r["model"] == key and r["concurrency"] == 1), None)
            per_image_ms = 1000.0 / e1
            best = max(r["rps"] for r in rows if r["model"] == key)
            line = f"{key:6} engine batch 1: {e1:.1f} img/s ({per_image_ms:.2f} ms/img), batch 8: {e8:.1f} img/s"
            if one:
                line += (f"; server at 1 client {one['rps']:.1f} req/s = {one['rps'] / e1:.2f} x engine batch 1 "
                         f"(p50 {one['p50_ms']:.2f} ms, {one['p50_ms'] - per_image_ms:.2f} ms over the engine's "
                         f"time per image; {one['outside_p50_ms']:.2f} ms outside inference)")
            line += f"; best server {best:.1f} req/s = {best / e8:.2f} x engine batch 8"
            print(line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
