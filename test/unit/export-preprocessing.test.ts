// Issue 12: exports record the run's validation view (Resize crop/squish/pad, RandomResizedCrop's
// centre view) and every predict path applies it, as fastai's load_learner applies the pickled
// after_item transforms. For each method a randomised resnet18 on a real bunch of non-square PNGs
// (60×30 and 30×60) is exported in every format; predict's input is the validation loader's
// pixels exactly and its probabilities are the validation pass's. Old exports without the field
// load as the centre crop; a bad value is refused naming the file and the fix.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { onnx } from 'onnx-proto';
import { tf } from '../../src/trainer/backend';
import { createDataBunch } from '../../src/trainer/data';
import type { Batch, DataBunch, SplitDataset } from '../../src/trainer/data/types';
import { exportLearner, loadAnyExport } from '../../src/trainer/export';
import { modelCard } from '../../src/trainer/export/card';
import { loadImageTensorData } from '../../src/trainer/learner/preprocess';
import { readCheckpointInfo } from '../../src/trainer/learner';
import type { TransformSpec } from '../../src/protocol/dataset';
import type { InferenceResize } from '../../src/protocol/preprocessing';
import { randomisedLearner } from '../helpers/export-models';
import { seededRandom } from '../helpers/seeded-random';

const SIZE = 32;
const TOL = 1e-4;
let tmp: string;
let split: SplitDataset;

async function writePng(file: string, width: number, height: number, seed: number): Promise<string> {
  const rand = seededRandom(seed);
  const raw = Buffer.alloc(width * height * 3);
  // smooth gradients plus noise: resize methods give clearly different pixels
  for (let y = 0, k = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) raw[k++] = Math.min(255, Math.floor(((x * (c + 1) * 7 + y * 5) % 200) + rand() * 55));
  await sharp(raw, { raw: { width, height, channels: 3 } }).png().toFile(file);
  return file;
}

