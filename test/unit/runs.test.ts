import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrainerEvent } from '../../src/protocol/events';
import { RunStore, KeyValueStore, summarizeRun, fmtLr } from '../../src/extension/runs';

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
  assert.equal(summarizeRun(run), 'train_loss 1.5000 · valid_loss 1.2000 · error_rate 0.3000');
  await new Promise((r) => setImmediate(r));
  const reloaded = new RunStore(m);
  assert.equal(reloaded.get('r1')?.status, 'completed');
  assert.equal(reloaded.get('r1')?.context?.arch, 'resnet18');
});

test('lr_find suggestions feed the next fit', () => {
  const store = new RunStore(memento());
  assert.equal(store.lastSuggestion(), undefined);
  store.apply(begin('f1', 'lr_find'));
  store.apply({ type: 'lr_find_result', runId: 'f1', lrs: [1e-5, 1e-3], losses: [2, 1], suggestions: { minGrad: 2e-3, valley: 1e-3 } });
  store.apply({ type: 'fit_end', runId: 'f1', kind: 'lr_find', status: 'completed' });
  assert.equal(store.lastSuggestion(), 1e-3);
  assert.equal(summarizeRun(store.get('f1')!), 'valley 1e-3 · min grad 2e-3');
});

test('a crash fails the running run with its reason; a reload marks leftovers interrupted', async () => {
  const m = memento();
  const store = new RunStore(m);
  store.apply(begin('r2'));
  const failed = store.failActive('killed by SIGKILL');
  assert.deepEqual(failed.map((r) => r.runId), ['r2']);
  assert.equal(store.get('r2')?.error, 'killed by SIGKILL');
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

test('fmtLr is short', () => {
  assert.equal(fmtLr(0.001), '1e-3');
  assert.equal(fmtLr(3.02e-4), '3.02e-4');
});
