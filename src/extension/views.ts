// The sidebar's three tree views (Dataset, Learner, Runs). Each is a pure function from the
// service's state to plain nodes, so tests can read exactly what the views show.
import * as vscode from 'vscode';
import type { TrainerService } from './trainerService';
import { formatLr, formatLrs } from '../protocol/lr';
import { NEXT_LR_SOURCE } from './nextLr';
import { formatRunMetrics, runName, type RunRecord } from './runs';

export interface ViewNode {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: string;
  contextValue?: string;
  command?: vscode.Command;
  children?: ViewNode[];
  expanded?: boolean;
  /** Arguments for commands run from this node's inline/context menu (they receive the node). */
  args?: Record<string, unknown>;
}

export class NodeTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ViewNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly build: () => ViewNode[]) {}

  /** The nodes as shown now (tests read these). */
  roots(): ViewNode[] {
    return this.build();
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    const state = node.children?.length
      ? node.expanded
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    item.command = node.command;
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
    return item;
  }

  getChildren(node?: ViewNode): ViewNode[] {
    return node ? (node.children ?? []) : this.build();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

function ruleText(rule: Record<string, unknown>): string {
  switch (rule.kind) {
    case 'nameRe':
      return `file name regex ${String(rule.pattern).replace(/\\\//g, '/')}`; // RegExp.source escapes '/'; show what was typed
    case 'folder':
      return `folders (train: ${String(rule.train ?? 'train')}, valid: ${rule.valid == null ? 'random split' : String(rule.valid)})`;
    case 'csv':
      return `CSV ${String(rule.csvFile)} (${String(rule.fnCol ?? 'name')} → ${String(rule.labelCol ?? 'label')})`;
    default:
      return String(rule.kind ?? 'unknown');
  }
}

export function datasetNodes(service: TrainerService): ViewNode[] {
  const ds = service.dataset;
  if (!ds) {
    const last = service.lastDataset;
    if (!last) return [];
    return [
      {
        id: 'ds.last',
        label: 'Reopen last dataset',
        description: last.options.root,
        tooltip: `Not loaded in the trainer. Click to open ${last.options.root} again with the same labelling.`,
        icon: 'history',
        contextValue: 'datasetLast',
        command: { command: 'imageTrainer.openDataset', title: 'Reopen', arguments: [last.options] },
      },
    ];
  }
  const s = ds.summary;
  const classes: ViewNode[] = s.counts.map((c) => ({
    id: `ds.class.${c.name}`,
    label: c.name,
    description: `train ${c.train} · valid ${c.valid}`,
    icon: 'tag',
    contextValue: 'datasetClass',
  }));
  const skipped: ViewNode[] = s.skipped.slice(0, 500).map((f, i) => ({
    id: `ds.skip.${i}`,
    label: f.file.split(/[\\/]/).pop() ?? f.file,
    description: f.reason,
    tooltip: `${f.file}\n${f.reason}`,
    icon: 'warning',
    contextValue: 'skippedFile',
    command: { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(f.file)] },
  }));
  const nodes: ViewNode[] = [
    { id: 'ds.root', label: 'Folder', description: s.root, tooltip: s.root, icon: 'folder', contextValue: 'datasetRoot' },
    { id: 'ds.rule', label: 'Labels', description: ruleText(s.rule), tooltip: JSON.stringify(s.rule), icon: 'symbol-key' },
    {
      id: 'ds.split',
      label: 'Split',
      description: `${s.trainCount} train · ${s.validCount} valid`,
      icon: 'split-horizontal',
      tooltip: `size ${ds.options.size ?? 'default'} · batch size ${ds.options.bs ?? 'default'} · seed ${ds.options.seed ?? 'default'}`,
    },
    ...(s.transforms ? [{ id: 'ds.tfms', label: 'Transforms', description: s.transforms, tooltip: `item_tfms + batch_tfms, in fastai's words:\n${s.transforms}`, icon: 'wand' }] : []),
    { id: 'ds.classes', label: `Classes (${s.classes.length})`, icon: 'list-unordered', children: classes, expanded: classes.length <= 12 },
  ];
  if (skipped.length) nodes.push({ id: 'ds.skipped', label: `Skipped files (${s.skipped.length})`, icon: 'warning', children: skipped });
  return nodes;
}

const GROUP_NAMES = ['body: stem … layer2', 'body: layer3 … layer4', 'head'];

