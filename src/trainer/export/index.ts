// Export a learner in one of the formats (native, onnx, tfjs) with its model card, and load any of
// them back for prediction. Folder safety (manifest, staging, crash-safe swap) lives in ./folder.
import * as path from 'path';
import type { ExportFormat, ExportResult } from '../../protocol/export';
import type { Learner } from '../learner';
import { tf } from '../backend';
import { LearnerError } from '../learner/errors';
import { exportModel } from '../learner/export';
import { writeModelCard, type CardSource } from './card';
import { writeExportFolder } from './folder';

export { checkExportTarget, recoverExportFolder, readExportManifest } from './folder';
export { loadAnyExport, type AnyPredictor } from './load';

/** What an export needs from a learner: the model, the classes, preprocessing and what the card tells. */
export type ExportableLearner = Pick<Learner, 'model' | 'data' | 'preprocessing'> & { recorder?: Learner['recorder'] };

export async function exportLearner(learner: ExportableLearner, opts: { dir: string; format: ExportFormat }): Promise<ExportResult> {
  const dir = path.resolve(opts.dir);
  const card = cardSource(learner, opts.format);
  const writeCard = async (staging: string) => [await writeModelCard(staging, card)];
  if (opts.format === 'native') {
    await exportModel(dir, learner, { extraFiles: writeCard });
    return { dir, format: 'native', files: ['model.json', 'weights.bin', 'README.md'] };
  }
  const { buildInferenceGraph } = require('./graph') as typeof import('./graph');
  const graph = buildInferenceGraph(learner.model, learner.preprocessing);
  const manifest = await writeExportFolder(dir, opts.format, async (staging) => {
    const files =
      opts.format === 'onnx'
        ? await (require('./onnx') as typeof import('./onnx')).writeOnnx(staging, graph, card)
        : await (require('./tfjs-graph') as typeof import('./tfjs-graph')).writeTfjsGraphModel(staging, graph, card);
    return [...files, ...(await writeCard(staging))];
  });
  return { dir, format: opts.format, files: manifest.files.map((f) => f.name) };
}

function cardSource(learner: ExportableLearner, format: ExportFormat): CardSource {
  const ds = (learner.data as Partial<Learner['data']>).dataset;
  const counts = ds
    ? learner.data.classes.map((name, i) => ({
        name,
        train: countOf(ds.train.y, i),
        valid: countOf(ds.valid.y, i),
      }))
    : null;
  const epochs = learner.recorder?.epochs ?? [];
  return {
    format,
    arch: learner.model.config.arch,
    classes: learner.data.classes,
    preprocessing: learner.preprocessing,
    counts,
    lastEpoch: epochs.length ? epochs[epochs.length - 1]! : null,
    epochs: epochs.length,
    tfjsVersion: tf.version_core,
  };
}

function countOf(labels: ArrayLike<number>, i: number): number {
  let n = 0;
  for (let k = 0; k < labels.length; k++) if (labels[k] === i) n++;
  return n;
}

export function assertFormat(format: string): asserts format is ExportFormat {
  if (!['native', 'onnx', 'tfjs'].includes(format)) throw new LearnerError(`Unknown export format '${format}'`, { fix: 'Use onnx, tfjs or native' });
}
