// The trainer parts the session drives (data pipeline, backend, models, learner, interpretation),
// loaded on first use so that `image-trainer --help` and argument errors never pay for tfjs.
// A part missing from the build gives a clear error instead of a crash.
import { TrainerError } from './errors';

function load<T>(what: string, modulePath: string): T {
  try {
    return require(modulePath) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${modulePath}'`)) {
      throw new TrainerError(`The ${what} is not available in this build`, {
        fix: `Rebuild with \`npm run build\` (src/trainer/${modulePath.replace(/^\.\.\//, '')} must exist)`,
      });
    }
    throw err;
  }
}

export const parts = {
  data: () => load<typeof import('../data')>('data pipeline', '../data'),
  backend: () => load<typeof import('../backend')>('backend selection', '../backend'),
  models: () => load<typeof import('../models')>('model library', '../models'),
  learner: () => load<typeof import('../learner')>('learner', '../learner'),
  interpret: () => load<typeof import('../interpret')>('interpretation', '../interpret'),
};
