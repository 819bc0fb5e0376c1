// fastai v2's transforms against fastai's own formulas (fastai/vision/augment.py): RandomResizedCrop's
// box distribution and fallback, Resize's crop/squish/pad boxes and padding pixels, aug_transforms'
// probabilities over many seeds, presizing's single resample, and TTA's lerp.
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import sharp from 'sharp';
import { Rng } from '../../src/trainer/data/random';
import { rrcValidSide } from '../../src/protocol/preprocessing';
import { randomResizedCropBox, resizeBox, sampleAugmentV2, outputToPresize, affineV2, warpV2, type AugmentV2 } from '../../src/trainer/data/transforms';
import { DEFAULT_TRANSFORMS } from '../../src/trainer/data/augment';
import { planItem, resolvePipeline, describePipeline } from '../../src/trainer/data/pipeline';
import { renderItem, type V2Plan } from '../../src/trainer/data/item';
import { remapPadded } from '../../src/trainer/data/remap';
import { lerp, meanRows, tta } from '../../src/trainer/learner/tta';
import type { Batch, DataLoader, SplitDataset } from '../../src/trainer/data/types';
import type { Predictions } from '../../src/trainer/learner/types';
import { makeTempDir, removeDir, writePetsLikeDataset } from '../helpers/images';
import { fromNameRe, splitDataset, createDataBunch, showBatch, rebuildDataBunch, bunchSettings, ttaLoader } from '../../src/trainer/data';

const V2 = { ...DEFAULT_TRANSFORMS, minScale: 1, presize: 64 };
const NEUTRAL: AugmentV2 = { flip: false, warp: { x: 0, y: 0 }, rotate: 0, zoom: { scale: 1, col: 0.5, row: 0.5 }, brightness: 0.5, contrast: 1, box: null };
const apply = (m: number[], u: number, v: number) => {
  const w = m[6] * u + m[7] * v + m[8];
  return [(m[0] * u + m[1] * v + m[2]) / w, (m[3] * u + m[4] * v + m[5]) / w];
};
const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

describe('RandomResizedCrop (fastai v2 before_call)', () => {
  test('box area fraction ~ U(min_scale, 1), log-ratio ~ U(log 3/4, log 4/3), inside the image', () => {
    const w = 1000;
    const h = 1000;
    const fracs: number[] = [];
    const logRatios: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const b = randomResizedCropBox(w, h, new Rng(7, i), 0.08);
      assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= w && b.top + b.height <= h, JSON.stringify(b));
      const frac = (b.width * b.height) / (w * h);
      // nw, nh are rounded to whole pixels: the area moves by about one row and one column
      assert.ok(frac >= 0.08 - 0.003 && frac <= 1 + 1e-9, `area fraction ${frac}`);
      fracs.push(frac);
      // below 9/16 of the area every ratio in [3/4, 4/3] fits the first try, so the ratio is not filtered
      if (frac < 0.55) logRatios.push(Math.log(b.width / b.height));
    }
    const lo = Math.log(3 / 4);
    const hi = Math.log(4 / 3);
    assert.ok(logRatios.every((r) => r >= lo - 0.01 && r <= hi + 0.01));
    // uniform on the log scale: each third of [lo, hi] holds about a third of the boxes
    const thirds = [0, 0, 0];
    for (const r of logRatios) thirds[Math.min(2, Math.max(0, Math.floor(((r - lo) / (hi - lo)) * 3)))]++;
    for (const t of thirds) assert.ok(Math.abs(t / logRatios.length - 1 / 3) < 0.04, `thirds ${thirds}`);
    // the fraction, where no try fails: U(0.08, 1) restricted to [0.08, 0.55) is uniform there too
    const small = fracs.filter((f) => f < 0.55);
    const mean = small.reduce((a, b) => a + b, 0) / small.length;
    assert.ok(Math.abs(mean - (0.08 + 0.55) / 2) < 0.01, `mean area fraction below 0.55: ${mean}`);
    // failed large tries are drawn again, so at least U(0.08, 1)'s share ends below 0.55
    assert.ok(small.length / fracs.length > (0.55 - 0.08) / 0.92 - 0.02, `share below 0.55: ${small.length / fracs.length}`);
  });

  test('ratio (1, 1) on a square: every try fits, the area fraction is exactly U(min_scale, 1)', () => {
    let sum = 0;
    for (let i = 0; i < 4000; i++) {
      const b = randomResizedCropBox(500, 500, new Rng(11, i), 0.35, [1, 1]);
      assert.equal(b.width, b.height);
      sum += (b.width * b.height) / 250000;
    }
    assert.ok(Math.abs(sum / 4000 - (0.35 + 1) / 2) < 0.01, `mean ${sum / 4000}`);
  });

  test('top-left uniform over the free room', () => {
    let leftSum = 0;
    let room = 0;
    for (let i = 0; i < 3000; i++) {
      const b = randomResizedCropBox(200, 200, new Rng(3, i), 0.25);
      leftSum += b.left;
      room += 200 - b.width;
    }
    assert.ok(Math.abs(leftSum / room - 0.5) < 0.03, `left / room ${leftSum / room}`);
  });

  test('fallback after 10 failed tries: the centred largest box with the ratio clipped', () => {
    // a 1000×10 strip: no box of ratio ≤ 4/3 with area ≥ 0.9 fits, so every try fails
    assert.deepEqual(randomResizedCropBox(1000, 10, new Rng(1), 0.9), { left: 493, top: 0, width: 13, height: 10 });
    // a 10×1000 strip: width kept, height w / (3/4)
    assert.deepEqual(randomResizedCropBox(10, 1000, new Rng(1), 0.9), { left: 0, top: 493, width: 10, height: 13 });
    // ratio (1, 1) on a square with min_scale 1: the whole image on the first try
    assert.deepEqual(randomResizedCropBox(64, 64, new Rng(1), 1, [1, 1]), { left: 0, top: 0, width: 64, height: 64 });
  });

  test('validation: resized to size + ceil(size·0.14/8)·8, then the centre size×size', () => {
    assert.equal(rrcValidSide(224), 256);
    assert.equal(rrcValidSide(128), 152);
    assert.equal(rrcValidSide(32), 40);
  });
});

