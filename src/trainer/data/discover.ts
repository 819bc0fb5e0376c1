import { promises as fs } from 'fs';
import * as path from 'path';
import { DataError } from './errors';
import type { SkippedFile } from './types';
import { DATASET_PRIVATE_DIR, EXPORT_MANIFEST, projectFolderReason } from '../../protocol/export';

/** Extensions the pipeline decodes (sharp, plus bmp-ts for BMP). Matched case-insensitively. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp'];
/** Image formats users have but the decoder cannot read: found, reported as skipped, never loaded. */
export const UNSUPPORTED_IMAGE_EXTENSIONS: Record<string, string> = {
  '.heic': 'HEIC (iPhone photos) is not supported by the image decoder (sharp ships without HEVC); convert it to JPEG',
  '.heif': 'HEIF is not supported by the image decoder (sharp ships without HEVC); convert it to JPEG',
};

export interface DiscoveredImages {
  /** Absolute paths, sorted by code point so every machine sees the same order. */
  files: string[];
  skipped: SkippedFile[];
  /** Folders left out (this project's own, exports, hidden ones), with why; never searched for images. */
  skippedFolders: SkippedFile[];
}

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/**
 * Why a folder is left out of every scan of a dataset, or undefined: hidden folders anywhere, any
 * folder holding an export manifest, and directly in the scanned folder the ones this project
 * writes there (models/, export/, export-<format>/, .image-trainer/). One rule for every labeller.
 */
export async function skippedFolderReason(dir: string, top: boolean): Promise<string | undefined> {
  const name = path.basename(dir);
  if (name.startsWith('.') || top) {
    const reason = projectFolderReason(name);
    if (reason) return reason;
  }
  const manifest = await fs.lstat(path.join(dir, EXPORT_MANIFEST)).catch(() => null);
  return manifest?.isFile() ? 'an exported model (it holds image-trainer-export.json), not a class' : undefined;
}

/**
 * Every image under `dir`, recursively (fastai's get_image_files). Hidden files are ignored, and
 * the folders skippedFolderReason names are not entered (reported in skippedFolders unless
 * hidden); symlinked folders are not followed, so a link loop cannot hang it.
 */
export async function getImageFiles(dir: string): Promise<DiscoveredImages> {
  const root = path.resolve(dir);
  await assertDirectory(root);
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const skippedFolders: SkippedFile[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        const reason = await skippedFolderReason(p, d === root);
        if (reason === undefined) await walk(p);
        else if (!e.name.startsWith('.') || e.name === DATASET_PRIVATE_DIR) skippedFolders.push({ file: p, reason });
      } else if (e.name.startsWith('.')) continue;
      else if (e.isFile() || e.isSymbolicLink()) {
        const ext = path.extname(e.name).toLowerCase();
        if (IMAGE_EXTENSIONS.includes(ext)) files.push(p);
        else if (UNSUPPORTED_IMAGE_EXTENSIONS[ext]) skipped.push({ file: p, reason: UNSUPPORTED_IMAGE_EXTENSIONS[ext] });
      }
    }
  };
  await walk(root);
  const byFile = (a: SkippedFile, b: SkippedFile) => compareCodePoints(a.file, b.file);
  return { files: files.sort(compareCodePoints), skipped: skipped.sort(byFile), skippedFolders: skippedFolders.sort(byFile) };
}

export async function assertDirectory(dir: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new DataError('Folder not found', { file: dir, fix: 'check the path; it must be an existing folder of images' });
  }
  if (!stat.isDirectory()) {
    throw new DataError('Not a folder', { file: dir, fix: 'pass the folder that contains the images, not a file' });
  }
}

/** Locale-independent ordering (localeCompare differs between machines). */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Path with '/' separators, so label regexes written for POSIX paths work on Windows too. */
export function posixPath(file: string): string {
  return file.split(path.sep).join('/');
}
