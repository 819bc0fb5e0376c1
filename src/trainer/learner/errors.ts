// An error a person can act on: what went wrong, the file at fault, and the fix.
export class LearnerError extends Error {
  readonly file?: string;
  readonly fix?: string;
  constructor(message: string, opts: { file?: string; fix?: string } = {}) {
    super(message);
    this.name = 'LearnerError';
    if (opts.file !== undefined) this.file = opts.file;
    if (opts.fix !== undefined) this.fix = opts.fix;
  }
}
