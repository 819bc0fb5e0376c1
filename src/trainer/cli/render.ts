// How the CLI shows a run. Human: the backend line, the dataset line, fastai's progress bars (an
// epoch bar and a batch bar, on stderr, only on a terminal) and a table row per epoch as it ends.
// JSON: every TrainerEvent as one line on stdout, nothing else there.
import { plot } from 'asciichart';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { formatBackend, type TrainerEvent, type TrainerEventOf } from '../../protocol/events';
import { escapeTerminal as esc, escapeTerminalLines } from './escape';

export interface Renderer {
  onEvent(e: TrainerEvent): void;
  /** A human note (stderr); silent in JSON mode, where events carry everything. */
  note(text: string): void;
  /** A result line for people (stdout); ignored in JSON mode. */
  result(text: string): void;
  close(): void;
}

export class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  onEvent(e: TrainerEvent): void {
    this.out.write(JSON.stringify(e) + '\n');
  }
  note(): void {}
  result(): void {}
  close(): void {}
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const COLUMNS = ['epoch', 'train_loss', 'valid_loss', 'error_rate', 'time'];
const WIDTH = 12;

export function tableHeader(withPhase = false): string {
  return [...COLUMNS, ...(withPhase ? ['phase'] : [])].map((c) => c.padEnd(WIDTH)).join('').trimEnd();
}

export function tableRow(e: TrainerEventOf<'epoch'>): string {
  const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '#na#' : v.toFixed(6));
  return [String(e.epoch), num(e.trainLoss), num(e.validLoss), num(e.errorRate), formatDuration(e.seconds), ...(e.phase ? [e.phase] : [])]
    .map((c) => c.padEnd(WIDTH)).join('').trimEnd();
}

/**
 * learn.recorder.plot() for a terminal: smoothed loss against lr, skipping the first 10 and last 5
 * points as fastai does. The lrs are exponentially spaced, so columns are even on a log axis.
 */
export function lrFindChart(lrs: number[], losses: number[], width = 60, height = 10): string | null {
  const skipStart = lrs.length > 20 ? 10 : 0;
  const skipEnd = lrs.length > 20 ? 5 : 0;
  const xs = lrs.slice(skipStart, lrs.length - skipEnd);
  const ys = losses.slice(skipStart, losses.length - skipEnd);
  const finite = ys.map((y, i) => [xs[i] as number, y] as const).filter(([, y]) => Number.isFinite(y));
  if (finite.length < 2) return null;
  const cols = Math.min(width, finite.length);
  const series = Array.from({ length: cols }, (_, c) => (finite[Math.round((c * (finite.length - 1)) / Math.max(1, cols - 1))] as readonly [number, number])[1]);
  const chart = plot(series, { height, format: (v: number) => v.toFixed(3).padStart(9) });
  const first = (finite[0] as readonly [number, number])[0].toExponential(0);
  const last = (finite[finite.length - 1] as readonly [number, number])[0].toExponential(0);
  const axis = ' '.repeat(11) + first + ' '.repeat(Math.max(1, cols - first.length - last.length)) + last + '  (learning rate, log scale)';
  return `loss\n${chart}\n${axis}`;
}

