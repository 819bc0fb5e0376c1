// Every "Image Trainer" command. Each takes its arguments programmatically too
// (executeCommand('imageTrainer.openDataset', { root, labelling, ... }) skips the prompts), which
// is how the integration tests drive them; the values they return are for those callers.
import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import type { DataOptions, ParamsOf } from '../protocol/requests';
import type { BackendInfo } from '../protocol/events';
import type { TrainerService } from './trainerService';
import type { PanelHost } from './panelHost';
import { runDatasetWizard } from './datasetWizard';
import { parseLr, formatLr, LrInput } from './lrInput';
import { TrainerRequestError, TrainerExitedError } from './trainerClient';
import { fmtLr, summarizeRun } from './runs';

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

const ARCHS = ['resnet18', 'resnet34', 'resnet50'] as const;
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?|avif)$/i;

/** Tree nodes pass themselves to inline commands; their `args` are the command's arguments. */
function argsOf<T extends object>(arg: unknown): Partial<T> {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) return {};
  const node = arg as { args?: unknown };
  if (node.args && typeof node.args === 'object') return node.args as Partial<T>;
  return arg as Partial<T>;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { service } = ctx;
  let pendingMaxLr: LrInput | undefined;
  let lastInterpretation: unknown;

  const fail = (err: unknown, what: string): undefined => {
    const e = err as Error;
    const detail =
      e instanceof TrainerRequestError
        ? `${e.message}${e.file ? ` (${e.file})` : ''}${e.fix ? `. Fix: ${e.fix}` : ''}`
        : e instanceof TrainerExitedError
          ? `the trainer process stopped (${e.exit.reason})`
          : (e?.message ?? String(err));
    const text = `Image Trainer: ${what} failed: ${detail}`;
    ctx.errors.push(text);
    ctx.output.error(text);
    if (e instanceof TrainerExitedError) return undefined; // the crash notification says it already
    const actions = e instanceof TrainerRequestError && e.file ? ['Reveal File', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(text, ...actions).then((a) => {
      if (a === 'Show Log') ctx.output.show(true);
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
        if (e.type === 'fit_begin') ctx.panels().showRun(service.runs.get(e.runId)!, service.runs.eventsOf(e.runId));
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

  const commands: Record<string, (...args: any[]) => unknown> = {
    async openDataset(arg?: unknown) {
      try {
        const given = argsOf<DataOptions>(arg);
        let options: DataOptions | undefined;
        if (given.root && given.labelling) {
          const cfg = vscode.workspace.getConfiguration('imageTrainer');
          const workers = cfg.get<number | null>('workers', null);
          options = {
            validPct: 0.2,
            seed: 42,
            size: cfg.get<number>('size', 224),
            bs: cfg.get<number>('batchSize', 64),
            ...(typeof workers === 'number' ? { numWorkers: workers } : {}),
            ...given,
          } as DataOptions;
        } else {
          options = await runDatasetWizard(service, arg instanceof vscode.Uri ? arg.fsPath : given.root);
        }
        if (!options) return undefined;
        const opts = options;
        const summary = await quick(`opening ${path.basename(opts.root)}`, () => service.request('openDataset', opts));
        const s = service.dataset?.summary;
        if (s) {
          const skipped = s.skipped.length ? `, ${s.skipped.length} files skipped (see the Dataset view)` : '';
          void vscode.window.setStatusBarMessage(`Image Trainer: ${s.classes.length} classes, ${s.trainCount} train / ${s.validCount} valid${skipped}`, 8000);
          if (s.skipped.length) ctx.output.warn(`${s.skipped.length} files skipped:\n${s.skipped.map((f) => `  ${f.file}: ${f.reason}`).join('\n')}`);
        }
        return summary;
      } catch (err) {
        return fail(err, 'Open Dataset');
      }
    },

    async showDataset(arg?: unknown) {
      const a = argsOf<ParamsOf<'showBatch'>>(arg);
      try {
        const batch = await quick('loading a batch', () => service.request('showBatch', { split: a.split ?? 'train', n: a.n ?? 16, ...(a.seed !== undefined ? { seed: a.seed } : {}) }));
        ctx.panels().showDataset(batch, service.dataset?.summary);
        return batch;
      } catch (err) {
        return fail(err, 'Show Dataset');
      }
    },

    async createLearner(arg?: unknown) {
      const r = untrusted('Create Learner');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'createLearner'>>(arg);
        const cfg = vscode.workspace.getConfiguration('imageTrainer');
        let arch = a.arch;
        if (!arch) {
          const def = cfg.get<string>('defaultArch', 'resnet34');
          const items = [...ARCHS].sort((x, y) => Number(y === def) - Number(x === def)).map((label) => ({ label, description: label === def ? 'default' : undefined }));
          arch = (await vscode.window.showQuickPick(items, { title: 'Image Trainer: architecture' }))?.label as (typeof ARCHS)[number] | undefined;
          if (!arch) return undefined;
        }
        let pretrained = a.pretrained;
        if (pretrained === undefined) {
          const choice = await vscode.window.showQuickPick(
            [
              { label: '$(cloud-download) ImageNet weights', description: 'auto', detail: 'torchvision weights from the cache folder (downloaded once when missing); the body starts frozen', value: 'auto' },
              { label: '$(circle-slash) None', description: 'none', detail: 'random initialisation; every layer group trains', value: 'none' },
              { label: '$(file) From a .safetensors file…', detail: 'torchvision-layout weights you already have', value: 'file' },
            ],
            { title: `Image Trainer: pretrained weights for ${arch}` },
          );
          if (!choice) return undefined;
          pretrained = choice.value;
          if (pretrained === 'file') {
            const f = await vscode.window.showOpenDialog({ canSelectFiles: true, filters: { Safetensors: ['safetensors'] }, title: 'Image Trainer: weights file' });
            if (!f?.[0]) return undefined;
            pretrained = f[0].fsPath;
          }
        }
        const cacheDir = cfg.get<string>('weightsCacheDir', '') || undefined;
        const params: ParamsOf<'createLearner'> = { arch, pretrained, ...(a.weightsCacheDir ?? cacheDir ? { weightsCacheDir: a.weightsCacheDir ?? cacheDir } : {}) };
        return await quick(`creating ${arch}`, () => service.request('createLearner', params));
      } catch (err) {
        return fail(err, 'Create Learner');
      }
    },

    async lrFind(arg?: unknown) {
      const r = untrusted('Find Learning Rate');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'lrFind'>>(arg);
        const result = (await runJob('finding the learning rate', () => service.request('lrFind', a))) as { suggestions?: { valley: number | null; minGrad: number | null } };
        const s = result?.suggestions;
        const best = s?.valley ?? s?.minGrad;
        if (best != null) {
          pendingMaxLr = undefined;
          void vscode.window
            .showInformationMessage(`Image Trainer: suggested learning rate ${fmtLr(best)} (valley ${s?.valley != null ? fmtLr(s.valley) : '–'}, min gradient ${s?.minGrad != null ? fmtLr(s.minGrad) : '–'}).`, 'Fit One Cycle…')
            .then((x) => x && vscode.commands.executeCommand('imageTrainer.fitOneCycle'));
        }
        return result;
      } catch (err) {
        return fail(err, 'Find Learning Rate');
      }
    },

    async fitOneCycle(arg?: unknown) {
      const r = untrusted('Fit One Cycle');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'fitOneCycle'>>(arg);
        let epochs = a.epochs;
        if (epochs === undefined) {
          const v = await vscode.window.showInputBox({
            title: 'Image Trainer: Fit One Cycle — epochs',
            value: '4',
            prompt: 'Number of epochs (the lesson starts with fit_one_cycle(4))',
            validateInput: (t) => (/^\s*\d+\s*$/.test(t) && Number(t) >= 1 ? undefined : 'enter a whole number ≥ 1'),
          });
          if (v === undefined) return undefined;
          epochs = Number(v);
        }
        let maxLr = a.maxLr;
        if (maxLr === undefined) {
          const suggestion = service.runs.lastSuggestion();
          const prefill = pendingMaxLr ?? suggestion ?? 3e-3;
          const v = await vscode.window.showInputBox({
            title: 'Image Trainer: Fit One Cycle — max learning rate',
            value: formatLr(prefill),
            prompt: `A number, or start:stop for discriminative rates across layer groups (fastai slice), e.g. 1e-6:1e-4.${suggestion ? ` Last LR-finder suggestion: ${fmtLr(suggestion)}.` : ''}`,
            validateInput: (t) => {
              const p = parseLr(t);
              return p.ok ? undefined : p.error;
            },
          });
          if (v === undefined) return undefined;
          const p = parseLr(v);
          if (!p.ok) return undefined;
          maxLr = p.value;
        }
        const params: ParamsOf<'fitOneCycle'> = { ...a, epochs, maxLr };
        const rows = await runJob(`fit_one_cycle(${epochs}, ${typeof maxLr === 'number' ? fmtLr(maxLr) : formatLr(maxLr)})`, () => service.request('fitOneCycle', params));
        pendingMaxLr = undefined;
        const run = service.runs.list()[0];
        if (run && run.kind !== 'lr_find') {
          const verb = run.status === 'stopped' ? 'stopped' : 'finished';
          void vscode.window.setStatusBarMessage(`Image Trainer: fit ${verb}: ${summarizeRun(run)}`, 10000);
        }
        return rows;
      } catch (err) {
        return fail(err, 'Fit One Cycle');
      }
    },

    async freeze() {
      return untrusted('Freeze') ?? service.request('freeze', {}).catch((e) => fail(e, 'Freeze'));
    },

    async unfreeze() {
      return untrusted('Unfreeze') ?? service.request('unfreeze', {}).catch((e) => fail(e, 'Unfreeze'));
    },

    async freezeTo(arg?: unknown) {
      const r = untrusted('Freeze To');
      if (r) return r;
      let n = argsOf<{ n: number }>(arg).n;
      if (n === undefined) {
        const groups = service.learner?.layerGroups ?? 3;
        const v = await vscode.window.showInputBox({
          title: 'Image Trainer: Freeze To',
          prompt: `First trainable layer group: 0 trains everything (unfreeze), ${groups - 1} only the head (freeze); negative counts from the end.`,
          value: String(Math.max(0, groups - 2)),
          validateInput: (t) => (/^\s*-?\d+\s*$/.test(t) && Math.abs(Number(t)) <= groups ? undefined : `enter a whole number from -${groups} to ${groups}`),
        });
        if (v === undefined) return undefined;
        n = Number(v);
      }
      return service.request('freezeTo', { n }).catch((e) => fail(e, 'Freeze To'));
    },

    async stopTraining() {
      try {
        if (!service.running) return { stopping: null };
        return await service.request('stop', {});
      } catch (err) {
        return fail(err, 'Stop Training');
      }
    },

    async interpret(arg?: unknown) {
      const r = untrusted('Interpret');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'interpret'>>(arg);
        lastInterpretation = await runJob('interpreting the validation set', () => service.request('interpret', a.k ? { k: a.k } : {}));
        ctx.panels().showInterpretation(lastInterpretation, 'interpretation');
        return lastInterpretation;
      } catch (err) {
        return fail(err, 'Interpret');
      }
    },

    async showResults(arg?: unknown) {
      const r = untrusted('Show Results');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'interpret'>>(arg);
        lastInterpretation = await runJob('predicting the validation set', () => service.request('interpret', a.k ? { k: a.k } : {}));
        ctx.panels().showInterpretation(lastInterpretation, 'results');
        return lastInterpretation;
      } catch (err) {
        return fail(err, 'Show Results');
      }
    },

    async saveModel(arg?: unknown) {
      const r = untrusted('Save Model');
      if (r) return r;
      let name = argsOf<{ name: string }>(arg).name;
      if (!name) {
        name = await vscode.window.showInputBox({
          title: 'Image Trainer: Save Model',
          value: 'stage-1',
          prompt: `Checkpoint name (weights and optimiser state go to ${path.join(service.learner?.path ?? '<dataset>', 'models')})`,
          validateInput: (t) => (/^[\w.-]+$/.test(t) ? undefined : 'letters, digits, dot, dash and underscore only'),
        });
        if (!name) return undefined;
      }
      try {
        const res = (await quick(`saving ${name}`, () => service.request('save', { name: name! }))) as { path?: string };
        void vscode.window.setStatusBarMessage(`Image Trainer: saved ${res?.path ?? name}`, 8000);
        return res;
      } catch (err) {
        return fail(err, 'Save Model');
      }
    },

    async loadModel(arg?: unknown) {
      const r = untrusted('Load Model');
      if (r) return r;
      let name = argsOf<{ name: string }>(arg).name;
      if (!name) {
        const dir = path.join(service.learner?.path ?? service.dataset?.summary.root ?? '', 'models');
        const names = safeReaddir(dir)
          .filter((f) => f.endsWith('.safetensors'))
          .map((f) => f.replace(/\.safetensors$/, ''));
        if (!names.length) {
          void vscode.window.showWarningMessage(`Image Trainer: no saved checkpoints in ${dir}. Use Save Model first.`);
          return undefined;
        }
        name = await vscode.window.showQuickPick(names, { title: 'Image Trainer: Load Model' });
        if (!name) return undefined;
      }
      try {
        return await quick(`loading ${name}`, () => service.request('load', { name: name! }));
      } catch (err) {
        return fail(err, 'Load Model');
      }
    },

    async exportModel(arg?: unknown) {
      const r = untrusted('Export Model');
      if (r) return r;
      let dir = argsOf<{ dir: string }>(arg).dir;
      if (!dir) {
        const base = service.learner?.path ?? service.dataset?.summary.root;
        const picked = await vscode.window.showSaveDialog({
          title: 'Image Trainer: export folder for inference (model.json + weights + preprocessing)',
          defaultUri: base ? vscode.Uri.file(path.join(base, 'export')) : undefined,
          saveLabel: 'Export',
        });
        if (!picked) return undefined;
        dir = picked.fsPath;
      }
      try {
        const res = (await quick('exporting', () => service.request('export', { dir: dir! }))) as { dir?: string };
        void vscode.window.showInformationMessage(`Image Trainer: exported to ${res?.dir ?? dir}`, 'Reveal').then((a) => {
          if (a) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(res?.dir ?? dir!));
        });
        return res;
      } catch (err) {
        return fail(err, 'Export Model');
      }
    },

    async predictImage(arg?: unknown, all?: unknown) {
      const r = untrusted('Predict Image');
      if (r) return r;
      let files: string[] = [];
      if (Array.isArray(all) && all.every((u) => u instanceof vscode.Uri)) files = (all as vscode.Uri[]).map((u) => u.fsPath);
      else if (arg instanceof vscode.Uri) files = [arg.fsPath];
      const a = argsOf<ParamsOf<'predict'>>(arg);
      if (a.files) files = a.files;
      let modelDir = a.modelDir;
      if (!files.length) {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'] }, title: 'Image Trainer: images to classify' });
        if (!picked?.length) return undefined;
        files = picked.map((u) => u.fsPath);
      }
      const notImages = files.filter((f) => !IMAGE_EXT.test(f));
      if (notImages.length) return fail(new Error(`${notImages[0]} is not an image file (expected .jpg, .png, .webp, …)`), 'Predict Image');
      if (!service.learner && !modelDir) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, title: 'Image Trainer: no learner yet — pick an exported model folder (Export Model)' });
        if (!picked?.[0]) return undefined;
        modelDir = picked[0].fsPath;
      }
      try {
        const preds = (await quick('predicting', () => service.request('predict', { files, ...(modelDir ? { modelDir } : {}) }))) as { file: string; className: string; probs: number[]; index: number }[];
        for (const p of preds) ctx.output.info(`predict ${p.file}: ${p.className} (${(Math.max(...p.probs) * 100).toFixed(1)}%)`);
        const first = preds[0];
        if (first) {
          const conf = (first.probs[first.index] * 100).toFixed(1);
          const more = preds.length > 1 ? ` (+${preds.length - 1} more in the output channel)` : '';
          void vscode.window.showInformationMessage(`Image Trainer: ${path.basename(first.file)} → ${first.className} (${conf}%)${more}`);
        }
        return preds;
      } catch (err) {
        return fail(err, 'Predict Image');
      }
    },

    async showBackendInfo() {
      try {
        const b = (await quick('starting the trainer', () => service.backendInfo())) as BackendInfo;
        const text = describeBackend(b);
        ctx.output.info(text);
        void vscode.window.showInformationMessage(text, 'Show Log').then((a) => a && ctx.output.show(true));
        return b;
      } catch (err) {
        return fail(err, 'Show Backend Info');
      }
    },

    async restartTrainer() {
      try {
        const res = await quick('restarting the trainer', () => service.restart());
        const what = res.restoredLearner ? ' The dataset was reopened and the learner recreated (unsaved weights are lost).' : res.restoredDataset ? ' The dataset was reopened.' : '';
        void vscode.window.showInformationMessage(`Image Trainer: trainer restarted (pid ${service.trainerPid}).${what}`);
        return res;
      } catch (err) {
        return fail(err, 'Restart Trainer');
      }
    },

    showRun(arg?: unknown) {
      const { runId } = argsOf<{ runId: string }>(arg);
      const run = runId ? service.runs.get(runId) : service.runs.list()[0];
      if (!run) return undefined;
      ctx.panels().showRun(run, service.runs.eventsOf(run.runId));
      return run.runId;
    },

    compareRuns(arg?: unknown) {
      const ids = argsOf<{ runIds: string[] }>(arg).runIds;
      const runs = service.runs.list().filter((r) => r.kind !== 'lr_find' && (!ids || ids.includes(r.runId)));
      ctx.panels().compareRuns(runs);
      return runs.map((r) => r.runId);
    },

    async clearRuns(arg?: unknown) {
      if (service.training) return { refused: 'training' };
      if (!argsOf<{ force: boolean }>(arg).force) {
        const ok = await vscode.window.showWarningMessage('Image Trainer: clear the run history of this workspace?', { modal: true }, 'Clear');
        if (ok !== 'Clear') return undefined;
      }
      await service.runs.clear();
      return { cleared: true };
    },
  };

  /** Lets the LR-finder panel set the max lr the next Fit One Cycle prompt offers. */
  const setMaxLr = vscode.commands.registerCommand('imageTrainer.internal.setMaxLr', (lr: LrInput) => {
    pendingMaxLr = lr;
  });

  return [setMaxLr, ...Object.entries(commands).map(([name, fn]) => vscode.commands.registerCommand(`imageTrainer.${name}`, fn))];
}

export function describeBackend(b: BackendInfo): string {
  const extra = [b.device ? `device ${b.device}` : '', b.threads ? `${b.threads} threads` : '', b.simd !== undefined ? `SIMD ${b.simd ? 'on' : 'off'}` : '', `fp16 ${b.fp16 ? 'yes' : 'no'}`].filter(Boolean).join(', ');
  return `Image Trainer backend: ${b.name} (${b.kind}) — ${extra}.${b.reason ? ` ${b.reason}` : ''}`;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
