// Fine Tune…: fastai v2's fine_tune(epochs, base_lr) from the palette, as one training run.
import * as vscode from 'vscode';
import { formatLrValue } from '../../protocol/lr';
import type { ParamsOf } from '../../protocol/requests';
import type { CommandKit, Handler } from './shared';

const positive = (t: string): string | undefined => (Number.isFinite(Number(t)) && Number(t) > 0 ? undefined : 'enter a positive number, e.g. 2e-3');
const wholeAtLeast = (min: number) => (t: string): string | undefined => (/^\s*\d+\s*$/.test(t) && Number(t) >= min ? undefined : `enter a whole number ≥ ${min}`);

async function ask(title: string, value: string, prompt: string, validateInput: (t: string) => string | undefined): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({ title: `Image Trainer: Fine Tune — ${title}`, value, prompt, validateInput });
  return v === undefined ? undefined : Number(v);
}

export function fineTuneCommands(kit: CommandKit): Record<string, Handler> {
  const { service, runJob, guarded } = kit;
  return {
    fineTune: guarded<ParamsOf<'fineTune'>>('Fine Tune', async (a) => {
      const epochs = a.epochs ?? (await ask('epochs', '4', 'Epochs after unfreezing (the lesson: learn.fine_tune(4))', wholeAtLeast(1)));
      if (epochs === undefined) return undefined;
      const baseLr = a.baseLr ?? (await ask('base learning rate', '2e-3', 'fastai base_lr: the frozen epoch trains at slice(base_lr), the unfrozen ones at slice(base_lr/200, base_lr/2)', positive));
      if (baseLr === undefined) return undefined;
      const params: ParamsOf<'fineTune'> = { ...a, epochs, baseLr };
      return runJob(`fine_tune(${epochs}, base_lr=${formatLrValue(baseLr)})`, () => service.request('fineTune', params));
    }),
  };
}
