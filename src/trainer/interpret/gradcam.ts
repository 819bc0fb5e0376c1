// Grad-CAM (Selvaraju et al.), as fastai's plot_top_losses(heatmap=True) draws it: the gradient of
// one class score with respect to the last conv block's activations A, averaged over space to give
// one weight per channel, then ReLU(Σ_c w_c·A_c), upsampled to the image and drawn in 'magma' over it.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build registers no gradients; the union package registers them on this core.
import '@tensorflow/tfjs';
import sharp from 'sharp';
import type { ClassifierModel } from '../models/types';
import { magma } from './colormap';
import { InterpretError } from './errors';
import { loadModelInput, type ModelInput, type Normalization } from './image-input';
import { argmax } from './interpretation';

export interface GradCamMap {
  classIndex: number;
  /** The class's logit and softmax probability for this image. */
  score: number;
  probability: number;
  /** Predicted class (argmax), whatever class the map was computed for. */
  predicted: number;
  /** ReLU(Σ w·A) at the feature resolution, row-major [rawHeight, rawWidth], not rescaled. */
  raw: Float32Array;
  rawHeight: number;
  rawWidth: number;
  /** Bilinearly upsampled to the input (height×width) and divided by its max: 0..1 (all 0 if the map is 0). */
  map: Float32Array;
  height: number;
  width: number;
}

/**
 * Grad-CAM for one normalised NHWC image (x: size*size*3) in eval mode. classIndex defaults to
 * the predicted class.
 */
export function computeGradCam(model: ClassifierModel, x: Float32Array, size: number, opts: { classIndex?: number } = {}): GradCamMap {
  if (x.length !== size * size * 3) {
    throw new InterpretError(`Grad-CAM input has ${x.length} values; expected ${size}×${size}×3 = ${size * size * 3}.`);
  }
  const numClasses = model.config.numClasses;
  if (opts.classIndex !== undefined && (!Number.isInteger(opts.classIndex) || opts.classIndex < 0 || opts.classIndex >= numClasses)) {
    throw new InterpretError(`Class index ${opts.classIndex} is out of range; the model has ${numClasses} classes (0..${numClasses - 1}).`);
  }
  const out = tf.tidy(() => {
    const input = tf.tensor4d(x, [1, size, size, 3]);
    const acts = model.features(input, false);
    const logits = model.head(acts, false);
    const logitValues = logits.dataSync();
    const predicted = argmax(logitValues);
    const cls = opts.classIndex ?? predicted;
    const probability = tf.softmax(logits).dataSync()[cls];
    const scoreOf = (a: tf.Tensor): tf.Tensor => tf.sum(tf.slice(model.head(a as tf.Tensor4D, false), [0, cls], [1, 1]));
    const grads = tf.grad(scoreOf)(acts);
    const weights = tf.mean(grads, [1, 2], true); // [1,1,1,c]: one weight per channel
    const cam = tf.relu(tf.sum(tf.mul(acts, weights), 3, true)); // [1,h,w,1]
    const up = tf.image.resizeBilinear(cam as tf.Tensor4D, [size, size], false, true);
    return {
      cls,
      predicted,
      score: logitValues[cls],
      probability,
      raw: cam.dataSync() as Float32Array,
      rawHeight: cam.shape[1] as number,
      rawWidth: cam.shape[2] as number,
      up: up.dataSync() as Float32Array,
    };
  });
  let max = 0;
  for (const v of out.up) if (v > max) max = v;
  const map = new Float32Array(out.up.length);
  if (max > 0) for (let i = 0; i < map.length; i++) map[i] = Math.max(0, out.up[i]) / max;
  return {
    classIndex: out.cls,
    score: out.score,
    probability: out.probability,
    predicted: out.predicted,
    raw: Float32Array.from(out.raw),
    rawHeight: out.rawHeight,
    rawWidth: out.rawWidth,
    map,
    height: size,
    width: size,
  };
}

export interface OverlayOptions {
  /** Opacity of the colour map over the image (fastai draws it at 0.6). */
  alpha?: number;
  /** Side of the output PNG in pixels (default: the input size, at least 224 so small inputs stay visible). */
  outSize?: number;
}

/** PNG of the magma-coloured map blended over the RGB crop (both size×size). */
export async function renderOverlayPng(rgb: Uint8Array, map: Float32Array, size: number, opts: OverlayOptions = {}): Promise<Buffer> {
  const alpha = opts.alpha ?? 0.6;
  const px = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const c = magma(map[i]);
    for (let ch = 0; ch < 3; ch++) px[i * 3 + ch] = Math.round((1 - alpha) * rgb[i * 3 + ch] + alpha * c[ch]);
  }
  const outSize = opts.outSize ?? Math.max(size, 224);
  let img = sharp(px, { raw: { width: size, height: size, channels: 3 } });
  if (outSize !== size) img = img.resize(outSize, outSize, { kernel: 'cubic' });
  return img.png().toBuffer();
}

/** What a learner offers for Grad-CAM (structural, so any Learner class fits). */
export interface GradCamSource {
  model: ClassifierModel;
  data: { classes: string[]; size: number; normalize: Normalization };
}

export interface GradCamImage extends GradCamMap {
  file: string;
  className: string;
  predictedName: string;
  /** The overlay as PNG bytes. */
  png: Buffer;
}

/** Load a file as the validation set would, compute its Grad-CAM and render the overlay. */
export async function gradCamForFile(
  source: GradCamSource,
  file: string,
  opts: { classIndex?: number; input?: ModelInput } & OverlayOptions = {},
): Promise<GradCamImage> {
  const size = source.data.size;
  const input = opts.input ?? (await loadModelInput(file, size, source.data.normalize));
  const cam = computeGradCam(source.model, input.x, input.size, { classIndex: opts.classIndex });
  const png = await renderOverlayPng(input.rgb, cam.map, input.size, opts);
  return { ...cam, file, className: source.data.classes[cam.classIndex], predictedName: source.data.classes[cam.predicted], png };
}