describe('Resize(size, method, pad_mode)', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await makeTempDir();
    // 40×20: left half red, right half blue
    const px = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) px.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    file = path.join(dir, 'wide.png');
    await sharp(px, { raw: { width: 40, height: 20, channels: 3 } }).png().toFile(file);
  });
  after(() => removeDir(dir));

  test('boxes: crop the largest square inside, pad the smallest around, squish the whole image', () => {
    assert.deepEqual(resizeBox(40, 20, 'crop', [0.5, 0.5]), { left: 10, top: 0, width: 20, height: 20 });
    assert.deepEqual(resizeBox(40, 20, 'crop', [0, 0.7]), { left: 0, top: 0, width: 20, height: 20 });
    assert.deepEqual(resizeBox(40, 20, 'crop', [1, 0]), { left: 20, top: 0, width: 20, height: 20 });
    assert.deepEqual(resizeBox(40, 20, 'pad', [0.5, 0.5]), { left: 0, top: -10, width: 40, height: 40 });
    assert.deepEqual(resizeBox(40, 20, 'squish', [0.1, 0.9]), { left: 0, top: 0, width: 40, height: 20 });
  });

  const plan = (method: 'crop' | 'squish' | 'pad', padMode: 'reflection' | 'zeros' | 'border'): V2Plan => ({
    file, size: 16, item: { kind: 'resize', method, presize: 16, pcts: [0.5, 0.5] }, batch: null, padMode,
  });
  const at = (rgb: Uint8Array, x: number, y: number) => Array.from(rgb.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));

  test('every method gives size×size; crop centre shows both halves, squish keeps the proportions', async () => {
    for (const m of ['crop', 'squish', 'pad'] as const) {
      const { rgb } = await renderItem(plan(m, 'reflection'));
      assert.equal(rgb.length, 16 * 16 * 3, m);
    }
    const squish = (await renderItem(plan('squish', 'zeros'))).rgb;
    assert.deepEqual(at(squish, 2, 8), [255, 0, 0]);
    assert.deepEqual(at(squish, 13, 8), [0, 0, 255]);
  });

  test('pad: zeros pads black, border and reflection repeat the image rows', async () => {
    const zeros = (await renderItem(plan('pad', 'zeros'))).rgb;
    assert.deepEqual(at(zeros, 2, 0), [0, 0, 0]); // padding above the 16×8 image
    assert.deepEqual(at(zeros, 2, 15), [0, 0, 0]);
    assert.deepEqual(at(zeros, 2, 8), [255, 0, 0]); // the image itself
    for (const mode of ['border', 'reflection'] as const) {
      const out = (await renderItem(plan('pad', mode))).rgb;
      assert.deepEqual(at(out, 2, 0), [255, 0, 0], mode);
      assert.deepEqual(at(out, 13, 15), [0, 0, 255], mode);
    }
  });

  test('remapPadded: border clamps, zeros blacks out, reflection mirrors', () => {
    const src = Uint8Array.from([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]); // 2×2
    const shift = [1, 0, -1, 0, 1, -1, 0, 0, 1]; // output (u, v) reads source (u−1, v−1)
    assert.deepEqual(Array.from(remapPadded(src, 2, 2, shift, 3, 'zeros').filter((_, i) => i % 3 === 0)), [0, 0, 0, 0, 10, 20, 0, 30, 40]);
    assert.deepEqual(Array.from(remapPadded(src, 2, 2, shift, 3, 'border').filter((_, i) => i % 3 === 0)), [10, 10, 20, 10, 10, 20, 30, 30, 40]);
    assert.deepEqual(Array.from(remapPadded(src, 2, 2, shift, 3, 'reflection').filter((_, i) => i % 3 === 0)), [10, 10, 20, 10, 10, 20, 30, 30, 40]);
  });
});

