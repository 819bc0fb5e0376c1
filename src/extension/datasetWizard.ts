// Open Dataset's prompts: folder → labelling (regex with a live preview of the labels, folders, or
// CSV) → a review list for valid %, seed, size, batch size and the transforms (augmentation,
// resize method, min scale, presize). Returns undefined when cancelled.
import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import type { DataOptions, LabelPreview as Preview, LabellingSpec } from '../protocol/requests';
import { DEFAULT_TRANSFORM_SPEC, type AugMode, type PadMode, type ResizeMethod } from '../protocol/dataset';
import type { TrainerService } from './trainerService';
import { projectFolderReason } from '../protocol/export';

/** The lesson's pattern: label = the file name up to the last `_<digits>`. */
export const DEFAULT_NAME_PATTERN = '/([^/]+)_\\d+\\.(jpe?g|png)$';

/** Up to `n` examples, one per label first, so the preview shows how the classes differ. */
function diverse(items: Preview['items'], n: number): Preview['items'] {
  const seen = new Set<string>();
  const first = items.filter((i) => !seen.has(i.label) && seen.add(i.label));
  return [...first, ...items.filter((i) => !first.includes(i))].slice(0, n);
}

function describePreview(p: Preview, root: string): string {
  const sample = diverse(p.items, 4)
    .map((i) => `${path.relative(root, i.file)} → ${i.label}`)
    .join('; ');
  return `${p.total} images, ${p.classes.length} classes${p.skipped ? `, ${p.skipped} skipped` : ''}. ${sample}${skippedFoldersText(p, root)}`;
}

/** " Skipped folders: models/ (…), export-onnx/ (…)." for the preview, or "". */
export function skippedFoldersText(p: Pick<Preview, 'skippedFolders'>, root: string): string {
  const f = p.skippedFolders ?? [];
  if (!f.length) return '';
  const shown = f.slice(0, 4).map((x) => `${path.relative(root, x.folder)}/ (${x.reason})`);
  return ` Skipped folders: ${shown.join(', ')}${f.length > 4 ? `, and ${f.length - 4} more` : ''}.`;
}

async function preview(service: TrainerService, root: string, labelling: LabellingSpec): Promise<Preview> {
  return service.request('previewLabels', { root, labelling, limit: 200 });
}

export async function runDatasetWizard(service: TrainerService, initialRoot?: string): Promise<DataOptions | undefined> {
  const last = service.lastDataset?.options;
  let root = initialRoot;
  if (!root) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Open Dataset',
      title: 'Image Trainer: the folder that holds the images',
      defaultUri: last ? vscode.Uri.file(last.root) : vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    root = picked?.[0]?.fsPath;
  }
  if (!root) return undefined;

  const labelling = await pickLabelling(service, root, last?.root === root ? last.labelling : undefined);
  if (!labelling) return undefined;

  const cfg = vscode.workspace.getConfiguration('imageTrainer');
  const opts: DataOptions = {
    root,
    labelling,
    validPct: last?.validPct ?? 0.2,
    seed: last?.seed ?? 42,
    // what was chosen last time for this folder, else the settings
    size: (last?.root === root ? last.size : undefined) ?? cfg.get<number>('size', 224),
    bs: (last?.root === root ? last.bs : undefined) ?? cfg.get<number>('batchSize', 64),
  };
  if (last?.root === root) {
    for (const key of ['aug', 'resize', 'padMode', 'minScale', 'presize'] as const) if (last[key] !== undefined) Object.assign(opts, { [key]: last[key] });
  }
  const workers = cfg.get<number | null>('workers', null);
  if (typeof workers === 'number') opts.numWorkers = workers;
  // a train/ + valid/ layout fixes the split: Validation % would be ignored, so it is not offered
  const fixedSplit = labelling.kind === 'folder' && isDir(path.join(root, 'train')) && isDir(path.join(root, 'valid'));
  return reviewOptions(opts, fixedSplit);
}

