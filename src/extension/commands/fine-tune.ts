// Fine Tune…: fastai v2's fine_tune(epochs, base_lr) from the palette, as one training run.
import { formatLrValue } from '../../protocol/lr';
import type { ParamsOf } from '../../protocol/requests';
import type { CommandKit, Handler } from './shared';
import { checkArg, numberPrompt, positiveNumber, wholeIn } from './number-prompts';

const EPOCHS = wholeIn(1, 1000);
const ask = numberPrompt('Fine Tune');

export function fineTuneCommands(kit: CommandKit): Record<string, Handler> {
  const { service, runJob, guarded } = kit;
  return {
    fineTune: guarded<ParamsOf<'fineTune'>>('Fine Tune', async (a) => {
      checkArg('epochs', a.epochs, EPOCHS);
      checkArg('base learning rate', a.baseLr, positiveNumber);
      const epochs = a.epochs ?? (await ask('epochs', '4', 'Epochs after unfreezing (the lesson: learn.fine_tune(4))', EPOCHS));
      if (epochs === undefined) return undefined;
      const baseLr = a.baseLr ?? (await ask('base learning rate', '2e-3', 'fastai base_lr: the frozen epoch trains at slice(base_lr), the unfrozen ones at slice(base_lr/200, base_lr/2)', positiveNumber));
      if (baseLr === undefined) return undefined;
      const params: ParamsOf<'fineTune'> = { ...a, epochs, baseLr };
      return runJob(`fine_tune(${epochs}, base_lr=${formatLrValue(baseLr)})`, () => service.request('fineTune', params));
    }),
  };
}
