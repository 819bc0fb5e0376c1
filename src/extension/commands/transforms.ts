// Validate with TTA (fastai v2 learn.tta) and Change Image Size… (progressive resizing) from the palette.
import * as vscode from 'vscode';
import type { ParamsOf } from '../../protocol/requests';
import type { CommandKit, Handler } from './shared';

const whole = (lo: number, hi: number) => (t: string): string | undefined => (/^\s*\d+\s*$/.test(t) && Number(t) >= lo && Number(t) <= hi ? undefined : `enter a whole number from ${lo} to ${hi}`);

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
      checkArg('image size', a.size, 8, 1024);
      checkArg('batch size', a.bs, 1, 4096);
      const current = service.lastDataset?.options;
      const size = a.size ?? await ask('image size', String((current?.size ?? 224) * 2), 'Progressive resizing: the same data and learner at this many pixels (e.g. 128 → 224)', whole(8, 1024));
      if (size === undefined) return undefined;
      const bs = a.bs ?? await ask('batch size', String(current?.bs ?? 64), 'Batch size at the new size (bigger images need a smaller batch)', whole(1, 4096));
      if (bs === undefined) return undefined;
      const r = await quick(`size ${size}, bs ${bs}`, () => service.request('changeSize', { ...a, size, bs }));
      void vscode.window.showInformationMessage(`Image Trainer: data now at ${r.size} px, bs ${r.bs} (${r.transforms}); the learner is kept`);
      return r;
    }),
  };
}

function checkArg(what: string, v: unknown, lo: number, hi: number): void {
  if (v !== undefined && whole(lo, hi)(typeof v === 'number' ? String(v) : '')) throw new Error(`${what} must be a whole number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
}

async function ask(title: string, value: string, prompt: string, validateInput: (t: string) => string | undefined): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({ title: `Image Trainer: Change Image Size — ${title}`, value, prompt, validateInput, ignoreFocusOut: true });
  return v === undefined ? undefined : Number(v);
}
