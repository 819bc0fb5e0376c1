// fastai v2's transforms as plain numbers: Resize's crop/pad box, RandomResizedCrop's box and
// aug_transforms()'s draws, composed into one output→source homography so every geometric op
// (presize crop, flip, rotate, zoom, warp, min_scale crop) costs one bilinear resample.
// The pixels are made in item.ts; formulas follow fastai/vision/augment.py (docs/data.md).
import type { PadMode, ResizeMethod } from '../../protocol/dataset';
import { RRC_VAL_XTRA } from '../../protocol/preprocessing';
import { homographyFromPoints, mul, type Mat3 } from './augment';
import { Rng, Stream } from './random';
import type { TransformOptions } from './types';

/** A rectangle in pixels of some image: top-left corner and size. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** fastai RandomResizedCrop defaults. */
export const RRC_DEFAULTS = { minScale: 0.08, ratio: [3 / 4, 4 / 3] as [number, number], valXtra: RRC_VAL_XTRA };

/** Python's random.randint(a, b): both ends included. */
function randint(r: Rng, a: number, b: number): number {
  return a + r.int(b - a + 1);
}

/**
 * RandomResizedCrop.before_call on a w×h image (training): up to 10 tries of an area fraction
 * U(minScale, 1) and a log-uniform aspect ratio, kept when the box fits, placed uniformly; else the
 * centred largest box with the ratio clipped to `ratio`.
 */
export function randomResizedCropBox(w: number, h: number, r: Rng, minScale = RRC_DEFAULTS.minScale, ratio: [number, number] = RRC_DEFAULTS.ratio): Box {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = r.uniform(minScale, 1) * w * h;
    const aspect = Math.exp(r.uniform(Math.log(ratio[0]), Math.log(ratio[1])));
    const nw = Math.round(Math.sqrt(area * aspect));
    const nh = Math.round(Math.sqrt(area / aspect));
    if (nw >= 1 && nh >= 1 && nw <= w && nh <= h) return { left: randint(r, 0, w - nw), top: randint(r, 0, h - nh), width: nw, height: nh };
  }
  let cw = w;
  let ch = h;
  if (w / h < ratio[0]) ch = Math.trunc(w / ratio[0]);
  else if (w / h > ratio[1]) cw = Math.trunc(h * ratio[1]);
  return { left: Math.floor((w - cw) / 2), top: Math.floor((h - ch) / 2), width: cw, height: ch };
}

/**
 * Resize(size, method).encodes' box in the w×h source: crop takes the largest centred-or-random
 * square inside, pad the smallest square around (negative left/top: padding). `pcts` is the random
 * position (0.5, 0.5 on validation). Squish uses the whole image.
 */
export function resizeBox(w: number, h: number, method: ResizeMethod, pcts: [number, number]): Box {
  if (method === 'squish') return { left: 0, top: 0, width: w, height: h };
  const side = method === 'crop' ? Math.min(w, h) : Math.max(w, h);
  return { left: Math.trunc(pcts[0] * (w - side)), top: Math.trunc(pcts[1] * (h - side)), width: side, height: side };
}

/** aug_transforms()'s random choices for one training item; the neutral value where a transform was not drawn. */
export interface AugmentV2 {
  /** Flip(p=0.5). */
  flip: boolean;
  /** Warp: perspective magnitudes (x, y), each drawn with p_affine; 0 = not drawn. */
  warp: { x: number; y: number };
  /** Rotate: degrees. */
  rotate: number;
  /** Zoom: factor ≥ 1 (1 = none) and the centre's position, 0..1 each. */
  zoom: { scale: number; col: number; row: number };
  /** Brightness `change` (0.5 = none) and Contrast factor (1 = none), in logit space. */
  brightness: number;
  contrast: number;
  /** min_scale < 1: RandomResizedCropGPU(size, min_scale, ratio=(1,1))'s box in presize pixels. */
  box: Box | null;
}

export interface AugmentV2Options extends TransformOptions {
  /** aug_transforms(min_zoom); 1 by default. */
  minZoom?: number;
  minScale: number;
  presize: number;
}

/**
 * Draws one item's aug_transforms() from a generator keyed by (seed, epoch, index), so batches
 * do not depend on worker count or order. Each affine transform is drawn with p_affine and each
 * lighting one with p_lighting independently, as fastai's per-transform masks; the values are drawn
 * whether or not a transform is on, so switching one off leaves the others unchanged.
 */
