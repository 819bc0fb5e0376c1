// A stand-in learner for interpretation tests: a real model, real image files, and getPreds done
// the way the learner does it (validation transform, softmax, per-item cross-entropy).
import * as tf from '@tensorflow/tfjs-core';
import type { ClassifierModel } from '../../src/trainer/models/types';
import type { Predictions } from '../../src/trainer/learner/types';
import { loadModelInput, type Normalization } from '../../src/trainer/interpret/image-input';

export class FileLearner {
  readonly data: { classes: string[]; size: number; normalize: Normalization };
  getPredsCalls = 0;

  constructor(
    readonly model: ClassifierModel,
    classes: string[],
    size: number,
    private readonly valid: { file: string; y: number }[],
  ) {
    this.data = { classes, size, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } };
  }

  async getPreds(_split: 'valid'): Promise<Predictions> {
    this.getPredsCalls++;
    const out: Predictions = { files: [], targets: [], probs: [], losses: [] };
    for (const { file, y } of this.valid) {
      const input = await loadModelInput(file, this.data.size, this.data.normalize);
      const probs = tf.tidy(() => tf.softmax(this.model.forward(tf.tensor4d(input.x, [1, input.size, input.size, 3]), false)).dataSync() as Float32Array);
      out.files.push(file);
      out.targets.push(y);
      out.probs.push(Float32Array.from(probs));
      out.losses.push(-Math.log(Math.max(probs[y], 1e-12)));
    }
    return out;
  }
}
