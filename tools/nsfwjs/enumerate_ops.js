#!/usr/bin/env node
// Lists, for each TF.js folder written by setup_models.js, exactly what an importer must support:
// graph model -> every TF op with its count, inputs and every distinct attribute value;
// layers model -> every Keras layer class with its count, every distinct value of each config key
// that changes the computation, and the weight names each class owns.
//
//   node tools/nsfwjs/enumerate_ops.js <models-dir>/nsfwjs > tools/nsfwjs/OPS.md
//
// Output is Markdown (committed as OPS.md; FORMAT.md explains the formats around it).
'use strict';

const fs = require('fs');
const path = require('path');

// Config keys that do not change inference (training-only or naming).
const IGNORED_KEYS = new Set(['name', 'trainable', 'seed', 'noise_shape']);
const isIgnored = (k) => IGNORED_KEYS.has(k) || /_(initializer|regularizer|constraint)$/.test(k);

function decodeAttr(v) {
  // TF AttrValue as the converter writes it: exactly one of s (base64 bytes), i (string int),
  // f, b, type, shape, list {s|i|f|b|type|shape: [...]}, tensor.
  if ('s' in v) return JSON.stringify(Buffer.from(v.s, 'base64').toString('latin1'));
  if ('i' in v) return String(v.i);
  if ('f' in v) return String(v.f);
  if ('b' in v) return String(v.b);
  if ('type' in v) return v.type;
  if ('shape' in v) return `shape[${(v.shape.dim || []).map((d) => d.size).join(',')}]`;
  if ('tensor' in v) {
    const t = v.tensor;
    return `tensor(${t.dtype}, [${((t.tensorShape || {}).dim || []).map((d) => d.size).join(',')}])`;
  }
  if ('list' in v) {
    const l = v.list;
    const k = Object.keys(l)[0];
    if (!k) return '[]';
    const items = l[k].map((x) => (k === 's' ? JSON.stringify(Buffer.from(x, 'base64')
      .toString('latin1')) : String(x)));
    return `[${items.join(',')}]`;
  }
  return JSON.stringify(v);
}

function graphReport(name, j) {
  const nodes = j.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const weights = new Map(j.weightsManifest.flatMap((g) => g.weights).map((w) => [w.name, w]));
  const ops = new Map();
  for (const n of nodes) {
    if (!ops.has(n.op)) ops.set(n.op, { count: 0, attrs: new Map(), arity: new Set(), inKinds: new Set() });
    const o = ops.get(n.op);
    o.count++;
    o.arity.add((n.input || []).length);
    for (const inp of n.input || []) {
      const src = byName.get(inp.replace(/^\^/, '').split(':')[0]);
      o.inKinds.add(src ? src.op : '?');
    }
    for (const [k, v] of Object.entries(n.attr || {})) {
      if (n.op === 'Const' && k === 'value') continue;
      if (!o.attrs.has(k)) o.attrs.set(k, new Set());
      o.attrs.get(k).add(decodeAttr(v));
    }
  }
  const out = [];
  out.push(`## ${name} (graph-model)\n`);
  out.push(`- format ${j.format}, generatedBy ${j.generatedBy}, convertedBy ${j.convertedBy}, ` +
    `TF graph producer ${JSON.stringify(j.modelTopology.versions)}`);
  const sig = (j.userDefinedMetadata || {}).signature || j.signature;
  if (sig) {
    const io = (m) => Object.values(m).map((t) => `${t.name} ${t.dtype} ` +
      `[${t.tensorShape.dim.map((d) => d.size).join(',')}]`).join('; ');
    out.push(`- signature: inputs ${io(sig.inputs)}; outputs ${io(sig.outputs)}`);
  }
  out.push(`- ${nodes.length} nodes, ${weights.size} weights in the manifest; every Const node's ` +
    `value is a manifest entry of the same name: ${nodes.filter((n) => n.op === 'Const')
      .every((n) => weights.has(n.name))}`);
  out.push('');
  out.push('| op | count | inputs (count: producer ops) | attributes (every distinct value) |');
  out.push('|---|---|---|---|');
  for (const [op, o] of ops) {
    const attrs = [...o.attrs].map(([k, s]) => `${k}: ${[...s].join(' / ')}`).join('<br>');
    out.push(`| ${op} | ${o.count} | ${[...o.arity].join('/')}: ${[...o.inKinds].join(', ')} | ${attrs} |`);
  }
  // The fused ops, spelled out: which fused_ops lists occur and with which arities.
  out.push('');
  out.push('Fused variants actually present:');
  const combos = new Map();
  for (const n of nodes) {
    if (!n.attr || !n.attr.fused_ops) continue;
    const key = `${n.op} fused_ops=${decodeAttr(n.attr.fused_ops)} num_args=${
      n.attr.num_args ? n.attr.num_args.i : '-'} inputs=${n.input.length} padding=${
      n.attr.padding ? decodeAttr(n.attr.padding) : '-'} strides=${
      n.attr.strides ? decodeAttr(n.attr.strides) : '-'}`;
    combos.set(key, (combos.get(key) || 0) + 1);
  }
  for (const [k, c] of combos) out.push(`- ${c} × ${k}`);
  // Scalar constants the preprocessing depends on.
  out.push('');
  return out.join('\n');
}

