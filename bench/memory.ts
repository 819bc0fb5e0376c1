// Memory calibration for the wasm memory guard (src/trainer/backend/memory.ts): the peak wasm heap
// of the Learner's training step (forward, cross-entropy, backward, AdamW, whole model unfrozen)
// per architecture at a few small sizes and batch sizes, each in a fresh process (a wasm heap never
// shrinks, so its final size is the step's peak), then a least-squares fit per architecture of
//   heap bytes = fixed + perPixelImage · size² · bs.
// Run: npx tsc -p . --outDir out-mem && node out-mem/bench/memory.js
//      (options: --archs resnet18,resnet34,resnet50 --points 64x2,64x4,128x2)
// One point alone: node out-mem/bench/memory.js --one resnet34 64 2
import { spawnSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend, tf } from '../src/trainer/backend';
import { createModel, type ArchName } from '../src/trainer/models';
import { Learner } from '../src/trainer/learner';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] as string) : def;
};
const CLASSES = 37;
const STEPS = 2;

interface Point {
  arch: string;
  size: number;
  bs: number;
  heapBytes: number;
  peakTensorBytes: number;
  maxRssBytes: number;
  seconds: number;
}

/** Child mode: one configuration, printed as `RESULT {json}`. */
async function measureOne(arch: string, size: number, bs: number): Promise<void> {
  process.env.IMAGE_TRAINER_WASM_THREADS ??= String(os.availableParallelism());
  await selectBackend({ prefer: 'wasm' });
  const x = new Float32Array(bs * size * size * 3).map((_, i) => Math.sin(i) * 0.5);
  const y = Int32Array.from({ length: bs }, (_, i) => i % CLASSES);
  const files = Array.from({ length: bs }, (_, i) => `synthetic_${i}.png`);
  let peakTensorBytes = 0;
  const loader = (batches: number) => ({
    length: batches,
    itemCount: batches * bs,
    setEpoch: () => undefined,
    async *[Symbol.asyncIterator]() {
      for (let b = 0; b < batches; b++) yield { x, y, n: bs, size, files };
    },
  });
  const classes = Array.from({ length: CLASSES }, (_, i) => `c${i}`);
  const data = {
    dataset: { root: '', rule: { kind: 'nameFunc' as const }, classes, c: CLASSES, train: { items: [], y: [] }, valid: { items: [], y: [] }, skipped: [] },
    classes,
    c: CLASSES,
    size,
    bs,
    train: loader(STEPS),
    valid: loader(0),
    normalize: { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] },
    close: async () => undefined,
  };
  const model = createModel({ arch: arch as ArchName, numClasses: CLASSES, seed: 1 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-memory-'));
  const learner = new Learner({ data: data as never, model, path: dir });
  learner.unfreeze();
  const t0 = performance.now();
  const prof = await tf.profile(() => learner.fit(1, 1e-3) as unknown as tf.TensorContainer);
  peakTensorBytes = prof.peakBytes;
  const seconds = (performance.now() - t0) / 1000;
  const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
  const point: Point = {
    arch, size, bs,
    heapBytes: wasm.HEAPU8.buffer.byteLength,
    peakTensorBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    seconds: +seconds.toFixed(1),
  };
  learner.dispose();
  await fs.rm(dir, { recursive: true, force: true });
  console.log(`RESULT ${JSON.stringify(point)}`);
}

/** Least squares of heap = fixed + perPixelImage · (size² · bs). */
function fit(points: Point[]): { fixed: number; perPixelImage: number } {
  const xs = points.map((p) => p.size * p.size * p.bs);
  const ys = points.map((p) => p.heapBytes);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  const perPixelImage = sxx > 0 ? sxy / sxx : 0;
  return { fixed: Math.round(my - perPixelImage * mx), perPixelImage: +perPixelImage.toFixed(1) };
}

async function main(): Promise<void> {
  const one = process.argv.indexOf('--one');
  if (one > 0) {
    const [arch, size, bs] = process.argv.slice(one + 1, one + 4);
    return measureOne(arch as string, Number(size), Number(bs));
  }
  const archs = arg('archs', 'resnet18,resnet34,resnet50').split(',');
  const configs = arg('points', '64x2,64x4,128x2').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const results: Record<string, { points: Point[]; fit: { fixed: number; perPixelImage: number } }> = {};
  for (const arch of archs) {
    const points: Point[] = [];
    for (const [size, bs] of configs) {
      const r = spawnSync(process.execPath, [__filename, '--one', arch, String(size), String(bs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
      if (r.status !== 0 || !line) throw new Error(`${arch} ${size}px bs ${bs}: exit ${r.status}`);
      const p = JSON.parse(line.slice(7)) as Point;
      console.log(`${arch} ${size}px bs ${bs}: wasm heap ${(p.heapBytes / 2 ** 20).toFixed(0)} MiB, peak tensors ${(p.peakTensorBytes / 2 ** 20).toFixed(0)} MiB, max RSS ${(p.maxRssBytes / 2 ** 20).toFixed(0)} MiB, ${p.seconds} s`);
      points.push(p);
    }
    results[arch] = { points, fit: fit(points) };
    console.log(`${arch}: fixed ${results[arch].fit.fixed} bytes + ${results[arch].fit.perPixelImage} bytes per pixel per image`);
  }
  const out = path.join(ROOT, 'bench', 'out', 'memory.json');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, JSON.stringify({ results, cores: os.availableParallelism(), at: new Date().toISOString() }, null, 2) + '\n');
  console.log(`written ${path.relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:memory failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
