// Entry point of the extension: wires the trainer service, commands, sidebar views, status bar and
// panels. activate() returns a small API that the integration tests read (what the views show,
// the events received, the crashes seen); it is not meant for other extensions.
import * as vscode from 'vscode';
import * as fs from 'fs';
import { TrainerService } from './trainerService';
import { registerCommands } from './commands/index';
import { NodeTreeProvider, datasetNodes, learnerNodes, runNodes, ViewNode } from './views';
import { TrainerStatusBar } from './statusBar';
import type { PanelHost } from './panelHost';
import { createPanelHost } from './panelBridge';

export interface ImageTrainerApi {
  service: TrainerService;
  views: { dataset: () => ViewNode[]; learner: () => ViewNode[]; runs: () => ViewNode[] };
  statusText: () => string;
  errors: readonly string[];
  panels: () => PanelHost;
}

let active: TrainerService | undefined;

export function activate(context: vscode.ExtensionContext): ImageTrainerApi {
  const output = vscode.window.createOutputChannel('Image Trainer', { log: true });
  context.subscriptions.push(output);
  const childModule = process.env.IMAGE_TRAINER_CHILD || context.asAbsolutePath('dist/trainer/child.js');
  if (!fs.existsSync(childModule)) output.error(`trainer entry not found: ${childModule} (run npm run build)`);

  const service = new TrainerService(context, output, childModule);
  active = service;
  context.subscriptions.push({ dispose: () => void service.dispose() });

  let panels: PanelHost | undefined;
  const getPanels = (): PanelHost => {
    if (!panels) {
      panels = createPanelHost(context, service, (m) => output.info(`[panels] ${m}`));
      context.subscriptions.push(panels);
    }
    return panels;
  };
  context.subscriptions.push(service.onUiEvent((e) => panels?.post(e)));
  // now, not on first use: the panels' serializers must be registered during activation to restore
  // the panels that were open before a reload (activationEvents onWebviewPanel:imageTrainer.*)
  getPanels();

  const errors: string[] = [];
  context.subscriptions.push(...registerCommands({ service, panels: getPanels, output, errors }));

  const trees = {
    dataset: new NodeTreeProvider(() => datasetNodes(service)),
    learner: new NodeTreeProvider(() => learnerNodes(service)),
    runs: new NodeTreeProvider(() => runNodes(service)),
  };
  for (const [name, provider] of Object.entries(trees)) {
    context.subscriptions.push(provider, vscode.window.createTreeView(`imageTrainer.${name}`, { treeDataProvider: provider, showCollapseAll: name !== 'learner' }));
  }
  context.subscriptions.push(
    service.onDidChange(() => {
      trees.dataset.refresh();
      trees.learner.refresh();
      trees.runs.refresh();
    }),
  );
  const status = new TrainerStatusBar(service);
  context.subscriptions.push(status);
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      trees.learner.refresh();
    }),
  );
  // The extension host may exit without awaiting deactivate: never leave the trainer behind.
  const onExit = () => service.killNow();
  process.once('exit', onExit);
  context.subscriptions.push({ dispose: () => process.off('exit', onExit) });

  return {
    service,
    views: { dataset: () => trees.dataset.roots(), learner: () => trees.learner.roots(), runs: () => trees.runs.roots() },
    statusText: () => status.text,
    errors,
    panels: getPanels,
  };
}

export async function deactivate(): Promise<void> {
  const s = active;
  active = undefined;
  await s?.dispose();
}
