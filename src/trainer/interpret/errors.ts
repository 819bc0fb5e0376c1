// Errors interpretation and the cleaner report to a person: what went wrong, the file at fault and
// what to do. Same shape as the service's TrainerError ({message, file?, fix?}), so it travels the
// same way over the CLI and the child-process protocol.
import { ActionableError } from '../errors';

export class InterpretError extends ActionableError {
  override readonly name = 'InterpretError';
}
