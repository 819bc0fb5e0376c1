// Command-line flags → the session's typed parameters. Only argument syntax is checked here
// (numbers, the regex, exactly one labelling flag); everything about the files themselves is the
// data pipeline's to judge, so the CLI and the extension report the same errors.
import { InvalidArgumentError } from 'commander';
import * as path from 'path';
import type { DataOptions, LabellingSpec } from '../../protocol/requests';
import type { Arch } from '../../protocol/arch';
import { TRANSFORM_KEYS, type AugMode, type PadMode, type ResizeMethod } from '../../protocol/dataset';
import { parseLr, type LrSpec } from '../../protocol/lr';
import { TrainerError } from '../service/errors';
import { compileLabelPattern } from '../data/from-name-re';
import { resolvePipeline } from '../data/pipeline';

/** Flags shared by train, lr-find and interpret, as commander hands them over. */
export interface DataModelFlags {
  data?: string;
  labelRe?: string;
  folders?: boolean;
  csv?: string;
  fnCol?: string;
  labelCol?: string;
  arch: Arch;
  size: number;
  bs: number;
  validPct: number;
  seed: number;
  pretrained: string;
  unfreeze?: boolean;
  backend?: string;
  workers?: number;
  fp16?: boolean;
  bf16?: boolean;
  saveBest?: 'valid_loss' | 'train_loss' | 'error_rate' | 'accuracy';
  earlyStop?: number;
  labelSmoothing?: number;
  mixup?: number;
  aug?: AugMode;
  resize?: ResizeMethod;
  padMode?: PadMode;
  minScale?: number;
  presize?: number;
  out?: string;
  json?: boolean;
  verbose?: boolean;
}

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}.`);
    }
    return n;
  };
}

export function numberArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** --lr: `3e-3`, `:1e-4` / `slice(1e-4)` or `1e-6:1e-4` / `slice(1e-6, 1e-4)`, read by the one lr parser. */
export function lrArg(value: string): LrSpec {
  const parsed = parseLr(value);
  if (!parsed.ok) throw new InvalidArgumentError(`Invalid learning rate '${value}': ${parsed.error}`);
  return parsed.value;
}

export function labellingFrom(flags: DataModelFlags): LabellingSpec {
  const chosen = [flags.labelRe !== undefined, Boolean(flags.folders), flags.csv !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    throw new TrainerError(chosen === 0 ? 'No labelling rule given' : 'More than one labelling rule given', {
      fix: 'use exactly one of --label-re RE, --folders or --csv FILE',
    });
  }
  if (flags.labelRe !== undefined) {
    // Fails fast, before tfjs loads, on a regex that does not compile or has no group.
    compileLabelPattern(flags.labelRe);
    return { kind: 'nameRe', pattern: flags.labelRe };
  }
  if (flags.folders) return { kind: 'folder' };
  const spec: LabellingSpec = { kind: 'csv', csvFile: flags.csv as string };
  if (flags.fnCol !== undefined) spec.fnCol = flags.fnCol;
  if (flags.labelCol !== undefined) spec.labelCol = flags.labelCol;
  return spec;
}

export function dataOptionsFrom(flags: DataModelFlags): DataOptions {
  if (flags.data === undefined) throw new TrainerError('No dataset folder given', { fix: 'pass --data DIR' });
  const opts: DataOptions = {
    root: path.resolve(flags.data),
    labelling: labellingFrom(flags),
    validPct: flags.validPct,
    seed: flags.seed,
    size: flags.size,
    bs: flags.bs,
  };
  if (flags.workers !== undefined) opts.numWorkers = flags.workers;
  for (const key of TRANSFORM_KEYS) if (flags[key] !== undefined) Object.assign(opts, { [key]: flags[key] });
  // Fails fast, before tfjs loads, on transform flags that do not go together.
  resolvePipeline(opts, opts.size ?? 224);
  return opts;
}

/** runs/<command>-YYYYMMDD-HHMMSS under the current folder. */
export function defaultOutDir(command: string, now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return path.resolve('runs', `${command}-${stamp}`);
}
