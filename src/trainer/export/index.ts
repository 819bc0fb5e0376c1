// Export a learner in one of the formats (native, onnx, tfjs) with its model card, and load any of
// them back for prediction. Folder safety (manifest, staging, crash-safe swap) lives in ./folder.
import * as path from 'path';
import type { ExportFormat, ExportResult } from '../../protocol/export';
import type { Learner } from '../learner';
import type { SplitDataset } from '../data/types';
import type { EpochRecord } from '../../protocol/runs';
import { defaultExportDirName } from '../../protocol/export';
import { exportModel, loadExported } from '../learner/export';
import { readOwnedFiles } from './folder';
import { promises as fs } from 'fs';
import { tf } from '../backend';
import { LearnerError } from '../learner/errors';
import { writeModelCard, type CardSource } from './card';
import { writeExportFolder } from './folder';

export { checkExportTarget, recoverExportFolder, readExportManifest } from './folder';
export { loadAnyExport, type AnyPredictor } from './load';

/** What an export needs from a learner: the model, the classes, preprocessing and what the card tells. */
export interface ExportableLearner {
  model: Learner['model'];
  data: { classes: string[]; dataset?: Pick<SplitDataset, 'train' | 'valid'> };
  preprocessing: Learner['preprocessing'];
  recorder?: { epochs: EpochRecord[] };
}

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
  const ds = learner.data.dataset;
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

/**
 * `image-trainer export --model RUN_DIR`: re-export a run's native export (RUN_DIR/export, or
 * RUN_DIR itself when it is one) in another format, with the run's metrics.json in the card.
 */
export async function exportRun(runDir: string, opts: { format: ExportFormat; out?: string }): Promise<ExportResult> {
  const given = path.resolve(runDir);
  const source = (await readOwnedFiles(given)) ? given : path.join(given, defaultExportDirName('native'));
  const home = source === given ? path.dirname(given) : given;
  const exported = await loadExported(source);
  try {
    const epochs = await readRunEpochs(path.join(home, 'metrics.json'));
    return await exportLearner(
      { model: exported.model, data: { classes: exported.classes }, preprocessing: exported.preprocessing, recorder: { epochs } },
      { dir: opts.out ?? path.join(home, defaultExportDirName(opts.format)), format: opts.format },
    );
  } finally {
    exported.dispose();
  }
}

/** The epochs of a CLI run's metrics.json (snake_case), or none when it is missing or unreadable. */
async function readRunEpochs(file: string): Promise<EpochRecord[]> {
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > 16 << 20) return [];
    const m = JSON.parse(await fs.readFile(file, 'utf8')) as { epochs?: Record<string, unknown>[] };
    const n = (v: unknown) => (typeof v === 'number' ? v : null);
    return (m.epochs ?? []).map((e, i) => ({
      epoch: n(e.epoch) ?? i,
      trainLoss: n(e.train_loss) ?? NaN,
      validLoss: n(e.valid_loss),
      errorRate: n(e.error_rate),
      accuracy: n(e.accuracy),
      seconds: n(e.seconds) ?? 0,
      trainImagesPerSecond: 0,
    }));
  } catch {
    return [];
  }
}

export function assertFormat(format: string): asserts format is ExportFormat {
  if (!['native', 'onnx', 'tfjs'].includes(format)) throw new LearnerError(`Unknown export format '${format}'`, { fix: 'Use onnx, tfjs or native' });
}
