// Load any export folder (native, ONNX, TF.js graph model) for prediction: ONNX through
// onnxruntime-node, the graph model through tf.loadGraphModel, native through loadExported.
// The folder is untrusted: only plain files beside the manifest are read, each under a size limit.
import { promises as fs } from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { ExportFormat } from '../../protocol/export';
import { LearnerError } from '../learner/errors';
import { loadExported, type ModelFactory } from '../learner/export';
import { loadImageTensorData } from '../learner/preprocess';
import { describeIssues, Preprocessing, PREPROCESSING_FIX } from '../../protocol/preprocessing';
import type { PredictResult } from '../learner/types';
import { readExportManifest, recoverExportFolder } from './folder';
import { ONNX_FILE, ONNX_INPUT, ONNX_OUTPUT } from './onnx';
import { TFJS_METADATA, TFJS_MODEL, TFJS_OUTPUT } from './tfjs-graph';
import { readFileBounded } from '../io/bounded-read';

const MAX_MODEL_BYTES = 2 ** 31 - 1;
const MAX_JSON_BYTES = 64 << 20;

export interface AnyPredictor {
  readonly format: ExportFormat;
  readonly classes: string[];
  readonly preprocessing: Preprocessing;
  predict(image: string | Buffer): Promise<PredictResult>;
  dispose(): void;
}

export async function detectExportFormat(dir: string): Promise<ExportFormat> {
  const manifest = await readExportManifest(dir);
  if (manifest) return manifest.modelFormat;
  if (await isFile(path.join(dir, ONNX_FILE))) return 'onnx';
  const json = await readBoundedJson(path.join(dir, TFJS_MODEL)).catch(() => null);
  if ((json as { format?: string } | null)?.format === 'graph-model') return 'tfjs';
  return 'native';
}

export async function loadAnyExport(dirOrFile: string, opts: { createModel?: ModelFactory } = {}): Promise<AnyPredictor> {
  const given = path.resolve(dirOrFile);
  const isOnnxFile = given.endsWith('.onnx');
  const dir = isOnnxFile || given.endsWith('.json') ? path.dirname(given) : await recoverExportFolder(given);
  const format = isOnnxFile ? 'onnx' : await detectExportFormat(dir);
  if (format === 'onnx') return loadOnnx(isOnnxFile ? given : path.join(dir, ONNX_FILE));
  if (format === 'tfjs') return loadGraph(dir);
  const p = await loadExported(given.endsWith('.json') ? given : dir, opts);
  return { format: 'native', classes: p.classes, preprocessing: p.preprocessing, predict: (img) => p.predict(img), dispose: () => p.dispose() };
}

const IDENTITY_NORM: Preprocessing['normalize'] = { mean: [0, 0, 0], std: [1, 1, 1] };

/** The exported graphs take RGB in [0, 1] and normalise themselves. */
function rawInput(pre: Preprocessing): Preprocessing {
  return { ...pre, normalize: IDENTITY_NORM };
}

/** A model folder's preprocessing is untrusted: checked, and a missing method read as the centre crop. */
function checkedPreprocessing(value: unknown, file: string, what: string): Preprocessing {
  const parsed = Preprocessing.safeParse(value);
  if (!parsed.success) throw new LearnerError(`${file} has invalid ${what} (${describeIssues(parsed.error, 'preprocessing')})`, { file, fix: PREPROCESSING_FIX });
  return parsed.data;
}

function result(probs: number[], classes: string[]): PredictResult {
  let index = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[index]!) index = i;
  return { className: classes[index] ?? String(index), index, probs };
}

async function loadOnnx(file: string): Promise<AnyPredictor> {
  const bytes = await readBounded(file, MAX_MODEL_BYTES);
  const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
  let meta: Record<string, string>;
  try {
    const m = onnx.ModelProto.decode(bytes);
    meta = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  } catch (err) {
    throw new LearnerError(`${file} is not an ONNX model: ${(err as Error).message}`, { file, fix: 'Export the model again with `image-trainer export --format onnx`' });
  }
  const classes = parseJson<string[]>(meta.classes, file, 'classes');
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) {
    throw new LearnerError(`${file} has no valid class list in its metadata`, { file, fix: 'Export the model with Image Trainer (its metadata_props hold classes and preprocessing)' });
  }
  const preprocessing = checkedPreprocessing(parseJson<unknown>(meta.preprocessing, file, 'preprocessing'), file, 'its preprocessing metadata');
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes).catch((err: Error) => {
    throw new LearnerError(`onnxruntime cannot load ${file}: ${err.message}`, { file, fix: 'Export the model again with `image-trainer export --format onnx`' });
  });
  const size = preprocessing.size;
  return {
    format: 'onnx',
    classes,
    preprocessing,
    async predict(image) {
      const hwc = await loadImageTensorData(image, rawInput(preprocessing));
      const chw = new Float32Array(hwc.length);
      const plane = size * size;
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) chw[c * plane + i] = hwc[i * 3 + c]!;
      const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', chw, [1, 3, size, size]) });
      return result(Array.from(out[ONNX_OUTPUT]!.data as Float32Array), classes);
    },
    dispose() {
      void session.release();
    },
  };
}

