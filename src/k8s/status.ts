// Kubernetes `Status` objects: every failure the apiserver reports is one of
// these, with the reason, HTTP code and message kubectl knows how to print.

import { fieldErrorBody, renderFieldErrors, type FieldError } from './validation/field.js';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Expired'
  | 'Gone'
  | 'RequestEntityTooLarge'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** The resource a request addressed, as errors name it: `pods`, `deployments.apps`. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** The kind a request addressed, as Invalid errors name it: `Pod`, `Deployment.apps`. */
export interface GroupKind {
  group: string;
  kind: string;
}

/** Thrown inside the apiserver and store to abort a request with a ready-made Status; never escapes the public API. */
export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? 'status error');
    this.name = 'StatusError';
  }
}

export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export function qualifiedKind(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

export function notFound(gr: GroupResource, name: string): Status {
  return failure(404, 'NotFound', `${qualifiedResource(gr)} ${JSON.stringify(name)} not found`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

/** A URL that names no resource this server serves. */
export function pathNotFound(): Status {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(gr: GroupResource, name: string): Status {
  return failure(409, 'AlreadyExists', `${qualifiedResource(gr)} ${JSON.stringify(name)} already exists`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export const STALE_OBJECT_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(gr: GroupResource, name: string, why = STALE_OBJECT_MESSAGE): Status {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} ${JSON.stringify(name)}: ${why}`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export function invalid(gk: GroupKind, name: string, errors: readonly FieldError[]): Status {
  const head = `${qualifiedKind(gk)} ${JSON.stringify(name)} is invalid`;
  return failure(422, 'Invalid', errors.length ? `${head}: ${renderFieldErrors(errors)}` : head, {
    name,
    group: gk.group,
    kind: gk.kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  });
}

/** A 422 that is not about one object's fields (e.g. a JSON patch whose `test` failed). */
export function unprocessable(message: string): Status {
  return failure(422, 'Invalid', message);
}

export function badRequest(message: string): Status {
  return failure(400, 'BadRequest', message);
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): Status {
  return failure(405, 'MethodNotAllowed', message);
}

export function unauthorized(message = 'Unauthorized'): Status {
  return failure(401, 'Unauthorized', message);
}

export function forbidden(gr: GroupResource, name: string, why: string): Status {
  return failure(403, 'Forbidden', `${qualifiedResource(gr)} ${JSON.stringify(name)} is forbidden: ${why}`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export function notAcceptable(accepted: readonly string[]): Status {
  return failure(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function unsupportedMediaType(accepted: readonly string[]): Status {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** A watch or list asked for history the server no longer keeps. */
export function expired(message: string): Status {
  return failure(410, 'Expired', message);
}

export function tooLarge(limitBytes: number): Status {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

export function internalError(err: unknown): Status {
  const why = err instanceof Error ? err.message : String(err);
  return failure(500, 'InternalError', `Internal error occurred: ${why}`, { causes: [{ reason: 'UnexpectedServerResponse', message: why }] });
}

/** The server could not be reached or answered with something that is not a Status. */
export function serviceUnavailable(message: string): Status {
  return failure(503, 'ServiceUnavailable', message);
}

export function success(details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}
