// The cleaner's actions (relabel, delete, undo): the relabel/deleteFile/undo answers and the lines
// of <dataset>/.image-trainer/cleaner-log.jsonl.
import { z } from 'zod';

const ActionBase = z.object({ id: z.string().min(1).max(200), time: z.string().max(100) });
/** A file the action names (the trainer also checks that it is absolute and where it may lie). */
const FilePath = z.string().min(1).max(4096);

/** What every relabel records; `kind` says how the label was changed. */
const RelabelBase = ActionBase.extend({ op: z.literal('relabel'), oldLabel: z.string(), newLabel: z.string() });

/** A file moved or renamed (name-regex and folder datasets). */
export const RelabelMoveAction = RelabelBase.extend({ kind: z.literal('move'), from: FilePath, to: FilePath });
export type RelabelMoveAction = z.infer<typeof RelabelMoveAction>;

/** A CSV row's label rewritten. */
export const RelabelCsvAction = RelabelBase.extend({ kind: z.literal('csv'), file: FilePath, csvFile: FilePath });
export type RelabelCsvAction = z.infer<typeof RelabelCsvAction>;

export const DeleteAction = ActionBase.extend({
  op: z.literal('delete'),
  from: FilePath,
  /** Where the file went: the OS trash's copy (when known) or <dataset>/.trash/…; null if the OS did not say. */
  to: FilePath.nullable(),
  trash: z.enum(['os', 'dataset']),
  /** freedesktop .trashinfo written by the OS trash (Linux); removed on undo. */
  trashInfo: FilePath.optional(),
});
export type DeleteAction = z.infer<typeof DeleteAction>;

export const UndoAction = ActionBase.extend({ op: z.literal('undo'), undoes: z.string().min(1).max(200) });
export type UndoAction = z.infer<typeof UndoAction>;

export const CleanerAction = z.union([RelabelMoveAction, RelabelCsvAction, DeleteAction]);
export type CleanerAction = z.infer<typeof CleanerAction>;
export const CleanerLogEntry = z.union([RelabelMoveAction, RelabelCsvAction, DeleteAction, UndoAction]);
export type CleanerLogEntry = z.infer<typeof CleanerLogEntry>;
