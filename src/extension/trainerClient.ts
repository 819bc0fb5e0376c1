// Owns the trainer child process: started with child_process.fork on first need, spoken to through
// the validated envelopes of src/protocol/requests.ts. Plain Node (no `vscode` import) so it is
// unit-tested against a real child; the VS Code side (notifications, Restart) wraps it.
import { fork, ChildProcess } from 'child_process';
import { EventEmitter } from 'events';
import { RequestParams, RequestResults, TrainerToHost, type Method, type ParamsOf, type ResultOf } from '../protocol/requests';
import { TrainerEvent } from '../protocol/events';

export interface TrainerClientOptions {
  /** Absolute path of the child entry (dist/trainer/child.js in the package, out/src/trainer/child.js in tests). */
  modulePath: string;
  cwd?: string;
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Node flags for the child (default none). */
  execArgv?: string[];
  /** One line of the trainer's log (stdout/stderr lines and `log` events). */
  log?: (line: string) => void;
  /** How long dispose() waits for a clean shutdown before SIGKILL. */
  shutdownGraceMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (dispose/restart); false means it crashed or exited on its own. */
  expected: boolean;
  /** Human-readable reason including the last stderr lines, for the crash notification. */
  reason: string;
  pid: number | undefined;
}

/** A request the trainer answered with ok:false; carries the file and fix when the trainer named them. */
export class TrainerRequestError extends Error {
  constructor(
    readonly method: string,
    message: string,
    readonly file?: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'TrainerRequestError';
  }
}

export class TrainerExitedError extends Error {
  constructor(readonly method: string, readonly exit: ExitInfo) {
    super(`the trainer process ended while '${method}' was running: ${exit.reason}`);
    this.name = 'TrainerExitedError';
  }
}

interface Pending {
  method: Method;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

const STDERR_TAIL_LINES = 15;

export class TrainerClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly emitter = new EventEmitter();
  private stopping = false;
  private stderrTail: string[] = [];
  private exitPromise: Promise<ExitInfo> | undefined;

  constructor(private readonly options: TrainerClientOptions) {
    this.emitter.setMaxListeners(50);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Every valid event from the trainer, unthrottled, in order. */
  onEvent(listener: (event: TrainerEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  onExit(listener: (info: ExitInfo) => void): () => void {
    this.emitter.on('exit', listener);
    return () => this.emitter.off('exit', listener);
  }

  /** Starts the child if it is not running. Idempotent. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.stderrTail = [];
    const child = fork(this.options.modulePath, this.options.args ?? [], {
      cwd: this.options.cwd,
      env: { ...process.env, ...this.options.env },
      // pipe stdout/stderr so they reach the output channel instead of the extension host's console
      silent: true,
      // not the extension host's flags: under a debugger they carry --inspect-brk, which would
      // make the trainer wait for a debugger (or fight over the inspector port)
      execArgv: this.options.execArgv ?? [],
      serialization: 'json',
    });
    this.child = child;
    this.log(`trainer started (pid ${child.pid}): ${this.options.modulePath}`);
    forwardLines(child.stdout, (line) => this.log(line));
    forwardLines(child.stderr, (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      this.log(line);
    });
    child.on('message', (msg) => this.receive(msg));
    child.on('error', (err) => this.log(`trainer process error: ${err.message}`));
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const info: ExitInfo = { code, signal, expected: this.stopping, reason: this.describeExit(code, signal), pid: child.pid };
        if (this.child === child) this.child = undefined;
        this.log(`trainer exited (pid ${child.pid}): ${info.reason}`);
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(new TrainerExitedError(p.method, info));
        }
        this.emitter.emit('exit', info);
        resolve(info);
      });
    });
  }

  /** Sends one request and resolves with its result (params and result validated; rejects on ok:false or exit). */
  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const schema = RequestParams[method];
    if (!schema) return Promise.reject(new Error(`unknown trainer method '${String(method)}'`));
    const parsed = schema.safeParse(params);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
      return Promise.reject(new TrainerRequestError(method, `invalid parameters for '${method}': ${issues}`));
    }
    this.start();
    const child = this.child;
    if (!child) return Promise.reject(new Error('the trainer process could not be started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      child.send({ kind: 'request', id, method, params: parsed.data }, (err) => {
        if (err && this.pending.delete(id)) reject(new Error(`could not send '${method}' to the trainer: ${err.message}`));
      });
    });
  }

  /** Stops the child: a polite `shutdown` request, then SIGKILL after the grace period. */
  async dispose(): Promise<ExitInfo | undefined> {
    const child = this.child;
    if (!child || !this.running) return undefined;
    this.stopping = true;
    const exited = this.exitPromise!;
    if (child.connected) {
      const id = this.nextId++;
      this.pending.set(id, { method: 'shutdown', resolve: () => undefined, reject: () => undefined });
      child.send({ kind: 'request', id, method: 'shutdown', params: {} }, () => {});
    }
    const grace = this.options.shutdownGraceMs ?? 2000;
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        this.log(`trainer did not exit within ${grace} ms; killing pid ${child.pid}`);
        child.kill('SIGKILL');
      }
    }, grace);
    const info = await exited;
    clearTimeout(timer);
    return info;
  }

  /** Synchronous last resort for process exit paths: never leaves an orphan. */
  killNow(): void {
    if (this.child && this.running) {
      this.stopping = true;
      this.child.kill('SIGKILL');
    }
  }

  private receive(raw: unknown): void {
    const parsed = TrainerToHost.safeParse(raw);
    if (!parsed.success) {
      const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
      this.log(`[error] ignored a malformed message from the trainer (${where}): ${preview(raw)}`);
      // If it still names a request id, fail that request instead of leaving it hanging.
      const id = (raw as { kind?: unknown; id?: unknown } | null)?.kind === 'response' ? (raw as { id?: unknown }).id : undefined;
      if (typeof id === 'number' && this.pending.has(id)) {
        const p = this.pending.get(id)!;
        this.pending.delete(id);
        p.reject(new TrainerRequestError(p.method, `the trainer sent a malformed response to '${p.method}': ${where}`));
      }
      return;
    }
    const msg = parsed.data;
    if (msg.kind === 'event') {
      if (msg.event.type === 'log') this.log(`[${msg.event.level}] ${msg.event.message}`);
      this.emitter.emit('event', msg.event);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      this.log(`[warn] response for unknown request id ${msg.id}`);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) {
      const checked = RequestResults[p.method].safeParse(msg.result);
      // The unparsed result: a field the trainer added before its schema was updated still arrives.
      if (checked.success) p.resolve(msg.result);
      else {
        const where = checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`).join('; ');
        this.log(`[error] the trainer's answer to '${p.method}' does not match src/protocol/requests.ts (${where}): ${preview(msg.result)}`);
        p.reject(new TrainerRequestError(p.method, `the trainer sent a malformed answer to '${p.method}': ${where}`));
      }
    } else p.reject(new TrainerRequestError(p.method, msg.error.message, msg.error.file, msg.error.fix));
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const tail = this.stderrTail.filter((l) => l.trim()).slice(-5).join(' | ');
    return tail ? `${how}; last output: ${tail}` : how;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

function forwardLines(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
    buf = '';
  });
}

function preview(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
