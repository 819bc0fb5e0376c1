// The inference graph every standard export writes: a layout-neutral list of steps with the weights
// already folded (each BatchNorm into the conv before it or the linear layer after it), built
// once from the model's state dict so the ONNX and TF.js writers cannot disagree about the maths.
//   normalise ((x − mean) / std) → resnet body (conv+bias[+relu], maxpool, residual add+relu)
//   → fastai head: concat pool [max, avg] → linear(BN folded) → relu → linear(BN folded) → softmax
import { ARCHS } from '../models/resnet';
import { BN_EPS } from '../models/batchnorm';
import type { ArchName, ClassifierModel } from '../models/types';
import type { Preprocessing } from '../learner/preprocess';
import { LearnerError } from '../learner/errors';

export interface ConvStep {
  kind: 'conv';
  input: string;
  output: string;
  /** HWIO, BN folded in. */
  weight: Float32Array;
  bias: Float32Array;
  k: number;
  cin: number;
  cout: number;
  stride: number;
  pad: number;
  relu: boolean;
}
export interface MaxPoolStep {
  kind: 'maxPool';
  input: string;
  output: string;
  k: number;
  stride: number;
  pad: number;
}
export interface AddReluStep {
  kind: 'addRelu';
  a: string;
  b: string;
  output: string;
}
/** fastai's AdaptiveConcatPool2d: [global max, global mean] along channels → [n, 2c]. */
export interface ConcatPoolStep {
  kind: 'concatPool';
  input: string;
  output: string;
}
export interface LinearStep {
  kind: 'linear';
  input: string;
  output: string;
  /** [in, out], BN folded in. */
  weight: Float32Array;
  bias: Float32Array;
  nIn: number;
  nOut: number;
  relu: boolean;
}
export type Step = ConvStep | MaxPoolStep | AddReluStep | ConcatPoolStep | LinearStep;

export interface InferenceGraph {
  arch: ArchName;
  classes?: string[];
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Name of the normalised input the first step reads; the writers produce it from the raw input. */
  normalized: string;
  steps: Step[];
  /** Logits; the writers add the softmax. */
  logits: string;
  numClasses: number;
}

type State = Map<string, { data: Float32Array; shape: number[] }>;

export function buildInferenceGraph(model: ClassifierModel, pre: Preprocessing): InferenceGraph {
  const state: State = new Map();
  const dict = model.stateDict();
  try {
    for (const [name, t] of dict) state.set(name, { data: Float32Array.from(t.dataSync()), shape: t.shape });
  } finally {
    for (const t of dict.values()) t.dispose();
  }
  const arch = model.config.arch;
  if (!ARCHS[arch]) throw new LearnerError(`Cannot export architecture '${arch}'`, { fix: 'Export a resnet18, resnet34 or resnet50 learner' });
  const steps: Step[] = [];
  let counter = 0;
  const fresh = (base: string) => `${base}_${counter++}`;
  const conv = (input: string, convName: string, bnName: string, stride: number, pad: number, relu: boolean): string => {
    const output = fresh(convName.replace(/\./g, '_'));
    steps.push(foldConv(state, input, output, convName, bnName, stride, pad, relu));
    return output;
  };

  const normalized = 'normalized';
  let h = conv(normalized, 'body.conv1', 'body.bn1', 2, 3, true);
  const pooled = fresh('body_maxpool');
  steps.push({ kind: 'maxPool', input: h, output: pooled, k: 3, stride: 2, pad: 1 });
  h = pooled;
  const { block, layers } = ARCHS[arch];
  layers.forEach((count, li) => {
    for (let b = 0; b < count; b++) {
      const p = `body.layer${li + 1}.${b}`;
      const stride = b === 0 && li > 0 ? 2 : 1;
      const x = h;
      let y: string;
      if (block === 'basic') {
        y = conv(x, `${p}.conv1`, `${p}.bn1`, stride, 1, true);
        y = conv(y, `${p}.conv2`, `${p}.bn2`, 1, 1, false);
      } else {
        y = conv(x, `${p}.conv1`, `${p}.bn1`, 1, 0, true);
        y = conv(y, `${p}.conv2`, `${p}.bn2`, stride, 1, true);
        y = conv(y, `${p}.conv3`, `${p}.bn3`, 1, 0, false);
      }
      const identity = state.has(`${p}.downsample.0.weight`) ? conv(x, `${p}.downsample.0`, `${p}.downsample.1`, stride, 0, false) : x;
      const out = fresh(`${p.replace(/\./g, '_')}_out`);
      steps.push({ kind: 'addRelu', a: y, b: identity, output: out });
      h = out;
    }
  });
  const cat = fresh('head_concat_pool');
  steps.push({ kind: 'concatPool', input: h, output: cat });
  const hidden = fresh('head_4');
  steps.push(foldLinear(state, cat, hidden, 'head.2', 'head.4', true));
  const logits = fresh('head_8');
  steps.push(foldLinear(state, hidden, logits, 'head.6', 'head.8', false));
  return {
    arch,
    size: pre.size,
    mean: pre.normalize.mean,
    std: pre.normalize.std,
    normalized,
    steps,
    logits,
    numClasses: model.config.numClasses,
  };
}

