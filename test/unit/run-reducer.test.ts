// The one run reducer (src/protocol/run-reducer.ts): trainer events → a run record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrainerEvent } from '../../src/protocol/events';
import { beginRun, reduceRun, runFromEvents, suggestedLr } from '../../src/protocol/run-reducer';

const begin: TrainerEvent = { type: 'fit_begin', runId: 'r1', kind: 'fit_one_cycle', epochs: 2, batchesPerEpoch: 2, totalBatches: 4, lrs: [1e-4, 1e-3], frozenTo: 1, layerGroups: 2 };
const batch = (step: number, smoothLoss: number): TrainerEvent => ({ type: 'batch', runId: 'r1', epoch: Math.floor(step / 2), iter: step % 2, step, lrs: [step * 1e-5, step * 1e-4], mom: 0.9, loss: smoothLoss + 0.1, smoothLoss });
const epoch = (n: number, trainLoss: number): TrainerEvent => ({ type: 'epoch', runId: 'r1', epoch: n, trainLoss, validLoss: 1.8, errorRate: 0.2, accuracy: 0.8, seconds: 1, trainImagesPerSecond: 50 });

test('a run folds its events: last batch, epoch rows in order, status and error', () => {
  const run = runFromEvents([begin, batch(0, 2), batch(1, 1.8), epoch(0, 1.9), batch(2, 1.5), { type: 'fit_end', runId: 'r1', kind: 'fit_one_cycle', status: 'failed', error: 'boom' }])!;
  assert.equal(run.status, 'failed');
  assert.equal(run.error, 'boom');
  assert.equal(run.lastStep, 2);
  assert.deepEqual(run.at, { epoch: 1, iter: 0 });
  assert.equal(run.lastSmoothLoss, 1.5);
  assert.deepEqual(run.lastLrs, [2e-5, 2e-4]);
  assert.deepEqual(run.epochRows, [{ epoch: 0, trainLoss: 1.9, validLoss: 1.8, errorRate: 0.2, accuracy: 0.8, seconds: 1, trainImagesPerSecond: 50 }]);
  assert.equal(run.curves, undefined, 'no curves unless asked for');
});

test('curves keep one point per step: a replayed batch overwrites, an older one does not move the last batch', () => {
  const run = beginRun(begin as Extract<TrainerEvent, { type: 'fit_begin' }>, { curves: true });
  for (const e of [batch(0, 2), batch(1, 1.8), batch(2, 1.5)]) reduceRun(run, e);
  assert.deepEqual(reduceRun(run, batch(1, 1.7)), { curves: true, header: true });
  assert.deepEqual(run.curves?.step, [0, 1, 2]);
  assert.deepEqual(run.curves?.smoothLoss, [2, 1.7, 1.5]);
  assert.equal(run.lastStep, 2, 'a replayed older batch is not the last one');
  reduceRun(run, epoch(1, 1.4));
  reduceRun(run, epoch(0, 1.9));
  reduceRun(run, epoch(1, 1.3));
  assert.deepEqual(run.epochRows.map((r) => [r.epoch, r.trainLoss]), [[0, 1.9], [1, 1.3]], 'sorted, a replayed epoch replaces its row');
});

test('events of another run and events without a run change nothing', () => {
  const run = runFromEvents([begin])!;
  assert.deepEqual(reduceRun(run, { ...batch(0, 2), runId: 'other' } as TrainerEvent), {});
  assert.deepEqual(reduceRun(run, { type: 'log', level: 'info', message: 'hi' }), {});
  assert.equal(run.lastStep, -1);
  assert.equal(runFromEvents([batch(0, 1)]), undefined);
});

test('lr_find: the result is kept and the suggestion is the valley, else min gradient', () => {
  const b: TrainerEvent = { ...begin, runId: 'f', kind: 'lr_find' } as TrainerEvent;
  const run = runFromEvents([b, { type: 'lr_find_result', runId: 'f', lrs: [1e-5, 1e-3], losses: [2, 1], suggestions: { minGrad: 2e-3, valley: null } }])!;
  assert.deepEqual(run.lrFind?.lrs, [1e-5, 1e-3]);
  assert.equal(suggestedLr(run), 2e-3);
  assert.equal(suggestedLr({}), undefined);
});
