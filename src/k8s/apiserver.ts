// The apiserver: Kubernetes REST semantics over the store. Every write goes
// decode → defaults → admission hooks → validation → store, so a rejected
// request changes nothing and says which field is wrong. The same pipeline is
// reachable in-process (methods returning ApiResult) and over HTTP (a
// node:http handler on a private unix socket, or token-guarded loopback TCP).

import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, chmodSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../util/clock.js';
import { applyDefaults } from './defaults.js';
import { acceptExec, chooseProtocol, EXEC_PROTOCOLS, isWebSocketUpgrade, parseExecOptions, rejectUpgrade, type ExecOutcome, type ExecSession, type ExecStreams } from './exec-websocket.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import { clone, isPlainObject, type JsonObject } from './json.js';
import { openApiGroupVersion, openApiRoot } from './openapi.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { upgradePortForward, type PodPortForwarder } from './portforward.js';
import { toTable } from './tables.js';
import {
  negotiate,
  parseDryRun,
  parseFieldValidation,
  parseRoute,
  patchTypeOf,
  PATCH_MEDIA_TYPES,
  readBody,
  readDeleteOptions,
  readRaw,
  send,
  sendJson,
  socketAnswers,
  tableOptions,
  TABLE_CONTENT_TYPE,
  type Route,
} from './http.js';
import {
  apiVersionOf,
  groupKind,
  groupResource,
  lookupResource,
  type ResourceInfo,
} from './resources.js';
import {
  FieldSelector,
  LabelSelector,
  selectorFromObject,
  type LabelSelectorObject,
  parseFieldSelector,
  parseLabelSelector,
  selectableFieldsOf,
  unsupportedFieldError,
} from './selectors.js';
import {
  badRequest,
  forbidden,
  internalError,
  serviceUnavailable,
  invalid,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pathNotFound,
  StatusError,
  unauthorized,
  unprocessable,
  unsupportedMediaType,
  conflict,
  type Status,
} from './status.js';
import type { PropagationPolicy, Store, StoreEvent } from './store.js';
import type { ApiResult, KubeList, KubeObject, WatchEvent } from './types.js';
import { decode, decodeTrustedBody, scaleSchema, validate, validateScale, type FieldValidation, type Scale } from './validation/index.js';
import { decodeObject } from './validation/decode.js';
import { renderFieldErrors, type FieldError } from './validation/field.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionInfo {
  resource: ResourceInfo;
  /** 'status' or 'scale' for writes through those subresources. */
  subresource?: string;
  dryRun: boolean;
}

/**
 * Runs before every store write, after defaulting. It may edit `obj` in place
 * (a mutating defaulter) and may return field errors to reject the request
 * (answered as 422 Invalid, or 403 Forbidden for DELETE). On a status write
 * (`info.subresource` 'status') everything but metadata and status is the
 * stored object's own, frozen: a hook must not edit it.
 */
export type AdmissionHook = (op: AdmissionOperation, obj: KubeObject, oldObj: KubeObject | undefined, info: AdmissionInfo) => FieldError[] | void;

export interface WriteRequestOptions {
  dryRun?: boolean;
  /** Unknown fields: 'Strict' (default here, and what kubectl sends) rejects, 'Warn' drops with a warning, 'Ignore' drops. */
  fieldValidation?: FieldValidation;
}

export interface UpdateRequestOptions extends WriteRequestOptions {
  /** 'status' writes only status; 'scale' takes an autoscaling/v1 Scale and writes spec.replicas. */
  subresource?: 'status' | 'scale';
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface ListRequestOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchRequestOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Absent, '' or '0': start with ADDED events for every current object. A number: replay changes after it. */
  resourceVersion?: string;
  /** Send a BOOKMARK marking the end of the initial ADDED events (the WatchList protocol). */
  sendInitialEvents?: boolean;
}

export interface DeleteRequestOptions {
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchHandle {
  stop(): void;
}

/**
 * The writes the cluster's own components make: ApiServer has these methods,
 * and so does its `trusted` view.
 */
export interface ObjectWriter {
  create(resource: ResourceInfo, namespace: string | undefined, body: unknown, opts?: WriteRequestOptions): ApiResult<KubeObject>;
  update(resource: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts?: UpdateRequestOptions): ApiResult<KubeObject>;
  delete(resource: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteRequestOptions): ApiResult<KubeObject>;
}

/** One `kubectl exec`, checked by the apiserver: the pod exists, runs on a node and has the container. */
export interface PodExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

export interface ApiServerOptions {
  store: Store;
  clock: Clock;
  /** Create default, kube-system, kube-public and kube-node-lease when missing (default true). */
  bootstrapNamespaces?: boolean;
  /** Largest request body accepted, in bytes (default 3 MiB, as Kubernetes). */
  maxBodyBytes?: number;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const NAMESPACES = lookupResource('namespaces')!;

/** Turn thrown StatusErrors into data at the public boundary. */
function attempt<T>(fn: () => T): ApiResult<T> {
  try {
    return { ok: true, obj: fn() };
  } catch (err) {
    if (err instanceof StatusError) return { ok: false, status: err.status };
    return { ok: false, status: internalError(err) };
  }
}

function fail(status: Status): never {
  throw new StatusError(status);
}

function metaOf(o: JsonObject): JsonObject {
  if (!isPlainObject(o['metadata'])) o['metadata'] = {};
  return o['metadata'] as JsonObject;
}

function nameOf(o: JsonObject): string {
  const n = metaOf(o)['name'];
  return typeof n === 'string' ? n : '';
}

function parseSelectors(resource: ResourceInfo, labelText?: string, fieldText?: string): { labels: LabelSelector; fields: FieldSelector } {
  let labels = LabelSelector.everything;
  let fields = FieldSelector.everything;
  if (labelText) {
    const parsed = parseLabelSelector(labelText);
    if (!parsed.ok) fail(badRequest(parsed.error));
    labels = parsed.value;
  }
  if (fieldText) {
    const parsed = parseFieldSelector(fieldText);
    if (!parsed.ok) fail(badRequest(parsed.error));
    const unsupported = unsupportedFieldError(resource, parsed.value);
    if (unsupported) fail(badRequest(unsupported));
    fields = parsed.value;
  }
  return { labels, fields };
}

export class ApiServer {
  readonly store: Store;
  private readonly clock: Clock;
  private readonly maxBodyBytes: number;
  private readonly admission: AdmissionHook[] = [];
  private readonly servers = new Set<Server>();
  private readonly openWatches = new Set<() => void>();
  /** Upgraded connections (exec sessions), ended by close(). */
  private readonly openUpgrades = new Set<ExecSession>();
  /** Upgraded port-forward connections, ended by close(). */
  private readonly openPortForwards = new Set<Duplex>();
  /** What GET /metrics serves, as kube-apiserver names it. */
  private readonly metrics = new Registry();
  private readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: '[STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.',
    labelNames: ['component', 'group', 'resource', 'scope', 'subresource', 'verb', 'version'],
    registers: [this.metrics],
  });

