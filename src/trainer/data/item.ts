import { cropRgb, remapBilinear, remapPadded } from './remap';
import { cropResize, decodeAtMost, decodeCenterCrop, decodeLongSide, decodeShortSide, decodeSquish, type RgbImage } from './decode';
import { hasGeometry, lightingTable, mul, outputToSource, type AugmentParams, type Mat3 } from './augment';
import { rrcValidSide, type Preprocessing } from '../../protocol/preprocessing';
import { outputToPresize, presizeToSource, randomResizedCropBox, resizeBox, rrcRng, type AugmentV2, type PadMode, type ResizeMethod } from './transforms';

export type ImageNorm = { mean: [number, number, number]; std: [number, number, number] };

export const IMAGENET_STATS: ImageNorm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** How one item is turned into pixels: fastai v1's get_transforms (augment null: validation centre crop) or v2's. */
export type ItemPlan = V1Plan | V2Plan;
export type V1Plan = { file: string; size: number; augment: AugmentParams | null };

/** fastai v2: item_tfms (Resize to presize, or RandomResizedCrop to size), then batch_tfms (aug_transforms) to size. */
export interface V2Plan {
  file: string;
  size: number;
  item:
    | { kind: 'resize'; method: ResizeMethod; presize: number; pcts: [number, number] }
    /** key: the (seed, epoch, index) the box is drawn from in the worker (it needs the image's size); null on validation. */
    | { kind: 'randomResizedCrop'; minScale: number; key: [number, number, number] | null };
  /** aug_transforms' draws for this item; null: none (validation, aug none). */
  batch: AugmentV2 | null;
  padMode: PadMode;
}

export function isV2Plan(plan: ItemPlan): plan is V2Plan {
  return 'item' in plan;
}

export interface ItemPixels {
  /** size×size×3 8-bit RGB after geometry. */
  rgb: Uint8Array;
  /** 0..1 value for each 8-bit value after lighting. */
  lighting: Float32Array;
}

const IDENTITY_LIGHTING = lightingTable(0.5, 1);

/**
 * The validation view of an item (no draws): what the validation loader renders for `file`, and
 * what every predict path renders for its image (the same plan, the same code below).
 */
export function validationPlan(file: string, size: number, view: InferenceView, presize = size): V2Plan {
  const padMode = view.padMode ?? 'reflection';
  if (view.method === 'randomResizedCrop') return { file, size, padMode, item: { kind: 'randomResizedCrop', minScale: 1, key: null }, batch: null };
  return { file, size, padMode, item: { kind: 'resize', method: view.method, presize, pcts: [0.5, 0.5] }, batch: null };
}

/** The part of the recorded preprocessing that decides the pixels' geometry. */
export type InferenceView = Pick<Preprocessing, 'method' | 'padMode'>;
export const CENTRE_CROP_VIEW: InferenceView = { method: 'crop' };

/**
 * Decodes and transforms one image; throws (with sharp's reason) when the file cannot be decoded.
 * `input` replaces plan.file (encoded bytes for predict).
 */
export async function renderItem(plan: ItemPlan, input: string | Buffer = plan.file): Promise<ItemPixels> {
  if (isV2Plan(plan)) return renderV2(plan, input);
  const { size, augment } = plan;
  if (!augment) return { rgb: (await decodeCenterCrop(input, size)).data, lighting: IDENTITY_LIGHTING };
  const img = await decodeShortSide(input, size);
  let rgb: Uint8Array;
  if (hasGeometry(augment)) {
    rgb = remapBilinear(img.data, img.width, img.height, outputToSource(augment, size, img.width, img.height), size);
  } else {
    const ox = Math.round((img.width - size) * augment.cropCol);
    const oy = Math.round((img.height - size) * augment.cropRow);
    rgb = cropRgb(img.data, img.width, ox, oy, size, augment.flip);
  }
  const lighting = augment.brightness === 0.5 && augment.contrast === 1 ? IDENTITY_LIGHTING : lightingTable(augment.brightness, augment.contrast);
  return { rgb, lighting };
}

