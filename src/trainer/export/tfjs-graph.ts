// The inference graph as a TF.js graph model (what tensorflowjs_converter writes for a frozen
// GraphDef): model.json with format "graph-model", modelTopology a GraphDef in its JSON form,
// weightsManifest pointing at weights.bin; plus metadata.json in Teachable Machine's layout
// (labels, imageSize) with the input contract. Input "input": float32 NHWC [N, size, size, 3],
// RGB in [0, 1]; output "probabilities": softmax [N, classes].
import { promises as fs } from 'fs';
import * as path from 'path';
import type { InferenceGraph, Step } from './graph';
import { inputContract, type CardSource } from './card';

export const TFJS_MODEL = 'model.json';
export const TFJS_WEIGHTS = 'weights.bin';
export const TFJS_METADATA = 'metadata.json';
export const TFJS_INPUT = 'input';
export const TFJS_OUTPUT = 'probabilities';

type Attr = Record<string, unknown>;
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Attr;
}
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const T_FLOAT = { type: 'DT_FLOAT' };
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const strs = (v: string[]) => ({ list: { s: v.map(b64) } });

export async function writeTfjsGraphModel(dir: string, graph: InferenceGraph, card: CardSource): Promise<string[]> {
  const { modelJson, weights } = buildGraphModel(graph, card);
  await fs.writeFile(path.join(dir, TFJS_WEIGHTS), weights);
  await fs.writeFile(path.join(dir, TFJS_MODEL), JSON.stringify(modelJson));
  await fs.writeFile(path.join(dir, TFJS_METADATA), JSON.stringify(teachableMetadata(graph, card), null, 2) + '\n');
  return [TFJS_MODEL, TFJS_WEIGHTS, TFJS_METADATA];
}

export function buildGraphModel(graph: InferenceGraph, card: CardSource): { modelJson: unknown; weights: Buffer } {
  const nodes: NodeDef[] = [];
  const specs: WeightSpec[] = [];
  const chunks: Buffer[] = [];
  const konst = (name: string, shape: number[], data: Float32Array | Int32Array): string => {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    const dt = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: dt, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: dt } } });
    specs.push({ name, shape, dtype });
    chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return name;
  };
  const op = (name: string, opName: string, input: string[], attr: Attr = {}) => (nodes.push({ name, op: opName, input, attr }), name);

  nodes.push({
    name: TFJS_INPUT,
    op: 'Placeholder',
    attr: { dtype: T_FLOAT, shape: { shape: { dim: [-1, graph.size, graph.size, 3].map((d) => ({ size: String(d) })) } } },
  });
  const mean = konst('mean', [3], Float32Array.from(graph.mean));
  const std = konst('std', [3], Float32Array.from(graph.std));
  op('centred', 'Sub', [TFJS_INPUT, mean], { T: T_FLOAT });
  op(graph.normalized, 'RealDiv', ['centred', std], { T: T_FLOAT });
  const reduceAxes = konst('reduce_axes', [2], Int32Array.from([1, 2]));
  const concatAxis = konst('concat_axis', [], Int32Array.from([1]));
  for (const s of graph.steps) emit(s, op, konst, reduceAxes, concatAxis);
  op(TFJS_OUTPUT, 'Softmax', [graph.logits], { T: T_FLOAT });

  const modelJson = {
    format: 'graph-model',
    generatedBy: `image-trainer ${card.producerVersion ?? ''}`.trim(),
    convertedBy: 'image-trainer (GraphDef written directly from the trained weights)',
    signature: {
      inputs: { [TFJS_INPUT]: { name: `${TFJS_INPUT}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: [-1, graph.size, graph.size, 3].map((d) => ({ size: String(d) })) } } },
      outputs: { [TFJS_OUTPUT]: { name: `${TFJS_OUTPUT}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: String(graph.numClasses) }] } } },
    },
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: [TFJS_WEIGHTS], weights: specs }],
    userDefinedMetadata: { classes: card.classes, preprocessing: card.preprocessing, inputContract: inputContract(card) },
  };
  return { modelJson, weights: Buffer.concat(chunks) };
}

