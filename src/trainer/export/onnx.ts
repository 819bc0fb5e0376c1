// The inference graph as a standard ONNX model (opset 13) encoded with onnx-proto (the ONNX schema on
// protobufjs). Input "input": float32 NCHW [N, 3, size, size], RGB in [0, 1]; the normalisation is
// the graph's first two nodes (Sub mean, Div std). Output "probabilities": softmax [N, classes].
import { promises as fs } from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import type { InferenceGraph, Step } from './graph';
import { inputContract, type CardSource } from './card';

export const ONNX_FILE = 'model.onnx';
export const ONNX_OPSET = 13;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'probabilities';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const A = onnx.AttributeProto.AttributeType;

export async function writeOnnx(dir: string, graph: InferenceGraph, card: CardSource): Promise<string[]> {
  await fs.writeFile(path.join(dir, ONNX_FILE), encodeOnnx(graph, card));
  return [ONNX_FILE];
}

export function encodeOnnx(graph: InferenceGraph, card: CardSource): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const init = (name: string, dims: number[], data: Float32Array) => {
    inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const node = (opType: string, inputs: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
    nodes.push({ opType, input: inputs, output: [output], name: `${opType}_${nodes.length}`, attribute });

  const mean = init('mean', [1, 3, 1, 1], Float32Array.from(graph.mean));
  const std = init('std', [1, 3, 1, 1], Float32Array.from(graph.std));
  node('Sub', [ONNX_INPUT, mean], 'centred');
  node('Div', ['centred', std], graph.normalized);
  for (const s of graph.steps) emit(s, node, init);
  node('Softmax', [graph.logits], ONNX_OUTPUT, [{ name: 'axis', type: A.INT, i: 1 }]);

  const contract = inputContract(card);
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'image-trainer',
    producerVersion: card.producerVersion ?? '',
    docString: `${graph.arch} + fastai head, ${graph.numClasses} classes. ${contract.summary}`,
    graph: {
      name: `${graph.arch}_classifier`,
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, ['N', 3, graph.size, graph.size])],
      output: [valueInfo(ONNX_OUTPUT, ['N', graph.numClasses])],
    },
    metadataProps: Object.entries({
      classes: JSON.stringify(card.classes),
      arch: graph.arch,
      image_size: String(graph.size),
      input_layout: 'NCHW',
      input_range: '[0, 1] RGB float32 (pixel / 255)',
      normalization: JSON.stringify({ mean: graph.mean, std: graph.std, where: 'inside the graph: (input - mean) / std' }),
      preprocessing: JSON.stringify(card.preprocessing),
      output: 'softmax probabilities over classes, in the order of "classes"',
    }).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

function emit(
  s: Step,
  node: (op: string, inputs: string[], output: string, attrs?: onnx.IAttributeProto[]) => void,
  init: (name: string, dims: number[], data: Float32Array) => string,
): void {
  const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });
  switch (s.kind) {
    case 'conv': {
      const w = init(`${s.output}_W`, [s.cout, s.cin, s.k, s.k], hwioToOihw(s.weight, s.k, s.cin, s.cout));
      const b = init(`${s.output}_B`, [s.cout], s.bias);
      const attrs = [ints('kernel_shape', [s.k, s.k]), ints('strides', [s.stride, s.stride]), ints('pads', [s.pad, s.pad, s.pad, s.pad])];
      if (!s.relu) return node('Conv', [s.input, w, b], s.output, attrs);
      node('Conv', [s.input, w, b], `${s.output}_pre`, attrs);
      return node('Relu', [`${s.output}_pre`], s.output);
    }
    case 'maxPool':
      return node('MaxPool', [s.input], s.output, [ints('kernel_shape', [s.k, s.k]), ints('strides', [s.stride, s.stride]), ints('pads', [s.pad, s.pad, s.pad, s.pad])]);
    case 'addRelu':
      node('Add', [s.a, s.b], `${s.output}_sum`);
      return node('Relu', [`${s.output}_sum`], s.output);
    case 'concatPool':
      node('GlobalMaxPool', [s.input], `${s.output}_max`);
      node('GlobalAveragePool', [s.input], `${s.output}_avg`);
      node('Concat', [`${s.output}_max`, `${s.output}_avg`], `${s.output}_cat`, [{ name: 'axis', type: A.INT, i: 1 }]);
      return node('Flatten', [`${s.output}_cat`], s.output, [{ name: 'axis', type: A.INT, i: 1 }]);
    case 'linear': {
      const w = init(`${s.output}_W`, [s.nIn, s.nOut], s.weight);
      const b = init(`${s.output}_B`, [s.nOut], s.bias);
      if (!s.relu) return node('Gemm', [s.input, w, b], s.output);
      node('Gemm', [s.input, w, b], `${s.output}_pre`);
      return node('Relu', [`${s.output}_pre`], s.output);
    }
  }
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function hwioToOihw(w: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * k + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = w[src + o]!;
      }
  return out;
}