async function pickLabelling(service: TrainerService, root: string, previous?: LabellingSpec): Promise<LabellingSpec | undefined> {
  const csvFiles = safeReaddir(root).filter((f) => f.toLowerCase().endsWith('.csv'));
  const hasTrain = isDir(path.join(root, 'train'));
  type Item = vscode.QuickPickItem & { kind2: LabellingSpec['kind'] };
  const items: Item[] = [
    { kind2: 'nameRe', label: '$(regex) From file names', detail: 'A regular expression whose first group is the label, as from_name_re (e.g. german_shorthaired_105.jpg → german_shorthaired).' },
    { kind2: 'folder', label: '$(folder) From folders', detail: hasTrain ? 'train/<class>/… (and valid/<class>/… when present), as from_folder.' : 'One folder per class; the validation split is random.' },
    { kind2: 'csv', label: '$(table) From a CSV file', detail: csvFiles.length ? `Columns file name and label, e.g. ${csvFiles[0]}.` : 'No .csv file in this folder.' },
  ];
  const preferred = previous?.kind ?? (csvFiles.length ? 'csv' : hasTrain || hasClassFolders(root) ? 'folder' : 'nameRe');
  items.sort((a, b) => Number(b.kind2 === preferred) - Number(a.kind2 === preferred));
  const choice = await vscode.window.showQuickPick(items, { title: `Image Trainer: how are the labels of ${path.basename(root)} found?`, ignoreFocusOut: true });
  if (!choice) return undefined;
  switch (choice.kind2) {
    case 'nameRe':
      return regexWithPreview(service, root, previous?.kind === 'nameRe' ? previous.pattern : DEFAULT_NAME_PATTERN);
    case 'folder':
      return confirmWithPreview(service, root, { kind: 'folder' });
    case 'csv':
      return pickCsv(service, root, csvFiles);
  }
}

/** An input box whose message shows the labels the regex gives a few real files, updated as you type. */
function regexWithPreview(service: TrainerService, root: string, initial: string): Promise<LabellingSpec | undefined> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = 'Image Trainer: label regex (first group = label, matched against the full path)';
    box.value = initial;
    box.prompt = 'Preview updates as you type';
    box.ignoreFocusOut = true;
    let seq = 0;
    let good: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const check = (pattern: string) => {
      const mine = ++seq;
      good = undefined;
      box.busy = true;
      preview(service, root, { kind: 'nameRe', pattern })
        .then((p) => {
          if (mine !== seq) return;
          good = p.total > 0 ? pattern : undefined;
          box.validationMessage = p.total > 0
            ? { message: describePreview(p, root), severity: vscode.InputBoxValidationSeverity.Info }
            : { message: 'No file matches: change the pattern.', severity: vscode.InputBoxValidationSeverity.Error };
        })
        .catch((err: Error) => {
          if (mine === seq) box.validationMessage = { message: err.message, severity: vscode.InputBoxValidationSeverity.Error };
        })
        .finally(() => {
          if (mine === seq) box.busy = false;
        });
    };
    box.onDidChangeValue((v) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => check(v), 250);
    });
    box.onDidAccept(() => {
      if (good !== undefined && good === box.value) {
        resolve({ kind: 'nameRe', pattern: good });
        box.hide();
      }
    });
    box.onDidHide(() => {
      if (timer) clearTimeout(timer);
      resolve(undefined);
      box.dispose();
    });
    box.show();
    check(initial);
  });
}

async function confirmWithPreview(service: TrainerService, root: string, labelling: LabellingSpec): Promise<LabellingSpec | undefined> {
  let p: Preview;
  try {
    p = await preview(service, root, labelling);
  } catch (err) {
    void vscode.window.showErrorMessage(`Image Trainer: ${(err as Error).message}`);
    return undefined;
  }
  const ok = await vscode.window.showQuickPick(
    [
      { label: `$(check) Use these labels`, detail: describePreview(p, root), ok: true },
      { label: '$(close) Cancel', ok: false },
    ],
    { title: `Image Trainer: ${p.classes.length} classes: ${p.classes.slice(0, 12).join(', ')}${p.classes.length > 12 ? ', …' : ''}`, ignoreFocusOut: true },
  );
  return ok?.ok ? labelling : undefined;
}

