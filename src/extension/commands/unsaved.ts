// Asks before an action would throw away trained weights that were never saved (Open Dataset on
// another folder, Restart Trainer): a modal with Save Model…, Discard and Cancel.
import * as vscode from 'vscode';
import type { TrainerService } from '../trainerService';

/** True when it is fine to go on: nothing unsaved, the user saved, or chose to discard. */
export async function confirmDiscardUnsaved(service: TrainerService, action: string): Promise<boolean> {
  const l = service.learner;
  if (!l || !service.unsavedWeights) return true;
  const choice = await vscode.window.showWarningMessage(
    `Image Trainer: the ${l.arch} learner has trained weights that are not saved. ${action} discards them.`,
    { modal: true, detail: 'Save Model writes the weights and optimiser state to a checkpoint you can Load Model from later.' },
    'Save Model…',
    'Discard',
  );
  if (choice === 'Discard') return true;
  if (choice !== 'Save Model…') return false;
  await vscode.commands.executeCommand('imageTrainer.saveModel');
  return !service.unsavedWeights; // cancelled or failed saves keep the question open: do nothing
}
