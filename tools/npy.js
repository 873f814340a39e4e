// Minimal NumPy .npy (format 1.0/2.0/3.0) reader and writer for the ONNX Runtime oracles.
//
//   const { readNpy, writeNpy } = require('./npy');
//   const { dtype, shape, data } = readNpy('x.npy');   // data is a typed array (C order)
//   writeNpy('y.npy', 'float32', [1, 3], new Float32Array([1, 2, 3]));
//
// Only little-endian, C-ordered numeric arrays: exactly what the fixtures use. Anything else is
// rejected with an error naming the file, so a wrong fixture never turns into a wrong reference.
'use strict';

const fs = require('fs');

// numpy descr <-> (onnxruntime tensor type, typed-array constructor)
const DTYPES = {
  '<f4': { ort: 'float32', ctor: Float32Array },
  '<f8': { ort: 'float64', ctor: Float64Array },
  '<i8': { ort: 'int64', ctor: BigInt64Array },
  '<i4': { ort: 'int32', ctor: Int32Array },
  '<i2': { ort: 'int16', ctor: Int16Array },
  '|i1': { ort: 'int8', ctor: Int8Array },
  '|u1': { ort: 'uint8', ctor: Uint8Array },
  '<u2': { ort: 'uint16', ctor: Uint16Array },
  '<u4': { ort: 'uint32', ctor: Uint32Array },
  '<u8': { ort: 'uint64', ctor: BigUint64Array },
  '|b1': { ort: 'bool', ctor: Uint8Array },
};
const ORT_TO_DESCR = Object.fromEntries(Object.entries(DTYPES).map(([d, v]) => [v.ort, d]));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}`);
  }
  const header = buf.toString('latin1', offset, offset + headerLen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new Error(`${file}: bad .npy header ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-ordered arrays are not supported`);
  const info = DTYPES[descr[1]];
  if (!info) throw new Error(`${file}: unsupported dtype ${descr[1]}`);
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  const bytes = count * info.ctor.BYTES_PER_ELEMENT;
  if (buf.length - dataStart < bytes) throw new Error(`${file}: truncated data`);
  // Copy into a fresh, aligned ArrayBuffer (typed arrays need element alignment).
  const ab = new ArrayBuffer(bytes);
  new Uint8Array(ab).set(buf.subarray(dataStart, dataStart + bytes));
  let data = new info.ctor(ab);
  if (info.ort === 'bool') data = new Uint8Array(ab);
  return { dtype: info.ort, shape, data };
}

function writeNpy(file, dtype, shape, data) {
  const descr = ORT_TO_DESCR[dtype];
  if (!descr) throw new Error(`${file}: cannot write dtype ${dtype}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces so that magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

module.exports = { readNpy, writeNpy };
