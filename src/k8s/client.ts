// A small typed client for the apiserver: over its unix socket (or the
// token-guarded TCP port) for CLIs and out-of-process tools, or directly
// in-process for controllers living in the daemon. Both speak the same
// interface and answer { ok: true, obj } | { ok: false, status }.

import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ApiServer, PatchType, WatchRequestOptions } from './apiserver.js';
import { collectionPath, lookupResource, objectPath, resourceForKind, type ResourceInfo } from './resources.js';
import { isStatus, notFound, badRequest, serviceUnavailable, type Status } from './status.js';
import type { PropagationPolicy } from './store.js';
import type { ApiResult, KubeList, KubeObject, WatchEvent } from './types.js';
import type { FieldValidation } from './validation/decode.js';
import { onJsonLines } from '../util/http.js';

/** A resource by its info or by anything `kubectl get` accepts: 'pods', 'po', 'deployments.apps', 'cnp'. */
export type ResourceRef = ResourceInfo | string;

export interface ClientGetOptions {
  namespace?: string;
  /** 'scale' reads the autoscaling/v1 Scale view of a Deployment or ReplicaSet. */
  subresource?: 'status' | 'scale';
}

export interface ClientListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ClientWriteOptions {
  /** Defaults to the object's metadata.namespace, then 'default' for namespaced kinds. */
  namespace?: string;
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
}

export interface ClientPatchOptions extends ClientWriteOptions {
  /** 'merge' (RFC 7386, the default), 'json' (RFC 6902) or 'strategic'. */
  type?: PatchType;
  /** 'status' patches only status; 'scale' patches the Scale view (`{ spec: { replicas: 3 } }`). */
  subresource?: 'status' | 'scale';
}

export interface ClientDeleteOptions {
  namespace?: string;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ClientWatchOptions extends WatchRequestOptions {
  timeoutSeconds?: number;
}

/** Watch events as an async iterable. `ready` settles once the server has accepted (or refused) the watch. */
export interface WatchStream<T = KubeObject> extends AsyncIterable<WatchEvent<T>> {
  readonly ready: Promise<void>;
  /** The next event, or undefined when the stream has ended. */
  next(): Promise<WatchEvent<T> | undefined>;
  stop(): void;
}

export interface KubeApi {
  get<T extends KubeObject = KubeObject>(resource: ResourceRef, name: string, opts?: ClientGetOptions): Promise<ApiResult<T>>;
  list<T extends KubeObject = KubeObject>(resource: ResourceRef, opts?: ClientListOptions): Promise<ApiResult<KubeList<T>>>;
  create<T extends KubeObject = KubeObject>(obj: KubeObject, opts?: ClientWriteOptions): Promise<ApiResult<T>>;
  update<T extends KubeObject = KubeObject>(obj: KubeObject, opts?: ClientWriteOptions): Promise<ApiResult<T>>;
  updateStatus<T extends KubeObject = KubeObject>(obj: KubeObject, opts?: ClientWriteOptions): Promise<ApiResult<T>>;
  patch<T extends KubeObject = KubeObject>(resource: ResourceRef, name: string, patch: unknown, opts?: ClientPatchOptions): Promise<ApiResult<T>>;
  delete(resource: ResourceRef, name: string, opts?: ClientDeleteOptions): Promise<ApiResult<KubeObject>>;
  watch<T extends KubeObject = KubeObject>(resource: ResourceRef, opts?: ClientWatchOptions): WatchStream<T>;
}

// ---- shared helpers -------------------------------------------------------------

function resolve(ref: ResourceRef): ResourceInfo | Status {
  if (typeof ref !== 'string') return ref;
  return lookupResource(ref) ?? { ...notFound({ group: '', resource: 'resourcetypes' }, ref), message: `the server doesn't have a resource type ${JSON.stringify(ref)}` };
}

function resourceOf(obj: KubeObject): ResourceInfo | Status {
  return resourceForKind(String(obj.apiVersion ?? ''), String(obj.kind ?? '')) ??
    badRequest(`no matches for kind ${JSON.stringify(obj.kind)} in version ${JSON.stringify(obj.apiVersion)}`);
}

function namespaceFor(resource: ResourceInfo, given: string | undefined, obj?: KubeObject): string | undefined {
  if (!resource.namespaced) return undefined;
  return given ?? obj?.metadata?.namespace ?? 'default';
}

/** An async queue of watch events. */
class EventQueue<T> {
  private items: T[] = [];
  private waiters: ((v: T | undefined) => void)[] = [];
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  next(): Promise<T | undefined> {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((r) => this.waiters.push(r));
  }
}

function streamOf<T>(queue: EventQueue<WatchEvent<T>>, ready: Promise<void>, stop: () => void): WatchStream<T> {
  return {
    ready,
    next: () => queue.next(),
    stop,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const e = await queue.next();
          if (e === undefined) return;
          yield e;
        }
      } finally {
        stop();
      }
    },
  };
}

