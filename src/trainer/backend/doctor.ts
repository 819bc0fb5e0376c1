// What `image-trainer doctor` and Show Backend Info report (src/protocol/backend-report.ts): the
// backend that runs, the libtorch behind it, CPU/GPU, half-precision support, and for each faster
// backend that is not running, why not and the command that fixes it.
import type { BackendReport } from '../../protocol/backend-report';
import { BACKEND_FIXES, BACKEND_KINDS, selectBackend } from './index';
import { libtorchBuildInfo, loadTorchAddon, mixedPrecisionSupport, torchLoadError } from './torch';
import { cpuFeatures, nvidiaGpu } from './host';
import { processAllocator } from './allocator';

export { formatBackendReport as formatReport } from '../../protocol/backend-report';
export type { BackendReport };
export { nvidiaGpu };

export async function backendReport(opts: { prefer?: string; threads?: number } = {}): Promise<BackendReport> {
  const running = await selectBackend(opts);
  const addon = loadTorchAddon();
  const built = libtorchBuildInfo();
  const about = addon?.about();
  const libtorch = about
    ? { version: built?.version, source: built?.source, lib: built?.lib, cuda: about.cuda, device: about.device, threads: about.threads, parallel: about.parallel.split('\n').find((l) => /parallel backend/.test(l))?.trim() }
    : null;
  const reasons = new Map<string, string>();
  for (const part of (running.reason ?? '').split('; ')) {
    const m = /^([a-z-]+): (.*)$/.exec(part);
    if (m) reasons.set(m[1], m[2]);
  }
  const faster: BackendReport['faster'] = [];
  for (const kind of BACKEND_KINDS) {
    if (kind === running.kind) break;
    let why = reasons.get(kind);
    if (!why && kind.startsWith('torch')) why = addon ? (kind === 'torch-gpu' ? 'this libtorch has no CUDA (or no GPU is visible)' : 'not selected') : String(torchLoadError());
    faster.push({ kind, why: why ?? (opts.prefer ? `--backend ${opts.prefer} was asked for` : 'not available'), fix: BACKEND_FIXES[kind] });
  }
  const cpu = cpuFeatures();
  const gpu = nvidiaGpu();
  return {
    running, libtorch, ...(libtorch ? {} : { libtorchError: String(torchLoadError()) }), cpu, ...(gpu ? { gpu } : {}), allocator: processAllocator(),
    precision: mixedPrecisionSupport(running.kind, cpu.bf16, gpu?.capability), faster,
  };
}
