// The labels CSV as the cleaner edits it: change one field, keep every other byte (quoting, CRLF,
// BOM, non-ASCII names) as it was.
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import { InterpretError } from './errors';
import { MAX_TEXT_BYTES, readTextBoundedSync, UnsafeFileError } from '../io/bounded-read';
import { explainFsError, posixPath, writeFileAtomicSync } from './safe-fs';

interface CsvRow {
  fields: string[];
  raw: string;
}
export interface CsvDoc {
  file: string;
  bom: string;
  delimiter: string;
  rows: CsvRow[];
  fnIdx: number;
  labelIdx: number;
}

export function readCsvDoc(file: string, fnCol: string, labelCol: string): CsvDoc {
  let text: string;
  try {
    text = readTextBoundedSync(file, { maxBytes: MAX_TEXT_BYTES, what: 'labels CSV' });
  } catch (err) {
    if (err instanceof UnsafeFileError && err.code !== 'EACCES' && err.code !== 'EPERM') throw new InterpretError(err.message, { file, fix: err.fix });
    throw explainFsError(err, file, 'reading the labels CSV');
  }
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const body = text.slice(bom.length);
  const firstLine = body.slice(0, body.indexOf('\n') >>> 0);
  const delimiter = firstLine.includes(',') ? ',' : firstLine.includes(';') ? ';' : firstLine.includes('\t') ? '\t' : ',';
  // Parse bytes, and cut each record's original text by the parser's byte offsets, so unchanged
  // rows are written back exactly as they were (quoting, CRLF, non-ASCII names).
  const buf = Buffer.from(body, 'utf8');
  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    parsed = parse(buf, { delimiter, info: true, relax_column_count: true, skip_empty_lines: false }) as { record: string[]; info: { bytes: number } }[];
  } catch (err) {
    throw new InterpretError(`The labels CSV cannot be parsed: ${(err as Error).message}`, { file, fix: 'fix the CSV syntax, then try again' });
  }
  let prev = 0;
  const rows = parsed.map((p) => {
    const raw = buf.subarray(prev, p.info.bytes).toString('utf8');
    prev = p.info.bytes;
    return { fields: p.record.map((f) => f.replace(/\r$/, '')), raw };
  });
  if (rows.map((r) => r.raw).join('') !== body) {
    throw new InterpretError('The labels CSV has a layout the cleaner cannot rewrite without changing other lines', { file, fix: 'edit the label in the CSV by hand' });
  }
  const header = rows[0]?.fields.map((h) => h.trim()) ?? [];
  const col = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? i : /^\d+$/.test(name) ? Number(name) : -1;
  };
  const fnIdx = col(fnCol);
  const labelIdx = col(labelCol);
  if (fnIdx < 0 || labelIdx < 0) {
    throw new InterpretError(`The labels CSV has no column '${fnIdx < 0 ? fnCol : labelCol}'`, { file, fix: `its header is: ${header.join(', ')}` });
  }
  return { file, bom, delimiter, rows, fnIdx, labelIdx };
}

function csvField(v: string, delimiter: string): string {
  return v.includes(delimiter) || /["\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

export function writeCsvLabel(doc: CsvDoc, r: number, label: string): void {
  const row = doc.rows[r];
  const eol = /\r?\n$/.exec(row.raw)?.[0] ?? '';
  const fields = [...row.fields];
  while (fields.length <= doc.labelIdx) fields.push('');
  fields[doc.labelIdx] = label;
  const raw = fields.map((f) => csvField(f, doc.delimiter)).join(doc.delimiter) + eol;
  const text = doc.bom + doc.rows.map((x, i) => (i === r ? raw : x.raw)).join('');
  try {
    writeFileAtomicSync(doc.file, text);
  } catch (err) {
    throw explainFsError(err, doc.file, 'rewriting the labels CSV');
  }
  doc.rows[r] = { fields, raw };
}

/** Index into doc.rows of the row naming `abs`. */
export function csvRowOf(doc: CsvDoc, abs: string, root: string): number {
  const csvDir = path.dirname(doc.file);
  const matches: number[] = [];
  const loose: number[] = [];
  doc.rows.forEach((row, i) => {
    if (i === 0) return;
    const name = row.fields[doc.fnIdx]?.trim();
    if (!name) return;
    const candidates = [path.resolve(root, name), path.resolve(csvDir, name)];
    if (candidates.includes(abs) || candidates.some((c) => c === abs.slice(0, abs.length - path.extname(abs).length))) matches.push(i);
    else if (posixPath(abs).endsWith('/' + name.replace(/\\/g, '/'))) loose.push(i);
  });
  const found = matches.length > 0 ? matches : loose;
  if (found.length === 0) {
    throw new InterpretError(`${abs} is not listed in ${doc.file}`, { file: doc.file, fix: 'only images listed in the labels CSV can be relabelled' });
  }
  return found[0];
}
