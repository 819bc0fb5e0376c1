// The CLI's commands as sequences of TrainerSession calls (the same calls the extension's child
// process makes), with a renderer for people or JSON lines, metrics.json, and Ctrl-C handling.
import * as fs from 'fs';
import * as path from 'path';
import type { TrainerEvent } from '../../protocol/events';
import type { LrSpec } from '../../protocol/lr';
import { TrainerSession } from '../session';
import { TrainerError, formatErrorLine, toErrorInfo } from '../service/errors';
import { MetricsCollector } from './metrics';
import { parts } from '../service/parts';
import { dataOptionsFrom, defaultOutDir, type DataModelFlags } from './options';
import { TRANSFORM_KEYS } from '../../protocol/dataset';
import { checkExportTarget } from '../export/folder';
import { defaultExportDirName } from '../../protocol/export';
import { escapeTerminal, escapingWriter } from './escape';
import { HumanRenderer, JsonRenderer, type Renderer } from './render';
import { writeCliError } from './error-line';
import { acquireRunLock, type RunLock } from '../io/run-lock';
import { checkCheckpointPlace, prepareRunFolder } from '../io/run-folder';
import { assertCheckpointName } from '../learner/checkpoint';
import { assertDirectory } from '../data/discover';
import { SaveModelCallback } from '../learner/callbacks';
import { SIGNAL_ECHO_MS } from '../backend/allocator';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_INTERRUPTED = 130;
/** 128 + SIGTERM, as a shell reports a process the signal ended. */
export const EXIT_TERMINATED = 143;

/** Progressive resizing: a second phase at another image size with the same learner. */
export interface ProgressiveFlags {
  thenSize?: number;
  thenBs?: number;
  thenEpochs?: number;
}

export interface TrainFlags extends DataModelFlags, ProgressiveFlags {
  epochs: number;
  lr?: LrSpec;
  save: string;
}