describe('aug_transforms() (fastai v2 defaults)', () => {
  test('probabilities over many seeds: flip 0.5, each affine p_affine=0.75, each lighting p_lighting=0.75', () => {
    const n = 6000;
    const c = { flip: 0, warpX: 0, warpY: 0, rotate: 0, zoom: 0, brightness: 0, contrast: 0 };
    for (let i = 0; i < n; i++) {
      const a = sampleAugmentV2(V2, 1000 + i, 0, i);
      c.flip += Number(a.flip);
      c.warpX += Number(a.warp.x !== 0);
      c.warpY += Number(a.warp.y !== 0);
      c.rotate += Number(a.rotate !== 0);
      c.zoom += Number(a.zoom.scale !== 1);
      c.brightness += Number(a.brightness !== 0.5);
      c.contrast += Number(a.contrast !== 1);
      assert.ok(Math.abs(a.rotate) <= 10 && a.zoom.scale >= 1 && a.zoom.scale <= 1.1);
      assert.ok(Math.abs(a.warp.x) <= 0.2 && Math.abs(a.warp.y) <= 0.2);
      assert.ok(a.brightness >= 0.4 && a.brightness <= 0.6 && a.contrast >= 0.8 - 1e-12 && a.contrast <= 1.25 + 1e-12);
    }
    const tol = 0.025;
    assert.ok(Math.abs(c.flip / n - 0.5) < tol, `flip ${c.flip / n}`);
    for (const k of ['warpX', 'warpY', 'rotate', 'zoom', 'brightness', 'contrast'] as const) assert.ok(Math.abs(c[k] / n - 0.75) < tol, `${k} ${c[k] / n}`);
  });

  test('p_affine and p_lighting are honoured; max_* = 0 switches a transform off', () => {
    let rot = 0;
    let light = 0;
    for (let i = 0; i < 2000; i++) {
      const a = sampleAugmentV2({ ...V2, pAffine: 0.2, pLighting: 0.5, maxWarp: 0 }, 5, 0, i);
      rot += Number(a.rotate !== 0);
      light += Number(a.brightness !== 0.5);
      assert.deepEqual(a.warp, { x: 0, y: 0 });
    }
    assert.ok(Math.abs(rot / 2000 - 0.2) < 0.03 && Math.abs(light / 2000 - 0.5) < 0.04, `${rot / 2000} ${light / 2000}`);
  });

  test('min_scale < 1: RandomResizedCropGPU(ratio=(1,1)) square boxes of the presized image', () => {
    for (let i = 0; i < 500; i++) {
      const b = sampleAugmentV2({ ...V2, minScale: 0.35, presize: 128 }, 9, 0, i).box!;
      assert.equal(b.width, b.height);
      assert.ok(b.width * b.height >= 0.35 * 128 * 128 - 2 * 128 && b.left + b.width <= 128 && b.top + b.height <= 128);
    }
    assert.equal(sampleAugmentV2(V2, 9, 0, 0).box, null);
  });

  test('flip·rotate·zoom matrices as fastai builds them; warp moves the corners by ±magnitude', () => {
    const m = affineV2({ ...NEUTRAL, flip: true, rotate: 90, zoom: { scale: 2, col: 1, row: 0.5 } });
    // zoom: s = 1/2, col_c = (1−s)(2·1−1) = 0.5; rotate 90°: [[0,1],[−1,0]]; flip negates x
    const [x, y] = apply(m, 0, 0);
    assert.ok(close(x, -0) && close(y, -0.5), `${x} ${y}`);
    const w = warpV2(0.1, 0.2);
    const [cx, cy] = apply(w, -1, -1);
    assert.ok(close(cx, -1.2) && close(cy, -1.1), `${cx} ${cy}`);
  });

  test('presizing: a neutral draw maps the output grid onto the whole presized image (align_corners)', () => {
    const m = outputToPresize(NEUTRAL, 32, 64);
    assert.deepEqual(apply(m, 0, 0).map((v) => Math.round(v * 1e9) / 1e9), [0, 0]);
    assert.deepEqual(apply(m, 31, 31).map((v) => Math.round(v * 1e9) / 1e9), [63, 63]);
    // with a min_scale box, the output corners land on the box corners
    const b = outputToPresize({ ...NEUTRAL, box: { left: 10, top: 20, width: 30, height: 30 } }, 16, 64);
    assert.deepEqual(apply(b, 0, 0).map((v) => Math.round(v * 1e9) / 1e9), [10, 20]);
    assert.deepEqual(apply(b, 15, 15).map((v) => Math.round(v * 1e9) / 1e9), [39, 49]);
  });

  test('pipeline: validation is never augmented; v1 refuses v2-only options; aug none + min_scale is RandomResizedCrop', () => {
    const p = resolvePipeline({ presize: 64, minScale: 0.5 }, 32);
    const valid = planItem(p, 'f.png', 32, false, 1, 0, 3) as V2Plan;
    assert.equal(valid.batch, null);
    assert.deepEqual(valid.item, { kind: 'resize', method: 'crop', presize: 64, pcts: [0.5, 0.5] });
    const train = planItem(p, 'f.png', 32, true, 1, 0, 3) as V2Plan;
    assert.ok(train.batch && train.batch.box);
    assert.match(describePipeline(p, 32), /Resize\(64, method='crop'\), batch_tfms=aug_transforms\(size=32, min_scale=0.5\)/);
    assert.throws(() => resolvePipeline({ aug: 'v1', resize: 'pad' }, 32), /only crops/);
    assert.throws(() => resolvePipeline({ presize: 16 }, 32), /presize/);
    const rrc = planItem(resolvePipeline({ aug: 'none', minScale: 0.3 }, 32), 'f.png', 32, true, 1, 2, 3) as V2Plan;
    assert.deepEqual(rrc.item, { kind: 'randomResizedCrop', minScale: 0.3, key: [1, 2, 3] });
    assert.equal(resolvePipeline({ tfms: false }, 32).aug, 'none');
  });
});

