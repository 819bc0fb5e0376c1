// Errors the trainer reports to a person: a message, the file at fault (when there is one) and
// what to do about it. The data pipeline's DataError has the same shape, so both travel the same way.
import type { z } from 'zod';
import type { ErrorInfo } from '../../protocol/requests';
import { ActionableError } from '../errors';

export type ErrorDetails = z.infer<typeof ErrorInfo>;

export class TrainerError extends ActionableError {
  override readonly name = 'TrainerError';
}

/** Anything thrown → {message, file?, fix?}; duck-typed so DataError and friends keep their file and fix. */
export function toErrorInfo(err: unknown): ErrorDetails {
  if (err instanceof Error) {
    const e = err as Error & { file?: unknown; fix?: unknown };
    const info: ErrorDetails = { message: e.message || e.name };
    if (typeof e.file === 'string') info.file = e.file;
    if (typeof e.fix === 'string') info.fix = e.fix;
    return info;
  }
  return { message: typeof err === 'string' ? err : JSON.stringify(err) };
}

/** One line for a terminal, as DataError.describe(): "message (file). Fix: fix". */
export function formatErrorLine(info: ErrorDetails): string {
  let line = info.message.replace(/\s*\n\s*/g, ' ').trim();
  if (info.file && !line.includes(info.file)) line += ` (${info.file})`;
  // Some errors already spell the fix out in their message.
  if (info.fix && !line.includes(info.fix.trim())) line += `. Fix: ${info.fix.replace(/\s*\n\s*/g, ' ').trim()}`;
  return line;
}
