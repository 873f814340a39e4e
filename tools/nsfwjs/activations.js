#!/usr/bin/env node
// Per-layer (layers models) / per-node (graph model) activation summaries of nsfwjs on one
// fixture, so a mismatch in seer's TF.js importer can be pinned to the first layer that differs
// instead of only showing up in the 5 final probabilities.
//
//   node tools/nsfwjs/activations.js [--photo astronaut] [--fixtures tests/fixtures/nsfw] [--model M]
//        > tests/fixtures/nsfw/activations.json
//
// Input: <fixtures>/<S>/<photo>.png as uint8 RGB, /255 (what NSFWJS.infer feeds when no resize is
// needed). Output: {photo, models: {name: [{name, class|op, shape, mean, mean_abs, min, max,
// at: [[flat index, value], ...]}]}} in graph order; `at` samples 8 fixed flat indices
// (i * size / 8 + 1 for i in 0..7, NHWC order) of batch element 0.
'use strict';

const fs = require('fs');
const path = require('path');

const oracle = require('./oracle');
const { readPngRgb } = require('./png');

const r9 = (x) => Number(Math.fround(x).toPrecision(9));

function summary(name, kind, t) {
  const v = t.dataSync();
  let sum = 0;
  let abs = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    abs += Math.abs(v[i]);
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  const at = [];
  for (let i = 0; i < 8; i++) {
    const k = Math.min(v.length - 1, Math.floor((i * v.length) / 8) + 1);
    at.push([k, r9(v[k])]);
  }
  return { name, ...kind, shape: t.shape, mean: r9(sum / v.length), mean_abs: r9(abs / v.length),
    min: r9(lo), max: r9(hi), at };
}

async function main() {
  const argv = process.argv.slice(2);
  let photo = 'astronaut';
  const only = [];
  let fixtures = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'nsfw');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--photo') photo = argv[++i];
    else if (argv[i] === '--fixtures') fixtures = argv[++i];
    else if (argv[i] === '--model') only.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  await oracle.init();
  const { tf } = oracle;
  const out = { photo, input: 'uint8 PNG pixels / 255 as float32 [1,S,S,3]', models: {} };
  for (const [name, m] of Object.entries(oracle.MODELS)) {
    if (only.length && !only.includes(name)) continue;
    const px = readPngRgb(path.join(fixtures, String(m.size), `${photo}.png`)).data;
    const net = await oracle.load(name);
    const rows = [];
    tf.tidy(() => {
      const x = tf.tensor4d(Int32Array.from(px), [1, m.size, m.size, 3], 'int32').toFloat().div(255);
      if (m.type === 'graph') {
        const nodes = net.model.artifacts.modelTopology.node
          .filter((n) => n.op !== 'Const' && n.op !== 'Placeholder');
        const outs = net.model.execute(x, nodes.map((n) => n.name));
        nodes.forEach((n, i) => rows.push(summary(n.name, { op: n.op }, outs[i])));
      } else {
        const layers = net.model.layers.filter((l) => l.getClassName() !== 'InputLayer');
        const probe = tf.model({ inputs: net.model.inputs, outputs: layers.map((l) => l.output) });
        const outs = probe.predict(x);
        layers.forEach((l, i) => rows.push(summary(l.name, { class: l.getClassName() }, outs[i])));
      }
    });
    net.dispose();
    out.models[name] = rows;
    process.stderr.write(`${name}: ${rows.length} activations\n`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`activations.js: ${e.stack || e}\n`);
  process.exitCode = 1;
});
