// fastai v2's ImageClassifierCleaner, as file operations: relabel a file so the dataset's own
// labelling rule gives it the new class, or delete it (OS trash, else <dataset>/.trash). Never
// overwrites a file; every action is appended to <dataset>/.image-trainer/cleaner-log.jsonl with
// what undo() needs, and undo() only acts when the file is still where the cleaner put it.
import * as fs from 'fs';
import * as path from 'path';
import { isDataError } from '../data/errors';
import { compileLabelPattern } from '../data/from-name-re';
import { matchLabel } from '../data/safe-regex';
import type { LabelRule } from '../data/types';
import type { CleanerAction, CleanerLogEntry, DeleteAction, RelabelCsvAction, RelabelMoveAction, UndoAction } from '../../protocol/cleaner';
import { csvRowOf, readCsvDoc, writeCsvLabel, type CsvDoc } from './csv-labels';
import { InterpretError } from './errors';
import { freeNameCandidates, withSuffix } from './free-names';
import { assertWritable, explainFsError, moveNoOverwrite, posixPath, resolveInside } from './safe-fs';
import { checkUndoPaths, confineDatasetImage, confineLogFile, parseCleanerLog, readCleanerLog } from './cleaner-log';
import { isStrictlyInside, realPathOrNearest } from '../io/confine';
import { makeFoldersSync } from '../io/make-folders';

export const CLEANER_LOG = path.join('.image-trainer', 'cleaner-log.jsonl');
export const DATASET_TRASH = '.trash';

export interface CleanerOptions {
  root: string;
  rule: LabelRule;
  /** Known classes; when given, relabelling to another name is refused (a typo would make a new class). */
  classes?: readonly string[];
  /** Try the OS trash first (default true); false always uses <dataset>/.trash. */
  useOsTrash?: boolean;
  /** The image files the dataset lists (absolute); when given, only these may be relabelled or deleted. */
  items?: Iterable<string>;
}

export class DatasetCleaner {
  readonly root: string;
  readonly rule: LabelRule;
  readonly logFile: string;
  private readonly classes?: readonly string[];
  private readonly useOsTrash: boolean;
  private readonly items?: ReadonlySet<string>;

  constructor(opts: CleanerOptions) {
    this.root = path.resolve(opts.root);
    this.rule = opts.rule;
    this.classes = opts.classes;
    this.useOsTrash = opts.useOsTrash ?? true;
    this.logFile = path.join(this.root, CLEANER_LOG);
    if (opts.items) this.items = new Set([...opts.items].map((f) => path.resolve(f)));
  }

  /** The label the dataset's rule gives `file` now. */
  labelOf(file: string): string {
    const abs = this.checkFile(file);
    switch (this.rule.kind) {
      case 'nameRe':
        return this.nameReMatch(abs).label;
      case 'folder':
        return this.folderParts(abs).label;
      case 'csv': {
        const doc = this.readCsv();
        return doc.rows[csvRowOf(doc, abs, this.root)].fields[doc.labelIdx]?.trim() ?? '';
      }
      default:
        throw unsupported(this.rule);
    }
  }

  async relabel(file: string, newLabel: string): Promise<RelabelMoveAction | RelabelCsvAction> {
    const abs = this.checkFile(file);
    this.checkLabel(newLabel);
    this.prepareLog();
    switch (this.rule.kind) {
      case 'nameRe':
        return this.relabelByName(abs, newLabel);
      case 'folder':
        return this.relabelByFolder(abs, newLabel);
      case 'csv':
        return this.relabelInCsv(abs, newLabel);
      default:
        throw unsupported(this.rule);
    }
  }

  /** Moves the file to the OS trash (where that works) or to <dataset>/.trash. */
  async delete(file: string): Promise<DeleteAction> {
    const abs = this.checkFile(file);
    assertWritable(abs, 'file');
    assertWritable(path.dirname(abs), 'folder');
    this.prepareLog();
    let action: DeleteAction | null = null;
    if (this.useOsTrash) {
      try {
        const { default: trash } = await import('trash');
        const result = (await trash(abs, { glob: false })) as unknown;
        if (!fs.existsSync(abs)) {
          const where = Array.isArray(result) ? (result[0] as { path?: string; info?: string } | undefined) : undefined;
          action = { ...this.stamp(), op: 'delete', from: abs, to: where?.path ?? null, trash: 'os', ...(where?.info ? { trashInfo: where.info } : {}) };
        }
      } catch {
        // No usable OS trash (headless Linux without a home, sandbox, network drive): use the dataset's.
      }
    }
    if (!action) {
      const rel = path.relative(this.root, abs);
      this.assertLandsInside(path.join(this.root, DATASET_TRASH, rel));
      const to = this.moveToFreeName(abs, (k) => path.join(this.root, DATASET_TRASH, k === 0 ? rel : withSuffix(rel, k)), 'moving to the dataset trash');
      action = { ...this.stamp(), op: 'delete', from: abs, to, trash: 'dataset' };
    }
    this.appendLog(action);
    return action;
  }

