// ImageNet weights for the resnets ('--pretrained auto'): torchvision's original weights as
// published in safetensors form on the Hugging Face hub (timm's *.tv_in1k repos use torchvision's
// state_dict names). Downloaded once into the cache (resumable .part file, SHA-256 verified,
// renamed into place), or read from a path the user gives.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as http from 'http';
import * as https from 'https';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import type { ArchName, ClassifierModel } from './types';
import { loadTorchWeights, type LoadWeightsReport } from './weights';
import { ActionableError } from '../errors';
import { assertRegularFileSync, MAX_WEIGHTS_BYTES, readTextBoundedSync, UnsafeFileError } from '../io/bounded-read';
import { readSafetensorsSync } from '../io/safetensors';
import { makeFoldersSync } from '../io/make-folders';
import { isProcessAlive } from '../io/process-alive';
import { writeFileAtomicSync } from '../io/atomic-write';

export interface PretrainedSource {
  url: string;
  /** Pinned SHA-256 of the file; null = not pinned yet (the file is then checked only by the loader). */
  sha256: string | null;
}

export const PRETRAINED: Record<ArchName, PretrainedSource> = {
  resnet18: {
    url: 'https://huggingface.co/timm/resnet18.tv_in1k/resolve/main/model.safetensors',
    sha256: '694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81',
  },
  resnet34: {
    url: 'https://huggingface.co/timm/resnet34.tv_in1k/resolve/main/model.safetensors',
    // Not pinned: torchvision's resnet34-b627a593.pth carries a hash prefix in its name, but that is
    // the hash of the .pth (a pickle), not of this safetensors conversion, so it cannot pin these
    // bytes. Until the hub's "Git LFS Details" SHA-256 is filled in here, the first verified download
    // records its hash beside the cache (recordedSha256) and every later use is checked against it.
    sha256: null,
  },
  resnet50: {
    url: 'https://huggingface.co/timm/resnet50.tv_in1k/resolve/main/model.safetensors',
    sha256: '5d061a3c593d795bfe682d9b152bafbcf550579873492def3515b46db1189888',
  },
};

export interface PretrainedOptions {
  /** Folder for downloaded weights; default IMAGE_TRAINER_CACHE, else the user cache dir + /weights. */
  cacheDir?: string;
  /** Override the table (tests, mirrors). */
  source?: PretrainedSource;
  onLog?: (message: string) => void;
  onProgress?: (received: number, total: number | null) => void;
  /** Network and lock limits (tests shorten them). */
  timeouts?: Partial<DownloadTimeouts>;
}

export interface DownloadTimeouts {
  /** TCP (and TLS) connection established. */
  connectMs: number;
  /** No byte received for this long. */
  idleMs: number;
  /** The whole download. */
  totalMs: number;
  /** Another process's lock whose .part and lock file have not changed for this long is stale. */
  staleLockMs: number;
  /** Longest wait for another process's download before giving up. */
  lockWaitMs: number;
}

export const DEFAULT_TIMEOUTS: DownloadTimeouts = {
  connectMs: 15_000,
  idleMs: 60_000,
  totalMs: 60 * 60_000,
  staleLockMs: 2 * 60_000,
  lockWaitMs: 60 * 60_000,
};

/** Unlike the other trainer errors, its message already ends with the fix. */
export class PretrainedError extends ActionableError {
  override readonly name = 'PretrainedError';

  constructor(message: string, file?: string, fix?: string) {
    super(fix ? `${message}. ${fix}` : message, { file, fix });
  }
}

export async function weightsCacheDir(cacheDir?: string): Promise<string> {
  if (cacheDir) return cacheDir;
  if (process.env.IMAGE_TRAINER_CACHE) return path.join(process.env.IMAGE_TRAINER_CACHE, 'weights');
  const { default: envPaths } = await import('env-paths');
  return path.join(envPaths('image-trainer', { suffix: '' }).cache, 'weights');
}

/** Where 'auto' keeps (and looks for) the weights of an architecture. */
export async function pretrainedPath(arch: ArchName, cacheDir?: string): Promise<string> {
  return path.join(await weightsCacheDir(cacheDir), `${arch}.tv_in1k.safetensors`);
}

/**
 * Loads pretrained weights into the model's body. spec: 'none' (returns null), 'auto' (cache, or
 * download on first use) or the path of a torchvision-format .safetensors file.
 */
