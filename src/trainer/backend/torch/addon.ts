// Loads the libtorch N-API addon (native/, built by `npm install` when a libtorch is found) and
// says why not when it is absent, with the command that would build it.
import * as fs from 'fs';
import * as path from 'path';

/** A handle into the addon's tensor table (an at::Tensor owned by native code). */
export type Handle = number;

export interface TorchAbout {
  threads: number;
  cuda: boolean;
  mkldnn: boolean;
  mkldnnBf16: boolean;
  device: string;
  parallel: string;
}

/** The addon's functions (native/src/*.cc); every tensor argument and result is a Handle. */
export interface TorchAddon {
  meta: Int32Array;
  unaryOps: string[];
  binaryOps: string[];
  upload(values: ArrayBufferView, shape: number[], dtype: string): Handle;
  download(h: Handle): Float32Array | Int32Array | Uint8Array;
  dispose(h: Handle): boolean;
  liveCount(): number;
  liveBytes(): number;
  shapeOf(h: Handle): number[];
  dtypeOf(h: Handle): string;
  reshape(h: Handle, shape: number[]): Handle;
  cast(h: Handle, dtype: string): Handle;
  clone(h: Handle): Handle;
  fill(shape: number[], value: number, dtype: string): Handle;
  range(start: number, stop: number, step: number, dtype: string): Handle;
  setThreads(n: number): number;
  about(): TorchAbout;
  useDevice(device: string): string;
  /** What conv/matmul compute in from now on ('fp32' | 'bf16' | 'fp16'; fp16 throws on the CPU); returns it. */
  setComputePrecision(precision: string): string;
  computePrecision(): string;
  /** Hands freed memory the allocator keeps back to the kernel: which allocator it asked. */
  releaseFreeMemory(): 'jemalloc' | 'glibc';
  unary(code: number, x: Handle, p1: number, p2: number): Handle;
  binary(code: number, a: Handle, b: Handle, outDtype: string): Handle;
  select(c: Handle, a: Handle, b: Handle): Handle;
  addN(hs: Handle[]): Handle;
  reduce(op: string, x: Handle, axes: number[], keepDims: boolean, outDtype: string): Handle;
  scan(op: string, x: Handle, axis: number, exclusive: boolean, reverse: boolean): Handle;
  softmax(x: Handle, dim: number, log: boolean): Handle;
  topk(x: Handle, k: number, sorted: boolean): Handle[];
  transpose(x: Handle, perm: number[]): Handle;
  stridedSlice(x: Handle, begin: number[], end: number[], strides: number[], finalShape: number[]): Handle;
  slice(x: Handle, begin: number[], size: number[]): Handle;
  concat(hs: Handle[], axis: number): Handle;
  stack(hs: Handle[], axis: number): Handle;
  unstack(x: Handle, axis: number): Handle[];
  split(x: Handle, sizes: number[], axis: number): Handle[];
  pad(x: Handle, paddings: number[], value: number, mode: string): Handle;
  tile(x: Handle, reps: number[]): Handle;
  reverse(x: Handle, dims: number[]): Handle;
  broadcastTo(x: Handle, shape: number[]): Handle;
  gather(x: Handle, indices: Handle, axis: number, batchDims: number): Handle;
  oneHot(indices: Handle, depth: number, on: number, off: number, dtype: string): Handle;
  unsortedSegmentSum(x: Handle, segmentIds: Handle, numSegments: number): Handle;
  conv2d(x: Handle, w: Handle, strides: number[], pads: number[], dil: number[], bias: Handle | null,
    act: string | null, prelu: Handle | null, alpha: number | null): Handle;
  conv2dBackpropInput(dy: Handle, w: Handle, inShape: number[], strides: number[], pads: number[], dil: number[]): Handle;
  conv2dBackpropFilter(x: Handle, dy: Handle, filterShape: number[], strides: number[], pads: number[], dil: number[]): Handle;
  depthwiseConv2d(x: Handle, w: Handle, strides: number[], pads: number[], dil: number[], bias: Handle | null,
    act: string | null, prelu: Handle | null, alpha: number | null): Handle;
  depthwiseBackpropInput(dy: Handle, w: Handle, inShape: number[], strides: number[], pads: number[], dil: number[]): Handle;
  depthwiseBackpropFilter(x: Handle, dy: Handle, filterShape: number[], strides: number[], pads: number[], dil: number[]): Handle;
  pool(kind: 'max' | 'avg', x: Handle, k: number[], strides: number[], pads: number[]): Handle;
  poolGrad(kind: 'max' | 'avg', dy: Handle, x: Handle, k: number[], strides: number[], pads: number[]): Handle;
  matmul(a: Handle, b: Handle, ta: boolean, tb: boolean, bias: Handle | null, act: string | null,
    prelu: Handle | null, alpha: number | null): Handle;
  batchNormInfer(x: Handle, mean: Handle, variance: Handle, offset: Handle | null, scale: Handle | null, eps: number): Handle;
  resizeBilinear(x: Handle, h: number, w: number, alignCorners: boolean, halfPixelCenters: boolean): Handle;
  resizeBilinearGrad(dy: Handle, x: Handle, alignCorners: boolean, halfPixelCenters: boolean): Handle;
  bnTrain(x: Handle, gamma: Handle, beta: Handle, eps: number, residual: Handle | null, relu: boolean): Handle[];
  bnTrainGrad(dy: Handle, x: Handle, gamma: Handle, mean: Handle, invstd: Handle, eps: number, y: Handle | null): Handle[];
  xent(logits: Handle, targets: Handle): Handle[];
  xentGrad(dloss: Handle, logSoftmax: Handle, targets: Handle): Handle;
  /** inPlace[k]: JS knows no other tfjs tensor holds p, m, v of param k (native checks its own side). */
  adamw(ps: Handle[], gs: Handle[], ms: Handle[], vs: Handle[], hyper: number[], sqrMom: number, eps: number, inPlace?: boolean[]): Handle[];
}

