import { ActionableError } from '../errors';

/**
 * The one error the data pipeline throws for bad input: what went wrong, which file or folder
 * it is about, and what the user can do about it. The CLI and the extension show all three.
 */
export class DataError extends ActionableError {
  override readonly name = 'DataError';
  declare readonly fix: string;

  constructor(message: string, opts: { file?: string; fix: string }) {
    super(message, opts);
  }

  /** One line for a terminal: cause, file, fix. */
  describe(): string {
    return `${this.message}${this.file ? ` (${this.file})` : ''}. Fix: ${this.fix}`;
  }
}

export function isDataError(e: unknown): e is DataError {
  return e instanceof DataError;
}