async function pickCsv(service: TrainerService, root: string, csvFiles: string[]): Promise<LabellingSpec | undefined> {
  let csvFile: string | undefined;
  if (csvFiles.length === 1) csvFile = csvFiles[0];
  else if (csvFiles.length > 1) csvFile = await vscode.window.showQuickPick(csvFiles, { title: 'Image Trainer: which CSV file?', ignoreFocusOut: true });
  else {
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, filters: { CSV: ['csv'] }, defaultUri: vscode.Uri.file(root), title: 'Image Trainer: the CSV file with file names and labels' });
    csvFile = picked?.[0] ? path.relative(root, picked[0].fsPath) : undefined;
  }
  if (!csvFile) return undefined;
  const header = readFirstLine(path.resolve(root, csvFile))
    .split(',')
    .map((h) => h.trim().replace(/^"|"$/g, ''))
    .filter(Boolean);
  let fnCol: string | undefined;
  let labelCol: string | undefined;
  if (header.length > 2) {
    fnCol = await vscode.window.showQuickPick(header, { title: 'Image Trainer: the column with file names', ignoreFocusOut: true });
    if (!fnCol) return undefined;
    labelCol = await vscode.window.showQuickPick(header.filter((h) => h !== fnCol), { title: 'Image Trainer: the column with labels', ignoreFocusOut: true });
    if (!labelCol) return undefined;
  }
  const spec: LabellingSpec = { kind: 'csv', csvFile, ...(fnCol ? { fnCol } : {}), ...(labelCol ? { labelCol } : {}) };
  return confirmWithPreview(service, root, spec);
}

type Field = 'validPct' | 'seed' | 'size' | 'bs';
const FIELDS: { key: Field; label: string; help: string; parse(v: string): number | string }[] = [
  { key: 'validPct', label: 'Validation %', help: 'share of the images held out for validation (0–99)', parse: (v) => intIn(v, 0, 99, 'a whole percentage 0–99') },
  { key: 'seed', label: 'Seed', help: 'makes the split and shuffling reproducible', parse: (v) => intIn(v, -(2 ** 31), 2 ** 31 - 1, 'an integer') },
  { key: 'size', label: 'Size', help: 'images become size × size pixels', parse: (v) => intIn(v, 8, 1024, 'an integer 8–1024') },
  { key: 'bs', label: 'Batch size', help: 'the main memory lever', parse: (v) => intIn(v, 1, 4096, 'an integer 1–4096') },
];

function intIn(v: string, lo: number, hi: number, what: string): number | string {
  const n = Number(v.trim());
  return v.trim() !== '' && Number.isInteger(n) && n >= lo && n <= hi ? n : `enter ${what}`;
}

function shown(opts: DataOptions, key: Field): string {
  const v = opts[key];
  return key === 'validPct' ? String(Math.round((v ?? 0.2) * 100)) : String(v ?? '');
}

