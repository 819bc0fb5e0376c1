// Dense, normalisation and resize kernels.
import { fusedArgs, input, kernel } from './util';

for (const name of ['BatchMatMul', '_FusedMatMul']) {
  const fused = name === '_FusedMatMul';
  kernel(name, (inputs, b, attrs) => {
    const a = input(inputs, 'a');
    const m = input(inputs, 'b');
    if (a.shape.length < 2 || m.shape.length < 2) {
      throw new Error(`${name}: both inputs must be at least rank 2, got ranks ${a.shape.length} and ${m.shape.length}`);
    }
    const f = fusedArgs(b, inputs, attrs, fused);
    return b.output(b.addon.matmul(b.handle(a), b.handle(m), Boolean(attrs.transposeA), Boolean(attrs.transposeB), f.bias, f.act, f.prelu, f.alpha));
  });
}

kernel('FusedBatchNorm', (inputs, b, attrs) => {
  const opt = (name: string) => (inputs[name] ? b.handle(inputs[name]) : null);
  return b.output(b.addon.batchNormInfer(
    b.handle(input(inputs, 'x')), b.handle(input(inputs, 'mean')), b.handle(input(inputs, 'variance')),
    opt('offset'), opt('scale'), (attrs.varianceEpsilon as number) ?? 0.001,
  ));
});

kernel('ResizeBilinear', (inputs, b, attrs) => {
  const [h, w] = attrs.size as [number, number];
  return b.output(b.addon.resizeBilinear(b.handle(input(inputs, 'images')), h, w, Boolean(attrs.alignCorners), Boolean(attrs.halfPixelCenters)));
});

kernel('ResizeBilinearGrad', (inputs, b, attrs) =>
  b.output(b.addon.resizeBilinearGrad(b.handle(input(inputs, 'dy')), b.handle(input(inputs, 'images')),
    Boolean(attrs.alignCorners), Boolean(attrs.halfPixelCenters))),
);
