// tfjs-core 4.22's FusedBatchNorm gradient builds dx with a full-size tf.tile of the scale, which is
// a slow naive loop on wasm; a broadcasting multiply gives the same result. Re-registered once.
import * as tf from '@tensorflow/tfjs-core';

let patched = false;

export function patchBatchNormGradient(): void {
  if (patched) return;
  patched = true;
  tf.registerGradient({
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
      const [x, mean, variance, scale] = saved;
      const dyT = dy as tf.Tensor;
      const sc = scale ?? tf.scalar(1);
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, axes) : t, mean.shape);
      const invStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const centred = tf.sub(x, mean);
      const dyScaled = tf.mul(dyT, sc);
      return {
        x: () => tf.reshape(tf.mul(dyT, tf.mul(invStd, sc)), x.shape),
        mean: () => reduce(tf.mul(dyScaled, tf.neg(invStd))),
        variance: () => reduce(tf.mul(tf.mul(centred, dyScaled), tf.mul(tf.pow(invStd, 3), -0.5))),
        scale: () => reduce(tf.mul(dyT, tf.mul(centred, invStd))),
        offset: () => reduce(dyT),
      };
    },
  });
}
