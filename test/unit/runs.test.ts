import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrainerEvent } from '../../src/protocol/events';
import { RunStore, KeyValueStore, formatRunMetrics, MAX_CURVE_POINTS } from '../../src/extension/runs';
import { eventsOfRecord } from '../../src/extension/panels/run-summary';

function memento(initial: Record<string, unknown> = {}): KeyValueStore & { data: Record<string, unknown> } {
  const data = { ...initial };
  return {
    data,
    get: <T>(k: string) => data[k] as T | undefined,
    update: async (k: string, v: unknown) => {
      data[k] = JSON.parse(JSON.stringify(v));
    },
  };
}

const begin = (runId: string, kind: 'fit_one_cycle' | 'lr_find' = 'fit_one_cycle'): TrainerEvent => ({
  type: 'fit_begin', runId, kind, epochs: 2, batchesPerEpoch: 3, totalBatches: 6, lrs: [1e-3], frozenTo: 2, layerGroups: 3,
});

test('a fit is recorded from its events and persisted', async () => {
  const m = memento();
  let t = 1000;
  const store = new RunStore(m, () => t++);
  store.apply(begin('r1'), { arch: 'resnet18' });
  assert.equal(store.active?.runId, 'r1');
  store.apply({ type: 'batch', runId: 'r1', epoch: 0, iter: 0, step: 0, lrs: [1e-4], mom: 0.95, loss: 2, smoothLoss: 2 });
  store.apply({ type: 'epoch', runId: 'r1', epoch: 0, trainLoss: 1.5, validLoss: 1.2, errorRate: 0.3, accuracy: 0.7, seconds: 1, trainImagesPerSecond: 10 });
  store.apply({ type: 'fit_end', runId: 'r1', kind: 'fit_one_cycle', status: 'completed' });
  const run = store.get('r1')!;
  assert.equal(run.status, 'completed');
  assert.equal(run.lastStep, 0);
  assert.equal(run.epochRows.length, 1);
  assert.equal(store.eventsOf('r1').length, 4);
  assert.equal(formatRunMetrics(run), 'train_loss 1.5000 · valid_loss 1.2000 · error_rate 0.3000');
  await new Promise((r) => setImmediate(r));
  const reloaded = new RunStore(m);
  assert.equal(reloaded.get('r1')?.status, 'completed');
  assert.equal(reloaded.get('r1')?.context?.arch, 'resnet18');
});

test('lr_find suggestions feed the next fit', () => {
  const store = new RunStore(memento());
  store.apply(begin('f1', 'lr_find'));
  store.apply({ type: 'lr_find_result', runId: 'f1', lrs: [1e-5, 1e-3], losses: [2, 1], suggestions: { minGrad: 2e-3, valley: 1e-3 } });
  store.apply({ type: 'fit_end', runId: 'f1', kind: 'lr_find', status: 'completed' });
  assert.deepEqual(store.get('f1')?.lrFind?.suggestions, { minGrad: 2e-3, valley: 1e-3 });
  assert.equal(formatRunMetrics(store.get('f1')!), 'valley 1e-3 · min grad 2e-3');
});

test('a crash fails the running run with its reason; a reload marks leftovers interrupted', async () => {
  const m = memento();
  const store = new RunStore(m);
  store.apply(begin('r2'));
  const failed = store.failActive('killed by SIGKILL');
  assert.deepEqual(failed.map((f) => f.run.runId), ['r2']);
  assert.deepEqual(failed[0]?.end, { type: 'fit_end', runId: 'r2', kind: 'fit_one_cycle', status: 'failed', error: 'killed by SIGKILL' });
  assert.equal(store.get('r2')?.error, 'killed by SIGKILL');
  assert.equal(store.eventsOf('r2').at(-1)?.type, 'fit_end', 'the stand-in fit_end is in the run\'s events for replay');
  store.apply(begin('r3'));
  await new Promise((r) => setImmediate(r));
  const reloaded = new RunStore(m);
  assert.equal(reloaded.get('r3')?.status, 'failed');
  assert.match(reloaded.get('r3')!.error!, /interrupted/);
  assert.equal(reloaded.active, undefined);
});