  /** Reverts the most recent action not yet undone; throws when there is none or it cannot be undone safely. */
  async undo(): Promise<CleanerAction> {
    const action = this.lastUndoable();
    if (!action) throw new InterpretError('Nothing to undo: the cleaner log has no actions left to revert', { file: this.logFile });
    // The log is data from the dataset folder: refuse any entry that reaches outside it.
    checkUndoPaths(action, { root: this.root, ...(this.rule.kind === 'csv' ? { csvFile: path.resolve(this.root, this.rule.csvFile) } : {}) });
    this.prepareLog();
    if (action.op === 'relabel' && action.kind === 'csv') this.undoCsv(action);
    else if (action.op === 'relabel') this.moveBack(action.to, action.from, `renamed ${path.basename(action.from)} → ${path.basename(action.to)}`);
    else this.undoDelete(action);
    this.appendLog({ ...this.stamp(), op: 'undo', undoes: action.id });
    return action;
  }

  /** Every log entry, oldest first (lines that do not parse are skipped). */
  history(): CleanerLogEntry[] {
    // Lines that do not parse or fit the schema are skipped: a torn last line (crash mid-append) must not block undo of the earlier actions.
    return parseCleanerLog(readCleanerLog(this.logFile)) as CleanerLogEntry[];
  }

  /** The actions undo() would revert, most recent first. */
  undoable(): CleanerAction[] {
    const entries = this.history();
    const undone = new Set(entries.filter((e): e is UndoAction => e.op === 'undo').map((e) => e.undoes));
    return entries.filter((e): e is CleanerAction => e.op !== 'undo' && !undone.has(e.id)).reverse();
  }

  // --- name regex -------------------------------------------------------------------------------

  private nameReMatch(abs: string): { label: string; start: number; end: number } {
    const re = this.pattern();
    const p = posixPath(abs);
    const m = matchLabel(re, p);
    if (!m || m.label === undefined || !m.span) {
      throw new InterpretError(`The labelling pattern ${re.source} does not match ${abs}`, {
        file: abs,
        fix: 'only files the dataset labels by its pattern can be relabelled by renaming',
      });
    }
    const [start, end] = m.span;
    return { label: m.label, start, end };
  }

  /** The rule's pattern compiled exactly as the labeller compiled it (so a renamed file gets the label it was given), with match indices. */
  private pattern(): RegExp {
    if (this.rule.kind !== 'nameRe') throw unsupported(this.rule);
    const { pattern, flags } = this.rule;
    let re: RegExp;
    try {
      // a dataset's rule holds the compiled JavaScript source and flags; a rule written by hand may still be Python syntax
      re = compileLabelPattern(flags ? new RegExp(pattern, flags) : pattern);
    } catch (err) {
      throw new InterpretError(`The dataset's labelling pattern ${pattern} cannot be used: ${(err as Error).message}`, {
        fix: isDataError(err) ? err.fix : "open the dataset again with a valid pattern, e.g. '/([^/]+)_\\d+.jpg$'",
      });
    }
    return new RegExp(re.source, re.flags.includes('d') ? re.flags : `${re.flags}d`);
  }

  private relabelByName(abs: string, newLabel: string): RelabelMoveAction {
    const { label, start, end } = this.nameReMatch(abs);
    this.checkChange(abs, label, newLabel);
    const p = posixPath(abs);
    const baseStart = p.lastIndexOf('/') + 1;
    if (start < baseStart) {
      throw new InterpretError(`The label part of ${abs} is not in the file name (the pattern ${this.pattern().source} captures a folder)`, {
        file: abs,
        fix: 'move the file by hand, or open the dataset with folder labelling',
      });
    }
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    const s = start - baseStart;
    const e = end - baseStart;
    const renamed = base.slice(0, s) + newLabel + base.slice(e);
    const re = this.pattern();
    const labelFor = (name: string) => matchLabel(re, posixPath(path.join(dir, name)))?.label;
    if (labelFor(renamed) !== newLabel) {
      throw new InterpretError(`Renaming ${base} to ${renamed} would not give the label '${newLabel}' under the pattern ${re.source}`, {
        file: abs,
        fix: `pick a label the pattern can capture, or rename the file by hand`,
      });
    }
    assertWritable(abs, 'file');
    assertWritable(dir, 'folder');
    const candidates = freeNameCandidates(renamed, s + newLabel.length);
    const to = this.moveToFreeName(abs, () => {
      for (;;) {
        const next = candidates.next();
        if (next.done) return null;
        if (labelFor(next.value) === newLabel) return path.join(dir, next.value);
      }
    }, 'renaming');
    const action: RelabelMoveAction = { ...this.stamp(), op: 'relabel', kind: 'move', from: abs, to, oldLabel: label, newLabel };
    this.appendLog(action);
    return action;
  }

