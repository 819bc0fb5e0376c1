// The wasm memory guard: the training-memory estimate, the batch size it picks, and the session
// shrinking a too-large batch (with a warning) instead of letting XNNPACK abort the process.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { TrainerEvent } from '../../src/protocol/events';
import { TrainerSession } from '../../src/trainer/session';
import {
  chooseBatchSize,
  DEFAULT_WASM_MEMORY_BUDGET_BYTES,
  estimateTrainingBytes,
  memoryBudgetBytes,
  WASM_HEAP_LIMIT_BYTES,
} from '../../src/trainer/backend/memory';
import { makeTempDir, removeDir, writePetsLikeDataset } from '../helpers/images';

process.env.IMAGE_TRAINER_WASM_THREADS ??= '1';

const ARCHS = ['resnet18', 'resnet34', 'resnet50'];

test('the estimate grows with batch size, image size and depth, and freezing the body saves memory', () => {
  for (const arch of ARCHS) {
    let prev = 0;
    for (const bs of [1, 2, 4, 8, 16, 32, 64]) {
      const b = estimateTrainingBytes({ arch, size: 224, bs });
      assert.ok(b > prev, `${arch} bs ${bs}`);
      prev = b;
    }
    prev = 0;
    for (const size of [32, 64, 128, 224, 299]) {
      const b = estimateTrainingBytes({ arch, size, bs: 16 });
      assert.ok(b > prev, `${arch} ${size} px`);
      prev = b;
    }
    assert.ok(estimateTrainingBytes({ arch, size: 224, bs: 16, frozen: true }) < estimateTrainingBytes({ arch, size: 224, bs: 16 }));
  }
  const at = (arch: string) => estimateTrainingBytes({ arch, size: 224, bs: 16 });
  assert.ok(at('resnet18') < at('resnet34') && at('resnet34') < at('resnet50'));
  assert.throws(() => estimateTrainingBytes({ arch: 'vgg16', size: 224, bs: 1 }), /No memory model for architecture 'vgg16'/);
});

test('the estimate matches what was measured: resnet34 at 128 px bs 32 about 3 GB, at 224 px bs 32 past the 4 GiB heap', () => {
  const mid = estimateTrainingBytes({ arch: 'resnet34', size: 128, bs: 32 });
  assert.ok(mid > 2.5e9 && mid < 3.5e9, String(mid));
  assert.ok(estimateTrainingBytes({ arch: 'resnet34', size: 224, bs: 32 }) > 2 ** 32, 'past the 4 GiB a 32-bit wasm heap can address');
});

test('the limits are the wasm facts, not numbers the guard picks for itself: a 4 GiB heap, a default budget with headroom under it', () => {
  assert.equal(WASM_HEAP_LIMIT_BYTES, 2 ** 32);
  assert.ok(DEFAULT_WASM_MEMORY_BUDGET_BYTES < 2 ** 32 && DEFAULT_WASM_MEMORY_BUDGET_BYTES >= 0.7 * 2 ** 32, String(DEFAULT_WASM_MEMORY_BUDGET_BYTES));
});

test("the lesson's defaults (resnet34, 224 px, bs 64) get a batch of at most 16 that fits the wasm budget", () => {
  const c = chooseBatchSize({ arch: 'resnet34', size: 224, bs: 64 }, DEFAULT_WASM_MEMORY_BUDGET_BYTES);
  assert.ok(c.fits);
  assert.ok(c.bs <= 16 && c.bs >= 1, `bs ${c.bs}`);
  assert.equal(c.bs & (c.bs - 1), 0, 'a power of 2');
  assert.ok(c.chosenBytes <= DEFAULT_WASM_MEMORY_BUDGET_BYTES);
  assert.ok(estimateTrainingBytes({ arch: 'resnet34', size: 224, bs: c.bs * 2 }) > DEFAULT_WASM_MEMORY_BUDGET_BYTES, 'the largest that fits');
  assert.equal(c.requestedBs, 64);
  assert.ok(c.requestedBytes > 9e9);
});

