// learn.save / learn.load: one safetensors file per checkpoint holding the model's weights and
// BatchNorm buffers, the AdamW state, and (as metadata) classes, data and model config.
import { tf } from '../backend';
import type { ClassifierModel, ModelConfig } from '../models/types';
import type { DataBunch } from '../data/types';
import type { AdamW } from './optimizer';
import { LearnerError } from './errors';
import { readSafetensors, writeSafetensors, SafetensorsError, type HostTensor, type SafetensorsFile, type WriteHooks } from '../io/safetensors';
import { disposeState, fromHost, snapshotState, toHost } from './state';
import { z } from 'zod';
import { DataOptions } from '../../protocol/requests';
import { TRANSFORM_KEYS, TransformSpec } from '../../protocol/dataset';
import { bunchSettings } from '../data/databunch';
import { UnsafeFileError } from '../io/bounded-read';

export const CHECKPOINT_FORMAT = 'image-trainer-checkpoint';
const MODEL = 'model/';
const EXP_AVG = 'opt/exp_avg/';
const EXP_AVG_SQ = 'opt/exp_avg_sq/';

/** What save() needs from a learner (kept narrow so tests can pass a stand-in). */
export interface CheckpointSource {
  model: ClassifierModel;
  data: DataBunch;
  opt: AdamW;
  frozenTo: number;
}

export interface CheckpointInfo {
  model: ModelConfig;
  classes: string[];
  size: number;
  bs: number;
  normalize: DataBunch['normalize'];
  rule: unknown;
  /** The run's item/batch transforms (missing in older checkpoints: the defaults, centre crop on validation). */
  transforms?: TransformSpec;
  frozenTo: number;
  hasOptimizer: boolean;
}

/** The transform settings a bunch was made with, as a checkpoint records them; undefined for a bunch not made by createDataBunch. */
export function transformsOf(data: DataBunch): TransformSpec | undefined {
  const p = bunchSettings(data)?.pipeline;
  return p && Object.fromEntries(TRANSFORM_KEYS.map((k) => [k, p[k]]));
}

/** What is wrong with a checkpoint name (it becomes models/<name>.safetensors), or null when it is fine. */
export function checkpointNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty';
  if (name.length > 200) return `it is ${name.length} characters long (at most 200)`;
  if (!/^[\w.-]+$/.test(name)) return 'only letters, digits, dot, dash and underscore may be used (no slashes or spaces)';
  if (name.startsWith('.')) return 'it starts with a dot (a hidden file)';
  return null;
}

/** Throws a LearnerError naming the value and the fix; `flag` is how the user gave it ('--save', 'name'). */
export function assertCheckpointName(name: string, flag = 'name'): void {
  const problem = checkpointNameProblem(name);
  if (problem) {
    throw new LearnerError(`Invalid checkpoint ${flag} '${name}': ${problem}`, { fix: 'Use a name of letters, digits, dot, dash and underscore, e.g. stage-1' });
  }
}

/** A diverged model (NaN/Inf weights) is never saved or exported as if it were good. */
export function assertFiniteWeights(model: ClassifierModel, target: string): void {
  for (const p of model.params) {
    const finite = tf.tidy(() => tf.all(tf.isFinite(p.variable)).dataSync()[0]);
    if (!finite) {
      throw new LearnerError(`Not writing ${target}: the weights of ${p.name} are NaN or infinite (training diverged)`, {
        file: target,
        fix: 'Train again with a lower learning rate, or load a checkpoint saved before the run diverged',
      });
    }
  }
}

export async function saveCheckpoint(file: string, src: CheckpointSource, hooks?: WriteHooks): Promise<void> {
  assertFiniteWeights(src.model, file);
  const weights = snapshotState(src.model);
  const opt = src.opt.getState();
  const tensors = new Map<string, HostTensor>();
  try {
    for (const [k, v] of await toHost(weights)) tensors.set(MODEL + k, v);
    for (const [k, v] of await toHost(opt.expAvg)) tensors.set(EXP_AVG + k, v);
    for (const [k, v] of await toHost(opt.expAvgSq)) tensors.set(EXP_AVG_SQ + k, v);
  } finally {
    disposeState(weights);
    disposeState(opt.expAvg);
    disposeState(opt.expAvgSq);
  }
  const info: CheckpointInfo = {
    model: src.model.config,
    classes: src.data.classes,
    size: src.data.size,
    bs: src.data.bs,
    normalize: src.data.normalize,
    rule: src.data.dataset.rule,
    transforms: transformsOf(src.data),
    frozenTo: src.frozenTo,
    hasOptimizer: opt.expAvg.size > 0,
  };
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: '1',
    info: JSON.stringify(info),
    optimizer: JSON.stringify({ kind: 'AdamW', steps: opt.steps, sqrMom: src.opt.sqrMom, eps: src.opt.eps, wd: src.opt.wd, bnWd: src.opt.bnWd }),
    savedAt: new Date().toISOString(),
  };
  try {
    await writeSafetensors(file, tensors, metadata, hooks);
  } catch (err) {
    throw new LearnerError(`Could not write ${file}: ${(err as Error).message}. The previous file, if any, is unchanged`, {
      file,
      fix: 'Check free disk space and write permission on that folder, then save again',
    });
  }
}

