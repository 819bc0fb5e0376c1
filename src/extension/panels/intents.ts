// Default handling of the panels' user intents through the trainer service: Stop, the cleaner
// (relabel/delete/undo), Grad-CAM overlays and re-shuffling the sample batch. The extension may
// use this as is or handle WebviewPanels.onUserIntent itself. No logic the trainer already has.
import * as path from 'path';
import type * as vscode from 'vscode';
import type { Method, ParamsOf, ResultOf } from '../../protocol/requests';
import type { CleanerChange, PanelKind } from '../../protocol/webview';
import type { WebviewPanels } from './panels';
import type { DatasetSummaryLike } from './panel-replay';

/** What is needed from the trainer service (structural: TrainerService fits). */
export interface TrainerRequester {
  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
  readonly dataset?: { summary: DatasetSummaryLike };
  /** A relabel moved an image between classes: the open dataset's counts follow. */
  noteRelabel?(oldLabel: string, newLabel: string, split: 'train' | 'valid'): void;
}

export function handlePanelIntents(panels: WebviewPanels, service: TrainerRequester, log: (m: string) => void = () => undefined): vscode.Disposable {
  const changes: CleanerChange[] = [];
  const fail = (what: string) => (err: unknown) => {
    const message = `${what} failed: ${(err as Error)?.message ?? String(err)}`;
    log(message);
    return message;
  };
  /** A relabel, delete or undo: a failure is said in the panel; either way the panel gets the changes as they now are. */
  const cleanerStep = async (panel: PanelKind, what: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      panels.notice(panel, 'error', fail(what)(err));
    }
    panels.setCleanerChanges([...changes]);
  };
  return panels.onUserIntent(async ({ panel, intent }) => {
    switch (intent.type) {
      case 'stop':
        await service.request('stop', {}).catch(fail('Stop'));
        break;
      case 'relabel':
        await cleanerStep(panel, `Relabel ${intent.file}`, async () => {
          const done = await service.request('relabel', { file: intent.file, newLabel: intent.newLabel });
          const moved = done.op === 'relabel' && done.kind === 'move' ? done.to : undefined;
          changes.push({ file: intent.file, action: 'relabel', newLabel: intent.newLabel, ...(moved ? { newFile: moved } : {}) });
          // the class counts change at once (interpretation shows validation images)
          if (done.op === 'relabel') service.noteRelabel?.(done.oldLabel, done.newLabel, 'valid');
          if (service.dataset) panels.refreshDataset(service.dataset.summary);
        });
        break;
      case 'delete':
        await cleanerStep(panel, `Delete ${intent.file}`, async () => {
          await service.request('deleteFile', { file: intent.file });
          changes.push({ file: intent.file, action: 'delete' });
        });
        break;
      case 'undo':
        await cleanerStep(panel, 'Undo', async () => {
          await service.request('undo', {});
          changes.pop();
        });
        break;
      case 'toggleGradCam': {
        if (!intent.enabled) break;
        let explained = false;
        for (const file of intent.files ?? []) {
          // the page knows an image by the path it was interpreted at; the cleaner may have moved or deleted it since
          const change = [...changes].reverse().find((c) => c.file === file);
          if (change?.action === 'delete') continue;
          const now = change?.newFile ?? file;
          try {
            const r = await service.request('gradCam', { file: now });
            panels.showGradCam(file, r.png);
            if (r.note && !explained) {
              explained = true; // one reason for the whole grid: at one image size every map is alike
              panels.notice(panel, 'info', `Grad-CAM of ${path.basename(now)} cannot show where the model looked: ${r.note}`);
            }
          } catch (err) {
            panels.notice(panel, 'error', fail(`Grad-CAM of ${now}`)(err)); // one image failing leaves the others their overlay
          }
        }
        break;
      }
      case 'reshuffle':
        try {
          const batch = await service.request('showBatch', { split: intent.split ?? 'train', n: 16, seed: Math.floor(Math.random() * 2 ** 31) });
          panels.showDataset(batch, service.dataset?.summary);
        } catch (err) {
          panels.notice(panel, 'error', fail('Re-shuffle')(err));
        }
        break;
      default:
        break; // setMaxLr goes to the next Fit One Cycle (panelBridge); requestCellItems is answered by the panels
    }
  });
}
