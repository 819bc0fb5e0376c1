// The export folder's safety rules, shared by every export format:
// - an export may replace only a previous export, recognised by its manifest
//   (image-trainer-export.json) and holding nothing but the files that manifest lists;
//   anything else at the target is refused with the folder and the fix, never deleted;
// - files are written to a staging folder beside the target, flushed, the manifest last; the
//   swap keeps the previous export (renamed aside) until the new one is in place, so a kill at any
//   point leaves a complete export at the target or a complete one aside that the next export or
//   load puts back;
// - leftovers of an interrupted export (staging and aside folders of dead processes) are cleaned
//   up the next time anything exports to or loads from that folder.
import { promises as fs, constants as fsConstants } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { LearnerError } from '../learner/errors';
import { syncFolder } from '../io/atomic-write';
import { makeFolders } from '../io/make-folders';
import { EXPORT_MANIFEST, EXPORT_MANIFEST_FORMAT, type ExportFormat } from '../../protocol/export';
import { isProcessAlive } from '../io/process-alive';

export interface ExportManifest {
  format: typeof EXPORT_MANIFEST_FORMAT;
  version: 1;
  /** Which of the export formats the folder holds. */
  modelFormat: ExportFormat;
  /** Every file the export wrote (the manifest itself excluded), with its size. */
  files: { name: string; bytes: number }[];
  createdAt: string;
}

/** Marks a staging folder (until its manifest exists) or a replaced export being removed: ours to clean up. */
const STAGING_MARKER = '.image-trainer-export-staging';
/** The export format before manifests: model.json + weights.bin, recognised by its model.json. */
const LEGACY_FILES = ['model.json', 'weights.bin'];
const LEGACY_FORMAT = 'image-trainer-classifier';
const MANIFEST_MAX_BYTES = 1 << 20;

export interface ExportTarget {
  dir: string;
  /** What is there now: nothing (or an empty folder), or a previous export that will be replaced. */
  existing: 'none' | 'empty' | 'export';
}

/**
 * Says, before any work, whether `dir` may receive an export: a new path under a writable folder,
 * an empty folder, or a previous export. Throws a LearnerError naming the folder and the fix otherwise.
 * Call it before training so a refused target is found before the first batch.
 */
export async function checkExportTarget(dir: string): Promise<ExportTarget> {
  const target = path.resolve(dir);
  const st = await fs.lstat(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
    throw refusal(target, `cannot be read (${e.code ?? e.message})`, 'Choose another export folder');
  });
  if (!st) {
    await checkCreatable(target);
    return { dir: target, existing: 'none' };
  }
  if (st.isSymbolicLink()) throw refusal(target, 'is a symbolic link', 'Export to a real folder (not a link), for example a new folder in the run folder');
  if (!st.isDirectory()) throw refusal(target, 'is a file, not a folder', 'Choose a new or empty folder for the export');
  await assertWritable(path.dirname(target), target);
  const entries = await fs.readdir(target);
  if (entries.length === 0) return { dir: target, existing: 'empty' };
  const owned = await readOwnedFiles(target);
  if (!owned) {
    throw refusal(
      target,
      `is not empty and is not an Image Trainer export (it holds ${describeEntries(entries)})`,
      'Export into a new or empty folder, or move that folder\'s contents away yourself; an export never replaces files it did not write',
    );
  }
  const foreign = entries.filter((e) => !owned.has(e));
  if (foreign.length) {
    throw refusal(
      target,
      `holds a previous export plus files the export did not write (${describeEntries(foreign)})`,
      'Move those files out of the export folder, or export somewhere else',
    );
  }
  return { dir: target, existing: 'export' };
}

/**
 * Writes an export into `dir`: `write(stagingDir)` puts the format's files there and returns
 * their names; the manifest is added, everything flushed, then swapped in. Returns the manifest.
 */
