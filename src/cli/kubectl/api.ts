// The connection to a podpath cluster's apiserver: JSON requests over the
// daemon's private unix socket, Table requests (`as=Table`, what `kubectl get`
// prints), and watch streams. Failures are Status objects, never throws.

import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { isStatus, serviceUnavailable, type Status } from '../../k8s/status.js';
import type { Table } from '../../k8s/tables.js';
import type { KubeList, KubeObject } from '../../k8s/types.js';
import { onJsonLines } from '../../util/http.js';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export type Answer<T> = { ok: true; value: T; warnings: string[] } | { ok: false; status: Status };

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/** A watch event as the server streams it (objects, or Tables when asked for). */
export interface StreamEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

export interface EventStream {
  /** The next event, or undefined once the stream has ended. */
  next(): Promise<StreamEvent | undefined>;
  stop(): void;
}

function warningsOf(res: IncomingMessage): string[] {
  const raw = res.headers['warning'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.map((w) => {
    const m = /^\d{3} \S+ "(.*)"$/.exec(w);
    if (!m) return w;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1]!;
    }
  });
}

export class ApiConnection {
  constructor(
    readonly socketPath: string,
    /** How the server is named in connection errors. */
    readonly serverName: string,
  ) {}

  private unreachable(err: Error): Status {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ECONNREFUSED' || code === 'ENOENT'
        ? `The connection to the server ${this.serverName} was refused - is the podpath cluster running? (start it with \`podpath up\`)`
        : `Unable to connect to the server: ${err.message}`;
    // Code 0 and no reason: printed as the message alone, as kubectl prints connection failures.
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: why, code: 0 };
  }

  request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socketPath, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve({ ok: true, value: parsed as T, warnings: warningsOf(res) });
          else if (isStatus(parsed)) resolve({ ok: false, status: parsed });
          else {
            const status = serviceUnavailable(`an error on the server (${JSON.stringify(text.slice(0, 200))}) has prevented the request from succeeding`);
            resolve({ ok: false, status: { ...status, reason: 'InternalError', code } });
          }
        });
        res.on('error', (err) => resolve({ ok: false, status: this.unreachable(err) }));
      });
      req.on('error', (err) => resolve({ ok: false, status: this.unreachable(err) }));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = KubeObject>(path: string): Promise<Answer<T>> {
    return this.request<T>('GET', path);
  }

  list(path: string): Promise<Answer<KubeList>> {
    return this.request<KubeList>('GET', path);
  }

  table(path: string): Promise<Answer<Table>> {
    return this.request<Table>('GET', path, { accept: TABLE_ACCEPT });
  }

  /** Stream watch events from a collection URL (query included). */
  watch(path: string, accept = 'application/json'): EventStream {
    const queue: StreamEvent[] = [];
    const waiters: ((e: StreamEvent | undefined) => void)[] = [];
    let ended = false;
    const push = (e: StreamEvent): void => {
      const w = waiters.shift();
      if (w) w(e);
      else queue.push(e);
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      for (const w of waiters.splice(0)) w(undefined);
    };
    const req = request({ socketPath: this.socketPath, method: 'GET', path, headers: { Accept: accept }, agent: false }, (res) => {
      if ((res.statusCode ?? 0) !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = serviceUnavailable(`watch refused with ${res.statusCode}`);
          }
          push({ type: 'ERROR', object: parsed });
          end();
        });
        return;
      }
      onJsonLines(res, (event) => push(event as StreamEvent));
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
    });
    req.on('error', (err) => {
      push({ type: 'ERROR', object: this.unreachable(err) });
      end();
    });
    req.end();
    return {
      next: () => {
        if (queue.length) return Promise.resolve(queue.shift());
        if (ended) return Promise.resolve(undefined);
        return new Promise((r) => waiters.push(r));
      },
      stop: () => {
        req.destroy();
        end();
      },
    };
  }
}

/** Failed connections carry code 0 and no reason: print their message alone. */
export function isConnectionFailure(status: Status): boolean {
  return status.code === 0;
}