function emit(
  s: Step,
  op: (name: string, opName: string, input: string[], attr?: Attr) => string,
  konst: (name: string, shape: number[], data: Float32Array | Int32Array) => string,
  reduceAxes: string,
  concatAxis: string,
): void {
  switch (s.kind) {
    case 'conv': {
      const w = konst(`${s.output}_W`, [s.k, s.k, s.cin, s.cout], s.weight);
      const b = konst(`${s.output}_B`, [s.cout], s.bias);
      op(s.output, '_FusedConv2D', [s.input, w, b], {
        T: T_FLOAT,
        num_args: { i: '1' },
        fused_ops: strs(s.relu ? ['BiasAdd', 'Relu'] : ['BiasAdd']),
        strides: ints([1, s.stride, s.stride, 1]),
        padding: { s: b64(s.pad ? 'EXPLICIT' : 'VALID') },
        explicit_paddings: ints(s.pad ? [0, 0, s.pad, s.pad, s.pad, s.pad, 0, 0] : []),
        data_format: { s: b64('NHWC') },
        dilations: ints([1, 1, 1, 1]),
      });
      return;
    }
    case 'maxPool': {
      // Its input comes out of a ReLU (≥ 0), so zero padding gives the same maxima as torch's −∞.
      const pads = konst(`${s.output}_pads`, [4, 2], Int32Array.from([0, 0, s.pad, s.pad, s.pad, s.pad, 0, 0]));
      op(`${s.output}_padded`, 'Pad', [s.input, pads], { T: T_FLOAT });
      op(s.output, 'MaxPool', [`${s.output}_padded`], { T: T_FLOAT, ksize: ints([1, s.k, s.k, 1]), strides: ints([1, s.stride, s.stride, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } });
      return;
    }
    case 'addRelu':
      op(`${s.output}_sum`, 'AddV2', [s.a, s.b], { T: T_FLOAT });
      op(s.output, 'Relu', [`${s.output}_sum`], { T: T_FLOAT });
      return;
    case 'concatPool':
      op(`${s.output}_max`, 'Max', [s.input, reduceAxes], { T: T_FLOAT, keep_dims: { b: false } });
      op(`${s.output}_avg`, 'Mean', [s.input, reduceAxes], { T: T_FLOAT, keep_dims: { b: false } });
      op(s.output, 'ConcatV2', [`${s.output}_max`, `${s.output}_avg`, concatAxis], { T: T_FLOAT, N: { i: '2' } });
      return;
    case 'linear': {
      const w = konst(`${s.output}_W`, [s.nIn, s.nOut], s.weight);
      const b = konst(`${s.output}_B`, [s.nOut], s.bias);
      op(s.output, '_FusedMatMul', [s.input, w, b], {
        T: T_FLOAT,
        num_args: { i: '1' },
        fused_ops: strs(s.relu ? ['BiasAdd', 'Relu'] : ['BiasAdd']),
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return;
    }
  }
}

/** Teachable Machine's metadata.json fields (labels, imageSize, …) plus the input contract. */
function teachableMetadata(graph: InferenceGraph, card: CardSource): Record<string, unknown> {
  return {
    tfjsVersion: card.tfjsVersion ?? '',
    packageName: 'image-trainer',
    packageVersion: card.producerVersion ?? '',
    timeStamp: new Date().toISOString(),
    modelName: `${graph.arch}-${card.classes.length}-classes`,
    labels: card.classes,
    imageSize: graph.size,
    userMetadata: { arch: graph.arch },
    // what predict through this folder applies (the run's validation view; the graph normalises itself)
    preprocessing: card.preprocessing,
    ...inputContract(card),
  };
}
