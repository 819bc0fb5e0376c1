// Starts the threaded-SIMD build of @tensorflow/tfjs-backend-wasm under Node (worker_threads).
// tfjs 4.22 turns threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs
// issue #3830) and its loader hands Emscripten Blob URLs, which Node's Worker cannot open. We keep
// each Blob's parts, write the factory and worker scripts to a temp folder and hand out file paths
// from URL.createObjectURL; the worker script gets a preamble that defines the bundle's globals
// that the factory's Function.toString() source refers to.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

// The real module object: a namespace import's properties cannot be reassigned.
const os = require('os') as typeof import('os');

const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

export interface ThreadedWasmPatch {
  /** Let the process exit while the wasm thread pool is alive. */
  unrefWorkers(): void;
  /** Undo the os.cpus() widening; call once the backend has been initialised. */
  restoreCpus(): void;
}

export function enableThreadedWasm(threads: number): ThreadedWasmPatch {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-trainer-wasm-'));
  const mainPath = path.join(dir, 'factory.js');
  const workerPath = path.join(dir, 'worker.js');
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm'));

  // Emscripten asks for an object URL once per pool worker while earlier workers are still
  // starting: rewriting the file in place let a starting worker read it half-written (empty), run
  // nothing and exit, and initialisation then waited forever for its 'loaded' message. Each file is
  // written once, whole, and renamed into place.
  const written = new Map<string, string>();
  const writeOnce = (file: string, text: string): void => {
    if (written.get(file) === text) return;
    const tmp = `${file}.${written.size}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    written.set(file, text);
  };

  const OrigBlob = globalThis.Blob;
  const partsOf = new WeakMap<Blob, unknown[]>();
  const PatchedBlob = function (this: unknown, parts: unknown[], opts?: BlobPropertyBag) {
    const blob = new OrigBlob(parts as BlobPart[], opts);
    partsOf.set(blob, parts);
    // The factory Blob is posted to the workers without passing through createObjectURL.
    if (typeof parts[0] === 'string' && parts[0].startsWith(FACTORY_PREFIX)) writeOnce(mainPath, parts.join(''));
    return blob;
  } as unknown as typeof Blob;
  PatchedBlob.prototype = OrigBlob.prototype;
  globalThis.Blob = PatchedBlob;

  const origCreate = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Blob | MediaSource): string => {
    const parts = partsOf.get(obj as Blob);
    if (!parts) return origCreate(obj as Blob);
    const text = parts.join('');
    if (text.startsWith(FACTORY_PREFIX)) {
      writeOnce(mainPath, text);
      return mainPath;
    }
    const preamble =
      `globalThis.require$$0=require('fs');globalThis.require$$1=require('path');globalThis.require$$4=require('os');` +
      `globalThis.commonjsGlobal=globalThis;globalThis.__dirname=${JSON.stringify(wasmDir)};` +
      `globalThis.__filename=${JSON.stringify(mainPath)};globalThis._scriptDir=${JSON.stringify(mainPath)};` +
      `URL.createObjectURL=()=>${JSON.stringify(mainPath)};URL.revokeObjectURL=()=>{};\n`;
    writeOnce(workerPath, preamble + text);
    return workerPath;
  };

  // backend.cc caps its thread pool at emscripten_num_logical_cores()/2 (os.cpus().length/2 in
  // Node), read once while the module instantiates: report at least 2×threads CPUs until then.
  const origCpus = os.cpus;
  if (origCpus().length < 2 * threads) {
    os.cpus = () => {
      const cpus = origCpus();
      while (cpus.length < 2 * threads) cpus.push(cpus[0]);
      return cpus;
    };
  }
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    unrefWorkers: () => {
      // Emscripten ref()s a worker while it runs a pthread; pthreadpool's threads never end, so
      // they would keep Node alive after the program is done.
      const pthread = (tf.findBackend('wasm') as any)?.wasm?.PThread;
      for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) {
        w.unref();
        w.ref = () => w;
      }
    },
    restoreCpus: () => {
      // Blob and createObjectURL stay patched: Emscripten may start more workers later.
      os.cpus = origCpus;
    },
  };
}
