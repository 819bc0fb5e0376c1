// Inference preprocessing: fastai's validation transform (resize the short side to `size`, centre
// crop to size×size), RGB 0..1, normalised, as float32 HWC.
// TODO: use the data pipeline's own validation transform once src/trainer/data exports one, so
// training and inference can never drift apart.
import sharp from 'sharp';
import { LearnerError } from './errors';

export interface Preprocessing {
  size: number;
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  /** How the image becomes square: fastai's default validation transform. */
  resize: 'short-side';
  crop: 'center';
}

export async function loadImageTensorData(input: string | Buffer, p: Preprocessing): Promise<Float32Array> {
  const label = typeof input === 'string' ? input : '<image buffer>';
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(input)
      .resize(p.size, p.size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new LearnerError(`Could not read image ${label}: ${(err as Error).message}`, {
      file: typeof input === 'string' ? input : undefined,
      fix: 'Pass a JPEG, PNG, WebP, GIF or TIFF image file',
    });
  }
  const { data, info } = raw;
  const ch = info.channels;
  const n = p.size * p.size;
  const out = new Float32Array(n * 3);
  const { mean, std } = p.normalize;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * ch + (ch >= 3 ? c : 0)] / 255;
      out[i * 3 + c] = (v - mean[c]) / std[c];
    }
  }
  return out;
}