async function reviewOptions(opts: DataOptions, fixedSplit = false): Promise<DataOptions | undefined> {
  const fields = FIELDS.filter((f) => !(fixedSplit && f.key === 'validPct'));
  for (;;) {
    type Item = vscode.QuickPickItem & { key?: Field; tfm?: TransformField };
    const items: Item[] = [
      { label: '$(check) Open dataset', detail: `${opts.root} · ${labellingText(opts.labelling)}${fixedSplit ? ' · validation set: the valid/ folder' : ''}` },
      ...fields.map((f) => ({ key: f.key, label: `${f.label}: ${shown(opts, f.key)}`, description: f.help })),
      ...transformItems(opts),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Image Trainer: open the dataset (pick a value to change it)', ignoreFocusOut: true });
    if (!pick) return undefined;
    if (pick.tfm) {
      await editTransform(opts, pick.tfm);
      continue;
    }
    if (!pick.key) return opts;
    const field = FIELDS.find((f) => f.key === pick.key)!;
    const value = await vscode.window.showInputBox({
      title: `Image Trainer: ${field.label}`,
      prompt: field.help,
      value: shown(opts, field.key),
      ignoreFocusOut: true,
      validateInput: (v) => {
        const r = field.parse(v);
        return typeof r === 'string' ? r : undefined;
      },
    });
    if (value === undefined) continue;
    const n = field.parse(value) as number;
    if (field.key === 'validPct') opts.validPct = n / 100;
    else opts[field.key] = n;
    if (opts.presize !== undefined && opts.size !== undefined && opts.presize < opts.size) delete opts.presize;
  }
}

type TransformField = 'resize' | 'aug' | 'minScale' | 'presize';

const AUG_LABELS: Record<AugMode, string> = {
  v2: 'aug_transforms (v2)',
  v1: 'get_transforms (v1)',
  none: 'none',
};

/** The review list's transform rows: what fastai v2 calls item_tfms and batch_tfms. */
function transformItems(opts: DataOptions): (vscode.QuickPickItem & { tfm: TransformField })[] {
  const aug = opts.aug ?? DEFAULT_TRANSFORM_SPEC.aug;
  const resize = opts.resize ?? DEFAULT_TRANSFORM_SPEC.resize;
  const rows: (vscode.QuickPickItem & { tfm: TransformField })[] = [
    { tfm: 'aug', label: `Augmentation: ${AUG_LABELS[aug]}`, description: 'flips, rotation, zoom, warp and lighting on the training images' },
  ];
  if (aug !== 'v1') {
    rows.push({ tfm: 'resize', label: `Resize: ${resize}${resize === 'pad' ? ` (${opts.padMode ?? DEFAULT_TRANSFORM_SPEC.padMode})` : ''}`, description: 'how an image becomes square: crop (random on train, centred on valid), squish or pad' });
    rows.push({ tfm: 'minScale', label: `Min scale: ${opts.minScale ?? DEFAULT_TRANSFORM_SPEC.minScale}`, description: aug === 'none' ? 'below 1: RandomResizedCrop of at least this share of the image' : 'below 1: random crops of at least this share of the image (aug_transforms min_scale)' });
  }
  if (aug === 'v2') rows.push({ tfm: 'presize', label: `Presize: ${opts.presize ?? opts.size ?? 224}`, description: 'presizing: resize to this first, augment down to Size (the lesson: 460 for 224)' });
  return rows;
}

async function editTransform(opts: DataOptions, field: TransformField): Promise<void> {
  if (field === 'aug') {
    const pick = await vscode.window.showQuickPick(
      (Object.keys(AUG_LABELS) as AugMode[]).map((a) => ({ label: AUG_LABELS[a], aug: a, picked: a === (opts.aug ?? DEFAULT_TRANSFORM_SPEC.aug) })),
      { title: 'Image Trainer: augmentation of the training images', ignoreFocusOut: true },
    );
    if (pick) {
      opts.aug = pick.aug;
      if (pick.aug === 'v1') for (const k of ['resize', 'padMode', 'minScale', 'presize'] as const) delete opts[k];
    }
    return;
  }
  if (field === 'resize') {
    const choices: { label: string; resize: ResizeMethod; padMode?: PadMode }[] = [
      { label: 'crop', resize: 'crop' },
      { label: 'squish', resize: 'squish' },
      { label: 'pad (reflection)', resize: 'pad', padMode: 'reflection' },
      { label: 'pad (zeros)', resize: 'pad', padMode: 'zeros' },
      { label: 'pad (border)', resize: 'pad', padMode: 'border' },
    ];
    const pick = await vscode.window.showQuickPick(choices, { title: 'Image Trainer: Resize method', ignoreFocusOut: true });
    if (pick) {
      opts.resize = pick.resize;
      if (pick.padMode) opts.padMode = pick.padMode;
      else delete opts.padMode;
    }
    return;
  }
  const isScale = field === 'minScale';
  const value = await vscode.window.showInputBox({
    title: `Image Trainer: ${isScale ? 'Min scale' : 'Presize'}`,
    prompt: isScale ? 'share of the image a random crop keeps at least (0.01–1; 1 = off)' : `pixels before the augmentation crops to Size (≥ ${opts.size ?? 224})`,
    value: String(isScale ? opts.minScale ?? 1 : opts.presize ?? opts.size ?? 224),
    ignoreFocusOut: true,
    validateInput: (v) => {
      const n = Number(v.trim());
      if (isScale) return v.trim() !== '' && n >= 0.01 && n <= 1 ? undefined : 'enter a number from 0.01 to 1';
      return Number.isInteger(n) && n >= (opts.size ?? 8) && n <= 2048 ? undefined : `enter a whole number from ${opts.size ?? 8} to 2048`;
    },
  });
  if (value === undefined) return;
  if (isScale) opts.minScale = Number(value.trim());
  else opts.presize = Number(value.trim());
}

export function labellingText(l: LabellingSpec): string {
  switch (l.kind) {
    case 'nameRe':
      return `regex ${l.pattern}`;
    case 'folder':
      return 'folders';
    case 'csv':
      return `CSV ${l.csvFile}`;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasClassFolders(root: string): boolean {
  return safeReaddir(root).filter((f) => projectFolderReason(f) === undefined && isDir(path.join(root, f))).length >= 2;
}

function readFirstLine(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0] ?? '';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
