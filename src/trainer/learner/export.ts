// learn.export / load_learner: a self-contained inference model in tfjs format — model.json
// (weightsManifest + arch, classes and preprocessing in userDefinedMetadata) and weights.bin.
import { tf } from '../backend';
import { promises as fs } from 'fs';
import * as path from 'path';
import type { ClassifierModel, ModelConfig } from '../models/types';
import type { PredictResult } from './types';
import { LearnerError } from './errors';
import { loadImageTensorData, type Preprocessing } from './preprocess';
import { disposeState, snapshotState } from './state';
import { recoverExportFolder, writeExportFolder } from '../export/folder';

export const EXPORT_FORMAT = 'image-trainer-classifier';

export interface ExportSource {
  model: ClassifierModel;
  data: { classes: string[] };
  preprocessing: Preprocessing;
}

export interface ExportMetadata {
  format: typeof EXPORT_FORMAT;
  version: 1;
  arch: ModelConfig['arch'];
  model: ModelConfig;
  classes: string[];
  preprocessing: Preprocessing;
  exportedAt: string;
}

/**
 * Writes dir/model.json and dir/weights.bin (plus the export manifest, and extraFiles such as the
 * model card); a previous export at dir is replaced whole, anything else there is refused.
 */
export async function exportModel(dir: string, src: ExportSource, opts: { extraFiles?: (staging: string) => Promise<string[]> } = {}): Promise<string> {
  const target = path.resolve(dir);
  const state = snapshotState(src.model);
  let encoded: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  try {
    const named: tf.NamedTensorMap = {};
    for (const [k, v] of state) named[k] = v;
    encoded = await tf.io.encodeWeights(named);
  } finally {
    disposeState(state);
  }
  const meta: ExportMetadata = {
    format: EXPORT_FORMAT,
    version: 1,
    arch: src.model.config.arch,
    model: src.model.config,
    classes: src.data.classes,
    preprocessing: src.preprocessing,
    exportedAt: new Date().toISOString(),
  };
  const modelJson = {
    format: EXPORT_FORMAT,
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core}`,
    convertedBy: 'image-trainer',
    modelTopology: { arch: meta.arch, numClasses: meta.model.numClasses, ps: meta.model.ps },
    weightsManifest: [{ paths: ['weights.bin'], weights: encoded.specs }],
    userDefinedMetadata: meta,
  };
  await writeExportFolder(target, 'native', async (staging) => {
    await fs.writeFile(path.join(staging, 'weights.bin'), new Uint8Array(encoded.data));
    await fs.writeFile(path.join(staging, 'model.json'), JSON.stringify(modelJson, null, 1));
    return ['model.json', 'weights.bin', ...(opts.extraFiles ? await opts.extraFiles(staging) : [])];
  });
  return target;
}

export type ModelFactory = (opts: { arch: ModelConfig['arch']; numClasses: number; ps: [number, number]; seed: number }) =>
  ClassifierModel | Promise<ClassifierModel>;

export interface ExportedPredictor {
  readonly classes: string[];
  readonly preprocessing: Preprocessing;
  readonly model: ClassifierModel;
  predict(image: string | Buffer): Promise<PredictResult>;
  dispose(): void;
}

function defaultFactory(): ModelFactory {
  const models = require('../models') as { createModel?: ModelFactory };
  if (!models.createModel) throw new LearnerError('The model library (src/trainer/models) has no createModel', { fix: 'Rebuild the project' });
  return models.createModel;
}

/** Reads an export folder (or its model.json) and returns a predictor. */
export async function loadExported(dirOrFile: string, opts: { createModel?: ModelFactory } = {}): Promise<ExportedPredictor> {
  const jsonFile = dirOrFile.endsWith('.json') ? dirOrFile : path.join(await recoverExportFolder(dirOrFile), 'model.json');
  const dir = path.dirname(jsonFile);
  let modelJson: any;
  try {
    modelJson = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new LearnerError(e.code === 'ENOENT' ? `No exported model at ${jsonFile}` : `Could not read ${jsonFile}: ${e.message}`, {
      file: jsonFile,
      fix: 'Point to a folder written by learn.export() (it holds model.json and weights.bin)',
    });
  }
  const meta = modelJson?.userDefinedMetadata as ExportMetadata | undefined;
  if (!meta || meta.format !== EXPORT_FORMAT) {
    throw new LearnerError(`${jsonFile} is not an Image Trainer export`, { file: jsonFile, fix: 'Export the model with learn.export() or `image-trainer train --out DIR`' });
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of modelJson.weightsManifest as tf.io.WeightsManifestConfig) {
    for (const p of group.paths) {
      if (typeof p !== 'string' || p !== path.basename(p) || p.startsWith('.')) {
        throw new LearnerError(`${jsonFile} names a weights file outside its folder (${JSON.stringify(p)})`, { file: jsonFile, fix: 'Use an export written by Image Trainer; its weights files sit beside model.json' });
      }
      const f = path.join(dir, p);
      buffers.push(await fs.readFile(f).catch(() => {
        throw new LearnerError(`The export is missing ${f}`, { file: f, fix: 'Copy the whole export folder (model.json and weights.bin)' });
      }));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const named = tf.io.decodeWeights(ab, specs);
  const factory = opts.createModel ?? defaultFactory();
  const model = await factory({ arch: meta.model.arch, numClasses: meta.model.numClasses, ps: meta.model.ps, seed: 0 });
  const state = new Map(Object.entries(named));
  try {
    model.loadStateDict(state, { strict: true });
  } catch (err) {
    model.dispose();
    throw new LearnerError(`${jsonFile} does not match a ${meta.arch} with ${meta.classes.length} classes: ${(err as Error).message}`, {
      file: jsonFile,
      fix: 'Re-export the model with this version of Image Trainer',
    });
  } finally {
    disposeState(state);
  }
  const pre = meta.preprocessing;
  return {
    classes: meta.classes,
    preprocessing: pre,
    model,
    async predict(image: string | Buffer): Promise<PredictResult> {
      const x = await loadImageTensorData(image, pre);
      const probsT = tf.tidy(() => tf.softmax(model.forward(tf.tensor4d(x, [1, pre.size, pre.size, 3]), false)));
      const probs = Array.from(await probsT.data());
      probsT.dispose();
      let index = 0;
      for (let i = 1; i < probs.length; i++) if (probs[i] > probs[index]) index = i;
      return { className: meta.classes[index], index, probs };
    },
    dispose() {
      model.dispose();
    },
  };
}
