// Inference preprocessing: the data pipeline's validation transform (resize the short side to
// `size`, centre crop), so predictions see exactly what validation saw.
import { loadImageForInference } from '../data/item';
import { LearnerError } from './errors';

export interface Preprocessing {
  size: number;
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  /** How the image becomes square: fastai's default validation transform. */
  resize: 'short-side';
  crop: 'center';
}

/** float32 HWC, normalised, size×size×3. */
export async function loadImageTensorData(input: string | Buffer, p: Preprocessing): Promise<Float32Array> {
  try {
    return await loadImageForInference(input, p.size, p.normalize);
  } catch (err) {
    const e = err as Error & { file?: string; fix?: string };
    if (e.fix) throw err;
    const file = typeof input === 'string' ? input : undefined;
    throw new LearnerError(`Could not read image ${file ?? '<image buffer>'}: ${e.message}`, {
      file,
      fix: 'Pass a JPEG, PNG, WebP, GIF or TIFF image file',
    });
  }
}
