// The daemon's socket: the Kubernetes API (the apiserver's handler) and
// podpath's own routes (/podpath/v1/...: status, exec, shutdown) on one
// private unix socket (0600 inside a 0700 folder): only the owner connects.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ApiServer } from '../k8s/apiserver.js';
import { dialPod, type PodConnection, type PodPortForwarder } from '../k8s/portforward.js';
import type { ProcessIO } from '../apps/types.js';
import { CT_PATH_PREFIX, encodeFrame, EXEC_PATH, PORTFORWARD_ERROR_TRAILER, PORTFORWARD_PATH, parseExecTarget, SHUTDOWN_PATH, STATUS_PATH, type DaemonStatus, type ExecRequest, type ExecTarget } from './exec-protocol.js';
import type { ClockDriver } from './clock-driver.js';
import { HUBBLE_ROUTE_PREFIX, serveHubble, type HubbleService } from '../hubble/http.js';
import { TRACE_PATH, WHATIF_PATH } from '../trace/api.js';
import { readTextBody, sendJson } from '../util/http.js';

/** What the daemon needs from the cluster it serves. */
export interface DaemonRuntime {
  /** The Kubernetes API (served for every path outside /podpath/; it owns the socket). */
  api: ApiServer;
  exec(target: ExecTarget, argv: string[], io: ProcessIO): Promise<number>;
  status(): Omit<DaemonStatus, 'pid' | 'clock' | 'uptimeMs' | 'name'>;
  /** Called after each exec settles (e.g. to snapshot conntrack). */
  afterExec?(): void;
  /** `cilium bpf ct list global` text of a node, or undefined for an unknown node. */
  conntrack?(node: string): string | undefined;
  /** The kubelet's side of port-forward for a pod (the apiserver's pods/portforward uses the same), undefined for an unknown pod. */
  portForward?(namespace: string, pod: string): PodPortForwarder | undefined;
  /** Hubble's routes (/podpath/v1/hubble/...: flows, status, nodes, metrics). */
  hubble?: HubbleService;
  /** `podpath trace` / `podpath whatif` (POST /podpath/v1/trace, /podpath/v1/whatif): a JSON body in, a status and JSON out. */
  trace?(kind: 'trace' | 'whatif', body: unknown): { status: number; body: unknown };
}

const MAX_EXEC_BODY = 16 * 1024 * 1024;

function validExecRequest(x: unknown): x is ExecRequest {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r['target'] === 'string' && Array.isArray(r['argv']) && r['argv'].length > 0 && r['argv'].every((a) => typeof a === 'string') && (r['stdin'] === undefined || typeof r['stdin'] === 'string');
}

export class DaemonServer {
  private readonly started = Date.now();
  /** Resolves when a client asked the daemon to stop. */
  readonly shutdownRequested: Promise<void>;
  private requestShutdown!: () => void;

  constructor(
    readonly name: string,
    private readonly runtime: DaemonRuntime,
    private readonly driver: ClockDriver,
  ) {
    this.shutdownRequested = new Promise((r) => (this.requestShutdown = r));
  }