function get(state: State, name: string): { data: Float32Array; shape: number[] } {
  const t = state.get(name);
  if (!t) throw new LearnerError(`The model has no weight ${name}`, { fix: 'Export a learner built by this version of Image Trainer' });
  return t;
}

function bnScaleShift(state: State, bn: string): { scale: Float64Array; shift: Float64Array } {
  const g = get(state, `${bn}.weight`).data;
  const b = get(state, `${bn}.bias`).data;
  const m = get(state, `${bn}.running_mean`).data;
  const v = get(state, `${bn}.running_var`).data;
  const scale = new Float64Array(g.length);
  const shift = new Float64Array(g.length);
  for (let c = 0; c < g.length; c++) {
    scale[c] = g[c]! / Math.sqrt(v[c]! + BN_EPS);
    shift[c] = b[c]! - m[c]! * scale[c]!;
  }
  return { scale, shift };
}

/** conv then BN: w·s per output channel, bias β − μ·s. */
function foldConv(state: State, input: string, output: string, convName: string, bnName: string, stride: number, pad: number, relu: boolean): ConvStep {
  const w = get(state, `${convName}.weight`);
  const [k, , cin, cout] = w.shape as [number, number, number, number];
  const { scale, shift } = bnScaleShift(state, bnName);
  const weight = new Float32Array(w.data.length);
  for (let i = 0; i < w.data.length; i++) weight[i] = w.data[i]! * scale[i % cout]!;
  return { kind: 'conv', input, output, weight, bias: Float32Array.from(shift), k, cin, cout, stride, pad, relu };
}

/** BN then linear: W'[i,j] = s_i·W[i,j], b'_j = b_j + Σ_i t_i·W[i,j]. */
function foldLinear(state: State, input: string, output: string, bnName: string, linName: string, relu: boolean): LinearStep {
  const w = get(state, `${linName}.weight`);
  const b = get(state, `${linName}.bias`).data;
  const [nIn, nOut] = w.shape as [number, number];
  const { scale, shift } = bnScaleShift(state, bnName);
  const weight = new Float32Array(w.data.length);
  const bias = new Float64Array(nOut);
  for (let j = 0; j < nOut; j++) bias[j] = b[j]!;
  for (let i = 0; i < nIn; i++) {
    for (let j = 0; j < nOut; j++) {
      const wij = w.data[i * nOut + j]!;
      weight[i * nOut + j] = wij * scale[i]!;
      bias[j]! += shift[i]! * wij;
    }
  }
  return { kind: 'linear', input, output, weight, bias: Float32Array.from(bias), nIn, nOut, relu };
}