export async function loadPretrained(
  model: ClassifierModel,
  arch: ArchName,
  spec: string,
  opts: PretrainedOptions = {},
): Promise<LoadWeightsReport | null> {
  if (spec === 'none') return null;
  let file: string;
  if (spec === 'auto') {
    file = await ensurePretrainedFile(arch, opts);
  } else {
    file = path.resolve(spec);
    if (!fs.existsSync(file)) {
      throw new PretrainedError(`Pretrained weights file ${file} does not exist`, file, 'Give the path of a torchvision-format .safetensors file, --pretrained auto, or --pretrained none');
    }
    try {
      assertRegularFileSync(file, { maxBytes: MAX_WEIGHTS_BYTES, what: 'pretrained weights file' });
    } catch (err) {
      if (err instanceof UnsafeFileError) throw new PretrainedError(err.message, file, `Give the path of a torchvision-format .safetensors file, or --pretrained auto / none`);
      throw err;
    }
  }
  const report = loadTorchWeights(model, file, { scope: 'body' });
  opts.onLog?.(`Loaded ${report.loaded} pretrained ${arch} tensors from ${file}`);
  return report;
}

/** The cached file for `arch`, downloading it first if needed. */
export async function ensurePretrainedFile(arch: ArchName, opts: PretrainedOptions = {}): Promise<string> {
  const source = opts.source ?? PRETRAINED[arch];
  const target = await pretrainedPath(arch, opts.cacheDir);
  if (fs.existsSync(target)) {
    const expected = source.sha256 ?? readRecordedSha256(target);
    const actual = await sha256File(target);
    if (expected === null) {
      recordSha256(target, actual); // cached by an older version: trusted from now on
      return target;
    }
    if (actual === expected) return target;
    throw new PretrainedError(
      `The cached weights ${target} have SHA-256 ${actual}, expected ${expected}${source.sha256 ? '' : ` (recorded in ${target}.sha256 when it was downloaded)`}; the file was changed or corrupted`,
      target,
      `Delete the file to download it again, or use --pretrained PATH for a file of your own`,
    );
  }
  makeFoldersSync(path.dirname(target));
  const release = await lockDownload(`${target}.lock`, `${target}.part`, opts);
  try {
    if (fs.existsSync(target)) return target; // another process finished it while we waited
    return await downloadVerified(arch, source, target, opts);
  } finally {
    release();
  }
}

async function downloadVerified(arch: ArchName, source: PretrainedSource, target: string, opts: PretrainedOptions): Promise<string> {
  const part = `${target}.part`;
  const before = partSize(part);
  try {
    await download(source.url, part, opts);
  } catch (err) {
    // A .part this attempt could not grow is useless for a resume: start afresh next time.
    if (partSize(part) <= before) fs.rmSync(part, { force: true });
    throw new PretrainedError(
      `Pretrained ${arch} weights cannot be downloaded from ${source.url}: ${describe(err)}`,
      target,
      `Put the file at ${target} or use --pretrained none`,
    );
  }
  const actual = await sha256File(part);
  if (source.sha256 && actual !== source.sha256) {
    fs.rmSync(part, { force: true });
    throw new PretrainedError(
      `The download of ${source.url} has SHA-256 ${actual}, expected ${source.sha256}; it was not cached`,
      target,
      `Try again, or put a verified file at ${target}, or use --pretrained none`,
    );
  }
  if (!source.sha256) {
    // Unpinned: only a file that parses as safetensors is ever cached (not an HTML error page, not a truncated file).
    try {
      readSafetensorsSync(part);
    } catch (err) {
      fs.rmSync(part, { force: true });
      throw new PretrainedError(
        `The download of ${source.url} is not a valid .safetensors file (${(err as Error).message}); it was not cached`,
        target,
        `Try again later, or put a verified file at ${target}, or use --pretrained none`,
      );
    }
    opts.onLog?.(`No pinned SHA-256 for ${arch} weights; downloaded file has ${actual} (recorded: later uses are checked against it)`);
    recordSha256(target, actual);
  }
  fs.renameSync(part, target);
  return target;
}

/**
 * One download per file across processes (the extension and a CLI run may both ask): a lock file
 * holding the owner's pid. A lock is taken over when its process is gone, or when neither it nor
 * the .part file has changed for staleLockMs (a live but unrelated process that reused the pid, or
 * a hung one); the wait as a whole ends after lockWaitMs with the lock file named.
 */
