import { promises as fs } from 'fs';
import * as path from 'path';
import { DataError } from './errors';
import { assertDirectory, getImageFiles } from './discover';
import { makeDataset, type LabelOptions, type LabelledFile } from './dataset';
import type { LabelledDataset, SkippedFile } from './types';

export interface FromFolderOptions extends LabelOptions {
  /** Subfolder holding the training images, one folder per class. Default 'train'. */
  train?: string;
  /** Subfolder holding the validation images, one folder per class. Default 'valid'. */
  valid?: string;
}

/**
 * fastai's from_folder. Two layouts:
 * - `dir/train/<class>/...` (+ `dir/valid/<class>/...` when present, which fixes the split;
 *   without valid/ the split is random),
 * - `dir/<class>/...`: one folder per class, split at random by splitDataset.
 * The label is the class folder directly under train/ (or dir), so nested subfolders inside a
 * class folder stay in that class. Images outside any class folder are skipped.
 */
export async function fromFolder(dir: string, opts: FromFolderOptions = {}): Promise<LabelledDataset> {
  const root = path.resolve(dir);
  await assertDirectory(root);
  const trainName = opts.train ?? 'train';
  const validName = opts.valid ?? 'valid';
  const trainDir = path.join(root, trainName);
  const validDir = path.join(root, validName);
  const hasTrain = await isDirectory(trainDir);
  const hasValid = await isDirectory(validDir);

  if (!hasTrain && opts.train !== undefined) {
    throw new DataError(`Training folder '${trainName}' not found`, {
      file: trainDir,
      fix: `create ${trainDir} with one subfolder per class, or leave out the train option to use one folder per class directly in ${root}`,
    });
  }
  if (!hasValid && opts.valid !== undefined) {
    throw new DataError(`Validation folder '${validName}' not found`, {
      file: validDir,
      fix: `create ${validDir} with one subfolder per class, or leave out the valid option to split the training images at random`,
    });
  }

  const labelled: LabelledFile[] = [];
  const skipped: SkippedFile[] = [];
  const skippedFolders: SkippedFile[] = [];
  if (hasTrain) {
    await collect(trainDir, hasValid ? false : undefined, labelled, skipped, skippedFolders);
    if (hasValid) await collect(validDir, true, labelled, skipped, skippedFolders);
  } else {
    await collect(root, undefined, labelled, skipped, skippedFolders);
  }
  const rule = { kind: 'folder' as const, train: hasTrain ? trainName : '.', valid: hasTrain && hasValid ? validName : null };
  return makeDataset(root, rule, labelled, skipped, opts, skippedFolders);
}

/** The class folders directly in `base` (the folders every scan skips are never classes: getImageFiles leaves them out). */
async function collect(base: string, valid: boolean | undefined, out: LabelledFile[], skipped: SkippedFile[], skippedFolders: SkippedFile[]): Promise<void> {
  const found = await getImageFiles(base);
  skipped.push(...found.skipped);
  skippedFolders.push(...found.skippedFolders);
  for (const file of found.files) {
    const rel = path.relative(base, file).split(path.sep);
    if (rel.length < 2) {
      skipped.push({ file, reason: `not inside a class folder of ${base}; move it into ${base}/<class name>/` });
      continue;
    }
    out.push(valid === undefined ? { file, label: rel[0] } : { file, label: rel[0], valid });
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
