// The CLI's commands as sequences of TrainerSession calls (the same calls the extension's child
// process makes), with a renderer for people or JSON lines, metrics.json, and Ctrl-C handling.
import * as path from 'path';
import type { TrainerEvent } from '../../protocol/events';
import type { LrSpec } from '../../protocol/lr';
import { TrainerSession } from '../session';
import { TrainerError, formatErrorLine, toErrorInfo } from '../service/errors';
import { MetricsCollector } from './metrics';
import { parts } from '../service/parts';
import { dataOptionsFrom, defaultOutDir, type DataModelFlags } from './options';
import { checkExportTarget } from '../export/folder';
import { defaultExportDirName } from '../../protocol/export';
import { escapeTerminal, escapingWriter } from './escape';
import { HumanRenderer, JsonRenderer, type Renderer } from './render';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_INTERRUPTED = 130;

export interface TrainFlags extends DataModelFlags {
  epochs: number;
  lr?: LrSpec;
  save: string;
}

export interface FineTuneFlags extends DataModelFlags {
  epochs: number;
  baseLr?: number;
  freezeEpochs?: number;
  save: string;
}

export interface LrFindFlags extends DataModelFlags {
  startLr: number;
  endLr: number;
  numIt: number;
}

/** One CLI invocation: renderer, metrics, session and the SIGINT handler, torn down together. */
class CliRun {
  readonly renderer: Renderer;
  readonly metrics = new MetricsCollector();
  readonly session: TrainerSession;
  readonly outDir: string;
  interrupted = false;
  private readonly onSigint = (): void => {
    if (this.interrupted) {
      this.renderer.close();
      process.exit(EXIT_INTERRUPTED);
    }
    this.interrupted = true;
    this.renderer.note('interrupted: stopping at the next batch (Ctrl-C again to quit now)');
    void this.session.stop({});
  };

  constructor(readonly command: string, readonly flags: { json?: boolean; verbose?: boolean; out?: string }) {
    this.renderer = flags.json ? new JsonRenderer() : new HumanRenderer(process.stdout, process.stderr, command === 'predict');
    this.outDir = path.resolve(flags.out ?? defaultOutDir(command));
    this.session = new TrainerSession({ onEvent: (e) => this.onEvent(e), outDir: this.outDir });
    process.on('SIGINT', this.onSigint);
  }

  onEvent(e: TrainerEvent): void {
    this.metrics.onEvent(e);
    this.renderer.onEvent(e);
  }

  get metricsFile(): string {
    return path.join(this.outDir, 'metrics.json');
  }