async function lockDownload(lock: string, part: string, opts: PretrainedOptions): Promise<() => void> {
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const start = Date.now();
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readTextBoundedSync(lock, { maxBytes: 64, what: 'download lock' }).trim()) || 0;
    } catch {
      owner = 0; // unreadable, a link to a device, or huge: not a lock we wrote
    }
    const lastChange = Math.max(mtimeMs(lock), mtimeMs(part));
    const stale = Date.now() - lastChange > t.staleLockMs;
    if (!owner || !isProcessAlive(owner) || stale) {
      if (owner && stale) opts.onLog?.(`Taking over the download lock ${lock}: process ${owner} made no progress for ${Math.round(t.staleLockMs / 1000)} s`);
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() - start > t.lockWaitMs) {
      throw new PretrainedError(
        `Gave up waiting for process ${owner}, which holds the download lock ${lock}`,
        lock,
        `If no Image Trainer download is running, delete ${lock} and try again, or use --pretrained none`,
      );
    }
    if (!told) opts.onLog?.(`Waiting for process ${owner}, which is downloading the same weights`);
    told = true;
    await new Promise((r) => setTimeout(r, Math.min(500, t.staleLockMs / 4)));
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function partSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** GET url into `part`, resuming from its current length with an HTTP Range request; connect, idle and total timeouts. */
async function download(url: string, part: string, opts: PretrainedOptions): Promise<void> {
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const deadline = Date.now() + t.totalMs;
  const res = await get(url, have ? { Range: `bytes=${have}-` } : {}, t, deadline);
  if (res.statusCode === 416 && have) {
    res.resume();
    return; // the .part file is already complete: the hash decides
  }
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    res.resume();
    throw new Error(`HTTP ${status} ${res.statusMessage ?? ''}`.trim());
  }
  const resumed = status === 206;
  const length = Number(res.headers['content-length']) || null;
  const total = length === null ? null : resumed ? have + length : length;
  let received = resumed ? have : 0;
  if (resumed) opts.onLog?.(`Resuming download of ${url} at ${have} bytes`);
  else opts.onLog?.(`Downloading ${url}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}`);
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > MAX_WEIGHTS_BYTES) {
        cb(new Error(`the server sent more than ${MAX_WEIGHTS_BYTES} bytes; not a weights file`));
        return;
      }
      opts.onProgress?.(received, total);
      cb(null, chunk);
    },
  });
  const idle = (): void => {
    res.destroy(new Error(`no data for ${t.idleMs / 1000} s (stalled connection)`));
  };
  res.setTimeout(t.idleMs, idle);
  const totalTimer = setTimeout(() => res.destroy(new Error(`the download took longer than ${t.totalMs / 1000} s`)), Math.max(0, deadline - Date.now()));
  try {
    await pipeline(res, count, fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.message === 'aborted' || e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new Error(`connection closed after ${received} of ${total ?? 'unknown'} bytes`);
    }
    throw err;
  } finally {
    clearTimeout(totalTimer);
  }
  if (total !== null && received !== total) throw new Error(`connection closed after ${received} of ${total} bytes`);
}

/** One GET with redirects followed (at most 5), the connect timeout and the total deadline. */
async function get(url: string, headers: Record<string, string>, t: DownloadTimeouts, deadline: number, redirects = 5): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
  if (!mod) throw new Error(`unsupported URL scheme ${u.protocol}`);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = mod.get(u, { headers });
    const fail = (err: Error): void => {
      req.destroy(err);
      reject(err);
    };
    const connectTimer = setTimeout(() => fail(new Error(`could not connect within ${t.connectMs / 1000} s`)), t.connectMs);
    const totalTimer = setTimeout(() => fail(new Error(`no response within the ${t.totalMs / 1000} s limit`)), Math.max(0, deadline - Date.now()));
    req.on('socket', (sock) => {
      const connected = (): void => clearTimeout(connectTimer);
      if (!sock.connecting) connected();
      else sock.once(u.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      // headers must also arrive before the idle limit
      sock.setTimeout(t.idleMs, () => fail(new Error(`no response for ${t.idleMs / 1000} s (stalled connection)`)));
    });
    req.on('response', (r) => {
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      r.socket?.setTimeout(0);
      resolve(r);
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      reject(err);
    });
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects <= 0) throw new Error('too many redirects');
    return get(new URL(res.headers.location, u).toString(), headers, t, deadline, redirects - 1);
  }
  return res;
}

/** The SHA-256 the first verified download of an unpinned file recorded beside it, or null. */
export function readRecordedSha256(target: string): string | null {
  try {
    const text = readTextBoundedSync(`${target}.sha256`, { maxBytes: 1024, what: 'recorded SHA-256' }).trim();
    return /^[0-9a-f]{64}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

function recordSha256(target: string, sha: string): void {
  writeFileAtomicSync(`${target}.sha256`, `${sha}\n`);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}
