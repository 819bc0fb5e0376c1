// createModel: a torchvision resnet body + fastai head as one ClassifierModel.
import { releaseHostCopies, tf } from '../backend';
import type { ArchName, ClassifierModel, ModelConfig, ModelParam } from './types';
import { ARCHS, buildResNetBody } from './resnet';
import { buildHead } from './head';
import { BatchNormSet } from './batchnorm';
import { ParamStore } from './params';
import { SeededRandom } from './random';
import { ActionableError } from '../errors';

/**
 * Options createModel cannot build, from a library call: the CLI and the child check --arch first,
 * a dataset has at least one class, and an export's model.json is checked before it gets here.
 */
export class ModelConfigError extends ActionableError {
  override readonly name = 'ModelConfigError';
}

export interface CreateModelOptions {
  arch: ArchName;
  numClasses: number;
  /** fastai's ps: a number p means [p/2, p] (default 0.5 → [0.25, 0.5]). */
  ps?: number | [number, number];
  /** Seeds weight init and dropout masks; random when omitted. */
  seed?: number;
}

export const ARCH_NAMES = Object.keys(ARCHS) as ArchName[];

export function isArchName(name: string): name is ArchName {
  return (ARCH_NAMES as string[]).includes(name);
}

export function createModel(opts: CreateModelOptions): ClassifierModel {
  if (!isArchName(opts.arch)) throw new ModelConfigError(`Unknown architecture '${String(opts.arch)}'`, { fix: `Pass arch as one of ${ARCH_NAMES.join(', ')}` });
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) {
    throw new ModelConfigError(`numClasses must be a positive integer (got ${opts.numClasses})`, { fix: 'Pass numClasses as the number of classes, 1 or more (a DataBunch has it as data.c)' });
  }
  const p = opts.ps ?? 0.5;
  const ps: [number, number] = typeof p === 'number' ? [p / 2, p] : [p[0], p[1]];
  for (const v of ps) {
    if (!(v >= 0 && v < 1)) throw new ModelConfigError(`dropout probabilities must be in [0, 1) (got ${ps.join(', ')})`, { fix: 'Pass ps as a probability from 0 up to (not including) 1, or a pair of them' });
  }
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  return new ResNetClassifier({ arch: opts.arch, numClasses: opts.numClasses, ps }, seed);
}

class ResNetClassifier implements ClassifierModel {
  readonly layerGroupCount = 3;
  private readonly store = new ParamStore();
  private readonly bns = new BatchNormSet();
  private readonly body;
  private readonly headNet;

  constructor(
    readonly config: ModelConfig,
    seed: number,
  ) {
    this.body = buildResNetBody(config.arch, this.store, new SeededRandom(seed), this.bns);
    this.headNet = buildHead(
      this.store,
      new SeededRandom(seed ^ 0x48454144),
      this.bns,
      this.body.channels,
      config.numClasses,
      config.ps,
      new SeededRandom(seed ^ 0x44524f50),
    );
    this.releaseHostCopies();
  }

  /** The initial or loaded weights leave the JS heap (torch backend: they would linger as garbage). */
  private releaseHostCopies(): void {
    releaseHostCopies([...this.store.params.map((p) => p.variable), ...this.store.buffers.values()]);
  }

  get params(): ModelParam[] {
    return this.store.params;
  }

  get buffers(): Map<string, tf.Tensor> {
    return this.store.buffers;
  }

  features(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.body.apply(x, training);
  }

  head(features: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.headNet.apply(features, training);
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => this.head(this.features(x, training), training));
  }

  commitBatchStats(): void {
    this.bns.commit();
  }

  /** Copies (sharing storage) of every parameter and buffer; the caller disposes them. */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const name of this.store.names()) out.set(name, tf.clone(this.store.get(name)!));
    return out;
  }

  // Plain Errors: every caller that loads a file (checkpoint, export) checks it first and wraps
  // these with the file and a fix; lr_find restores a state dict it took itself.
  loadStateDict(state: Map<string, tf.Tensor>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const unexpected = [...state.keys()].filter((n) => !this.store.get(n));
    const missing = this.store.names().filter((n) => !state.has(n));
    if (strict && (unexpected.length || missing.length)) {
      throw new Error(
        `State dict does not match ${this.config.arch} with ${this.config.numClasses} classes:` +
          (missing.length ? ` missing ${listNames(missing)};` : '') +
          (unexpected.length ? ` unexpected ${listNames(unexpected)};` : '') +
          ' load with strict=false to load only the matching names.',
      );
    }
    const mismatched: string[] = [];
    for (const [name, value] of state) {
      const target = this.store.get(name);
      if (target && !tf.util.arraysEqual(target.shape, value.shape)) {
        mismatched.push(`${name} (model [${target.shape}], file [${value.shape}])`);
      }
    }
    if (mismatched.length) throw new Error(`State dict shapes do not match: ${listNames(mismatched)}.`);
    tf.tidy(() => {
      for (const [name, value] of state) {
        const target = this.store.get(name);
        if (target) target.assign(value.dtype === target.dtype ? value : tf.cast(value, target.dtype));
      }
    });
    this.bns.discard();
    this.releaseHostCopies();
  }

  dispose(): void {
    this.body.dispose();
    this.bns.discard();
    this.store.dispose();
  }
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}
