// Shared by the models/backend/weights tests.
import { tf } from '../../src/trainer/backend';

/** ‖a − b‖₂ / ‖b‖₂ */
export function relativeL2(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number {
  const av = a instanceof tf.Tensor ? a.dataSync() : a;
  const bv = b instanceof tf.Tensor ? b.dataSync() : b;
  if (av.length !== bv.length) throw new Error(`length ${av.length} vs ${bv.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < av.length; i++) {
    num += (av[i] - bv[i]) ** 2;
    den += bv[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}
