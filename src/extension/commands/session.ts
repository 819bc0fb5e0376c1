// The trainer process and the run history: Show Backend Info, Restart Trainer, runs and their panels.
import * as vscode from 'vscode';
import type { BackendInfo } from '../../protocol/events';
import { argsOf, type CommandKit, type Handler } from './shared';

export function sessionCommands(kit: CommandKit): Record<string, Handler> {
  const { ctx, service, fail, quick } = kit;
  return {
    async showBackendInfo() {
      try {
        const b = await quick('starting the trainer', () => service.backendInfo());
        const text = describeBackend(b);
        ctx.output.info(text);
        void vscode.window.showInformationMessage(text, 'Show Log').then((a) => a && ctx.output.show(true));
        return b;
      } catch (err) {
        return fail(err, 'Show Backend Info');
      }
    },

    async restartTrainer() {
      try {
        const res = await quick('restarting the trainer', () => service.restart());
        const what = res.restoredLearner ? ' The dataset was reopened and the learner recreated (unsaved weights are lost).' : res.restoredDataset ? ' The dataset was reopened.' : '';
        void vscode.window.showInformationMessage(`Image Trainer: trainer restarted (pid ${service.trainerPid}).${what}`);
        return res;
      } catch (err) {
        return fail(err, 'Restart Trainer');
      }
    },

    showRun(arg?: unknown) {
      const { runId } = argsOf<{ runId: string }>(arg);
      const run = runId ? service.runs.get(runId) : service.runs.list()[0];
      if (!run) return undefined;
      ctx.panels().showRun(run);
      return run.runId;
    },

    compareRuns(arg?: unknown) {
      const ids = argsOf<{ runIds: string[] }>(arg).runIds;
      const runs = service.runs.list().filter((r) => r.kind !== 'lr_find' && (!ids || ids.includes(r.runId)));
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

export function describeBackend(b: BackendInfo): string {
  const extra = [b.device ? `device ${b.device}` : '', b.threads ? `${b.threads} threads` : '', b.simd !== undefined ? `SIMD ${b.simd ? 'on' : 'off'}` : '', `fp16 ${b.fp16 ? 'yes' : 'no'}`].filter(Boolean).join(', ');
  return `Image Trainer backend: ${b.name} (${b.kind}) — ${extra}.${b.reason ? ` ${b.reason}` : ''}`;
}
