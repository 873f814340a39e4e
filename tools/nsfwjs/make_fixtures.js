#!/usr/bin/env node
// Node half of the NSFW fixture generator; make_fixtures.py drives it (decodes the photos with
// Pillow first). Do not run it by hand; run `python3 tools/nsfwjs/make_fixtures.py`.
//
//   node make_fixtures.js JOB.json
//   JOB = {photos: [{id, rgb, width, height}], models_dir, out_dir}
//     rgb: a raw RGB uint8 file (height*width*3 bytes, row-major) decoded by Pillow.
//
// Writes under out_dir:
//   224/<id>.png, 299/<id>.png   the photo squashed to the model size exactly as nsfwjs does
//                                (tfjs resizeBilinear, alignCorners=true), rounded to uint8;
//   expected.json                per model and photo: nsfwjs's class probabilities on the PNG's
//                                pixels ("fixture") and on the full-size decode ("full").
// and prints {id: {224: sha256, 299: sha256}} of the resized pixels for make_fixtures.py.
//
// Every model is loaded twice: as bundled in the npm package (nsfwjs.load(name)) and from the
// folder setup_models.js wrote; every dequantised weight must agree bit for bit (and one output),
// which proves the folders hold what nsfwjs loads. Expected values come from the bundled copy.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const oracle = require('./oracle');
const { writePngRgb, readPngRgb } = require('./png');

const SIZES = [224, 299];

function f32(v) {
  return Number(Math.fround(v).toPrecision(9)); // 9 significant digits round-trip a float32
}

function argmax(a) {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const out = job.out_dir;
  await oracle.init();

  const hashes = {};
  const full = {};
  for (const p of job.photos) {
    const rgb = new Uint8Array(fs.readFileSync(p.rgb));
    if (rgb.length !== p.width * p.height * 3) throw new Error(`${p.rgb}: wrong size`);
    full[p.id] = rgb;
    hashes[p.id] = {};
    for (const s of SIZES) {
      const small = oracle.resizeToUint8(rgb, p.height, p.width, s);
      fs.mkdirSync(path.join(out, String(s)), { recursive: true });
      const file = path.join(out, String(s), `${p.id}.png`);
      writePngRgb(file, s, s, small);
      const back = readPngRgb(file);
      if (!Buffer.from(back.data).equals(Buffer.from(small))) throw new Error(`${file}: PNG round trip`);
      hashes[p.id][s] = crypto.createHash('sha256').update(small).digest('hex');
    }
  }

  const expected = {
    generator: 'tools/nsfwjs/make_fixtures.py (+ make_fixtures.js, oracle.js)',
    reference: {
      nsfwjs: oracle.NSFWJS_VERSION,
      tfjs: oracle.tf.version_core,
      backend: oracle.tf.getBackend(),
      node: process.version,
    },
    labels: oracle.LABELS,
    meaning: {
      fixture: 'NSFWJS.infer(<S>/<id>.png pixels as an int32 [S,S,3] tensor): /255, no resize ' +
        '(already S×S), predict. Class order = labels.',
      full: 'NSFWJS.infer(full-size Pillow RGB decode): /255, resizeBilinear to S×S with ' +
        'alignCorners, predict. The end-to-end reference.',
    },
    models: {},
  };
  for (const [name, m] of Object.entries(oracle.MODELS)) {
    const t0 = Date.now();
    const bundled = await oracle.load(name);
    const folder = await oracle.load(name, job.models_dir);
    // The folder must hold exactly the weights nsfwjs loads from its bundle: compare every
    // decoded (dequantised) weight tensor bit for bit. Cheaper than running both on every photo.
    const wa = oracle.namedWeights(bundled);
    const wb = oracle.namedWeights(folder);
    if (wa.size !== wb.size) throw new Error(`${name}: ${wa.size} vs ${wb.size} weights`);
    for (const [k, va] of wa) {
      const vb = wb.get(k);
      if (!vb || vb.length !== va.length || !Buffer.from(va.buffer, va.byteOffset, va.byteLength)
        .equals(Buffer.from(vb.buffer, vb.byteOffset, vb.byteLength))) {
        throw new Error(`${name}: weight ${k} differs between the bundle and the folder`);
      }
    }
    const results = {};
    let maxFixVsFull = 0;
    for (const p of job.photos) {
      const fx = readPngRgb(path.join(out, String(m.size), `${p.id}.png`));
      const a = oracle.probs(bundled, fx.data, m.size, m.size);
      if (p === job.photos[0]) {
        // One inference through the folder-loaded model as well, end to end.
        const b = oracle.probs(folder, fx.data, m.size, m.size);
        if (a.some((v, i) => v !== b[i])) throw new Error(`${name}: folder model output differs`);
      }
      const f = oracle.probs(bundled, full[p.id], p.height, p.width);
      for (let i = 0; i < a.length; i++) maxFixVsFull = Math.max(maxFixVsFull, Math.abs(a[i] - f[i]));
      results[p.id] = {
        fixture: Array.from(a, f32),
        full: Array.from(f, f32),
        top_fixture: oracle.LABELS[argmax(a)],
        top_full: oracle.LABELS[argmax(f)],
      };
    }
    bundled.dispose();
    folder.dispose();
    expected.models[name] = {
      nsfwjs_name: m.nsfwjsName,
      input_size: m.size,
      fixture_dir: String(m.size),
      max_abs_fixture_vs_full: f32(maxFixVsFull),
      results,
    };
    process.stderr.write(`${name}: ${job.photos.length} photos, ${(Date.now() - t0) / 1000} s, ` +
      `max |fixture - full| = ${maxFixVsFull.toExponential(3)}\n`);
  }
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
  process.stdout.write(JSON.stringify(hashes));
}

main().catch((e) => {
  process.stderr.write(`make_fixtures.js: ${e.stack || e}\n`);
  process.exitCode = 1;
});