export interface FineTuneFlags extends DataModelFlags, ProgressiveFlags {
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
  private signal: NodeJS.Signals | null = null;
  /** The run folder's lock, once taken: only a run that holds it writes metrics.json there. */
  private lock?: RunLock;
  /** The checkpoint this run wrote, relative to the run folder. */
  checkpoint: string | null = null;
  private readonly startedAt = Date.now();
  private lastSignalAt = 0;
  /**
   * SIGINT (Ctrl-C) and SIGTERM: stop at the next batch, write what finished; a second one quits at
   * once. One within SIGNAL_ECHO_MS of the last is the same Ctrl-C, passed on by image-trainer's
   * relaunching process as well as sent by the terminal.
   */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    const echo = Date.now() - this.lastSignalAt < SIGNAL_ECHO_MS;
    this.lastSignalAt = Date.now();
    if (echo) return;
    if (this.interrupted) {
      this.renderer.close();
      process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED); // the lock goes with the process's exit hook
    }
    this.interrupted = true;
    this.signal = signal;
    this.renderer.note(`interrupted (${signal}): stopping at the next batch (Ctrl-C again to quit now)`);
    void this.session.stop({});
  };

  constructor(readonly command: string, readonly flags: { json?: boolean; verbose?: boolean; out?: string }) {
    this.renderer = flags.json ? new JsonRenderer() : new HumanRenderer(process.stdout, process.stderr, command === 'predict');
    this.outDir = path.resolve(flags.out ?? defaultOutDir(command));
    this.session = new TrainerSession({ onEvent: (e) => this.onEvent(e), outDir: this.outDir });
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /**
   * Everything that would otherwise fail after the training, checked before the backend starts:
   * the dataset folder, the --save name, the run folder (created, writable, not in use by another
   * run: its lock is taken here), the checkpoint's place and the export target.
   */
  async preflight(opts: { data?: string; save?: string; exportDir?: string; folder?: string }): Promise<void> {
    if (opts.save !== undefined) assertCheckpointName(opts.save, '--save name');
    if (opts.data !== undefined) await assertDirectory(path.resolve(opts.data));
    const folder = opts.folder ?? this.outDir;
    prepareRunFolder(folder);
    this.lock = acquireRunLock(folder, { command: this.command });
    if (opts.save !== undefined) checkCheckpointPlace(this.outDir, path.join(this.outDir, 'models', `${opts.save}.safetensors`));
    if (opts.exportDir !== undefined) await checkExportTarget(opts.exportDir);
  }

  /** A checkpoint SaveModelCallback (--save-best) wrote during this run, if any. */
  noteCallbackCheckpoint(name: string): void {
    if (this.checkpoint !== null) return;
    const rel = path.join('models', `${name}.safetensors`);
    const st = fs.statSync(path.join(this.outDir, rel), { throwIfNoEntry: false });
    if (st && st.mtimeMs >= this.startedAt - 1000) this.checkpoint = rel;
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
    let error: string | undefined;
    try {
      await steps();
    } catch (err) {
      code = EXIT_ERROR;
      const info = toErrorInfo(err);
      error = formatErrorLine(info);
      if (this.flags.json) this.renderer.onEvent({ type: 'error', ...info });
      this.renderer.close();
      writeCliError(err, this.flags.verbose);
    }
    if (this.interrupted && code === EXIT_OK) code = this.signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
    this.metrics.setOutcome({
      status: code === EXIT_OK ? 'completed' : this.interrupted && code !== EXIT_ERROR ? 'stopped' : 'failed',
      checkpoint: this.checkpoint,
      ...(error !== undefined ? { error } : {}),
    });
    try {
      // Never into a folder another run holds: without the lock there is no metrics.json to write.
      if (writeMetrics && this.lock && (await this.metrics.write(this.metricsFile))) this.renderer.note(`metrics: ${this.metricsFile}`);
    } catch (err) {
      process.stderr.write(`image-trainer: error: could not write ${escapeTerminal(this.metricsFile)}: ${escapeTerminal(toErrorInfo(err).message)}\n`);
      code = code || EXIT_ERROR;
    }
    this.renderer.close();
    // The code stands even if the teardown below ends the process before it returns.
    process.exitCode = code;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    await this.session.shutdown({});
    this.lock?.release();
    return code;
  }

  /** Backend, dataset and learner: the first steps of train, lr-find and interpret. */
  async prepare(flags: DataModelFlags): Promise<void> {
    const data = dataOptionsFrom(flags);
    await this.session.backendInfo(flags.backend !== undefined ? { backend: flags.backend } : {});
    await this.session.openDataset(data);
    if (this.interrupted) return;
    const learner = await this.session.createLearner({
      arch: flags.arch,
      pretrained: flags.pretrained,
      ...(flags.fp16 ? { fp16: true } : {}),
      ...(flags.bf16 ? { bf16: true } : {}),
      ...(flags.saveBest !== undefined ? { saveBest: flags.saveBest } : {}),
      ...(flags.earlyStop !== undefined ? { earlyStop: flags.earlyStop } : {}),
      ...(flags.labelSmoothing !== undefined ? { labelSmoothing: flags.labelSmoothing } : {}),
      ...(flags.mixup !== undefined ? { mixup: flags.mixup } : {}),
    });
    this.metrics.setPrecision(learner.precision ?? 'fp32');
    if (flags.unfreeze) await this.session.unfreeze({});
  }
}

/** The checkpoint SaveModelCallback writes (its default name, which --save-best uses). */
const SAVE_BEST_NAME = new SaveModelCallback().fname;

export async function runTrain(flags: TrainFlags, command = 'train'): Promise<number> {
  return runFit(command, flags, (session, epochs) => session.fitOneCycle({ epochs, ...(flags.lr !== undefined ? { maxLr: flags.lr } : {}) }));
}

/** fine-tune: fastai v2's fine_tune (frozen epochs, then unfrozen with discriminative lrs) in one run. */
export async function runFineTune(flags: FineTuneFlags, command = 'fine-tune'): Promise<number> {
  return runFit(command, flags, (session, epochs) => session.fineTune({
    epochs,
    ...(flags.baseLr !== undefined ? { baseLr: flags.baseLr } : {}),
    ...(flags.freezeEpochs !== undefined ? { freezeEpochs: flags.freezeEpochs } : {}),
  }));
}

