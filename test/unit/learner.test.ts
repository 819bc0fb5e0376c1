import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/trainer/backend';
import { Learner, MixedPrecision, loadExported } from '../../src/trainer/learner';
import { saveCheckpoint } from '../../src/trainer/learner/checkpoint';
import { TrainerEvent } from '../../src/protocol/events';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData, type FakeDataOptions } from '../helpers/fake-data';

before(async () => {
  await tf.setBackend('cpu');
});

const dirs: string[] = [];
async function tmpDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'learner-test-'));
  dirs.push(d);
  return d;
}

after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function makeLearner(dir: string, data: FakeDataOptions = {}, events: TrainerEvent[] = [], seed = 1) {
  const d = makeFakeData(data);
  const model = createTinyModel({ numClasses: d.c, ps: [0, 0], seed });
  return new Learner({ data: d, model, path: dir, onEvent: (e) => events.push(e) });
}

function values(l: Learner): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [k, t] of l.model.stateDict()) m.set(k, new Float32Array(t.dataSync()));
  return m;
}

async function logitsOf(l: Learner): Promise<Float32Array> {
  const d = l.data;
  const per = d.size * d.size * 3;
  const xs: Float32Array[] = [];
  for await (const b of d.valid) xs.push(b.x);
  const x = new Float32Array(xs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of xs) {
    x.set(b, o);
    o += b.length;
  }
  const out = tf.tidy(() => l.model.forward(tf.tensor4d(x, [x.length / per, d.size, d.size, 3]), false));
  const r = new Float32Array(out.dataSync());
  out.dispose();
  return r;
}

test('a tiny model learns the synthetic task with fit_one_cycle; events follow the protocol', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), { nTrain: 96, nValid: 24 }, events);
  const before = await l.validate();
  const recs = await l.fitOneCycle(4, 1e-2);
  assert.equal(recs.length, 4);
  const last = recs[recs.length - 1];
  assert.ok(last.validLoss! < before.validLoss, `valid loss ${before.validLoss} → ${last.validLoss}`);
  assert.ok(last.errorRate! < 0.34, `error rate ${last.errorRate}`);
  assert.ok(Math.abs(last.errorRate! + last.accuracy! - 1) < 1e-9);
  assert.ok(last.trainImagesPerSecond > 0 && last.seconds > 0);
  // recorder: per batch lr per group, momentum, losses; one-cycle shape visible
  const rec = l.recorder;
  assert.equal(rec.losses.length, 4 * 12);
  assert.equal(rec.lrs[0].length, 3);
  assert.ok(Math.abs(rec.lrs[0][2] - 1e-2 / 25) < 1e-12);
  assert.ok(Math.abs(rec.moms[0] - 0.95) < 1e-12);
  assert.ok(Math.max(...rec.lastGroupLrs) <= 1e-2 + 1e-12);
  assert.ok(rec.smoothLosses[rec.smoothLosses.length - 1] < rec.smoothLosses[0]);
  // every event parses against the shared schema
  for (const e of events) TrainerEvent.parse(e);
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'fit_begin');
  assert.equal(types[types.length - 1], 'fit_end');
  assert.equal(types.filter((t) => t === 'batch').length, 48);
  assert.equal(types.filter((t) => t === 'epoch').length, 4);
  const begin = events[0] as Extract<TrainerEvent, { type: 'fit_begin' }>;
  assert.deepEqual(begin.lrs, [1e-2, 1e-2, 1e-2]);
  assert.equal(begin.totalBatches, 48);
  const end = events[events.length - 1] as Extract<TrainerEvent, { type: 'fit_end' }>;
  assert.equal(end.status, 'completed');
  l.dispose();
});

test('training steps leak no tensors', async () => {
  const l = makeLearner(await tmpDir());
  await l.fit(1, 1e-3); // creates the optimiser state
  const n0 = tf.memory().numTensors;
  await l.fit(1, 1e-3);
  await l.fitOneCycle(1, 1e-3);
  await l.validate();
  assert.equal(tf.memory().numTensors, n0);
  l.dispose();
});

