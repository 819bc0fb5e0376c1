// Export time of a 224 px resnet34 (issue 13's goal: under 10 s per format on this machine):
// building the folded graph, encoding and writing model.onnx / the graph model, the folder swap.
// Reference in the same run: the native export (encodeWeights + write) of the same model.
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend } from '../src/trainer/backend';
import { createModel } from '../src/trainer/models';
import { exportLearner } from '../src/trainer/export';
import type { ExportFormat } from '../src/protocol/export';

async function main(): Promise<void> {
  await selectBackend({ prefer: 'cpu' });
  const model = createModel({ arch: 'resnet34', numClasses: 37, seed: 1 });
  const learner = {
    model,
    data: { classes: Array.from({ length: 37 }, (_, i) => `class_${i}`) },
    preprocessing: { size: 224, normalize: { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] }, method: 'crop' as const },
  };
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-export-'));
  const rows: string[] = [];
  try {
    for (const format of ['native', 'onnx', 'tfjs'] as ExportFormat[]) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await exportLearner(learner, { dir: path.join(tmp, format), format });
        times.push((performance.now() - t0) / 1000);
        if (i === 0) {
          let bytes = 0;
          for (const f of r.files) bytes += (await fs.stat(path.join(r.dir, f))).size;
          rows.push(`${format}: ${(bytes / 1e6).toFixed(1)} MB`);
        }
      }
      times.sort((a, b) => a - b);
      rows.push(`${format}: median ${times[1]!.toFixed(2)} s (runs ${times.map((t) => t.toFixed(2)).join(', ')})`);
    }
  } finally {
    model.dispose();
    await fs.rm(tmp, { recursive: true, force: true });
  }
  console.log(`resnet34, 224 px, 37 classes, ${os.cpus().length} cores`);
  for (const r of rows) console.log(r);
}

void main();
