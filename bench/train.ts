// Training bench: images/second of the Learner's training step (forward, cross-entropy, backward,
// AdamW) on resnet34, batch 32, at 64, 128 and 224 px, on the torch backend and on wasm — beside
// Debian's PyTorch training torchvision's resnet34 with AdamW on the same machine, same threads, in
// the same run, as it runs by default (glibc malloc) and, where the machine has jemalloc, on the
// jemalloc our rows run on (src/trainer/backend/allocator.ts): the allocator alone moves both by
// 1.5x at 224 px. Every row runs in its own process so its peak RSS is its own.
// Run: npm run bench:train   (options: --sizes 64,128,224 --bs 32 --warmup 2 --steps 3 --arch resnet34
//      --backends torch,wasm --precisions fp32,bf16). bf16 rows: ours through learn.toBf16() on the
//      torch backend, PyTorch's under torch.autocast('cpu', torch.bfloat16); wasm runs fp32 only.
import { spawnSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend, tf } from '../src/trainer/backend';
import { createModel, type ArchName } from '../src/trainer/models';
import { Learner, type Callback } from '../src/trainer/learner';
import type { Batch, DataBunch, DataLoader } from '../src/trainer/data/types';
import { allocatorEnv } from '../src/trainer/backend/allocator';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SIZES = arg('sizes', '64,128,224').split(',').map(Number);
const BACKENDS = arg('backends', 'torch,wasm').split(',');
const THREADS = os.availableParallelism();
const BS = Number(arg('bs', '32'));
const WARMUP = Number(arg('warmup', '2'));
const STEPS = Number(arg('steps', '3'));
const ARCH = arg('arch', 'resnet34') as ArchName;
const PRECISIONS = arg('precisions', 'fp32,bf16').split(',') as ('fp32' | 'bf16')[];
const CLASSES = 37;

/** A DataBunch of one random batch served WARMUP + STEPS times, so only the step is timed. */
function syntheticData(size: number): DataBunch {
  const n = BS;
  const x = new Float32Array(n * size * size * 3);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (1664525 * s + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  const y = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  const files = Array.from({ length: n }, (_, i) => `synthetic_${i}.png`);
  const loader = (batches: number): DataLoader => ({
    length: batches,
    itemCount: batches * n,
    setEpoch: () => undefined,
    async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
      for (let b = 0; b < batches; b++) yield { x, y, n, size, files };
    },
  });
  const classes = Array.from({ length: CLASSES }, (_, i) => `c${i}`);
  return {
    dataset: { root: '', rule: { kind: 'nameFunc' }, classes, c: CLASSES, train: { items: [], y: [] }, valid: { items: [], y: [] }, skipped: [] },
    classes,
    c: CLASSES,
    size,
    bs: BS,
    train: loader(WARMUP + STEPS),
    valid: loader(0),
    normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    close: async () => undefined,
  };
}

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Row {
  system: string;
  size: number;
  stepMs: number[];
  imgPerSec: number;
  peakRssMB?: number;
}

async function benchTfjs(size: number, backendName: string, precision: 'fp32' | 'bf16', info: Awaited<ReturnType<typeof selectBackend>>): Promise<Row> {
  const data = syntheticData(size);
  const model = createModel({ arch: ARCH, numClasses: CLASSES, seed: 1 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-train-'));
  const learner = new Learner({ data, model, path: dir });
  learner.unfreeze();
  if (precision === 'bf16' && !learner.toBf16(info).enabled) throw new Error(`bf16 does not run on ${backendName}`);
  const times: number[] = [];
  let t0 = 0;
  const timer: Callback = {
    beforeBatch: () => void (t0 = performance.now()),
    afterBatch: (ctx) => {
      if (!ctx.training) return; // validation batches run through the same hooks
      const dt = performance.now() - t0;
      if (ctx.step >= WARMUP) times.push(dt);
      process.stderr.write(`  tfjs ${size}px step ${ctx.step} ${dt.toFixed(0)} ms loss ${ctx.loss.toFixed(3)}\n`);
    },
  };
  await learner.fit(1, 1e-3, { callbacks: [timer] });
  learner.dispose();
  await fs.rm(dir, { recursive: true, force: true });
  return {
    system: `tfjs ${tf.version_core} ${backendName}, Learner step (AdamW), ${precision}`,
    size,
    stepMs: times.map(Math.round),
    imgPerSec: +((BS * 1000) / median(times)).toFixed(2),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** A PyTorch reference: its name in the table and what its process's environment adds. */
interface Reference {
  name: string;
  env: Record<string, string>;
}

function benchTorch(size: number, precision: 'fp32' | 'bf16', ref: Reference): Row | { system: string; size: number; error: string } {
  const script = path.join(ROOT, 'bench', 'train_torch.py');
  const r = spawnSync(PYTHON, [script, ARCH, String(size), String(BS), String(STEPS), String(WARMUP), String(os.availableParallelism()), precision], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // the same OpenMP wait policy the torch backend uses (spinning is ruinous on a busy machine)
    env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE', ...ref.env },
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) return { system: 'PyTorch', size, error: `exit ${r.status}${r.error ? `: ${r.error.message}` : ''}` };
  const o = JSON.parse(line.slice(7));
  return { system: `PyTorch ${o.torch} (torchvision ${o.torchvision}), ${o.threads} threads, AdamW, ${precision}${ref.env.LD_PRELOAD ? ', jemalloc' : ''}`, size, stepMs: o.trainStepMs, imgPerSec: o.trainImgPerSec, peakRssMB: o.peakRssMB };
}

/** One tfjs row in a child process (`--row BACKEND SIZE`), so peak RSS is that row's alone. */
function tfjsRow(backend: string, size: number, precision: 'fp32' | 'bf16'): Row | { system: string; size: number; error: string } {
  const args = [__filename, '--row', backend, String(size), precision, '--bs', String(BS), '--warmup', String(WARMUP), '--steps', String(STEPS), '--arch', ARCH];
  // on the allocator image-trainer and the extension start the trainer on (IMAGE_TRAINER_ALLOCATOR=system: glibc)
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...allocatorEnv() } });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) return { system: `tfjs ${backend}`, size, error: `exit ${r.status}` };
  return JSON.parse(line.slice(7)) as Row;
}

