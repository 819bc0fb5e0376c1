import { readImageSize } from './decode';
import type { SkippedFile } from './types';

/**
 * Reads each file's header with sharp.metadata() (no pixel decode; BMP is decoded whole) and returns the files that
 * are not images sharp can open, with its reason. Truncated files with a valid header pass here
 * and are caught when decoded (see decode.ts).
 */
export async function prescanImages(files: string[], concurrency = 8): Promise<SkippedFile[]> {
  const bad: SkippedFile[] = [];
  let next = 0;
  const work = async () => {
    while (next < files.length) {
      const file = files[next++];
      try {
        const meta = await readImageSize(file);
        if (!meta.width || !meta.height) bad.push({ file, reason: 'image has no width/height' });
      } catch (e) {
        bad.push({ file, reason: `not a readable image: ${(e as Error).message}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, work));
  return bad.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