function failedStream<T>(status: Status): WatchStream<T> {
  const q = new EventQueue<WatchEvent<T>>();
  q.push({ type: 'ERROR', object: status });
  q.end();
  return streamOf(q, Promise.resolve(), () => undefined);
}

// ---- over HTTP ---------------------------------------------------------------------

/** The unix socket, or host/port with the bearer token (and, for HTTPS, the CA that signed the server's certificate). */
export type ClientConnection = { socketPath: string } | { host: string; port: number; token: string; ca?: string | Buffer };

export interface RawResponse {
  code: number;
  body: unknown;
  warnings: string[];
}

/** Talks to the apiserver over its unix socket or its token-guarded TCP port. */
export class KubeClient implements KubeApi {
  constructor(private readonly conn: ClientConnection) {}

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    // A fresh connection per request: a pooled keep-alive socket may belong to a server that has since restarted.
    const base: RequestOptions = { method, path, headers: { Accept: 'application/json', ...headers }, agent: false };
    if ('socketPath' in this.conn) return { ...base, socketPath: this.conn.socketPath };
    return {
      ...base,
      host: this.conn.host,
      port: this.conn.port,
      headers: { ...base.headers, Authorization: `Bearer ${this.conn.token}` },
      ...(this.conn.ca ? { ca: this.conn.ca } : {}),
    };
  }

  private request(options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const tls = !('socketPath' in this.conn) && this.conn.ca !== undefined;
    return tls ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
  }

  /** One HTTP exchange with a JSON body (if any); the body of the answer parsed as JSON when it is JSON. */
  raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // An explicit length: Node sends DELETE bodies without chunked encoding, so the server could not find their end otherwise.
    const headers: Record<string, string> =
      payload === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) };
    return new Promise((resolvePromise) => {
      const req = this.request(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolvePromise({ code: res.statusCode ?? 0, body: parsed, warnings: warningsOf(res) });
        });
        res.on('error', (err) => resolvePromise({ code: 0, body: serviceUnavailable(err.message), warnings: [] }));
      });
      req.on('error', (err) => resolvePromise({ code: 0, body: serviceUnavailable(`cannot reach the apiserver: ${err.message}`), warnings: [] }));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResult<T>> {
    const r = await this.raw(method, path, body, contentType);
    if (r.code >= 200 && r.code < 300) return r.warnings.length ? { ok: true, obj: r.body as T, warnings: r.warnings } : { ok: true, obj: r.body as T };
    if (isStatus(r.body)) return { ok: false, status: r.body };
    return { ok: false, status: serviceUnavailable(`unexpected answer ${r.code}: ${String(r.body).slice(0, 200)}`) };
  }

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, opts: ClientGetOptions = {}): Promise<ApiResult<T>> {
    const r = resolve(ref);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    return this.call('GET', objectPath(r, name, namespaceFor(r, opts.namespace), opts.subresource));
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ClientListOptions = {}): Promise<ApiResult<KubeList<T>>> {
    const r = resolve(ref);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.continue) q.set('continue', opts.continue);
    return this.call('GET', withQuery(collectionPath(r, opts.namespace), q));
  }

  create<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    const r = resourceOf(obj);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    return this.call('POST', withQuery(collectionPath(r, namespaceFor(r, opts.namespace, obj)), writeQuery(opts)), obj);
  }

  update<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    return this.put(obj, opts, undefined);
  }

  updateStatus<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    return this.put(obj, opts, 'status');
  }

  private put<T>(obj: KubeObject, opts: ClientWriteOptions, sub: 'status' | undefined): Promise<ApiResult<T>> {
    const r = resourceOf(obj);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    const path = objectPath(r, obj.metadata?.name ?? '', namespaceFor(r, opts.namespace, obj), sub);
    return this.call('PUT', withQuery(path, writeQuery(opts)), obj);
  }

  patch<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, patch: unknown, opts: ClientPatchOptions = {}): Promise<ApiResult<T>> {
    const r = resolve(ref);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    const type = opts.type ?? 'merge';
    const contentType =
      type === 'json' ? 'application/json-patch+json' : type === 'strategic' ? 'application/strategic-merge-patch+json' : 'application/merge-patch+json';
    const path = objectPath(r, name, namespaceFor(r, opts.namespace), opts.subresource);
    return this.call('PATCH', withQuery(path, writeQuery(opts)), patch, contentType);
  }

  delete(ref: ResourceRef, name: string, opts: ClientDeleteOptions = {}): Promise<ApiResult<KubeObject>> {
    const r = resolve(ref);
    if (isStatus(r)) return Promise.resolve({ ok: false, status: r });
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body['propagationPolicy'] = opts.propagationPolicy;
    if (opts.preconditions) body['preconditions'] = opts.preconditions;
    if (opts.dryRun) body['dryRun'] = ['All'];
    return this.call('DELETE', objectPath(r, name, namespaceFor(r, opts.namespace)), body);
  }

  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ClientWatchOptions = {}): WatchStream<T> {
    const r = resolve(ref);
    if (isStatus(r)) return failedStream(r);
    const q = new URLSearchParams({ watch: 'true' });
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    if (opts.resourceVersion !== undefined) q.set('resourceVersion', opts.resourceVersion);
    if (opts.sendInitialEvents) q.set('sendInitialEvents', 'true');
    if (opts.timeoutSeconds !== undefined) q.set('timeoutSeconds', String(opts.timeoutSeconds));
    const queue = new EventQueue<WatchEvent<T>>();
    let settle!: () => void;
    const ready = new Promise<void>((r2) => (settle = r2));
    const req = this.request(this.options('GET', withQuery(collectionPath(r, opts.namespace), q), {}), (res) => {
      settle();
      if (res.statusCode !== 200) {
        collectStatus(res).then((status) => {
          queue.push({ type: 'ERROR', object: status });
          queue.end();
        });
        return;
      }
      onJsonLines(res, (event) => queue.push(event as WatchEvent<T>));
      res.on('end', () => queue.end());
      res.on('error', () => queue.end());
      res.on('close', () => queue.end());
    });
    req.on('error', (err) => {
      settle();
      queue.push({ type: 'ERROR', object: serviceUnavailable(`cannot reach the apiserver: ${err.message}`) });
      queue.end();
    });
    req.end();
    return streamOf(queue, ready, () => {
      req.destroy();
      queue.end();
    });
  }
}

