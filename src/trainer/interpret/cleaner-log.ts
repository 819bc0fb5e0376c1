// The cleaner's undo log lives in the dataset folder, so anyone who can write there can write it:
// every entry is schema-checked, and before undo acts every path it would touch is confined —
// restored files to the dataset (after resolving symlinks), trashed copies to the dataset's .trash
// or to an OS trash "files" folder with the matching .trashinfo, CSV edits to the dataset's own CSV.
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { CleanerLogEntry } from '../../protocol/cleaner';
import { isImageFile } from '../data/discover';
import { confineToRoot, isStrictlyInside, OutsideRootError, realPathOrNearest } from '../io/confine';
import { MAX_TEXT_BYTES, readTextBoundedSync, UnsafeFileError } from '../io/bounded-read';
import { InterpretError } from './errors';

export const OWN_FOLDER = '.image-trainer';
export const TRASH_FOLDER = '.trash';

const PATH_FIELDS = ['from', 'to', 'file', 'csvFile', 'trashInfo'] as const;

/** The protocol's log entry, plus: every path it names is absolute (no NUL). */
export const CleanerLogEntrySchema = CleanerLogEntry.superRefine((entry, ctx) => {
  for (const key of PATH_FIELDS) {
    const p = (entry as Partial<Record<(typeof PATH_FIELDS)[number], string | null>>)[key];
    if (typeof p === 'string' && (!path.isAbsolute(p) || p.includes('\0'))) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'must be an absolute path' });
  }
});
export type ParsedLogEntry = CleanerLogEntry;

/** Entries of the log text, oldest first; lines that do not parse or fit the schema are skipped (a torn last line must not block undo). */
export function parseCleanerLog(text: string): ParsedLogEntry[] {
  const out: ParsedLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      continue;
    }
    const parsed = CleanerLogEntrySchema.safeParse(json);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** The log's text; a log that is not a regular file of sane size is refused with the file and the fix. */
export function readCleanerLog(file: string): string {
  try {
    return readTextBoundedSync(file, { maxBytes: MAX_TEXT_BYTES, what: 'cleaner log' });
  } catch (err) {
    if (err instanceof UnsafeFileError && err.code === 'ENOENT') return '';
    if (err instanceof UnsafeFileError) throw new InterpretError(err.message, { file, fix: `${err.fix}; or delete ${file} (undo history is then lost, no image is)` });
    throw err;
  }
}

export interface DatasetPlace {
  root: string;
  /** The labels CSV the dataset's rule names (csv rule only), absolute. */
  csvFile?: string;
}

/** A path a cleaner action restores to or moves from: an image file inside the dataset, not in Image Trainer's own folders. */
export function confineDatasetImage(root: string, file: string, role: string): string {
  const abs = confineOrExplain(root, file, `the dataset folder`, role);
  const top = path.relative(path.resolve(root), abs).split(path.sep)[0];
  if (top === OWN_FOLDER || top === TRASH_FOLDER) {
    throw new InterpretError(`${abs} belongs to Image Trainer's own files, not the dataset`, { file: abs, fix: 'pick an image of the dataset' });
  }
  if (!isImageFile(abs)) {
    throw new InterpretError(`${abs} is not an image file the dataset can contain`, { file: abs, fix: 'only image files (.jpg, .png, …) of the dataset can be relabelled, deleted or restored' });
  }
  return abs;
}

function confineOrExplain(root: string, file: string, rootName: string, role: string): string {
  try {
    return confineToRoot(root, file, { rootName, fix: `the cleaner log names ${role} outside the dataset; it was not written by Image Trainer, so nothing was changed (delete the log if you do not trust it)` });
  } catch (err) {
    if (err instanceof OutsideRootError) throw new InterpretError(err.message, { file: err.file, fix: err.fix });
    throw err;
  }
}