  /**
   * Writes by the cluster's own components (controllers, kubelets, agents),
   * in process. Their bodies are built from stored, validated objects, so the
   * decode stage takes the cheap path (validation/trusted.ts: schema key
   * order, JSON types, unknown fields send it to the full decode); defaults,
   * admission, semantic validation and the store's checks run as for anyone,
   * and a rejected write changes nothing. Results are the stored objects
   * themselves, frozen (clone to edit). Nothing reachable over HTTP uses it.
   */
  readonly trusted: ObjectWriter = {
    create: (resource, namespace, body, opts = {}) => attempt(() => this.doCreate(resource, namespace, body, opts, [], true)),
    update: (resource, namespace, name, body, opts = {}) =>
      attempt(() =>
        opts.subresource === 'scale'
          ? this.doScaleUpdate(resource, namespace, name, body, opts, [])
          : this.doUpdate(resource, namespace, name, body, opts, [], undefined, true),
      ),
    delete: (resource, namespace, name, opts = {}) => attempt(() => this.doDelete(resource, namespace, name, opts)),
  };

  constructor(opts: ApiServerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.maxBodyBytes = opts.maxBodyBytes ?? 3 * 1024 * 1024;
    if (opts.bootstrapNamespaces ?? true) {
      for (const name of SYSTEM_NAMESPACES) {
        if (!this.store.peek(NAMESPACES, undefined, name)) {
          const made = this.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
          if (!made.ok) throw new Error(`cannot create namespace ${name}: ${made.status.message}`);
        }
      }
    }
  }

  /**
   * The kubelet's side of `pods/{name}/log`: the container's log lines, or
   * undefined when the pod runs nowhere. Set by the cluster runtime.
   */
  podLogs: ((namespace: string, pod: string, container: string | undefined) => string[] | undefined) | null = null;

  private serveLogs(namespace: string, pod: string, q: URLSearchParams, res: ServerResponse): void {
    const obj = this.store.get(lookupResource('pods')!, namespace, pod);
    if (!obj) return sendJson(res, 404, notFound({ group: '', resource: 'pods' }, pod));
    const container = q.get('container') ?? undefined;
    const lines = this.podLogs?.(namespace, pod, container);
    if (lines === undefined) return sendJson(res, 400, badRequest(`container "${container ?? ''}" in pod "${pod}" is waiting to start: ContainerCreating`));
    const tail = Number(q.get('tailLines') ?? -1);
    const shown = tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(shown.map((l) => (l.endsWith('\n') ? l : l + '\n')).join(''));
  }

  /**
   * The kubelet's side of `pods/{name}/exec`: run the command in the pod's
   * container with these streams; resolves to its exit code, or to the error
   * that kept it from running. Set by the cluster runtime.
   */
  podExec: ((req: PodExecRequest, io: ExecStreams) => Promise<ExecOutcome>) | null = null;

  /**
   * The kubelet's side of `pods/{name}/portforward`: connections into the
   * pod, or undefined when it runs nowhere. Set by the cluster runtime.
   */
  podPortForward: ((namespace: string, pod: string) => PodPortForwarder | undefined) | null = null;

