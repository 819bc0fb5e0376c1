import { renderItem, writeNormalized, type ImageNorm, type ItemPlan } from './item';

/** A run of consecutive items of one batch, written into the batch's shared pixel buffer. */
export interface Job {
  plans: ItemPlan[];
  /** Position of plans[0] in the batch. */
  first: number;
  /** Float32 NHWC pixels of the whole batch. */
  pixels: SharedArrayBuffer;
  norm: ImageNorm;
}

export interface ItemFailure {
  /** Position in the batch. */
  index: number;
  file: string;
  reason: string;
}

/** Items decoded two at a time so one's sharp decode (libuv thread) overlaps the other's JS resampling. */
const LANES = 2;

export async function runJob(job: Job): Promise<ItemFailure[]> {
  const out = new Float32Array(job.pixels);
  const failures: ItemFailure[] = [];
  let next = 0;
  const lane = async () => {
    while (next < job.plans.length) {
      const k = next++;
      const plan = job.plans[k];
      const index = job.first + k;
      try {
        writeNormalized(await renderItem(plan), job.norm, out, index * plan.size * plan.size * 3);
      } catch (e) {
        failures.push({ index, file: plan.file, reason: (e as Error).message || String(e) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LANES, job.plans.length) }, lane));
  return failures.sort((a, b) => a.index - b.index);
}
