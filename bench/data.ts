// Data-pipeline bench: images/second of decode + augment + batch at size 224, from ~500×375
// JPEGs (the pets dataset's typical size) that it writes itself, for 1 worker thread and for
// all cores, beside the same pipeline in Debian's python3-pil (bench/data_pil.py), in one run.
// Run: npm run bench:data   (options: --images 200 --epochs 2)
import { spawnSync } from 'child_process';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { createDataBunch, fromNameRe, splitDataset } from '../src/trainer/data';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const IMAGES = arg('images', 200);
const EPOCHS = arg('epochs', 2);
const SIZE = 224;
const BS = 64;
const DIR = path.join(ROOT, 'bench', 'out', 'data-jpegs');
const PYTHON = '/usr/bin/python3';

/** Photo-like JPEGs: smooth gradients plus noise, so the entropy decoder does real work. */
async function makeJpegs(): Promise<void> {
  await fs.mkdir(DIR, { recursive: true });
  for (let i = 0; i < IMAGES; i++) {
    const file = path.join(DIR, `${i % 2 ? 'cat' : 'dog'}_${i}.jpg`);
    if (existsSync(file)) continue;
    const [w, h] = i % 5 === 0 ? [375, 500] : [500, 375];
    const buf = Buffer.alloc(w * h * 3);
    let s = i * 2654435761;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const n = (s >>> 24) % 48;
        const o = (y * w + x) * 3;
        buf[o] = ((x * 255) / w + n + i * 7) % 256;
        buf[o + 1] = ((y * 255) / h + n) % 256;
        buf[o + 2] = (((x + y) * 128) / (w + h) + n * 2) % 256;
      }
    }
    await sharp(buf, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
  }
}

interface Result {
  ips: number;
  images: number;
  /** CPU time (all threads / pool processes) per image over every epoch: robust to a busy machine. */
  cpuMsPerImage: number;
}

async function benchTs(numWorkers: number): Promise<Result> {
  const split = splitDataset(await fromNameRe(DIR, '/([^/]+)_\\d+\\.jpg$'), { validPct: 0 });
  const cpu0 = process.cpuUsage();
  const bunch = await createDataBunch(split, { size: SIZE, bs: BS, numWorkers });
  try {
    let best = Infinity;
    let images = 0;
    for (let epoch = 0; epoch <= EPOCHS; epoch++) { // epoch 0 warms up (workers start, page cache)
      const t = performance.now();
      images = 0;
      for await (const b of bunch.train) images += b.n;
      const dt = (performance.now() - t) / 1000;
      if (epoch > 0) best = Math.min(best, dt);
    }
    const cpu = process.cpuUsage(cpu0);
    return { ips: images / best, images, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / (images * (EPOCHS + 1)) };
  } finally {
    await bunch.close();
  }
}

function benchPil(workers: number): Result | { error: string } {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, [path.join(ROOT, 'bench', 'data_pil.py'), '--dir', DIR, '--workers', String(workers), '--epochs', String(EPOCHS), '--size', String(SIZE), '--bs', String(BS)], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()! };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const cores = os.cpus().length;
  await makeJpegs();
  console.log(`data bench: ${IMAGES} JPEGs ~500×375 → ${SIZE}×${SIZE}, bs ${BS}, get_transforms() defaults, imagenet_stats; best of ${EPOCHS} epochs after a warm-up; ${cores} cores`);
  const rows: string[][] = [['workers', 'TypeScript (sharp) img/s', 'python3-pil img/s', 'ratio TS/PIL', 'CPU ms/img TS', 'CPU ms/img PIL']];
  for (const w of [...new Set([1, cores])]) {
    const ts = await benchTs(w);
    const pil = benchPil(w);
    const ok = 'ips' in pil;
    rows.push([
      String(w),
      ts.ips.toFixed(1),
      ok ? pil.ips.toFixed(1) : `n/a (${pil.error})`,
      ok ? `${(ts.ips / pil.ips).toFixed(2)}×` : '-',
      ts.cpuMsPerImage.toFixed(2),
      ok ? pil.cpuMsPerImage.toFixed(2) : '-',
    ]);
  }
  const ws = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(ws[c])).join('  '));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