before(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'export-preprocessing-'));
  const wide = await writePng(path.join(tmp, 'a_wide.png'), 60, 30, 1);
  const tall = await writePng(path.join(tmp, 'b_tall.png'), 30, 60, 2);
  split = { root: tmp, rule: { kind: 'nameRe', pattern: '([ab])_' }, classes: ['a', 'b'], c: 2, train: { items: [wide, tall], y: [0, 1] }, valid: { items: [wide, tall], y: [0, 1] }, skipped: [] };
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function validBatch(bunch: DataBunch): Promise<Batch> {
  const batches: Batch[] = [];
  for await (const b of bunch.valid) batches.push(b);
  assert.equal(batches.length, 1);
  return batches[0]!;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const cases: [InferenceResize | 'pad-zeros', TransformSpec][] = [
  ['crop', { aug: 'v2', resize: 'crop' }],
  ['squish', { aug: 'v2', resize: 'squish' }],
  ['pad', { aug: 'v2', resize: 'pad' }],
  ['pad-zeros', { aug: 'v2', resize: 'pad', padMode: 'zeros' }],
  ['randomResizedCrop', { aug: 'none', minScale: 0.35 }],
];

describe('predict applies the validation view the run recorded', () => {
  for (const [name, spec] of cases) {
    test(`${name}: native, ONNX and TF.js exports predict on the validation loader's pixels`, { timeout: 300_000 }, async () => {
      const bunch = await createDataBunch(split, { size: SIZE, bs: 2, numWorkers: 0, ...spec });
      const learner = randomisedLearner('resnet18', { size: SIZE, c: 2, seed: 3, dir: path.join(tmp, name), data: bunch });
      try {
        const method = name === 'pad-zeros' ? 'pad' : name;
        assert.equal(learner.preprocessing.method, method);
        const batch = await validBatch(bunch);
        const per = SIZE * SIZE * 3;
        const preds = await learner.getPreds('valid');
        const centre = { ...learner.preprocessing, method: 'crop' as const, padMode: undefined };
        for (let i = 0; i < split.valid.items.length; i++) {
          const file = split.valid.items[i]!;
          const want = batch.x.subarray(i * per, (i + 1) * per);
          const fromFile = await loadImageTensorData(file, learner.preprocessing);
          const fromBytes = await loadImageTensorData(await fs.readFile(file), learner.preprocessing);
          assert.equal(maxDiff(fromFile, want), 0, `${path.basename(file)}: predict's input is the validation pixels`);
          assert.equal(maxDiff(fromBytes, want), 0, `${path.basename(file)}: the same from encoded bytes`);
          if (method !== 'crop') assert.ok(maxDiff(await loadImageTensorData(file, centre), want) > 0.1, 'the centre crop would differ (the test can fail)');
          const own = await learner.predict(file);
          assert.ok(maxDiff(own.probs, preds.probs[i]!) <= TOL, 'learn.predict = the validation pass');
        }

        await learner.save('stage-1');
        const info = await readCheckpointInfo(learner.checkpointFile('stage-1'));
        assert.equal(info.transforms?.resize, spec.resize ?? 'crop');
        assert.equal(info.transforms?.aug, spec.aug);

        for (const format of ['native', 'onnx', 'tfjs'] as const) {
          const dir = path.join(tmp, name, `export-${format}`);
          await exportLearner(learner, { dir, format });
          const card = await fs.readFile(path.join(dir, 'README.md'), 'utf8');
          if (method !== 'crop') assert.doesNotMatch(card, /short side to \d+ px and centre-crop/, `${format} card describes ${method}`);
          const p = await loadAnyExport(dir);
          try {
            assert.equal(p.preprocessing.method, method, `${format} records the method`);
            if (method === 'pad') assert.equal(p.preprocessing.padMode, spec.padMode ?? 'reflection');
            for (let i = 0; i < split.valid.items.length; i++) {
              const got = await p.predict(split.valid.items[i]!);
              const d = maxDiff(got.probs, preds.probs[i]!);
              assert.ok(d <= TOL, `${format} ${path.basename(split.valid.items[i]!)}: max abs diff ${d} from the validation pass`);
            }
          } finally {
            p.dispose();
          }
        }
      } finally {
        learner.model.dispose();
        await bunch.close();
      }
    });
  }
});

test('learn.load warns when the checkpoint was validated with another view of the images (crop vs squish, pad modes), not when it is the same', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'load-views');
  const bunches = await Promise.all(([
    { resize: 'crop' }, { resize: 'squish' }, { resize: 'pad', padMode: 'reflection' }, { resize: 'pad', padMode: 'zeros' },
  ] as TransformSpec[]).map((spec) => createDataBunch(split, { size: SIZE, bs: 2, numWorkers: 0, aug: 'v2', ...spec })));
  const [crop, squish, padReflect, padZeros] = bunches;
  const learners = [crop, crop, squish, padReflect, padZeros].map((data, i) => randomisedLearner('resnet18', { size: SIZE, c: 2, seed: 7 + i, dir, data }));
  const warnings = (l: (typeof learners)[number]) => {
    const seen: string[] = [];
    l.log = (level, message) => void (level === 'warn' && seen.push(message));
    return seen;
  };
  try {
    const [trainedCrop, sameView, otherView, reflect, zeros] = learners;
    await trainedCrop!.save('crop');
    const same = warnings(sameView!);
    await sameView!.load('crop');
    assert.deepEqual(same, [], 'the same view: no warning');
    const other = warnings(otherView!);
    await otherView!.load('crop');
    assert.equal(other.length, 1, other.join(' | '));
    assert.match(other[0]!, /^'crop' was validated with the crop view but this data uses squish: validation and predictions differ from its training run \(open the data with the same resize options\)$/);
    await reflect!.save('reflect');
    const padModes = warnings(zeros!);
    await zeros!.load('reflect');
    assert.equal(padModes.length, 1, padModes.join(' | '));
    assert.match(padModes[0]!, /validated with the pad \(reflection\) view but this data uses pad \(zeros\)/);
  } finally {
    for (const l of learners) l.model.dispose();
    await Promise.all(bunches.map((b) => b!.close()));
  }
});