/** Prepare, train, report the error rate, save and export: train, fine-tune and demo. */
async function runFit(command: string, flags: DataModelFlags & ProgressiveFlags & { save: string; epochs: number }, train: (session: TrainerSession, epochs: number) => Promise<unknown>): Promise<number> {
  const run = new CliRun(command, flags);
  const exportDir = path.join(run.outDir, defaultExportDirName('native'));
  return run.execute(async () => {
    // What would be refused after the training (a bad --save, an --out that cannot be written or
    // is in use, an export target) is found now, before the first batch.
    await run.preflight({ data: flags.data, save: flags.save, exportDir });
    await run.prepare(flags);
    if (run.interrupted) return;
    try {
      await train(run.session, flags.epochs);
      if (flags.thenSize !== undefined && !run.interrupted) {
        const shape = await run.session.changeSize({ size: flags.thenSize, ...(flags.thenBs !== undefined ? { bs: flags.thenBs } : {}) });
        run.renderer.note(`progressive resizing: size ${shape.size}, bs ${shape.bs}`);
        await train(run.session, flags.thenEpochs ?? flags.epochs);
      }
    } finally {
      if (flags.saveBest !== undefined) run.noteCallbackCheckpoint(SAVE_BEST_NAME);
    }
    const last = run.metrics.lastEpoch;
    if (last && last.error_rate !== null) run.renderer.result(`error_rate: ${last.error_rate.toFixed(4)} after ${last.epoch + 1} epoch${last.epoch ? 's' : ''}`);
    if (run.interrupted) {
      run.renderer.note(`stopped: nothing saved as '${flags.save}' (the last epoch did not finish)`);
      return;
    }
    const saved = await run.session.save({ name: flags.save });
    run.checkpoint = path.relative(run.outDir, saved.path);
    run.renderer.note(`saved: ${saved.path}`);
    const exported = await run.session.export({ dir: exportDir });
    run.renderer.note(`exported: ${exported.dir}`);
  }, true);
}

export async function runLrFind(flags: LrFindFlags): Promise<number> {
  const run = new CliRun('lr-find', flags);
  return run.execute(async () => {
    await run.preflight({ data: flags.data });
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
  /** --tta [n]: true (n=4) or n. */
  tta?: boolean | number;
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
    assertCheckpointName(flags.name, '--name');
    const checkpoint = path.join(modelDir, 'models', `${flags.name}.safetensors`);
    if (!fs.existsSync(checkpoint)) {
      throw new TrainerError(`No checkpoint '${flags.name}' in ${path.join(modelDir, 'models')}`, {
        file: checkpoint,
        fix: 'pass the --out folder of a train run as --model (and --name if it was saved under another name)',
      });
    }
    await run.preflight({ data: flags.data, folder: reportDir });
    const info = await parts.learner().readCheckpointInfo(checkpoint);
    // the run's transforms (so its validation view) unless the flags say otherwise; its presize only at its size
    const size = flags.size ?? info.size;
    const recorded = { ...info.transforms, ...(size === info.size ? {} : { presize: undefined }) };
    const transforms = Object.fromEntries(TRANSFORM_KEYS.map((k) => [k, flags[k] ?? recorded[k]]).filter(([, v]) => v !== undefined));
    await run.prepare({ ...flags, ...transforms, arch: flags.arch ?? info.model.arch, size, pretrained: 'none', unfreeze: false });
    await run.session.load({ name: flags.name });
    // Text for people on stdout; in JSON mode stdout carries events only, so one summary line.
    const quiet = { write: (_s: string) => true };
    const tta = flags.tta === undefined || flags.tta === false ? undefined : flags.tta === true ? {} : { n: flags.tta };
    const r = await run.session.interpretReport({ outDir: reportDir, k: flags.k, out: flags.json ? quiet : escapingWriter(process.stdout), ...(tta ? { tta } : {}) });
    if (flags.json) {
      process.stdout.write(JSON.stringify({ type: 'interpretation', json: r.jsonPath, report: r.htmlPath, errorRate: r.summary.errorRate, mostConfused: r.summary.mostConfused, ...(r.summary.tta ? { tta: r.summary.tta } : {}) }) + '\n');
    }
  }, false);
}
