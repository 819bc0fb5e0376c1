/**
 * The one error the data pipeline throws for bad input: what went wrong, which file or folder
 * it is about, and what the user can do about it. The CLI and the extension show all three.
 */
export class DataError extends Error {
  readonly file?: string;
  readonly fix: string;

  constructor(message: string, opts: { file?: string; fix: string }) {
    super(message);
    this.name = 'DataError';
    this.file = opts.file;
    this.fix = opts.fix;
  }

  /** One line for a terminal: cause, file, fix. */
  describe(): string {
    return `${this.message}${this.file ? ` (${this.file})` : ''}. Fix: ${this.fix}`;
  }
}

export function isDataError(e: unknown): e is DataError {
  return e instanceof DataError;
}