export async function writeExportFolder(
  dir: string,
  modelFormat: ExportFormat,
  write: (stagingDir: string) => Promise<string[]>,
): Promise<ExportManifest> {
  const target = path.resolve(dir);
  await recoverExportFolder(target);
  const check = await checkExportTarget(target);
  const parent = path.dirname(target);
  await makeFolders(parent);
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = sidePath(target, id, 'tmp');
  const aside = sidePath(target, id, 'old');
  try {
    await fs.mkdir(staging);
    await fs.writeFile(path.join(staging, STAGING_MARKER), '');
    const names = await write(staging);
    const files: ExportManifest['files'] = [];
    for (const name of names) {
      // A plain Error: the names are the format writers' own constants (model.json, model.onnx,
      // README.md, ...), never a user's, so this guards the writers against a programming error.
      if (name !== path.basename(name) || name === EXPORT_MANIFEST || name === STAGING_MARKER) throw new Error(`bad export file name ${name}`);
      const f = path.join(staging, name);
      await fsyncFile(f);
      files.push({ name, bytes: (await fs.stat(f)).size });
    }
    const manifest: ExportManifest = { format: EXPORT_MANIFEST_FORMAT, version: 1, modelFormat, files, createdAt: new Date().toISOString() };
    await writeSynced(path.join(staging, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    await fs.rm(path.join(staging, STAGING_MARKER));
    await syncFolder(staging);
    await swapIn(staging, target, aside, check.existing);
    return manifest;
  } catch (err) {
    await discard(staging).catch(() => undefined);
    if (err instanceof LearnerError) throw err;
    throw new LearnerError(`Could not export to ${target}: ${(err as Error).message}`, {
      file: target,
      fix: 'Check free disk space and write permission on that folder',
    });
  }
}

/** rename(2) replaces an empty folder in one step; a previous export is kept aside until the new one is in place. */
async function swapIn(staging: string, target: string, aside: string, existing: ExportTarget['existing']): Promise<void> {
  const parent = path.dirname(target);
  if (existing !== 'export') {
    await fs.rename(staging, target);
    await syncFolder(parent);
    return;
  }
  await fs.rename(target, aside);
  try {
    await fs.rename(staging, target);
  } catch (err) {
    await fs.rename(aside, target).catch(() => undefined);
    throw err;
  }
  await syncFolder(parent);
  await discard(aside);
}

/**
 * Removes a folder of ours by renaming it to its `.del` name first (one atomic step), so a kill
 * in the middle of the removal leaves a folder whose name alone says it may go.
 */
async function discard(folder: string): Promise<void> {
  const doomed = folder.replace(/\.(tmp|old)$/, '.del');
  const target = doomed !== folder && (await fs.rename(folder, doomed).then(() => true, () => false)) ? doomed : folder;
  await fs.rm(target, { recursive: true, force: true });
}

/**
 * Puts back a previous export an interrupted swap left aside (when the target is missing) and
 * removes staging and aside folders of processes that are gone. Returns the folder to read an
 * export from: the target, or the aside copy when it cannot be moved back.
 */
export async function recoverExportFolder(dir: string): Promise<string> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const leftovers = await listLeftovers(target);
  let readFrom = target;
  let targetOk = (await readOwnedFiles(target)) !== null;
  for (const l of leftovers.filter((x) => x.kind === 'old')) {
    if (!(await readOwnedFiles(l.path))) continue; // not a complete export of ours: never touched
    if (!targetOk && !(await exists(target))) {
      const restored = await fs.rename(l.path, target).then(() => true, () => false);
      if (restored) {
        targetOk = true;
        await syncFolder(parent);
      } else {
        readFrom = l.path;
      }
      continue;
    }
    if (targetOk) await discard(l.path).catch(() => undefined);
  }
  for (const l of leftovers.filter((x) => x.kind === 'tmp')) {
    const empty = (await fs.readdir(l.path).catch(() => ['?'])).length === 0;
    const ours = empty || (await exists(path.join(l.path, STAGING_MARKER))) || (await readOwnedFiles(l.path)) !== null;
    if (ours) await discard(l.path).catch(() => undefined);
  }
  for (const l of leftovers.filter((x) => x.kind === 'del')) await fs.rm(l.path, { recursive: true, force: true }).catch(() => undefined);
  return readFrom;
}

/** Files the folder's manifest (or the legacy model.json) says the export wrote, or null when it is not an export. */
export async function readOwnedFiles(dir: string): Promise<Set<string> | null> {
  const manifest = await readExportManifest(dir);
  if (manifest) return new Set([EXPORT_MANIFEST, ...manifest.files.map((f) => f.name)]);
  if (await isLegacyExport(dir)) return new Set(LEGACY_FILES);
  return null;
}

/** The manifest of a complete export at dir (every listed file present with its size), else null. */
export async function readExportManifest(dir: string): Promise<ExportManifest | null> {
  const file = path.join(dir, EXPORT_MANIFEST);
  let m: ExportManifest;
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > MANIFEST_MAX_BYTES) return null;
    m = JSON.parse(await fs.readFile(file, 'utf8')) as ExportManifest;
  } catch {
    return null;
  }
  if (!m || m.format !== EXPORT_MANIFEST_FORMAT || !Array.isArray(m.files)) return null;
  for (const f of m.files) {
    if (typeof f?.name !== 'string' || f.name !== path.basename(f.name) || f.name.startsWith('.') || f.name === '') return null;
    const st = await fs.lstat(path.join(dir, f.name)).catch(() => null);
    if (!st || !st.isFile() || st.size !== f.bytes) return null;
  }
  return m;
}

