// The memory guard: on backends with wasm's 4 GiB heap, a batch too large for it would abort the
// process mid-step, so the session shrinks the DataBunch's batch to one that fits (and says so)
// before training. It assumes an unfrozen body, so unfreeze() later never needs a second, smaller
// batch size.
import type { BackendInfo, EventSink } from '../../protocol/events';
import type { DataBunch } from '../data/types';
import { TrainerError } from './errors';
import { parts } from './parts';

export interface MemoryGuardInput {
  data: DataBunch;
  backend: BackendInfo;
  arch: string | undefined;
  emit: EventSink;
  /** Swaps in loaders at batch size `bs` (see loader-swap.ts). */
  rebuildLoaders(bs: number): Promise<void>;
}

export async function fitBatchToMemory({ data, backend, arch, emit, rebuildLoaders }: MemoryGuardInput): Promise<void> {
  const mem = parts.backend();
  if (!mem.GUARDED_BACKENDS.includes(backend.kind) || !arch || !mem.isGuardedArch(arch)) return;
  const choice = mem.chooseBatchSize({ arch, size: data.size, bs: data.bs }, mem.memoryBudgetBytes());
  if (choice.fits && choice.bs === data.bs) return;
  const limit = backend.kind === 'wasm' ? 'limit 4 GB' : `memory budget ${mem.formatGB(choice.budgetBytes)}`;
  if (!choice.fits) {
    throw new TrainerError(
      `Training ${arch} at ${data.size} px needs about ${mem.formatGB(choice.chosenBytes)} even with batch size 1 on the ${backend.kind} backend (${limit})`,
      { fix: 'Lower the image size (--size / Image Trainer: Size), e.g. 128, or use a smaller architecture (resnet18)' },
    );
  }
  await rebuildLoaders(choice.bs);
  emit({
    type: 'log',
    level: 'warn',
    message:
      `Batch size ${choice.requestedBs} at ${data.size} px needs about ${mem.formatGB(choice.requestedBytes)} with ${arch} on the ${backend.kind} backend ` +
      `(${limit}); training with batch size ${choice.bs} instead. ` +
      'Pass a smaller batch size (--bs / Image Trainer: Batch Size) to choose yourself.',
  });
}
