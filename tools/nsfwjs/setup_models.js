#!/usr/bin/env node
// Writes the three NSFW classifiers shipped inside npm `nsfwjs@4.4.0` as standard TF.js model
// folders that seer's TF.js importer (src/engine) reads. Nothing is downloaded: the weights are
// already in the installed package, wrapped as JavaScript.
//
//   node tools/nsfwjs/setup_models.js <models-dir>/nsfwjs        # or: bash tools/nsfwjs/setup.sh DIR
//   -> DIR/mobilenet_v2/     model.json  group1-shard1of1.bin                 seer.json
//      DIR/mobilenet_v2_mid/ model.json  group1-shard{1,2}of2.bin             seer.json
//      DIR/inception_v3/     model.json  group1-shard{1..6}of6.bin            seer.json
//
// How the package wraps them (nsfwjs/dist/models/<name>/*.min.js, built by nsfwjs's
// scripts/bundle-model.mjs and minified): each file is a browserify UMD bundle whose only module
// does `module.exports = <payload>`. For `model.min.js` the payload is a JavaScript object literal
// (not JSON: unquoted keys, `!1` for false, `.5` numbers) holding {modelTopology, weightsManifest,
// ...}; for `group1-shardKofN.min.js` it is one base64 string, the raw bytes of the TF.js weight
// shard. nsfwjs itself loads them by importing the modules and base64-decoding the strings
// (dist/esm/core.js JSONHandler), so this script does exactly the same: `require()` each module
// (dist/models/package.json marks them CommonJS), base64-decode the shard strings, and write
//   model.json   = JSON.stringify(payload) with each weightsManifest path renamed from
//                  "group1-shardKofN" to "group1-shardKofN.bin" (the usual converter file name);
//   *.bin        = the decoded shard bytes, unchanged;
//   seer.json    = what seer needs that the TF.js files do not say (labels, input size,
//                  preprocessing; see modelMeta below), plus the sha256 of every file written.
//
// Idempotent and quick: a folder whose seer.json lists sha256 values that match the files on
// disk, written from the same nsfwjs version, is left alone. A folder is written into a temporary
// sibling and renamed into place, so an interrupted run never leaves a half-written model.
// Exit status: 0 ok, 1 failure (message on stderr), 2 usage.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const SEER_META_VERSION = 1;

// Facts checked against nsfwjs 4.4.0's own source (node_modules/nsfwjs/dist):
// - labels: dist/esm/nsfw_classes.js NSFW_CLASSES {0: Drawing, 1: Hentai, 2: Neutral, 3: Porn,
//   4: Sexy}; getTopKClasses maps output index i to NSFW_CLASSES[i].
// - input size: core.js IMAGE_SIZE = 224 unless the model's options override it;
//   models/inception_v3.js has options {size: 299}; the other two have none -> 224.
// - graph vs layers: models/mobilenet_v2_mid.js has options {type: "graph"} -> tf.loadGraphModel;
//   the others -> tf.loadLayersModel (core.js NSFWJS.load).
// - preprocessing: core.js NSFWJS.infer: tf.browser.fromPixels(img) (RGB, 3 channels, alpha
//   dropped) -> .toFloat().div(255) -> if height or width != size:
//   tf.image.resizeBilinear(x, [size, size], alignCorners = true) (squash: aspect ratio not kept,
//   halfPixelCenters false) -> reshape [1, size, size, 3] (NHWC) -> model.predict.
//   Note the order: the resize runs on the float [0,1] image, after the division.
// - output: the models end in a softmax (layers: last Dense activation "softmax"; graph: Softmax
//   op), so predict() returns probabilities; classify() sorts them descending.
const MODELS = {
  mobilenet_v2: {
    nsfwjsName: 'MobileNetV2',
    format: 'layers-model',
    inputSize: 224,
    isDefault: true,
  },
  mobilenet_v2_mid: {
    nsfwjsName: 'MobileNetV2Mid',
    format: 'graph-model',
    inputSize: 224,
    isDefault: false,
  },
  inception_v3: {
    nsfwjsName: 'InceptionV3',
    format: 'layers-model',
    inputSize: 299,
    isDefault: false,
  },
};
const LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function findNsfwjs() {
  // nsfwjs's package.json "exports" hides ./package.json, so resolve through the module paths.
  for (const base of require.resolve.paths('nsfwjs') || []) {
    const dir = path.join(base, 'nsfwjs');
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      return { dir, version: pkg.version };
    }
  }
  throw new Error(
    'npm package nsfwjs is not installed next to this script; run `npm ci` in tools/nsfwjs ' +
      '(tools/nsfwjs/setup.sh does it)');
}

