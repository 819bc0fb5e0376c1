import * as path from 'path';
import { getImageFiles } from './discover';
import { makeDataset, type LabelOptions, type LabelledFile } from './dataset';
import type { LabelledDataset, SkippedFile } from './types';

/**
 * fastai's from_name_func: `labelFn(file)` returns each file's label. `files` is a folder
 * (searched recursively) or a list of image paths. A file whose label is empty, or whose
 * labelFn throws, is skipped with the reason.
 */
export async function fromNameFunc(
  files: string | string[],
  labelFn: (file: string) => string | null | undefined,
  opts: LabelOptions = {},
): Promise<LabelledDataset> {
  let list: string[];
  let root: string;
  const skipped: SkippedFile[] = [];
  const skippedFolders: SkippedFile[] = [];
  if (typeof files === 'string') {
    const found = await getImageFiles(files);
    list = found.files;
    skipped.push(...found.skipped);
    skippedFolders.push(...found.skippedFolders);
    root = path.resolve(files);
  } else {
    list = files.map((f) => path.resolve(f));
    root = commonDir(list);
  }
  const labelled: LabelledFile[] = [];
  for (const file of list) {
    try {
      const label = labelFn(file);
      if (label) labelled.push({ file, label: String(label) });
      else skipped.push({ file, reason: 'label function returned no label' });
    } catch (e) {
      skipped.push({ file, reason: `label function failed: ${(e as Error).message}` });
    }
  }
  return makeDataset(root, { kind: 'nameFunc' }, labelled, skipped, opts, skippedFolders);
}

function commonDir(files: string[]): string {
  if (!files.length) return process.cwd();
  let parts = path.dirname(files[0]).split(path.sep);
  for (const f of files.slice(1)) {
    const p = path.dirname(f).split(path.sep);
    let i = 0;
    while (i < parts.length && i < p.length && parts[i] === p[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}
