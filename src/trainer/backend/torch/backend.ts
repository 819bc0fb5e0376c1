// The `torch` KernelBackend: tfjs data ids map to handles of at::Tensors inside the addon. Values
// written from JS stay on the host until a kernel first needs them (lazy upload); kernel results
// live only in libtorch; host copies are made only by read/readSync.
import * as tf from '@tensorflow/tfjs-core';
import type { Handle, TorchAddon } from './addon';

interface TensorData {
  /** 0 until uploaded. */
  handle: Handle;
  /** Host values waiting for their first use (dropped once uploaded). */
  values: tf.BackendValues | null;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

const DTYPES: tf.DataType[] = ['float32', 'int32', 'bool'];

export class TorchBackend extends tf.KernelBackend {
  private readonly data: tf.DataStorage<TensorData>;

  constructor(
    readonly addon: TorchAddon,
    readonly device: string,
  ) {
    super();
    this.data = new tf.DataStorage<TensorData>(this, tf.engine());
  }

  // ---- storage --------------------------------------------------------------------------------
  override write(values: tf.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const dataId = {};
    this.data.set(dataId, { handle: 0, values, shape, dtype, refCount: 1 });
    return dataId;
  }

  override move(dataId: tf.DataId, values: tf.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, { handle: 0, values, shape, dtype, refCount });
  }

  holds(dataId: tf.DataId): boolean {
    return this.data.has(dataId);
  }

  /** The native tensor behind `t`, uploading host values on first use. */
  handle(t: tf.TensorInfo): Handle {
    const d = this.data.get(t.dataId);
    if (!d) throw new Error('torch backend: tensor data is not on this backend (disposed?)');
    if (d.handle === 0) {
      if (!DTYPES.includes(d.dtype)) throw new Error(`torch backend: dtype '${d.dtype}' is not supported`);
      const values = d.values as ArrayBufferView;
      d.handle = this.addon.upload(values, d.shape, d.dtype);
      d.values = null;
    }
    return d.handle;
  }

  /** Uploads the host values of `tensors` still waiting for their first use; returns their bytes. */
  uploadNow(tensors: readonly tf.TensorInfo[]): number {
    let bytes = 0;
    for (const t of tensors) {
      if (!this.data.has(t.dataId)) continue;
      const d = this.data.get(t.dataId);
      if (d.handle !== 0 || !d.values) continue;
      bytes += (d.values as ArrayBufferView).byteLength;
      this.handle(t);
    }
    return bytes;
  }

  /** Wraps the handle a kernel returned (shape and dtype from the addon's meta buffer, slot k). */
  output(h: Handle): tf.TensorInfo {
    return this.outputs([h])[0];
  }

  outputs(hs: Handle[]): tf.TensorInfo[] {
    const meta = this.addon.meta;
    let pos = 1;
    return hs.map((handle) => {
      const code = meta[pos++];
      const rank = meta[pos++];
      const shape = Array.from(meta.subarray(pos, pos + rank));
      pos += rank;
      const dtype = DTYPES[code];
      if (!dtype) throw new Error('torch backend: a kernel returned a dtype tfjs has no name for');
      const dataId = {};
      this.data.set(dataId, { handle, values: null, shape, dtype, refCount: 1 });
      return { dataId, shape, dtype };
    });
  }

  override readSync(dataId: tf.DataId): tf.BackendValues {
    const d = this.data.get(dataId);
    if (d.values) return d.values;
    const v = this.addon.download(d.handle);
    // tfjs keeps bool as Uint8Array and int32 as Int32Array; float32 as Float32Array.
    return v;
  }

  override async read(dataId: tf.DataId): Promise<tf.BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    // has() first: DataStorage.get of an id it lacks asks the engine to move the data here, which
    // recurses for an id no backend holds
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (d.handle !== 0) this.addon.dispose(d.handle);
    this.data.delete(dataId);
    return true;
  }

  override refCount(dataId: tf.DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: tf.DataId): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  /** Tensors alive inside libtorch (uploaded or computed); never more than numDataIds(). */
  liveNativeTensors(): number {
    return this.addon.liveCount();
  }

  override memory(): { unreliable: boolean; reasons?: string[]; numBytesInNative: number } {
    return { unreliable: false, numBytesInNative: this.addon.liveBytes() };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = process.hrtime.bigint();
    f(); // kernels are synchronous on CPU
    return { kernelMs: Number(process.hrtime.bigint() - start) / 1e6 };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // data ids are freed one by one by the engine; nothing global to release
  }
}
