// A new model's weights (initialised or read from a file) arrive as host arrays, 87 MB for
// resnet34. The torch backend uploads them at first use and drops them, but V8 counts ArrayBuffer
// memory only loosely towards its collections, so they stay in the process as garbage through the
// first training steps, on top of the step's peak (bench/RESULTS.md: 64 px peak RSS 950 -> 880 MB).
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tf from '@tensorflow/tfjs-core';
import { TorchBackend } from './torch/backend';

/** Below this many bytes uploaded a full collection costs more than it returns. */
const WORTH_A_COLLECTION = 16 << 20;

let collect: (() => void) | null = null;

/** A full garbage collection now (as Jest's leak detector does it: gc exposed for a fresh context). */
function collectGarbage(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/** Moves the host copies of `tensors` into the backend now and returns their memory to the process. */
export function releaseHostCopies(tensors: Iterable<tf.Tensor>): void {
  const backend = tf.backend();
  if (!(backend instanceof TorchBackend)) return; // wasm copies host values when written; on cpu they are the storage
  if (backend.uploadNow([...tensors]) >= WORTH_A_COLLECTION) collectGarbage();
}
