// Worker-thread entry: runs decode + augmentation jobs for the loader's pool (see pool.ts).
import { parentPort } from 'worker_threads';
import { runJob, type Job } from './job';

if (!parentPort) throw new Error('worker.js is a worker_threads entry; it is started by the data loader');
const port = parentPort;
port.on('message', (msg: { id: number; job: Job }) => {
  runJob(msg.job).then(
    (failures) => port.postMessage({ id: msg.id, failures }),
    (e: Error) => port.postMessage({ id: msg.id, error: e.message }),
  );
});
