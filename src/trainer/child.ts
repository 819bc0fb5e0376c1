// The trainer child process (started by the extension with child_process.fork). Reads
// RequestEnvelopes from Node IPC, runs them on one TrainerSession, answers with ResponseEnvelopes
// and forwards the session's events as EventEnvelopes. Requests run concurrently so that `stop`
// reaches a running fit; the session refuses a second long job. A malformed message gets an error
// event (and an error response when it has an id); it never takes the process down.
import { RequestEnvelope, type ResponseEnvelope, type TrainerToHost } from '../protocol/requests';
import type { TrainerEvent } from '../protocol/events';
import { TrainerSession } from './session';
import { toErrorInfo } from './service/errors';

/** Resolves once Node has handed the message to the channel (so exiting right after loses nothing). */
function send(message: TrainerToHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    try {
      process.send(message, undefined, {}, () => resolve());
    } catch {
      // The parent went away between the check and the send; 'disconnect' ends the process.
      resolve();
    }
  });
}

function sendEvent(event: TrainerEvent): void {
  void send({ kind: 'event', event });
}

let exiting = false;
async function exit(session: TrainerSession, code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  // A stuck shutdown must not keep an orphan alive.
  setTimeout(() => process.exit(code), 15_000).unref();
  process.exitCode = code; // also when the shutdown's last handle closes before it returns
  try {
    await session.shutdown({});
  } catch {
    // shutting down anyway
  }
  if (process.connected) process.disconnect();
  process.exit(code);
}

async function handle(session: TrainerSession, raw: unknown): Promise<void> {
  const envelope = RequestEnvelope.safeParse(raw);
  if (!envelope.success) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : undefined;
    const message = `Malformed request: ${envelope.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`;
    const fix = 'Send {kind: "request", id: <integer>, method, params} as in src/protocol/requests.ts';
    sendEvent({ type: 'error', message, fix });
    if (id !== undefined && Number.isInteger(id)) void send({ kind: 'response', id, ok: false, error: { message, fix } });
    return;
  }
  const { id, method, params } = envelope.data;
  let response: ResponseEnvelope;
  try {
    const result = await session.dispatch(method, params);
    response = { kind: 'response', id, ok: true, result: result ?? null };
  } catch (err) {
    response = { kind: 'response', id, ok: false, error: toErrorInfo(err) };
  }
  await send(response);
  if (method === 'shutdown' && response.ok) await exit(session, 0);
}

export function runChild(): void {
  if (!process.send) {
    process.stderr.write('image-trainer child: start this file with child_process.fork (it talks over Node IPC)\n');
    process.exit(2);
  }
  const session = new TrainerSession({ onEvent: sendEvent, runLockHolder: 'Image Trainer (VS Code)' });
  process.on('message', (raw) => {
    handle(session, raw).catch((err) => sendEvent({ type: 'error', ...toErrorInfo(err) }));
  });
  // Parent died or closed the channel: no orphan.
  process.on('disconnect', () => void exit(session, 0));
  process.on('SIGTERM', () => void exit(session, 0));
  process.on('uncaughtException', (err) => {
    sendEvent({ type: 'error', ...toErrorInfo(err) });
  });
  process.on('unhandledRejection', (err) => {
    sendEvent({ type: 'error', ...toErrorInfo(err) });
  });
}

if (require.main === module) runChild();