test('freeze: frozen groups keep their weights, their BatchNorm still trains (params and running stats)', async () => {
  const l = makeLearner(await tmpDir());
  l.freeze();
  assert.equal(l.frozenTo, 2);
  const names = l.trainableParams().map((p) => p.name);
  assert.deepEqual(names.filter((n) => n.startsWith('body')), ['body.1.weight', 'body.1.bias', 'body.4.weight', 'body.4.bias']);
  const v0 = values(l);
  await l.fit(1, 1e-2);
  const v1 = values(l);
  const changed = (k: string) => !v0.get(k)!.every((x, i) => x === v1.get(k)![i]);
  assert.ok(!changed('body.0.weight'), 'group 0 conv frozen');
  assert.ok(!changed('body.3.weight'), 'group 1 conv frozen');
  assert.ok(changed('body.1.weight') && changed('body.4.bias'), 'BN params in frozen groups train');
  assert.ok(changed('body.1.running_mean'), 'BN in frozen groups runs in training mode');
  assert.ok(changed('head.4.weight') && changed('head.8.bias'), 'head trains');

  l.freezeTo(1);
  assert.equal(l.frozenTo, 1);
  l.freezeTo(-2);
  assert.equal(l.frozenTo, 1);
  const v2 = values(l);
  await l.fit(1, 1e-2);
  const v3 = values(l);
  assert.ok(v2.get('body.0.weight')!.every((x, i) => x === v3.get('body.0.weight')![i]));
  assert.ok(!v2.get('body.3.weight')!.every((x, i) => x === v3.get('body.3.weight')![i]));

  l.unfreeze();
  assert.equal(l.frozenTo, 0);
  assert.equal(l.trainableParams().length, l.model.params.length);
  assert.throws(() => l.freezeTo(3), (e: Error & { fix?: string }) => /out of range/.test(e.message) && /-3 to 2/.test(e.fix ?? ''));
  l.dispose();
});

test('discriminative lrs: slice(start, stop) gives each group its own rate', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), {}, events);
  l.unfreeze();
  await l.fitOneCycle(1, { start: 1e-6, stop: 1e-4 });
  const begin = events.find((e) => e.type === 'fit_begin') as Extract<TrainerEvent, { type: 'fit_begin' }>;
  assert.ok(Math.abs(begin.lrs[1] - 1e-5) < 1e-15);
  const r = l.recorder.lrs[0];
  assert.ok(Math.abs(r[0] - 1e-6 / 25) < 1e-18 && Math.abs(r[2] - 1e-4 / 25) < 1e-16);
  l.dispose();
});

test('stop() ends the run at a batch boundary; the learner can fit again', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), { nTrain: 96 }, events);
  const stopper = { afterBatch: (ctx: { step: number }) => (ctx.step === 4 ? l.stop() : undefined) };
  const recs = await l.fit(3, 1e-3, { callbacks: [stopper] });
  assert.equal(recs.length, 0);
  assert.equal(l.recorder.losses.length, 5, 'exactly the 5 batches before the stop');
  const end = events[events.length - 1] as Extract<TrainerEvent, { type: 'fit_end' }>;
  assert.equal(end.status, 'stopped');
  assert.equal(l.isRunning, false);
  // stop from outside, while the loop awaits data
  const run = l.fit(2, 1e-3);
  await new Promise((r) => setTimeout(r, 30));
  l.stop();
  await run;
  assert.ok(l.recorder.losses.length < 24);
  const again = await l.fit(1, 1e-3);
  assert.equal(again.length, 1);
  assert.equal((events[events.length - 1] as { status: string }).status, 'completed');
  l.dispose();
});

test('dispose() during a run stops it and releases the model once the run has ended', async () => {
  const l = makeLearner(await tmpDir());
  const run = l.fit(3, 1e-3);
  await new Promise((r) => setTimeout(r, 20));
  l.dispose();
  await run;
  assert.equal(l.isRunning, false);
  assert.ok(l.model.params[0].variable.isDisposed);
  await assert.rejects(() => l.fit(1), /disposed/);
});

test('a second run while one is going is refused with a clear error', async () => {
  const l = makeLearner(await tmpDir());
  const run = l.fit(1, 1e-3);
  await assert.rejects(() => l.fit(1), /busy with fit/);
  await assert.rejects(() => l.save('x'), /busy with fit/);
  await run;
  l.dispose();
});

