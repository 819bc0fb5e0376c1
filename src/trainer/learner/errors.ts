import { ActionableError } from '../errors';

// An error a person can act on from training, saving, loading or exporting.
export class LearnerError extends ActionableError {
  override readonly name = 'LearnerError';
}
