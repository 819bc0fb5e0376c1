// Builds the PanelHost from the panel classes in ./panels. Until those classes exist the commands
// run without panels (NoPanels).
import type * as vscode from 'vscode';
import type { TrainerService } from './trainerService';
import { PanelHost, NoPanels } from './panelHost';

export function createPanelHost(_context: vscode.ExtensionContext, _service: TrainerService): PanelHost {
  return new NoPanels();
}