/** The package's folder: the nearest one above this file with a package.json (compiled under out/ or bundled under dist/). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..', '..', '..', '..');
  }
}

/** Where the build step leaves the addon and what it found (written by native/install.js). */
export const NATIVE_DIR = path.join(packageRoot(__dirname), 'native');
const BINARY = path.join(NATIVE_DIR, 'build', 'Release', 'torch_backend.node');
export const BUILD_INFO = path.join(NATIVE_DIR, 'build', 'libtorch.json');

/** The exact commands that give the fast backend, for every message that says it is missing. */
export const TORCH_FIX =
  'install Debian\'s libtorch (`sudo apt-get install libtorch-dev`) or point LIBTORCH at a libtorch folder ' +
  'from pytorch.org, then run `npm rebuild image-trainer` (or `LIBTORCH=/path/to/libtorch npm rebuild`) in the project';

let cached: { addon: TorchAddon | null; error: string | null } | null = null;

/** The addon, or null with `torchLoadError()` saying why. */
export function loadTorchAddon(): TorchAddon | null {
  if (!cached) {
    try {
      if (!fs.existsSync(BINARY)) throw new Error(`the torch addon is not built (${path.relative(process.cwd(), BINARY) || BINARY} is missing)`);
      // libgomp reads this when libtorch loads. Spinning OpenMP workers starve the data-loading
      // threads (and everything else) on a small machine: one epoch took 4.5x longer with spinning.
      process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
      cached = { addon: require(BINARY) as TorchAddon, error: null };
    } catch (err) {
      cached = { addon: null, error: err instanceof Error ? err.message : String(err) };
    }
  }
  return cached.addon;
}

/** The addon if something has loaded it already (null otherwise: nothing here loads libtorch). */
export function loadedTorchAddon(): TorchAddon | null {
  return cached?.addon ?? null;
}

export function torchLoadError(): string | null {
  loadTorchAddon();
  return cached!.error;
}

export interface LibtorchBuildInfo {
  source?: string;
  root?: string;
  include?: string;
  lib?: string;
  version?: string;
  cuda?: boolean;
  error?: string;
}

/** What native/install.js found when it built the addon (or why it did not). */
export function libtorchBuildInfo(): LibtorchBuildInfo | null {
  try {
    return JSON.parse(fs.readFileSync(BUILD_INFO, 'utf8')) as LibtorchBuildInfo;
  } catch {
    return null;
  }
}