describe('recorded preprocessing from untrusted folders', () => {
  let base: string;
  let bunch: DataBunch;
  let learner: ReturnType<typeof randomisedLearner>;
  before(async () => {
    bunch = await createDataBunch(split, { size: SIZE, bs: 2, numWorkers: 0, resize: 'squish' });
    learner = randomisedLearner('resnet18', { size: SIZE, c: 2, seed: 5, dir: tmp, data: bunch });
    base = path.join(tmp, 'untrusted');
    for (const format of ['native', 'onnx', 'tfjs'] as const) await exportLearner(learner, { dir: path.join(base, format), format });
  });
  after(async () => {
    learner.model.dispose();
    await bunch.close();
  });

  const editJson = async (file: string, f: (j: Record<string, any>) => void) => {
    const j = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, any>;
    f(j);
    await fs.writeFile(file, JSON.stringify(j));
  };
  const editOnnx = async (file: string, f: (pre: Record<string, unknown>) => void) => {
    const m = onnx.ModelProto.decode(await fs.readFile(file));
    const prop = m.metadataProps.find((p) => p.key === 'preprocessing')!;
    const pre = JSON.parse(prop.value!) as Record<string, unknown>;
    f(pre);
    prop.value = JSON.stringify(pre);
    await fs.writeFile(file, onnx.ModelProto.encode(m).finish());
  };
  /** A copy of an export, tampered with; loaded by its model file (the manifest's sizes no longer hold). */
  const copy = async (format: string, as: string) => {
    const dir = path.join(base, as);
    await fs.cp(path.join(base, format), dir, { recursive: true });
    return dir;
  };
  const oldStyle = (pre: Record<string, unknown>) => {
    delete pre.method;
    delete pre.padMode;
    Object.assign(pre, { resize: 'short-side', crop: 'center' });
  };

  test('exports written before the method was recorded load as the centre crop', async () => {
    const native = await copy('native', 'old-native');
    await editJson(path.join(native, 'model.json'), (j) => oldStyle(j.userDefinedMetadata.preprocessing));
    const onnxDir = await copy('onnx', 'old-onnx');
    await editOnnx(path.join(onnxDir, 'model.onnx'), oldStyle);
    const tfjsDir = await copy('tfjs', 'old-tfjs');
    await editJson(path.join(tfjsDir, 'metadata.json'), (j) => { delete j.preprocessing; });
    const image = split.valid.items[0]!;
    for (const file of [path.join(native, 'model.json'), path.join(onnxDir, 'model.onnx'), path.join(tfjsDir, 'model.json')]) {
      const p = await loadAnyExport(file);
      try {
        assert.equal(p.preprocessing.method, 'crop', file);
        assert.equal(p.preprocessing.size, SIZE);
        const centre = await loadImageTensorData(image, { ...learner.preprocessing, method: 'crop' });
        const x = tf.tensor4d(centre, [1, SIZE, SIZE, 3]);
        const want = Array.from(tf.tidy(() => tf.softmax(learner.model.forward(x, false))).dataSync());
        x.dispose();
        assert.ok(maxDiff((await p.predict(image)).probs, want) <= TOL, `${file} predicts on the centre crop`);
      } finally {
        p.dispose();
      }
    }
  });

  const bad: [string, string, (dir: string) => Promise<string>][] = [
    ['native method "stretch"', 'native', async (d) => { const f = path.join(d, 'model.json'); await editJson(f, (j) => { j.userDefinedMetadata.preprocessing.method = 'stretch'; }); return f; }],
    ['native padMode 42', 'native', async (d) => { const f = path.join(d, 'model.json'); await editJson(f, (j) => { j.userDefinedMetadata.preprocessing.padMode = 42; }); return f; }],
    ['ONNX method "stretch"', 'onnx', async (d) => { const f = path.join(d, 'model.onnx'); await editOnnx(f, (p) => { p.method = 'stretch'; }); return f; }],
    ['TF.js method "stretch"', 'tfjs', async (d) => { const f = path.join(d, 'metadata.json'); await editJson(f, (j) => { j.preprocessing.method = 'stretch'; }); return f; }],
  ];
  for (const [name, format, tamper] of bad) {
    test(`${name} is refused naming the file and the fix`, async () => {
      const dir = await copy(format, `bad-${name.replace(/\W+/g, '-')}`);
      const file = await tamper(dir);
      await assert.rejects(loadAnyExport(path.join(dir, format === 'onnx' ? 'model.onnx' : 'model.json')), (e: Error & { file?: string; fix?: string }) => {
        assert.match(e.message, /preprocessing\.(method|padMode)/);
        assert.ok(e.message.includes(file), `names ${file}: ${e.message}`);
        assert.equal(e.file, file);
        assert.match(e.fix ?? '', /crop, squish, pad, randomResizedCrop/);
        return true;
      });
    });
  }

  test("the model card's TF.js snippet computes the recorded view (within bilinear differences)", async () => {
    // a smooth 90×45 image: the snippet's resizeBilinear and libvips differ only by interpolation
    const W = 90;
    const H = 45;
    const raw = Buffer.alloc(W * H * 3);
    for (let y = 0, k = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) raw[k++] = Math.round(127 + 100 * Math.sin(x / 9 + c) * Math.cos(y / 7));
    const file = path.join(tmp, 'smooth.png');
    await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toFile(file);
    const identity = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
    for (const [method, padMode] of [['crop'], ['squish'], ['pad', 'reflection'], ['pad', 'zeros'], ['pad', 'border'], ['randomResizedCrop']] as const) {
      const pre = { size: SIZE, normalize: identity, method, ...(padMode ? { padMode } : {}) };
      const card = modelCard({ format: 'tfjs', arch: 'resnet18', classes: ['a'], counts: null, lastEpoch: null, epochs: 0, preprocessing: pre });
      const body = card.split('const probs = tf.tidy(() => {\n')[1]!.split('  return model.predict')[0]!.replace(/const px = .*\n/, '');
      const run = new Function('tf', 'px', 'imageSize', `${body}\nreturn x;`) as (t: typeof tf, px: tf.Tensor3D, size: number) => tf.Tensor;
      const px = tf.tensor3d(Float32Array.from(raw, (v) => v / 255), [H, W, 3]);
      const out = tf.tidy(() => run(tf, px, SIZE));
      const got = out.dataSync();
      tf.dispose([px, out]);
      const want = await loadImageTensorData(file, pre);
      let sum = 0;
      for (let i = 0; i < want.length; i++) sum += Math.abs(got[i]! - want[i]!);
      assert.equal(got.length, want.length, `${method} ${padMode ?? ''}: shape`);
      assert.ok(sum / want.length < 0.01, `${method} ${padMode ?? ''}: mean abs diff ${sum / want.length}`);
    }
  });

  test('the model card and its snippets describe the recorded method', () => {
    const src = { format: 'onnx' as const, arch: 'resnet18', classes: ['a', 'b'], counts: null, lastEpoch: null, epochs: 0 };
    const norm = learner.preprocessing.normalize;
    const squish = modelCard({ ...src, preprocessing: { size: 224, normalize: norm, method: 'squish' } });
    assert.match(squish, /resize the whole image to 224×224/i);
    assert.match(squish, /img\.resize\(\(224, 224\), Image\.BILINEAR\)/);
    const pad = modelCard({ ...src, preprocessing: { size: 224, normalize: norm, method: 'pad', padMode: 'zeros' } });
    assert.match(pad, /pad to 224×224 with zeros padding/);
    assert.match(pad, /np\.pad\(.*mode='constant'/);
    const tfjsPad = modelCard({ ...src, format: 'tfjs', preprocessing: { size: 224, normalize: norm, method: 'pad' } });
    assert.match(tfjsPad, /tf\.mirrorPad\(.*'symmetric'\)/);
    const rrc = modelCard({ ...src, format: 'tfjs', preprocessing: { size: 224, normalize: norm, method: 'randomResizedCrop' } });
    assert.match(rrc, /resizeBilinear\(px, \[256, 256\], false, true\)/);
    for (const card of [squish, pad, tfjsPad, rrc]) assert.doesNotMatch(card, /short side to 224 px and centre-crop/);
  });
});
