// Pretrained weights: the .safetensors reader, the torchvision name/layout loader and the
// 'auto' download (cache, resume with HTTP Range, SHA-256 pinning, clear offline errors) against a
// local HTTP server on 127.0.0.1.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, tf } from '../../src/trainer/backend';
import {
  createModel,
  ensurePretrainedFile,
  loadPretrained,
  loadTorchState,
  parseSafetensors,
  readSafetensorsSync,
  weightsCacheDir,
  writeSafetensors,
  type HostTensor,
} from '../../src/trainer/models';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
before(async () => {
  await selectBackend({ prefer: process.env.IMAGE_TRAINER_TEST_BACKEND });
});

function safetensorsBytes(entries: [string, string, number[], Buffer][]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, dtype, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...entries.map((e) => e[3])]);
}

test('safetensors: F32, F16, BF16, F64, I64 are read as float32/int32; writeSafetensors round-trips', async () => {
  const f16 = Buffer.alloc(8);
  [0x3c00, 0xc000, 0x3555, 0x0001].forEach((h, i) => f16.writeUInt16LE(h, 2 * i)); // 1, -2, ~0.333, 2^-24
  const bf16 = Buffer.alloc(4);
  bf16.writeUInt16LE(0x3fc0, 0); // 1.5
  bf16.writeUInt16LE(0xc100, 2); // -8
  const i64 = Buffer.alloc(8);
  i64.writeBigInt64LE(7n);
  const f64 = Buffer.alloc(16);
  f64.writeDoubleLE(0.25, 0);
  f64.writeDoubleLE(-3, 8);
  const f32 = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const parsed = parseSafetensors(
    safetensorsBytes([
      ['a', 'F32', [2, 3], f32],
      ['h', 'F16', [4], f16],
      ['b', 'BF16', [2], bf16],
      ['n', 'I64', [], i64],
      ['d', 'F64', [2], f64],
    ]),
  ).tensors;
  assert.deepEqual([...parsed.get('a')!.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(parsed.get('a')!.shape, [2, 3]);
  const h = [...parsed.get('h')!.data];
  assert.deepEqual(h.slice(0, 2), [1, -2]);
  assert.ok(Math.abs(h[2] - 1 / 3) < 1e-3 && Math.abs(h[3] - 2 ** -24) < 1e-12);
  assert.deepEqual([...parsed.get('b')!.data], [1.5, -8]);
  assert.ok(parsed.get('n')!.data instanceof Int32Array);
  assert.deepEqual([...parsed.get('n')!.data], [7]);
  assert.deepEqual([...parsed.get('d')!.data], [0.25, -3]);

  const file = path.join(tmp, 'roundtrip.safetensors');
  await writeSafetensors(file, new Map<string, HostTensor>([...parsed].filter(([k]) => k === 'a' || k === 'n')));
  const back = readSafetensorsSync(file).tensors;
  assert.deepEqual([...back.get('a')!.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...back.get('n')!.data], [7]);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp')), []);
});

test('safetensors: a truncated or non-safetensors file is an error naming the file', () => {
  const good = safetensorsBytes([['a', 'F32', [4], Buffer.alloc(16)]]);
  const truncated = path.join(tmp, 'truncated.safetensors');
  fs.writeFileSync(truncated, good.subarray(0, good.length - 4));
  assert.throws(() => readSafetensorsSync(truncated), (e: Error) => e.message.includes(truncated) && /offsets|length/.test(e.message));
  const html = path.join(tmp, 'page.safetensors');
  fs.writeFileSync(html, '<!doctype html><html>not found</html>');
  assert.throws(() => readSafetensorsSync(html), (e: Error) => e.message.includes(html));
  assert.throws(() => readSafetensorsSync(path.join(tmp, 'absent.safetensors')), /ENOENT/);
});

/** A random torchvision-layout state dict for resnet18's body (+ fc), made from our own model. */
function torchvisionState(arch: 'resnet18' | 'resnet50'): Map<string, HostTensor> {
  const model = createModel({ arch, numClasses: 2, seed: 11 });
  const out = new Map<string, HostTensor>();
  for (const [name, t] of model.stateDict()) {
    if (!name.startsWith('body.')) {
      t.dispose();
      continue;
    }
    const torch = t.rank === 4 ? tf.transpose(t, [3, 2, 0, 1]) : t; // HWIO → OIHW
    out.set(name.slice(5), { shape: torch.shape, data: torch.dataSync() as Float32Array | Int32Array, fileDtype: 'F32' });
    tf.dispose([t, torch]);
  }
  out.set('fc.weight', { shape: [1000, 512], data: new Float32Array(512000), fileDtype: 'F32' });
  out.set('fc.bias', { shape: [1000], data: new Float32Array(1000), fileDtype: 'F32' });
  model.dispose();
  return out;
}

test('torchvision weights load into the body (OIHW → HWIO), fc is skipped, the head keeps its init', () => {
  const state = torchvisionState('resnet18');
  const model = createModel({ arch: 'resnet18', numClasses: 3, seed: 99 });
  try {
    const headBefore = model.params.find((p) => p.name === 'head.8.weight')!.variable.dataSync().slice();
    const report = loadTorchState(model, state, 'mem');
    assert.equal(report.loaded, state.size - 2);
    assert.deepEqual(report.skipped.sort(), ['fc.bias', 'fc.weight']);
    const conv = model.params.find((p) => p.name === 'body.layer2.0.conv1.weight')!.variable;
    const src = state.get('layer2.0.conv1.weight')!; // OIHW [128, 64, 3, 3]
    assert.deepEqual(conv.shape, [3, 3, 64, 128]);
    const v = conv.dataSync();
    // HWIO[h=1][w=2][i=5][o=7] == OIHW[o=7][i=5][h=1][w=2]
    assert.equal(v[((1 * 3 + 2) * 64 + 5) * 128 + 7], src.data[((7 * 64 + 5) * 3 + 1) * 3 + 2]);
    assert.deepEqual(model.params.find((p) => p.name === 'head.8.weight')!.variable.dataSync(), headBefore);
  } finally {
    model.dispose();
  }
});

test('weights for another architecture or with missing names are refused with the names listed', () => {
  const r18 = torchvisionState('resnet18');
  const model = createModel({ arch: 'resnet34', numClasses: 3, seed: 1 });
  try {
    assert.throws(() => loadTorchState(model, r18, 'r18.safetensors'), (e: Error) => /r18\.safetensors.*missing body\.layer1\.2\..*looks like resnet18/s.test(e.message));
    const partial = new Map([...r18].filter(([k]) => k !== 'layer1.0.conv1.weight'));
    const m18 = createModel({ arch: 'resnet18', numClasses: 3, seed: 1 });
    assert.throws(() => loadTorchState(m18, partial, 'partial'), /missing body\.layer1\.0\.conv1\.weight/);
    partial.set('layer1.0.conv1.weight', r18.get('layer1.0.conv1.weight')!);
    partial.set('extra.weight', { shape: [1], data: new Float32Array(1), fileDtype: 'F32' });
    assert.throws(() => loadTorchState(m18, partial, 'extra'), /unexpected extra\.weight/);
    assert.doesNotThrow(() => loadTorchState(m18, partial, 'extra', { strict: false }));
    m18.dispose();
  } finally {
    model.dispose();
  }
});

// --- 'auto' download -----------------------------------------------------------------------

const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const sha = createHash('sha256').update(payload).digest('hex');
let server: http.Server;
let base = '';
let cutNextAt: number | null = null;
const seen: { range?: string }[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ range: req.headers.range });
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const body = payload.subarray(start);
    res.writeHead(m ? 206 : 200, { 'content-length': body.length, ...(m ? { 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}` } : {}) });
    if (cutNextAt !== null) {
      const cut = cutNextAt;
      cutNextAt = null;
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('auto: downloads into the cache, verifies the SHA-256, then uses the cached file without a request', async () => {
  const cacheDir = path.join(tmp, 'cache-full');
  const source = { url: `${base}/resnet18.safetensors`, sha256: sha };
  seen.length = 0;
  const file = await ensurePretrainedFile('resnet18', { cacheDir, source });
  assert.equal(file, path.join(cacheDir, 'resnet18.tv_in1k.safetensors'));
  assert.deepEqual(fs.readFileSync(file), payload);
  assert.equal(fs.existsSync(`${file}.part`), false);
  assert.equal(seen.length, 1);
  assert.equal(await ensurePretrainedFile('resnet18', { cacheDir, source }), file);
  assert.equal(seen.length, 1);
});

test('auto: concurrent requests download once; a lock left by a dead process is taken over', async () => {
  const cacheDir = path.join(tmp, 'cache-lock');
  const source = { url: `${base}/resnet18.safetensors`, sha256: sha };
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'resnet18.tv_in1k.safetensors.lock'), '2147483646'); // no such pid
  seen.length = 0;
  const [a, b] = await Promise.all([ensurePretrainedFile('resnet18', { cacheDir, source }), ensurePretrainedFile('resnet18', { cacheDir, source })]);
  assert.equal(a, b);
  assert.equal(seen.length, 1);
  assert.deepEqual(fs.readdirSync(cacheDir), ['resnet18.tv_in1k.safetensors']);
});

test('auto: a download cut off mid-way resumes from the .part file with an HTTP Range request', async () => {
  const cacheDir = path.join(tmp, 'cache-resume');
  const source = { url: `${base}/resnet18.safetensors`, sha256: sha };
  seen.length = 0;
  cutNextAt = 100_000;
  await assert.rejects(ensurePretrainedFile('resnet18', { cacheDir, source }), (e: Error) => /cannot be downloaded/.test(e.message) && /--pretrained none/.test(e.message));
  const part = path.join(cacheDir, 'resnet18.tv_in1k.safetensors.part');
  const partial = fs.statSync(part).size;
  assert.ok(partial > 0 && partial < payload.length, `partial size ${partial}`);
  const logs: string[] = [];
  const file = await ensurePretrainedFile('resnet18', { cacheDir, source, onLog: (m) => logs.push(m) });
  assert.equal(seen[1].range, `bytes=${partial}-`);
  assert.ok(logs.some((l) => l.includes('Resuming')));
  assert.deepEqual(fs.readFileSync(file), payload);
  assert.equal(fs.existsSync(part), false);
});

test('auto: a file whose SHA-256 does not match is not cached', async () => {
  const cacheDir = path.join(tmp, 'cache-bad');
  const source = { url: `${base}/resnet18.safetensors`, sha256: 'f'.repeat(64) };
  await assert.rejects(ensurePretrainedFile('resnet18', { cacheDir, source }), (e: Error) => e.message.includes(sha) && /not cached/.test(e.message));
  assert.deepEqual(fs.readdirSync(cacheDir), []);
});

test('auto: with the server down and no cache, the error names the URL, the cache path and --pretrained none', async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const cacheDir = path.join(tmp, 'cache-offline');
  const source = { url: `http://127.0.0.1:${port}/resnet34.safetensors`, sha256: sha };
  await assert.rejects(ensurePretrainedFile('resnet34', { cacheDir, source }), (e: Error) => {
    assert.match(e.message, /Pretrained resnet34 weights cannot be downloaded from http:\/\/127\.0\.0\.1/);
    assert.ok(e.message.includes(path.join(cacheDir, 'resnet34.tv_in1k.safetensors')), e.message);
    assert.match(e.message, /ECONNREFUSED/);
    assert.match(e.message, /--pretrained none/);
    return true;
  });
});

test('loadPretrained: none loads nothing, a missing path is a clear error; IMAGE_TRAINER_CACHE moves the cache', async () => {
  const model = createModel({ arch: 'resnet18', numClasses: 2, seed: 1 });
  try {
    assert.equal(await loadPretrained(model, 'resnet18', 'none'), null);
    await assert.rejects(loadPretrained(model, 'resnet18', path.join(tmp, 'nope.safetensors')), /does not exist.*--pretrained none/s);
  } finally {
    model.dispose();
  }
  const saved = process.env.IMAGE_TRAINER_CACHE;
  process.env.IMAGE_TRAINER_CACHE = path.join(tmp, 'envcache');
  try {
    assert.equal(await weightsCacheDir(), path.join(tmp, 'envcache', 'weights'));
  } finally {
    if (saved === undefined) delete process.env.IMAGE_TRAINER_CACHE;
    else process.env.IMAGE_TRAINER_CACHE = saved;
  }
});
