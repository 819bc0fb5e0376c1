// Element-wise kernels: one addon call each (op codes from the addon's own tables).
import * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from '../backend';
import { alias, input, kernel } from './util';

function codes(b: TorchBackend, names: string[]): Map<string, number> {
  return new Map(names.map((n, i) => [n, i]));
}

const BOOL_OUT = new Set(['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor']);
const FLOAT_OUT = new Set(['RealDiv', 'Atan2']);

const UNARY = [
  'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Floor', 'Ceil',
  'Round', 'Sign', 'Step', 'IsNan', 'IsInf', 'IsFinite', 'Reciprocal', 'Log1p', 'Expm1', 'Sin', 'Cos', 'Erf',
  'Softplus', 'Elu', 'Selu', 'LogicalNot', 'ZerosLike', 'OnesLike', 'LeakyRelu', 'ClipByValue', 'Acos', 'Asin',
  'Atan', 'Sinh', 'Cosh', 'Tan', 'Atanh', 'Asinh', 'Acosh',
];
const BINARY = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Pow', 'Maximum', 'Minimum', 'Equal', 'NotEqual', 'Greater',
  'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr', 'SquaredDifference', 'Mod', 'Atan2', 'Prelu',
  'LogicalXor',
];
// tfjs kernel name -> addon op name, where they differ
const UNARY_IMPL: Record<string, string> = {};
const BINARY_IMPL: Record<string, string> = {};

let unaryCodes: Map<string, number> | null = null;
let binaryCodes: Map<string, number> | null = null;

function code(table: Map<string, number>, name: string): number {
  const c = table.get(name);
  if (c === undefined) throw new Error(`torch addon has no element-wise op ${name} (rebuild the addon: npm rebuild)`);
  return c;
}

for (const name of UNARY) {
  kernel(name, (inputs, b, attrs) => {
    unaryCodes ??= codes(b, b.addon.unaryOps);
    const x = input(inputs, 'x');
    let p1 = 0;
    let p2 = 0;
    if (name === 'Step') p1 = (attrs.alpha as number) ?? 0;
    if (name === 'LeakyRelu') p1 = (attrs.alpha as number) ?? 0.2;
    if (name === 'ClipByValue') {
      p1 = attrs.clipValueMin as number;
      p2 = attrs.clipValueMax as number;
    }
    return b.output(b.addon.unary(code(unaryCodes, UNARY_IMPL[name] ?? name), b.handle(x), p1, p2));
  });
}

for (const name of BINARY) {
  kernel(name, (inputs, b) => {
    binaryCodes ??= codes(b, b.addon.binaryOps);
    const x = inputs.a ?? input(inputs, 'x');
    const y = inputs.b ?? input(inputs, 'alpha');
    const out: tf.DataType = BOOL_OUT.has(name) ? 'bool' : FLOAT_OUT.has(name) ? 'float32' : tf.upcastType(x.dtype, y.dtype);
    return b.output(b.addon.binary(code(binaryCodes, BINARY_IMPL[name] ?? name), b.handle(x), b.handle(y), out));
  });
}

// Gradient kernels tfjs-core's gradients call by name, with their inputs in the addon's order.
const GRADIENTS: Record<string, [string, string]> = { EluGrad: ['dy', 'y'] };
for (const [name, [first, second]] of Object.entries(GRADIENTS)) {
  kernel(name, (inputs, b) => {
    binaryCodes ??= codes(b, b.addon.binaryOps);
    const dy = input(inputs, first);
    return b.output(b.addon.binary(code(binaryCodes, name), b.handle(dy), b.handle(input(inputs, second)), dy.dtype));
  });
}

kernel('Identity', (inputs, b) => alias(b, input(inputs, 'x')));

kernel('Cast', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const dtype = attrs.dtype as tf.DataType;
  if (dtype === x.dtype) return alias(b, x);
  return b.output(b.addon.cast(b.handle(x), dtype));
});

kernel('Select', (inputs, b) =>
  b.output(b.addon.select(b.handle(input(inputs, 'condition')), b.handle(input(inputs, 't')), b.handle(input(inputs, 'e')))),
);

kernel('AddN', (inputs, b) => {
  const ts = Object.values(inputs) as tf.TensorInfo[];
  return b.output(b.addon.addN(ts.map((t) => b.handle(t))));
});

kernel('Fill', (_inputs, b, attrs) => {
  const value = attrs.value as number | string;
  if (typeof value === 'string') throw new Error('torch backend: Fill with a string value is not supported');
  const dtype = (attrs.dtype as tf.DataType) ?? tf.util.inferDtype(value);
  return b.output(b.addon.fill(attrs.shape as number[], value, dtype));
});

kernel('Range', (_inputs, b, attrs) => {
  const { start, stop, dtype } = attrs as { start: number; stop: number; dtype: tf.DataType };
  let step = attrs.step as number;
  // tfjs (cpu rangeImpl): a step with the wrong sign gives an empty range, never an error, except
  // that a step of 1 (the default) counts down when stop < start
  if (start === stop || (start < stop && step < 0) || (stop < start && step > 1)) {
    return b.output(b.addon.fill([0], 0, dtype));
  }
  if (stop < start && step === 1) step = -1;
  if (step === 0) step = 1;
  return b.output(b.addon.range(start, stop, step, dtype));
});
