// The model card (README.md) written beside every export, and the input contract the ONNX
// metadata, the TF.js metadata.json and the card all state the same way.
import { promises as fs } from 'fs';
import * as path from 'path';
import { MODEL_CARD, type ExportFormat } from '../../protocol/export';
import type { EpochRecord } from '../../protocol/runs';
import { describeInferenceResize, rrcValidSide, type Preprocessing } from '../../protocol/preprocessing';

export { MODEL_CARD };

export interface CardSource {
  format: ExportFormat;
  arch: string;
  classes: string[];
  preprocessing: Preprocessing;
  /** Images per class in the training and validation sets, when the learner knows them. */
  counts: { name: string; train: number; valid: number }[] | null;
  lastEpoch: EpochRecord | null;
  epochs: number;
  producerVersion?: string;
  tfjsVersion?: string;
}

export interface InputContract {
  summary: string;
  layout: 'NCHW' | 'NHWC';
  inputShape: (number | string)[];
  inputRange: '[0, 1]';
  colorOrder: 'RGB';
  normalization: { mean: number[]; std: number[]; appliedInsideModel: boolean };
  resize: string;
  output: string;
}

export function inputContract(card: CardSource): InputContract {
  const p = card.preprocessing;
  const layout = card.format === 'onnx' ? 'NCHW' : 'NHWC';
  const inside = card.format !== 'native';
  return {
    summary:
      `Input: float32 ${layout} ${layout === 'NCHW' ? `[N, 3, ${p.size}, ${p.size}]` : `[N, ${p.size}, ${p.size}, 3]`}, RGB, pixel / 255 (range [0, 1]); ` +
      (inside ? `the model normalises with mean ${fmt(p.normalize.mean)} and std ${fmt(p.normalize.std)} itself. ` : `normalise with mean ${fmt(p.normalize.mean)} and std ${fmt(p.normalize.std)} first. `) +
      `${capitalise(describeInferenceResize(p))}: the validation view the model was trained with. Output: softmax probabilities in the order of the classes.`,
    layout,
    inputShape: layout === 'NCHW' ? ['N', 3, p.size, p.size] : ['N', p.size, p.size, 3],
    inputRange: '[0, 1]',
    colorOrder: 'RGB',
    normalization: { mean: [...p.normalize.mean], std: [...p.normalize.std], appliedInsideModel: inside },
    resize: describeInferenceResize(p),
    output: 'softmax probabilities [N, classes]',
  };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function fmt(v: readonly number[]): string {
  return `[${v.map((x) => Number(x.toFixed(4))).join(', ')}]`;
}

export async function writeModelCard(dir: string, card: CardSource): Promise<string> {
  await fs.writeFile(path.join(dir, MODEL_CARD), modelCard(card));
  return MODEL_CARD;
}

export function modelCard(card: CardSource): string {
  const c = inputContract(card);
  const lines = [
    `# ${card.arch} image classifier (${card.classes.length} classes)`,
    '',
    `Exported by Image Trainer${card.producerVersion ? ` ${card.producerVersion}` : ''} in the **${card.format}** format.`,
    '',
    '## Architecture',
    '',
    `torchvision ${card.arch} body with fastai's head (concat pool [max, avg] → BatchNorm → Linear(512) → ReLU → BatchNorm → Linear(classes)), ` +
      (card.format === 'native' ? 'stored unfolded for this project\'s loader.' : 'every BatchNorm folded into the conv or linear layer next to it; softmax output.'),
    '',
    '## Classes',
    '',
    ...card.classes.map((name, i) => `${i}. ${mdEscape(name)}`),
    '',
    '## Input',
    '',
    c.summary,
    '',
    '## Training data',
    '',
    ...(card.counts
      ? [
          `${sum(card.counts, 'train')} training and ${sum(card.counts, 'valid')} validation images.`,
          '',
          '| class | train | valid |',
          '| --- | ---: | ---: |',
          ...card.counts.map((r) => `| ${mdEscape(r.name)} | ${r.train} | ${r.valid} |`),
        ]
      : ['Not recorded.']),
    '',
    '## Final metrics',
    '',
    card.lastEpoch
      ? `After ${card.epochs} epoch${card.epochs === 1 ? '' : 's'} of the last fit: train loss ${num(card.lastEpoch.trainLoss)}, valid loss ${num(card.lastEpoch.validLoss)}, error rate ${num(card.lastEpoch.errorRate)}, accuracy ${num(card.lastEpoch.accuracy)}.`
      : 'No training run recorded in this session.',
    '',
    '## How to run it',
    '',
    ...usage(card),
  ];
  return lines.join('\n') + '\n';
}

function usage(card: CardSource): string[] {
  const cli = ['```sh', `image-trainer predict --model . --topk 3 photo.jpg`, '```', ''];
  if (card.format === 'onnx') {
    return [
      'Python with onnxruntime (`pip install onnxruntime pillow numpy`):',
      '',
      '```python',
      'import json, numpy as np, onnxruntime as ort',
      'from PIL import Image',
      'sess = ort.InferenceSession("model.onnx")',
      'classes = json.loads(sess.get_modelmeta().custom_metadata_map["classes"])',
      `img = Image.open("photo.jpg").convert("RGB")`,
      ...pythonResize(card.preprocessing),
      'x = x.transpose(2, 0, 1)[None]  # NCHW; normalisation is inside the model',
      'probs = sess.run(["probabilities"], {"input": x})[0][0]',
      'print(classes[int(probs.argmax())], float(probs.max()))',
      '```',
      '',
      'Command line:',
      '',
      ...cli,
    ];
  }
  if (card.format === 'tfjs') {
    return [
      'A web page with TensorFlow.js (serve this folder over http):',
      '',
      '```html',
      '<script src="https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@4/dist/tf.min.js"></script>',
      '<img id="photo" src="photo.jpg" crossorigin="anonymous">',
      '<script type="module">',
      "const model = await tf.loadGraphModel('model.json');",
      "const { labels, imageSize } = await (await fetch('metadata.json')).json();",
      "const img = document.getElementById('photo');",
      'const probs = tf.tidy(() => {',
      '  const px = tf.browser.fromPixels(img).toFloat().div(255);  // RGB in [0, 1]; resizes sample pixel centres (halfPixelCenters), as training did',
      ...jsResize(card.preprocessing),
      '  return model.predict(x.expandDims(0));',
      '}).dataSync();',
      'console.log(labels[probs.indexOf(Math.max(...probs))]);',
      '</script>',
      '```',
      '',
      'Command line:',
      '',
      ...cli,
    ];
  }
  return ['With Image Trainer (this format is read by Image Trainer only; export `--format onnx` or `tfjs` for other runtimes):', '', ...cli];
}

/** PIL lines from `img` (RGB) to `x` (float32 HWC in [0, 1]) for the recorded validation view. */
function pythonResize(p: Preprocessing): string[] {
  const S = p.size;
  switch (p.method) {
    case 'crop':
      return [
        `s = ${S} / min(img.size)`,
        `img = img.resize((max(round(img.width * s), ${S}), max(round(img.height * s), ${S})), Image.BILINEAR)`,
        `l, t = (img.width - ${S}) // 2, (img.height - ${S}) // 2`,
        `x = np.asarray(img.crop((l, t, l + ${S}, t + ${S})), dtype=np.float32) / 255.0`,
      ];
    case 'squish':
      return [`x = np.asarray(img.resize((${S}, ${S}), Image.BILINEAR), dtype=np.float32) / 255.0`];
    case 'randomResizedCrop': {
      const V = rrcValidSide(S);
      return [
        `img = img.resize((${V}, ${V}), Image.BILINEAR)  # RandomResizedCrop's validation view`,
        `o = (${V} - ${S}) // 2`,
        `x = np.asarray(img.crop((o, o, o + ${S}, o + ${S})), dtype=np.float32) / 255.0`,
      ];
    }
    case 'pad': {
      const mode = { reflection: "'symmetric'", zeros: "'constant'", border: "'edge'" }[p.padMode ?? 'reflection'];
      return [
        `s = ${S} / max(img.size)`,
        `img = img.resize((max(round(img.width * s), 1), max(round(img.height * s), 1)), Image.BILINEAR)`,
        'x = np.asarray(img, dtype=np.float32) / 255.0',
        `t, l = (${S} - x.shape[0]) // 2, (${S} - x.shape[1]) // 2`,
        `x = np.pad(x, ((t, ${S} - x.shape[0] - t), (l, ${S} - x.shape[1] - l), (0, 0)), mode=${mode})  # pad_mode='${p.padMode ?? 'reflection'}'`,
      ];
    }
  }
}

/** TF.js lines from `px` (RGB in [0, 1], HWC) to `x` (imageSize×imageSize×3) for the recorded validation view. */
function jsResize(p: Preprocessing): string[] {
  switch (p.method) {
    case 'crop':
      return [
        '  const [h, w] = px.shape, s = imageSize / Math.min(h, w);',
        '  const r = tf.image.resizeBilinear(px, [Math.max(imageSize, Math.round(h * s)), Math.max(imageSize, Math.round(w * s))], false, true);',
        '  const top = Math.floor((r.shape[0] - imageSize) / 2), left = Math.floor((r.shape[1] - imageSize) / 2);',
        '  const x = r.slice([top, left, 0], [imageSize, imageSize, 3]);',
      ];
    case 'squish':
      return ['  const x = tf.image.resizeBilinear(px, [imageSize, imageSize], false, true);'];
    case 'randomResizedCrop': {
      const V = rrcValidSide(p.size);
      return [
        `  const r = tf.image.resizeBilinear(px, [${V}, ${V}], false, true);  // RandomResizedCrop's validation view`,
        `  const o = Math.floor((${V} - imageSize) / 2);`,
        '  const x = r.slice([o, o, 0], [imageSize, imageSize, 3]);',
      ];
    }
    case 'pad': {
      const padMode = p.padMode ?? 'reflection';
      const pad = padMode === 'zeros'
        ? '  const x = tf.pad(r, [[top, imageSize - h2 - top], [left, imageSize - w2 - left], [0, 0]]);'
        : padMode === 'reflection'
          ? "  const x = tf.mirrorPad(r, [[top, imageSize - h2 - top], [left, imageSize - w2 - left], [0, 0]], 'symmetric');"
          : '  const edge = (n, off) => tf.tensor1d(Array.from({ length: imageSize }, (_, i) => Math.min(Math.max(i - off, 0), n - 1)), \'int32\');\n  const x = r.gather(edge(h2, top), 0).gather(edge(w2, left), 1);';
      return [
        '  const [h, w] = px.shape, s = imageSize / Math.max(h, w);',
        '  const h2 = Math.max(1, Math.round(h * s)), w2 = Math.max(1, Math.round(w * s));',
        '  const r = tf.image.resizeBilinear(px, [h2, w2], false, true);',
        '  const top = Math.floor((imageSize - h2) / 2), left = Math.floor((imageSize - w2) / 2);',
        `${pad}  // pad_mode='${padMode}'`,
      ];
    }
  }
}

function sum(rows: { train: number; valid: number }[], k: 'train' | 'valid'): number {
  return rows.reduce((a, r) => a + r[k], 0);
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(4);
}

function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]|<>#]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, ' ');
}
