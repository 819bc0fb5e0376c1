import { DataError } from './errors';
import { matchLabels } from './safe-regex';
import { getImageFiles, posixPath } from './discover';
import { makeDataset, type LabelOptions, type LabelledFile } from './dataset';
import type { LabelledDataset, SkippedFile } from './types';

/**
 * fastai's from_name_re: the label is the first capture group of `pattern` searched in the
 * file's full path (with '/' separators). Python syntax for named groups (`(?P<name>...)`) is
 * accepted, so a pattern copied from a notebook works unchanged. Files the pattern does not
 * match are skipped (listed in `skipped`), not fatal; matching none is.
 */
export async function fromNameRe(dir: string, pattern: string | RegExp, opts: LabelOptions = {}): Promise<LabelledDataset> {
  const re = compileLabelPattern(pattern);
  const found = await getImageFiles(dir);
  const labelled: LabelledFile[] = [];
  const skipped: SkippedFile[] = [...found.skipped];
  // One time-budgeted pass over every name (safe-regex): a catastrophic pattern errors instead of hanging.
  const matches = matchLabels(re, found.files.map(posixPath));
  for (const [i, file] of found.files.entries()) {
    const m = matches[i];
    const label = m?.label;
    if (label) labelled.push({ file, label });
    else skipped.push({ file, reason: m ? `pattern ${re} matched but its first group is empty` : `file name does not match ${re}` });
  }
  if (labelled.length === 0 && found.files.length > 0) {
    throw new DataError(`The pattern ${re} matched none of the ${found.files.length} images`, {
      file: found.files[0],
      fix: `write a pattern whose first (...) group captures the label from a path like '${posixPath(found.files[0])}', e.g. /([^/]+)_\\d+\\.(jpg|png)$/ for files named like 'class_name_12.jpg'`,
    });
  }
  return makeDataset(dir, { kind: 'nameRe', pattern: re.source, ...(re.flags ? { flags: re.flags } : {}) }, labelled, skipped, opts, found.skippedFolders);
}

/** A RegExp from a JS or Python-style pattern; rejects patterns without a capture group. */
export function compileLabelPattern(pattern: string | RegExp): RegExp {
  let re: RegExp;
  if (pattern instanceof RegExp) {
    re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')); // stateless exec
  } else {
    // Python's leading inline flags, e.g. (?i), become JavaScript flags.
    const inline = /^\(\?([aimsux]+)\)/.exec(pattern);
    const flags = inline ? [...new Set(inline[1].replace(/[aux]/g, ''))].join('') : '';
    const source = pattern
      .slice(inline ? inline[0].length : 0)
      .replace(/\(\?P<(\w+)>/g, '(?<$1>')
      .replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
    try {
      re = new RegExp(source, flags);
    } catch (e) {
      throw new DataError(`Invalid label pattern: ${(e as Error).message}`, {
        fix: "write a JavaScript regular expression, e.g. '/([^/]+)_\\d+.jpg$'",
      });
    }
  }
  const groups = new RegExp(`${re.source}|`, re.flags).exec('')!.length - 1;
  if (groups < 1) {
    throw new DataError(`The label pattern ${re} has no capture group`, {
      fix: "put the part of the path that is the label in parentheses, e.g. '/([^/]+)_\\d+.jpg$'",
    });
  }
  return re;
}