  readonly handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/podpath/')) return this.runtime.api.handler(req, res);
    this.serveOwn(req, res, url).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end(encodeFrame({ error: `podpath: ${(err as Error).message}`, exit: 1 }));
    });
  };

  private async serveOwn(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const path = url.split('?')[0];
    if (path === STATUS_PATH && req.method === 'GET') {
      const s: DaemonStatus = { name: this.name, pid: process.pid, clock: this.driver.pacing, uptimeMs: Date.now() - this.started, ...this.runtime.status() };
      return sendJson(res, 200, s);
    }
    if (path === SHUTDOWN_PATH && req.method === 'POST') {
      sendJson(res, 202, { stopping: true });
      this.requestShutdown();
      return;
    }
    if (path === EXEC_PATH && req.method === 'POST') return this.exec(req, res);
    if (path === PORTFORWARD_PATH && req.method === 'POST') return this.portForward(req, res, new URL(url, 'http://podpath').searchParams);
    if (path!.startsWith(HUBBLE_ROUTE_PREFIX) && this.runtime.hubble) return serveHubble(req, res, this.runtime.hubble);
    if ((path === TRACE_PATH || path === WHATIF_PATH) && req.method === 'POST' && this.runtime.trace) {
      let body: unknown;
      try {
        body = JSON.parse(await readTextBody(req, MAX_EXEC_BODY));
      } catch {
        return sendJson(res, 400, { error: 'trace: the request is not JSON' });
      }
      const r = this.runtime.trace(path === TRACE_PATH ? 'trace' : 'whatif', body);
      return sendJson(res, r.status, r.body);
    }
    const ct = path!.startsWith(CT_PATH_PREFIX) && req.method === 'GET' ? this.runtime.conntrack?.(decodeURIComponent(path!.slice(CT_PATH_PREFIX.length))) : undefined;
    if (ct !== undefined) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(ct);
      return;
    }
    sendJson(res, 404, { error: `no route ${req.method} ${path}` });
  }

  /**
   * Splice the HTTP request/response bodies onto a TCP connection inside the
   * cluster; when it fails, the kubelet's text goes in the trailer (the body
   * has carried whatever the pod sent before).
   */
  private portForward(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const port = Number(q.get('port'));
    const namespace = q.get('namespace') ?? 'default';
    const pod = q.get('pod') ?? '';
    if (!this.runtime.portForward || !Number.isInteger(port) || port < 1 || port > 65535) return sendJson(res, 400, { error: 'portforward: namespace, pod and port (1-65535) are required' });
    const forwarder = this.runtime.portForward(namespace, pod);
    if (!forwarder) return sendJson(res, 404, { error: `pods ${JSON.stringify(pod)} not found` });
    res.writeHead(200, { 'content-type': 'application/octet-stream', trailer: PORTFORWARD_ERROR_TRAILER });
    res.flushHeaders();
    let closed = false;
    let podEnded = false;
    const conn: PodConnection | undefined = dialPod(forwarder, port, {
      data: (bytes) => res.write(bytes),
      // The pod's FIN ends the response (the local connection then ends, as kubectl's does).
      end: () => {
        podEnded = true;
        if (!res.writableEnded) res.end();
      },
      close: (failure) => {
        closed = true;
        if (res.writableEnded) return;
        if (failure !== undefined) res.addTrailers({ [PORTFORWARD_ERROR_TRAILER]: encodeURIComponent(failure) });
        res.end();
      },
    });
    if (!conn) return;
    req.on('data', (c: Buffer) => {
      if (!closed) conn.write(new Uint8Array(c));
    });
    req.on('end', () => {
      if (!closed) conn.end();
    });
    // Like kubectl resetting the data stream: after the pod's FIN the connection ends; before it, it is torn down.
    res.on('close', () => {
      if (closed) return;
      closed = true;
      if (podEnded) conn.end();
      else conn.destroy();
    });
  }

  private async exec(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(await readTextBody(req, MAX_EXEC_BODY));
    } catch {
      return sendJson(res, 400, { error: 'exec: the request is not JSON' });
    }
    if (!validExecRequest(body)) return sendJson(res, 400, { error: 'exec: expected {target, argv[], stdin?}' });
    const target = parseExecTarget(body.target);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (!target) {
      res.end(encodeFrame({ error: `error: invalid target "${body.target}": use NAMESPACE/POD, node/NAME or host/NAME`, exit: 1 }));
      return;
    }
    const abort = new AbortController();
    let finished = false;
    res.on('close', () => {
      if (!finished) abort.abort('SIGINT');
    });
    const stdinBytes = body.stdin !== undefined ? new Uint8Array(Buffer.from(body.stdin, 'base64')) : undefined;
    const io: ProcessIO = {
      stdout: (c) => res.write(encodeFrame({ fd: 1, data: Buffer.from(c).toString('base64') })),
      stderr: (c) => res.write(encodeFrame({ fd: 2, data: Buffer.from(c).toString('base64') })),
      signal: abort.signal,
      ...(body.tty ? { tty: true } : {}),
      ...(stdinBytes
        ? {
            stdin: (async function* () {
              yield stdinBytes;
            })(),
          }
        : {}),
    };
    let code: number;
    try {
      code = await this.driver.exec(body.argv, this.runtime.exec(target, body.argv, io));
    } catch (err) {
      finished = true;
      res.end(encodeFrame({ error: (err as Error).message, exit: 1 }));
      return;
    }
    finished = true;
    res.end(encodeFrame({ exit: code }));
    this.runtime.afterExec?.();
  }

  /** Listen on the private socket (the apiserver's: folder 0700, socket 0600), serving both route sets. */
  listen(socketPath: string): Promise<void> {
    return this.runtime.api.listen(socketPath, this.handler);
  }

  close(): Promise<void> {
    return this.runtime.api.close();
  }
}
