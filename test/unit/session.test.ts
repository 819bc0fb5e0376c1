// TrainerSession in-process, on real image files: every protocol method the CLI and the child
// share, with its plain-JSON result and the events it emits.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainerEvent } from '../../src/protocol/events';
import { TrainerSession } from '../../src/trainer/session';
import { makeTempDir, removeDir, writePetsLikeDataset } from '../helpers/images';

// The threaded wasm build leaves a MessagePort that keeps an in-process test alive after shutdown
// (the CLI and the child exit explicitly); one thread is plenty for 16-px images.
process.env.IMAGE_TRAINER_WASM_THREADS ??= '1';

const PATTERN = '/([^/]+)_\\d+\\.png$';
let dir = '';
let out = '';
const events: TrainerEvent[] = [];
let session: TrainerSession;

before(async () => {
  dir = await makeTempDir('session-data-');
  out = await makeTempDir('session-out-');
  await writePetsLikeDataset(dir, { classes: ['red_thing', 'blue_thing'], perClass: 12, width: 24, height: 20, ext: 'png' });
  session = new TrainerSession({ outDir: out, onEvent: (e) => events.push(TrainerEvent.parse(e)) });
});
after(async () => {
  await session.shutdown({});
  await removeDir(dir);
  await removeDir(out);
});

test('dispatch validates method names and params before anything runs', async () => {
  await assert.rejects(session.dispatch('nope', {}), /Unknown method 'nope'/);
  await assert.rejects(session.dispatch('openDataset', { root: dir }), /Invalid parameters for 'openDataset': labelling/);
  await assert.rejects(session.dispatch('fit', { epochs: 1 }), (e: Error & { fix?: string }) => /No learner/.test(e.message) && /Image Trainer: Create Learner/.test(e.fix ?? ''));
  await assert.rejects(session.dispatch('showBatch', {}), (e: Error & { fix?: string }) => /No dataset is open/.test(e.message) && /Image Trainer: Open Dataset/.test(e.fix ?? ''));
});

test('previewLabels and openDataset label real files; dataset event with per-class counts', async () => {
  const preview = await session.previewLabels({ root: dir, labelling: { kind: 'nameRe', pattern: PATTERN }, limit: 2 });
  assert.equal(preview.items.length, 2);
  assert.equal(preview.total, 24);
  const summary = await session.openDataset({ root: dir, labelling: { kind: 'nameRe', pattern: PATTERN }, validPct: 0.25, seed: 3, size: 16, bs: 6, numWorkers: 1 });
  assert.deepEqual(summary.classes, ['blue_thing', 'red_thing']);
  assert.equal(summary.trainCount + summary.validCount, 24);
  assert.equal(summary.counts.reduce((a, c) => a + c.train + c.valid, 0), 24);
  // the defaults in fastai v2's words
  assert.equal(summary.transforms, "item_tfms=Resize(16, method='crop'), batch_tfms=aug_transforms(size=16)");
  const e = events.find((x) => x.type === 'dataset');
  assert.ok(e && e.type === 'dataset' && e.validCount === summary.validCount && e.transforms === summary.transforms);
  const batch = await session.showBatch({ n: 4 });
  assert.equal(batch.items.length, 4);
  assert.match(batch.items[0]?.src ?? '', /^data:image\/png;base64,iVBOR/);
});

test('a pretrained file that does not exist: clear error naming it', async () => {
  await assert.rejects(session.createLearner({ arch: 'resnet18', pretrained: path.join(dir, 'nope.safetensors') }), /nope\.safetensors/);
});

test('learner lifecycle: create, freeze state, lr_find, fit, save/load, export, predict, interpret', { timeout: 240_000 }, async () => {
  const created = await session.createLearner({ arch: 'resnet18', pretrained: 'none' });
  assert.equal(created.layerGroups, 3);
  assert.equal(created.frozenTo, 0, 'from scratch: nothing frozen');
  assert.ok(events.some((e) => e.type === 'backend'));
  assert.equal((await session.freeze({})).frozenTo, 2);
  assert.equal((await session.freezeTo({ n: 1 })).frozenTo, 1);
  assert.equal((await session.unfreeze({})).frozenTo, 0);

  const lr = await session.lrFind({ numIt: 6, endLr: 1 });
  assert.ok(lr.lrs.length >= 2 && lr.lrs.length <= 6);
  assert.ok(events.some((e) => e.type === 'lr_find_result'));

  const records = await session.fitOneCycle({ epochs: 1, maxLr: 1e-2 });
  assert.equal(records.length, 1);
  assert.ok(events.some((e) => e.type === 'fit_end' && e.kind === 'fit_one_cycle' && e.status === 'completed'));

  const saved = await session.save({ name: 'stage-1' });
  assert.ok(fs.existsSync(saved.path));
  assert.equal(path.dirname(saved.path), path.join(out, 'models'));
  const inMemory = await session.predict({ files: [path.join(dir, 'red_thing_1.png')] });
  await session.load({ name: 'stage-1' });
  const exported = await session.export({});
  assert.equal(exported.dir, path.join(out, 'export'));
  const fromExport = await session.predict({ files: [path.join(dir, 'red_thing_1.png')], modelDir: exported.dir });
  assert.equal(fromExport[0]?.className, inMemory[0]?.className);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs((fromExport[0]?.probs[i] ?? 0) - (inMemory[0]?.probs[i] ?? 1)) < 1e-4);

  const interp = await session.interpret({ k: 3 });
  assert.deepEqual(interp.classes, ['blue_thing', 'red_thing']);
  assert.equal(interp.topLosses.length, 3);
  assert.equal(interp.confusionMatrix.flat().reduce((a, b) => a + b, 0), interp.n);
  assert.deepEqual(interp.confusion, interp.confusionMatrix);
  assert.equal(interp.items.length, interp.n);
  assert.equal(interp.items[0]?.probs.length, 2);
  assert.equal(typeof interp.items[0]?.actual, 'number');
  assert.doesNotThrow(() => JSON.stringify(interp));
  const cam = await session.gradCam({ file: path.join(dir, 'blue_thing_2.png') });
  assert.match(cam.png, /^data:image\/png;base64,/);
});

test('progressive resizing keeps the learner; tta reports both errors', { timeout: 240_000 }, async () => {
  const before = await session.predict({ files: [path.join(dir, 'red_thing_1.png')] });
  const shape = await session.changeSize({ size: 24, bs: 4 });
  assert.deepEqual([shape.size, shape.bs], [24, 4]);
  assert.match(shape.transforms, /aug_transforms\(size=24\)/);
  // same weights: a size-agnostic resnet gives a prediction at the new size without retraining
  const after = await session.predict({ files: [path.join(dir, 'red_thing_1.png')] });
  assert.equal(after[0]?.probs.length, before[0]?.probs.length);
  const records = await session.fitOneCycle({ epochs: 1, maxLr: 1e-3 });
  assert.equal(records.length, 1);
  const batch = await session.showBatch({ n: 2 });
  assert.equal(batch.items.length, 2);
  const t = await session.tta({ n: 2 });
  assert.equal(t.n, 2);
  assert.equal(t.beta, 0.25);
  assert.ok(t.count > 0 && t.errorRate >= 0 && t.errorRate <= 1 && t.plainErrorRate >= 0 && t.plainErrorRate <= 1);
  assert.ok(events.some((e) => e.type === 'log' && /tta: error_rate/.test(e.message)));
});
