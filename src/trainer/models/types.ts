// Contract of the models: a resnet body + fastai head written as plain tf ops on tf.Variables
// (faster than tf.layers on wasm), with parameters tagged by layer group for freeze/unfreeze.
import type { Arch } from '../../protocol/arch';
import type * as tf from '@tensorflow/tfjs-core';

export type ArchName = Arch;

export interface ModelParam {
  /** torchvision state_dict-style name: 'body.layer1.0.conv1.weight', 'head.4.weight'. */
  name: string;
  variable: tf.Variable;
  /** Layer group: 0 = stem..layer2, 1 = layer3..layer4, 2 = head. */
  group: number;
  /** BatchNorm weight/bias: stays trainable in frozen groups (fastai train_bn=True). */
  isBn: boolean;
}

export interface ModelConfig {
  arch: ArchName;
  numClasses: number;
  /** Head dropout probabilities (fastai ps=0.5 → [0.25, 0.5]). */
  ps: [number, number];
}

export interface ClassifierModel {
  readonly config: ModelConfig;
  readonly params: ModelParam[];
  /** Non-trainable state (BN running mean/var), by the same naming scheme. */
  readonly buffers: Map<string, tf.Tensor>;
  readonly layerGroupCount: number; // 3
  /** Last conv block's activations [n,h,w,c] (Grad-CAM target); training=true uses batch stats. */
  features(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
  /** Head on the body's features → logits [n, c]. */
  head(features: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** features + head. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /**
   * After an optimiser step that used forward(x, true): fold the batch statistics recorded
   * during that forward into the BN running stats (torch momentum 0.1). Discards them if called
   * without a pending forward.
   */
  commitBatchStats(): void;
  /** Named weights as host arrays in NHWC/HWIO layout (for save/export). */
  stateDict(): Map<string, tf.Tensor>;
  loadStateDict(state: Map<string, tf.Tensor>, opts?: { strict?: boolean }): void;
  dispose(): void;
}
