// Inference preprocessing: the data pipeline's validation view (the run's Resize method or
// RandomResizedCrop's centre view, then the normalisation), so predictions see exactly what
// validation saw. The shape is src/protocol/preprocessing.ts.
import { loadImageForInference, type InferenceView } from '../data/item';
import { bunchSettings } from '../data/databunch';
import { inferenceViewOf, resolvePipeline } from '../data/pipeline';
import type { TransformSpec } from '../../protocol/dataset';
import type { DataBunch } from '../data/types';
import type { Preprocessing } from '../../protocol/preprocessing';
import { LearnerError } from './errors';

export type { Preprocessing };

/** What a learner on `data` records for inference; a bunch not made by createDataBunch validates with the centre crop. */
export function preprocessingOf(data: Pick<DataBunch, 'size' | 'normalize'>): Preprocessing {
  const pipeline = bunchSettings(data as DataBunch)?.pipeline;
  return { size: data.size, normalize: data.normalize, ...(pipeline ? inferenceViewOf(pipeline) : { method: 'crop' }) };
}

/** The validation view that transform settings give (undefined when they do not resolve). */
export function viewOfTransforms(spec: TransformSpec, size: number): InferenceView | undefined {
  try {
    return inferenceViewOf(resolvePipeline(spec, size));
  } catch {
    return undefined;
  }
}

export function describeView(v: InferenceView): string {
  return v.method === 'pad' ? `pad (${v.padMode ?? 'reflection'})` : v.method;
}

/** float32 HWC, normalised, size×size×3. */
export async function loadImageTensorData(input: string | Buffer, p: Preprocessing): Promise<Float32Array> {
  try {
    return await loadImageForInference(input, p.size, p.normalize, p);
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
