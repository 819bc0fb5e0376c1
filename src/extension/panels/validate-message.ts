// Judges what a webview posts before the extension acts on it: the message must parse, files must
// lie inside the open dataset, a relabel must name a known class, cell indices must be in range.
// Host policy, so it lives on the extension side (src/protocol only declares the shapes).
import * as path from 'node:path';
import { WebviewMessage } from '../../protocol/webview';

/** What the host knows when it judges a webview message. */
export interface IntentContext {
  /** Absolute dataset folder; relabel/delete/gradCam files must lie inside it. */
  datasetRoot?: string;
  /** Known class names; a relabel must name one of them. */
  classes?: readonly string[];
  /** Path flavour (tests exercise win32 on Linux). */
  pathApi?: typeof path.posix;
}

export type WebviewMessageCheck = { ok: true; message: WebviewMessage } | { ok: false; error: string };

/** True when `file` is an absolute path strictly inside `root` (after normalising `..`). */
export function isInsideRoot(file: string, root: string, p: typeof path.posix = path): boolean {
  if (!file || file.includes('\0') || !p.isAbsolute(file) || !p.isAbsolute(root)) return false;
  const rel = p.relative(p.resolve(root), p.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !p.isAbsolute(rel);
}

/** Parses and judges a message posted by a webview. Never throws. */
export function validateWebviewMessage(raw: unknown, ctx: IntentContext = {}): WebviewMessageCheck {
  const parsed = WebviewMessage.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `malformed webview message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` };
  }
  const msg = parsed.data;
  const p = ctx.pathApi ?? path;
  const files = msg.type === 'relabel' || msg.type === 'delete' ? [msg.file] : msg.type === 'toggleGradCam' ? (msg.files ?? []) : [];
  if (files.length) {
    if (!ctx.datasetRoot) return { ok: false, error: `refused ${msg.type}: no dataset is open` };
    for (const f of files) {
      if (!isInsideRoot(f, ctx.datasetRoot, p)) {
        return { ok: false, error: `refused ${msg.type} of ${JSON.stringify(f)}: the file is outside the dataset folder ${ctx.datasetRoot}` };
      }
    }
  }
  if (msg.type === 'relabel' && ctx.classes && !ctx.classes.includes(msg.newLabel)) {
    return { ok: false, error: `refused relabel of ${msg.file}: unknown class ${JSON.stringify(msg.newLabel)} (known: ${ctx.classes.join(', ')})` };
  }
  if (msg.type === 'requestCellItems' && ctx.classes && (msg.actual >= ctx.classes.length || msg.predicted >= ctx.classes.length)) {
    return { ok: false, error: `refused requestCellItems: class index out of range (${ctx.classes.length} classes)` };
  }
  return { ok: true, message: msg };
}
