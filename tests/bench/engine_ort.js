#!/usr/bin/env node
// The onnxruntime side of the engine benchmark (tests/bench/engine.sh).
//
//   node engine_ort.js MODEL.onnx INPUT.npy [--threads 1,2] [--runs N] [--warmup W]
//                      [--model NAME] [--part PART] [--save OUT.npy]
//   node engine_ort.js MODEL.onnx INPUT.npy --serve 1 --threads T [--warmup W]
//
// Loads MODEL.onnx into onnxruntime-node (CPU, executionMode sequential,
// graphOptimizationLevel 'all', intraOpNumThreads T, interOpNumThreads 1), feeds INPUT.npy
// (float32, C order) to its first input, and for each thread count runs it W times to warm
// up, then N times; prints a JSON line per thread count:
// {"engine": "onnxruntime", "model", "part", "threads", "runs", "median_s", "min_s"}.
// --save writes the first output of the last run as .npy (float32).
// --serve 1 (for engine_pair.py): on one thread count, after the warm-up prints "ready", then
// runs once for each line read from standard input and prints its seconds on a line.
// onnxruntime-node is looked up on NODE_PATH, as engine.sh installs it in its work dir.
'use strict';
const fs = require('fs');

function usage() {
  process.stderr.write('usage: node engine_ort.js MODEL.onnx INPUT.npy [--threads 1,2] [--runs N] [--warmup W] [--model NAME] [--part PART] [--save OUT.npy]\n' +
    '       node engine_ort.js MODEL.onnx INPUT.npy --serve 1 --threads T [--warmup W]\n');
  process.exit(2);
}

function npyRead(path) {
  const b = fs.readFileSync(path);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12) + hlen;
  const hdr = b.toString('latin1', major === 1 ? 10 : 12, off);
  if (!/'descr':\s*'<f4'/.test(hdr)) throw new Error(`${path}: not float32 little-endian`);
  if (/'fortran_order':\s*True/.test(hdr)) throw new Error(`${path}: Fortran order`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(hdr);
  const dims = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = dims.reduce((a, c) => a * c, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = b.readFloatLE(off + 4 * i);
  return { dims, data };
}

function npyWrite(path, dims, data) {
  let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + hdr.length + 1) % 64);
  hdr += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(hdr.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(hdr, 'latin1'), body]));
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = { threads: '1,2', runs: 10, warmup: 2, model: '', part: '', save: '', serve: '' };
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      if (!(k in opt) || i + 1 >= args.length) usage();
      opt[k] = args[++i];
    } else {
      pos.push(a);
    }
  }
  if (pos.length !== 2 || (opt.serve && opt.threads.includes(','))) usage();
  const ort = require('onnxruntime-node');
  const x = npyRead(pos[1]);
  const input = new ort.Tensor('float32', x.data, x.dims);
  for (const t of opt.threads.split(',').map(Number)) {
    const sess = await ort.InferenceSession.create(pos[0], {
      executionProviders: ['cpu'],
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      intraOpNumThreads: t,
      interOpNumThreads: 1,
    });
    const feeds = { [sess.inputNames[0]]: input };
    let out;
    for (let i = 0; i < Number(opt.warmup); i++) out = await sess.run(feeds);
    if (opt.serve) {
      process.stdout.write('ready\n');
      const lines = require('readline').createInterface({ input: process.stdin });
      for await (const _ of lines) { // eslint-disable-line no-unused-vars
        const t0 = process.hrtime.bigint();
        await sess.run(feeds);
        process.stdout.write(`${(Number(process.hrtime.bigint() - t0) * 1e-9).toFixed(6)}\n`);
      }
      return;
    }
    const times = [];
    for (let i = 0; i < Number(opt.runs); i++) {
      const t0 = process.hrtime.bigint();
      out = await sess.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) * 1e-9);
    }
    if (opt.save && out) {
      const y = out[sess.outputNames[0]];
      npyWrite(opt.save, y.dims, y.data);
    }
    process.stdout.write(JSON.stringify({
      engine: 'onnxruntime', model: opt.model, part: opt.part, threads: t, runs: times.length,
      median_s: median(times), min_s: Math.min(...times),
    }) + '\n');
    if (sess.release) await sess.release();
  }
}

main().catch((e) => {
  process.stderr.write(`engine_ort.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
