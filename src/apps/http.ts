// HTTP/1.1 over the pod stack: a buffered stream around TcpSocket (so no
// event is lost between a callback and the await that follows it), a client
// exchange (one request per connection; Content-Length, chunked and
// close-delimited bodies), and a small server with routes and keep-alive.

import {
  HttpHeaders,
  HttpRequestParser,
  HttpResponseParser,
  serializeRequest,
  serializeResponse,
  type HttpHeadersInit,
  type HttpRequest,
  type HttpResponse,
} from '../packet/http.js';
import { ipv4ToString } from '../packet/ip.js';
import type { NetStack, SocketError, TcpListener, TcpSocket } from '../net/stack/index.js';
import type { Clock } from '../util/clock.js';
import { abortable, concatBytes, utf8 } from './proc.js';

// ------------------------------------------------------------------ streams

/** A failed connect(): the errno, and whether connect() itself failed (a socket-LB verdict) rather than the handshake. */
export class ConnectError extends Error {
  constructor(
    readonly error: SocketError,
    readonly immediate: boolean,
    readonly localIp: number,
    readonly localPort: number,
  ) {
    super(error.message);
    this.name = 'ConnectError';
  }
}

/**
 * A TCP socket whose events are queued until read: data, FIN (read() gives
 * null) and errors (read() throws the SocketError).
 */
export class TcpStream {
  private chunks: Uint8Array[] = [];
  private eof = false;
  private failure: SocketError | undefined;
  private closedFlag = false;
  private wake: (() => void) | undefined;
  private readonly closeWaiters: (() => void)[] = [];
  bytesIn = 0;

