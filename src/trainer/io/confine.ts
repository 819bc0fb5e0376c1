// Confinement of a path named by untrusted input (a request, the cleaner's undo log, a manifest) to
// a root folder: lexically and again after resolving symlinks, so neither `../` nor a link planted
// inside the root reaches a file outside it. A path that does not exist yet is judged by its
// nearest existing ancestor's real path (where a move or write would really land).
import * as fs from 'fs';
import * as path from 'path';
import { ActionableError } from '../errors';

export class OutsideRootError extends ActionableError {
  override readonly name = 'OutsideRootError';
}

/** True when `p` is strictly inside `root` (both absolute, compared lexically). */
export function isStrictlyInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** realpath(p), or for a missing p its nearest existing ancestor's realpath with the rest appended. */
export function realPathOrNearest(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: walk up; anything else (a loop, no permission) is judged at the path itself, which then fails the check below or later
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return path.join(cur, ...rest.reverse());
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...rest.reverse());
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

export interface ConfineOptions {
  /** What the root is, for the message: 'the dataset folder', 'the model folder'. */
  rootName: string;
  fix: string;
}

/**
 * Resolves `file` against `root` and returns its absolute (lexical) path if it is inside `root`
 * both lexically and after resolving symlinks; throws OutsideRootError otherwise.
 */
export function confineToRoot(root: string, file: string, opts: ConfineOptions): string {
  const absRoot = path.resolve(root);
  const abs = path.resolve(absRoot, file);
  const realRoot = realPathOrNearest(absRoot);
  const real = realPathOrNearest(abs);
  if (!isStrictlyInside(absRoot, abs) || !isStrictlyInside(realRoot, real)) {
    const via = isStrictlyInside(absRoot, abs) ? ` (it leads to ${real} through a symbolic link)` : '';
    throw new OutsideRootError(`Refusing to touch ${abs}: it is outside ${opts.rootName} ${absRoot}${via}`, { file: abs, fix: opts.fix });
  }
  return abs;
}