describe('learn.tta(n=4, beta=0.25)', () => {
  test('lerp(aug, plain, beta) = (1−beta)·aug + beta·plain, hand-computed', () => {
    const aug = Float32Array.from([0.6, 0.3, 0.1]);
    const plain = Float32Array.from([0.2, 0.7, 0.1]);
    const out = Array.from(lerp(aug, plain, 0.25));
    // 0.75·0.6 + 0.25·0.2 = 0.5; 0.75·0.3 + 0.25·0.7 = 0.4; 0.1
    [0.5, 0.4, 0.1].forEach((v, i) => assert.ok(close(out[i], v, 1e-6), `${out}`));
    assert.deepEqual(Array.from(meanRows([[Float32Array.from([1, 0])], [Float32Array.from([0, 1])], [Float32Array.from([0.5, 0.5])]])[0]), [0.5, 0.5]);
  });

  test('n augmented passes (each a new epoch of the augmented loader), one plain pass, the lerp of their mean', async () => {
    const epochs: number[] = [];
    let passes = 0;
    const augmented: DataLoader = {
      length: 1, itemCount: 2,
      setEpoch: (e) => epochs.push(e),
      [Symbol.asyncIterator]: async function* (): AsyncGenerator<Batch> {
        passes++;
        yield { x: new Float32Array(0), y: Int32Array.from([0, 1]), n: 2, size: 1, files: ['a', 'b'] };
      },
    };
    const calls: string[] = [];
    const learner = {
      async getPreds(split: 'valid' | DataLoader): Promise<Predictions> {
        if (split === 'valid') {
          calls.push('plain');
          return { files: ['a', 'b'], targets: [0, 1], probs: [Float32Array.from([0.2, 0.8]), Float32Array.from([0.2, 0.8])], losses: [0, 0] };
        }
        for await (const _ of split) void _;
        calls.push('aug');
        const k = calls.length; // pass 1 and 3: class 0 sure, pass 2 and 4: class 1 sure
        const p = k % 2 ? Float32Array.from([1, 0]) : Float32Array.from([0, 1]);
        return { files: ['a', 'b'], targets: [0, 1], probs: [p, p], losses: [0, 0] };
      },
    };
    const r = await tta(learner, { augmented, n: 4 });
    assert.equal(passes, 4);
    assert.deepEqual(epochs, [0, 1, 2, 3]);
    assert.deepEqual(calls, ['aug', 'aug', 'aug', 'aug', 'plain']);
    // augmented mean (0.5, 0.5); lerp with plain (0.2, 0.8) at 0.25 → (0.425, 0.575)
    assert.ok(close(r.probs[0][0], 0.425, 1e-6) && close(r.probs[0][1], 0.575, 1e-6));
    assert.equal(r.plainErrorRate, 0.5);
    assert.equal(r.errorRate, 0.5);
    const none = await tta(learner, { augmented, n: 2, beta: null });
    assert.ok(close(none.probs[0][0], 0.5, 1e-6));
  });
});

