// Ctrl-C / SIGTERM tests of the real CLI: start it, wait for the first finished epoch on its --json
// stdout and a batch of the next (mid-epoch, the data loader's workers are busy: closing them then
// once let the process exit 0), send the signal, and hand back what it printed and how it exited.
import { spawn } from 'node:child_process';

export interface SignalOptions {
  /** Signal the whole process group, as a terminal's Ctrl-C does (the CLI starts in a group of its own). */
  group?: boolean;
  /** Instead of signalling: what to do to the started process once the epoch is done (it gets its pid). */
  act?: (pid: number) => void | Promise<void>;
}

export async function signalAfterFirstEpoch(args: string[], signal: NodeJS.Signals, timeoutMs: number, opts: SignalOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.group ?? false });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no epoch event; stderr: ${stderr}`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/"type":"epoch"[\s\S]*"type":"batch"/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  if (opts.act) await opts.act(child.pid!);
  else if (opts.group) process.kill(-child.pid!, signal);
  else child.kill(signal);
  const code = await exited;
  return { code, stdout, stderr };
}
