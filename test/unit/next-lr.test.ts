import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NextMaxLr } from '../../src/extension/nextLr';
import { DEFAULT_LR } from '../../src/protocol/lr';
import type { RunRecord } from '../../src/extension/runs';

const lrFind = (startedAt: number, valley: number | null, minGrad: number | null = null): RunRecord => ({
  runId: `l${startedAt}`, kind: 'lr_find', status: 'completed', startedAt, epochs: 1, batchesPerEpoch: 10, totalBatches: 10, lrs: [1e-7], frozenTo: 0, layerGroups: 3, lastStep: 9, lastLrs: [], epochRows: [],
  lrFind: { lrs: [1e-5, 1e-3], losses: [2, 1], suggestions: { valley, minGrad } },
});

test('the next max lr: picked on the plot, else the valley, else min gradient, else the default', () => {
  let runs: RunRecord[] = [];
  let t = 100;
  const next = new NextMaxLr(() => runs, () => t);
  assert.deepEqual(next.current(), { lr: DEFAULT_LR, source: 'default' });
  runs = [lrFind(50, null, 2e-4)];
  assert.deepEqual(next.current(), { lr: 2e-4, source: 'minGrad' });
  runs = [lrFind(60, 1e-3, 2e-4), ...runs]; // newest first, as RunStore.list()
  assert.deepEqual(next.current(), { lr: 1e-3, source: 'valley' });
  next.pick({ start: 1e-5, stop: 1e-3 });
  assert.deepEqual(next.current(), { lr: { start: 1e-5, stop: 1e-3 }, source: 'picked' });
  // a fit does not consume the pick: it stays the next fit's until something replaces it
  assert.deepEqual(next.current().source, 'picked');
  next.forgetPick(); // a new lr_find began
  assert.equal(next.current().source, 'valley');
  next.pick(5e-3);
  t = 200;
  next.reset(); // another dataset or learner: neither the pick nor older suggestions apply
  assert.deepEqual(next.current(), { lr: DEFAULT_LR, source: 'default' });
  runs = [lrFind(250, 4e-4), ...runs];
  assert.deepEqual(next.current(), { lr: 4e-4, source: 'valley' });
});