/** tf.loadGraphModel on the folder's model.json and weights (read from disk, names confined to the folder). */
export async function loadGraphModelFromDir(dir: string): Promise<{ model: GraphModel; modelJson: Record<string, any> }> {
  const jsonFile = path.join(dir, TFJS_MODEL);
  const modelJson = (await readBoundedJson(jsonFile)) as Record<string, any>;
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of (modelJson.weightsManifest ?? []) as tf.io.WeightsManifestConfig) {
    for (const p of group.paths) {
      if (typeof p !== 'string' || p !== path.basename(p) || p.startsWith('.')) {
        throw new LearnerError(`${jsonFile} names a weights file outside its folder (${JSON.stringify(p)})`, { file: jsonFile, fix: 'Use an export written by Image Trainer' });
      }
      buffers.push(await readBounded(path.join(dir, p), MAX_MODEL_BYTES));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const model = await loadGraphModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData, format: modelJson.format })).catch((err: Error) => {
    throw new LearnerError(`TensorFlow.js cannot load ${jsonFile}: ${err.message}`, { file: jsonFile, fix: 'Export the model again with `image-trainer export --format tfjs`' });
  });
  return { model, modelJson };
}

async function loadGraph(dir: string): Promise<AnyPredictor> {
  const metaFile = path.join(dir, TFJS_METADATA);
  const meta = (await readBoundedJson(metaFile)) as { labels?: unknown; imageSize?: unknown; preprocessing?: unknown };
  const classes = meta.labels as string[];
  const size = meta.imageSize as number;
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string') || !Number.isInteger(size) || size < 8 || size > 1024) {
    throw new LearnerError(`${metaFile} has no valid labels or imageSize`, { file: metaFile, fix: 'Export the model with Image Trainer (metadata.json lists labels and imageSize)' });
  }
  // exports before the preprocessing was recorded here: size and centre crop; the graph normalises itself
  const recorded = checkedPreprocessing(meta.preprocessing ?? { size, normalize: IDENTITY_NORM }, metaFile, 'its preprocessing');
  if (recorded.size !== size) {
    throw new LearnerError(`${metaFile} says imageSize ${size} but preprocessing.size ${recorded.size}`, { file: metaFile, fix: 'Export the model again with Image Trainer' });
  }
  const { model } = await loadGraphModelFromDir(dir);
  const preprocessing = rawInput(recorded);
  return {
    format: 'tfjs',
    classes,
    preprocessing,
    async predict(image) {
      const x = await loadImageTensorData(image, preprocessing);
      const probsT = tf.tidy(() => model.execute(tf.tensor4d(x, [1, size, size, 3]), `${TFJS_OUTPUT}`) as tf.Tensor);
      const probs = Array.from(await probsT.data());
      probsT.dispose();
      return result(probs, classes);
    },
    dispose() {
      model.dispose();
    },
  };
}

async function isFile(p: string): Promise<boolean> {
  return fs.lstat(p).then((s) => s.isFile(), () => false);
}

async function readBounded(file: string, max: number): Promise<Buffer> {
  const st = await fs.lstat(file).catch(() => null);
  if (!st) throw new LearnerError(`The export is missing ${file}`, { file, fix: 'Copy the whole export folder' });
  if (!st.isFile()) throw new LearnerError(`${file} is not a regular file`, { file, fix: 'Use an export folder written by Image Trainer' });
  return readFileBounded(file, { maxBytes: max, what: 'export file' });
}

async function readBoundedJson(file: string): Promise<unknown> {
  const text = (await readBounded(file, MAX_JSON_BYTES)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LearnerError(`${file} is not valid JSON: ${(err as Error).message}`, { file, fix: 'Export the model again' });
  }
}

function parseJson<T>(text: string | undefined, file: string, key: string): T {
  try {
    return JSON.parse(text ?? 'null') as T;
  } catch {
    throw new LearnerError(`${file} has unreadable ${key} metadata`, { file, fix: 'Export the model again with Image Trainer' });
  }
}
