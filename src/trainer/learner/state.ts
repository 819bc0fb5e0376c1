// Model state as owned tensors: model.stateDict() may hand back live variables or copies; these
// helpers always return copies the caller may dispose, and host arrays for files.
import { tf } from '../backend';
import type { ClassifierModel } from '../models/types';
import type { HostTensor } from '../io/safetensors';

function liveTensors(model: ClassifierModel): Set<number> {
  const ids = new Set<number>();
  for (const p of model.params) ids.add(p.variable.id);
  for (const b of model.buffers.values()) ids.add(b.id);
  return ids;
}

/** A private copy of every named weight and buffer of the model. */
export function snapshotState(model: ClassifierModel): Map<string, tf.Tensor> {
  const live = liveTensors(model);
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of model.stateDict()) out.set(name, live.has(t.id) ? tf.clone(t) : t);
  return out;
}

export function disposeState(state: Map<string, tf.Tensor>): void {
  for (const t of state.values()) t.dispose();
}

export async function toHost(state: Map<string, tf.Tensor>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of state) {
    const data = await t.data();
    out.set(name, { shape: [...t.shape], data: t.dtype === 'int32' ? new Int32Array(data) : new Float32Array(data) });
  }
  return out;
}

export function fromHost(host: Map<string, HostTensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, h] of host) out.set(name, tf.tensor(h.data, h.shape, h.data instanceof Int32Array ? 'int32' : 'float32'));
  return out;
}
