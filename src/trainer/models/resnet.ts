// torchvision's ResNet body (conv1, bn1, relu, maxpool, layer1..layer4; everything before avgpool)
// as plain tf ops on tf.Variables, NHWC, with torch's explicit symmetric padding: TF's 'same'
// pads stride-2 convs on the bottom/right only, which shifts every window relative to torch.
import { tf } from '../backend';
import type { ArchName } from './types';
import { BatchNorm, BN_EPS, type BatchNormSet } from './batchnorm';
import type { ParamStore } from './params';
import type { SeededRandom } from './random';

type BlockKind = 'basic' | 'bottleneck';

export const ARCHS: Record<ArchName, { block: BlockKind; layers: [number, number, number, number] }> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
};

const EXPANSION: Record<BlockKind, number> = { basic: 1, bottleneck: 4 };

/** fastai's layer groups for a resnet: stem..layer2 → 0, layer3..layer4 → 1. */
function groupOf(layer: number): number {
  return layer <= 2 ? 0 : 1;
}

class Conv {
  readonly weight: tf.Variable; // HWIO
  readonly pad: 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  constructor(
    store: ParamStore,
    rand: SeededRandom,
    name: string,
    k: number,
    cin: number,
    cout: number,
    readonly stride: number,
    padding: number,
    group: number,
  ) {
    // torchvision: kaiming_normal_(mode='fan_out', nonlinearity='relu') → std = √(2 / (k·k·cout))
    const std = Math.sqrt(2 / (k * k * cout));
    this.weight = store.param(`${name}.weight`, tf.tensor4d(rand.normal(k * k * cin * cout, std), [k, k, cin, cout]), group);
    this.pad = padding === 0 ? 'valid' : [[0, 0], [padding, padding], [padding, padding], [0, 0]];
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad);
  }
}

interface Block {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

class ConvBn {
  readonly conv: Conv;
  readonly bn: BatchNorm;
  constructor(
    store: ParamStore,
    rand: SeededRandom,
    bns: BatchNormSet,
    convName: string,
    bnName: string,
    k: number,
    cin: number,
    cout: number,
    stride: number,
    padding: number,
    group: number,
  ) {
    this.conv = new Conv(store, rand, convName, k, cin, cout, stride, padding, group);
    this.bn = new BatchNorm(store, bnName, cout, group, bns);
  }
  /** relu?(bn(conv(x)) + residual?) */
  apply(x: tf.Tensor4D, training: boolean, relu: boolean, residual?: tf.Tensor4D): tf.Tensor4D {
    if (!training && !isRecordingGradients()) return this.applyFolded(x, relu, residual);
    return this.bn.apply(this.conv.apply(x), training, { relu, residual });
  }

  private folded: { key: unknown[]; filter: tf.Tensor4D; bias: tf.Tensor1D } | null = null;

  /**
   * Inference: BN folded into the conv (w·s, β − μ·s with s = γ/√(σ²+ε)), one fused
   * conv+bias+relu kernel. The folded weights are cached until a parameter or running stat is
   * reassigned, so XNNPACK keeps its packed weights between batches too (refolding every call was
   * slower than the unfolded graph).
   */
  private applyFolded(x: tf.Tensor4D, relu: boolean, residual?: tf.Tensor4D): tf.Tensor4D {
    const { bn, conv } = this;
    const key = [conv.weight, bn.gamma, bn.beta, bn.runningMean, bn.runningVar].map((v) => v.dataId);
    if (!this.folded || key.some((k, i) => k !== this.folded!.key[i])) {
      this.disposeFolded();
      const [filter, bias] = tf.tidy(() => {
        const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.runningVar, BN_EPS)));
        return [tf.keep(tf.mul(conv.weight, scale) as tf.Tensor4D), tf.keep(tf.sub(bn.beta, tf.mul(bn.runningMean, scale)) as tf.Tensor1D)];
      });
      this.folded = { key, filter, bias };
    }
    const { filter, bias } = this.folded;
    if (residual) {
      const y = tf.fused.conv2d({ x, filter, strides: conv.stride, pad: conv.pad, bias });
      const sum = tf.add(y, residual) as tf.Tensor4D;
      return relu ? tf.relu(sum) : sum;
    }
    return tf.fused.conv2d({ x, filter, strides: conv.stride, pad: conv.pad, bias, activation: relu ? 'relu' : 'linear' });
  }

  disposeFolded(): void {
    if (this.folded) tf.dispose([this.folded.filter, this.folded.bias]);
    this.folded = null;
  }
}

/** Inside tf.grad / variableGrads: the unfolded graph, so gradients reach every parameter. */
function isRecordingGradients(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

function makeBlock(
  kind: BlockKind,
  store: ParamStore,
  rand: SeededRandom,
  bns: BatchNormSet,
  p: string,
  cin: number,
  planes: number,
  stride: number,
  group: number,
  track: (c: ConvBn) => ConvBn,
): Block {
  const cout = planes * EXPANSION[kind];
  const cb = (i: number, k: number, ci: number, co: number, s: number, pad: number) =>
    track(new ConvBn(store, rand, bns, `${p}.conv${i}`, `${p}.bn${i}`, k, ci, co, s, pad, group));
  const downsample =
    stride !== 1 || cin !== cout
      ? track(new ConvBn(store, rand, bns, `${p}.downsample.0`, `${p}.downsample.1`, 1, cin, cout, stride, 0, group))
      : null;
  const convs =
    kind === 'basic'
      ? [cb(1, 3, cin, planes, stride, 1), cb(2, 3, planes, planes, 1, 1)]
      : // torchvision v1.5 bottleneck: the stride sits on the 3×3 conv
        [cb(1, 1, cin, planes, 1, 0), cb(2, 3, planes, planes, stride, 1), cb(3, 1, planes, cout, 1, 0)];
  return {
    apply(x, training) {
      const identity = downsample ? downsample.apply(x, training, false) : x;
      let h: tf.Tensor4D = x;
      // the last conv's norm takes the residual add and the block's ReLU (one fused op on torch)
      convs.forEach((c, i) => (h = i < convs.length - 1 ? c.apply(h, training, true) : c.apply(h, training, true, identity)));
      return h;
    },
  };
}

export interface ResNetBody {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
  readonly channels: number;
  /** Frees the cached folded inference weights (the parameters belong to the ParamStore). */
  dispose(): void;
}

export function buildResNetBody(
  arch: ArchName,
  store: ParamStore,
  rand: SeededRandom,
  bns: BatchNormSet,
  prefix = 'body',
): ResNetBody {
  const { block, layers } = ARCHS[arch];
  const convBns: ConvBn[] = [];
  const track = (c: ConvBn) => (convBns.push(c), c);
  const stem = track(new ConvBn(store, rand, bns, `${prefix}.conv1`, `${prefix}.bn1`, 7, 3, 64, 2, 3, 0));
  const blocks: Block[] = [];
  let cin = 64;
  layers.forEach((count, li) => {
    const planes = 64 * 2 ** li;
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && li > 0 ? 2 : 1;
      blocks.push(makeBlock(block, store, rand, bns, `${prefix}.layer${li + 1}.${b}`, cin, planes, stride, groupOf(li + 1), track));
      cin = planes * EXPANSION[block];
    }
  });
  return {
    channels: cin,
    dispose: () => convBns.forEach((c) => c.disposeFolded()),
    apply(x, training) {
      let h = stem.apply(x, training, true);
      // maxpool(3, stride 2, padding 1): implicit −∞ padding, as torch
      h = tf.maxPool(h, 3, 2, 1);
      for (const b of blocks) h = b.apply(h, training);
      return h;
    },
  };
}