/** Throws unless every path `action` names is one the cleaner could have written for this dataset. */
export function checkUndoPaths(action: Exclude<ParsedLogEntry, { op: 'undo' }>, place: DatasetPlace): void {
  const root = path.resolve(place.root);
  if (action.op === 'relabel' && action.kind === 'move') {
    confineDatasetImage(root, action.from, 'a file to restore');
    confineDatasetImage(root, action.to, 'the relabelled file');
    return;
  }
  if (action.op === 'relabel') {
    confineDatasetImage(root, action.file, 'the relabelled file');
    if (!place.csvFile || path.resolve(action.csvFile) !== path.resolve(place.csvFile)) {
      throw new InterpretError(`Cannot undo: the log names the CSV ${action.csvFile}, but this dataset is labelled by ${place.csvFile ?? 'no CSV'}`, {
        file: action.csvFile,
        fix: 'only edits to the open dataset\'s own labels CSV can be undone; nothing was changed',
      });
    }
    confineOrExplain(root, action.csvFile, 'the dataset folder', 'a labels CSV');
    return;
  }
  confineDatasetImage(root, action.from, 'a file to restore');
  if (action.to === null) return;
  if (action.trash === 'dataset') {
    confineOrExplain(path.join(root, TRASH_FOLDER), action.to, "the dataset's .trash folder", 'a trashed copy');
    return;
  }
  checkOsTrashCopy(action.to, action.trashInfo, action.from);
}

/**
 * An OS trash copy as the freedesktop trash keeps it: <trash>/files/<name> with
 * <trash>/info/<name>.trashinfo whose Path= is the original file (macOS: ~/.Trash/<name>, no info).
 */
function checkOsTrashCopy(to: string, info: string | undefined, from: string): void {
  const refuse = (why: string): never => {
    throw new InterpretError(`Cannot undo: ${to} ${why}`, { file: to, fix: "restore it from the system trash ('Put Back' / 'Restore'); nothing was changed" });
  };
  const real = realPathOrNearest(to);
  const filesDir = path.dirname(real);
  const mac = process.platform === 'darwin' && path.basename(filesDir) === '.Trash';
  if (!mac) {
    if (path.basename(filesDir) !== 'files' || !/^(Trash|\.Trash-\d+|\d+)$/.test(path.basename(path.dirname(filesDir)))) refuse('is not in a system trash folder');
    const expectInfo = path.join(path.dirname(filesDir), 'info', `${path.basename(real)}.trashinfo`);
    if (!info || realPathOrNearest(info) !== expectInfo) refuse('has no matching .trashinfo record in the system trash');
    let text = '';
    try {
      text = readTextBoundedSync(expectInfo, { maxBytes: 64 * 1024, what: 'trash info record' });
    } catch {
      refuse('has no readable .trashinfo record in the system trash');
    }
    const recorded = /^Path=(.*)$/m.exec(text)?.[1];
    let decoded: string | undefined;
    try {
      decoded = recorded === undefined ? undefined : decodeURIComponent(recorded);
    } catch {
      decoded = recorded;
    }
    if (decoded !== from && recorded !== from.replace(/\s/g, '%20')) refuse(`was not trashed from ${from}`);
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(to);
  } catch {
    return; // missing: moveBack reports it with the fix
  }
  if (!st.isFile()) refuse('is not a regular file');
}

/** The log file itself must stay inside the dataset: `.image-trainer` must not be a link to elsewhere. */
export function confineLogFile(root: string, logFile: string): void {
  const realRoot = realPathOrNearest(root);
  const real = realPathOrNearest(logFile);
  if (!isStrictlyInside(realRoot, real)) {
    throw new InterpretError(`Refusing to write the cleaner log ${logFile}: it leads to ${real}, outside the dataset folder`, {
      file: logFile,
      fix: `remove the link ${path.dirname(logFile)} (Image Trainer creates the folder itself)`,
    });
  }
  try {
    const st = fs.lstatSync(logFile);
    if (!st.isFile()) throw new InterpretError(`The cleaner log ${logFile} is not a regular file`, { file: logFile, fix: `remove ${logFile}; Image Trainer creates it itself` });
  } catch (err) {
    if (err instanceof InterpretError) throw err;
  }
}
