// Open Dataset (wizard or arguments) and Show Dataset (fastai show_batch in the dataset panel).
import * as vscode from 'vscode';
import * as path from 'path';
import type { DataOptions, ParamsOf } from '../../protocol/requests';
import { runDatasetWizard } from '../datasetWizard';
import { confirmDiscardUnsaved } from './unsaved';
import type { CommandKit, Handler } from './shared';

export function dataCommands(kit: CommandKit): Record<string, Handler> {
  const { ctx, service, quick, guarded } = kit;
  return {
    // Browsing a dataset runs the trainer on its files, but only to read them: allowed in Restricted Mode.
    openDataset: guarded<DataOptions>('Open Dataset', async (given, arg) => {
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
        if (!(await confirmDiscardUnsaved(service, 'Opening another dataset'))) return undefined;
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
    }, { trust: false }),

    showDataset: guarded<ParamsOf<'showBatch'>>('Show Dataset', async (a) => {
      const batch = await quick('loading a batch', () => service.request('showBatch', { split: a.split ?? 'train', n: a.n ?? 16, ...(a.seed !== undefined ? { seed: a.seed } : {}) }));
      ctx.panels().showDataset(batch, service.dataset?.summary);
      return batch;
    }, { trust: false }),
  };
}
