// learn.save / learn.load: one safetensors file per checkpoint holding the model's weights and
// BatchNorm buffers, the AdamW state, and (as metadata) classes, data and model config.
import type { tf } from '../backend';
import type { ClassifierModel, ModelConfig } from '../models/types';
import type { DataBunch } from '../data/types';
import type { AdamW } from './optimizer';
import { LearnerError } from './errors';
import { readSafetensors, writeSafetensors, SafetensorsError, type HostTensor, type SafetensorsFile, type WriteHooks } from '../io/safetensors';
import { disposeState, fromHost, snapshotState, toHost } from './state';

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
  frozenTo: number;
  hasOptimizer: boolean;
}

export async function saveCheckpoint(file: string, src: CheckpointSource, hooks?: WriteHooks): Promise<void> {
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
    if (!(err instanceof SafetensorsError)) throw err;
    if (err.code === 'ENOENT') {
      throw new LearnerError(`No checkpoint at ${file}`, { file, fix: 'Save one first (learn.save(name)) or check the name and the run folder' });
    }
    if (err.code) throw new LearnerError(`Could not read ${file}: ${err.problem}`, { file, fix: 'Check the file permissions' });
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
  return JSON.parse(metadata.info) as CheckpointInfo;
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
  const weights = fromHost(pick(MODEL));
  try {
    dst.model.loadStateDict(weights, { strict: true });
  } catch (err) {
    throw new LearnerError(`${file} does not fit this model: ${(err as Error).message}`, {
      file,
      fix: 'Use the same architecture and number of classes it was saved with',
    });
  } finally {
    disposeState(weights);
  }
  if (opts.withOpt !== false) {
    const optMeta = metadata.optimizer ? (JSON.parse(metadata.optimizer) as { steps: Record<string, number> }) : { steps: {} };
    const expAvg: Map<string, tf.Tensor> = fromHost(pick(EXP_AVG));
    const expAvgSq: Map<string, tf.Tensor> = fromHost(pick(EXP_AVG_SQ));
    try {
      dst.opt.setState({ steps: optMeta.steps, expAvg, expAvgSq });
    } finally {
      disposeState(expAvg);
      disposeState(expAvgSq);
    }
  }
  return info;
}

function preview(a: string[]): string {
  return a.length <= 6 ? a.join(', ') : `${a.slice(0, 6).join(', ')}, … (${a.length})`;
}
