// learn.export / load_learner: a self-contained inference model in tfjs format — model.json
// (weightsManifest + arch, classes and preprocessing in userDefinedMetadata) and weights.bin.
import { tf } from '../backend';
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { ClassifierModel, ModelConfig } from '../models/types';
import type { PredictResult } from './types';
import { LearnerError } from './errors';
import { loadImageTensorData, type Preprocessing } from './preprocess';
import { disposeState, snapshotState } from './state';

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

/** Writes dir/model.json and dir/weights.bin; an existing export at dir is replaced whole. */
export async function exportModel(dir: string, src: ExportSource): Promise<string> {
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
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const old = `${tmp}.old`;
  try {
    await fs.mkdir(tmp);
    await writeSynced(path.join(tmp, 'weights.bin'), new Uint8Array(encoded.data));
    await writeSynced(path.join(tmp, 'model.json'), JSON.stringify(modelJson, null, 1));
    // Swap the folders with renames so a reader never finds half an export.
    const hadOld = await fs.rename(target, old).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    });
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      if (hadOld) await fs.rename(old, target).catch(() => undefined);
      throw err;
    }
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw new LearnerError(`Could not export to ${target}: ${(err as Error).message}`, {
      file: target,
      fix: 'Check free disk space and write permission on that folder',
    });
  }
  return target;
}

async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const h = await fs.open(file, 'wx');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
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
  const jsonFile = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'model.json');
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
