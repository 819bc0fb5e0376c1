// Hostile corpus of names: file and class names carrying terminal control sequences, and label
// patterns with catastrophic backtracking. Outcomes: names print as visible escapes, never as
// control characters; a catastrophic pattern ends in well under a minute with an error naming it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { escapeTerminal, escapeTerminalLines } from '../../src/trainer/cli/escape';
import { HumanRenderer } from '../../src/trainer/cli/render';
import { fromNameRe } from '../../src/trainer/data/from-name-re';
import { matchLabels } from '../../src/trainer/data/safe-regex';
import { DatasetCleaner } from '../../src/trainer/interpret/cleaner';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-names-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

// eslint-disable-next-line no-control-regex -- the test looks for control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const hostileNames: [string, string][] = [
  ['sets the terminal title (OSC 0)', 'cat\u001b]0;pwned\u0007.jpg'],
  ['recolours output (CSI SGR)', '\u001b[31mred\u001b[0m.jpg'],
  ['clears the screen', 'x\u001b[2J\u001b[H.jpg'],
  ['fakes an error line with CR', 'ok.jpg\rimage-trainer: error: fake'],
  ['fakes an error line with LF', 'ok.jpg\nimage-trainer: error: fake'],
  ['C1 CSI (0x9b)', 'a\u009b31mb.jpg'],
  ['bidi override reorders the name', 'invoice\u202egpj.exe'],
  ['DEL and NUL', 'a\u007fb\u0000c.jpg'],
];

for (const [name, value] of hostileNames) {
  test(`terminal escaping: a name that ${name} is shown as visible escapes`, () => {
    const shown = escapeTerminal(value);
    assert.ok(!CONTROL.test(shown) && !shown.includes('\n'), JSON.stringify(shown));
    assert.ok(shown.includes('\\'));
  });
}

test('terminal escaping: the human renderer prints hostile class and file names without control characters', () => {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  err.on('data', (d: Buffer) => (text += d.toString()));
  const r = new HumanRenderer(out as unknown as NodeJS.WriteStream, err as unknown as NodeJS.WriteStream);
  const names = hostileNames.map(([, v]) => v);
  r.onEvent({ type: 'dataset', root: '/d', rule: {}, classes: names.slice(0, 4), counts: [], trainCount: 1, validCount: 1, skipped: names.map((file) => ({ file, reason: 'bad\u001b[2J' })) } as never);
  r.onEvent({ type: 'log', level: 'warn', message: names[0] } as never);
  r.result(`${names[4]}\tclass`);
  r.close();
  assert.ok(!CONTROL.test(text), JSON.stringify(text));
  assert.ok(!/^image-trainer: error: fake/m.test(text), 'a file name faked an error line');
  assert.equal(escapeTerminalLines('a\nb\u001b'), 'a\nb\\x1b');
});

const catastrophic = ['/(a+)+$', '(a|a)+$', '(\\w+\\s?)*$', '(.*a){12}x$'];

for (const pattern of catastrophic) {
  test(`label regex: the catastrophic pattern ${pattern} errors with the pattern named instead of hanging`, async () => {
    const root = path.join(TMP, `ds-${catastrophic.indexOf(pattern)}`);
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, `${'a'.repeat(40)}!.jpg`), 'x');
    const t0 = Date.now();
    await assert.rejects(fromNameRe(root, `(${pattern})`), (e: Error & { fix?: string }) => {
      assert.match(e.message, /took more than .* s to match/);
      assert.ok(e.message.includes(pattern), e.message);
      assert.ok(e.fix);
      return true;
    });
    assert.ok(Date.now() - t0 < 30_000);
  });
}

test('label regex: the cleaner matches with the same budget (a planted rule cannot freeze relabel)', async () => {
  const root = path.join(TMP, 'ds-cleaner');
  fs.mkdirSync(root, { recursive: true });
  const f = path.join(root, `${'a'.repeat(40)}!.jpg`);
  fs.writeFileSync(f, 'x');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: '((a+)+)$' }, useOsTrash: false });
  assert.throws(() => cleaner.labelOf(f), /took more than/);
});

test('label regex: ordinary patterns keep their labels and spans', () => {
  const m = matchLabels(/\/([^/]+)_\d+\.jpg$/, ['/x/german_shepherd_12.jpg', '/x/nope.png']);
  assert.deepEqual(m[0], { label: 'german_shepherd', span: [3, 18] });
  assert.equal(m[1], null);
});

test('terminal escaping: `export` errors naming a hostile folder print it as visible escapes', () => {
  const dir = path.join(TMP, 'x\u001b]0;pwned\u0007\rimage-trainer: error: fake');
  fs.mkdirSync(dir, { recursive: true });
  const main = path.join(__dirname, '../../src/trainer/cli/main.js');
  const r = spawnSync(process.execPath, [main, 'export', '--model', dir, '--format', 'onnx'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^image-trainer: error: .*x\\x1b\]0;pwned\\x07/);
  assert.ok(!CONTROL.test(r.stderr.replace(/\n$/, '')), JSON.stringify(r.stderr));
  assert.equal(r.stderr.trim().split('\n').length, 1, 'the CR in the name did not start a fake line');
});
