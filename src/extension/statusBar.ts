// One status bar item: the backend when idle, the running job's progress otherwise.
import * as vscode from 'vscode';
import type { TrainerService } from './trainerService';

export class TrainerStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('imageTrainer.status', vscode.StatusBarAlignment.Left, 10);
  private readonly sub: vscode.Disposable;

  constructor(private readonly service: TrainerService) {
    this.item.name = 'Image Trainer';
    this.sub = service.onDidChange(() => this.update());
    this.update();
  }

  /** The text shown now (tests read it). */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const s = this.service;
    const b = s.backend;
    const backend = b ? `${b.name}${b.threads ? `×${b.threads}` : ''}` : 'trainer';
    const p = s.progress;
    if (p) {
      const pct = p.totalBatches > 0 ? Math.floor(((p.step + 1) / p.totalBatches) * 100) : 0;
      const what = p.kind === 'lr_find' ? 'lr_find' : `epoch ${p.epoch + 1}/${p.epochs}`;
      const loss = p.smoothLoss !== undefined ? ` · loss ${p.smoothLoss.toFixed(3)}` : '';
      this.item.text = `$(sync~spin) ${backend} · ${what} · ${pct}%${loss}`;
      this.item.tooltip = 'Image Trainer: training. Click to stop at the next batch.';
      this.item.command = 'imageTrainer.stopTraining';
    } else if (s.busy) {
      this.item.text = `$(sync~spin) ${backend} · ${s.busy}`;
      this.item.tooltip = `Image Trainer: ${s.busy} running`;
      this.item.command = s.training ? 'imageTrainer.stopTraining' : undefined;
    } else {
      this.item.text = `$(chip) ${backend}`;
      this.item.tooltip = b
        ? `Image Trainer backend: ${b.name} (${b.kind})${b.device ? ` on ${b.device}` : ''}${b.reason ? `\n${b.reason}` : ''}`
        : 'Image Trainer: the trainer starts on first use';
      this.item.command = 'imageTrainer.showBackendInfo';
    }
    if (s.running || s.dataset || s.runs.list().length) this.item.show();
    else this.item.hide();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
