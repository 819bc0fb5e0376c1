// Training that goes wrong must say so and keep nothing broken: a diverged run (NaN/Inf loss or
// weights) fails with a lower-lr fix and cannot be saved or exported; a run where every image
// failed to decode fails with the files listed; interpret with no validation images fails.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../src/trainer/backend';
import { Learner } from '../../src/trainer/learner';
import { ClassificationInterpretation } from '../../src/trainer/interpret';
import type { TrainerEvent } from '../../src/protocol/events';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData } from '../helpers/fake-data';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-training-'));
before(async () => {
  await tf.setBackend('cpu');
});
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function makeLearner(dir: string, events: TrainerEvent[] = []): Learner {
  const data = makeFakeData({});
  return new Learner({ data, model: createTinyModel({ numClasses: data.c, ps: [0, 0], seed: 1 }), path: dir, onEvent: (e) => events.push(e) });
}

function poison(l: Learner, value: number): void {
  const p = l.model.params[0].variable;
  const v = p.dataSync().slice();
  v[0] = value;
  p.assign(tf.tensor(v, p.shape));
}

for (const [name, value] of [['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity]] as const) {
  test(`divergence: a ${name} loss stops fit_one_cycle with a lower-lr fix; save and export refuse the broken model`, async () => {
    const dir = path.join(TMP, `div-${name}`);
    const events: TrainerEvent[] = [];
    const l = makeLearner(dir, events);
    await l.save('good');
    poison(l, value);
    await assert.rejects(l.fitOneCycle(2, 1e-2), (e: Error & { fix?: string }) => {
      assert.match(e.message, /Training diverged/);
      assert.match(e.fix ?? '', /lower learning rate/);
      return true;
    });
    const end = events.filter((e) => e.type === 'fit_end').pop() as Extract<TrainerEvent, { type: 'fit_end' }>;
    assert.equal(end.status, 'failed');
    assert.equal(events.filter((e) => e.type === 'epoch').length, 0, 'an epoch row was reported for a diverged epoch');
    await assert.rejects(l.save('broken'), /NaN or infinite/);
    assert.ok(!fs.existsSync(path.join(dir, 'models', 'broken.safetensors')));
    await assert.rejects(l.export(path.join(dir, 'export')), /NaN or infinite/);
    assert.ok(!fs.existsSync(path.join(dir, 'export')));
    // the good checkpoint still loads and trains
    await l.load('good');
    await l.fit(1, 1e-3);
    l.dispose();
  });
}

test('divergence: lr_find is exempt (its sweep diverges on purpose)', async () => {
  const l = makeLearner(path.join(TMP, 'lrfind'));
  const r = await l.lrFind({ numIt: 12, endLr: 1e4 });
  assert.ok(r.lrs.length > 0);
  l.dispose();
});

test('every image fails to decode: the run fails listing the files instead of an untrained model', async () => {
  const l = makeLearner(path.join(TMP, 'nodecode'));
  const files = ['/data/cat/a.jpg', '/data/dog/b.jpg'];
  const empty = { length: 6, itemCount: 48, setEpoch() {}, async *[Symbol.asyncIterator]() {} };
  Object.assign(l.data, { train: empty, skippedWhileLoading: files.map((file) => ({ file, reason: 'VipsJpeg: premature end of JPEG file' })) });
  await assert.rejects(l.fitOneCycle(1, 1e-3), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, /every image failed to decode: \/data\/cat\/a\.jpg .*\/data\/dog\/b\.jpg/);
    assert.equal(e.file, files[0]);
    assert.ok(e.fix);
    return true;
  });
  l.dispose();
});

test('interpret with no validation images says so', async () => {
  const source = { data: { classes: ['a', 'b'] }, getPreds: () => ({ files: [], targets: new Int32Array(0), probs: [], losses: new Float32Array(0) }) };
  await assert.rejects(ClassificationInterpretation.fromLearner(source as never), /validation set has no images/);
});