/** The checkpoint file's tensors and metadata, with read and format problems worded for learn.load. */
async function readCheckpointFile(file: string): Promise<SafetensorsFile> {
  try {
    return await readSafetensors(file);
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new LearnerError(err.message.replace('.safetensors file', 'checkpoint'), { file, fix: err.fix ?? 'Pass a checkpoint written by learn.save(name)' });
    if (!(err instanceof SafetensorsError)) throw err;
    if (err.code === 'ENOENT') {
      throw new LearnerError(`No checkpoint at ${file}`, { file, fix: 'Save one first (learn.save(name)) or check the name and the run folder' });
    }
    if (err.code === 'EACCES' || err.code === 'EPERM') throw new LearnerError(`Could not read ${file}: ${err.problem}`, { file, fix: `Make it readable (chmod u+r '${file}')` });
    if (err.code) throw new LearnerError(`Could not read ${file}: ${err.problem}`, { file, fix: 'Pass a checkpoint file written by learn.save(name)' });
    throw new LearnerError(`${file} is not a valid checkpoint (${err.problem})`, { file, fix: 'Delete it and save again from a trained learner' });
  }
}

export async function readCheckpointInfo(file: string): Promise<CheckpointInfo> {
  return parseInfo(file, (await readCheckpointFile(file)).metadata);
}

function parseInfo(file: string, metadata: Record<string, string>): CheckpointInfo {
  if (metadata.format !== CHECKPOINT_FORMAT || !metadata.info) {
    throw new LearnerError(`${file} is not an Image Trainer checkpoint`, {
      file,
      fix: 'Pass a file written by learn.save(name); pretrained torchvision weights go to --pretrained instead',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(metadata.info);
  } catch (err) {
    throw new LearnerError(`${file} has unreadable metadata (${(err as Error).message})`, { file, fix: 'Delete it and save again from a trained learner' });
  }
  const parsed = CheckpointInfoSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 4).map((i) => `${i.path.join('.') || 'info'}: ${i.message}`).join('; ');
    throw new LearnerError(`${file} has invalid metadata (${issues})`, { file, fix: 'It was not written by Image Trainer or was altered; delete it and save again from a trained learner' });
  }
  return parsed.data as CheckpointInfo;
}

// A checkpoint's stored settings are untrusted input: checked as the same values given as CLI flags would be.
const Finite = z.number().finite();
const CheckpointInfoSchema = z.object({
  model: z.object({ arch: z.enum(['resnet18', 'resnet34', 'resnet50']), numClasses: z.number().int().min(1).max(100_000), ps: z.tuple([Finite, Finite]) }),
  classes: z.array(z.string().min(1).max(1000)).min(1).max(100_000),
  size: DataOptions.shape.size.unwrap(),
  bs: DataOptions.shape.bs.unwrap(),
  normalize: z.object({ mean: z.tuple([Finite, Finite, Finite]), std: z.tuple([Finite.positive(), Finite.positive(), Finite.positive()]) }),
  rule: z.unknown(),
  transforms: TransformSpec.optional(),
  frozenTo: z.number().int().min(0).max(100),
  hasOptimizer: z.boolean(),
}).superRefine((info, ctx) => {
  if (new Set(info.classes).size !== info.classes.length) ctx.addIssue({ code: 'custom', path: ['classes'], message: 'class names repeat' });
  if (info.classes.length !== info.model.numClasses) ctx.addIssue({ code: 'custom', path: ['classes'], message: `${info.classes.length} classes but the model has ${info.model.numClasses} outputs` });
});

const OptimizerMetaSchema = z.object({ steps: z.record(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)) }).passthrough();

function parseOptimizerMeta(file: string, text: string | undefined): { steps: Record<string, number> } {
  if (!text) return { steps: {} };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = OptimizerMetaSchema.safeParse(json);
  if (!parsed.success) throw new LearnerError(`${file} has invalid optimiser state metadata`, { file, fix: 'Load it without the optimiser state (withOpt: false), or save again from a trained learner' });
  return parsed.data;
}

