import { cropRgb, remapBilinear } from './remap';
import { decodeCenterCrop, decodeShortSide } from './decode';
import { hasGeometry, lightingTable, outputToSource, type AugmentParams } from './augment';

export type ImageNorm = { mean: [number, number, number]; std: [number, number, number] };

export const IMAGENET_STATS: ImageNorm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** How one item is turned into pixels: validation (centre crop) or training (crop + augmentation). */
export type ItemPlan = { file: string; size: number; augment: AugmentParams | null };

export interface ItemPixels {
  /** size×size×3 8-bit RGB after geometry. */
  rgb: Uint8Array;
  /** 0..1 value for each 8-bit value after lighting. */
  lighting: Float32Array;
}

const IDENTITY_LIGHTING = lightingTable(0.5, 1);

/** Decodes and transforms one image; throws (with sharp's reason) when the file cannot be decoded. */
export async function renderItem(plan: ItemPlan): Promise<ItemPixels> {
  const { file, size, augment } = plan;
  if (!augment) return { rgb: (await decodeCenterCrop(file, size)).data, lighting: IDENTITY_LIGHTING };
  const img = await decodeShortSide(file, size);
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
export async function loadImageForInference(input: string | Buffer, size: number, norm: ImageNorm = IMAGENET_STATS): Promise<Float32Array> {
  const out = new Float32Array(size * size * 3);
  writeNormalized({ rgb: (await decodeCenterCrop(input, size)).data, lighting: IDENTITY_LIGHTING }, norm, out, 0);
  return out;
}
