// Validate with TTA (fastai v2 learn.tta) and Change Image Size… (progressive resizing) from the palette.
import * as vscode from 'vscode';
import { checkArg, numberPrompt, wholeIn } from './number-prompts';
import type { ParamsOf } from '../../protocol/requests';
import type { CommandKit, Handler } from './shared';

const SIZE = wholeIn(8, 1024);
const BS = wholeIn(1, 4096);
const ask = numberPrompt('Change Image Size');

export function transformCommands(kit: CommandKit): Record<string, Handler> {
  const { service, runJob, quick, guarded } = kit;
  return {
    validateTta: guarded<ParamsOf<'tta'>>('Validate with TTA', async (a) => {
      const r = await runJob(`tta(n=${a.n ?? 4}, beta=${a.beta ?? 0.25})`, () => service.request('tta', a));
      void vscode.window.showInformationMessage(
        `Image Trainer: error_rate ${r.plainErrorRate.toFixed(4)} plain, ${r.errorRate.toFixed(4)} with TTA (n=${r.n}, beta=${r.beta ?? 'none'}) on ${r.count} validation images`,
      );
      return r;
    }),
    changeImageSize: guarded<ParamsOf<'changeSize'>>('Change Image Size', async (a) => {
      // arguments (a tree node, another command) get the prompts' own checks, in the user's words
      checkArg('image size', a.size, SIZE);
      checkArg('batch size', a.bs, BS);
      // the open dataset's size and batch; before one is open this session, the saved one's
      const current = (service.dataset ?? service.lastDataset)?.options;
      const size = a.size ?? await ask('image size', String(Math.min((current?.size ?? 224) * 2, 1024)), 'Progressive resizing: the same data and learner at this many pixels (e.g. 128 → 224)', SIZE);
      if (size === undefined) return undefined;
      const bs = a.bs ?? await ask('batch size', String(current?.bs ?? 64), 'Batch size at the new size (bigger images need a smaller batch)', BS);
      if (bs === undefined) return undefined;
      const r = await quick(`size ${size}, bs ${bs}`, () => service.request('changeSize', { ...a, size, bs }));
      void vscode.window.showInformationMessage(`Image Trainer: data now at ${r.size} px, bs ${r.bs} (${r.transforms}); the learner is kept`);
      return r;
    }),
  };
}