/** Every tensor's values must be finite: a diverged model is not loaded as if it were good. */
function assertFinite(file: string, tensors: Map<string, HostTensor>): void {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new LearnerError(`${file} holds non-finite values (NaN or Inf) in ${name}: it was saved from a diverged run`, {
          file,
          fix: 'Train again with a lower learning rate (e.g. a tenth of it) and save that model',
        });
      }
    }
  }
}

/** Optimiser moments must name saved weights and have their shapes. */
function assertOptMatches(file: string, weights: Map<string, HostTensor>, moments: Map<string, HostTensor>, what: string): void {
  for (const [name, m] of moments) {
    const w = weights.get(name);
    if (!w || w.shape.length !== m.shape.length || w.shape.some((d, i) => d !== m.shape[i])) {
      throw new LearnerError(`${file} has optimiser ${what} for '${name}' that does not match its weights`, {
        file,
        fix: 'Load it without the optimiser state (withOpt: false), or save again from a trained learner',
      });
    }
  }
}

/** Loads weights (and optimiser state unless withOpt is false) after checking arch and classes. */
export async function loadCheckpoint(file: string, dst: CheckpointSource, opts: { withOpt?: boolean } = {}): Promise<CheckpointInfo> {
  const { metadata, tensors } = await readCheckpointFile(file);
  const info = parseInfo(file, metadata);
  const cfg = dst.model.config;
  if (info.model.arch !== cfg.arch) {
    throw new LearnerError(`${file} holds a ${info.model.arch} but this learner's model is a ${cfg.arch}`, {
      file,
      fix: `Create the learner with arch ${info.model.arch}, or train a new ${cfg.arch}`,
    });
  }
  if (JSON.stringify(info.classes) !== JSON.stringify(dst.data.classes)) {
    throw new LearnerError(
      `${file} was trained on classes [${preview(info.classes)}] but this dataset has [${preview(dst.data.classes)}]`,
      { file, fix: 'Load it with the same dataset and labelling rule, or train a new model for these classes' },
    );
  }
  const pick = (prefix: string) => {
    const m = new Map<string, HostTensor>();
    for (const [k, v] of tensors) if (k.startsWith(prefix)) m.set(k.slice(prefix.length), v);
    return m;
  };
  // Parse and check everything first; only then swap weights and optimiser state, rolling back the
  // weights if the optimiser state still fails: a failed load leaves the learner as it was.
  const hostWeights = pick(MODEL);
  const withOpt = opts.withOpt !== false;
  const optMeta = withOpt ? parseOptimizerMeta(file, metadata.optimizer) : { steps: {} };
  const hostAvg = pick(EXP_AVG);
  const hostAvgSq = pick(EXP_AVG_SQ);
  assertFinite(file, hostWeights);
  if (withOpt) {
    assertOptMatches(file, hostWeights, hostAvg, 'moments');
    assertOptMatches(file, hostWeights, hostAvgSq, 'second moments');
    assertFinite(file, hostAvg);
    assertFinite(file, hostAvgSq);
  }
  const previous = snapshotState(dst.model);
  const weights = fromHost(hostWeights);
  try {
    try {
      dst.model.loadStateDict(weights, { strict: true });
    } catch (err) {
      throw new LearnerError(`${file} does not fit this model: ${(err as Error).message}`, {
        file,
        fix: 'Use the same architecture and number of classes it was saved with',
      });
    }
    if (withOpt) {
      const oldOpt = dst.opt.getState();
      const expAvg: Map<string, tf.Tensor> = fromHost(hostAvg);
      const expAvgSq: Map<string, tf.Tensor> = fromHost(hostAvgSq);
      try {
        dst.opt.setState({ steps: optMeta.steps, expAvg, expAvgSq });
      } catch (err) {
        dst.opt.setState(oldOpt);
        dst.model.loadStateDict(previous, { strict: true });
        throw new LearnerError(`${file} has optimiser state that does not fit this model: ${(err as Error).message}; the learner was left as it was`, {
          file,
          fix: 'Load it without the optimiser state (withOpt: false), or save again from a trained learner',
        });
      } finally {
        disposeState(expAvg);
        disposeState(expAvgSq);
        disposeState(oldOpt.expAvg);
        disposeState(oldOpt.expAvgSq);
      }
    }
  } finally {
    disposeState(weights);
    disposeState(previous);
  }
  return info;
}

function preview(a: string[]): string {
  return a.length <= 6 ? a.join(', ') : `${a.slice(0, 6).join(', ')}, … (${a.length})`;
}