  // --- folders ------------------------------------------------------------------------------

  /** The split folder (root, or root/train, root/valid) and the class folder directly under it. */
  private folderParts(abs: string): { base: string; label: string; rest: string } {
    if (this.rule.kind !== 'folder') throw unsupported(this.rule);
    const segs = path.relative(this.root, abs).split(path.sep);
    const splits = [this.rule.train, this.rule.valid].filter((s): s is string => !!s && s !== '.');
    let baseSegs = 0;
    if (splits.length > 0) {
      if (!splits.includes(segs[0])) {
        throw new InterpretError(`${abs} is not inside the dataset's ${splits.join(' or ')} folder`, { file: abs, fix: 'only images the dataset uses can be relabelled' });
      }
      baseSegs = 1;
    }
    if (segs.length < baseSegs + 2) {
      throw new InterpretError(`${abs} is not inside a class folder`, { file: abs, fix: 'only images inside a class folder have a label to change' });
    }
    return { base: path.join(this.root, ...segs.slice(0, baseSegs)), label: segs[baseSegs], rest: path.join(...segs.slice(baseSegs + 1)) };
  }

  private relabelByFolder(abs: string, newLabel: string): RelabelMoveAction {
    const { base, label, rest } = this.folderParts(abs);
    this.checkChange(abs, label, newLabel);
    assertWritable(abs, 'file');
    assertWritable(path.dirname(abs), 'folder');
    const targetDir = path.join(base, newLabel, path.dirname(rest));
    if (fs.existsSync(targetDir)) assertWritable(targetDir, 'folder');
    const target = path.join(base, newLabel, rest);
    this.assertLandsInside(target);
    const to = this.moveToFreeName(abs, (k) => (k === 0 ? target : withSuffix(target, k)), 'moving');
    const action: RelabelMoveAction = { ...this.stamp(), op: 'relabel', kind: 'move', from: abs, to, oldLabel: label, newLabel };
    this.appendLog(action);
    return action;
  }

  // --- CSV --------------------------------------------------------------------------------------

  private readCsv(): CsvDoc {
    if (this.rule.kind !== 'csv') throw unsupported(this.rule);
    return readCsvDoc(path.resolve(this.root, this.rule.csvFile), this.rule.fnCol, this.rule.labelCol);
  }

  private relabelInCsv(abs: string, newLabel: string): RelabelCsvAction {
    const doc = this.readCsv();
    const r = csvRowOf(doc, abs, this.root);
    const oldLabel = doc.rows[r].fields[doc.labelIdx]?.trim() ?? '';
    this.checkChange(abs, oldLabel, newLabel);
    assertWritable(doc.file, 'file');
    assertWritable(path.dirname(doc.file), 'folder');
    writeCsvLabel(doc, r, newLabel);
    const action: RelabelCsvAction = { ...this.stamp(), op: 'relabel', kind: 'csv', file: abs, csvFile: doc.file, oldLabel, newLabel };
    this.appendLog(action);
    return action;
  }

  private undoCsv(action: RelabelCsvAction): void {
    const doc = readCsvDoc(action.csvFile, (this.rule as { fnCol: string }).fnCol, (this.rule as { labelCol: string }).labelCol);
    const r = csvRowOf(doc, action.file, this.root);
    const current = doc.rows[r].fields[doc.labelIdx]?.trim();
    if (current !== action.newLabel) {
      throw new InterpretError(`Cannot undo: ${path.basename(action.file)} is now labelled '${current}' in ${doc.file}, not '${action.newLabel}' as the cleaner left it`, {
        file: doc.file,
        fix: `edit the CSV by hand if it should be '${action.oldLabel}' again`,
      });
    }
    assertWritable(doc.file, 'file');
    writeCsvLabel(doc, r, action.oldLabel);
  }

  // --- delete / undo ------------------------------------------------------------------------

  private undoDelete(action: DeleteAction): void {
    if (!action.to) {
      throw new InterpretError(`Cannot undo: ${action.from} went to the system trash and the system did not say where`, {
        file: action.from,
        fix: "restore it from the system trash ('Put Back' / 'Restore')",
      });
    }
    this.moveBack(action.to, action.from, `deleted ${path.basename(action.from)}`);
    if (action.trashInfo) fs.rmSync(action.trashInfo, { force: true });
  }

