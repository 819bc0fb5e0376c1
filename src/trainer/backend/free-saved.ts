// tfjs keeps every tensor a gradient function saved (the forward pass's activations), and every
// output's gradient, until the whole backward pass has ended; PyTorch's autograd frees each as soon
// as its node's gradient is taken. This frees a tape node's saved tensors and the gradients of its
// outputs once backprop has moved on to the next node, so memory falls as backward proceeds instead
// of peaking with every activation and activation gradient alive. Saved tensors are engine clones
// (their own references); an output gradient is freed only when it is not the caller's dy and not
// handed on unchanged as an input's gradient. Only first-order gradients: in a higher-order
// gradient the inner backward runs inside the outer tape, which may run a node's gradient again.
import * as tf from '@tensorflow/tfjs-core';

type GradientThunks = Record<string, () => tf.Tensor>;

interface TapeNode {
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => GradientThunks;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode(...args: unknown[]): void;
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): unknown;
}

/** A node backprop has finished with: what it saved, the gradients it got and the ones it gave. */
interface Visited {
  saved: tf.Tensor[];
  dys: (tf.Tensor | null)[];
  given: Set<tf.Tensor>;
}

/** One running gradients() call: the dy it was given (never ours to free) and its last visited node. */
interface Pass {
  dy: tf.Tensor | undefined;
  done: Visited | null;
}

let installed = false;

export function freeSavedTensorsDuringBackward(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  const passes: Pass[] = []; // innermost last

  const release = (v: Visited | null) => {
    if (!v) return;
    for (const t of v.saved) t.dispose();
    for (const dy of v.dys) if (dy && !v.given.has(dy) && !passes.some((p) => p.dy === dy)) dy.dispose();
  };

  const gradients = engine.gradients.bind(engine);
  engine.gradients = (f, xs, dy, allowNoGradients) => {
    passes.push({ dy, done: null });
    try {
      return gradients(f, xs, dy, allowNoGradients);
    } finally {
      passes.pop();
    }
  };

  const addTapeNode = engine.addTapeNode.bind(engine);
  engine.addTapeNode = (...args: unknown[]) => {
    addTapeNode(...args);
    const tape = engine.state.activeTape;
    const node = tape?.[tape.length - 1];
    const gradient = node?.gradient;
    if (!node || !gradient) return;
    node.gradient = (dys) => {
      const pass = passes[passes.length - 1];
      if (!pass || engine.state.gradientDepth !== 0) return gradient(dys);
      // backprop calls every input's gradient of a node before the next node's gradient
      release(pass.done);
      const visit: Visited = { saved: node.saved ?? [], dys, given: new Set() };
      pass.done = visit;
      const thunks = gradient(dys);
      const counted: GradientThunks = {};
      for (const [name, thunk] of Object.entries(thunks)) {
        counted[name] = () => {
          const dx = thunk();
          visit.given.add(dx);
          return dx;
        };
      }
      return counted;
    };
  };
}
