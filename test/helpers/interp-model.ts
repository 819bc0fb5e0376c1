// A tiny ClassifierModel for interpretation tests: two 3×3 convs (the second with stride 2) as the
// "body" whose output Grad-CAM looks at, and a fastai-style concat-pool head (avg ‖ max → linear).
// Plus a synthetic task: coloured squares on a noisy dark background, class = the square's colour.
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { ClassifierModel, ModelConfig, ModelParam } from '../../src/trainer/models/types';
import { seededRandom } from './seeded-random';

export { seededRandom };

export class TinyCamModel implements ClassifierModel {
  readonly config: ModelConfig;
  readonly params: ModelParam[];
  readonly buffers = new Map<string, tf.Tensor>();
  readonly layerGroupCount = 3;

  constructor(numClasses: number, seed = 1, width = 8) {
    this.config = { arch: 'resnet18', numClasses, ps: [0.25, 0.5] };
    const init = (shape: number[], fanIn: number, s: number) => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed + s);
    const v = (name: string, t: tf.Tensor, group: number): ModelParam => ({ name, variable: tf.variable(t, true, `${name}_${seed}_${Math.random()}`), group, isBn: false });
    this.params = [
      v('body.conv1.weight', init([3, 3, 3, width], 27, 0), 0),
      v('body.conv1.bias', tf.zeros([width]), 0),
      v('body.conv2.weight', init([3, 3, width, width], 9 * width, 1), 1),
      v('body.conv2.bias', tf.zeros([width]), 1),
      v('head.weight', init([2 * width, numClasses], 2 * width, 2), 2),
      v('head.bias', tf.zeros([numClasses]), 2),
    ];
  }

  private p(name: string): tf.Variable {
    return this.params.find((q) => q.name === name)!.variable;
  }

  features(x: tf.Tensor4D, _training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.conv2d(x, this.p('body.conv1.weight') as tf.Tensor4D, 1, 'same'), this.p('body.conv1.bias'))) as tf.Tensor4D;
      return tf.relu(tf.add(tf.conv2d(h, this.p('body.conv2.weight') as tf.Tensor4D, 2, 'same'), this.p('body.conv2.bias'))) as tf.Tensor4D;
    });
  }

  head(f: tf.Tensor4D, _training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = tf.concat([tf.max(f, [1, 2]), tf.mean(f, [1, 2])], 1) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, this.p('head.weight') as tf.Tensor2D), this.p('head.bias')) as tf.Tensor2D;
    });
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => this.head(this.features(x, training), training));
  }

  commitBatchStats(): void {}

  stateDict(): Map<string, tf.Tensor> {
    return new Map(this.params.map((q) => [q.name, q.variable.clone()]));
  }

  loadStateDict(state: Map<string, tf.Tensor>): void {
    for (const q of this.params) {
      const t = state.get(q.name);
      if (t) q.variable.assign(t);
    }
  }

  dispose(): void {
    for (const q of this.params) q.variable.dispose();
  }
}

export const SQUARE_COLOURS: [number, number, number][] = [
  [1, 0.15, 0.1], // class 0: red
  [0.1, 0.2, 1], // class 1: blue
  [0.1, 0.85, 0.2], // class 2: green
];

export interface Square {
  cls: number;
  top: number;
  left: number;
}

/** One image as 0..1 RGB floats, size×size×3: dark noise plus the given squares. */
export function drawSquares(size: number, squares: Square[], side: number, rand: () => number): Float32Array {
  const x = new Float32Array(size * size * 3);
  for (let i = 0; i < x.length; i++) x[i] = 0.15 * rand();
  for (const s of squares) {
    for (let r = s.top; r < s.top + side; r++) {
      for (let c = s.left; c < s.left + side; c++) {
        for (let ch = 0; ch < 3; ch++) x[(r * size + c) * 3 + ch] = SQUARE_COLOURS[s.cls][ch];
      }
    }
  }
  return x;
}

export function randomSquare(size: number, side: number, cls: number, rand: () => number): Square {
  return { cls, top: Math.floor(rand() * (size - side + 1)), left: Math.floor(rand() * (size - side + 1)) };
}

/** Saves 0..1 RGB floats (size×size×3) as a PNG, scaled up `scale`× with nearest neighbour. */
export async function writeRgbPng(file: string, x: Float32Array, size: number, scale = 1): Promise<void> {
  const s = size * scale;
  const px = Buffer.alloc(s * s * 3);
  for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) for (let ch = 0; ch < 3; ch++) {
    px[(r * s + c) * 3 + ch] = Math.round(255 * x[(Math.floor(r / scale) * size + Math.floor(c / scale)) * 3 + ch]);
  }
  await sharp(px, { raw: { width: s, height: s, channels: 3 } }).png().toFile(file);
}

/** Trains the model on one-square images (class = colour) with Adam; returns the final batch loss. */
export function trainOnSquares(model: TinyCamModel, opts: { size: number; side: number; steps: number; bs: number; seed: number }): number {
  const rand = seededRandom(opts.seed);
  const optimizer = tf.train.adam(0.02);
  let last = Infinity;
  for (let step = 0; step < opts.steps; step++) {
    const xs = new Float32Array(opts.bs * opts.size * opts.size * 3);
    const ys: number[] = [];
    for (let i = 0; i < opts.bs; i++) {
      const cls = i % model.config.numClasses;
      xs.set(drawSquares(opts.size, [randomSquare(opts.size, opts.side, cls, rand)], opts.side, rand), i * opts.size * opts.size * 3);
      ys.push(cls);
    }
    last = tf.tidy(() => {
      const x = tf.tensor4d(xs, [opts.bs, opts.size, opts.size, 3]);
      const y = tf.oneHot(tf.tensor1d(ys, 'int32'), model.config.numClasses);
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.forward(x, true)) as tf.Scalar, true, model.params.map((p) => p.variable));
      return loss ? loss.dataSync()[0] : NaN;
    });
  }
  optimizer.dispose();
  return last;
}
