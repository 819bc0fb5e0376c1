// What every command module shares: the context, argument handling (programmatic arguments or the
// tree node an inline action passes), the error/trust/progress helpers.
import * as vscode from 'vscode';
import type { TrainerService } from '../trainerService';
import type { PanelHost } from '../panelHost';
import { TrainerRequestError, TrainerExitedError } from '../trainerClient';
import { explainFailure } from '../failure';

export interface CommandContext {
  service: TrainerService;
  panels: () => PanelHost;
  output: vscode.LogOutputChannel;
  /** Errors shown to the user, newest last (tests read them). */
  errors: string[];
}

/** A result a command returns when it did not run, and why. */
export interface Refused {
  refused: string;
}

export type Handler = (...args: any[]) => unknown;

/** Tree nodes pass themselves to inline commands; their `args` are the command's arguments. */
export function argsOf<T extends object>(arg: unknown): Partial<T> {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) return {};
  const node = arg as { args?: unknown };
  if (node.args && typeof node.args === 'object') return node.args as Partial<T>;
  return arg as Partial<T>;
}

export interface CommandKit {
  ctx: CommandContext;
  service: TrainerService;
  /** Shows and records a failure (with the trainer's file and fix); returns undefined for the command. */
  fail(err: unknown, what: string): undefined;
  /** In Restricted Mode: explains and returns { refused: 'untrusted' }; else undefined. */
  untrusted(what: string): Refused | undefined;
  /** Long jobs: a cancellable notification; cancelling asks the trainer to stop at the next batch. */
  runJob<T>(title: string, work: () => Promise<T>): Promise<T>;
  /** Short requests: a window progress indicator. */
  quick<T>(title: string, task: () => Promise<T>): Thenable<T>;
  /**
   * The block every command shares: refused in Restricted Mode (unless `trust: false`, for commands
   * that run nothing on workspace files), arguments read with argsOf, any failure shown and recorded
   * as "<what> failed".
   */
  guarded<A extends object>(what: string, run: (args: Partial<A>, arg: unknown, ...rest: unknown[]) => unknown, opts?: { trust?: boolean }): Handler;
}

export function createKit(ctx: CommandContext): CommandKit {
  const { service } = ctx;
  const fail = (err: unknown, what: string): undefined => {
    const e = err as Error;
    let detail: string;
    let restart = false;
    if (e instanceof TrainerRequestError) {
      const x = explainFailure(e.message, service.recentLog, e.fix);
      detail = `${x.message}${e.file ? ` (${e.file})` : ''}${x.fix ? `. Fix: ${x.fix}` : ''}`;
      restart = x.needsRestart;
    } else if (e instanceof TrainerExitedError) detail = `the trainer process stopped (${e.exit.reason})`;
    else detail = e?.message ?? String(err);
    const text = `Image Trainer: ${what} failed: ${detail}`;
    ctx.errors.push(text);
    ctx.output.error(text);
    if (e instanceof TrainerExitedError) return undefined; // the crash notification says it already
    const actions = [...(restart ? ['Restart Trainer'] : []), ...(e instanceof TrainerRequestError && e.file ? ['Reveal File'] : []), 'Show Log'];
    void vscode.window.showErrorMessage(text, ...actions).then((a) => {
      if (a === 'Show Log') ctx.output.show(true);
      else if (a === 'Restart Trainer') void vscode.commands.executeCommand('imageTrainer.restartTrainer');
      else if (a === 'Reveal File' && e instanceof TrainerRequestError && e.file)
        void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(e.file)).then(undefined, () => undefined);
    });
    return undefined;
  };

  const untrusted = (what: string): Refused | undefined => {
    if (vscode.workspace.isTrusted) return undefined;
    const text = `Image Trainer: ${what} is disabled in Restricted Mode. It runs the trainer on this workspace's files (and loads model weights from it); trust the folder to enable it.`;
    ctx.errors.push(text);
    void vscode.window.showWarningMessage(text, 'Manage Workspace Trust').then((a) => {
      if (a) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return { refused: 'untrusted' };
  };

  /** Long jobs: a cancellable notification; cancelling asks the trainer to stop at the next batch. */
  const runJob = async <T>(title: string, work: () => Promise<T>): Promise<T> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Image Trainer: ${title}`, cancellable: true }, async (progress, token) => {
      token.onCancellationRequested(() => void service.stop().catch(() => undefined));
      let reported = 0;
      const sub = service.onUiEvent((e) => {
        if (e.type === 'fit_begin') ctx.panels().showRun(service.runs.get(e.runId)!);
        const p = service.progress;
        if (e.type !== 'batch' || !p || p.totalBatches <= 0) return;
        const pct = ((p.step + 1) / p.totalBatches) * 100;
        const what = p.kind === 'lr_find' ? `batch ${p.step + 1}/${p.totalBatches}` : `epoch ${p.epoch + 1}/${p.epochs} · batch ${p.iter + 1}/${p.batchesPerEpoch}`;
        progress.report({ increment: pct - reported, message: `${what} · loss ${e.smoothLoss.toFixed(4)}` });
        reported = pct;
      });
      try {
        return await work();
      } finally {
        sub.dispose();
      }
    });

  const quick = <T>(title: string, task: () => Promise<T>): Thenable<T> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Image Trainer: ${title}` }, task);

  const guarded: CommandKit['guarded'] = (what, run, opts = {}) =>
    async (arg?: unknown, ...rest: unknown[]) => {
      if (opts.trust !== false) {
        const refused = untrusted(what);
        if (refused) return refused;
      }
      try {
        return await run(argsOf(arg), arg, ...rest);
      } catch (err) {
        return fail(err, what);
      }
    };

  return { ctx, service, fail, untrusted, runJob, quick, guarded };
}
