// Loads torchvision-format weights (.safetensors, state_dict names such as 'layer1.0.conv1.weight')
// into a ClassifierModel: names get the 'body.' prefix, OIHW conv kernels become HWIO, [out, in]
// linear weights become [in, out]; torchvision's ImageNet classifier ('fc.*') is not used by the
// fastai model and is skipped.
import { tf } from '../backend';
import type { ArchName, ClassifierModel } from './types';
import { readSafetensorsSync, type HostTensor } from '../io/safetensors';
import { ActionableError } from '../errors';

export class WeightsMismatchError extends ActionableError {
  override readonly name = 'WeightsMismatchError';
}

export interface LoadWeightsOptions {
  /** 'body' (default): pretrained body only, the head keeps its init. 'all': body and head. */
  scope?: 'body' | 'all';
  /** Default true: missing or unexpected names are an error that lists them. */
  strict?: boolean;
}

export interface LoadWeightsReport {
  file: string;
  loaded: number;
  missing: string[];
  unexpected: string[];
  skipped: string[];
}

const OPTIONAL = /\.num_batches_tracked$/; // timm's exports omit it

/** torchvision (or timm, DataParallel 'module.', our own 'body.'/'head.') name → our name. */
export function modelNameFor(torchName: string): string | null {
  const name = torchName.replace(/^module\./, '');
  if (/^(body|head)\./.test(name)) return name;
  if (/^(conv1|bn1|layer[1-4])\./.test(name)) return `body.${name}`;
  return null;
}

/** Converts one torch-layout tensor to ours (NHWC/HWIO); the caller owns the result. */
export function toModelLayout(t: HostTensor): tf.Tensor {
  const dtype = t.data instanceof Int32Array ? 'int32' : 'float32';
  return tf.tidy(() => {
    const raw = tf.tensor(t.data, t.shape, dtype);
    if (t.shape.length === 4) return tf.transpose(raw, [2, 3, 1, 0]); // OIHW → HWIO
    if (t.shape.length === 2) return tf.transpose(raw, [1, 0]); // [out, in] → [in, out]
    return raw;
  });
}

/** Which torchvision resnet a state dict looks like (for error messages), or null. */
export function guessArch(names: Iterable<string>): ArchName | null {
  const set = new Set([...names].map((n) => n.replace(/^(module|body)\./, '')));
  if (!set.has('conv1.weight')) return null;
  if (set.has('layer1.0.conv3.weight')) return 'resnet50';
  return set.has('layer3.5.conv1.weight') ? 'resnet34' : set.has('layer3.1.conv1.weight') ? 'resnet18' : null;
}

export function loadTorchWeights(model: ClassifierModel, file: string, opts: LoadWeightsOptions = {}): LoadWeightsReport {
  const raw = readSafetensorsSync(file).tensors;
  return loadTorchState(model, raw, file, opts);
}

export function loadTorchState(
  model: ClassifierModel,
  raw: Map<string, HostTensor>,
  file: string,
  opts: LoadWeightsOptions = {},
): LoadWeightsReport {
  const scope = opts.scope ?? 'body';
  const strict = opts.strict ?? true;
  const inScope = (n: string) => scope === 'all' || n.startsWith('body.');
  const wanted = new Set([...model.params.map((p) => p.name), ...model.buffers.keys()].filter(inScope));
  const chosen = new Map<string, HostTensor>();
  const unexpected: string[] = [];
  const skipped: string[] = [];
  for (const [torchName, t] of raw) {
    const name = modelNameFor(torchName);
    if (name && wanted.has(name)) chosen.set(name, t);
    else if (torchName.replace(/^module\./, '').startsWith('fc.') || (name && !inScope(name))) skipped.push(torchName);
    else unexpected.push(torchName);
  }
  const missing = [...wanted].filter((n) => !chosen.has(n) && !OPTIONAL.test(n));
  const mismatched: string[] = [];
  const expectShape = new Map<string, number[]>([
    ...model.params.map((p) => [p.name, p.variable.shape] as [string, number[]]),
    ...[...model.buffers].map(([n, b]) => [n, b.shape] as [string, number[]]),
  ]);
  for (const [name, t] of chosen) {
    const s = t.shape.length === 4 ? [t.shape[2], t.shape[3], t.shape[1], t.shape[0]] : t.shape.length === 2 ? [t.shape[1], t.shape[0]] : t.shape;
    if (!tf.util.arraysEqual(s, expectShape.get(name)!)) mismatched.push(`${name} (file [${t.shape}], model expects [${s.length === 4 ? 'OIHW of ' : ''}${expectShape.get(name)}])`);
  }
  const problems = [
    missing.length ? `missing ${list(missing)}` : '',
    strict && unexpected.length ? `unexpected ${list(unexpected)}` : '',
    mismatched.length ? `wrong shape ${list(mismatched)}` : '',
  ].filter(Boolean);
  if (problems.length && (strict || mismatched.length)) {
    const guess = guessArch(raw.keys());
    const hint =
      guess && guess !== model.config.arch
        ? ` The file looks like ${guess} weights: use --arch ${guess} or a ${model.config.arch} file.`
        : ' Expected torchvision resnet state_dict names such as layer1.0.conv1.weight.';
    throw new WeightsMismatchError(`${file}: weights do not match ${model.config.arch}: ${problems.join('; ')}.${hint}`, {
      file,
      fix: guess && guess !== model.config.arch ? `pass --arch ${guess}, or --pretrained with ${model.config.arch} weights (or auto / none)` : `pass torchvision ${model.config.arch} weights in .safetensors form, or --pretrained auto / none`,
    });
  }
  const state = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of chosen) state.set(name, toModelLayout(t));
    model.loadStateDict(state, { strict: false });
  } finally {
    tf.dispose([...state.values()]);
  }
  return { file, loaded: chosen.size, missing, unexpected, skipped };
}

function list(names: string[]): string {
  const shown = names.slice(0, 6).join(', ');
  return names.length > 6 ? `${shown} and ${names.length - 6} more` : shown;
}