  /** Move `to` back to `from` if it is still where the cleaner put it and nothing took its place. */
  private moveBack(to: string, from: string, what: string): void {
    if (!fs.existsSync(to)) {
      throw new InterpretError(`Cannot undo (${what}): the file is no longer at ${to}; it was moved or deleted since`, {
        file: to,
        fix: `if you still have it, put it back at ${to} and undo again, or move it to ${from} by hand`,
      });
    }
    if (fs.existsSync(from)) {
      throw new InterpretError(`Cannot undo (${what}): ${from} exists again and would be overwritten`, {
        file: from,
        fix: `move or rename ${from}, then undo again`,
      });
    }
    assertWritable(to, 'file');
    assertWritable(path.dirname(to), 'folder');
    try {
      moveNoOverwrite(to, from);
    } catch (err) {
      throw explainFsError(err, to, 'undoing');
    }
  }

  private lastUndoable(): CleanerAction | undefined {
    return this.undoable()[0];
  }

  // --- shared -------------------------------------------------------------------------------

  /**
   * Moves `abs` to the first free name `nameAt(k)` gives (k = 0, 1, …; null = no more names).
   * EEXIST from the no-overwrite move means someone took the name: try the next one.
   */
  private moveToFreeName(abs: string, nameAt: (k: number) => string | null, doing: string): string {
    for (let k = 0; k < 100000; k++) {
      const to = nameAt(k);
      if (to === null) break;
      if (fs.existsSync(to)) continue;
      try {
        moveNoOverwrite(abs, to);
        return to;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw explainFsError(err, abs, doing);
      }
    }
    throw new InterpretError(`No free file name found for ${abs}`, { file: abs, fix: 'rename the file by hand' });
  }

  private checkFile(file: string): string {
    const abs = resolveInside(this.root, file);
    confineDatasetImage(this.root, abs, 'a file');
    if (this.items && !this.items.has(abs)) {
      throw new InterpretError(`${abs} is not one of the dataset's images`, { file: abs, fix: 'only images the open dataset lists can be relabelled or deleted; reopen the dataset if the file is new' });
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new InterpretError(`${abs} does not exist`, { file: abs, fix: 'it may have been moved or deleted already; reopen the dataset to refresh the list' });
    }
    if (!st.isFile()) throw new InterpretError(`${abs} is not a file`, { file: abs, fix: 'pick an image file' });
    return abs;
  }

  private checkLabel(label: string): void {
    if (!label || /[/\\\0]/.test(label) || label === '.' || label === '..' || label !== label.trim()) {
      throw new InterpretError(`'${label}' cannot be a class name (empty, surrounding spaces, '/', '\\' or '.' / '..')`, {
        fix: 'use a plain name such as "german_shepherd"',
      });
    }
    if (this.classes && !this.classes.includes(label)) {
      throw new InterpretError(`'${label}' is not one of the dataset's classes`, {
        fix: `pick one of: ${this.classes.join(', ')}`,
      });
    }
  }

  private checkChange(abs: string, oldLabel: string, newLabel: string): void {
    if (oldLabel === newLabel) throw new InterpretError(`${path.basename(abs)} is already labelled '${newLabel}'`, { file: abs, fix: 'pick a different class' });
  }

  /** Creates the log folder and checks the log can be written before any file is touched. */
  private prepareLog(): void {
    try {
      makeFoldersSync(path.dirname(this.logFile));
      confineLogFile(this.root, this.logFile);
      if (fs.existsSync(this.logFile)) assertWritable(this.logFile, 'file');
      else assertWritable(path.dirname(this.logFile), 'folder');
    } catch (err) {
      if (err instanceof InterpretError) throw new InterpretError(`Cannot record cleaner actions: ${err.message}`, { file: err.file, fix: err.fix });
      throw explainFsError(err, this.logFile, 'creating the cleaner log');
    }
  }

  private appendLog(entry: CleanerLogEntry): void {
    try {
      // O_NOFOLLOW: a log replaced by a symlink is not followed out of the dataset.
      const fd = fs.openSync(this.logFile, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(entry) + '\n');
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      throw explainFsError(err, this.logFile, 'recording the action in the cleaner log (the change itself was made)');
    }
  }

  /** A move target must land inside the dataset after resolving symlinks (a class folder or .trash linked elsewhere must not take the file out). */
  private assertLandsInside(target: string): void {
    if (!isStrictlyInside(realPathOrNearest(this.root), realPathOrNearest(target))) {
      throw new InterpretError(`Refusing to move a file to ${target}: it leads to ${realPathOrNearest(target)}, outside the dataset folder`, {
        file: target,
        fix: 'replace the symbolic link inside the dataset with a real folder, then try again',
      });
    }
  }

  private stamp(): { id: string; time: string } {
    return { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, time: new Date().toISOString() };
  }
}

function unsupported(rule: LabelRule): InterpretError {
  return new InterpretError(`Relabelling is not possible for a dataset labelled by '${rule.kind}'`, {
    fix: 'the label comes from code (a label function); rename or move the file by hand',
  });
}
