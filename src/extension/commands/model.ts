// What a trained learner is for: Interpret / Show Results, Save / Load / Export Model, Predict Image.
import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import type { ParamsOf } from '../../protocol/requests';
import type { CommandKit, Handler } from './shared';

const TOP_K = 5;

/** The k most probable classes of a prediction (names from the learner when known, else the answer's top class and #index). */
export function topK(p: { className: string; index: number; probs: number[] }, classes: readonly string[] | undefined, k: number): { name: string; prob: number }[] {
  return p.probs
    .map((prob, i) => ({ name: classes?.[i] ?? (i === p.index ? p.className : `class #${i}`), prob }))
    .sort((a, b) => b.prob - a.prob)
    .slice(0, Math.min(k, p.probs.length));
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?|avif)$/i;

export function modelCommands(kit: CommandKit): Record<string, Handler> {
  const { ctx, service, runJob, quick, guarded } = kit;
  /** Interpret and Show Results are one validation pass; they open the panel at a different section. */
  const interpretation = (what: string, focus: 'interpretation' | 'results', progress: string) =>
    guarded<ParamsOf<'interpret'>>(what, async (a) => {
      const result = await runJob(progress, () => service.request('interpret', a.k ? { k: a.k } : {}));
      ctx.panels().showInterpretation(result, focus);
      return result;
    });
  return {
    interpret: interpretation('Interpret', 'interpretation', 'interpreting the validation set'),
    showResults: interpretation('Show Results', 'results', 'predicting the validation set'),

    saveModel: guarded<{ name: string }>('Save Model', async (a) => {
      let name = a.name;
      if (!name) {
        name = await vscode.window.showInputBox({
          title: 'Image Trainer: Save Model',
          value: 'stage-1',
          prompt: `Checkpoint name (weights and optimiser state go to ${path.join(service.learner?.path ?? '<dataset>', 'models')})`,
          validateInput: (t) => (/^[\w.-]+$/.test(t) ? undefined : 'letters, digits, dot, dash and underscore only'),
        });
        if (!name) return undefined;
      }
      const res = await quick(`saving ${name}`, () => service.request('save', { name: name! }));
      void vscode.window.setStatusBarMessage(`Image Trainer: saved ${res.path}`, 8000);
      return res;
    }),

    loadModel: guarded<{ name: string }>('Load Model', async (a) => {
      let name = a.name;
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
      return quick(`loading ${name}`, () => service.request('load', { name: name! }));
    }),

    exportModel: guarded<{ dir: string }>('Export Model', async (a) => {
      let dir = a.dir;
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
      const res = await quick('exporting', () => service.request('export', { dir: dir! }));
      void vscode.window.showInformationMessage(`Image Trainer: exported to ${res.dir}`, 'Reveal').then((choice) => {
        if (choice) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(res.dir));
      });
      return res;
    }),

    predictImage: guarded<ParamsOf<'predict'>>('Predict Image', async (a, arg, all) => {
      let files: string[] = [];
      if (Array.isArray(all) && all.every((u) => u instanceof vscode.Uri)) files = (all as vscode.Uri[]).map((u) => u.fsPath);
      else if (arg instanceof vscode.Uri) files = [arg.fsPath];
      if (a.files) files = a.files;
      let modelDir = a.modelDir;
      if (!files.length) {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'] }, title: 'Image Trainer: images to classify' });
        if (!picked?.length) return undefined;
        files = picked.map((u) => u.fsPath);
      }
      const notImages = files.filter((f) => !IMAGE_EXT.test(f));
      if (notImages.length) throw new Error(`${notImages[0]} is not an image file (expected .jpg, .png, .webp, …)`);
      if (!service.learner && !modelDir) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, title: 'Image Trainer: no learner yet — pick an exported model folder (Export Model)' });
        if (!picked?.[0]) return undefined;
        modelDir = picked[0].fsPath;
      }
      const preds = await quick('predicting', () => service.request('predict', { files, ...(modelDir ? { modelDir } : {}) }));
      const classes = modelDir ? undefined : service.learner?.classes;
      const items: vscode.QuickPickItem[] = [];
      for (const p of preds) {
        const top = topK(p, classes, TOP_K);
        ctx.output.info(`predict ${p.file}: ${top.map((t) => `${t.name} ${(t.prob * 100).toFixed(1)}%`).join(', ')}`);
        items.push({ label: path.basename(p.file), kind: vscode.QuickPickItemKind.Separator });
        for (const [i, t] of top.entries()) items.push({ label: `${i === 0 ? '$(pass-filled) ' : '$(blank) '}${t.name}`, description: `${(t.prob * 100).toFixed(1)}%`, detail: i === 0 ? p.file : undefined });
      }
      // top-k with probabilities, per image (a quick pick dismissed with Escape; nothing to choose)
      if (items.length) void vscode.window.showQuickPick(items, { title: `Image Trainer: predictions (top ${TOP_K})`, placeHolder: 'Most probable classes per image; the Output channel keeps them' });
      return preds;
    }),
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