test('a batch that fits is kept as asked (not rounded to a power of 2); nothing fits → fits is false', () => {
  const ok = chooseBatchSize({ arch: 'resnet18', size: 64, bs: 12 }, DEFAULT_WASM_MEMORY_BUDGET_BYTES);
  assert.deepEqual([ok.bs, ok.fits], [12, true]);
  const none = chooseBatchSize({ arch: 'resnet50', size: 224, bs: 64 }, 1e9);
  assert.deepEqual([none.bs, none.fits], [1, false]);
});

test('IMAGE_TRAINER_WASM_MEMORY_BUDGET overrides the budget; nonsense falls back to the default', () => {
  assert.equal(memoryBudgetBytes({ IMAGE_TRAINER_WASM_MEMORY_BUDGET: '1000' }), 1000);
  assert.equal(memoryBudgetBytes({ IMAGE_TRAINER_WASM_MEMORY_BUDGET: 'lots' }), 3.2e9);
  assert.equal(memoryBudgetBytes({ IMAGE_TRAINER_WASM_MEMORY_BUDGET: '-5' }), 3.2e9);
  assert.equal(memoryBudgetBytes({}), 3.2e9, 'the documented default (docs: 3.2 GB)');
});

describeSession();

function describeSession(): void {
  const PATTERN = '/([^/]+)_\\d+\\.png$';
  let dir = '';
  let out = '';
  const events: TrainerEvent[] = [];
  let session: TrainerSession;
  const saved = process.env.IMAGE_TRAINER_WASM_MEMORY_BUDGET;

  before(async () => {
    dir = await makeTempDir('memory-guard-data-');
    out = await makeTempDir('memory-guard-out-');
    await writePetsLikeDataset(dir, { classes: ['red_thing', 'blue_thing'], perClass: 5, width: 40, height: 36, ext: 'png' });
    session = new TrainerSession({ outDir: out, onEvent: (e) => events.push(TrainerEvent.parse(e)) });
  });
  after(async () => {
    if (saved === undefined) delete process.env.IMAGE_TRAINER_WASM_MEMORY_BUDGET;
    else process.env.IMAGE_TRAINER_WASM_MEMORY_BUDGET = saved;
    await session.shutdown({});
    await removeDir(dir);
    await removeDir(out);
  });

  test('session: a batch too large for the wasm budget trains with a smaller one and warns', { timeout: 120_000 }, async () => {
    const backend = await session.backendInfo({ backend: 'wasm' });
    assert.equal(backend.kind, 'wasm');
    await session.openDataset({ root: dir, labelling: { kind: 'nameRe', pattern: PATTERN }, validPct: 0.2, seed: 1, size: 32, bs: 8, numWorkers: 1 });
    await session.createLearner({ arch: 'resnet18', pretrained: 'none' });
    // A budget that only batch size 2 fits at 32 px, so the guard triggers without a heavy model.
    process.env.IMAGE_TRAINER_WASM_MEMORY_BUDGET = String(estimateTrainingBytes({ arch: 'resnet18', size: 32, bs: 2 }) + 1);
    const records = await session.fit({ epochs: 1, lr: 1e-3 });
    assert.equal(records.length, 1);
    const warn = events.find((e) => e.type === 'log' && e.level === 'warn');
    assert.ok(warn && warn.type === 'log', 'a warn log event');
    assert.match(warn.message, /^Batch size 8 at 32 px needs about [\d.]+ GB with resnet18 on the wasm backend \(limit 4 GB\); training with batch size 2 instead\. Pass a smaller batch size \(--bs \/ Image Trainer: Batch Size\)/);
    const begin = events.find((e) => e.type === 'fit_begin');
    assert.ok(begin && begin.type === 'fit_begin');
    assert.equal(begin.batchesPerEpoch, 4, '8 training images in batches of 2');
  });

  test('session: when not even batch size 1 fits, a clear error that says to lower the size', async () => {
    process.env.IMAGE_TRAINER_WASM_MEMORY_BUDGET = '1000';
    await assert.rejects(session.fit({ epochs: 1 }), (e: Error & { fix?: string }) =>
      /needs about [\d.]+ GB even with batch size 1 on the wasm backend/.test(e.message) && /--size/.test(e.fix ?? ''));
  });
}
