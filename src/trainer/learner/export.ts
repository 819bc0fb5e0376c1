// learn.export / load_learner: a self-contained inference model in tfjs format — model.json
// (weightsManifest + arch, classes and preprocessing in userDefinedMetadata) and weights.bin.
import { tf } from '../backend';
import { promises as fs } from 'fs';
import * as path from 'path';
import type { ClassifierModel, ModelConfig } from '../models/types';
import type { PredictResult } from './types';
import { LearnerError } from './errors';
import { loadImageTensorData } from './preprocess';
import { describeIssues, Preprocessing, PREPROCESSING_FIX } from '../../protocol/preprocessing';
import { disposeState, snapshotState } from './state';
import { recoverExportFolder, writeExportFolder } from '../export/folder';
import { MAX_TEXT_BYTES, MAX_WEIGHTS_BYTES, readFileBounded, readTextBounded, UnsafeFileError } from '../io/bounded-read';
import { confineToRoot } from '../io/confine';
import { ARCHS } from '../../protocol/arch';

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
    preprocessing: Preprocessing.parse(src.preprocessing),
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

interface ModelJson {
  userDefinedMetadata?: ExportMetadata;
  weightsManifest?: unknown;
}

/** model.json is untrusted: its metadata and weights manifest are checked before anything is built from them. */
function metadataProblem(meta: ExportMetadata, manifest: unknown): string | null {
  const m = meta.model as Partial<ModelConfig> | undefined;
  if (!m || !(ARCHS as readonly string[]).includes(String(m.arch))) return `model.arch ${JSON.stringify(m?.arch)} is not one of ${ARCHS.join(', ')}`;
  if (!Array.isArray(meta.classes) || meta.classes.length < 1 || !meta.classes.every((c) => typeof c === 'string')) return 'classes is not a list of names';
  if (m.numClasses !== meta.classes.length) return `${meta.classes.length} classes but the model has ${String(m.numClasses)} outputs`;
  if (!Array.isArray(m.ps) || m.ps.length !== 2 || !m.ps.every((x) => typeof x === 'number' && x >= 0 && x < 1)) return 'model.ps is not two dropout probabilities in [0, 1)';
  const pre = Preprocessing.safeParse(meta.preprocessing);
  if (!pre.success) return describeIssues(pre.error, 'preprocessing');
  if (!Array.isArray(manifest) || !manifest.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) return 'weightsManifest is not a list of {paths, weights}';
  let values = 0;
  for (const g of manifest as { weights: unknown[] }[]) {
    for (const w of g.weights as { name?: unknown; shape?: unknown; dtype?: unknown }[]) {
      if (typeof w?.name !== 'string' || (w.dtype !== 'float32' && w.dtype !== 'int32') || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0 && d <= 1 << 24)) {
        return `weight entry ${JSON.stringify(w?.name ?? w)} has no float32 or int32 shape`;
      }
      values += (w.shape as number[]).reduce((a, b) => a * b, 1);
      if (values * 4 > MAX_WEIGHTS_BYTES) return `weight entry ${JSON.stringify(w.name)} takes the weights past the ${MAX_WEIGHTS_BYTES / 2 ** 30} GiB limit`;
    }
  }
  return null;
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
  let modelJson: ModelJson;
  try {
    modelJson = JSON.parse(await readTextBounded(jsonFile, { maxBytes: MAX_TEXT_BYTES, what: 'model.json' })) as ModelJson;
  } catch (err) {
    if (err instanceof UnsafeFileError) {
      throw new LearnerError(err.code === 'ENOENT' ? `No exported model at ${jsonFile}` : err.message, {
        file: jsonFile,
        fix: err.code === 'ENOENT' ? 'Point to a folder written by learn.export() (it holds model.json and weights.bin)' : err.fix ?? 'Point to a folder written by learn.export()',
      });
    }
    throw new LearnerError(`${jsonFile} is not valid JSON (${(err as Error).message})`, { file: jsonFile, fix: 'Export the model again with Image Trainer' });
  }
  const meta = modelJson?.userDefinedMetadata;
  if (!meta || meta.format !== EXPORT_FORMAT) {
    throw new LearnerError(`${jsonFile} is not an Image Trainer export`, { file: jsonFile, fix: 'Export the model with learn.export() or `image-trainer train --out DIR`' });
  }
  const bad = metadataProblem(meta, modelJson.weightsManifest);
  if (bad) {
    const fix = bad.startsWith('preprocessing') ? PREPROCESSING_FIX : 'It was not written by Image Trainer or was altered; export the model again';
    throw new LearnerError(`${jsonFile} has invalid metadata (${bad})`, { file: jsonFile, fix });
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  let total = 0;
  for (const group of modelJson.weightsManifest as tf.io.WeightsManifestConfig) {
    for (const p of group.paths) {
      if (typeof p !== 'string' || p !== path.basename(p) || p.startsWith('.')) {
        throw new LearnerError(`${jsonFile} names a weights file outside its folder (${JSON.stringify(p)})`, { file: jsonFile, fix: 'Use an export written by Image Trainer; its weights files sit beside model.json' });
      }
      // A link inside the export may not lead out of it; FIFOs, devices and huge files fail at once.
      const f = confineToRoot(dir, p, { rootName: 'the export folder', fix: 'Use an export written by Image Trainer; its weights files sit beside model.json (not links to elsewhere)' });
      const buf = await readFileBounded(f, { maxBytes: MAX_WEIGHTS_BYTES - total, what: 'weights file' }).catch((err: unknown) => {
        if (err instanceof UnsafeFileError && err.code === 'ENOENT') {
          throw new LearnerError(`The export is missing ${f}`, { file: f, fix: 'Copy the whole export folder (model.json and weights.bin)' });
        }
        throw err;
      });
      total += buf.length;
      buffers.push(buf);
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  let named: tf.NamedTensorMap;
  try {
    named = tf.io.decodeWeights(ab, specs);
  } catch (err) {
    throw new LearnerError(`${jsonFile} does not describe its weights file (${(err as Error).message})`, { file: jsonFile, fix: 'The weights file is truncated or does not belong to this model.json: copy the whole export folder again, or export again' });
  }
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0); // float32 and int32: 4 bytes each
  if (expected !== all.length) {
    tf.dispose(Object.values(named));
    throw new LearnerError(`The weights of ${jsonFile} are ${all.length} bytes but its manifest describes ${expected}`, { file: jsonFile, fix: 'The weights file is truncated or does not belong to this model.json: copy the whole export folder again, or export again' });
  }
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
  // checked above; the parse fills what older exports left out (method: the centre crop)
  const pre = Preprocessing.parse(meta.preprocessing);
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
