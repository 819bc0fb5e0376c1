// Quality bench: final validation error of the Learner against the same recipe written out in
// PyTorch (bench/quality_torch.py, Debian's /usr/bin/python3 with torch 1.13), on the same
// Fashion-MNIST PNGs and the same split: resnet18 from scratch at 32 px, fastai v2's fine_tune
// (1 frozen + N−1 unfrozen epochs) and fit_one_cycle (N epochs), same bs/lr/wd, no augmentation
// on either side, 3 seeds each. The goal: our mean error within 0.5 points of PyTorch's.
// Run: npm run bench:quality   (options: --seeds 1,2,3 --epochs 4 --bs 64 --lr 1e-2 --wd 1e-2
//      --train-per-class 100 --valid-per-class 50 --recipes fine_tune,fit_one_cycle --sides ours,torch
//      --paired: PyTorch starts from our initial weights and sees our batches in our order)
// Sides: ours (fp32), bf16 (ours with learn.toBf16(): the accuracy cost of mixed precision), torch.
import { spawnSync } from 'child_process';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { selectBackend } from '../src/trainer/backend';
import { createDataBunch, fromFolder, splitDataset } from '../src/trainer/data';
import { createModel } from '../src/trainer/models';
import { Learner, type Callback } from '../src/trainer/learner';
import { FASHION_MNIST_CLASSES, readFashionMnist } from '../test/helpers/fashion-mnist';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const EPOCHS = Number(arg('epochs', '4'));
const BS = Number(arg('bs', '64'));
const LR = Number(arg('lr', '1e-2'));
const WD = Number(arg('wd', '1e-2'));
const SIZE = 32;
const TRAIN_PER_CLASS = Number(arg('train-per-class', '100'));
const VALID_PER_CLASS = Number(arg('valid-per-class', '50'));
const RECIPES = arg('recipes', 'fine_tune,fit_one_cycle').split(',') as Recipe[];
const SIDES = arg('sides', 'ours,torch').split(',') as Side[];
type Side = 'ours' | 'bf16' | 'torch';
const SIDE_NAMES: Record<Side, string> = { ours: 'ours fp32', bf16: 'ours bf16', torch: 'PyTorch' };
for (const s of SIDES) if (!(s in SIDE_NAMES)) throw new Error(`--sides: unknown side '${s}' (ours, bf16, torch)`);
/** Paired runs: PyTorch starts from our initial weights and takes our batches in our order. */
const PAIRED = process.argv.includes('--paired');
type Recipe = 'fine_tune' | 'fit_one_cycle';

/**
 * The first TRAIN_PER_CLASS images of each class of Fashion-MNIST's train set as train/<class>/,
 * the next VALID_PER_CLASS as valid/<class>/ (a fixed split both sides read).
 */
async function exportSplit(dir: string): Promise<{ classes: string[]; train: [string, number][]; valid: [string, number][] }> {
  const data = readFashionMnist('train');
  const px = data.rows * data.cols;
  const seen = new Array<number>(10).fill(0);
  const lists = { train: [] as [string, string][], valid: [] as [string, string][] };
  for (let i = 0; i < data.count && lists.valid.length < 10 * VALID_PER_CLASS; i++) {
    const label = data.labels[i];
    const n = seen[label]++;
    if (n >= TRAIN_PER_CLASS + VALID_PER_CLASS) continue;
    const part = n < TRAIN_PER_CLASS ? 'train' : 'valid';
    const name = FASHION_MNIST_CLASSES[label];
    const file = path.join(dir, part, name, `${name}_${i}.png`);
    if (!existsSync(file)) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await sharp(data.pixels.subarray(i * px, (i + 1) * px), { raw: { width: data.cols, height: data.rows, channels: 1 } }).png().toFile(file);
    }
    lists[part].push([file, name]);
  }
  const classes = [...FASHION_MNIST_CLASSES].sort();
  const idx = (l: [string, string][]) => l.map(([f, c]) => [f, classes.indexOf(c)] as [string, number]);
  return { classes, train: idx(lists.train), valid: idx(lists.valid) };
}

interface Result {
  error: number;
  seconds: number;
}

/** Our initial weights as a JSON index + raw float32 file (our layouts: conv HWIO, linear [in, out]). */
async function dumpWeights(model: ReturnType<typeof createModel>, file: string): Promise<void> {
  const index: Record<string, { shape: number[]; offset: number }> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const p of model.params) {
    const data = Buffer.from((await p.variable.data()).buffer as ArrayBuffer);
    index[p.name] = { shape: p.variable.shape, offset };
    parts.push(data);
    offset += data.length;
  }
  await fs.writeFile(file + '.bin', Buffer.concat(parts));
  await fs.writeFile(file + '.json', JSON.stringify(index));
}

