// Builds the PanelHost from the panel classes in ./panels and routes what users do in the panels:
// Stop, the cleaner, Grad-CAM and re-shuffle go to the trainer (handlePanelIntents); a max lr picked
// in the LR finder pre-fills the next Fit One Cycle.
import * as vscode from 'vscode';
import { formatLr } from '../protocol/lr';
import type { TrainerService } from './trainerService';
import type { PanelHost } from './panelHost';
import { WebviewPanels, handlePanelIntents } from './panels';
import { NEXT_LR_SOURCE } from './nextLr';

export function createPanelHost(context: vscode.ExtensionContext, service: TrainerService, log: (message: string) => void): PanelHost {
  const panels = new WebviewPanels(context, { dataset: () => service.dataset?.summary, lastDataset: () => service.lastDataset?.summary, runs: service.runs, log });
  context.subscriptions.push(
    ...panels.registerSerializers(),
    // one next max lr: the LR-finder panel shows what the prompt pre-fills and the sidebar shows
    service.onDidChange(() => {
      const next = service.nextLr.current();
      panels.setNextLr(next.lr, NEXT_LR_SOURCE[next.source]);
    }),
    handlePanelIntents(panels, service, log),
    panels.onUserIntent(({ intent }) => {
      if (intent.type !== 'setMaxLr') return;
      const lr = intent.lr;
      service.pickMaxLr(lr);
      void vscode.window
        .showInformationMessage(`Image Trainer: the next Fit One Cycle uses max lr ${formatLr(lr)}.`, 'Fit One Cycle…')
        .then((a) => a && vscode.commands.executeCommand('imageTrainer.fitOneCycle'));
    }),
  );
  return panels;
}