  constructor(readonly sock: TcpSocket) {
    sock.onData = (b) => {
      this.bytesIn += b.length;
      this.chunks.push(b);
      this.notify();
    };
    sock.onEnd = () => {
      this.eof = true;
      this.notify();
    };
    sock.onClose = (err) => {
      this.closedFlag = true;
      if (err) this.failure = err;
      this.eof = true;
      this.notify();
      for (const w of this.closeWaiters.splice(0)) w();
    };
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next chunk, null at end of stream; throws the SocketError of a reset or timeout. */
  read(signal?: AbortSignal): Promise<Uint8Array | null> {
    const take = (): Uint8Array | null | undefined => {
      if (this.chunks.length > 0) return this.chunks.shift()!;
      if (this.failure) throw this.failure;
      if (this.eof) return null;
      return undefined;
    };
    const now = take();
    if (now !== undefined) return Promise.resolve(now);
    return abortable<Uint8Array | null>(signal, (resolve, reject) => {
      this.wake = () => {
        try {
          const v = take();
          if (v !== undefined) resolve(v);
        } catch (e) {
          reject(e);
        }
      };
      return () => {
        this.wake = undefined;
      };
    });
  }

  /** Resolves once the socket is closed for the app (CLOSED or TIME_WAIT). */
  whenClosed(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((r) => this.closeWaiters.push(r));
  }

  write(bytes: Uint8Array | string): boolean {
    return this.sock.write(typeof bytes === 'string' ? utf8(bytes) : bytes);
  }

  end(): void {
    this.sock.end();
  }

  close(): void {
    this.sock.close();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/**
 * connect(): resolves with the stream once the handshake completes. Rejects
 * with ConnectError, or Aborted (the half-open socket is destroyed) when the
 * signal fires first. `onSocket` sees the socket as soon as it exists (curl
 * -v prints the local port of a connect that later fails).
 */
export function connectTcp(
  stack: NetStack,
  ip: number,
  port: number,
  opts: { signal?: AbortSignal; srcPort?: number; onSocket?(sock: TcpSocket): void } = {},
): Promise<TcpStream> {
  return abortable<TcpStream>(opts.signal, (resolve, reject) => {
    const sock = stack.tcpConnect(ip, port, opts.srcPort !== undefined ? { srcPort: opts.srcPort } : {});
    // failConnect() marks the socket at once: the hook refused connect() itself.
    const immediate = sock.state === 'CLOSED' && sock.error !== undefined;
    opts.onSocket?.(sock);
    const stream = new TcpStream(sock);
    let connected = false;
    sock.onConnect = () => {
      connected = true;
      resolve(stream);
    };
    const onClose = sock.onClose;
    sock.onClose = (err) => {
      onClose(err);
      if (!connected) reject(new ConnectError(err ?? { code: 'ECONNABORTED', errno: 103, message: 'Software caused connection abort' }, immediate, sock.localIp, sock.localPort));
    };
    return () => {
      if (!connected) sock.destroy();
    };
  });
}

// ------------------------------------------------------------------ client

export type HttpClientFailure = 'reset' | 'empty' | 'truncated' | 'malformed' | 'timeout';

export class HttpClientError extends Error {
  constructor(
    readonly kind: HttpClientFailure,
    detail: string,
    /** Body bytes that had arrived (curl's "with N bytes received"). */
    readonly bodyBytes: number,
    /** Content-Length of the response when known. */
    readonly expectedBytes: number | undefined,
    readonly socketError?: SocketError,
  ) {
    super(detail);
    this.name = 'HttpClientError';
  }
}

/** What arrived so far on a response stream: lets a timeout say how many body bytes came. */
export class ResponseProgress {
  private raw: Uint8Array[] = [];
  private rawLen = 0;
  headerEnd = -1;
  contentLength: number | undefined;

  add(bytes: Uint8Array): void {
    this.raw.push(bytes);
    this.rawLen += bytes.length;
    if (this.headerEnd < 0 && this.rawLen <= 256 * 1024) this.scanHead();
  }

  get totalBytes(): number {
    return this.rawLen;
  }

  /** Bytes after the header section (chunk framing included). */
  get bodyBytes(): number {
    return this.headerEnd < 0 ? 0 : this.rawLen - this.headerEnd;
  }

  private scanHead(): void {
    const all = concatBytes(this.raw);
    this.raw = [all];
    for (let i = 3; i < all.length; i++) {
      if (all[i] === 10 && all[i - 1] === 13 && all[i - 2] === 10 && all[i - 3] === 13) {
        this.headerEnd = i + 1;
        const head = new TextDecoder('latin1').decode(all.subarray(0, i));
        const m = /^content-length:\s*(\d+)\s*$/im.exec(head);
        if (m) this.contentLength = Number(m[1]);
        return;
      }
    }
  }
}

export interface ReadResponseOptions {
  signal?: AbortSignal;
  /** Raw bytes as they arrive. */
  onBytes?(bytes: Uint8Array): void;
  progress?: ResponseProgress;
}

/**
 * Reads one response to a `method` request from the stream. Interim 1xx
 * responses are skipped. Errors: reset, empty (closed before any byte),
 * truncated (closed inside a message), malformed.
 */
export async function readHttpResponse(stream: TcpStream, method: string, opts: ReadResponseOptions = {}): Promise<HttpResponse> {
  const parser = new HttpResponseParser();
  parser.expectResponseTo(method);
  const progress = opts.progress ?? new ResponseProgress();
  for (;;) {
    let chunk: Uint8Array | null;
    try {
      chunk = await stream.read(opts.signal);
    } catch (e) {
      if (isSocketError(e)) {
        if (progress.totalBytes === 0 && e.code === 'ECONNRESET') throw new HttpClientError('reset', 'Connection reset by peer', 0, undefined, e);
        throw new HttpClientError(e.code === 'ETIMEDOUT' ? 'timeout' : 'reset', e.message, progress.bodyBytes, progress.contentLength, e);
      }
      throw e;
    }
    if (chunk === null) {
      if (progress.totalBytes === 0) throw new HttpClientError('empty', 'Empty reply from server', 0, undefined);
      const done = parser.finish();
      if (Array.isArray(done) && done.length > 0) return done[0]!;
      throw new HttpClientError('truncated', 'transfer closed', progress.bodyBytes, progress.contentLength);
    }
    progress.add(chunk);
    opts.onBytes?.(chunk);
    const msgs = parser.feed(chunk);
    if (!Array.isArray(msgs)) throw new HttpClientError('malformed', msgs.detail, progress.bodyBytes, progress.contentLength);
    const final = msgs.find((m) => m.status >= 200 || m.status === 101);
    if (final) return final;
    if (msgs.length > 0) parser.expectResponseTo(method);
  }
}

export function isSocketError(e: unknown): e is SocketError {
  return typeof e === 'object' && e !== null && 'errno' in e && 'code' in e && !(e instanceof Error);
}

export interface HttpRequestSpec {
  method?: string;
  /** Origin-form target: "/api/users?x=1". */
  path?: string;
  /** Host header value; default ip:port. */
  host?: string;
  headers?: HttpHeadersInit;
  body?: Uint8Array | string;
  signal?: AbortSignal;
}

/** One request on a fresh connection to ip:port (for probes, agnhost /dial and tests). */
export async function httpRequest(stack: NetStack, ip: number, port: number, spec: HttpRequestSpec = {}): Promise<HttpResponse> {
  const method = spec.method ?? 'GET';
  const stream = await connectTcp(stack, ip, port, { signal: spec.signal });
  try {
    const headers = new HttpHeaders(spec.headers);
    if (!headers.has('host')) headers.set('Host', spec.host ?? (port === 80 ? ipv4ToString(ip) : `${ipv4ToString(ip)}:${port}`));
    stream.write(serializeRequest({ method, target: spec.path ?? '/', headers, body: spec.body }));
    return await readHttpResponse(stream, method, { signal: spec.signal });
  } finally {
    stream.close();
  }
}

// ------------------------------------------------------------------ server

export interface RequestContext {
  remoteIp: number;
  remotePort: number;
  localIp: number;
  localPort: number;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
}

export interface HttpReply {
  status: number;
  reason?: string;
  headers?: HttpHeadersInit;
  body?: string | Uint8Array;
  /** Close the connection after this response. */
  close?: boolean;
}

export type HttpHandler = (req: HttpRequest, ctx: RequestContext) => HttpReply | Promise<HttpReply>;

interface Route {
  method: string | undefined;
  path: string | RegExp;
  handler: HttpHandler;
}

/** Routes by method and path; unknown paths get `notFound`, known paths with another method `methodNotAllowed`. */
export class Router {
  private readonly routes: Route[] = [];
  notFound: HttpHandler = () => textReply(404, '404 page not found\n');
  methodNotAllowed: HttpHandler | undefined;

  add(method: string | undefined, path: string | RegExp, handler: HttpHandler): this {
    this.routes.push({ method: method?.toUpperCase(), path, handler });
    return this;
  }

  get(path: string | RegExp, handler: HttpHandler): this {
    return this.add('GET', path, handler);
  }

  any(path: string | RegExp, handler: HttpHandler): this {
    return this.add(undefined, path, handler);
  }

  readonly handle: HttpHandler = (req, ctx) => {
    const matches = this.routes.filter((r) => (typeof r.path === 'string' ? r.path === ctx.path : r.path.test(ctx.path)));
    const method = req.method.toUpperCase();
    const hit = matches.find((r) => r.method === undefined || r.method === method || (method === 'HEAD' && r.method === 'GET'));
    if (hit) return hit.handler(req, ctx);
    if (matches.length > 0 && this.methodNotAllowed) return this.methodNotAllowed(req, ctx);
    return this.notFound(req, ctx);
  };
}

export function textReply(status: number, body: string, contentType = 'text/plain; charset=utf-8'): HttpReply {
  return { status, headers: { 'Content-Type': contentType }, body };
}

export function jsonReply(status: number, value: unknown, pretty = false): HttpReply {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value, null, pretty ? 2 : undefined) + '\n' };
}

export interface HttpServerOptions {
  /** Server header value; none when omitted. */
  serverHeader?: string;
  /** Add a Date header (Go's net/http and nginx do). Default true. */
  date?: boolean;
  keepAlive?: boolean;
  /** Called per request, for access logs. */
  onRequest?(req: HttpRequest, ctx: RequestContext, status: number): void;
}

/** An HTTP/1.1 server on one port of a pod stack. */
export class HttpServer {
  private readonly listener: TcpListener;
  private readonly conns = new Set<TcpStream>();