test('lr_find stops on divergence and restores weights, BN stats and optimiser state bit-exactly', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), { nTrain: 96 }, events);
  await l.fit(1, 1e-3); // some optimiser state to restore
  const w0 = values(l);
  const s0 = l.opt.getState();
  events.length = 0;
  const r = await l.lrFind({ startLr: 1e-5, endLr: 1e4, numIt: 40 });
  // the planned sweep is numIt batches, over enough 12-batch epochs to hold them (not 4 × 12 = 48)
  const begin = events.find((e) => e.type === 'fit_begin') as Extract<TrainerEvent, { type: 'fit_begin' }>;
  assert.deepEqual([begin.totalBatches, begin.epochs, begin.batchesPerEpoch], [40, 4, 12]);
  const w1 = values(l);
  for (const [k, v] of w0) assert.ok(v.every((x, i) => Object.is(x, w1.get(k)![i])), `${k} restored`);
  const s1 = l.opt.getState();
  assert.deepEqual(s1.steps, s0.steps);
  for (const [k, t] of s0.expAvgSq) assert.deepEqual(Array.from(s1.expAvgSq.get(k)!.dataSync()), Array.from(t.dataSync()));
  // diverged before the 40 iterations (lr reaches 1e4)
  assert.ok(l.recorder.losses.length < 40, `ran ${l.recorder.losses.length} batches`);
  assert.ok(r.lrs.length > 5 && r.lrs.length === r.losses.length);
  assert.ok(r.lrs[0] >= 1e-5 && r.lrs.every((x, i) => i === 0 || x > r.lrs[i - 1]));
  const res = events.find((e) => e.type === 'lr_find_result');
  assert.ok(res, 'lr_find_result emitted');
  TrainerEvent.parse(res);
  assert.equal(events.filter((e) => e.type === 'epoch').length, 0, 'no validation');
  assert.equal(events[events.length - 1].type, 'fit_end');
  l.dispose();
});

test('lr_find runs numIt batches across epochs and suggests lrs', async () => {
  const l = makeLearner(await tmpDir(), { nTrain: 48 });
  const r = await l.lrFind({ numIt: 30, endLr: 1 });
  assert.equal(l.recorder.losses.length, 30);
  assert.ok(r.suggestions.minGrad !== null && r.suggestions.minGrad > 0);
  assert.ok(r.suggestions.valley !== null && r.suggestions.valley > 0);
  l.dispose();
});

test('save → load gives identical predictions, optimiser state included; load works at another image size', async () => {
  const dir = await tmpDir();
  const a = makeLearner(dir, {}, [], 1);
  await a.fit(1, 1e-2);
  const file = await a.save('stage-1');
  assert.equal(file, path.join(dir, 'models', 'stage-1.safetensors'));
  const pa = await logitsOf(a);
  const b = makeLearner(dir, {}, [], 99);
  assert.notDeepEqual(await logitsOf(b), pa);
  await b.load('stage-1');
  assert.deepEqual(await logitsOf(b), pa);
  assert.deepEqual(b.opt.getState().steps, a.opt.getState().steps);
  // continue at a bigger size (the lesson's 224 → 299 path)
  const c = makeLearner(dir, { size: 24 }, [], 5);
  await c.load('stage-1');
  await c.fit(1, 1e-3);
  await assert.rejects(() => c.load('nope'), /No checkpoint at .*nope\.safetensors/);
  for (const l of [a, b, c]) l.dispose();
});