  /**
   * HTTP Upgrade requests, dispatched by path: `pods/{name}/exec` (WebSocket)
   * and `pods/{name}/portforward` (SPDY, plain or tunnelled in WebSocket).
   * Authentication is the listener's (listenTcp checks the token first).
   */
  readonly upgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const path = new URL(req.url ?? '/', 'http://podpath.local').pathname.replace(/\/+$/, '');
    const sub = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|portforward)$/.exec(path);
    let namespace = '';
    let pod = '';
    try {
      namespace = decodeURIComponent(sub?.[1] ?? '');
      pod = decodeURIComponent(sub?.[2] ?? '');
    } catch {
      return rejectUpgrade(socket, 400, badRequest(`malformed path ${JSON.stringify(path)}`));
    }
    switch (sub?.[3]) {
      case 'exec':
        return this.serveExec(req, socket, head, namespace, pod);
      case 'portforward':
        return this.servePortForward(req, socket, head, namespace, pod);
      default:
        return rejectUpgrade(socket, 404, pathNotFound());
    }
  };

  /** Port-forward to a pod that runs somewhere: kubectl's SPDY streams, each one a connection to the pod's port. */
  private servePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string): void {
    if (req.method !== 'GET' && req.method !== 'POST') return rejectUpgrade(socket, 405, methodNotAllowed());
    if (!this.store.get(lookupResource('pods')!, namespace, name)) return rejectUpgrade(socket, 404, notFound({ group: '', resource: 'pods' }, name));
    const forwarder = this.podPortForward?.(namespace, name);
    if (!forwarder) return rejectUpgrade(socket, 400, badRequest(`pod ${name} does not have a host assigned`));
    const refusal = upgradePortForward(req, socket, head, forwarder);
    if (refusal) return rejectUpgrade(socket, 400, badRequest(refusal));
    this.openPortForwards.add(socket);
    socket.once('close', () => this.openPortForwards.delete(socket));
  }

  /** Check an exec request as the apiserver does before it reaches the kubelet, then stream it over WebSocket. */
  private serveExec(req: IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string): void {
    if (req.method !== 'GET' && req.method !== 'POST') return rejectUpgrade(socket, 405, methodNotAllowed());
    const obj = this.store.get(lookupResource('pods')!, namespace, name);
    if (!obj) return rejectUpgrade(socket, 404, notFound({ group: '', resource: 'pods' }, name));
    const opts = parseExecOptions(new URL(req.url ?? '/', 'http://podpath.local').searchParams);
    const container = execContainer(obj, name, opts.container);
    if (typeof container !== 'string') return rejectUpgrade(socket, 400, container);
    const spec = isPlainObject(obj['spec']) ? obj['spec'] : {};
    if (!spec['nodeName']) return rejectUpgrade(socket, 400, badRequest(`pod ${name} does not have a host assigned`));
    if (opts.command.length === 0) return rejectUpgrade(socket, 400, badRequest('you must specify at least one command for the container'));
    if (!opts.stdin && !opts.stdout && !opts.stderr) return rejectUpgrade(socket, 400, badRequest('you must specify at least 1 of stdin, stdout, stderr'));
    const run = this.podExec;
    if (!run) return rejectUpgrade(socket, 503, serviceUnavailable('no kubelet serves exec in this cluster'));
    // Streams go over WebSocket only (what kubectl 1.30+ uses first); a SPDY client is told so.
    if (!isWebSocketUpgrade(req)) {
      return rejectUpgrade(socket, 400, badRequest(`exec streams over WebSocket only (${EXEC_PROTOCOLS.join(', ')}), not ${String(req.headers.upgrade ?? 'HTTP')}`));
    }
    if (!chooseProtocol(req)) {
      return rejectUpgrade(socket, 400, badRequest(`requested protocol(s) are not supported: ${String(req.headers['sec-websocket-protocol'] ?? '')}; supports ${EXEC_PROTOCOLS.join(', ')}`));
    }
    const session = acceptExec(req, socket, head, opts, (io) => run({ namespace, pod: name, container, command: opts.command }, io));
    const labels = { component: 'apiserver', group: '', resource: 'pods', scope: 'resource', subresource: 'exec', verb: 'CONNECT', version: 'v1' };
    this.longRunning.inc(labels);
    this.openUpgrades.add(session);
    void session.done.then(() => {
      this.openUpgrades.delete(session);
      this.longRunning.dec(labels);
    });
  }

  /** Register a hook that sees (and may edit or reject) every write before it is stored. Hooks run in the order added. */
  addAdmission(hook: AdmissionHook): void {
    this.admission.push(hook);
  }

  // ---- in-process API ---------------------------------------------------------

  /** An object, or its autoscaling/v1 Scale view with subresource 'scale'. */
  get(resource: ResourceInfo, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): ApiResult<KubeObject> {
    return attempt(() => {
      if (subresource && !resource.subresources.includes(subresource)) fail(pathNotFound());
      const obj = this.mustGet(resource, namespace, name);
      return subresource === 'scale' ? scaleOf(obj) : clone(obj);
    });
  }

  list(resource: ResourceInfo, opts: ListRequestOptions = {}): ApiResult<KubeList> {
    return attempt(() => {
      const list = this.listShared(resource, opts);
      return { ...list, items: list.items.map((o) => clone(o)) };
    });
  }

  /** A list whose items are the store's frozen objects: for answers that only serialize them. Throws StatusError. */
  private listShared(resource: ResourceInfo, opts: ListRequestOptions): KubeList {
    const { labels, fields } = parseSelectors(resource, opts.labelSelector, opts.fieldSelector);
    const page = this.store.list(resource, {
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labelSelector: labels,
      fieldSelector: fields,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      ...(opts.continue ? { continue: opts.continue } : {}),
    });
    const list: KubeList = {
      apiVersion: apiVersionOf(resource),
      kind: resource.listKind,
      metadata: { resourceVersion: page.resourceVersion },
      items: page.items,
    };
    if (page.continue) list.metadata.continue = page.continue;
    return list;
  }

  create(resource: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteRequestOptions = {}): ApiResult<KubeObject> {
    const warnings: string[] = [];
    // The store answers with its own frozen object; callers of this API get one they may edit.
    const result = attempt(() => clone(this.doCreate(resource, namespace, body, opts, warnings)));
    return result.ok && warnings.length ? { ...result, warnings } : result;
  }

  update(
    resource: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: UpdateRequestOptions = {},
  ): ApiResult<KubeObject> {
    const warnings: string[] = [];
    const result = attempt(() =>
      opts.subresource === 'scale'
        ? this.doScaleUpdate(resource, namespace, name, body, opts, warnings)
        : clone(this.doUpdate(resource, namespace, name, body, opts, warnings)),
    );
    return result.ok && warnings.length ? { ...result, warnings } : result;
  }

  patch(
    resource: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts: UpdateRequestOptions = {},
  ): ApiResult<KubeObject> {
    const warnings: string[] = [];
    const result = attempt(() => {
      if (opts.subresource === 'scale') {
        if (!resource.subresources.includes('scale')) fail(pathNotFound());
        const patched = this.applyPatch(SCALE, scaleOf(this.mustGet(resource, namespace, name)), type, patchBody);
        return this.doScaleUpdate(resource, namespace, name, patched, opts, warnings);
      }
      const current = this.mustGet(resource, namespace, name);
      const patched = this.applyPatch(resource, current, type, patchBody);
      return clone(this.doUpdate(resource, namespace, name, patched, opts, warnings));
    });
    return result.ok && warnings.length ? { ...result, warnings } : result;
  }

  delete(resource: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteRequestOptions = {}): ApiResult<KubeObject> {
    return attempt(() => clone(this.doDelete(resource, namespace, name, opts)));
  }

  /** Delete everything a list with the same options would return; answers with the deleted objects. */
  deleteCollection(resource: ResourceInfo, opts: ListRequestOptions & DeleteRequestOptions = {}): ApiResult<KubeList> {
    return attempt(() => {
      // Namespaces, as in Kubernetes, cannot be deleted wholesale.
      if (!resource.verbs.includes('deletecollection')) fail(methodNotAllowed());
      const { labels, fields } = parseSelectors(resource, opts.labelSelector, opts.fieldSelector);
      const page = this.store.list(resource, {
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        labelSelector: labels,
        fieldSelector: fields,
      });
      const deleted: KubeObject[] = [];
      for (const item of page.items) {
        const meta = item.metadata;
        if (!this.store.peek(resource, meta.namespace, meta.name ?? '')) continue;
        const deleteOpts: DeleteRequestOptions = {};
        if (opts.propagationPolicy) deleteOpts.propagationPolicy = opts.propagationPolicy;
        if (opts.dryRun) deleteOpts.dryRun = true;
        deleted.push(clone(this.doDelete(resource, meta.namespace, meta.name ?? '', deleteOpts)));
      }
      return {
        apiVersion: apiVersionOf(resource),
        kind: resource.listKind,
        metadata: { resourceVersion: String(this.store.resourceVersion) },
        items: deleted,
      };
    });
  }

  /**
   * Stream changes to `onEvent`. Objects that move into the selectors arrive as
   * ADDED and objects that move out as DELETED, as Kubernetes watches do.
   * Event objects are frozen; clone before editing.
   */
  watch(resource: ResourceInfo, opts: WatchRequestOptions, onEvent: (e: WatchEvent) => void): ApiResult<WatchHandle> {
    return attempt(() => this.doWatch(resource, opts, onEvent));
  }

  // ---- pipeline -----------------------------------------------------------------

  /** The stored object, frozen (the pipeline reads it; clone before editing). */
  private mustGet(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.peek(resource, namespace, name);
    if (!obj) fail(notFound(groupResource(resource), name));
    return obj;
  }

  /** Decode a body and reconcile its namespace with the request's. The result is a fresh object nobody else holds. */
  private decodeBody(resource: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteRequestOptions, warnings: string[], trusted = false): JsonObject {
    let obj = trusted ? decodeTrustedBody(resource, body) : undefined;
    if (!obj) {
      const decoded = decode(resource, body, opts.fieldValidation ?? 'Strict');
      if (!decoded.ok) fail(decoded.status);
      warnings.push(...decoded.warnings);
      obj = decoded.obj;
    }
    const meta = metaOf(obj);
    // Empty maps and lists in metadata are omitted when Kubernetes serializes them; do the same.
    for (const f of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
      const v = meta[f];
      if ((Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0)) delete meta[f];
    }
    if (resource.namespaced) {
      const given = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
      if (namespace) {
        if (given && given !== namespace) fail(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
        meta['namespace'] = namespace;
      }
    } else {
      // Cluster-scoped objects have no namespace; a stray one is dropped, as the apiserver does.
      delete meta['namespace'];
    }
    return obj;
  }

  private requireNamespace(resource: ResourceInfo, obj: JsonObject): void {
    if (!resource.namespaced) return;
    const ns = metaOf(obj)['namespace'];
    if (typeof ns !== 'string' || ns === '') return; // validation reports the missing namespace
    const found = this.store.peek(NAMESPACES, undefined, ns);
    if (!found) fail(notFound(groupResource(NAMESPACES), ns));
    if (found.metadata.deletionTimestamp) {
      fail(
        forbidden(
          groupResource(resource),
          nameOf(obj),
          `unable to create new content in namespace ${ns} because it is being terminated`,
        ),
      );
    }
  }

  private admit(op: AdmissionOperation, obj: KubeObject, old: KubeObject | undefined, info: AdmissionInfo): FieldError[] {
    const errors: FieldError[] = [];
    for (const hook of this.admission) {
      const result = hook(op, obj, old, info);
      if (result && result.length) errors.push(...result);
    }
    return errors;
  }

  private doCreate(resource: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteRequestOptions, warnings: string[], trusted = false): KubeObject {
    const obj = this.decodeBody(resource, namespace, body, opts, warnings, trusted);
    const meta = metaOf(obj);
    if (meta['resourceVersion']) fail(badRequest('resourceVersion should not be set on objects to be created'));
    this.requireNamespace(resource, obj);
    // With a status subresource, status is owned by controllers and starts empty (Nodes keep what the kubelet reports).
    if (resource.subresources.includes('status') && resource.kind !== 'Node') delete obj['status'];
    if (!meta['name'] && typeof meta['generateName'] === 'string' && meta['generateName']) {
      const prefix = meta['generateName'];
      meta['name'] = this.store.generateName(resource, meta['namespace'] as string | undefined, prefix);
    }
    applyDefaults(resource, obj);
    const candidate = obj as KubeObject;
    const info: AdmissionInfo = { resource, dryRun: opts.dryRun ?? false };
    const hookErrors = this.admit('CREATE', candidate, undefined, info);
    const errors = [...validate(resource, obj), ...hookErrors];
    if (errors.length) fail(invalid(groupKind(resource), nameOf(obj), errors));
    return this.store.create(resource, candidate, { dryRun: opts.dryRun ?? false, adopt: true });
  }

  private doUpdate(
    resource: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: UpdateRequestOptions,
    warnings: string[],
    viaSubresource?: string,
    trusted = false,
  ): KubeObject {
    const subresource = opts.subresource;
    if (subresource && !resource.subresources.includes(subresource)) fail(pathNotFound());
    // A trusted status write only needs the envelope, metadata and status decoded: the rest is ignored anyway.
    const decodable = trusted && subresource === 'status' && isPlainObject(body) ? statusPart(body) : body;
    const incoming = this.decodeBody(resource, namespace, decodable, opts, warnings, trusted);
    const meta = metaOf(incoming);
    if (!meta['name']) meta['name'] = name;
    if (meta['name'] !== name) {
      fail(badRequest(`the name of the object (${String(meta['name'])}) does not match the name on the URL (${name})`));
    }
    const old = this.mustGet(resource, namespace, name);
    const givenRv = meta['resourceVersion'];
    if (typeof givenRv === 'string' && givenRv !== '' && givenRv !== old.metadata.resourceVersion) {
      fail(conflict(groupResource(resource), name));
    }

    let obj: JsonObject;
    if (subresource === 'status') {
      // Through /status only status changes; everything else stays as stored: the stored (frozen) parts
      // themselves, not copies. Metadata is copied for the store to stamp.
      obj = withStatus(old, incoming, givenRv, false);
      try {
        applyDefaults(resource, obj);
      } catch (err) {
        // A defaulter wanted to change a stored part (defaults added since it was stored): default a copy.
        if (!(err instanceof TypeError)) throw err;
        obj = withStatus(old, incoming, givenRv, true);
        applyDefaults(resource, obj);
      }
    } else {
      obj = incoming;
      if (resource.subresources.includes('status')) {
        if (old['status'] === undefined) delete obj['status'];
        else obj['status'] = clone(old['status']);
      }
      if (resource.kind === 'Service') keepAllocatedServiceValues(obj, old);
      applyDefaults(resource, obj);
    }
    const candidate = obj as KubeObject;
    const admittedAs = viaSubresource ?? subresource;
    const info: AdmissionInfo = { resource, dryRun: opts.dryRun ?? false, ...(admittedAs ? { subresource: admittedAs } : {}) };
    const hookErrors = this.admit('UPDATE', candidate, old, info);
    const errors = [...validate(resource, obj, old as JsonObject), ...hookErrors];
    if (errors.length) fail(invalid(groupKind(resource), name, errors));
    return this.store.update(resource, candidate, { dryRun: opts.dryRun ?? false, adopt: true });
  }

  /** Write spec.replicas from an autoscaling/v1 Scale; answers with the new Scale. */
  private doScaleUpdate(
    resource: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: UpdateRequestOptions,
    warnings: string[],
  ): KubeObject {
    if (!resource.subresources.includes('scale')) fail(pathNotFound());
    const decoded = decodeObject(SCALE, scaleSchema, body, opts.fieldValidation ?? 'Strict');
    if (!decoded.ok) fail(decoded.status);
    warnings.push(...decoded.warnings);
    const scale = decoded.obj as Scale;
    const given = scale.metadata?.name;
    if (given && given !== name) fail(badRequest(`the name of the object (${given}) does not match the name on the URL (${name})`));
    const errors = validateScale(scale);
    if (errors.length) fail(invalid(groupKind(SCALE), name, errors));
    const old = this.mustGet(resource, namespace, name);
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) fail(conflict(groupResource(resource), name));
    const next = clone(old) as JsonObject;
    const spec = isPlainObject(next['spec']) ? next['spec'] : (next['spec'] = {});
    (spec as JsonObject)['replicas'] = scale.spec?.replicas ?? 0;
    const { subresource: _scale, ...mainOpts } = opts;
    return scaleOf(this.doUpdate(resource, namespace, name, next, mainOpts, warnings, 'scale'));
  }

  private applyPatch(resource: ResourceInfo, current: KubeObject, type: PatchType, patchBody: unknown): unknown {
    switch (type) {
      case 'merge':
        return mergePatch(current, patchBody);
      case 'json': {
        const r = jsonPatch(current, patchBody);
        if (!r.ok) fail(unprocessable(`the server rejected our request due to an error in our request: ${r.error}`));
        return r.value;
      }
      case 'strategic': {
        // Custom resources have no Go types to carry patch strategies, so Kubernetes refuses this for them.
        if (resource.customResource) fail(unsupportedMediaType(PATCH_MEDIA_TYPES.filter((t) => !t.includes('strategic'))));
        const r = strategicMergePatch(current, patchBody, resource.kind);
        if (!r.ok) fail(unprocessable(`the server rejected our request due to an error in our request: ${r.error}`));
        return r.value;
      }
    }
  }

  private doDelete(resource: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteRequestOptions): KubeObject {
    const current = this.mustGet(resource, namespace, name);
    if (resource === NAMESPACES && UNDELETABLE_NAMESPACES.has(name)) {
      fail(forbidden(groupResource(resource), name, 'this namespace may not be deleted'));
    }
    const info: AdmissionInfo = { resource, dryRun: opts.dryRun ?? false };
    const hookErrors = this.admit('DELETE', clone(current), undefined, info);
    if (hookErrors.length) fail(forbidden(groupResource(resource), name, renderFieldErrors(hookErrors)));
    const storeOpts: Parameters<Store['delete']>[3] = {};
    if (opts.propagationPolicy) storeOpts.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) storeOpts.preconditions = opts.preconditions;
    if (opts.dryRun) storeOpts.dryRun = true;
    return this.store.delete(resource, namespace, name, storeOpts);
  }

  private doWatch(resource: ResourceInfo, opts: WatchRequestOptions, onEvent: (e: WatchEvent) => void): WatchHandle {
    const { labels, fields } = parseSelectors(resource, opts.labelSelector, opts.fieldSelector);
    const namespace = resource.namespaced ? opts.namespace : undefined;
    const rvText = opts.resourceVersion ?? '';
    if (rvText !== '' && !/^\d+$/.test(rvText)) fail(badRequest(`invalid resource version: ${JSON.stringify(rvText)}`));
    const matches = (o: KubeObject | undefined): boolean =>
      o !== undefined &&
      (!namespace || o.metadata.namespace === namespace) &&
      labels.matches(o.metadata.labels) &&
      fields.matches(selectableFieldsOf(resource, o));

    const listener = (e: StoreEvent): void => {
      if (e.resource !== resource) return;
      const now = matches(e.object);
      if (e.type === 'ADDED') {
        if (now) onEvent({ type: 'ADDED', object: e.object });
      } else if (e.type === 'DELETED') {
        if (now || matches(e.previous)) onEvent({ type: 'DELETED', object: e.object });
      } else {
        const before = matches(e.previous);
        if (now && before) onEvent({ type: 'MODIFIED', object: e.object });
        else if (now) onEvent({ type: 'ADDED', object: e.object });
        else if (before) onEvent({ type: 'DELETED', object: e.object });
      }
    };

    let from: number;
    if (rvText === '' || rvText === '0') {
      // Start from the present: the current objects as ADDED, then every later change.
      const page = this.store.list(resource, { ...(namespace ? { namespace } : {}), labelSelector: labels, fieldSelector: fields });
      for (const item of page.items) onEvent({ type: 'ADDED', object: item });
      from = Number(page.resourceVersion);
      if (opts.sendInitialEvents) onEvent({ type: 'BOOKMARK', object: initialEventsEnd(resource, from) });
    } else {
      from = Number(rvText);
    }
    const unsubscribe = this.store.watch(from, listener);
    return { stop: unsubscribe };
  }

  // ---- HTTP -----------------------------------------------------------------

  /** The node:http request handler (no authentication: use it behind the private socket or listenTcp's token check). */
  readonly handler: RequestListener = (req, res) => {
    this.serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, internalError(err));
      else res.end();
    });
  };

  /**
   * Serve on a unix socket that only this user can use: the socket lives in a
   * directory of mode 0700 (created if missing, refused if others can enter
   * it) and is chmod'ed to 0600 as soon as it exists. A stale socket file
   * left by a crashed daemon is replaced; a live one is an error. `handler`
   * lets the daemon serve its own routes beside the API on the same socket.
   */
  async listen(socketPath: string, handler: RequestListener = this.handler): Promise<void> {
    const dir = dirname(socketPath);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`socket directory ${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}); use a directory of mode 0700`);
    }
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw new Error(`socket directory ${dir} belongs to another user`);
    }
    if (existsSync(socketPath)) {
      if (!lstatSync(socketPath).isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
      if (await socketAnswers(socketPath)) throw new Error(`${socketPath} is in use by a running server`);
      unlinkSync(socketPath);
    }
    const server = createServer(handler);
    server.on('upgrade', this.upgradeHandler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(socketPath, 0o600);
    this.servers.add(server);
  }

  /**
   * Serve on 127.0.0.1:`port` (0 = any free port), requiring `Authorization:
   * Bearer <token>`. Resolves to the port. Pass `tls` (PEM key and
   * certificate) to serve HTTPS: real kubectl only sends a bearer token over
   * TLS, so it needs this; podpath's own client works either way.
   */
  async listenTcp(port: number, token: string, opts: { tls?: { key: string | Buffer; cert: string | Buffer } } = {}): Promise<number> {
    if (!token) throw new Error('listenTcp needs a non-empty token');
    const expected = createHash('sha256').update(token).digest();
    const authorized = (req: IncomingMessage): boolean => {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      const given = createHash('sha256')
        .update(m ? m[1]!.trim() : '')
        .digest();
      return m !== null && timingSafeEqual(given, expected);
    };
    const guarded: RequestListener = (req, res) => {
      if (!authorized(req)) {
        // Unauthenticated bodies are discarded unread, but the answer waits for their end (see serve()).
        req.on('end', () => sendJson(res, 401, unauthorized()));
        req.resume();
        return;
      }
      this.handler(req, res);
    };
    const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, guarded) : createServer(guarded);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!authorized(req)) {
        socket.on('error', () => undefined);
        return rejectUpgrade(socket, 401, unauthorized());
      }
      this.upgradeHandler(req, socket, head);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.add(server);
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  /** Stop listening, end open watches and close connections. The store stays open (its owner closes it). */
  async close(): Promise<void> {
    for (const end of [...this.openWatches]) end();
    for (const session of [...this.openUpgrades]) session.terminate();
    for (const socket of [...this.openPortForwards]) socket.destroy();
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read the whole body before answering anything: answering early leaves the
    // client writing into a connection the server is about to drop.
    let raw: Buffer;
    try {
      raw = await readRaw(req, this.maxBodyBytes);
    } catch (err) {
      if (err instanceof StatusError) sendJson(res, err.status.code, err.status);
      else res.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://podpath.local');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const format = negotiate(req.headers.accept);
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      const text = await this.metrics.metrics();
      res.writeHead(200, { 'Content-Type': this.metrics.contentType });
      res.end(text);
      return;
    }
    const logPath = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(path);
    if (logPath && req.method === 'GET') {
      this.serveLogs(decodeURIComponent(logPath[1]!), decodeURIComponent(logPath[2]!), url.searchParams, res);
      return;
    }
    const reply = (code: number, body: unknown, warnings: string[] = []): void => {
      if (warnings.length) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
      send(res, code, body, format ?? 'json');
    };
    const answer = <T>(result: ApiResult<T>, okCode = 200): void => {
      if (result.ok) reply(okCode, result.obj, result.warnings ?? []);
      else reply(result.status.code, result.status);
    };

    let segments: string[];
    try {
      segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      sendJson(res, 400, badRequest(`malformed path ${JSON.stringify(path)}`));
      return;
    }
    const discovery = this.discoveryDoc(segments, req);
    if (discovery === null) {
      // Unserved paths answer 404 whatever the client accepts (kubectl probes /openapi/v2 in protobuf only).
      sendJson(res, 404, pathNotFound());
      return;
    }
    if (!format) {
      sendJson(res, 406, notAcceptable(['application/json', 'application/yaml']));
      return;
    }
    if (discovery !== undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') reply(405, methodNotAllowed());
      else reply(200, discovery);
      return;
    }

    const route = parseRoute(segments);
    if (!route) {
      reply(404, pathNotFound());
      return;
    }
    try {
      const q = url.searchParams;
      const dryRun = parseDryRun(q.getAll('dryRun'));
      const fieldValidation = parseFieldValidation(q.get('fieldValidation'));
      const writeOpts: WriteRequestOptions = { fieldValidation, ...(dryRun ? { dryRun } : {}) };
      const request: HttpRequest = { req, res, raw, q, method: req.method ?? 'GET', writeOpts, table: format === 'table', answer };
      if (route.name === undefined) this.serveCollection(request, route);
      else this.serveObject(request, route, route.name);
    } catch (err) {
      if (err instanceof StatusError) reply(err.status.code, err.status);
      else reply(500, internalError(err));
    }
  }

  /** GET (list or watch), POST (create) and DELETE (deletecollection) on a collection URL. */
  private serveCollection(r: HttpRequest, route: Route): void {
    const { resource, namespace } = route;
    const selectors = { labelSelector: r.q.get('labelSelector') ?? '', fieldSelector: r.q.get('fieldSelector') ?? '' };
    const scope = namespace ? { namespace } : {};
    switch (r.method) {
      case 'GET': {
        if (r.q.get('watch') === 'true' || r.q.get('watch') === '1') {
          this.serveWatch(r.req, r.res, resource, namespace, r.q, r.table);
          return;
        }
        // A Table (what `kubectl get` prints) comes whole: the API lets a server not support `limit`,
        // and kubectl's chunks of 500 would be 21 requests for 10,000 pods, which client-go's rate
        // limit (5 per second after a burst of 10) spreads over more than 2 s. Object lists page.
        const limit = r.table ? null : r.q.get('limit');
        const cont = r.q.get('continue');
        const result = attempt(() =>
          this.listShared(resource, {
            ...scope,
            ...selectors,
            ...(limit && /^\d+$/.test(limit) ? { limit: Number(limit) } : {}),
            ...(cont ? { continue: cont } : {}),
          }),
        );
        if (r.table && result.ok) {
          const { metadata, items } = result.obj;
          r.answer({ ok: true, obj: toTable(resource, items, this.clock.wallNow(), { ...tableOptions(r.q), ...metadata }) });
        } else {
          r.answer(result);
        }
        return;
      }
      case 'POST':
        // Namespaced objects are created under /namespaces/<ns>/, never in the all-namespaces collection.
        if (resource.namespaced && !namespace) fail(methodNotAllowed());
        r.answer(this.create(resource, namespace, readBody(r.req, r.raw, 'object'), r.writeOpts), 201);
        return;
      case 'DELETE':
        r.answer(this.deleteCollection(resource, { ...readDeleteOptions(r.raw, r.q), ...scope, ...selectors }));
        return;
      default:
        fail(methodNotAllowed());
    }
  }

  /** GET, PUT, PATCH and DELETE on one object or one of its subresources. */
  private serveObject(r: HttpRequest, route: Route, name: string): void {
    const { resource, namespace, subresource } = route;
    const sub = subresource === 'status' || subresource === 'scale' ? subresource : undefined;
    const updateOpts: UpdateRequestOptions = { ...r.writeOpts, ...(sub ? { subresource: sub } : {}) };
    switch (r.method) {
      case 'GET':
      case 'HEAD': {
        const result = this.get(resource, namespace, name, sub);
        if (r.table && result.ok && sub !== 'scale') {
          r.answer({ ok: true, obj: toTable(resource, [result.obj], this.clock.wallNow(), tableOptions(r.q)) });
        } else {
          r.answer(result);
        }
        return;
      }
      case 'PUT':
        r.answer(this.update(resource, namespace, name, readBody(r.req, r.raw, 'object'), updateOpts));
        return;
      case 'PATCH': {
        const type = patchTypeOf(r.req.headers['content-type']);
        if (!type) fail(unsupportedMediaType(PATCH_MEDIA_TYPES));
        r.answer(this.patch(resource, namespace, name, type, readBody(r.req, r.raw, 'patch'), updateOpts));
        return;
      }
      case 'DELETE': {
        if (subresource) fail(methodNotAllowed());
        const result = this.delete(resource, namespace, name, readDeleteOptions(r.raw, r.q));
        // 202 while finalizers keep the object around, as Kubernetes answers.
        const pending = result.ok && result.obj.metadata.deletionTimestamp !== undefined && this.store.peek(resource, namespace, name) !== undefined;
        r.answer(result, pending ? 202 : 200);
        return;
      }
      default:
        fail(methodNotAllowed());
    }
  }

  /** undefined: not a discovery path; null: a discovery path for something not served. */
  private discoveryDoc(segments: string[], req: IncomingMessage): object | null | undefined {
    if (segments.length === 1 && segments[0] === 'version') return SERVER_VERSION;
    if (segments[0] === 'openapi' && segments[1] === 'v3') {
      if (segments.length === 2) return openApiRoot();
      if (segments[2] === 'api' && segments.length === 4) return openApiGroupVersion('', segments[3]!) ?? null;
      if (segments[2] === 'apis' && segments.length === 5) return openApiGroupVersion(segments[3]!, segments[4]!) ?? null;
      return null;
    }
    if (segments[0] === 'openapi') return null;
    if (segments[0] === 'api') {
      if (segments.length === 1) return apiVersions(req.headers.host ?? 'localhost');
      if (segments.length === 2) return apiResourceList('', segments[1]!) ?? null;
      return undefined;
    }
    if (segments[0] === 'apis') {
      if (segments.length === 1) return apiGroupList();
      if (segments.length === 2) return apiGroup(segments[1]!) ?? null;
      if (segments.length === 3) return apiResourceList(segments[1]!, segments[2]!) ?? null;
    }
    return segments.length === 0 ? null : undefined;
  }

  private serveWatch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: ResourceInfo,
    namespace: string | undefined,
    q: URLSearchParams,
    asTable: boolean,
  ): void {
    let streaming = false;
    let headersSent = false;
    const early: WatchEvent[] = [];
    const write = (e: WatchEvent): void => {
      if (asTable && e.type !== 'ERROR' && e.type !== 'BOOKMARK') {
        // Column definitions travel with the first event only, as Kubernetes streams tables.
        const table = toTable(resource, [e.object], this.clock.wallNow(), { ...tableOptions(q), withHeaders: !headersSent });
        headersSent = true;
        res.write(`${JSON.stringify({ type: e.type, object: table })}\n`);
      } else {
        res.write(`${JSON.stringify(e)}\n`);
      }
    };
    const result = this.watch(
      resource,
      {
        ...(namespace ? { namespace } : {}),
        labelSelector: q.get('labelSelector') ?? '',
        fieldSelector: q.get('fieldSelector') ?? '',
        resourceVersion: q.get('resourceVersion') ?? '',
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
      },
      (e) => (streaming ? write(e) : early.push(e)),
    );
    if (!result.ok) {
      sendJson(res, result.status.code, result.status);
      return;
    }
    res.writeHead(200, {
      'Content-Type': asTable ? TABLE_CONTENT_TYPE : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    for (const e of early) write(e);
    streaming = true;

    let timer: TimerHandle | undefined;
    const labels = {
      component: 'apiserver',
      group: resource.group,
      resource: resource.plural,
      scope: !resource.namespaced ? 'cluster' : namespace ? 'namespace' : 'cluster',
      subresource: '',
      verb: 'WATCH',
      version: resource.version,
    };
    this.longRunning.inc(labels);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.longRunning.dec(labels);
      result.obj.stop();
      if (timer) this.clock.clearTimer(timer);
      timer = undefined;
      this.openWatches.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.openWatches.add(end);
    const timeout = q.get('timeoutSeconds');
    if (timeout && /^\d+$/.test(timeout) && Number(timeout) > 0) timer = this.clock.setTimer(Number(timeout) * 1000, end);
    res.on('close', end);
    req.on('close', end);
  }
}

// ---- helpers ------------------------------------------------------------------

/** The container an exec runs in, or the BadRequest the apiserver answers: the named one must exist, else the only one. */
function execContainer(pod: KubeObject, name: string, given: string | undefined): string | Status {
  const spec = isPlainObject(pod['spec']) ? pod['spec'] : {};
  const names = (key: string): string[] =>
    (Array.isArray(spec[key]) ? spec[key] : []).filter(isPlainObject).map((c) => (typeof c['name'] === 'string' ? c['name'] : ''));
  const containers = names('containers');
  if (given) {
    if ([...containers, ...names('initContainers'), ...names('ephemeralContainers')].includes(given)) return given;
    return badRequest(`container ${given} is not valid for pod ${name}`);
  }
  if (containers.length === 1) return containers[0]!;
  if (containers.length === 0) return badRequest(`a container name must be specified for pod ${name}`);
  const init = names('initContainers');
  return badRequest(
    `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]` + (init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''),
  );
}

/** The parts of a status write that matter: envelope, metadata (name, namespace, resourceVersion) and status. */
function statusPart(body: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of ['apiVersion', 'kind', 'metadata', 'status']) if (body[k] !== undefined) out[k] = body[k];
  return out;
}

