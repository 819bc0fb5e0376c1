// Issue 12 through the real CLI: `train --resize pad` on non-square PNGs, then `predict` on the
// export and `interpret` of the run (which reopens the data with the checkpoint's transforms, no
// --resize given) see the same pixels: predict's probability of each validation image's class is
// the one interpret reports for it.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { InterpretationSummary } from '../../src/protocol/interpretation';
import { seededRandom } from '../helpers/seeded-random';

const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');
const PATTERN = '/([ab])_\\d+\\.png$';
let tmp = '';
let data = '';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-preprocessing-'));
  data = path.join(tmp, 'images');
  fs.mkdirSync(data);
  const rand = seededRandom(11);
  for (let i = 0; i < 12; i++) {
    const [w, h] = i % 2 ? [60, 30] : [30, 60];
    const raw = Buffer.alloc(w * h * 3);
    for (let k = 0; k < raw.length; k++) raw[k] = Math.floor(rand() * 256);
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(data, `${i < 6 ? 'a' : 'b'}_${i}.png`));
  }
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('train --resize pad, then predict on the export and interpret of the run agree on every validation image', { timeout: 300_000 }, () => {
  const out = path.join(tmp, 'run');
  const common = ['--data', data, '--label-re', PATTERN, '--seed', '3'];
  const t = cli(['train', ...common, '--arch', 'resnet18', '--pretrained', 'none', '--size', '32', '--bs', '4', '--epochs', '1', '--resize', 'pad', '--pad-mode', 'zeros', '--valid-pct', '0.34', '--out', out]);
  assert.equal(t.code, 0, t.stderr);
  const i = cli(['interpret', '--model', out, ...common, '--valid-pct', '0.34', '--k', '2']);
  assert.equal(i.code, 0, i.stderr);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'interpretation.json'), 'utf8')) as InterpretationSummary;
  assert.ok(summary.items.length >= 3, `${summary.items.length} validation items`);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'export', 'model.json'), 'utf8')) as { userDefinedMetadata: { preprocessing: { method: string; padMode: string } } };
  assert.deepEqual([manifest.userDefinedMetadata.preprocessing.method, manifest.userDefinedMetadata.preprocessing.padMode], ['pad', 'zeros']);
  const p = cli(['predict', '--model', path.join(out, 'export'), '--json', ...summary.items.map((it) => it.file)]);
  assert.equal(p.code, 0, p.stderr);
  const preds = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; file: string; probs: number[] }).filter((x) => x.type === 'prediction');
  assert.equal(preds.length, summary.items.length);
  for (const item of summary.items) {
    const pred = preds.find((x) => x.file === item.file)!;
    const got = pred.probs[summary.classes.indexOf(item.actual)]!;
    assert.ok(Math.abs(got - item.probability) <= 1e-4, `${path.basename(item.file)}: predict ${got}, interpret ${item.probability}`);
  }
});