describe('presizing, show_batch, progressive resizing and the TTA loader on real files', () => {
  let dir: string;
  let split: SplitDataset;
  before(async () => {
    dir = await makeTempDir();
    await writePetsLikeDataset(dir, { perClass: 4, width: 60, height: 40 });
    split = splitDataset(await fromNameRe(dir, '/([^/]+)_\\d+\\.jpg$'), { validPct: 0.25, seed: 1 });
  });
  after(() => removeDir(dir));

  test('every aug mode and resize method yields size×size batches; show_batch shows the same pixels', async () => {
    for (const spec of [{ aug: 'v2' as const, presize: 48, minScale: 0.5 }, { aug: 'v2' as const, resize: 'pad' as const, padMode: 'zeros' as const }, { aug: 'v1' as const }, { aug: 'none' as const, minScale: 0.3 }, { aug: 'none' as const, resize: 'squish' as const }]) {
      const data = await createDataBunch(split, { size: 24, bs: 4, numWorkers: 0, ...spec });
      try {
        for await (const b of data.train) assert.equal(b.x.length, b.n * 24 * 24 * 3, JSON.stringify(spec));
        for await (const b of data.valid) assert.equal(b.x.length, b.n * 24 * 24 * 3, JSON.stringify(spec));
        const shown = await showBatch(data, { n: 2 });
        assert.equal(shown.length, 2);
      } finally {
        await data.close();
      }
    }
  });

  test('rebuildDataBunch changes size and bs in place, keeps the transforms; the TTA loader augments every valid item in order', async () => {
    const data = await createDataBunch(split, { size: 16, bs: 4, numWorkers: 0, presize: 32, minScale: 0.75 });
    try {
      const before = data.train;
      await rebuildDataBunch(data, { size: 24, bs: 2 });
      assert.notEqual(data.train, before);
      assert.deepEqual([data.size, data.bs], [24, 2]);
      const p = bunchSettings(data)!.pipeline;
      assert.deepEqual([p.aug, p.minScale, p.presize], ['v2', 0.75, 48]);
      for await (const b of data.train) assert.equal(b.x.length, b.n * 24 * 24 * 3);
      const tta = ttaLoader(data);
      const files = async () => { const f: string[] = []; for await (const b of tta) f.push(...b.files); return f; };
      const plain: string[] = [];
      for await (const b of data.valid) plain.push(...b.files);
      tta.setEpoch(0);
      assert.deepEqual(await files(), plain);
      // the augmented pixels differ from the validation ones
      const first = async (l: DataLoader) => { for await (const b of l) return b.x; return new Float32Array(0); };
      tta.setEpoch(1);
      assert.notDeepEqual(Array.from((await first(tta)).subarray(0, 300)), Array.from((await first(data.valid)).subarray(0, 300)));
    } finally {
      await data.close();
    }
  });
});