  /** Runs the steps; returns the exit code. Errors become one line on stderr (and an event in JSON mode). */
  async execute(steps: () => Promise<void>, writeMetrics: boolean): Promise<number> {
    let code = EXIT_OK;
    try {
      await steps();
    } catch (err) {
      code = EXIT_ERROR;
      const info = toErrorInfo(err);
      if (this.flags.json) this.renderer.onEvent({ type: 'error', ...info });
      this.renderer.close();
      process.stderr.write(`image-trainer: error: ${escapeTerminal(formatErrorLine(info))}\n`);
      if (this.flags.verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    }
    if (this.interrupted && code === EXIT_OK) code = EXIT_INTERRUPTED;
    try {
      if (writeMetrics && (await this.metrics.write(this.metricsFile))) this.renderer.note(`metrics: ${this.metricsFile}`);
    } catch (err) {
      process.stderr.write(`image-trainer: error: could not write ${escapeTerminal(this.metricsFile)}: ${escapeTerminal(toErrorInfo(err).message)}\n`);
      code = code || EXIT_ERROR;
    }
    this.renderer.close();
    process.off('SIGINT', this.onSigint);
    await this.session.shutdown({});
    return code;
  }

  /** Backend, dataset and learner: the first steps of train, lr-find and interpret. */
  async prepare(flags: DataModelFlags): Promise<void> {
    const data = dataOptionsFrom(flags);
    await this.session.backendInfo(flags.backend !== undefined ? { backend: flags.backend } : {});
    await this.session.openDataset(data);
    if (this.interrupted) return;
    await this.session.createLearner({
      arch: flags.arch,
      pretrained: flags.pretrained,
      ...(flags.fp16 ? { fp16: true } : {}),
      ...(flags.saveBest !== undefined ? { saveBest: flags.saveBest } : {}),
      ...(flags.earlyStop !== undefined ? { earlyStop: flags.earlyStop } : {}),
      ...(flags.labelSmoothing !== undefined ? { labelSmoothing: flags.labelSmoothing } : {}),
      ...(flags.mixup !== undefined ? { mixup: flags.mixup } : {}),
    });
    if (flags.unfreeze) await this.session.unfreeze({});
  }
}

export async function runTrain(flags: TrainFlags, command = 'train'): Promise<number> {
  return runFit(command, flags, (session) => session.fitOneCycle({ epochs: flags.epochs, ...(flags.lr !== undefined ? { maxLr: flags.lr } : {}) }));
}

/** fine-tune: fastai v2's fine_tune (frozen epochs, then unfrozen with discriminative lrs) in one run. */
export async function runFineTune(flags: FineTuneFlags, command = 'fine-tune'): Promise<number> {
  return runFit(command, flags, (session) => session.fineTune({
    epochs: flags.epochs,
    ...(flags.baseLr !== undefined ? { baseLr: flags.baseLr } : {}),
    ...(flags.freezeEpochs !== undefined ? { freezeEpochs: flags.freezeEpochs } : {}),
  }));
}

/** Prepare, train, report the error rate, save and export: train, fine-tune and demo. */
async function runFit(command: string, flags: DataModelFlags & { save: string }, train: (session: TrainerSession) => Promise<unknown>): Promise<number> {
  const run = new CliRun(command, flags);
  const exportDir = path.join(run.outDir, defaultExportDirName('native'));
  return run.execute(async () => {
    // A target the export would refuse is found now, not after the training.
    await checkExportTarget(exportDir);
    await run.prepare(flags);
    if (run.interrupted) return;
    await train(run.session);
    const last = run.metrics.lastEpoch;
    if (last && last.error_rate !== null) run.renderer.result(`error_rate: ${last.error_rate.toFixed(4)} after ${last.epoch + 1} epoch${last.epoch ? 's' : ''}`);
    if (run.interrupted) return;
    const saved = await run.session.save({ name: flags.save });
    run.renderer.note(`saved: ${saved.path}`);
    const exported = await run.session.export({ dir: exportDir });
    run.renderer.note(`exported: ${exported.dir}`);
  }, true);
}

export async function runLrFind(flags: LrFindFlags): Promise<number> {
  const run = new CliRun('lr-find', flags);
  return run.execute(async () => {
    await run.prepare(flags);
    if (run.interrupted) return;
    await run.session.lrFind({ startLr: flags.startLr, endLr: flags.endLr, numIt: flags.numIt });
  }, true);
}

export interface PredictFlags {
  model: string;
  topk?: number;
  backend?: string;
  json?: boolean;
  verbose?: boolean;
}

export async function runPredict(images: string[], flags: PredictFlags): Promise<number> {
  const run = new CliRun('predict', { ...flags, out: flags.model });
  return run.execute(async () => {
    if (flags.backend !== undefined) await run.session.backendInfo({ backend: flags.backend });
    const results = await run.session.predict({ files: images, modelDir: path.resolve(flags.model), ...(flags.topk !== undefined ? { topk: flags.topk } : {}) });
    for (const r of results) {
      if (flags.json) {
        process.stdout.write(JSON.stringify({ type: 'prediction', file: r.file, className: r.className, index: r.index, probability: r.probs[r.index], probs: r.probs, ...(r.top ? { top: r.top } : {}) }) + '\n');
      } else if (r.top) {
        run.renderer.result(escapeTerminal(r.file));
        for (const t of r.top) run.renderer.result(`  ${t.probability.toFixed(4)}\t${escapeTerminal(t.className)}`);
      } else {
        run.renderer.result(`${escapeTerminal(r.file)}\t${escapeTerminal(r.className)}\t${(r.probs[r.index] ?? 0).toFixed(4)}`);
      }
    }
  }, false);
}

export interface InterpretFlags extends Omit<DataModelFlags, 'arch' | 'size'> {
  model: string;
  name: string;
  k: number;
  arch?: DataModelFlags['arch'];
  size?: number;
}

/**
 * interpret --model RUN_DIR: rebuild the run's learner (architecture and image size from its
 * checkpoint), load the checkpoint, run the validation set once and report what it gets wrong.
 */
export async function runInterpret(flags: InterpretFlags): Promise<number> {
  const modelDir = path.resolve(flags.model);
  const run = new CliRun('interpret', { ...flags, out: modelDir });
  const reportDir = path.resolve(flags.out ?? modelDir);
  return run.execute(async () => {
    const checkpoint = path.join(modelDir, 'models', `${flags.name}.safetensors`);
    const info = await parts.learner().readCheckpointInfo(checkpoint).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        throw new TrainerError(`No checkpoint '${flags.name}' in ${path.join(modelDir, 'models')}`, {
          file: checkpoint,
          fix: 'pass the --out folder of a train run as --model (and --name if it was saved under another name)',
        });
      }
      throw err;
    });
    await run.prepare({ ...flags, arch: flags.arch ?? info.model.arch, size: flags.size ?? info.size, pretrained: 'none', unfreeze: false });
    await run.session.load({ name: flags.name });
    // Text for people on stdout; in JSON mode stdout carries events only, so one summary line.
    const quiet = { write: (_s: string) => true };
    const r = await run.session.interpretReport({ outDir: reportDir, k: flags.k, out: flags.json ? quiet : escapingWriter(process.stdout) });
    if (flags.json) {
      process.stdout.write(JSON.stringify({ type: 'interpretation', json: r.jsonPath, report: r.htmlPath, errorRate: r.summary.errorRate, mostConfused: r.summary.mostConfused }) + '\n');
    }
  }, false);
}
