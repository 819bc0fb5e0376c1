// ImageNet weights for the resnets ('--pretrained auto'): torchvision's original weights as
// published in safetensors form on the Hugging Face hub (timm's *.tv_in1k repos use torchvision's
// state_dict names). Downloaded once into the cache (resumable .part file, SHA-256 verified,
// renamed into place), or read from a path the user gives.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import type { ArchName, ClassifierModel } from './types';
import { loadTorchWeights, type LoadWeightsReport } from './weights';
import { ActionableError } from '../errors';

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
    sha256: null, // not found offline; fill in from the hub's "Git LFS Details" of model.safetensors
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
}

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
    const actual = source.sha256 ? await sha256File(target) : null;
    if (!source.sha256 || actual === source.sha256) return target;
    throw new PretrainedError(
      `The cached weights ${target} have SHA-256 ${actual}, expected ${source.sha256}`,
      target,
      `Delete the file to download it again, or use --pretrained PATH for a file of your own`,
    );
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const release = await lockDownload(`${target}.lock`, opts);
  try {
    if (fs.existsSync(target)) return target; // another process finished it while we waited
    return await downloadVerified(arch, source, target, opts);
  } finally {
    release();
  }
}

async function downloadVerified(arch: ArchName, source: PretrainedSource, target: string, opts: PretrainedOptions): Promise<string> {
  const part = `${target}.part`;
  try {
    await download(source.url, part, opts);
  } catch (err) {
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
  if (!source.sha256) opts.onLog?.(`No pinned SHA-256 for ${arch} weights; downloaded file has ${actual}`);
  fs.renameSync(part, target);
  return target;
}

/**
 * One download per file across processes (the extension and a CLI run may both ask): a lock file
 * holding the owner's pid; a lock whose process is gone is taken over.
 */
async function lockDownload(lock: string, opts: PretrainedOptions): Promise<() => void> {
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(fs.readFileSync(lock, 'utf8')) || 0;
    if (!owner || !processAlive(owner)) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (!told) opts.onLog?.(`Waiting for process ${owner}, which is downloading the same weights`);
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** GET url into `part`, resuming from its current length with an HTTP Range request. */
async function download(url: string, part: string, opts: PretrainedOptions): Promise<void> {
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const res = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
  if (res.status === 416 && have) return; // the .part file is already complete: the hash decides
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const resumed = res.status === 206;
  const length = Number(res.headers.get('content-length')) || null;
  const total = length === null ? null : resumed ? have + length : length;
  let received = resumed ? have : 0;
  if (resumed) opts.onLog?.(`Resuming download of ${url} at ${have} bytes`);
  else opts.onLog?.(`Downloading ${url}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}`);
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      opts.onProgress?.(received, total);
      cb(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as any), count, fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  if (total !== null && received !== total) throw new Error(`connection closed after ${received} of ${total} bytes`);
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
