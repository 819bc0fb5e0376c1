// What `image-trainer doctor` and Show Backend Info report: the backend that runs, the libtorch
// behind it (version, where it was found, device, threads, half-precision support), and for each
// faster backend that is not running, why not and the command that fixes it.
import * as fs from 'fs';
import type { BackendInfo } from '../../protocol/events';
import { BACKEND_KINDS, selectBackend, type BackendKind } from './index';
import { libtorchBuildInfo, loadTorchAddon, torchLoadError, TORCH_FIX } from './torch';

export interface BackendReport {
  running: BackendInfo;
  libtorch: { version?: string; source?: string; lib?: string; cuda: boolean; device?: string; threads?: number; parallel?: string } | null;
  cpu: { model?: string; bf16: boolean; amx: boolean };
  /** Backends faster than the one running that are not running, each with why and the fix. */
  faster: { kind: BackendKind; why: string; fix: string }[];
}

const FIXES: Record<BackendKind, string> = {
  'torch-gpu': 'LIBTORCH=/path/to/libtorch-cuda npm rebuild image-trainer (a CUDA build of libtorch from pytorch.org, or pip install torch with CUDA)',
  'native-gpu': 'npm install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 / cuDNN 8.1; not built for current GPUs)',
  'torch-cpu': TORCH_FIX,
  'native-cpu': 'npm install @tensorflow/tfjs-node',
  wasm: 'npm ci (restores @tensorflow/tfjs-backend-wasm)',
  cpu: '',
};

function cpuFeatures(): BackendReport['cpu'] {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
    return { model: /^model name\s*:\s*(.*)$/m.exec(info)?.[1], bf16: /\bavx512_bf16\b/.test(flags), amx: /\bamx_bf16\b/.test(flags) };
  } catch {
    return { bf16: false, amx: false };
  }
}

export async function backendReport(opts: { prefer?: string; threads?: number } = {}): Promise<BackendReport> {
  const running = await selectBackend(opts);
  const addon = loadTorchAddon();
  const built = libtorchBuildInfo();
  const about = addon?.about();
  const libtorch = addon
    ? { version: built?.version, source: built?.source, lib: built?.lib, cuda: Boolean(about?.cuda), device: about?.device, threads: about?.threads, parallel: about?.parallel.split('\n').find((l) => /parallel backend/.test(l))?.trim() }
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
    if (!why && kind.startsWith('torch')) why = addon ? (kind === 'torch-gpu' ? 'this libtorch has no CUDA' : 'not selected') : String(torchLoadError());
    faster.push({ kind, why: why ?? (opts.prefer ? `--backend ${opts.prefer} was asked for` : 'not available'), fix: FIXES[kind] });
  }
  return { running, libtorch, cpu: cpuFeatures(), faster };
}

export function formatReport(r: BackendReport): string {
  const lines = [`backend: ${r.running.name} (${r.running.kind}${r.running.threads ? `, ${r.running.threads} threads` : ''})`];
  if (r.libtorch) {
    lines.push(`libtorch: ${r.libtorch.version ?? 'unknown version'} from ${r.libtorch.source ?? '?'} (${r.libtorch.lib ?? '?'})`);
    lines.push(`  device: ${r.libtorch.device}; CUDA: ${r.libtorch.cuda ? 'yes' : 'no'}; intra-op threads: ${r.libtorch.threads}; ${r.libtorch.parallel ?? ''}`);
  } else {
    lines.push(`libtorch: not loaded (${torchLoadError()})`);
  }
  lines.push(`cpu: ${r.cpu.model ?? 'unknown'}; bf16 (AVX512_BF16): ${r.cpu.bf16 ? 'yes' : 'no'}; AMX: ${r.cpu.amx ? 'yes' : 'no'}`);
  lines.push(`fp16 training: ${r.running.fp16 ? 'yes' : 'no (tfjs tensors stay float32 on every backend here)'}`);
  for (const f of r.faster) lines.push(`not running ${f.kind}: ${f.why}${f.fix ? `\n  fix: ${f.fix}` : ''}`);
  return lines.join('\n');
}
