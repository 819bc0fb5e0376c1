import * as path from 'path';
import { DataError } from './errors';
import { compareCodePoints } from './discover';
import { prescanImages } from './prescan';
import type { LabelRule, LabelledDataset, SkippedFile } from './types';

export interface LabelledFile {
  file: string;
  label: string;
  /** Only for layouts that fix the split (train/ + valid/ folders). */
  valid?: boolean;
}

export interface LabelOptions {
  /**
   * Read every file's header with sharp before returning (fastai's verify_images): files that
   * are not decodable images move to `skipped` here, where the user sees them, instead of
   * turning up as warnings during training. Default false (a header read costs ~0.2 ms a file).
   */
  prescan?: boolean;
}

/**
 * The checks every labelling function ends with, so all of them fail the same way on the same
 * bad input: nothing labelled, a single class, a class with one image.
 */
export async function makeDataset(
  root: string,
  rule: LabelRule,
  labelled: LabelledFile[],
  skipped: SkippedFile[],
  opts: LabelOptions = {},
  skippedFolders: SkippedFile[] = [],
): Promise<LabelledDataset> {
  let kept = labelled;
  const allSkipped = [...skipped];
  if (opts.prescan && kept.length) {
    const bad = await prescanImages(kept.map((l) => l.file));
    if (bad.length) {
      const badSet = new Set(bad.map((b) => b.file));
      kept = kept.filter((l) => !badSet.has(l.file));
      allSkipped.push(...bad);
    }
  }
  if (kept.length === 0) {
    throw new DataError('No labelled image found', {
      file: root,
      fix: skipped.length
        ? `none of the images could be labelled; first problem: ${skipped[0].file}: ${skipped[0].reason}`
        : 'put .jpg/.png/.webp/.gif/.tiff images in the folder (hidden files are ignored)',
    });
  }
  const counts = new Map<string, number>();
  for (const l of kept) counts.set(l.label, (counts.get(l.label) ?? 0) + 1);
  const classes = [...counts.keys()].sort(compareCodePoints);
  if (classes.length < 2) {
    throw new DataError(`Only one class found ('${classes[0]}'); a classifier needs at least two`, {
      file: root,
      fix: 'check that the labelling rule yields different labels for different classes, or add images of another class',
    });
  }
  const single = classes.find((c) => counts.get(c) === 1);
  if (single !== undefined) {
    const file = kept.find((l) => l.label === single)!.file;
    throw new DataError(`Class '${single}' has a single image; it cannot appear in both training and validation`, {
      file,
      fix: `add more images of '${single}' (at least 2; a few dozen to learn it) or remove that file`,
    });
  }
  const order = kept.map((_, i) => i).sort((a, b) => compareCodePoints(kept[a].file, kept[b].file));
  const items = order.map((i) => kept[i].file);
  const labels = order.map((i) => kept[i].label);
  const hasFixed = kept.some((l) => l.valid !== undefined);
  return {
    root: path.resolve(root),
    items,
    labels,
    classes,
    c: classes.length,
    rule,
    ...(hasFixed ? { fixedValid: order.map((i) => kept[i].valid === true) } : {}),
    skipped: allSkipped,
    ...(skippedFolders.length ? { skippedFolders } : {}),
  };
}
