// AdamW as fastai uses it: decoupled weight decay (true_wd: p ← p·(1 − lr·wd)), Adam moments with
// the scheduled momentum as beta1, bias correction as torch's Adam, per-layer-group lr and mom.
import { tf, onTorch, torchAdamW, type AdamWItem } from '../backend';
import type { ModelParam } from '../models/types';
import { DEFAULT_LR } from '../../protocol/lr';

export interface AdamWOptions {
  /** beta2 (fastai sqr_mom). */
  sqrMom?: number; // 0.99
  eps?: number; // 1e-5
  wd?: number; // 1e-2
  /**
   * Weight decay on BatchNorm params and biases too. fastai v1 (the lesson) defaults bn_wd=True and
   * decays every parameter; false exempts them, as v1's bn_wd=False and v2's wd_bn_bias=False do.
   */
  bnWd?: boolean; // true
  nGroups: number;
}

/**
 * A moment variable owning `t`'s data alone: tf.variable shares the data and adds a reference, so
 * an undisposed `t` kept the zeros alive for good (two param-sized copies of the model, 170 MB on
 * resnet34) and, holding a second reference, kept the torch AdamW from updating in place.
 */
function stateVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

interface ParamState {
  step: number;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** One param's update in a step: its state (step already counted) and the hyper-parameters for it. */
interface ParamUpdate {
  p: ModelParam;
  st: ParamState;
  grad: tf.Tensor;
  lr: number;
  mom: number;
  wd: number;
  debias1: number;
  debias2: number;
}

/** Host-side copy of the optimiser state (for checkpoints and lr_find's restore). */
export interface AdamWState {
  steps: Record<string, number>;
  expAvg: Map<string, tf.Tensor>;
  expAvgSq: Map<string, tf.Tensor>;
}

/** The params fastai exempts from weight decay when asked (its norm_bias_params): BatchNorm's and every bias. */
const isBnOrBias = (p: ModelParam) => p.isBn || p.name.endsWith('.bias');

export class AdamW {
  /** Current lr per layer group (set by the schedulers before each step). */
  lrs: number[];
  /** Current beta1 per layer group. */
  moms: number[];
  wd: number;
  readonly sqrMom: number;
  readonly eps: number;
  /** Set per run by the learner: v1 verbs decay BN/bias params, fine_tune (v2) does not. */
  bnWd: boolean;
  private readonly state = new Map<string, ParamState>();

  constructor(private readonly params: readonly ModelParam[], opts: AdamWOptions) {
    this.sqrMom = opts.sqrMom ?? 0.99;
    this.eps = opts.eps ?? 1e-5;
    this.wd = opts.wd ?? 1e-2;
    this.bnWd = opts.bnWd ?? true;
    this.lrs = new Array<number>(opts.nGroups).fill(DEFAULT_LR); // until the schedule sets them
    this.moms = new Array<number>(opts.nGroups).fill(0.9);
  }

  setMom(mom: number): void {
    this.moms = this.moms.map(() => mom);
  }

  /**
   * One update for every param that has a gradient in `grads` (keyed by tf variable name).
   * Params without a gradient (frozen) are left alone, their step count included.
   */
  step(grads: Record<string, tf.Tensor | null>): void {
    const updates = this.updates(grads);
    if (onTorch()) return this.stepFused(updates);
    for (const { p, st, grad: g, lr, mom, wd, debias1, debias2 } of updates) {
      tf.tidy(() => {
        const m = tf.add(tf.mul(st.expAvg, mom), tf.mul(g, 1 - mom));
        const v = tf.add(tf.mul(st.expAvgSq, this.sqrMom), tf.mul(tf.square(g), 1 - this.sqrMom));
        const decayed = wd !== 0 ? tf.mul(p.variable, 1 - lr * wd) : p.variable;
        const denom = tf.add(tf.sqrt(tf.div(v, debias2)), this.eps);
        const next = tf.sub(decayed, tf.mul(tf.div(m, denom), lr / debias1));
        st.expAvg.assign(m);
        st.expAvgSq.assign(v);
        p.variable.assign(next);
      });
    }
  }

  /** The params this step updates, each with its step counted and this step's hyper-parameters. */
  private updates(grads: Record<string, tf.Tensor | null>): ParamUpdate[] {
    const out: ParamUpdate[] = [];
    for (const p of this.params) {
      const grad = grads[p.variable.name];
      if (!grad) continue;
      const st = this.stateOf(p);
      st.step += 1;
      const mom = this.moms[p.group];
      out.push({
        p, st, grad, lr: this.lrs[p.group], mom,
        wd: !this.bnWd && isBnOrBias(p) ? 0 : this.wd,
        debias1: 1 - Math.pow(mom, st.step), debias2: 1 - Math.pow(this.sqrMom, st.step),
      });
    }
    return out;
  }

  /** The same update for every param in one native call (the torch backend's fused AdamW). */
  private stepFused(updates: ParamUpdate[]): void {
    if (!updates.length) return;
    const items: AdamWItem[] = updates.map(({ p, st, grad, lr, mom, wd, debias1, debias2 }) => ({ param: p.variable, grad, expAvg: st.expAvg, expAvgSq: st.expAvgSq, lr, mom, wd, debias1, debias2 }));
    tf.tidy(() => {
      const out = torchAdamW(items, this.sqrMom, this.eps)!;
      out.forEach(([next, m, v], i) => {
        updates[i].st.expAvg.assign(m);
        updates[i].st.expAvgSq.assign(v);
        updates[i].p.variable.assign(next);
      });
    });
  }

  private stateOf(p: ModelParam): ParamState {
    let st = this.state.get(p.name);
    if (!st) {
      st = {
        step: 0,
        expAvg: stateVariable(tf.zerosLike(p.variable)),
        expAvgSq: stateVariable(tf.zerosLike(p.variable)),
      };
      this.state.set(p.name, st);
    }
    return st;
  }

  /** Copies of the state tensors (caller disposes them). */
  getState(): AdamWState {
    const out: AdamWState = { steps: {}, expAvg: new Map(), expAvgSq: new Map() };
    for (const [name, st] of this.state) {
      out.steps[name] = st.step;
      out.expAvg.set(name, tf.clone(st.expAvg));
      out.expAvgSq.set(name, tf.clone(st.expAvgSq));
    }
    return out;
  }

  /** Replaces the whole state; params missing from `s` start fresh. Shapes must match. */
  setState(s: AdamWState): void {
    this.reset();
    const byName = new Map(this.params.map((p) => [p.name, p]));
    for (const [name, step] of Object.entries(s.steps)) {
      const p = byName.get(name);
      const m = s.expAvg.get(name);
      const v = s.expAvgSq.get(name);
      if (!p || !m || !v) continue;
      if (!tf.util.arraysEqual(m.shape, p.variable.shape) || !tf.util.arraysEqual(v.shape, p.variable.shape)) {
        throw new Error(`Optimizer state for '${name}' has shape [${m.shape}] but the parameter is [${p.variable.shape}]`);
      }
      this.state.set(name, { step, expAvg: stateVariable(tf.clone(m)), expAvgSq: stateVariable(tf.clone(v)) });
    }
  }

  /** Forget all moments (a fresh optimiser). */
  reset(): void {
    for (const st of this.state.values()) {
      st.expAvg.dispose();
      st.expAvgSq.dispose();
    }
    this.state.clear();
  }

  dispose(): void {
    this.reset();
  }
}
