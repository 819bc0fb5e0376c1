// Turns a trainer failure the user cannot act on into one they can. Plain Node (unit-tested).

export interface Explained {
  message: string;
  fix?: string;
  /** The trainer process cannot continue after this: offer Restart Trainer. */
  needsRestart: boolean;
}

const WASM_ABORT = /\bAborted\(\)/;
// XNNPACK reports xnn_status_out_of_memory (6) just before the wasm module aborts
const OUT_OF_MEMORY = /XNN status .* Got status 6\b|out of memory|Cannot enlarge memory|Array buffer allocation failed/i;

export function explainFailure(message: string, recentLog: readonly string[], fix?: string): Explained {
  if (!WASM_ABORT.test(message)) return { message, fix, needsRestart: false };
  if (recentLog.some((l) => OUT_OF_MEMORY.test(l))) {
    return {
      message: 'the trainer ran out of memory (the WebAssembly backend can use at most 4 GB)',
      fix: 'lower the batch size (or the image size) in Open Dataset… or the imageTrainer.batchSize setting, as the lesson advises for out-of-memory errors, then Restart Trainer',
      needsRestart: true,
    };
  }
  return { message: `the WebAssembly backend aborted (${message})`, fix: fix ?? 'Restart Trainer; if it happens again, see the Image Trainer output', needsRestart: true };
}
