import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitLevel, runLogLines } from '../../src/extension/runLog';
import { runName, type RunRecord } from '../../src/extension/runs';

test('trainer log lines keep their level once: no "[info] [warn] …"', () => {
  assert.deepEqual(splitLevel('[warn] batch size 64 does not fit; using 16'), { level: 'warn', text: 'batch size 64 does not fit; using 16' });
  assert.deepEqual(splitLevel('[error] boom'), { level: 'error', text: 'boom' });
  assert.deepEqual(splitLevel('plain line'), { level: 'info', text: 'plain line' });
});

test('runs are named as a person would; the log has the epoch table, lr_find suggestions and the end', () => {
  const run: RunRecord = {
    runId: 'x', kind: 'fit_one_cycle', status: 'stopped', startedAt: new Date(2026, 0, 1, 14, 3).getTime(), epochs: 2, batchesPerEpoch: 5, totalBatches: 10,
    lrs: [1e-5, 1e-4, 1e-3], frozenTo: 0, layerGroups: 3, lastStep: 4, lastLrs: [], epochRows: [{ epoch: 0, trainLoss: 1, validLoss: 0.5, errorRate: 0.25, accuracy: 0.75, seconds: 61, trainImagesPerSecond: 3 }], context: { arch: 'resnet18' },
  };
  assert.equal(runName(run), 'fit_one_cycle 2 ep · resnet18 · 14:03');
  assert.equal(runName({ ...run, kind: 'lr_find' }), 'lr_find · resnet18 · 14:03');
  // fine_tune(2) with its frozen epoch: named by what was asked for, not by the 3 epochs run
  assert.equal(runName({ ...run, kind: 'fine_tune', epochs: 3, frozenEpochs: 1 }), 'fine_tune 2 ep + 1 frozen · resnet18 · 14:03');
  assert.equal(runName({ ...run, kind: 'fine_tune', epochs: 1, frozenEpochs: 0 }), 'fine_tune 1 ep · resnet18 · 14:03');
  const begin = runLogLines({ type: 'fit_begin', runId: 'x', kind: 'fit_one_cycle', epochs: 2, batchesPerEpoch: 5, totalBatches: 10, lrs: run.lrs, frozenTo: 0, layerGroups: 3 }, run);
  assert.match(begin[0].text, /^fit_one_cycle 2 ep · resnet18 · 14:03: 2 epochs × 5 batches, max lr slice\(1e-5, 1e-3\); all 3 layer groups train$/);
  assert.match(begin[1].text, /^epoch\s+train_loss\s+valid_loss\s+error_rate\s+accuracy\s+time$/);
  const row = runLogLines({ type: 'epoch', runId: 'x', epoch: 0, trainLoss: 1, validLoss: 0.5, errorRate: 0.25, accuracy: 0.75, seconds: 61, trainImagesPerSecond: 3 }, run);
  assert.match(row[0].text, /^0\s+1\.000000\s+0\.500000\s+0\.250000\s+0\.750000\s+01:01$/);
  const lr = runLogLines({ type: 'lr_find_result', runId: 'x', lrs: [1, 2], losses: [1, 2], suggestions: { valley: 1e-3, minGrad: 2e-4 } }, run);
  assert.equal(lr[0].text, 'lr_find suggestions: valley 1e-3, min gradient 2e-4 (2 points plotted)');
  const end = runLogLines({ type: 'fit_end', runId: 'x', kind: 'fit_one_cycle', status: 'stopped' }, run);
  assert.deepEqual(end, [{ level: 'warn', text: 'fit_one_cycle 2 ep · resnet18 · 14:03 stopped at your request after 1 epoch' }]);
  assert.deepEqual(runLogLines({ type: 'batch', runId: 'x', epoch: 0, iter: 0, step: 0, lrs: [1], mom: 0.9, loss: 1, smoothLoss: 1 }, run), []);
});
