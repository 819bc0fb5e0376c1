// Errors interpretation and the cleaner report to a person: what went wrong, the file at fault and
// what to do. Same shape as the service's TrainerError ({message, file?, fix?}), so it travels the
// same way over the CLI and the child-process protocol.

export class InterpretError extends Error {
  readonly file?: string;
  readonly fix?: string;
  constructor(message: string, opts: { file?: string; fix?: string } = {}) {
    super(message);
    this.name = 'InterpretError';
    if (opts.file !== undefined) this.file = opts.file;
    if (opts.fix !== undefined) this.fix = opts.fix;
  }
}
