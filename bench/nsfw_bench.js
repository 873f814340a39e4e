#!/usr/bin/env node
// nsfwjs's half of the NSFW classifier benchmark: images/s of nsfwjs 4.4.0 on @tensorflow/tfjs
// 4.22.0 (pure-JavaScript CPU backend, single-threaded) at batch 1 and 16, on the committed
// fixture pixels (tests/fixtures/nsfw/<S>/*.png, already at the model size, so no resize is
// timed; seer's half should be fed the same PNGs). Not a test: it prints figures, never fails on
// speed.
//
//   bash tools/nsfwjs/setup.sh models            # once: npm ci for tools/nsfwjs
//   node bench/nsfw_bench.js [--models mobilenet_v2,inception_v3] [--batch 1,16]
//                            [--seconds 20] [--min-iters 2] [--json] [--no-batch-check]
//
// Reports wall-clock images/s and images per CPU-second of this process (the cpu backend uses
// one thread, so the latter is what the machine would give on an idle core).
// One timed step = uint8 pixels -> int32 tensor [B,S,S,3] -> /255 -> model.predict -> read the
// [B,5] probabilities back (what NSFWJS.infer does, batched; nsfwjs's own infer() only takes one
// image). One warm-up step per (model, batch) is not timed. Also prints max |p(batch B) -
// p(batch 1)| so a batched seer can be held to the same invariance.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const oracle = require('../tools/nsfwjs/oracle');
const { readPngRgb } = require('../tools/nsfwjs/png');

const FIXTURES = path.join(__dirname, '..', 'tests', 'fixtures', 'nsfw');

function parseArgs(argv) {
  const a = { models: ['mobilenet_v2', 'inception_v3'], batch: [1, 16], seconds: 20, minIters: 2,
    json: false, batchCheck: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--models') a.models = v().split(',');
    else if (k === '--batch') a.batch = v().split(',').map(Number);
    else if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--min-iters') a.minIters = Number(v());
    else if (k === '--json') a.json = true;
    else if (k === '--no-batch-check') a.batchCheck = false;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function loadPixels(size, count) {
  const dir = path.join(FIXTURES, String(size));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  if (!files.length) throw new Error(`no fixtures in ${dir}`);
  const imgs = files.map((f) => readPngRgb(path.join(dir, f)).data);
  const out = [];
  for (let i = 0; i < count; i++) out.push(imgs[i % imgs.length]); // cycle when count > photos
  return out;
}

function step(net, pixels, size) {
  const { tf } = oracle;
  const b = pixels.length;
  const flat = new Int32Array(b * size * size * 3);
  pixels.forEach((p, i) => flat.set(p, i * p.length));
  return tf.tidy(() => net.model
    .predict(tf.tensor4d(flat, [b, size, size, 3], 'int32').toFloat().div(255))
    .dataSync()
    .slice());
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await oracle.init();
  const rows = [];
  for (const name of args.models) {
    const size = oracle.MODELS[name].size;
    const net = await oracle.load(name);
    const maxB = Math.max(...args.batch);
    const pixels = loadPixels(size, maxB);
    // Batch-1 outputs of every image, to measure batch invariance (costs maxB single runs).
    const single = args.batchCheck ? pixels.map((p) => step(net, [p], size)) : null;
    for (const b of args.batch) {
      const batch = pixels.slice(0, b);
      // Warm-up (not timed): the first batch size only; tfjs cpu has nothing to compile per shape,
      // and on a slow machine an InceptionV3 batch of 16 costs minutes.
      const first = (b === args.batch[0] || args.batchCheck) ? step(net, batch, size) : null;
      let diff = args.batchCheck && first ? 0 : NaN;
      for (let i = 0; args.batchCheck && i < b; i++) {
        for (let c = 0; c < 5; c++) diff = Math.max(diff, Math.abs(first[i * 5 + c] - single[i][c]));
      }
      let iters = 0;
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let elapsed = 0;
      while (iters < args.minIters || elapsed < args.seconds) {
        step(net, batch, size);
        iters++;
        elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
      }
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const row = { peer: 'nsfwjs-4.4.0/tfjs-4.22.0-cpu', model: name, input: size, batch: b,
        iters, seconds: elapsed, images_per_s: (iters * b) / elapsed, cpu_seconds: cpuSeconds,
        images_per_cpu_s: (iters * b) / cpuSeconds,
        ms_per_batch: (elapsed * 1000) / iters, max_abs_diff_vs_batch1: diff };
      rows.push(row);
      if (args.json) process.stdout.write(JSON.stringify(row) + '\n');
      else {
        process.stdout.write(`${name.padEnd(14)} ${size} batch ${String(b).padStart(2)}: ` +
          `${row.images_per_s.toFixed(2)} images/s wall, ${row.images_per_cpu_s.toFixed(2)} per ` +
          `CPU-second (${row.ms_per_batch.toFixed(0)} ms/batch, ` +
          `${iters} iters, max |Δp| vs batch 1 = ${diff.toExponential(1)})\n`);
      }
    }
    net.dispose();
  }
  if (!args.json) {
    const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
    process.stdout.write(`(${os.cpus().length} CPUs, ${os.cpus()[0].model}; load average ${load}; ` +
      'tfjs cpu backend is single-threaded JavaScript)\n');
  }
}

main().catch((e) => {
  process.stderr.write(`nsfw_bench.js: ${e.stack || e}\n`);
  process.exitCode = 1;
});
