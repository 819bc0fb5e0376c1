// The CLI's one way to report an error: `image-trainer: error: <message>. Fix: <fix>` on stderr.
import { formatErrorLine, toErrorInfo } from '../service/errors';
import { escapeTerminal } from './escape';

export function writeCliError(err: unknown, verbose = false): void {
  process.stderr.write(`image-trainer: error: ${escapeTerminal(formatErrorLine(toErrorInfo(err)))}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}
