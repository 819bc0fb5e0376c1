// Every "Image Trainer" command. Each takes its arguments programmatically too
// (executeCommand('imageTrainer.openDataset', { root, labelling, ... }) skips the prompts), which
// is how the integration tests drive them; the values they return are for those callers.
import * as vscode from 'vscode';
import { createKit, type CommandContext } from './shared';
import { dataCommands } from './data';
import { trainingCommands } from './training';
import { fineTuneCommands } from './fine-tune';
import { modelCommands } from './model';
import { sessionCommands } from './session';
import { transformCommands } from './transforms';

export type { CommandContext } from './shared';

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const kit = createKit(ctx);
  const handlers = { ...dataCommands(kit), ...trainingCommands(kit), ...fineTuneCommands(kit), ...modelCommands(kit), ...sessionCommands(kit), ...transformCommands(kit) };
  return [...Object.entries(handlers).map(([name, fn]) => vscode.commands.registerCommand(`imageTrainer.${name}`, fn))];
}