test('events of unknown runs and non-run events are ignored; garbage in storage is dropped', () => {
  const store = new RunStore(memento({ 'imageTrainer.runs': [{ nope: 1 }, null] }));
  assert.equal(store.list().length, 0);
  assert.equal(store.apply({ type: 'batch', runId: 'x', epoch: 0, iter: 0, step: 0, lrs: [], mom: 0, loss: 0, smoothLoss: 0 }), undefined);
  assert.equal(store.apply({ type: 'log', level: 'info', message: 'hi' }), undefined);
});

test('a run keeps a thinned batch curve in its saved record, and its events redraw it after a reload', async () => {
  const m = memento();
  const store = new RunStore(m);
  store.apply({ ...begin('c1'), batchesPerEpoch: 1000, totalBatches: 2000 } as TrainerEvent);
  for (let step = 0; step < 2000; step++)
    store.apply({ type: 'batch', runId: 'c1', epoch: Math.floor(step / 1000), iter: step % 1000, step, lrs: [step * 1e-6, step * 1e-5], mom: 0.9, loss: 3 - step / 1000, smoothLoss: 3 - step / 1000 });
  store.apply({ type: 'epoch', runId: 'c1', epoch: 0, trainLoss: 2, validLoss: 1.9, errorRate: 0.5, accuracy: 0.5, seconds: 3, trainImagesPerSecond: 9 });
  store.apply({ type: 'fit_end', runId: 'c1', kind: 'fit_one_cycle', status: 'completed' });
  const saved = new RunStore(memento(m.data)).get('c1')!;
  const c = saved.curves!;
  assert.ok(c.step.length <= MAX_CURVE_POINTS && c.step.length >= MAX_CURVE_POINTS / 2, `${c.step.length} points`);
  assert.equal(c.step[0], 0);
  assert.ok(c.step.every((s, i) => s % c.stride === 0 && (i === 0 || s > c.step[i - 1])), 'every stride-th step, in order');
  assert.deepEqual([c.loss.length, c.smoothLoss.length, c.lr.length, c.mom.length], [c.step.length, c.step.length, c.step.length, c.step.length]);
  const events = eventsOfRecord(saved);
  assert.deepEqual([...new Set(events.map((e) => e.type))], ['fit_begin', 'batch', 'epoch', 'fit_end']);
  const batches = events.filter((e) => e.type === 'batch');
  assert.equal(batches.length, c.step.length);
  const last = batches[batches.length - 1];
  assert.ok(last.type === 'batch' && last.lrs.length === 2 && last.iter === last.step % 1000);
});

test('an lr_find record stands for its result: the curve and the suggestions', () => {
  const store = new RunStore(memento());
  store.apply(begin('l1', 'lr_find'));
  store.apply({ type: 'lr_find_result', runId: 'l1', lrs: [1e-5, 1e-4, 1e-3], losses: [2, 1.5, 3], suggestions: { minGrad: 1e-4, valley: 5e-5 } });
  store.apply({ type: 'fit_end', runId: 'l1', kind: 'lr_find', status: 'completed' });
  const events = eventsOfRecord(store.get('l1')!);
  const result = events.find((e) => e.type === 'lr_find_result');
  assert.ok(result && result.type === 'lr_find_result');
  assert.deepEqual(result.suggestions, { minGrad: 1e-4, valley: 5e-5 });
  assert.equal(events.at(-1)?.type, 'fit_end');
});

test('the one event buffer: eventsSince(mark) is every event after the mark, also after the oldest half is dropped', () => {
  const store = new RunStore(memento());
  const log = (n: number): TrainerEvent => ({ type: 'log', level: 'info', message: `e${n}` });
  store.apply(begin('r1'));
  const mark = store.received;
  assert.equal(mark, 1);
  for (let i = 0; i < 6000; i++) store.apply(log(i));
  assert.equal(store.received, 6001);
  const since = store.eventsSince(mark);
  // the buffer keeps 5000 and halves when full: what is still held after the mark, in order, ending with the newest
  assert.ok(since.length > 0 && since.length <= 5000, String(since.length));
  assert.deepEqual(since.at(-1), log(5999));
  const first = Number((since[0] as { message: string }).message.slice(1));
  assert.deepEqual(since, Array.from({ length: 6000 - first }, (_, i) => log(first + i)));
  const late = store.received;
  store.apply(log(6000));
  assert.deepEqual(store.eventsSince(late), [log(6000)]);
  assert.equal(store.eventsOf('r1').length, 1, 'events without a run stay out of the run log');
});