function withQuery(path: string, q: URLSearchParams): string {
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function writeQuery(opts: ClientWriteOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.dryRun) q.set('dryRun', 'All');
  q.set('fieldValidation', opts.fieldValidation ?? 'Strict');
  return q;
}

function warningsOf(res: IncomingMessage): string[] {
  const raw = res.headers['warning'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.map((w) => {
    const m = /^\d{3} \S+ "(.*)"$/.exec(w);
    return m ? (JSON.parse(`"${m[1]}"`) as string) : w;
  });
}

function collectStatus(res: IncomingMessage): Promise<Status> {
  return new Promise((r) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        r(isStatus(parsed) ? parsed : serviceUnavailable(`watch refused with ${res.statusCode}`));
      } catch {
        r(serviceUnavailable(`watch refused with ${res.statusCode}`));
      }
    });
  });
}

// ---- in-process ---------------------------------------------------------------------

/** The same interface straight onto an ApiServer in this process (no HTTP, same pipeline and admission hooks). */
export class LocalKubeClient implements KubeApi {
  constructor(private readonly server: ApiServer) {}

  async get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, opts: ClientGetOptions = {}): Promise<ApiResult<T>> {
    const r = resolve(ref);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.get(r, namespaceFor(r, opts.namespace), name, opts.subresource) as ApiResult<T>;
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ClientListOptions = {}): Promise<ApiResult<KubeList<T>>> {
    const r = resolve(ref);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.list(r, opts) as ApiResult<KubeList<T>>;
  }

  async create<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    const r = resourceOf(obj);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.create(r, namespaceFor(r, opts.namespace, obj), obj, writeOptions(opts)) as ApiResult<T>;
  }

  async update<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    const r = resourceOf(obj);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.update(r, namespaceFor(r, opts.namespace, obj), obj.metadata?.name ?? '', obj, writeOptions(opts)) as ApiResult<T>;
  }

  async updateStatus<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ClientWriteOptions = {}): Promise<ApiResult<T>> {
    const r = resourceOf(obj);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.update(r, namespaceFor(r, opts.namespace, obj), obj.metadata?.name ?? '', obj, {
      ...writeOptions(opts),
      subresource: 'status',
    }) as ApiResult<T>;
  }

  async patch<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, patch: unknown, opts: ClientPatchOptions = {}): Promise<ApiResult<T>> {
    const r = resolve(ref);
    if (isStatus(r)) return { ok: false, status: r };
    return this.server.patch(r, namespaceFor(r, opts.namespace), name, opts.type ?? 'merge', patch, {
      ...writeOptions(opts),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    }) as ApiResult<T>;
  }

  async delete(ref: ResourceRef, name: string, opts: ClientDeleteOptions = {}): Promise<ApiResult<KubeObject>> {
    const r = resolve(ref);
    if (isStatus(r)) return { ok: false, status: r };
    const { namespace, ...rest } = opts;
    return this.server.delete(r, namespaceFor(r, namespace), name, rest);
  }

  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ClientWatchOptions = {}): WatchStream<T> {
    const r = resolve(ref);
    if (isStatus(r)) return failedStream(r);
    const queue = new EventQueue<WatchEvent<T>>();
    const { timeoutSeconds: _ignored, ...watchOpts } = opts;
    const handle = this.server.watch(r, watchOpts, (e) => queue.push(e as WatchEvent<T>));
    if (!handle.ok) return failedStream(handle.status);
    return streamOf(queue, Promise.resolve(), () => {
      handle.obj.stop();
      queue.end();
    });
  }
}

function writeOptions(opts: ClientWriteOptions): { dryRun?: boolean; fieldValidation?: FieldValidation } {
  return { ...(opts.dryRun ? { dryRun: true } : {}), ...(opts.fieldValidation ? { fieldValidation: opts.fieldValidation } : {}) };
}
