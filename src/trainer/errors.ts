// An error a person can act on: what went wrong, the file at fault (when there is one) and what to
// do about it. Each area throws its own subclass (DataError, LearnerError, ...) so err.name says where
// it came from (each sets its name explicitly: class names do not survive minifying); the shape {message, file?, fix?} is what the CLI and the child-process protocol carry.

export interface ActionableErrorOptions {
  file?: string;
  fix?: string;
}

export class ActionableError extends Error {
  readonly file?: string;
  readonly fix?: string;

  constructor(message: string, opts: ActionableErrorOptions = {}) {
    super(message);
    this.name = 'ActionableError';
    if (opts.file !== undefined) this.file = opts.file;
    if (opts.fix !== undefined) this.fix = opts.fix;
  }
}
