// Child process for the kill-at-random-points test: exports a tiny model to argv[2] over and over
// (a new seed each time) until it is killed, printing "exported <seed>" after each complete export.
import { tf } from '../../src/trainer/backend';
import { exportModel } from '../../src/trainer/learner/export';
import { createTinyModel } from './tiny-model';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const dir = process.argv[2]!;
  const classes = ['a', 'b', 'c'];
  for (let seed = Number(process.argv[3] ?? 1); ; seed++) {
    const model = createTinyModel({ numClasses: classes.length, ps: [0, 0], seed, width: 16, hidden: 64 });
    await exportModel(dir, { model, data: { classes }, preprocessing: { size: 16, normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, method: 'crop' } });
    model.dispose();
    process.stdout.write(`exported ${seed}\n`);
  }
}

void main();
