// Reductions and scans.
import * as tf from '@tensorflow/tfjs-core';
import { alias, axesOf, input, kernel } from './util';

const REDUCTIONS: Record<string, (dtype: tf.DataType) => tf.DataType> = {
  Sum: (d) => (d === 'float32' ? 'float32' : 'int32'),
  Mean: () => 'float32',
  Max: (d) => d,
  Min: (d) => d,
  Prod: (d) => (d === 'float32' ? 'float32' : 'int32'),
  All: () => 'bool',
  Any: () => 'bool',
};

for (const [name, outType] of Object.entries(REDUCTIONS)) {
  kernel(name, (inputs, b, attrs) => {
    const x = input(inputs, 'x');
    const axes = axesOf((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape);
    const out = outType(x.dtype);
    if (axes.length === 0 && out === x.dtype) return alias(b, x);
    return b.output(b.addon.reduce(name, b.handle(x), axes, Boolean(attrs.keepDims), out));
  });
}

for (const name of ['ArgMax', 'ArgMin']) {
  kernel(name, (inputs, b, attrs) => {
    const x = input(inputs, 'x');
    const axes = axesOf(attrs.axis as number | number[], x.shape);
    return b.output(b.addon.reduce(name, b.handle(x), [axes[0]], false, 'int32'));
  });
}

for (const name of ['Cumsum', 'Cumprod']) {
  kernel(name, (inputs, b, attrs) => {
    const x = input(inputs, 'x');
    return b.output(b.addon.scan(name, b.handle(x), attrs.axis as number, Boolean(attrs.exclusive), Boolean(attrs.reverse)));
  });
}

kernel('Softmax', (inputs, b, attrs) => {
  const x = input(inputs, 'logits');
  const dim = (attrs.dim as number) ?? -1;
  return b.output(b.addon.softmax(b.handle(x), dim, false));
});

kernel('TopK', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  return b.outputs(b.addon.topk(b.handle(x), attrs.k as number, attrs.sorted !== false));
});