export class HumanRenderer implements Renderer {
  private bars?: MultiBar;
  private epochBar?: SingleBar;
  private batchBar?: SingleBar;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly err: NodeJS.WriteStream = process.stderr,
    /** predict keeps stdout for its results: the backend line goes to stderr. */
    private readonly statusToStderr = false,
  ) {
    this.tty = Boolean(err.isTTY);
  }

  onEvent(e: TrainerEvent): void {
    switch (e.type) {
      case 'backend':
        if (this.statusToStderr) this.note(`backend: ${formatBackend(e.backend)}`);
        else this.line(`backend: ${formatBackend(e.backend)}`);
        break;
      case 'dataset': {
        const names = e.classes.map(esc);
        const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, …` : names.join(', ');
        this.line(`data: ${e.trainCount} train, ${e.validCount} valid, ${e.classes.length} classes (${shown})` +
          (e.skipped.length ? `; ${e.skipped.length} files skipped` : ''));
        for (const s of e.skipped.slice(0, 5)) this.note(`skipped ${esc(s.file)}: ${esc(s.reason)}`);
        if (e.skipped.length > 5) this.note(`… and ${e.skipped.length - 5} more skipped files`);
        break;
      }
      case 'fit_begin':
        if (e.kind === 'lr_find') this.line('lr_find: sweeping the learning rate up exponentially…');
        else this.line(tableHeader(e.kind === 'fine_tune'));
        this.startBars(e);
        break;
      case 'batch':
        if (this.batchBar) {
          this.batchBar.update(e.iter + 1, { loss: e.smoothLoss.toFixed(4) });
          this.epochBar?.update(e.epoch);
        }
        break;
      case 'epoch':
        this.epochBar?.update(e.epoch + 1);
        this.batchBar?.update(0, { loss: '' });
        this.line(tableRow(e));
        break;
      case 'lr_find_result': {
        const fmt = (v: number | null): string => (v === null ? 'none' : v.toExponential(2));
        const chart = lrFindChart(e.lrs, e.losses);
        if (chart) this.line(chart);
        this.line(`lr_find suggestions: valley ${fmt(e.suggestions.valley)} (default), slide ${fmt(e.suggestions.slide ?? null)}, minimum ${fmt(e.suggestions.minimum ?? null)}, steep ${fmt(e.suggestions.steep ?? null)}, min numerical gradient ${fmt(e.suggestions.minGrad)}`);
        break;
      }
      case 'fit_end':
        this.stopBars();
        if (e.status === 'stopped') this.note('stopped');
        if (e.status === 'failed') this.note(`failed: ${esc(e.error ?? 'unknown error')}`);
        break;
      case 'log':
        if (e.level !== 'debug') this.note(e.level === 'info' ? esc(e.message) : `${e.level}: ${esc(e.message)}`);
        break;
      case 'error':
        // The CLI prints the final error itself, once.
        break;
    }
  }

  private startBars(e: TrainerEventOf<'fit_begin'>): void {
    this.stopBars();
    if (!this.tty) return;
    this.bars = new MultiBar(
      {
        stream: this.err,
        clearOnComplete: true,
        hideCursor: true,
        format: ' {label} |{bar}| {value}/{total} {loss}',
        barsize: 30,
        fps: 5,
      },
      Presets.shades_classic,
    );
    if (e.kind === 'lr_find') {
      this.batchBar = this.bars.create(e.totalBatches, 0, { label: 'batch', loss: '' });
    } else {
      this.epochBar = this.bars.create(e.epochs, 0, { label: 'epoch', loss: '' });
      this.batchBar = this.bars.create(e.batchesPerEpoch, 0, { label: 'batch', loss: '' });
    }
  }

  private stopBars(): void {
    this.bars?.stop();
    this.bars = undefined;
    this.epochBar = undefined;
    this.batchBar = undefined;
  }

  /** stdout line; printed above the bars when both streams are the same terminal. */
  private line(raw: string): void {
    // Every line leaves through here or note(): control characters never reach the terminal.
    const text = escapeTerminalLines(raw);
    if (this.bars && this.out.isTTY) this.logAboveBars(text);
    else this.out.write(text + '\n');
  }

  /** One line for people: untrusted text inside it cannot start another (newlines are escaped too). */
  note(raw: string): void {
    const text = esc(raw);
    if (this.bars) this.logAboveBars(text);
    else this.err.write(text + '\n');
  }

  /** MultiBar.log only buffers until the next redraw; redraw now so a stop() right after loses nothing. */
  private logAboveBars(text: string): void {
    this.bars?.log(text + '\n');
    this.bars?.update();
  }

  result(text: string): void {
    this.line(esc(text));
  }

  close(): void {
    this.stopBars();
  }
}
