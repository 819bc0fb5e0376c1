import { promises as fs } from 'fs';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import { DataError } from './errors';
import { MAX_TEXT_BYTES, readTextBounded, type UnsafeFileError } from '../io/bounded-read';
import { assertDirectory, isImageFile, UNSUPPORTED_IMAGE_EXTENSIONS } from './discover';
import { makeDataset, type LabelOptions, type LabelledFile } from './dataset';
import type { LabelledDataset, SkippedFile } from './types';

export interface FromCsvOptions extends LabelOptions {
  /** Column with the file name: header name or 0-based index. Default 0 (fastai's fn_col). */
  fnCol?: string | number;
  /** Column with the label: header name or 0-based index. Default 1 (fastai's label_col). */
  labelCol?: string | number;
  /** Folder the file names are relative to, inside dir. Default '.' */
  folder?: string;
  /** Appended to every file name (fastai's suffix), e.g. '.jpg' when the CSV lists ids. */
  suffix?: string;
}

/**
 * fastai's from_csv: a CSV (first row = header) lists file names and labels. Rows whose file is
 * missing or not an image are skipped, not fatal. Delimiter: ',' (or ';' / tab when the header
 * has no comma).
 */
export async function fromCsv(dir: string, csvFile = 'labels.csv', opts: FromCsvOptions = {}): Promise<LabelledDataset> {
  const root = path.resolve(dir);
  await assertDirectory(root);
  const csvPath = path.resolve(root, csvFile);
  let text: string;
  try {
    text = await readTextBounded(csvPath, { maxBytes: MAX_TEXT_BYTES, what: 'labels CSV' });
  } catch (err) {
    const e = err as UnsafeFileError;
    if (e.code === 'ENOENT') throw new DataError('CSV file not found', { file: csvPath, fix: `put the labels CSV at ${csvPath} or pass its path` });
    // Unreadable (permissions), a FIFO or device, or too big: the bounded read says which, with its fix.
    throw new DataError(e.message, { file: csvPath, fix: e.fix ?? 'pass a readable CSV file' });
  }
  const firstLine = text.slice(0, text.indexOf('\n') >>> 0);
  const delimiter = firstLine.includes(',') ? ',' : firstLine.includes(';') ? ';' : firstLine.includes('\t') ? '\t' : ',';
  let rows: string[][];
  try {
    rows = parse(text, { delimiter, bom: true, skip_empty_lines: true, trim: true, relax_column_count: true });
  } catch (e) {
    throw new DataError(`CSV could not be parsed: ${(e as Error).message}`, { file: csvPath, fix: 'save it as a comma-separated file with a header row' });
  }
  if (rows.length < 2) {
    throw new DataError('CSV has no data rows', { file: csvPath, fix: 'add a header row and one row per image: file name, label' });
  }
  const header = rows[0];
  const fnIdx = columnIndex(header, opts.fnCol ?? 0, csvPath, 'fnCol');
  const labelIdx = columnIndex(header, opts.labelCol ?? 1, csvPath, 'labelCol');
  const base = path.resolve(root, opts.folder ?? '.');
  const suffix = opts.suffix ?? '';

  const labelled: LabelledFile[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  for (let r = 1; r < rows.length; r++) {
    const name = rows[r][fnIdx];
    const label = rows[r][labelIdx];
    if (!name) continue;
    const file = path.resolve(base, name + suffix);
    if (seen.has(file)) continue;
    seen.add(file);
    const ext = path.extname(file).toLowerCase();
    if (!label) skipped.push({ file, reason: `CSV row ${r + 1} has an empty label` });
    else if (UNSUPPORTED_IMAGE_EXTENSIONS[ext]) skipped.push({ file, reason: UNSUPPORTED_IMAGE_EXTENSIONS[ext] });
    else if (!isImageFile(file)) skipped.push({ file, reason: `CSV row ${r + 1}: not an image file extension` });
    else if (!(await exists(file))) skipped.push({ file, reason: `listed in ${path.basename(csvPath)} (row ${r + 1}) but not found` });
    else labelled.push({ file, label });
  }
  return makeDataset(root, { kind: 'csv', csvFile: csvPath, fnCol: header[fnIdx], labelCol: header[labelIdx] }, labelled, skipped, opts);
}

function columnIndex(header: string[], col: string | number, csvPath: string, option: string): number {
  const idx = typeof col === 'number' ? (col < header.length ? col : -1) : header.indexOf(col);
  if (idx < 0) {
    throw new DataError(`Unknown CSV column ${JSON.stringify(col)} for ${option}`, {
      file: csvPath,
      fix: `use one of the header's columns: ${header.map((h) => JSON.stringify(h)).join(', ')} (or a 0-based index below ${header.length})`,
    });
  }
  return idx;
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}