/** The stored object with the incoming status; `copy` clones the stored parts instead of sharing them. */
function withStatus(old: KubeObject, incoming: JsonObject, givenRv: unknown, copy: boolean): JsonObject {
  const obj = (copy ? clone(old) : { ...old, metadata: clone(old.metadata) }) as JsonObject;
  if (incoming['status'] === undefined) delete obj['status'];
  else obj['status'] = incoming['status'];
  if (typeof givenRv === 'string') metaOf(obj)['resourceVersion'] = givenRv;
  return obj;
}

/** Services keep the cluster IP and node ports already allocated when an update leaves them empty. */
function keepAllocatedServiceValues(obj: JsonObject, old: KubeObject): void {
  const spec = isPlainObject(obj['spec']) ? obj['spec'] : undefined;
  const oldSpec = isPlainObject(old['spec']) ? old['spec'] : undefined;
  if (!spec || !oldSpec || spec['type'] === 'ExternalName') return;
  if ((spec['clusterIP'] === undefined || spec['clusterIP'] === '') && oldSpec['clusterIP']) {
    spec['clusterIP'] = oldSpec['clusterIP'];
    if (spec['clusterIPs'] === undefined && oldSpec['clusterIPs'] !== undefined) spec['clusterIPs'] = clone(oldSpec['clusterIPs']);
  }
  const oldPorts = Array.isArray(oldSpec['ports']) ? oldSpec['ports'].filter(isPlainObject) : [];
  const ports = Array.isArray(spec['ports']) ? spec['ports'].filter(isPlainObject) : [];
  for (const p of ports) {
    if (p['nodePort'] !== undefined && p['nodePort'] !== 0) continue;
    const same = oldPorts.find((o) => o['port'] === p['port'] && (o['protocol'] ?? 'TCP') === (p['protocol'] ?? 'TCP'));
    if (same?.['nodePort']) p['nodePort'] = same['nodePort'];
  }
}