export function sampleAugmentV2(t: AugmentV2Options, seed: number, epoch: number, index: number): AugmentV2 {
  const r = new Rng(seed, Stream.augment, epoch, index, 2);
  const flip = r.bernoulli(0.5);
  const warpXOn = r.bernoulli(t.pAffine);
  const warpX = r.uniform(-t.maxWarp, t.maxWarp);
  const warpYOn = r.bernoulli(t.pAffine);
  const warpY = r.uniform(-t.maxWarp, t.maxWarp);
  const rotateOn = r.bernoulli(t.pAffine);
  const rotate = r.uniform(-t.maxRotate, t.maxRotate);
  const zoomOn = r.bernoulli(t.pAffine);
  const minZoom = t.minZoom ?? 1;
  const zoom = r.uniform(minZoom, Math.max(minZoom, t.maxZoom));
  const col = r.next();
  const row = r.next();
  const brightnessOn = r.bernoulli(t.pLighting);
  const brightness = r.uniform(0.5 * (1 - t.maxLighting), 0.5 * (1 + t.maxLighting));
  const contrastOn = r.bernoulli(t.pLighting);
  const lo = Math.log(1 - Math.min(t.maxLighting, 0.999));
  const contrast = Math.exp(r.uniform(lo, -lo));
  const zoomed = zoomOn && (minZoom < 1 || t.maxZoom > 1);
  return {
    flip: t.doFlip && flip,
    warp: { x: warpXOn ? warpX : 0, y: warpYOn ? warpY : 0 },
    rotate: rotateOn && t.maxRotate > 0 ? rotate : 0,
    zoom: zoomed ? { scale: zoom, col, row } : { scale: 1, col: 0.5, row: 0.5 },
    brightness: brightnessOn && t.maxLighting > 0 ? brightness : 0.5,
    contrast: contrastOn && t.maxLighting > 0 ? contrast : 1,
    box: t.minScale < 1 ? randomResizedCropBox(t.presize, t.presize, new Rng(seed, Stream.augment, epoch, index, 3), t.minScale, [1, 1]) : null,
  };
}

/** The item's random Resize position (fastai draws it per item; 0.5 on validation). */
export function sampleResizePcts(seed: number, epoch: number, index: number): [number, number] {
  const r = new Rng(seed, Stream.augment, epoch, index, 1);
  return [r.next(), r.next()];
}

/** The generator an item-level RandomResizedCrop draws its box from. */
export function rrcRng(seed: number, epoch: number, index: number): Rng {
  return new Rng(seed, Stream.augment, epoch, index, 4);
}

/** Pixel (align_corners=True) ↔ fastai's [-1, 1] coordinates of an n-pixel axis. */
const pixelToNorm = (n: number): Mat3 => [2 / (n - 1), 0, -1, 0, 2 / (n - 1), -1, 0, 0, 1];
const normToPixel = (n: number): Mat3 => [(n - 1) / 2, 0, (n - 1) / 2, 0, (n - 1) / 2, (n - 1) / 2, 0, 0, 1];

/** fastai's flip_mat · rotate_mat · zoom_mat: the matrix affine_grid applies to output coordinates. */
export function affineV2(a: AugmentV2): Mat3 {
  const flip: Mat3 = [a.flip ? -1 : 1, 0, 0, 0, 1, 0, 0, 0, 1];
  const t = (a.rotate * Math.PI) / 180;
  const rotate: Mat3 = [Math.cos(t), Math.sin(t), 0, -Math.sin(t), Math.cos(t), 0, 0, 0, 1];
  const s = 1 / a.zoom.scale;
  const zoom: Mat3 = [s, 0, (1 - s) * (2 * a.zoom.col - 1), 0, s, (1 - s) * (2 * a.zoom.row - 1), 0, 0, 1];
  return mul(mul(flip, rotate), zoom);
}

/** fastai v2 _WarpCoord: the perspective map taking the corners to their warped positions. */
export function warpV2(x: number, y: number): Mat3 {
  return homographyFromPoints(
    [[-1, -1], [-1, 1], [1, -1], [1, 1]],
    [[-1 - y, -1 - x], [-1 + y, 1 + x], [1 + y, -1 + x], [1 - y, 1 - x]],
  );
}

/**
 * Output pixel (u, v) of the size×size result → pixel (x, y) of the presize×presize item image:
 * [min_scale box] → flip·rotate·zoom → warp, as fastai composes them before its one grid_sample
 * (align_corners=True). Compose with the item's box (itemToSource) for the decoded image's pixels.
 */
export function outputToPresize(a: AugmentV2, size: number, presize: number): Mat3 {
  let m: Mat3;
  if (a.box) {
    const b = a.box;
    // output pixel → box pixel in the augmented presize image, then into [-1, 1]
    const sx = size > 1 ? (b.width - 1) / (size - 1) : 0;
    const sy = size > 1 ? (b.height - 1) / (size - 1) : 0;
    m = mul(pixelToNorm(presize), [sx, 0, b.left, 0, sy, b.top, 0, 0, 1]);
  } else {
    m = pixelToNorm(size);
  }
  m = mul(affineV2(a), m);
  if (a.warp.x !== 0 || a.warp.y !== 0) m = mul(warpV2(a.warp.x, a.warp.y), m);
  return mul(normToPixel(presize), m);
}

/**
 * Pixel of the presize×presize item image → pixel of the decoded image it came from: the item
 * Resize's box (a translation and a scale; negative offsets are Resize(pad)'s padding).
 */
export function presizeToSource(box: Box, presize: number): Mat3 {
  const sx = box.width / presize;
  const sy = box.height / presize;
  // pixel centres: presize pixel p covers [p, p+1) → source box coords (p + 0.5)·s − 0.5
  return [sx, 0, box.left + 0.5 * sx - 0.5, 0, sy, box.top + 0.5 * sy - 0.5, 0, 0, 1];
}

export type { PadMode, ResizeMethod };
