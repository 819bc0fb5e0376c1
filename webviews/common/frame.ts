// Coalesces redraws to animation frames: many events between two frames cost one redraw.
// Per-frame work time is recorded so the bench can report it.

declare global {
  interface Window {
    /** Milliseconds of redraw work per animation frame (kept when window.__recordFrames is true). */
    __frameWork?: number[];
    __recordFrames?: boolean;
  }
}

export class FrameScheduler {
  private jobs = new Map<string, () => void>();
  private pending = false;
  /** Called after each flush that ran jobs. */
  onFlushed: (() => void) | undefined;

  schedule(key: string, job: () => void): void {
    this.jobs.set(key, job);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => this.flush());
  }

  /** Runs pending jobs now (used before snapshots and by tests). */
  flush(): void {
    this.pending = false;
    if (!this.jobs.size) return;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    const t0 = performance.now();
    for (const job of jobs) job();
    // uPlot draws in a microtask queued during setData; ours runs after it, so the time includes drawing.
    if (window.__recordFrames) queueMicrotask(() => (window.__frameWork ??= []).push(performance.now() - t0));
    this.onFlushed?.();
  }
}
