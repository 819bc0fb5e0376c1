// One long job at a time (a fit, an lr_find, an interpretation, a file change): a second one is
// refused with a clear message instead of racing the first over the same learner.
import type { Method } from '../../protocol/requests';
import { TrainerError } from './errors';

export class JobLock {
  private job?: { method: Method; done: Promise<unknown> };
  private closed = false;

  /** The running job's method, if any. */
  get busyWith(): Method | undefined {
    return this.job?.method;
  }

  /** Runs `run` as the one job; refuses while another runs or after close(). */
  async run<T>(method: Method, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new TrainerError('The trainer is shutting down', { fix: 'Start a new trainer session' });
    if (this.job) {
      throw new TrainerError(`The trainer is busy with '${this.job.method}'; '${method}' cannot run at the same time`, {
        fix: 'Wait for it to finish, or send stop first',
      });
    }
    const done = run();
    this.job = { method, done };
    try {
      return await done;
    } finally {
      this.job = undefined;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Refuses new jobs from now on; resolves when the running one settles or after `waitMs`. */
  async close(waitMs: number): Promise<void> {
    this.closed = true;
    const job = this.job;
    if (!job) return;
    await Promise.race([job.done.catch(() => undefined), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}
