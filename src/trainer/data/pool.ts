import { existsSync } from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { runJob, type ItemFailure, type Job } from './job';
// sharp must be loaded by the main thread before workers load it (its native module is not
// unloaded safely when only a worker held it).
import 'sharp';

/** Runs jobs: in this thread (numWorkers 0) or in a pool of worker threads. */
export interface Executor {
  readonly workers: number;
  run(jobs: Job[]): Promise<ItemFailure[]>;
  close(): Promise<void>;
}

export class InProcessExecutor implements Executor {
  readonly workers = 0;
  async run(jobs: Job[]): Promise<ItemFailure[]> {
    return (await Promise.all(jobs.map(runJob))).flat();
  }
  async close(): Promise<void> {}
}

/** How long close() lets busy workers finish their job before terminating them anyway. */
const BUSY_WAIT_MS = 10_000;

export const WORKER_SCRIPT = path.join(__dirname, 'worker.js');

interface Pending {
  resolve: (f: ItemFailure[]) => void;
  reject: (e: Error) => void;
}

/**
 * Worker threads that pull jobs from one FIFO queue. Idle workers are unref'd, so a program
 * that forgets close() still exits; busy ones keep the process alive until their job is done.
 */
export class WorkerPool implements Executor {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: { id: number; job: Job }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  private failed: Error | null = null;
  private closed = false;

  constructor(readonly workers: number, script = WORKER_SCRIPT) {
    if (!existsSync(script)) throw new Error(`data loader worker script not found: ${script} (run the compiled JavaScript, e.g. after \`npm run build\`)`);
    for (let i = 0; i < workers; i++) {
      const w = new Worker(script);
      w.unref();
      w.on('message', (msg: { id: number; failures?: ItemFailure[]; error?: string }) => this.done(w, msg));
      w.on('error', (e) => this.fail(new Error(`data loader worker failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`data loader worker exited unexpectedly (code ${code})`));
      });
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(jobs: Job[]): Promise<ItemFailure[]> {
    return Promise.all(jobs.map((job) => this.submit(job))).then((r) => r.flat());
  }

  private submit(job: Job): Promise<ItemFailure[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('data loader is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, job });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.shift()!;
      const msg = this.queue.shift()!;
      this.busy.set(w, msg.id);
      w.ref();
      w.postMessage(msg);
    }
  }

  private done(w: Worker, msg: { id: number; failures?: ItemFailure[]; error?: string }): void {
    this.busy.delete(w);
    w.unref();
    this.idle.push(w);
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    if (p) {
      if (msg.error) p.reject(new Error(msg.error));
      else p.resolve(msg.failures ?? []);
    }
    this.dispatch();
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.queue.length = 0;
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('data loader closed while a batch was loading'));
    this.pending.clear();
    this.queue.length = 0;
    // Terminating a worker in the middle of a decode can leave Node with no live handle while the
    // terminate is still pending: the process then exits (code 0) inside the caller's await and
    // skips its exit code. So the busy ones finish their job first (a batch chunk; bounded), and a
    // ref'd timer keeps the loop alive until every worker has exited.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await this.busyDone(BUSY_WAIT_MS);
      await Promise.all(this.all.map((w) => w.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
  }

  private busyDone(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = Date.now() + ms;
      const poll = () => (this.busy.size === 0 || Date.now() >= deadline ? resolve() : setTimeout(poll, 10));
      poll();
    });
  }
}
