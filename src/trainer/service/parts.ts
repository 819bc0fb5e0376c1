// The trainer parts the session drives (data pipeline, backend, models, learner, interpretation),
// loaded on first use so that `image-trainer --help` and argument errors never pay for tfjs.
// Literal require() calls, so a bundler sees every part.
export const parts = {
  data: (): typeof import('../data') => require('../data'),
  backend: (): typeof import('../backend') => require('../backend'),
  doctor: (): typeof import('../backend/doctor') => require('../backend/doctor'),
  models: (): typeof import('../models') => require('../models'),
  learner: (): typeof import('../learner') => require('../learner'),
  interpret: (): typeof import('../interpret') => require('../interpret'),
  exporter: (): typeof import('../export') => require('../export'),
};
