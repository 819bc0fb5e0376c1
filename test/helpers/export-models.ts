// Learners for the export tests: a torchvision resnet + fastai head with random weights and random
// BatchNorm statistics (so folding them is really exercised), real PNG files, and a static file
// server on 127.0.0.1 for loading graph models over http as a web page would.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tf } from '../../src/trainer/backend';
import { createModel } from '../../src/trainer/models';
import type { ArchName } from '../../src/trainer/models/types';
import { Learner } from '../../src/trainer/learner';
import type { DataBunch } from '../../src/trainer/data/types';
import { makeFakeData } from './fake-data';
import { seededRandom } from './seeded-random';
import { listenLocal } from './local-server';

/** `data`: a real DataBunch to attach (its pipeline is what exports record); default a fake in-memory one. */
export function randomisedLearner(arch: ArchName, opts: { size: number; c: number; seed: number; dir: string; data?: DataBunch }): Learner {
  const model = createModel({ arch, numClasses: opts.c, ps: [0, 0], seed: opts.seed });
  const rand = seededRandom(opts.seed);
  const state = new Map<string, tf.Tensor>();
  for (const [name, t] of model.stateDict()) {
    const n = t.size;
    const r = (f: (u: number) => number) => tf.tensor(Float32Array.from({ length: n }, () => f(rand())), t.shape);
    if (name.endsWith('running_mean')) state.set(name, r((u) => (u - 0.5) * 0.2));
    else if (name.endsWith('running_var')) state.set(name, r((u) => 0.5 + u));
    else if (/(bn\d|downsample\.1|head\.[26])\.weight$/.test(name)) state.set(name, r((u) => 0.8 + 0.4 * u));
    else if (/(bn\d|downsample\.1|head\.[26])\.bias$/.test(name)) state.set(name, r((u) => (u - 0.5) * 0.2));
    else if (name === 'head.8.weight') state.set(name, tf.mul(t, 0.2));
    else if (name.endsWith('.bias')) state.set(name, r((u) => (u - 0.5) * 0.1));
    if (state.has(name)) t.dispose();
    else state.set(name, t);
  }
  model.loadStateDict(state);
  for (const t of state.values()) t.dispose();
  return new Learner({ data: opts.data ?? makeFakeData({ size: opts.size, c: opts.c, nTrain: 8, nValid: 4 }), model, path: opts.dir });
}

/** PNGs of different sizes and aspect ratios (so resize and centre crop both happen). */
export async function writeTestImages(dir: string, n: number, seed: number): Promise<string[]> {
  const sharp = (await import('sharp')).default;
  const rand = seededRandom(seed);
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = 40 + i * 13;
    const h = 30 + i * 7;
    const raw = Buffer.alloc(w * h * 3);
    for (let k = 0; k < raw.length; k++) raw[k] = Math.floor(rand() * 256);
    const f = path.join(dir, `img_${i}.png`);
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(f);
    files.push(f);
  }
  return files;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.json': 'application/json', '.js': 'text/javascript', '.bin': 'application/octet-stream', '.png': 'image/png', '.wasm': 'application/wasm' };

/** Serves files under the given roots (url /<mount>/<file>) on 127.0.0.1; resolves to its base URL. */
export async function serveStatic(mounts: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const { origin, close } = await listenLocal((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [, mount, ...rest] = url.pathname.split('/');
    const root = mounts[mount ?? ''];
    const file = root ? path.resolve(root, ...rest.map(decodeURIComponent)) : '';
    if (!root || !file.startsWith(path.resolve(root) + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return { url: origin, close };
}