function modelMeta(name, info, payload, nsfwjsVersion) {
  const weights = payload.weightsManifest.flatMap((g) => g.weights);
  const quant = [...new Set(weights.map((w) => (w.quantization ? w.quantization.dtype : 'none')))];
  return {
    seer_meta_version: SEER_META_VERSION,
    kind: 'classifier',
    family: 'nsfwjs',
    name: `nsfwjs/${name}`,
    nsfwjs_name: info.nsfwjsName,
    default: info.isDefault,
    source: { npm: 'nsfwjs', version: nsfwjsVersion, files: `dist/models/${name}/*.min.js` },
    format: info.format,
    weights: {
      count: weights.length,
      dtypes: [...new Set(weights.map((w) => w.dtype))],
      quantization: quant,
      dequantize: 'float32(double(q) * scale + min), per weight, min/scale from the manifest',
    },
    input: {
      name: info.format === 'graph-model' ? 'input' : payload.modelTopology.model_config.config
        .input_layers[0][0],
      layout: 'NHWC',
      shape: [-1, info.inputSize, info.inputSize, 3],
      dtype: 'float32',
    },
    preprocess: {
      color: 'RGB',
      alpha: 'dropped',
      scale: 1 / 255,
      scale_op: 'x / 255 in float32, before the resize',
      resize: {
        width: info.inputSize,
        height: info.inputSize,
        method: 'bilinear',
        align_corners: true,
        half_pixel_centers: false,
        keep_aspect: false,
        skipped_when_already: `${info.inputSize}x${info.inputSize}`,
        implementation: 'tf.image.resizeBilinear(x, [size, size], true)',
      },
      mean: [0, 0, 0],
      std: [1, 1, 1],
      note: info.format === 'graph-model'
        ? 'the graph itself maps [0,1] to [-1,1] (Mul 2, Sub 1) right after the input'
        : 'the network sees [0,1] directly',
    },
    output: {
      name: info.format === 'graph-model' ? 'Identity' : payload.modelTopology.model_config.config
        .output_layers[0][0],
      activation: 'softmax',
      shape: [-1, LABELS.length],
    },
    labels: LABELS,
  };
}

// True when dir holds exactly what we would write (seer.json hashes match the files on disk).
function upToDate(dir, nsfwjsVersion) {
  const metaFile = path.join(dir, 'seer.json');
  if (!fs.existsSync(metaFile)) return false;
  let meta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  } catch (e) {
    return false;
  }
  if (meta.seer_meta_version !== SEER_META_VERSION || !meta.source ||
      meta.source.version !== nsfwjsVersion || !meta.files) {
    return false;
  }
  for (const [file, hash] of Object.entries(meta.files)) {
    const p = path.join(dir, file);
    if (!fs.existsSync(p) || sha256(fs.readFileSync(p)) !== hash) return false;
  }
  return true;
}

function writeModel(pkgDir, nsfwjsVersion, name, info, outDir) {
  const srcDir = path.join(pkgDir, 'dist', 'models', name);
  const payload = require(path.join(srcDir, 'model.min.js'));
  if (!payload || !payload.modelTopology || !Array.isArray(payload.weightsManifest)) {
    throw new Error(`${srcDir}/model.min.js: no modelTopology/weightsManifest`);
  }
  const isGraph = payload.format === 'graph-model' || Array.isArray(payload.modelTopology.node);
  if (isGraph !== (info.format === 'graph-model')) {
    throw new Error(`${name}: expected a ${info.format}, the package has the other kind`);
  }

  const tmp = fs.mkdtempSync(path.join(path.dirname(outDir), `.${name}.tmp-`));
  try {
    const files = {};
    const modelJson = JSON.parse(JSON.stringify(payload)); // deep copy: renaming paths below
    for (const group of modelJson.weightsManifest) {
      group.paths = group.paths.map((p) => {
        const src = path.join(srcDir, `${p}.min.js`);
        const b64 = require(src);
        if (typeof b64 !== 'string') throw new Error(`${src}: payload is not a base64 string`);
        const bytes = Buffer.from(b64, 'base64');
        // Buffer.from ignores junk silently; a round trip proves the string was clean base64.
        if (bytes.toString('base64') !== b64) throw new Error(`${src}: not canonical base64`);
        const file = `${p}.bin`;
        fs.writeFileSync(path.join(tmp, file), bytes);
        files[file] = sha256(bytes);
        return file;
      });
    }
    // The shards must hold exactly the bytes the manifest describes (all weights are uint8
    // quantised, 1 byte per element; float32 unquantised would be 4).
    let need = 0;
    for (const w of modelJson.weightsManifest.flatMap((g) => g.weights)) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization ? w.quantization.dtype : w.dtype;
      need += n * ({ uint8: 1, uint16: 2, float16: 2, float32: 4, int32: 4 }[q] || NaN);
    }
    const have = Object.keys(files).reduce((a, f) => a + fs.statSync(path.join(tmp, f)).size, 0);
    if (need !== have) throw new Error(`${name}: manifest needs ${need} bytes, shards hold ${have}`);

    const json = Buffer.from(JSON.stringify(modelJson));
    fs.writeFileSync(path.join(tmp, 'model.json'), json);
    files['model.json'] = sha256(json);

    const meta = modelMeta(name, info, payload, nsfwjsVersion);
    meta.files = files;
    fs.writeFileSync(path.join(tmp, 'seer.json'), JSON.stringify(meta, null, 2) + '\n');

    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(tmp, outDir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function main(argv) {
  if (argv.length !== 1 || argv[0].startsWith('-')) {
    process.stderr.write('usage: node setup_models.js <target-dir>   (e.g. models/nsfwjs)\n');
    return 2;
  }
  const target = path.resolve(argv[0]);
  const { dir: pkgDir, version } = findNsfwjs();
  if (version !== '4.4.0') {
    process.stderr.write(`warning: nsfwjs ${version} installed, facts were checked on 4.4.0\n`);
  }
  fs.mkdirSync(target, { recursive: true });
  for (const [name, info] of Object.entries(MODELS)) {
    const outDir = path.join(target, name);
    if (upToDate(outDir, version)) {
      process.stdout.write(`nsfwjs/${name}: up to date in ${outDir}\n`);
      continue;
    }
    writeModel(pkgDir, version, name, info, outDir);
    process.stdout.write(`nsfwjs/${name}: written to ${outDir}\n`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`setup_models: ${e.message}\n`);
    process.exitCode = 1;
  }
}

module.exports = { MODELS, LABELS };
