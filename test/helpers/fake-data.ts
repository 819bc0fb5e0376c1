// An in-memory DataBunch for learner tests: a synthetic task where each class lights up its own
// region of the image, plus noise — easy to learn, deterministic per seed.
import type { Batch, DataBunch, DataLoader, SplitDataset } from '../../src/trainer/data/types';
import { seededRandom } from './seeded-random';

export interface FakeDataOptions {
  c?: number; // 3
  nTrain?: number; // 48
  nValid?: number; // 24
  size?: number; // 16
  bs?: number; // 8
  seed?: number; // 1
  noise?: number; // 0.5
}

function makeImages(n: number, c: number, size: number, noise: number, rand: () => number) {
  const xs: Float32Array[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % c;
    const img = new Float32Array(size * size * 3);
    const band = Math.floor(size / c);
    for (let r = 0; r < size; r++)
      for (let col = 0; col < size; col++)
        for (let ch = 0; ch < 3; ch++) {
          const on = col >= y * band && col < (y + 1) * band ? 1.5 : -0.5;
          img[(r * size + col) * 3 + ch] = on + noise * (rand() * 2 - 1);
        }
    xs.push(img);
    ys.push(y);
  }
  return { xs, ys };
}

class ArrayLoader implements DataLoader {
  private epoch = 0;
  /** Batches handed out so far (tests check stop() ends at a boundary). */
  served = 0;
  constructor(
    private readonly xs: Float32Array[],
    private readonly ys: number[],
    private readonly files: string[],
    private readonly bs: number,
    private readonly size: number,
    private readonly shuffle: boolean,
    private readonly seed: number,
  ) {}
  get length(): number {
    return this.shuffle ? Math.floor(this.xs.length / this.bs) : Math.ceil(this.xs.length / this.bs);
  }
  get itemCount(): number {
    return this.xs.length;
  }
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const order = this.xs.map((_, i) => i);
    if (this.shuffle) {
      const r = seededRandom(this.seed * 1000 + this.epoch);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    const per = this.size * this.size * 3;
    for (let b = 0; b < this.length; b++) {
      const idx = order.slice(b * this.bs, (b + 1) * this.bs);
      const x = new Float32Array(idx.length * per);
      idx.forEach((k, i) => x.set(this.xs[k], i * per));
      this.served += 1;
      await new Promise((r) => setImmediate(r));
      yield { x, y: Int32Array.from(idx.map((k) => this.ys[k])), n: idx.length, size: this.size, files: idx.map((k) => this.files[k]) };
    }
  }
}

export function makeFakeData(opts: FakeDataOptions = {}): DataBunch & { train: ArrayLoader; valid: ArrayLoader } {
  const c = opts.c ?? 3;
  const size = opts.size ?? 16;
  const bs = opts.bs ?? 8;
  const seed = opts.seed ?? 1;
  const noise = opts.noise ?? 0.5;
  const rand = seededRandom(seed);
  const classes = Array.from({ length: c }, (_, i) => `class${i}`);
  const tr = makeImages(opts.nTrain ?? 48, c, size, noise, rand);
  const va = makeImages(opts.nValid ?? 24, c, size, noise, rand);
  const trFiles = tr.ys.map((y, i) => `/fake/train/${classes[y]}_${i}.png`);
  const vaFiles = va.ys.map((y, i) => `/fake/valid/${classes[y]}_${i}.png`);
  const dataset: SplitDataset = {
    root: '/fake',
    rule: { kind: 'nameRe', pattern: '/([^/]+)_\\d+.png$' },
    classes,
    c,
    train: { items: trFiles, y: tr.ys },
    valid: { items: vaFiles, y: va.ys },
    skipped: [],
  };
  return {
    dataset,
    classes,
    c,
    size,
    bs,
    train: new ArrayLoader(tr.xs, tr.ys, trFiles, bs, size, true, seed),
    valid: new ArrayLoader(va.xs, va.ys, vaFiles, bs, size, false, seed),
    normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    close: async () => undefined,
  };
}
