// The wire side of the apiserver: URL routing, content negotiation, request
// bodies and query parameters, turned into plain values or Status errors.

import { createConnection } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { DeleteRequestOptions, PatchType } from './apiserver.js';
import { isPlainObject, type JsonObject } from './json.js';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import { resourceForPath, type ResourceInfo } from './resources.js';
import { badRequest, invalid, StatusError, tooLarge, unsupportedMediaType, type Status } from './status.js';
import type { IncludeObject } from './tables.js';
import type { FieldValidation } from './validation/decode.js';
import { fieldNotSupported, renderFieldErrors } from './validation/field.js';

function fail(status: Status): never {
  throw new StatusError(status);
}

export const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
];

export interface Route {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Map `/api/v1/...` and `/apis/<group>/<version>/...` to a resource, namespace, name and subresource. */
export function parseRoute(segments: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const scoped = resourceForPath(group, version, rest[2]!);
    if (scoped?.namespaced) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
  }
  const resource = resourceForPath(group, version, rest[0]!);
  if (!resource || rest.length > 3) return undefined;
  const name = rest[1];
  const subresource = rest[2];
  if (subresource !== undefined && !resource.subresources.includes(subresource)) return undefined;
  if (resource.namespaced && name !== undefined && namespace === undefined) return undefined;
  const route: Route = { resource };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource !== undefined) route.subresource = subresource;
  return route;
}

/** Response encodings: JSON, YAML, or a meta.k8s.io/v1 Table (JSON) for reads. */
export type Format = 'json' | 'yaml' | 'table';

/**
 * Pick a response format from an Accept header; undefined when nothing we
 * speak is acceptable. A meta.k8s.io/v1 Table is served when asked for (as
 * `kubectl get` does); other alternative representations are skipped in
 * favour of the client's next choice.
 */
export function negotiate(accept: string | undefined): Format | undefined {
  if (!accept || accept.trim() === '') return 'json';
  for (const range of accept.split(',')) {
    const [type, ...rawParams] = range.split(';').map((s) => s.trim());
    const params = new Map(rawParams.map((p) => p.split('=').map((x) => x.trim()) as [string, string]));
    const as = params.get('as');
    if (as !== undefined) {
      if (as === 'Table' && type === 'application/json' && params.get('g') === 'meta.k8s.io' && params.get('v') === 'v1') return 'table';
      continue;
    }
    const t = type?.toLowerCase();
    if (t === 'application/json' || t === '*/*' || t === 'application/*') return 'json';
    if (t === 'application/yaml') return 'yaml';
  }
  return undefined;
}

export const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

/** Answer in the negotiated format (a Table only when the body is one). */
export function send(res: ServerResponse, code: number, body: unknown, format: Format): void {
  if (format === 'table' && (body as { kind?: unknown }).kind === 'Table') {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': TABLE_CONTENT_TYPE, 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  } else if (format === 'yaml') {
    res.writeHead(code, { 'Content-Type': 'application/yaml', 'Cache-Control': 'no-cache, private' });
    res.end(stringifyYaml(body));
  } else {
    sendJson(res, code, body);
  }
}

/** A JSON answer with a Content-Length (Status errors, health, discovery). */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The PATCH flavour named by a Content-Type, or undefined for ones not served (e.g. server-side apply). */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (type) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      return undefined;
  }
}

/**
 * Read a request body of at most `limit` bytes. A larger body is drained and
 * discarded (so the client sees the 413 instead of a broken pipe), up to a
 * hard cap past which the connection is cut.
 */
export function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > 4 * limit) req.destroy();
    });
    req.on('end', () => (size > limit ? reject(new StatusError(tooLarge(limit))) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** Parse a JSON (or, for objects, YAML) body. */
export function readBody(req: IncomingMessage, raw: Buffer, purpose: 'object' | 'patch'): unknown {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (purpose === 'object' && type === PROTOBUF_MEDIA_TYPE) {
    const decoded = decodeProtobufObject(raw);
    if (!decoded.ok) fail({ ...unsupportedMediaType(['application/json', 'application/yaml']), message: decoded.error });
    return decoded.obj;
  }
  if (purpose === 'object' && type !== 'application/json' && type !== 'application/yaml' && type !== '') {
    fail(unsupportedMediaType(['application/json', 'application/yaml', PROTOBUF_MEDIA_TYPE]));
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') fail(badRequest('the request body is empty'));
  try {
    return type === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    fail(badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** `dryRun=All` (the only value Kubernetes defines) → true; anything else is a 400. */
export function parseDryRun(values: string[]): boolean {
  for (const v of values) if (v !== 'All') fail(invalidRequestParam('dryRun', v, ['All']));
  return values.length > 0;
}

/** `fieldValidation`: Strict (also when absent; see WriteRequestOptions), Warn or Ignore. */
export function parseFieldValidation(v: string | null): FieldValidation {
  if (v === null || v === '') return 'Strict';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  return fail(invalidRequestParam('fieldValidation', v, ['Ignore', 'Strict', 'Warn']));
}

function invalidRequestParam(field: string, value: string, supported: string[]): Status {
  return badRequest(renderFieldErrors([fieldNotSupported(field, value, supported)]));
}

/** DeleteOptions from the body (kubectl sends them there) and the query string. */
export function readDeleteOptions(raw: Buffer, q: URLSearchParams): DeleteRequestOptions {
  const text = raw.toString('utf8');
  let body: JsonObject = {};
  if (text.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isPlainObject(parsed)) body = parsed;
    } catch (err) {
      fail(badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
  const opts: DeleteRequestOptions = {};
  let policy = q.get('propagationPolicy') ?? (typeof body['propagationPolicy'] === 'string' ? body['propagationPolicy'] : undefined);
  if (policy === undefined && (q.get('orphanDependents') === 'true' || body['orphanDependents'] === true)) policy = 'Orphan';
  if (policy !== undefined) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      fail(
        invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
          fieldNotSupported('propagationPolicy', policy, ['Background', 'Foreground', 'Orphan']),
        ]),
      );
    }
    opts.propagationPolicy = policy;
  }
  if (isPlainObject(body['preconditions'])) {
    const p = body['preconditions'];
    opts.preconditions = {
      ...(typeof p['uid'] === 'string' ? { uid: p['uid'] } : {}),
      ...(typeof p['resourceVersion'] === 'string' ? { resourceVersion: p['resourceVersion'] } : {}),
    };
  }
  const bodyDryRun = Array.isArray(body['dryRun']) ? body['dryRun'].filter((x): x is string => typeof x === 'string') : [];
  if (parseDryRun([...q.getAll('dryRun'), ...bodyDryRun])) opts.dryRun = true;
  return opts;
}

/** True when something accepts connections on the socket. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** What each Table row carries (`includeObject`): object metadata unless asked otherwise. */
export function tableOptions(q: URLSearchParams): { include: IncludeObject } {
  const v = q.get('includeObject');
  return { include: v === 'None' || v === 'Object' ? v : 'Metadata' };
}
