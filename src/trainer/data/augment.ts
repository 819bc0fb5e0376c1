import { Rng, Stream } from './random';
import type { TransformOptions } from './types';

/** fastai v1 get_transforms() defaults (see docs/lesson1-reference.md). */
export const DEFAULT_TRANSFORMS: TransformOptions = {
  doFlip: true,
  maxRotate: 10,
  maxZoom: 1.1,
  maxWarp: 0.2,
  maxLighting: 0.2,
  pAffine: 0.75,
  pLighting: 0.75,
};

export function resolveTransforms(tfms: Partial<TransformOptions> | false | undefined): TransformOptions | null {
  if (tfms === false) return null;
  return { ...DEFAULT_TRANSFORMS, ...(tfms ?? {}) };
}

/**
 * The random choices for one training item in one epoch. Plain data, so it can be sent to a
 * worker, logged, or replayed. Angles in degrees; coordinates in fastai's [-1, 1] space.
 */
export interface AugmentParams {
  /** Position of the size×size crop in the resized image, 0..1 each (fastai rand_crop). */
  cropRow: number;
  cropCol: number;
  flip: boolean;
  /** symmetric_warp magnitudes (4), or null when not drawn. */
  warp: [number, number, number, number] | null;
  rotate: number;
  /** rand_zoom: scale ≥ 1 and the zoom centre, 0..1 each. */
  zoom: { scale: number; row: number; col: number } | null;
  /** brightness `change` (0.5 = none) and contrast `scale` (1 = none), applied in logit space. */
  brightness: number;
  contrast: number;
}

export const NO_AUGMENT: AugmentParams = { cropRow: 0.5, cropCol: 0.5, flip: false, warp: null, rotate: 0, zoom: null, brightness: 0.5, contrast: 1 };

/**
 * Draws one item's augmentation from a generator keyed by (seed, epoch, index), so the result
 * depends on nothing else (not worker count, batch size or processing order). Every value is
 * drawn whether or not its transform is enabled, so switching one transform off leaves the
 * others' draws unchanged.
 */
export function sampleAugment(t: TransformOptions, seed: number, epoch: number, index: number): AugmentParams {
  const r = new Rng(seed, Stream.augment, epoch, index);
  const cropRow = r.next();
  const cropCol = r.next();
  const flip = r.bernoulli(0.5);
  const warpOn = r.bernoulli(t.pAffine);
  const warp: [number, number, number, number] = [0, 0, 0, 0].map(() => r.uniform(-t.maxWarp, t.maxWarp)) as [number, number, number, number];
  const rotateOn = r.bernoulli(t.pAffine);
  const rotate = r.uniform(-t.maxRotate, t.maxRotate);
  const zoomOn = r.bernoulli(t.pAffine);
  const zoom = { scale: r.uniform(1, Math.max(1, t.maxZoom)), row: r.next(), col: r.next() };
  const brightnessOn = r.bernoulli(t.pLighting);
  const brightness = r.uniform(0.5 * (1 - t.maxLighting), 0.5 * (1 + t.maxLighting));
  const contrastOn = r.bernoulli(t.pLighting);
  const lo = 1 - t.maxLighting;
  const contrast = lo > 0 && lo < 1 ? r.logUniform(lo, 1 / lo) : (r.next(), 1);
  return {
    cropRow,
    cropCol,
    flip: t.doFlip && flip,
    warp: warpOn && t.maxWarp > 0 ? warp : null,
    rotate: rotateOn && t.maxRotate > 0 ? rotate : 0,
    zoom: zoomOn && t.maxZoom > 1 ? zoom : null,
    brightness: brightnessOn && t.maxLighting > 0 ? brightness : 0.5,
    contrast: contrastOn && t.maxLighting > 0 ? contrast : 1,
  };
}

export function hasGeometry(p: AugmentParams): boolean {
  return p.warp !== null || p.rotate !== 0 || p.zoom !== null;
}

export type Mat3 = [number, number, number, number, number, number, number, number, number];

export const mul = (a: Mat3, b: Mat3): Mat3 => {
  const o = new Array(9).fill(0) as Mat3;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) o[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return o;
};

/**
 * The 3×3 homography from an output pixel (u, v) of the size×size crop to a source pixel
 * (x, y) in the resized srcW×srcH image (pixel centres at integers). Composed as fastai v1 does
 * on its sampling grid: output coords → symmetric_warp → rotate·zoom → horizontal flip →
 * crop offset; all coordinate transforms become one resample, as in fastai's single
 * grid_sample.
 */
export function outputToSource(p: AugmentParams, size: number, srcW: number, srcH: number): Mat3 {
  const ox = Math.round((srcW - size) * p.cropCol);
  const oy = Math.round((srcH - size) * p.cropRow);
  // pixel (u,v) → normalised [-1,1] with align_corners=false
  const toNorm: Mat3 = [2 / size, 0, 1 / size - 1, 0, 2 / size, 1 / size - 1, 0, 0, 1];
  const toPixel: Mat3 = [size / 2, 0, size / 2 - 0.5 + ox, 0, size / 2, size / 2 - 0.5 + oy, 0, 0, 1];
  let m: Mat3 = toNorm;
  if (p.warp) m = mul(warpHomography(p.warp), m);
  if (p.rotate !== 0) {
    const a = (p.rotate * Math.PI) / 180;
    m = mul([Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1], m);
  }
  if (p.zoom) {
    const s = 1 - 1 / p.zoom.scale;
    m = mul([1 / p.zoom.scale, 0, s * (2 * p.zoom.col - 1), 0, 1 / p.zoom.scale, s * (2 * p.zoom.row - 1), 0, 0, 1], m);
  }
  if (p.flip) m = mul([-1, 0, 0, 0, 1, 0, 0, 0, 1], m);
  return mul(toPixel, m);
}

/** fastai v1 symmetric_warp: the corners move by the four magnitudes; the perspective map between them. */
export function warpHomography(mag: [number, number, number, number]): Mat3 {
  const orig: [number, number][] = [[-1, -1], [-1, 1], [1, -1], [1, 1]];
  const targ: [number, number][] = [
    [-1 - mag[3], -1 - mag[1]],
    [-1 - mag[2], 1 + mag[1]],
    [1 + mag[3], -1 - mag[0]],
    [1 + mag[2], 1 + mag[0]],
  ];
  return homographyFromPoints(orig, targ);
}

/** The homography taking each from[i] to to[i] (4 point pairs; 8×8 linear solve). */
export function homographyFromPoints(from: [number, number][], to: [number, number][]): Mat3 {
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i];
    const [u, v] = to[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  const h = solve(a, b);
  return [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1];
}

function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/**
 * fastai's lighting on 0..1 values: brightness adds logit(change) and contrast multiplies, both
 * in logit space, then sigmoid. A per-value function, so it is a 256-entry table.
 */
export function lightingTable(brightness: number, contrast: number): Float32Array {
  const t = new Float32Array(256);
  const shift = logit(brightness);
  for (let v = 0; v < 256; v++) {
    t[v] = brightness === 0.5 && contrast === 1 ? v / 255 : 1 / (1 + Math.exp(-(logit(v / 255) + shift) * contrast));
  }
  return t;
}

function logit(x: number): number {
  const c = Math.min(Math.max(x, 1e-7), 1 - 1e-7);
  return Math.log(c / (1 - c));
}
