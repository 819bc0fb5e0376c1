// What a trained learner is for: Interpret / Show Results, Save / Load / Export Model, Predict Image.
import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import type { ParamsOf } from '../../protocol/requests';
import { argsOf, type CommandKit, type Handler } from './shared';

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?|avif)$/i;

export function modelCommands(kit: CommandKit): Record<string, Handler> {
  const { ctx, service, fail, untrusted, runJob, quick } = kit;
  return {
    async interpret(arg?: unknown) {
      const r = untrusted('Interpret');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'interpret'>>(arg);
        const result = await runJob('interpreting the validation set', () => service.request('interpret', a.k ? { k: a.k } : {}));
        ctx.panels().showInterpretation(result, 'interpretation');
        return result;
      } catch (err) {
        return fail(err, 'Interpret');
      }
    },

    async showResults(arg?: unknown) {
      const r = untrusted('Show Results');
      if (r) return r;
      try {
        const a = argsOf<ParamsOf<'interpret'>>(arg);
        const result = await runJob('predicting the validation set', () => service.request('interpret', a.k ? { k: a.k } : {}));
        ctx.panels().showInterpretation(result, 'results');
        return result;
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
        const res = await quick(`saving ${name}`, () => service.request('save', { name: name! }));
        void vscode.window.setStatusBarMessage(`Image Trainer: saved ${res.path}`, 8000);
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
        const res = await quick('exporting', () => service.request('export', { dir: dir! }));
        void vscode.window.showInformationMessage(`Image Trainer: exported to ${res.dir}`, 'Reveal').then((a) => {
          if (a) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(res.dir));
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
        const preds = await quick('predicting', () => service.request('predict', { files, ...(modelDir ? { modelDir } : {}) }));
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
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