async function row(backend: string, size: number, precision: 'fp32' | 'bf16'): Promise<void> {
  const info = await selectBackend({ prefer: backend, threads: THREADS });
  const name = `${info.name}${info.threads ? ` ${info.threads} threads` : ''}${info.simd ? ' SIMD' : ''}${info.device ? ` (${info.device})` : ''}`;
  console.log('RESULT ' + JSON.stringify(await benchTfjs(size, name, precision, info)));
}

const fmt = (r: Row | { error: string }) => ('imgPerSec' in r ? `${r.imgPerSec.toFixed(2)} | ${r.peakRssMB ?? '?'} MB` : `n/a (${r.error}) | `);
/** speed ratio (peak RSS ratio) of a row against a reference */
const ratio = (a: Row | { error: string }, b: Row | { error: string }) =>
  'imgPerSec' in a && 'imgPerSec' in b ? `${(a.imgPerSec / b.imgPerSec).toFixed(2)}× (${a.peakRssMB && b.peakRssMB ? (a.peakRssMB / b.peakRssMB).toFixed(2) : '?'}×)` : 'n/a';
type Result = Row | { system: string; size: number; error: string };

async function main(): Promise<void> {
  const rowAt = process.argv.indexOf('--row');
  if (rowAt > 0) return row(process.argv[rowAt + 1], Number(process.argv[rowAt + 2]), (process.argv[rowAt + 3] === 'bf16' ? 'bf16' : 'fp32'));
  const load = os.loadavg()[0].toFixed(1);
  console.log(`${ARCH} training, batch ${BS}, ${WARMUP} warm-up + ${STEPS} timed steps, ${THREADS} cores/threads, load average ${load} at start`);
  const jemalloc = allocatorEnv();
  const refs: Reference[] = [{ name: 'PyTorch', env: {} }, ...(Object.keys(jemalloc).length ? [{ name: 'PyTorch on jemalloc', env: jemalloc }] : [])];
  const results: { size: number; precision: 'fp32' | 'bf16'; refs: Result[]; rows: Record<string, Result> }[] = [];
  for (const size of SIZES) {
    for (const precision of PRECISIONS) {
      const rows: Record<string, Result> = {};
      // tfjs tensors stay float32 on wasm: its bf16 row would be its fp32 row again
      for (const b of BACKENDS) rows[b] = precision === 'fp32' || b === 'torch' ? tfjsRow(b, size, precision) : { system: `tfjs ${b}`, size, error: 'fp32 only' };
      results.push({ size, precision, refs: refs.map((ref) => benchTorch(size, precision, ref)), rows });
    }
  }
  const head = [...refs.map((r) => `${r.name} img/s | peak RSS`), ...BACKENDS.map((b) => `tfjs ${b} img/s | peak RSS | ${refs.map((r) => `${b} / ${r.name} (RSS)`).join(' | ')}`)].join(' | ');
  console.log(`\n| px | precision | ${head} |`);
  console.log(`| --- | --- | ${Array(refs.length * 2 + BACKENDS.length * (2 + refs.length)).fill('---').join(' | ')} |`);
  for (const r of results) {
    const mine = BACKENDS.map((b) => [fmt(r.rows[b]), ...r.refs.map((ref) => ratio(r.rows[b], ref))].join(' | '));
    console.log(`| ${r.size} | ${r.precision} | ${[...r.refs.map(fmt), ...mine].join(' | ')} |`);
  }
  console.log(`load average ${os.loadavg()[0].toFixed(1)} at the end`);
  const out = path.join(ROOT, 'bench', 'out', 'train.json');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, JSON.stringify({ arch: ARCH, bs: BS, warmup: WARMUP, steps: STEPS, threads: THREADS, results, at: new Date().toISOString() }, null, 2) + '\n');
  console.log(`\nwritten ${path.relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:train failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
