// What a trained learner is for: Interpret / Show Results, Save / Load / Export Model, Predict Image.
import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import type { ParamsOf } from '../../protocol/requests';
import { EXPORT_FORMATS, MODEL_CARD, type ExportFormat } from '../../protocol/export';
import type { CommandKit, Handler } from './shared';

const TOP_K = 5;

/** The k most probable classes of a prediction (names from the learner when known, else the answer's top class and #index). */
export function topK(p: { className: string; index: number; probs: number[] }, classes: readonly string[] | undefined, k: number): { name: string; prob: number }[] {
  return p.probs
    .map((prob, i) => ({ name: classes?.[i] ?? (i === p.index ? p.className : `class #${i}`), prob }))
    .sort((a, b) => b.prob - a.prob)
    .slice(0, Math.min(k, p.probs.length));
}

/** The Export Model quick pick: what each format is for, in the words of the runtime that loads it. */
export const EXPORT_FORMAT_CHOICES: Record<ExportFormat, { name: string; label: string; description: string; detail: string }> = {
  onnx: { name: 'ONNX', label: '$(package) ONNX', description: 'model.onnx · opset 13', detail: 'For onnxruntime (Python, C++, C#, JavaScript): float32 NCHW input in [0, 1], softmax output, classes in the metadata' },
  tfjs: { name: 'TensorFlow.js graph model', label: '$(globe) TensorFlow.js graph model', description: 'model.json + weights · metadata.json', detail: 'tf.loadGraphModel in a web page or Node, in the layout Teachable Machine users know' },
  native: { name: 'Image Trainer model', label: '$(symbol-class) Image Trainer (native)', description: 'model.json + weights.bin', detail: "This extension's own format: Predict Image and image-trainer predict --model" },
};

async function pickExportFormat(): Promise<ExportFormat | undefined> {
  const items = EXPORT_FORMATS.map((format) => ({ format, ...EXPORT_FORMAT_CHOICES[format] }));
  items.sort((x, y) => Number(x.format === 'native') - Number(y.format === 'native'));
  return (await vscode.window.showQuickPick(items, { title: 'Image Trainer: Export Model — format', placeHolder: 'A model card (README.md) goes beside every export' }))?.format;
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

    exportModel: guarded<ParamsOf<'export'>>('Export Model', async (a) => {
      const format = a.format ?? (await pickExportFormat());
      if (!format) return undefined;
      // no dir: the trainer's default (the run folder, or <dataset>/.image-trainer/export-<format>), never a class folder
      const res = await quick(`exporting ${EXPORT_FORMAT_CHOICES[format].name}`, () => service.request('export', { format, ...(a.dir ? { dir: a.dir } : {}) }));
      ctx.output.info(`exported ${EXPORT_FORMAT_CHOICES[format].name} to ${res.dir} (${res.files.join(', ')})`);
      const card = res.files.includes(MODEL_CARD) ? path.join(res.dir, MODEL_CARD) : undefined;
      const actions = ['Reveal in Explorer', ...(card ? ['Open Model Card'] : [])];
      void vscode.window.showInformationMessage(`Image Trainer: exported ${EXPORT_FORMAT_CHOICES[format].name} to ${res.dir}`, ...actions).then((choice) => {
        if (choice === 'Reveal in Explorer') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(res.dir)).then(undefined, () => vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(res.dir)));
        else if (choice === 'Open Model Card' && card) void vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(card)).then(undefined, () => vscode.window.showTextDocument(vscode.Uri.file(card)));
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
