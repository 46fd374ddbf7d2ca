// `kubectl exec` over WebSocket: the remote command subprotocol kubectl 1.30+
// speaks by default (v5.channel.k8s.io; v4.channel.k8s.io accepted too).
// Every binary message starts with a channel byte: 0 stdin, 1 stdout,
// 2 stderr, 3 error (one metav1.Status saying how the command ended), 4
// terminal resize. v5 adds the close signal, [255, channel]: the client has
// closed its side of that channel (stdin at EOF). The session ends with the
// Status on channel 3 and a normal WebSocket close, after which the client
// reads every stream to EOF.

import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';
/** In the server's order of preference; the client's order decides among them. */
export const EXEC_PROTOCOLS: readonly string[] = [STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4];

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
/** v5: [255, channel] closes the sender's side of that channel. */
const CLOSE_SIGNAL = 255;

/** PodExecOptions, as the query of `pods/{name}/exec` carries them. */
export interface ExecOptions {
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * What the command sees: the same shape as a pod process's IO, so the
 * runtime can hand it straight to the program it starts.
 */
export interface ExecStreams {
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
  /** Present when the client asked for stdin; ends when the client closes it. */
  stdin?: AsyncIterable<Uint8Array>;
  /** Aborted when the client goes away: the command must stop. */
  signal: AbortSignal;
  tty?: boolean;
}

/** How an exec ended: the command's exit code, or an error that kept it from running (reported as an InternalError). */
export type ExecOutcome = { exitCode: number } | { error: string };

/**
 * Query parameters as the apiserver converts them into a bool: absent,
 * "0" and "false" are false, anything else (even empty) is true.
 */
function queryBool(q: URLSearchParams, name: string, absent: boolean): boolean {
  const v = q.get(name);
  if (v === null) return absent;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** The exec options of a request; stdout and stderr default to true, as PodExecOptions defaults them. */
export function parseExecOptions(q: URLSearchParams): ExecOptions {
  const container = q.get('container');
  const tty = queryBool(q, 'tty', false);
  return {
    command: q.getAll('command'),
    ...(container ? { container } : {}),
    stdin: queryBool(q, 'stdin', false),
    stdout: queryBool(q, 'stdout', true),
    // A terminal merges stderr into stdout: the kubelet drops the stderr stream with tty.
    stderr: queryBool(q, 'stderr', true) && !tty,
    tty,
  };
}

/** The subprotocol to answer with: the first the client offers that is served, or undefined. */
export function chooseProtocol(req: IncomingMessage): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return offered.find((p) => EXEC_PROTOCOLS.includes(p));
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** Answer an upgrade request with a plain HTTP response (an API Status, or text) and close the connection. */
export function rejectUpgrade(socket: Duplex, code: number, body: object | string): void {
  if (socket.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\n` +
      `Content-Type: ${type}\r\nCache-Control: no-cache, private\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n` +
      text,
  );
}

// ---- the error channel's Status ----------------------------------------------------------

/** metav1.Status as Go marshals it onto the error channel (no kind or apiVersion, empty fields left out). */
export function successStatus(): object {
  return { metadata: {}, status: 'Success' };
}

/** A non-zero exit: kubectl prints "command terminated with exit code N" and exits N. */
export function exitCodeStatus(code: number): object {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: command terminated with exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** An error between the apiserver and the container: kubectl prints "error: <message>" and exits 1. */
export function internalErrorStatus(why: string): object {
  return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${why}`, reason: 'InternalError', details: { causes: [{ message: why }] }, code: 500 };
}

/** A 64-hex exec ID, as containerd names an exec process in its errors. */
export function execId(): string {
  return randomBytes(32).toString('hex');
}

// ---- the session --------------------------------------------------------------------------

/** How long after the handshake the command starts (see runSession). */
const STREAMS_SETUP_GRACE_MS = 10;

/** Unread stdin above which the connection stops being read (TCP pushes back on the client), and below which it resumes. */
const STDIN_HIGH_WATER = 1024 * 1024;
const STDIN_LOW_WATER = 256 * 1024;

/** Bytes arriving on one channel, read as an async iterable; ends at the close signal or when the connection goes. */
class InboundStream implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private queued = 0;
  private full = false;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly onFull: () => void,
    private readonly onDrained: () => void,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (!this.full && this.queued > STDIN_HIGH_WATER) {
      this.full = true;
      this.onFull();
    }
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.chunks.shift();
      if (next) {
        this.queued -= next.length;
        if (this.full && this.queued < STDIN_LOW_WATER) {
          this.full = false;
          this.onDrained();
        }
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** Handshakes only: each accepted connection is handed to its session, which tracks it. */
const handshakes = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  handleProtocols: (_offered, req) => chooseProtocol(req) ?? false,
});

export interface ExecSession {
  /** End the session now (the server is closing): the command is stopped and the connection dropped. */
  terminate(): void;
  /** Settles when the command has ended and the connection is done with. */
  done: Promise<void>;
}

/**
 * Complete the WebSocket handshake and run the command: `run` gets the
 * streams and resolves to how the command ended. The caller has checked the
 * request (pod, container, options, and that chooseProtocol() finds one).
 */
export function acceptExec(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: ExecOptions,
  run: (io: ExecStreams) => Promise<ExecOutcome>,
): ExecSession {
  let ws: WebSocket | undefined;
  const abort = new AbortController();
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  // The handshake only accepts GET; the apiserver serves exec on POST as well.
  if (req.method === 'POST') req.method = 'GET';
  // A handshake ws refuses never reaches the callback; the socket closing ends the session then.
  socket.once('close', () => {
    if (!ws) settle();
  });
  handshakes.handleUpgrade(req, socket, head, (conn) => {
    ws = conn;
    runSession(conn, conn.protocol, opts, abort, run).finally(settle);
  });
  return {
    done,
    terminate() {
      abort.abort('SIGTERM');
      if (ws) ws.terminate();
      else socket.destroy();
      settle();
    },
  };
}

async function runSession(ws: WebSocket, protocol: string, opts: ExecOptions, abort: AbortController, run: (io: ExecStreams) => Promise<ExecOutcome>): Promise<void> {
  let open = true;
  const stdin = opts.stdin
    ? new InboundStream(
        () => ws.pause(),
        () => ws.resume(),
      )
    : undefined;
  const send = (channel: number, chunk: string | Uint8Array): void => {
    if (!open) return;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = channel;
    frame.set(data, 1);
    ws.send(frame, { binary: true });
  };

  ws.on('message', (raw: RawData, isBinary: boolean) => {
    if (!isBinary) return;
    const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (data.length === 0) return;
    const channel = data[0];
    if (channel === CHANNEL.stdin) stdin?.push(new Uint8Array(data.subarray(1)));
    else if (channel === CLOSE_SIGNAL && protocol === STREAM_PROTOCOL_V5 && data[1] === CHANNEL.stdin) stdin?.end();
    // Resize (channel 4): podpath's programs draw no terminal, so sizes change nothing.
  });
  ws.on('close', () => {
    open = false;
    stdin?.end();
    // The client went away: stop the command, as nobody reads its output any more.
    if (!abort.signal.aborted) abort.abort('SIGTERM');
  });
  ws.on('error', () => undefined);

  // kubectl starts reading the connection before it has set up its streams and
  // drops (with an "Unknown stream id" error line) whatever arrives in between.
  // A container runtime takes this long to start an exec anyway; podpath's
  // programs would otherwise answer within the window.
  await new Promise((resolve) => setTimeout(resolve, STREAMS_SETUP_GRACE_MS));
  if (!open) return;
  // An empty message on the lowest writable channel tells the client the streams are up.
  send(opts.stdout ? CHANNEL.stdout : opts.stderr ? CHANNEL.stderr : CHANNEL.error, new Uint8Array(0));

  const io: ExecStreams = {
    stdout: (c) => {
      if (opts.stdout) send(CHANNEL.stdout, c);
    },
    // With a terminal, stderr is the same terminal as stdout.
    stderr: (c) => {
      if (opts.stderr) send(CHANNEL.stderr, c);
      else if (opts.tty && opts.stdout) send(CHANNEL.stdout, c);
    },
    signal: abort.signal,
    ...(stdin ? { stdin } : {}),
    ...(opts.tty ? { tty: true } : {}),
  };
  let status: object;
  try {
    const outcome = await run(io);
    if ('error' in outcome) status = internalErrorStatus(outcome.error);
    else status = outcome.exitCode === 0 ? successStatus() : exitCodeStatus(outcome.exitCode & 0xff);
  } catch (err) {
    status = internalErrorStatus(err instanceof Error ? err.message : String(err));
  }
  // Unread stdin is dropped; a connection paused on it must read again to see the client's close.
  stdin?.end();
  if (ws.isPaused) ws.resume();
  if (!open) return;
  send(CHANNEL.error, JSON.stringify(status));
  open = false;
  // A normal close: the client reads each stream to EOF, then the error channel's Status.
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}
