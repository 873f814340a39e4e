#!/usr/bin/env node
// ONNX Runtime side of seer's benchmarks (not a test): the peer that `seer bench` is compared with.
//
//   node tools/ort_bench.js MODEL.onnx [--batch 1,4,8] [--seconds 10] [--threads 2] [--json]
//        [--opt all|disabled]
//
// Loads the model with onnxruntime-node (CPU EP, intra-op threads = --threads, inter-op 1), feeds the
// first input a deterministic pseudo-random tensor (integers 0..255, as decoded pixels; the symbolic
// batch dimension set to each --batch value, other symbolic dims to 1), does one warm-up run per
// batch, then runs until --seconds have passed (at least 2 runs) and reports images/s.
// Prints a table; with --json the last line of stdout is
//   {"runtime": "onnxruntime-node 1.30.0", "load_ms": .., "peak_rss_mb": .., "baseline_rss_mb": ..,
//    "results": [{"batch": 1, "img_per_s": .., "ms_per_run": .., "runs": .., "cpu_s_per_img": ..,
//                 "cpu_utilization": ..}, ..]}
// — the same keys as `seer bench --json` (issue 4) plus extras. peak_rss_mb is the process's
// high-water mark (getrusage maxrss) after the last batch, node itself included (baseline_rss_mb is
// the high-water mark before the model was loaded).
'use strict';

const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) process.stderr.write(`ort_bench: ${msg}\n`);
  process.stderr.write('usage: node tools/ort_bench.js MODEL.onnx [--batch 1,4,8] [--seconds 10] ' +
                       '[--threads 2] [--json] [--opt all|disabled]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { model: null, batches: [1, 4, 8], seconds: 10, threads: 2, json: false, opt: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : usage(`${k} needs a value`));
    if (k === '--batch') a.batches = next().split(',').map(Number);
    else if (k === '--seconds') a.seconds = Number(next());
    else if (k === '--threads') a.threads = Number(next());
    else if (k === '--opt') a.opt = next();
    else if (k === '--json') a.json = true;
    else if (k.startsWith('-')) usage(`unknown option ${k}`);
    else if (!a.model) a.model = k;
    else usage(`unexpected argument ${k}`);
  }
  if (!a.model) usage();
  if (a.batches.some((b) => !Number.isInteger(b) || b < 1)) usage('--batch wants positive integers');
  return a;
}

const rssMb = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB on Linux

// mulberry32: small deterministic PRNG so every run (and any peer) can use the same input.
function makeInput(type, shape) {
  let s = 0x5eed;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((x, y) => x * y, 1);
  if (type !== 'float32') throw new Error(`first input has type ${type}; only float32 is supported`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.floor(rand() * 256);
  return new ort.Tensor('float32', data, shape);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const baseline = rssMb();
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: a.opt,
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const meta = session.inputMetadata[0];
  if (session.inputNames.length !== 1) {
    throw new Error(`model has ${session.inputNames.length} inputs; only single-input models are benchmarked`);
  }
  const results = [];
  for (const batch of a.batches) {
    const shape = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batch : 1));
    if (shape[0] !== batch) throw new Error(`batch dimension is fixed at ${shape[0]}`);
    const feeds = { [session.inputNames[0]]: makeInput(meta.type, shape) };
    await session.run(feeds); // warm-up
    let runs = 0;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (runs < 2 || elapsed < a.seconds) {
      await session.run(feeds);
      runs++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    // CPU-seconds per image: less sensitive than img/s to other processes on a shared machine.
    const r = { batch, img_per_s: (batch * runs) / elapsed, ms_per_run: (elapsed * 1000) / runs, runs,
                cpu_s_per_img: cpuS / (batch * runs), cpu_utilization: cpuS / elapsed };
    results.push(r);
    if (!a.json) process.stdout.write(`batch ${batch}: ${r.img_per_s.toFixed(3)} img/s (${r.ms_per_run.toFixed(0)} ms/run, ${runs} runs, ` +
                                          `${r.cpu_s_per_img.toPrecision(3)} CPU-s/img, ${r.cpu_utilization.toFixed(2)} cores busy)\n`);
  }
  const out = {
    runtime: `onnxruntime-node ${ort.env.versions.node}`,
    threads: a.threads,
    load_ms: loadMs,
    peak_rss_mb: rssMb(),
    baseline_rss_mb: baseline,
    results,
  };
  if (a.json) {
    for (const r of results) {
      process.stderr.write(`ort batch ${r.batch}: ${r.img_per_s.toFixed(3)} img/s, ` +
                           `${r.cpu_s_per_img.toPrecision(3)} CPU-s/img, ${r.cpu_utilization.toFixed(2)} cores busy\n`);
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(`load ${loadMs.toFixed(0)} ms, peak RSS ${out.peak_rss_mb.toFixed(0)} MB ` +
                         `(baseline ${baseline.toFixed(0)} MB)\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
