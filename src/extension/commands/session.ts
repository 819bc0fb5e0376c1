// The trainer process and the run history: Show Backend Info, Restart Trainer, runs and their panels.
import * as vscode from 'vscode';
import { formatBackendReport } from '../../protocol/backend-report';
import { formatBackend } from '../../protocol/events';
import { confirmDiscardUnsaved } from './unsaved';
import { argsOf, type CommandKit, type Handler } from './shared';
import { formatRunMetrics, runName, type RunRecord } from '../runs';

export function sessionCommands(kit: CommandKit): Record<string, Handler> {
  const { ctx, service, quick, guarded } = kit;
  return {
    showBackendInfo: guarded('Show Backend Info', async () => {
      const b = await quick('starting the trainer', () => service.backendInfo());
      const report = await service.request('backendReport', {});
      const text = `Image Trainer backend: ${formatBackend(b)}`;
      ctx.output.info(text);
      for (const line of formatBackendReport(report).split('\n')) ctx.output.info(`  ${line}`);
      void vscode.window.showInformationMessage(text, 'Show Log').then((a) => a && ctx.output.show(true));
      return { ...b, report };
    }, { trust: false }),

    restartTrainer: guarded<{ discardUnsaved: boolean }>('Restart Trainer', async (a) => {
      if (!a.discardUnsaved && !(await confirmDiscardUnsaved(service, 'Restarting the trainer'))) return undefined;
      const res = await quick('restarting the trainer', () => service.restart());
      const what = res.restoredLearner ? ' The dataset was reopened and the learner recreated from its settings (weights from the last Save Model: Load Model).' : res.restoredDataset ? ' The dataset was reopened.' : '';
      void vscode.window.showInformationMessage(`Image Trainer: trainer restarted (pid ${service.trainerPid}).${what}`);
      return res;
    }, { trust: false }),

    showRun(arg?: unknown) {
      const { runId } = argsOf<{ runId: string }>(arg);
      const run = runId ? service.runs.get(runId) : service.runs.list()[0];
      if (!run) return undefined;
      ctx.panels().showRun(run);
      return run.runId;
    },

    async compareRuns(arg?: unknown) {
      const ids = argsOf<{ runIds: string[] }>(arg).runIds;
      const fits = service.runs.list().filter((r) => r.kind !== 'lr_find');
      let runs: RunRecord[];
      if (Array.isArray(ids)) runs = fits.filter((r) => ids.includes(r.runId));
      else {
        if (!fits.length) {
          void vscode.window.showInformationMessage('Image Trainer: no training runs to compare yet. Run Fit One Cycle first.');
          return [];
        }
        const picked = await pickRuns(fits, service.dataset?.summary.root ?? service.lastDataset?.options.root);
        if (!picked) return undefined;
        runs = picked;
      }
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
}

/** Which runs to compare: a multi-select of the runs as the Runs view names them, those of the dataset pre-selected (all when none is). */
async function pickRuns(runs: readonly RunRecord[], datasetRoot: string | undefined): Promise<RunRecord[] | undefined> {
  const ofDataset = runs.filter((r) => datasetRoot !== undefined && r.context?.dataset === datasetRoot);
  const preselected = new Set(ofDataset.length ? ofDataset : runs);
  const items = runs.map((run) => ({
    run,
    label: runName(run),
    description: `${run.status} · ${formatRunMetrics(run)}`,
    detail: run.context?.dataset,
    picked: preselected.has(run),
  }));
  const chosen = await vscode.window.showQuickPick(items, {
    title: 'Image Trainer: Compare Runs',
    placeHolder: ofDataset.length ? 'Runs of the open dataset are selected; tick the ones to compare' : 'Tick the runs to compare',
    canPickMany: true,
    // ticking several runs takes a moment; a panel redrawing meanwhile must not throw the ticks away
    ignoreFocusOut: true,
  });
  if (!chosen?.length) return undefined;
  return chosen.map((c) => c.run);
}