function lightingOf(brightness: number, contrast: number): Float32Array {
  return brightness === 0.5 && contrast === 1 ? IDENTITY_LIGHTING : lightingTable(brightness, contrast);
}

async function renderV2(plan: V2Plan, file: string | Buffer): Promise<ItemPixels> {
  const { size, item, batch, padMode } = plan;
  if (item.kind === 'randomResizedCrop') {
    if (!item.key) {
      const full = rrcValidSide(size);
      const sq = await decodeSquish(file, full);
      const off = Math.floor((full - size) / 2);
      return { rgb: cropRgb(sq.data, full, off, off, size, false), lighting: IDENTITY_LIGHTING };
    }
    // the box's distribution is scale-free, so it is drawn on an image decoded just large enough
    const img = await decodeAtMost(file, Math.ceil(size / Math.sqrt(item.minScale)));
    const box = randomResizedCropBox(img.width, img.height, rrcRng(...item.key), item.minScale);
    return { rgb: (await cropResize(img, box, size)).data, lighting: IDENTITY_LIGHTING };
  }
  // Without augmentation the item is resized straight to size (presize only matters for the batch step).
  const presize = batch ? item.presize : size;
  if (!batch && item.method === 'crop' && item.pcts[0] === 0.5 && item.pcts[1] === 0.5) {
    return { rgb: (await decodeCenterCrop(file, size)).data, lighting: IDENTITY_LIGHTING };
  }
  const img = await decodeForResize(file, item.method, presize);
  const box = resizeBox(img.width, img.height, item.method, item.pcts);
  let m: Mat3 = presizeToSource(box, presize);
  if (batch) m = mul(m, outputToPresize(batch, size, presize));
  return { rgb: remapPadded(img.data, img.width, img.height, m, size, padMode), lighting: batch ? lightingOf(batch.brightness, batch.contrast) : IDENTITY_LIGHTING };
}

/** Decoded so that Resize's box is presize pixels wide: the short side (crop), the long side (pad) or both (squish). */
function decodeForResize(file: string | Buffer, method: ResizeMethod, presize: number): Promise<RgbImage> {
  if (method === 'squish') return decodeSquish(file, presize);
  return method === 'crop' ? decodeShortSide(file, presize) : decodeLongSide(file, presize);
}

/** Lighting + normalisation, written as float32 HWC into `out` at `offset`. */
export function writeNormalized(px: ItemPixels, norm: ImageNorm, out: Float32Array, offset: number): void {
  const tables = [0, 1, 2].map((c) => px.lighting.map((v) => (v - norm.mean[c]) / norm.std[c]));
  const [t0, t1, t2] = tables;
  const { rgb } = px;
  for (let i = 0, o = offset; i < rgb.length; i += 3, o += 3) {
    out[o] = t0[rgb[i]];
    out[o + 1] = t1[rgb[i + 1]];
    out[o + 2] = t2[rgb[i + 2]];
  }
}

/** Lighting applied in 8 bits, for thumbnails. */
export function toDisplayRgb(px: ItemPixels): Uint8Array {
  const out = new Uint8Array(px.rgb.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(px.lighting[px.rgb[i]] * 255);
  return out;
}

/**
 * The validation transform for a single image (file or encoded bytes): what inference must do
 * so that predictions see exactly what validation saw. float32 HWC, normalised.
 */
export async function loadImageForInference(input: string | Buffer, size: number, norm: ImageNorm = IMAGENET_STATS, view: InferenceView = CENTRE_CROP_VIEW): Promise<Float32Array> {
  const out = new Float32Array(size * size * 3);
  const plan = validationPlan(typeof input === 'string' ? input : '<image buffer>', size, view);
  writeNormalized(await renderItem(plan, input), norm, out, 0);
  return out;
}
