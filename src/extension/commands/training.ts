// The learner and its training: Create Learner, Find Learning Rate, Fit One Cycle, freezing, Stop.
import * as vscode from 'vscode';
import { ARCHS, DEFAULT_ARCH, type Arch } from '../../protocol/arch';
import { formatLr, formatLrValue, parseLr } from '../../protocol/lr';
import { NEXT_LR_SOURCE } from '../nextLr';
import { TrainerRequestError } from '../trainerClient';
import type { ParamsOf } from '../../protocol/requests';
import { formatRunMetrics } from '../runs';
import type { CommandKit, Handler } from './shared';

export function trainingCommands(kit: CommandKit): Record<string, Handler> {
  const { service, runJob, quick, guarded } = kit;
  return {
    createLearner: guarded<ParamsOf<'createLearner'>>('Create Learner', async (a) => {
      const cfg = vscode.workspace.getConfiguration('imageTrainer');
      let arch = a.arch;
      if (!arch) {
        const def = cfg.get<string>('defaultArch', DEFAULT_ARCH);
        const items = [...ARCHS].sort((x, y) => Number(y === def) - Number(x === def)).map((label) => ({ label, description: label === def ? 'default' : undefined }));
        arch = (await vscode.window.showQuickPick(items, { title: 'Image Trainer: architecture' }))?.label as Arch | undefined;
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
      const params: ParamsOf<'createLearner'> = { arch, pretrained, ...(a.weightsCacheDir ?? cacheDir ? { weightsCacheDir: a.weightsCacheDir ?? cacheDir } : {}), ...callbackSettings(cfg) };
      try {
        return await quick(`creating ${arch}`, () => service.request('createLearner', params));
      } catch (err) {
        if (pretrained !== 'auto' || !(err instanceof TrainerRequestError)) throw err;
        // offline or no cached weights: say it in the UI's words, and offer the way on
        const text = `Image Trainer: ImageNet weights for ${arch} are not available (${err.message}). Put them in the weights cache folder (setting imageTrainer.weightsCacheDir), pick "From a .safetensors file…", or train from scratch ("None" under pretrained weights).`;
        void vscode.window.showErrorMessage(text, 'Train from scratch', 'Show Log').then((c) => {
          if (c === 'Train from scratch') void vscode.commands.executeCommand('imageTrainer.createLearner', { ...params, pretrained: 'none' });
          else if (c === 'Show Log') kit.ctx.output.show(true);
        });
        kit.ctx.output.error(text);
        kit.ctx.errors.push(text);
        return undefined;
      }
    }),

    lrFind: guarded<ParamsOf<'lrFind'>>('Find Learning Rate', async (a) => {
      const result = await runJob('finding the learning rate', () => service.request('lrFind', a));
      const s = result.suggestions;
      const best = s.valley ?? s.minGrad;
      if (best != null) {
        void vscode.window
          .showInformationMessage(`Image Trainer: suggested learning rate ${formatLrValue(best)} (valley ${s.valley != null ? formatLrValue(s.valley) : '–'}, min gradient ${s.minGrad != null ? formatLrValue(s.minGrad) : '–'}).`, 'Fit One Cycle…')
          .then((x) => x && vscode.commands.executeCommand('imageTrainer.fitOneCycle'));
      }
      return result;
    }),

    fitOneCycle: guarded<ParamsOf<'fitOneCycle'>>('Fit One Cycle', async (a) => {
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
        const next = service.nextLr.current();
        const v = await vscode.window.showInputBox({
          title: 'Image Trainer: Fit One Cycle — max learning rate',
          value: formatLr(next.lr),
          prompt: `Pre-filled with the next max lr, ${formatLr(next.lr)} (${NEXT_LR_SOURCE[next.source]}). A number, or slice(start, stop) / start:stop for discriminative rates across layer groups, e.g. slice(1e-6, 1e-4).`,
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
      const rows = await runJob(`fit_one_cycle(${epochs}, ${formatLr(maxLr)})`, () => service.request('fitOneCycle', params));
      const run = service.runs.list()[0];
      if (run && run.kind !== 'lr_find') {
        const verb = run.status === 'stopped' ? 'stopped' : 'finished';
        const what = run.epochRows.length ? `: ${formatRunMetrics(run)}` : ' before the first epoch ended';
        void vscode.window.setStatusBarMessage(`Image Trainer: fit ${verb}${what}`, 10000);
      }
      return rows;
    }),

    freeze: guarded('Freeze', () => service.request('freeze', {})),

    unfreeze: guarded('Unfreeze', () => service.request('unfreeze', {})),

    freezeTo: guarded<{ n: number }>('Freeze To', async (a) => {
      let n = a.n;
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
      return service.request('freezeTo', { n });
    }),

    stopTraining: guarded('Stop Training', () => (service.running ? service.request('stop', {}) : { stopping: null }), { trust: false }),
  };
}

/** The fastai callbacks chosen in the settings (saveBest, earlyStop, labelSmoothing, mixup), as createLearner params. */
function callbackSettings(cfg: vscode.WorkspaceConfiguration): Partial<ParamsOf<'createLearner'>> {
  const saveBest = cfg.get<string>('saveBest', '');
  const earlyStop = cfg.get<number | null>('earlyStop', null);
  const labelSmoothing = cfg.get<number>('labelSmoothing', 0);
  const mixup = cfg.get<number>('mixup', 0);
  return {
    ...(saveBest === 'valid_loss' || saveBest === 'train_loss' || saveBest === 'error_rate' || saveBest === 'accuracy' ? { saveBest } : {}),
    ...(typeof earlyStop === 'number' && earlyStop >= 1 ? { earlyStop: Math.floor(earlyStop) } : {}),
    ...(labelSmoothing > 0 && labelSmoothing < 1 ? { labelSmoothing } : {}),
    ...(typeof mixup === 'number' && mixup > 0 && mixup <= 100 ? { mixup } : {}),
  };
}