async function ours(dir: string, recipe: Recipe, seed: number, bf16: boolean): Promise<Result> {
  const split = splitDataset(await fromFolder(dir), { seed });
  const data = await createDataBunch(split, { size: SIZE, bs: BS, seed, tfms: false });
  const model = createModel({ arch: 'resnet18', numClasses: data.c, seed });
  const order: string[][] = [];
  if (PAIRED) await dumpWeights(model, path.join(dir, `init-${recipe}-${seed}`));
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-quality-'));
  const learner = new Learner({ data, model, path: runDir, wd: WD });
  if (bf16 && !learner.toBf16().enabled) throw new Error('--sides bf16: this backend has no bf16 (see the warning above)');
  const t0 = performance.now();
  try {
    const progress: Callback = { afterEpoch: (ctx) => void process.stderr.write(`    ours ${recipe} seed ${seed} epoch ${ctx.epoch}: valid loss ${ctx.validLoss?.toFixed(3)} error ${ctx.metrics.error_rate?.toFixed(3)}\n`) };
    const recordOrder: Callback = { beforeBatch: (ctx) => void (ctx.training && order.push([...ctx.batch!.files])) };
    const callbacks = PAIRED ? [progress, recordOrder] : [progress];
    if (recipe === 'fit_one_cycle') await learner.fitOneCycle(EPOCHS, LR, { callbacks });
    else await learner.fineTune(EPOCHS - 1, { baseLr: LR, freezeEpochs: 1, callbacks });
    const seconds = (performance.now() - t0) / 1000;
    if (PAIRED) await fs.writeFile(path.join(dir, `order-${recipe}-${seed}.json`), JSON.stringify(order));
    return { error: (await learner.validate()).errorRate, seconds: +seconds.toFixed(1) };
  } finally {
    learner.dispose();
    await data.close();
    await fs.rm(runDir, { recursive: true, force: true });
  }
}

function torch(splitFile: string, recipe: Recipe, seed: number): Result {
  const script = path.join(ROOT, 'bench', 'quality_torch.py');
  const args = [script, '--split', splitFile, '--recipe', recipe, '--seed', String(seed), '--epochs', String(EPOCHS), '--bs', String(BS), '--lr', String(LR), '--wd', String(WD), '--size', String(SIZE)];
  const dir = path.dirname(splitFile);
  if (PAIRED) args.push('--init', path.join(dir, `init-${recipe}-${seed}`), '--order', path.join(dir, `order-${recipe}-${seed}.json`));
  const r = spawnSync(PYTHON, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // the OpenMP wait policy the torch backend uses (spinning is ruinous on a busy machine)
    env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`quality_torch.py ${recipe} seed ${seed}: exit ${r.status}${r.error ? `: ${r.error.message}` : ''}`);
  const o = JSON.parse(line.slice(7)) as Result;
  return { error: o.error, seconds: o.seconds };
}

function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

const pct = (v: number) => (100 * v).toFixed(2);

async function main(): Promise<void> {
  const info = await selectBackend({ threads: os.availableParallelism() });
  const dir = path.join(os.tmpdir(), `image-trainer-quality-fmnist-${TRAIN_PER_CLASS}-${VALID_PER_CLASS}`);
  const split = await exportSplit(dir);
  const splitFile = path.join(dir, 'split.json');
  await fs.writeFile(splitFile, JSON.stringify(split));
  console.log(
    `Fashion-MNIST train set: ${split.train.length} train / ${split.valid.length} valid images (${TRAIN_PER_CLASS}/${VALID_PER_CLASS} per class), ` +
      `resnet18 from scratch at ${SIZE} px, ${EPOCHS} epochs, bs ${BS}, lr ${LR}, wd ${WD}, no augmentation; ours on ${info.name}; ${PAIRED ? 'paired (same init and batches); ' : ''}` +
      `load average ${os.loadavg()[0].toFixed(1)} at start`,
  );
  const results: Record<string, Partial<Record<Side, Result[]>>> = {};
  for (const recipe of RECIPES) {
    results[recipe] = Object.fromEntries(SIDES.map((s) => [s, []]));
    for (const seed of SEEDS) {
      for (const side of SIDES) {
        const r = side === 'torch' ? torch(splitFile, recipe, seed) : await ours(dir, recipe, seed, side === 'bf16');
        results[recipe][side]!.push(r);
        console.log(`  ${recipe} seed ${seed} ${side}: error ${pct(r.error)}% in ${r.seconds} s`);
      }
    }
  }
  // differences in points: ours − PyTorch (the quality goal) and bf16 − fp32 (mixed precision's cost)
  const diffs = ([['ours', 'torch'], ['bf16', 'ours']] as [Side, Side][]).filter(([a, b]) => SIDES.includes(a) && SIDES.includes(b));
  const header = [...SIDES.map((s) => `${SIDE_NAMES[s]} error % (mean ± sd)`), ...diffs.map(([a, b]) => `${SIDE_NAMES[a]} − ${SIDE_NAMES[b]} (points)`), `per seed ${SIDES.map((s) => SIDE_NAMES[s]).join(' / ')}`];
  console.log(`\n| recipe | ${header.join(' | ')} |`);
  console.log(`| --- | ${header.map(() => '---').join(' | ')} |`);
  for (const recipe of RECIPES) {
    const errors = (s: Side) => results[recipe][s]!.map((r) => r.error);
    const stats = Object.fromEntries(SIDES.map((s) => [s, meanSd(errors(s))])) as Record<Side, { mean: number; sd: number }>;
    const cells = [
      ...SIDES.map((s) => `${pct(stats[s].mean)} ± ${pct(stats[s].sd)}`),
      ...diffs.map(([a, b]) => (100 * (stats[a].mean - stats[b].mean)).toFixed(2)),
      SEEDS.map((_, i) => SIDES.map((s) => pct(errors(s)[i] ?? NaN)).join(' / ')).join(', '),
    ];
    console.log(`| ${recipe} | ${cells.join(' | ')} |`);
  }
  console.log(`load average ${os.loadavg()[0].toFixed(1)} at the end`);
  const out = path.join(ROOT, 'bench', 'out', PAIRED ? 'quality-paired.json' : 'quality.json');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, JSON.stringify({ paired: PAIRED, epochs: EPOCHS, bs: BS, lr: LR, wd: WD, size: SIZE, seeds: SEEDS, backend: info.name, results, at: new Date().toISOString() }, null, 2) + '\n');
  console.log(`\nwritten ${path.relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:quality failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
