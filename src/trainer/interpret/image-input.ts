// Loads one image the way the validation set sees it (fastai's default validation transform:
// resize the short side to `size`, centre crop, normalise), and also keeps the 8-bit RGB crop so
// heatmaps can be drawn over exactly the pixels the model saw.
import type sharp from 'sharp';
import { explainDecodeError, openImage } from '../data/decode';
import { UnsafeFileError } from '../io/bounded-read';
import { InterpretError } from './errors';

export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

export const IMAGENET_STATS: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface ModelInput {
  /** Normalised float pixels, NHWC for one image: size*size*3. */
  x: Float32Array;
  /** The 8-bit RGB crop the model saw: size*size*3. */
  rgb: Uint8Array;
  size: number;
}

/** Decoded, oriented, centre-cropped 8-bit RGB at size×size. */
export async function loadCenterCrop(file: string, size: number): Promise<Uint8Array> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await (await openImage(file, 'error'))
      .rotate() // apply EXIF orientation, as a viewer shows the photo
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof UnsafeFileError) throw new InterpretError(e.message, { file, fix: e.fix ?? 'pick an image file' });
    throw new InterpretError(`Cannot read image: ${explainDecodeError(e).message}`, {
      file,
      fix: 'check that the file exists and is a valid JPEG/PNG/WebP image, or remove it from the dataset',
    });
  }
  const { data, info } = out;
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  // Greyscale that sharp kept single-channel: repeat it into RGB, as the data pipeline does.
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const v = data[i * info.channels];
    rgb[i * 3] = v;
    rgb[i * 3 + 1] = v;
    rgb[i * 3 + 2] = v;
  }
  return rgb;
}

export function normalizeRgb(rgb: Uint8Array, norm: Normalization): Float32Array {
  const x = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const ch = i % 3;
    x[i] = (rgb[i] / 255 - norm.mean[ch]) / norm.std[ch];
  }
  return x;
}

export async function loadModelInput(file: string, size: number, norm: Normalization = IMAGENET_STATS): Promise<ModelInput> {
  const rgb = await loadCenterCrop(file, size);
  return { x: normalizeRgb(rgb, norm), rgb, size };
}
