// What the machine offers the backends: CPU features (/proc/cpuinfo) and the first NVIDIA GPU
// (nvidia-smi). The doctor reports them; the torch backend decides half-precision support by them.
import * as fs from 'fs';
import * as os from 'os';
import { execFileSync } from 'child_process';
import type { BackendReport } from '../../protocol/backend-report';

export function cpuFeatures(): BackendReport['cpu'] {
  const cores = os.availableParallelism();
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
    return { model: /^model name\s*:\s*(.*)$/m.exec(info)?.[1], cores, bf16: /\bavx512_bf16\b/.test(flags), amx: /\bamx_bf16\b/.test(flags) };
  } catch {
    return { cores, bf16: false, amx: false };
  }
}

/** The first NVIDIA GPU nvidia-smi sees, or undefined without a driver or a GPU. */
export function nvidiaGpu(): BackendReport['gpu'] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,compute_cap,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const [name, capability, driver] = out.split('\n')[0].split(',').map((s) => s.trim());
    return name ? { name, ...(capability ? { capability } : {}), ...(driver ? { driver } : {}) } : undefined;
  } catch {
    return undefined;
  }
}