test('loading a checkpoint for other classes or another arch fails with a clear error', async () => {
  const dir = await tmpDir();
  const a = makeLearner(dir, { c: 3 });
  await a.save('three');
  const b = makeLearner(dir, { c: 4, nTrain: 48 });
  await assert.rejects(() => b.load('three'), (e: Error & { fix?: string }) =>
    /trained on classes \[class0, class1, class2\] but this dataset has \[class0, class1, class2, class3\]/.test(e.message) && !!e.fix);
  const d = makeFakeData({});
  const m = createTinyModel({ numClasses: 3, ps: [0, 0] });
  (m.config as { arch: string }).arch = 'resnet34';
  const c = new Learner({ data: d, model: m, path: dir });
  await assert.rejects(() => c.load('three'), /holds a resnet18 but this learner's model is a resnet34/);
  for (const l of [a, b, c]) l.dispose();
});

test('a checkpoint write that fails midway leaves the previous checkpoint intact and no temp file', async () => {
  const dir = await tmpDir();
  const l = makeLearner(dir);
  await l.save('ckpt');
  const file = path.join(dir, 'models', 'ckpt.safetensors');
  const good = await fs.readFile(file);
  await l.fit(1, 1e-2);
  let calls = 0;
  await assert.rejects(
    () => saveCheckpoint(file, l, { afterTensor: () => { if (++calls === 3) throw new Error('disk full (injected)'); } }),
    (e: Error & { file?: string; fix?: string }) => /Could not write .*ckpt\.safetensors: disk full \(injected\)\. The previous file, if any, is unchanged/.test(e.message) && e.file === file && !!e.fix,
  );
  assert.deepEqual(await fs.readFile(file), good);
  assert.deepEqual(await fs.readdir(path.join(dir, 'models')), ['ckpt.safetensors']);
  l.dispose();
});

test('a process killed mid-save leaves the previous checkpoint loadable', async () => {
  const dir = await tmpDir();
  const l = makeLearner(dir);
  const file = await l.save('ckpt');
  const good = await fs.readFile(file);
  // A child process overwrites the same checkpoint slowly; it is SIGKILLed halfway through.
  const { spawn } = await import('child_process');
  const mod = (p: string) => JSON.stringify(path.join(__dirname, p));
  const script = `
    const { tf } = require(${mod('../../src/trainer/backend')});
    const { saveCheckpoint } = require(${mod('../../src/trainer/learner/checkpoint')});
    const { createTinyModel } = require(${mod('../helpers/tiny-model')});
    const { makeFakeData } = require(${mod('../helpers/fake-data')});
    const { AdamW } = require(${mod('../../src/trainer/learner/optimizer')});
    (async () => {
      await tf.setBackend('cpu');
      const data = makeFakeData({});
      const model = createTinyModel({ numClasses: 3, seed: 7 });
      const opt = new AdamW(model.params, { nGroups: 3 });
      let n = 0;
      await saveCheckpoint(${JSON.stringify(file)}, { model, data, opt, frozenTo: 0 }, {
        afterTensor: async () => { if (++n === 4) { process.stdout.write('HALFWAY\\n'); await new Promise((r) => setTimeout(r, 60000)); } },
      });
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => (d.toString().includes('HALFWAY') ? resolve() : undefined));
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.deepEqual(await fs.readFile(file), good);
  const b = makeLearner(dir, {}, [], 3);
  await b.load('ckpt');
  assert.deepEqual(await logitsOf(b), await logitsOf(l));
  // the orphaned temp file is hidden (dot-prefixed) and is not a checkpoint name
  const names = await fs.readdir(path.join(dir, 'models'));
  assert.ok(names.every((n) => n === 'ckpt.safetensors' || (n.startsWith('.ckpt.safetensors.') && n.endsWith('.tmp'))));
  l.dispose();
  b.dispose();
});

test('getPreds returns files, targets, softmax probs and per-item losses of the validation set', async () => {
  const l = makeLearner(await tmpDir(), { nValid: 20 });
  const p = await l.getPreds();
  assert.equal(p.files.length, 20);
  assert.equal(p.targets.length, 20);
  assert.equal(p.probs.length, 20);
  for (let i = 0; i < 20; i++) {
    const s = p.probs[i].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-5);
    assert.ok(Math.abs(p.losses[i] + Math.log(p.probs[i][p.targets[i]])) < 1e-4);
  }
  const v = await l.validate();
  assert.ok(Math.abs(v.validLoss - p.losses.reduce((a, b) => a + b, 0) / 20) < 1e-5);
  l.dispose();
});

test('toFp16 says plainly that the cpu backend stays fp32; the scaler path trains when enabled', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), {}, events);
  const s = l.toFp16();
  assert.equal(s.enabled, false);
  assert.match(s.message, /fp16 not supported on cpu; training stays fp32/);
  assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /fp16 not supported/.test(e.message)));
  assert.equal(l.getCallback(MixedPrecision), undefined);
  // A backend that reports fp16 turns on dynamic loss scaling; the step stays correct.
  const on = l.toFp16({ name: 'test', kind: 'native-gpu', fp16: true });
  assert.equal(on.enabled, true);
  const before = await l.validate();
  await l.fit(2, 1e-2);
  assert.ok((await l.validate()).validLoss < before.validLoss);
  assert.deepEqual(l.getCallback(MixedPrecision)!.scaler?.skipped, []);
  l.dispose();
});

test('export → loadExported predicts the same as learn.predict, from a file and from a buffer', async () => {
  const dir = await tmpDir();
  const l = makeLearner(dir);
  await l.fit(1, 1e-2);
  // a real image file: 40×30 RGB, so the short-side resize and centre crop both happen
  const sharp = (await import('sharp')).default;
  const raw = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 256;
  const img = path.join(dir, 'cat_1.png');
  await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(img);
  const expected = await l.predict(img);
  assert.equal(expected.probs.length, 3);
  assert.equal(expected.className, l.data.classes[expected.index]);

  const out = await l.export();
  assert.equal(out, path.join(dir, 'export'));
  const json = JSON.parse(await fs.readFile(path.join(out, 'model.json'), 'utf8'));
  assert.equal(json.weightsManifest[0].paths[0], 'weights.bin');
  assert.deepEqual(json.userDefinedMetadata.classes, l.data.classes);
  assert.deepEqual(json.userDefinedMetadata.preprocessing, { size: 16, normalize: l.data.normalize, method: 'crop' });
  // exporting again replaces the folder whole
  await l.export();
  assert.deepEqual((await fs.readdir(dir)).sort(), ['cat_1.png', 'export']);

  const p = await loadExported(out, { createModel: (o) => createTinyModel({ numClasses: o.numClasses, ps: o.ps, seed: 42 }) });
  const got = await p.predict(img);
  assert.equal(got.index, expected.index);
  got.probs.forEach((v, i) => assert.ok(Math.abs(v - expected.probs[i]) < 1e-6));
  const fromBuffer = await p.predict(await fs.readFile(img));
  assert.deepEqual(fromBuffer.probs, got.probs);
  await assert.rejects(() => p.predict(path.join(dir, 'missing.png')), (e: Error & { file?: string }) => e.file === path.join(dir, 'missing.png'));
  p.dispose();
  await assert.rejects(() => loadExported(path.join(dir, 'nothing')), /No exported model at .*nothing.model\.json/);
  l.dispose();
});

test('a truncated or foreign checkpoint file gets an error naming the file and the fix', async () => {
  const dir = await tmpDir();
  const l = makeLearner(dir);
  const file = await l.save('good');
  const bytes = await fs.readFile(file);
  await fs.writeFile(path.join(dir, 'models', 'cut.safetensors'), bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(() => l.load('cut'), (e: Error & { file?: string; fix?: string }) =>
    /cut\.safetensors is not a valid checkpoint/.test(e.message) && e.file!.endsWith('cut.safetensors') && /save again/.test(e.fix ?? ''));
  await fs.writeFile(path.join(dir, 'models', 'junk.safetensors'), 'hello');
  await assert.rejects(() => l.load('junk'), /junk\.safetensors is not a valid checkpoint/);
  await assert.rejects(() => l.save('../escape'), /Invalid checkpoint name/);
  l.dispose();
});

test('a failing callback ends the run as failed, reports the error, and leaves the learner usable', async () => {
  const events: TrainerEvent[] = [];
  const l = makeLearner(await tmpDir(), {}, events);
  const boom = { afterBatch: (ctx: { step: number }) => { if (ctx.step === 2) throw new Error('boom'); } };
  await assert.rejects(() => l.fit(1, 1e-3, { callbacks: [boom] }), /boom/);
  const end = events[events.length - 1] as Extract<TrainerEvent, { type: 'fit_end' }>;
  assert.equal(end.status, 'failed');
  assert.equal(end.error, 'boom');
  assert.equal((await l.fit(1, 1e-3)).length, 1);
  l.dispose();
});