async function isLegacyExport(dir: string): Promise<boolean> {
  try {
    const entries = await fs.readdir(dir);
    if (!LEGACY_FILES.every((f) => entries.includes(f))) return false;
    const st = await fs.lstat(path.join(dir, 'model.json'));
    if (!st.isFile() || st.size > 16 * MANIFEST_MAX_BYTES) return false;
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { format?: unknown };
    return json?.format === LEGACY_FORMAT;
  } catch {
    return false;
  }
}

interface Leftover {
  path: string;
  /** tmp: staging; old: a previous export set aside during the swap; del: being removed. */
  kind: 'tmp' | 'old' | 'del';
}

/** Staging (.tmp), aside (.old) and doomed (.del) folders of this target whose process is gone. */
async function listLeftovers(target: string): Promise<Leftover[]> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.export-`;
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const out: Leftover[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{8}\.(tmp|old|del)$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isProcessAlive(pid)) continue; // another export is under way
    const p = path.join(parent, name);
    const st = await fs.lstat(p).catch(() => null);
    if (st?.isDirectory()) out.push({ path: p, kind: m[2] as Leftover['kind'] });
  }
  return out;
}

function sidePath(target: string, id: string, kind: Leftover['kind']): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.export-${id}.${kind}`);
}

async function checkCreatable(target: string): Promise<void> {
  let p = path.dirname(target);
  for (;;) {
    const st = await fs.stat(p).catch(() => null);
    if (st) {
      if (!st.isDirectory()) throw refusal(target, `cannot be created: ${p} is a file`, 'Choose an export folder under an existing folder');
      await assertWritable(p, target);
      return;
    }
    const up = path.dirname(p);
    if (up === p) return;
    p = up;
  }
}

async function assertWritable(folder: string, target: string): Promise<void> {
  await fs.access(folder, fsConstants.W_OK).catch(() => {
    throw refusal(target, `cannot be written: ${folder} is not writable`, 'Choose an export folder you can write to');
  });
}

function refusal(target: string, what: string, fix: string): LearnerError {
  return new LearnerError(`Export folder ${target} ${what}`, { file: target, fix });
}

function describeEntries(entries: string[]): string {
  const shown = entries.slice(0, 3).map((e) => JSON.stringify(e)).join(', ');
  return entries.length > 3 ? `${shown} and ${entries.length - 3} more` : shown;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(() => true, () => false);
}

async function fsyncFile(file: string): Promise<void> {
  const h = await fs.open(file, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const h = await fs.open(file, 'wx');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}
