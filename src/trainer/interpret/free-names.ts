// Names the cleaner may give a moved or renamed file without overwriting one that exists.
import * as path from 'path';

/** 'a/b/x.jpg', 2 → 'a/b/x_2.jpg' */
export function withSuffix(p: string, k: number): string {
  const ext = path.extname(p);
  return `${p.slice(0, p.length - ext.length)}_${k}${ext}`;
}

/**
 * Names to try for a renamed file, the plain rename first. Then, so the name still fits patterns
 * like `name_123.jpg`, the last digit run after the label counts up (keeping zero padding); then
 * suffixes before the extension.
 */
export function* freeNameCandidates(name: string, labelEnd: number): Generator<string> {
  yield name;
  const tail = name.slice(labelEnd);
  const runs = [...tail.matchAll(/\d+/g)];
  const last = runs[runs.length - 1];
  if (last?.index !== undefined) {
    const at = labelEnd + last.index;
    const width = last[0].length;
    const n = Number(last[0]);
    for (let k = 1; k <= 100000; k++) yield name.slice(0, at) + String(n + k).padStart(width, '0') + name.slice(at + width);
  }
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let k = 1; k <= 1000; k++) {
    yield `${stem}_${k}${ext}`;
    yield `${stem}-${k}${ext}`;
    yield `${stem} (${k})${ext}`;
  }
}