  constructor(
    stack: NetStack,
    readonly port: number,
    private readonly handler: HttpHandler,
    private readonly clock: Clock,
    private readonly opts: HttpServerOptions = {},
  ) {
    this.listener = stack.tcpListen(port, (sock) => this.accept(sock));
  }

  close(): void {
    this.listener.close();
    for (const c of this.conns) c.close();
    this.conns.clear();
  }

  private accept(sock: TcpSocket): void {
    const stream = new TcpStream(sock);
    this.conns.add(stream);
    void this.serve(stream).finally(() => this.conns.delete(stream));
  }

  private async serve(stream: TcpStream): Promise<void> {
    const parser = new HttpRequestParser();
    const sock = stream.sock;
    const ctxBase = { remoteIp: sock.remoteIp, remotePort: sock.remotePort, localIp: sock.localIp, localPort: sock.localPort };
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await stream.read();
      } catch {
        return; // reset by the client
      }
      if (chunk === null) {
        stream.close();
        return;
      }
      const reqs = parser.feed(chunk);
      if (!Array.isArray(reqs)) {
        stream.write(serializeResponse({ status: reqs.status, headers: { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }, body: `${reqs.status} ${reqs.detail}\n` }));
        stream.close();
        return;
      }
      for (const req of reqs) {
        const keep = await this.respond(stream, req, ctxBase);
        if (!keep) {
          stream.close();
          return;
        }
      }
    }
  }

  /** Answers one request; false when the connection must close. */
  private async respond(stream: TcpStream, req: HttpRequest, base: Omit<RequestContext, 'path' | 'query'>): Promise<boolean> {
    const qAt = req.target.indexOf('?');
    const rawPath = qAt < 0 ? req.target : req.target.slice(0, qAt);
    let path = rawPath;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      path = rawPath;
    }
    const ctx: RequestContext = { ...base, path, query: new URLSearchParams(qAt < 0 ? '' : req.target.slice(qAt + 1)) };
    let reply: HttpReply;
    try {
      reply = await this.handler(req, ctx);
    } catch {
      reply = textReply(500, 'Internal Server Error\n');
    }
    const headers = new HttpHeaders(reply.headers);
    if (this.opts.serverHeader && !headers.has('server')) headers.set('Server', this.opts.serverHeader);
    if (this.opts.date !== false && !headers.has('date')) headers.set('Date', httpDate(this.clock.wallNow()));
    const keep = (this.opts.keepAlive ?? true) && req.keepAlive && !reply.close;
    if (!keep) headers.set('Connection', 'close');
    this.opts.onRequest?.(req, ctx, reply.status);
    stream.write(serializeResponse({ status: reply.status, reason: reply.reason, headers, body: reply.body }, { headRequest: req.method.toUpperCase() === 'HEAD' }));
    return keep && !stream.closed;
  }
}

/** IMF-fixdate, as in a Date header: "Thu, 01 Jan 2026 00:00:00 GMT". */
export function httpDate(wallMs: number): string {
  return new Date(wallMs).toUTCString();
}
