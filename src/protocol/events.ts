// Events the trainer emits (CLI --json lines, child-process messages, webview feeds).
// One schema, validated where it crosses a process or webview boundary.
import { z } from 'zod';
import { DatasetSummary } from './dataset';
import { EpochRecord, LrFindResult, RunEndStatus, RunKind } from './runs';

export const BackendInfo = z.object({
  name: z.string(), // 'torch' (libtorch addon), 'tensorflow' (tfjs-node[-gpu]), 'wasm', 'cpu'
  kind: z.enum(['torch-gpu', 'native-gpu', 'torch-cpu', 'native-cpu', 'wasm', 'cpu']),
  device: z.string().optional(), // GPU name, when known
  threads: z.number().int().optional(),
  simd: z.boolean().optional(),
  fp16: z.boolean(), // whether this backend can train in fp16 mixed precision (torch on a CUDA GPU)
  bf16: z.boolean().optional(), // whether it can train in bf16 mixed precision (torch on AVX512_BF16 CPUs, Ampere+ GPUs); absent: no
  reason: z.string().optional(), // why better backends were not used
  libtorch: z.string().optional(), // libtorch version and where it was found (torch backend)
  allocator: z.enum(['jemalloc', 'system']).optional(), // the process's malloc (torch backend; src/protocol/trainer-launch.ts)
});
export type BackendInfo = z.infer<typeof BackendInfo>;

/** What the conv and matmul kernels compute in during a fit (autocast); everything else stays fp32. */
export const ComputePrecision = z.enum(['fp32', 'bf16', 'fp16']);
export type ComputePrecision = z.infer<typeof ComputePrecision>;

/** One line for people: "wasm (2 threads, SIMD, fp16 no, bf16 no)", "tensorflow (native-gpu, RTX 4090, fp16 yes) — why". */
export function formatBackend(b: BackendInfo): string {
  const details = [
    ...(b.kind === b.name ? [] : [b.kind]),
    ...(b.device ? [b.device] : []),
    ...(b.threads !== undefined ? [`${b.threads} thread${b.threads === 1 ? '' : 's'}`] : []),
    ...(b.simd !== undefined ? [b.simd ? 'SIMD' : 'no SIMD'] : []),
    `fp16 ${b.fp16 ? 'yes' : 'no'}`,
    `bf16 ${b.bf16 ? 'yes' : 'no'}`,
    ...(b.allocator ? [b.allocator === 'jemalloc' ? 'jemalloc' : 'system malloc'] : []),
  ];
  return `${b.name} (${details.join(', ')})${b.reason ? ` — ${b.reason}` : ''}`;
}

export const TrainerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('backend'), backend: BackendInfo }),
  DatasetSummary.extend({ type: z.literal('dataset') }),
  z.object({
    type: z.literal('fit_begin'),
    runId: z.string(),
    kind: RunKind,
    epochs: z.number().int(),
    batchesPerEpoch: z.number().int(),
    totalBatches: z.number().int(),
    lrs: z.array(z.number()), // max lr per layer group
    frozenTo: z.number().int(), // first trainable layer group (0 = unfrozen)
    layerGroups: z.number().int(),
    frozenEpochs: z.number().int().min(0).optional(), // fine_tune: the first epochs, body frozen
  }),
  z.object({
    type: z.literal('batch'),
    runId: z.string(),
    epoch: z.number().int(),
    iter: z.number().int(), // batch index within the epoch
    step: z.number().int(), // batch index within the run
    lrs: z.array(z.number()),
    mom: z.number(),
    loss: z.number(),
    smoothLoss: z.number(),
  }),
  EpochRecord.extend({ type: z.literal('epoch'), runId: z.string() }),
  LrFindResult.extend({ type: z.literal('lr_find_result'), runId: z.string() }),
  z.object({
    type: z.literal('fit_end'),
    runId: z.string(),
    kind: RunKind,
    status: RunEndStatus,
    error: z.string().optional(),
    // first trainable layer group as the run left it (fine_tune unfreezes); absent from older trainers
    frozenTo: z.number().int().optional(),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string() }),
  z.object({ type: z.literal('error'), message: z.string(), file: z.string().optional(), fix: z.string().optional() }),
]);
export type TrainerEvent = z.infer<typeof TrainerEvent>;
export type TrainerEventOf<T extends TrainerEvent['type']> = Extract<TrainerEvent, { type: T }>;

export type EventSink = (event: TrainerEvent) => void;
