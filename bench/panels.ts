// Frame times of the training panel in chromium fed a 5,000-batch run (50 epochs × 100 batches).
// Two phases, both on the real bundle in the real CSP page:
//  1. live: the run's last 300 batches at the real rate of 10 events/s (one message each) after the
//     first 4,700 were replayed, so every redraw draws ~5,000 points: rAF intervals + redraw work;
//  2. accelerated: all 5,000 batch events as fast as timers allow (~25× the UI's 10/s throttle), which bounds the
//     per-frame work from above (redraws are coalesced to one per animation frame).
// Reports p50/p95/max of the per-frame redraw work and of the animation-frame intervals.
// Run: npm run bench:panels   (writes bench/out/panels.json)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer, launch, openPanel, REPO } from '../test/browser/panels-harness';
import type { TrainerEvent } from '../src/protocol/events';

const EPOCHS = 50;
const BPE = 100;
const LIVE_TAIL = Number(process.env.BENCH_LIVE_EVENTS ?? 300);

function run(runId: string): TrainerEvent[] {
  const total = EPOCHS * BPE;
  const warm = Math.floor(total * 0.3);
  const cos = (a: number, b: number, p: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * p) + 1);
  const ev: TrainerEvent[] = [{ type: 'fit_begin', runId, kind: 'fit_one_cycle', epochs: EPOCHS, batchesPerEpoch: BPE, totalBatches: total, lrs: [1e-4, 3e-4, 1e-3], frozenTo: 0, layerGroups: 3 }];
  let avg = 0;
  for (let step = 0; step < total; step++) {
    const up = step < warm;
    const pct = up ? step / warm : (step - warm) / (total - warm);
    const lr = up ? cos(1e-3 / 25, 1e-3, pct) : cos(1e-3, 1e-3 / 25e4, pct);
    const loss = 0.3 + 3 * Math.exp(-step / 800) + 0.2 * Math.sin(step * 12.9898) ** 2;
    avg = 0.98 * avg + 0.02 * loss;
    const epoch = Math.floor(step / BPE);
    ev.push({ type: 'batch', runId, epoch, iter: step % BPE, step, lrs: [lr / 10, lr / 3, lr], mom: up ? cos(0.95, 0.85, pct) : cos(0.85, 0.95, pct), loss, smoothLoss: avg / (1 - 0.98 ** (step + 1)) });
    if (step % BPE === BPE - 1) ev.push({ type: 'epoch', runId, epoch, trainLoss: avg, validLoss: avg * 0.9, errorRate: 0.1, accuracy: 0.9, seconds: 60, trainImagesPerSecond: 100 });
  }
  ev.push({ type: 'fit_end', runId, kind: 'fit_one_cycle', status: 'completed' });
  return ev;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: +q(xs, 0.5).toFixed(2), p95: +q(xs, 0.95).toFixed(2), max: +Math.max(...xs).toFixed(2) });

async function phase(page: import('playwright-core').Page, events: TrainerEvent[], intervalMs: number) {
  return page.evaluate(
    ({ events, intervalMs }) =>
      new Promise<{ work: number[]; intervals: number[]; longTasks: number; ms: number }>((resolve) => {
        const w = window as unknown as { __frameWork: number[]; __recordFrames: boolean };
        w.__frameWork = [];
        w.__recordFrames = true;
        const intervals: number[] = [];
        let longTasks = 0;
        const obs = new PerformanceObserver((l) => (longTasks += l.getEntries().length));
        try {
          obs.observe({ type: 'longtask', buffered: false });
        } catch {
          /* not supported */
        }
        let last = performance.now();
        let done = false;
        const tick = (t: number) => {
          intervals.push(t - last);
          last = t;
          if (!done) requestAnimationFrame(tick);
        };
        requestAnimationFrame((t) => {
          last = t;
          requestAnimationFrame(tick);
        });
        const t0 = performance.now();
        let i = 0;
        const send = () => {
          window.postMessage({ type: 'events', events: [events[i++]] }, '*');
          if (i < events.length) setTimeout(send, intervalMs);
          else
            setTimeout(() => {
              done = true;
              obs.disconnect();
              resolve({ work: w.__frameWork, intervals: intervals.slice(1), longTasks, ms: performance.now() - t0 });
            }, 300);
        };
        send();
      }),
    { events, intervalMs },
  );
}

async function main() {
  const server = await startServer();
  const browser = await launch();
  try {
    const events = run('bench-5000');
    const cut = events.length - LIVE_TAIL;

    const live = await openPanel(browser, server, 'training', 'vscode-dark');
    await live.sendEvents(events.slice(0, cut));
    await live.flush();
    const livePhase = await phase(live.page, events.slice(cut), 100);
    await live.page.close();

    const fast = await openPanel(browser, server, 'training', 'vscode-dark');
    const fastPhase = await phase(fast.page, events, 1);
    const rows = await fast.page.locator('[data-testid=epoch-rows] tr').count();
    const points = await fast.page.evaluate(() => (window as unknown as { imageTrainerPanel: { view: { snapshot(): { run: { curves: { step: number[] } } | null } } } }).imageTrainerPanel.view.snapshot().run?.curves.step.length ?? 0);
    await fast.page.close();

    const report = {
      run: { batches: EPOCHS * BPE, epochs: EPOCHS, events: events.length },
      live10PerSecond: { events: LIVE_TAIL, pointsOnPlot: cut, seconds: +(livePhase.ms / 1000).toFixed(1), redrawWorkMs: stats(livePhase.work), frameIntervalMs: stats(livePhase.intervals), longTasks: livePhase.longTasks },
      accelerated: { events: events.length, seconds: +(fastPhase.ms / 1000).toFixed(1), eventsPerSecond: Math.round(events.length / (fastPhase.ms / 1000)), redraws: fastPhase.work.length, eventsPerRedraw: +(events.length / Math.max(1, fastPhase.work.length)).toFixed(1), redrawWorkMs: stats(fastPhase.work), frameIntervalMs: stats(fastPhase.intervals), longTasks: fastPhase.longTasks },
      check: { tableRows: rows, plottedBatches: points },
      browser: browser.version(),
    };
    const out = path.join(REPO, 'bench/out/panels.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