function initialEventsEnd(resource: ResourceInfo, rv: number): KubeObject {
  return {
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    metadata: { resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } },
  };
}

/** autoscaling/v1 Scale, described like a resource so decoding and errors can name it. */
const SCALE: ResourceInfo = Object.freeze({
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  listKind: 'ScaleList',
  plural: 'scale',
  singular: 'scale',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ['get', 'patch', 'update'],
  subresources: [],
  customResource: false,
  tracksGeneration: false,
  selectableFields: [],
});

/** The Scale view of a Deployment or ReplicaSet. */
function scaleOf(obj: KubeObject): KubeObject {
  const spec = isPlainObject(obj['spec']) ? obj['spec'] : {};
  const status = isPlainObject(obj['status']) ? obj['status'] : {};
  const meta = obj.metadata;
  const selector = isPlainObject(spec['selector']) ? selectorFromObject(spec['selector'] as LabelSelectorObject).toString() : '';
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: meta.name ?? '',
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      uid: meta.uid ?? '',
      resourceVersion: meta.resourceVersion ?? '',
      creationTimestamp: meta.creationTimestamp ?? '',
    },
    spec: { replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : 0 },
    status: { replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0, selector },
  };
}

/** One HTTP request on a resource URL, with its body already read. */
interface HttpRequest {
  req: IncomingMessage;
  res: ServerResponse;
  raw: Buffer;
  q: URLSearchParams;
  method: string;
  writeOpts: WriteRequestOptions;
  /** Reads answer with a Table when the client asked for one (`kubectl get`). */
  table: boolean;
  answer: <T>(result: ApiResult<T>, okCode?: number) => void;
}

