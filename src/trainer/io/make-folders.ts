// mkdir -p that always ends: Node's own recursive mkdir (sync and async) retries forever where a
// parent exists but refuses new children with ENOENT (/proc: `--out /proc/x/y` hung the CLI), so
// each missing folder is made once, from the top down, and any refusal is an error.
import * as fs from 'fs';
import * as path from 'path';

export function makeFoldersSync(dir: string): void {
  const missing: string[] = [];
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    const st = fs.statSync(cur, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw notAFolder(cur);
      break;
    }
    missing.push(cur);
    if (path.dirname(cur) === cur) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another process made it meanwhile (fine), or it is a dangling symlink or a file: not a folder.
      if (!fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) throw notAFolder(d);
    }
  }
}

function notAFolder(p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: ${p} is not a folder`), { code: 'ENOTDIR' });
}

export async function makeFolders(dir: string): Promise<void> {
  makeFoldersSync(dir);
}
