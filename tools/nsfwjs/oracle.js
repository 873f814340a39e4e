// The reference implementation seer is checked against: npm nsfwjs 4.4.0 on @tensorflow/tfjs
// 4.22.0 with the pure-JavaScript CPU backend. Shared by make_fixtures.js, reference.js and
// bench/nsfw_bench.js.
//
//   const oracle = require('./oracle');
//   await oracle.init();                                        // tfjs CPU backend
//   const net = await oracle.load('mobilenet_v2');              // the package's bundled model
//   const net2 = await oracle.load('mobilenet_v2', 'models/nsfwjs');  // a setup_models.js folder
//   const probs = oracle.probs(net, rgbUint8, h, w);            // Float32Array(5), class order
//
// `probs` goes through nsfwjs's own NSFWJS.infer(): toFloat, /255, resizeBilinear(alignCorners)
// unless the image already has the model's size, reshape to [1,s,s,3], predict. Nothing here
// re-implements the preprocessing, so the reference stays nsfwjs's, not ours.
'use strict';

const fs = require('fs');
const path = require('path');

const tf = require('@tensorflow/tfjs');
const nsfwjs = require('nsfwjs');

// Folder name -> nsfwjs's registry name and load options (dist/esm/models/*.js).
const MODELS = {
  mobilenet_v2: { nsfwjsName: 'MobileNetV2', size: 224, type: undefined },
  mobilenet_v2_mid: { nsfwjsName: 'MobileNetV2Mid', size: 224, type: 'graph' },
  inception_v3: { nsfwjsName: 'InceptionV3', size: 299, type: undefined },
};
const LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

// nsfwjs's "exports" hides its package.json; walk up from the resolved entry point instead.
const NSFWJS_VERSION = (() => {
  for (let d = path.dirname(require.resolve('nsfwjs')); d !== path.dirname(d); d = path.dirname(d)) {
    const f = path.join(d, 'package.json');
    if (fs.existsSync(f)) {
      const pkg = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (pkg.name === 'nsfwjs') return pkg.version;
    }
  }
  return 'unknown';
})();

async function init() {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`tfjs backend is ${tf.getBackend()}, want cpu`);
}

// A tfjs IOHandler that reads a standard TF.js folder the way tfjs's own http/file loaders do:
// model.json, then every weightsManifest path relative to it, concatenated in manifest order.
function folderHandler(dir) {
  return {
    load: async () => {
      const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const parts = manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
        const all = Buffer.concat(parts);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

// Silences nsfwjs's console.info banners ("You're using the model ...") during a load.
async function quietly(fn) {
  const info = console.info;
  console.info = () => {};
  try {
    return await fn();
  } finally {
    console.info = info;
  }
}

// name: a MODELS key. dir: null for the copy bundled in the npm package (what nsfwjs users get),
// or a directory holding <name>/model.json as written by setup_models.js.
async function load(name, dir = null) {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model ${name}`);
  return quietly(() => (dir
    ? nsfwjs.load(folderHandler(path.join(dir, name)), { size: m.size, type: m.type })
    : nsfwjs.load(m.nsfwjsName)));
}

// name -> Float32Array of every weight as tfjs decoded it (after uint8 dequantisation).
function namedWeights(net) {
  const out = new Map();
  const m = net.model;
  if (typeof m.getWeights === 'function' && Array.isArray(m.weights)) { // LayersModel
    m.weights.forEach((w) => out.set(w.originalName || w.name, w.read().dataSync()));
  } else { // GraphModel: weights is {name: [Tensor]}
    for (const [k, ts] of Object.entries(m.weights)) out.set(k, ts[0].dataSync());
  }
  return out;
}

// Class probabilities (Float32Array of 5, LABELS order) for one RGB uint8 image of h×w.
function probs(net, rgb, h, w) {
  return tf.tidy(() => {
    const img = tf.tensor3d(Int32Array.from(rgb), [h, w, 3], 'int32');
    return net.infer(img).dataSync().slice();
  });
}

// The resize nsfwjs applies, on the 0..255 scale, rounded back to uint8: what the committed
// fixtures hold. tf.image.resizeBilinear(x, [s, s], alignCorners = true) on float32.
function resizeToUint8(rgb, h, w, size) {
  const v = tf.tidy(() => tf.image
    .resizeBilinear(tf.tensor3d(Float32Array.from(rgb), [h, w, 3], 'float32'), [size, size], true)
    .dataSync());
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(v[i])));
  return out;
}

module.exports = { tf, nsfwjs, NSFWJS_VERSION, MODELS, LABELS, init, load, namedWeights, probs, resizeToUint8, folderHandler };