function layersReport(name, j) {
  const topo = j.modelTopology;
  const cfg = topo.model_config.config;
  const weights = j.weightsManifest.flatMap((g) => g.weights);
  const classes = new Map();
  const layerClass = new Map();
  for (const l of cfg.layers) {
    layerClass.set(l.name, l.class_name);
    if (!classes.has(l.class_name)) {
      classes.set(l.class_name, { count: 0, keys: new Map(), inbound: new Set(), weights: new Set() });
    }
    const c = classes.get(l.class_name);
    c.count++;
    for (const [k, v] of Object.entries(l.config)) {
      if (isIgnored(k)) continue;
      if (!c.keys.has(k)) c.keys.set(k, new Set());
      c.keys.get(k).add(JSON.stringify(v));
    }
    for (const node of l.inbound_nodes) c.inbound.add(node.length);
  }
  for (const w of weights) {
    const slash = w.name.lastIndexOf('/');
    const layer = w.name.slice(0, slash);
    const cls = layerClass.get(layer);
    if (!cls) throw new Error(`${name}: weight ${w.name} names no layer`);
    classes.get(cls).weights.add(w.name.slice(slash + 1));
  }
  const out = [];
  out.push(`## ${name} (layers-model)\n`);
  out.push(`- keras_version ${topo.keras_version}, backend ${topo.backend}, model class ` +
    `${topo.model_config.class_name}; inputs ${JSON.stringify(cfg.input_layers)}, outputs ` +
    `${JSON.stringify(cfg.output_layers)}`);
  out.push(`- ${cfg.layers.length} layers, ${weights.length} weights; every inbound node refers ` +
    `to tensor index 0 of its source: ${cfg.layers.every((l) => l.inbound_nodes.every((n) =>
      n.every((e) => e[1] === 0 && e[2] === 0)))}; every layer is called once: ${
      cfg.layers.every((l) => l.inbound_nodes.length <= 1)}; inbound kwargs all empty: ${
      cfg.layers.every((l) => l.inbound_nodes.every((n) => n.every((e) =>
        Object.keys(e[3] || {}).length === 0)))}`);
  const head = [];
  let cur = cfg.output_layers[0][0];
  const byName = new Map(cfg.layers.map((l) => [l.name, l]));
  while (cur && head.length < 8) {
    const l = byName.get(cur);
    const short = l.class_name === 'Dense' ? `Dense(${l.config.units}, ${l.config.activation})`
      : l.class_name === 'Dropout' ? `Dropout(${l.config.rate})` : l.class_name;
    head.unshift(short);
    cur = l.inbound_nodes.length ? l.inbound_nodes[0][0][0] : null;
  }
  out.push(`- head (last layers): ${head.join(' → ')}`);
  out.push('');
  out.push('| class | count | inputs | weights (manifest suffix) | config (every distinct value) |');
  out.push('|---|---|---|---|---|');
  for (const [cls, c] of classes) {
    const keys = [...c.keys].map(([k, s]) => `${k}: ${[...s].join(' / ')}`).join('<br>');
    out.push(`| ${cls} | ${c.count} | ${[...c.inbound].join('/') || '0'} | ${[...c.weights].join(', ')} | ${keys} |`);
  }
  out.push('');
  return out.join('\n');
}

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node enumerate_ops.js <dir written by setup_models.js>\n');
    return 2;
  }
  const root = argv[0];
  const out = ['# Ops and layers used by the nsfwjs 4.4.0 models', '',
    'Generated by `node tools/nsfwjs/enumerate_ops.js <models-dir>/nsfwjs`; do not edit by hand.',
    'See FORMAT.md for what the fields mean.', ''];
  for (const name of ['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3']) {
    const j = JSON.parse(fs.readFileSync(path.join(root, name, 'model.json'), 'utf8'));
    const weights = j.weightsManifest.flatMap((g) => g.weights);
    const quant = new Set(weights.map((w) => `${w.dtype}←${w.quantization ? w.quantization.dtype : 'raw'}`));
    const isGraph = Array.isArray(j.modelTopology.node);
    out.push(isGraph ? graphReport(name, j) : layersReport(name, j));
    out.push(`- weights: ${weights.length}, ${[...quant].join(', ')}, ${weights.reduce((a, w) =>
      a + w.shape.reduce((x, y) => x * y, 1), 0)} values, shards ` +
      `${j.weightsManifest.map((g) => g.paths.join(', ')).join('; ')}`);
    out.push('');
  }
  process.stdout.write(out.join('\n'));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
