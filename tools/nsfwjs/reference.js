#!/usr/bin/env node
// Reproduces the committed NSFW reference outputs from the committed fixtures: runs nsfwjs 4.4.0
// (tfjs CPU) on every tests/fixtures/nsfw/<S>/<id>.png and compares with expected.json "fixture".
//
//   node tools/nsfwjs/reference.js                         # all models, bundled weights
//   node tools/nsfwjs/reference.js --models DIR            # weights from setup_models.js folders
//                                                          #   (DIR = <models-dir>/nsfwjs)
//   node tools/nsfwjs/reference.js --model mobilenet_v2 --limit 5 --tol 1e-6 --json out.json
//
// Exit status 0 when every probability is within --tol (default 1e-6: same software, so the
// only slack is for a different tfjs patch release) of expected.json, 1 otherwise, 2 on usage.
// The "full" (end-to-end) values need the photos' Debian packages and Pillow; regenerate them
// with make_fixtures.py instead.
'use strict';

const fs = require('fs');
const path = require('path');

const oracle = require('./oracle');
const { readPngRgb } = require('./png');

function parseArgs(argv) {
  const a = {
    fixtures: path.join(__dirname, '..', '..', 'tests', 'fixtures', 'nsfw'),
    models: null,
    only: [],
    limit: Infinity,
    tol: 1e-6,
    json: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--fixtures') a.fixtures = v();
    else if (k === '--models') a.models = v();
    else if (k === '--model') a.only.push(v());
    else if (k === '--limit') a.limit = Number(v());
    else if (k === '--tol') a.tol = Number(v());
    else if (k === '--json') a.json = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`reference.js: ${e.message}\n`);
    return 2;
  }
  const expected = JSON.parse(fs.readFileSync(path.join(args.fixtures, 'expected.json'), 'utf8'));
  await oracle.init();
  const names = args.only.length ? args.only : Object.keys(expected.models);
  const out = {};
  let worst = 0;
  let failures = 0;
  for (const name of names) {
    const exp = expected.models[name];
    if (!exp || !oracle.MODELS[name]) throw new Error(`unknown model ${name}`);
    const net = await oracle.load(name, args.models);
    const size = exp.input_size;
    out[name] = {};
    let maxDiff = 0;
    const ids = Object.keys(exp.results).slice(0, args.limit);
    for (const id of ids) {
      const px = readPngRgb(path.join(args.fixtures, exp.fixture_dir, `${id}.png`));
      if (px.width !== size || px.height !== size) throw new Error(`${id}: fixture is not ${size}²`);
      const p = Array.from(oracle.probs(net, px.data, size, size));
      out[name][id] = p;
      const d = Math.max(...p.map((v, i) => Math.abs(v - exp.results[id].fixture[i])));
      maxDiff = Math.max(maxDiff, d);
      if (!(d <= args.tol)) {
        failures++;
        process.stderr.write(`MISMATCH ${name}/${id}: got [${p.map((v) => v.toPrecision(6))}] ` +
          `want [${exp.results[id].fixture}] (max diff ${d.toExponential(2)})\n`);
      }
    }
    net.dispose();
    worst = Math.max(worst, maxDiff);
    process.stdout.write(`${name}: ${ids.length} fixtures, max |Δp| = ${maxDiff.toExponential(2)}\n`);
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 1) + '\n');
  process.stdout.write(failures ? `FAIL: ${failures} outside ${args.tol}\n` :
    `OK: all within ${args.tol} (worst ${worst.toExponential(2)})\n`);
  return failures ? 1 : 0;
}

main().then((rc) => {
  process.exitCode = rc;
}, (e) => {
  process.stderr.write(`reference.js: ${e.stack || e}\n`);
  process.exitCode = 1;
});
