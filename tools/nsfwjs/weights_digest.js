#!/usr/bin/env node
// Digest of every dequantised weight as tfjs decodes it, so seer's TF.js importer can check its
// manifest parsing, shard concatenation and uint8 dequantisation bit for bit, before any kernel
// runs.
//
//   node tools/nsfwjs/weights_digest.js <models-dir>/nsfwjs > tests/fixtures/nsfw/weights_sha256.json
//
// Output: {model: {weight name: {shape, sha256 (of the float32 little-endian values), first
// (first 4 values as float32 written with 9 significant digits)}}}. Decoding is tfjs's own
// tf.io.decodeWeights on the concatenated shards, the path every tfjs loader takes.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const tf = require('@tensorflow/tfjs');

async function main() {
  const root = process.argv[2];
  if (!root) {
    process.stderr.write('usage: node weights_digest.js <dir written by setup_models.js>\n');
    return 2;
  }
  await tf.setBackend('cpu');
  const out = {};
  for (const name of ['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3']) {
    const dir = path.join(root, name);
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const specs = tf.io.getWeightSpecs(j.weightsManifest);
    const all = Buffer.concat(j.weightsManifest.flatMap((g) => g.paths.map((p) =>
      fs.readFileSync(path.join(dir, p)))));
    const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
    const tensors = tf.io.decodeWeights(ab, specs);
    out[name] = {};
    for (const s of specs) {
      const v = tensors[s.name].dataSync();
      if (!(v instanceof Float32Array)) throw new Error(`${name}/${s.name}: not float32`);
      out[name][s.name] = {
        shape: s.shape,
        sha256: crypto.createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength))
          .digest('hex'),
        first: Array.from(v.slice(0, 4), (x) => Number(x.toPrecision(9))),
      };
    }
    tf.dispose(Object.values(tensors));
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  return 0;
}

main().then((rc) => {
  process.exitCode = rc;
}, (e) => {
  process.stderr.write(`weights_digest.js: ${e.stack || e}\n`);
  process.exitCode = 1;
});
