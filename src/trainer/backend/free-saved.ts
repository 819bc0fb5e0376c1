// tfjs keeps every tensor a gradient function saved (the forward pass's activations) until the
// whole backward pass has ended; PyTorch's autograd frees each as soon as its node's gradient is
// taken. This frees a tape node's saved tensors once backprop has moved on to the next node, so
// memory falls as backward proceeds instead of peaking with every activation alive. Saved tensors
// are engine clones (their own references), so freeing them never frees a tensor someone else
// holds. Only first-order gradients: in a higher-order gradient the inner backward runs inside the
// outer tape, which may run a node's gradient again.
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  saved?: tf.Tensor[];
  gradient?: (dys: tf.Tensor[]) => unknown;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode(...args: unknown[]): void;
}

let installed = false;

export function freeSavedTensorsDuringBackward(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  const addTapeNode = engine.addTapeNode.bind(engine);
  let done: TapeNode | null = null;
  engine.addTapeNode = (...args: unknown[]) => {
    addTapeNode(...args);
    const tape = engine.state.activeTape;
    const node = tape?.[tape.length - 1];
    const gradient = node?.gradient;
    if (!node || !gradient) return;
    node.gradient = (dys: tf.Tensor[]) => {
      if (engine.state.gradientDepth === 0) {
        // backprop calls every input's gradient of a node before the next node's gradient
        for (const t of done?.saved ?? []) t.dispose();
        done = node;
      }
      return gradient(dys);
    };
  };
}
