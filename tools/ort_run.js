#!/usr/bin/env node
// Reference oracle: run an ONNX model with ONNX Runtime (npm onnxruntime-node, CPU, 2 threads) on
// .npy inputs and write every graph output as .npy — the same contract as `seer onnx-run`.
//
//   node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy [...] --output-dir DIR
//        [--threads N] [--opt all|disabled]
//
// Each output goes to DIR/<name>.npy, <name> being the output name with every character outside
// [A-Za-z0-9._-] replaced by '_'. Prints one JSON line per output (name, file, shape, dtype).
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { readNpy, writeNpy } = require('./npy');

function usage(msg) {
  if (msg) process.stderr.write(`ort_run: ${msg}\n`);
  process.stderr.write(
    'usage: node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy [...] --output-dir DIR ' +
      '[--threads N] [--opt all|disabled]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = { model: null, inputs: [], outputDir: null, threads: 2, opt: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq <= 0) usage(`--input wants NAME=FILE.npy, got ${v}`);
      args.inputs.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (a === '--output-dir') {
      args.outputDir = next();
    } else if (a === '--threads') {
      args.threads = Number(next());
    } else if (a === '--opt') {
      args.opt = next();
    } else if (a.startsWith('-')) {
      usage(`unknown option ${a}`);
    } else if (!args.model) {
      args.model = a;
    } else {
      usage(`unexpected argument ${a}`);
    }
  }
  if (!args.model || !args.outputDir) usage();
  return args;
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: args.opt,
  });
  const feeds = {};
  for (const [name, file] of args.inputs) {
    if (!session.inputNames.includes(name)) {
      throw new Error(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    const { dtype, shape, data } = readNpy(file);
    feeds[name] = new ort.Tensor(dtype, data, shape);
  }
  for (const name of session.inputNames) {
    if (!(name in feeds)) throw new Error(`missing --input for '${name}'`);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(args.outputDir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    const file = path.join(args.outputDir, `${safeName(name)}.npy`);
    writeNpy(file, t.type, t.dims, t.data);
    process.stdout.write(JSON.stringify({ name, file, shape: t.dims, dtype: t.type }) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`ort_run: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
