// The trainer parts the session drives (data pipeline, backend, models, learner, interpretation),
// loaded on first use so that `image-trainer --help` and argument errors never pay for tfjs.
// A part that is not installed yet gives a clear 'not available' error instead of a crash.
import { TrainerError } from './errors';

function load<T>(what: string, modulePath: string): T {
  try {
    return require(modulePath) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(modulePath.replace(/^\.\.?\//, ''))) {
      throw new TrainerError(`The ${what} is not available yet in this build`, {
        fix: 'Rebuild with `npm run build` once src/trainer/' + modulePath.replace(/^\.\.\//, '') + ' exists',
      });
    }
    throw err;
  }
}

export const parts = {
  data: () => load<any>('data pipeline', '../data'),
  backend: () => load<any>('backend selection', '../backend'),
  models: () => load<any>('model library', '../models'),
  learner: () => load<any>('learner', '../learner'),
  interpret: () => load<any>('interpretation', '../interpret'),
};