export function learnerNodes(service: TrainerService): ViewNode[] {
  const nodes: ViewNode[] = [];
  const l = service.learner;
  if (l) {
    nodes.push({ id: 'l.arch', label: 'Architecture', description: `${l.arch} · pretrained ${l.pretrained}`, icon: 'circuit-board', contextValue: 'learnerArch' });
    const groups: ViewNode[] = [];
    for (let g = 0; g < l.layerGroups; g++) {
      const frozen = g < l.frozenTo;
      groups.push({
        id: `l.group.${g}`,
        label: `${g}: ${GROUP_NAMES[g] ?? `group ${g}`}`,
        description: frozen ? 'frozen (BatchNorm trainable)' : 'trainable',
        icon: frozen ? 'lock' : 'unlock',
        contextValue: frozen ? 'layerGroup.frozen' : 'layerGroup.trainable',
        tooltip: `Freeze To ${g}: train groups ${g}…${l.layerGroups - 1}`,
        args: { n: g },
      });
    }
    const state = l.frozenTo === 0 ? 'unfrozen' : l.frozenTo >= l.layerGroups - 1 ? 'frozen (head only)' : `frozen to group ${l.frozenTo}`;
    nodes.push({ id: 'l.groups', label: 'Layer groups', description: state, icon: 'layers', children: groups, expanded: true });
    const next = service.nextLr.current();
    nodes.push({ id: 'l.lr', label: 'Learning rate', description: `${formatLr(next.lr)} · next fit`, tooltip: `The max lr the next Fit One Cycle uses: ${formatLr(next.lr)} (${NEXT_LR_SOURCE[next.source]}).`, icon: 'dashboard' });
    nodes.push({ id: 'l.classes', label: 'Classes', description: String(l.classes.length), tooltip: l.classes.join(', '), icon: 'list-unordered' });
  }
  const b = service.backend;
  if (b) {
    const details = [b.threads ? `${b.threads} threads` : '', b.simd ? 'SIMD' : '', b.fp16 ? 'fp16' : '', b.bf16 ? 'bf16' : ''].filter(Boolean).join(', ');
    nodes.push({
      id: 'l.backend',
      label: 'Backend',
      description: `${b.name} (${b.kind})${b.device ? ` on ${b.device}` : ''}${details ? ` · ${details}` : ''}`,
      tooltip: b.reason ? `Why not a faster backend: ${b.reason}` : undefined,
      icon: 'chip',
      command: { command: 'imageTrainer.showBackendInfo', title: 'Show Backend Info' },
    });
  }
  return nodes;
}

const STATUS_ICON: Record<RunRecord['status'], string> = { running: 'sync~spin', completed: 'pass', stopped: 'debug-stop', failed: 'error' };

export function runNodes(service: TrainerService): ViewNode[] {
  return service.runs.list().map((run) => {
    const title = runName(run);
    const progress = run.status === 'running' && run.totalBatches > 0 ? ` ${Math.round(((run.lastStep + 1) / run.totalBatches) * 100)}%` : '';
    const children: ViewNode[] = run.epochRows.map((e) => ({
      id: `run.${run.runId}.epoch.${e.epoch}`,
      label: `epoch ${e.epoch}${e.phase ? ` · ${e.phase}` : ''}`,
      description: [
        `train_loss ${e.trainLoss.toFixed(4)}`,
        e.validLoss != null ? `valid_loss ${e.validLoss.toFixed(4)}` : '',
        e.errorRate != null ? `error_rate ${e.errorRate.toFixed(4)}` : '',
        `${e.seconds.toFixed(1)}s`,
      ]
        .filter(Boolean)
        .join(' · '),
    }));
    if (run.error) children.push({ id: `run.${run.runId}.error`, label: 'error', description: run.error, tooltip: run.error, icon: 'error' });
    return {
      id: `run.${run.runId}`,
      label: `${title}${progress}`,
      description: run.status === 'running' ? 'running' : run.epochRows.length || run.lrFind ? formatRunMetrics(run) : run.status,
      tooltip: `${title}\nstatus: ${run.status}${run.context?.arch ? `\narch: ${run.context.arch}` : ''}${run.context?.dataset ? `\ndataset: ${run.context.dataset}` : ''}\nmax lr: ${formatLrs(run.lrs)}${run.error ? `\n${run.error}` : ''}\nrun id: ${run.runId}`,
      icon: STATUS_ICON[run.status],
      contextValue: `run.${run.status}`,
      args: { runId: run.runId },
      command: { command: 'imageTrainer.showRun', title: 'Open Run', arguments: [{ runId: run.runId }] },
      children,
    };
  });
}
