// The decode stage: a request body becomes a typed object or a 400
// BadRequest worded like the apiserver's JSON decoder and strict field
// validation ("strict decoding error: unknown field \"spec.foo\"").

import type { z } from 'zod';
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import { badRequest, type Status } from '../status.js';
import { dropNulls, isPlainObject, type JsonObject } from '../json.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export type DecodeResult = { ok: true; obj: JsonObject; warnings: string[] } | { ok: false; status: Status };

type Issue = z.core.$ZodIssue;
type PathSegment = PropertyKey;

/** `spec.containers[0].ports[1].name` */
export function renderPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** JSON type names as Go's decoder reports them. */
function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return `number ${v}`;
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

// Every plain number in the served schemas is an integer (counts, ports, seconds), so 'number' reads as 'integer'.
const EXPECTED_NAMES: Record<string, string> = {
  string: 'string',
  number: 'integer',
  int: 'integer',
  boolean: 'bool',
  array: 'array',
  object: 'object',
  record: 'map[string]',
};

function typeErrorText(kind: string, issue: Issue, input: unknown): string {
  const where = `Go struct field ${kind}.${renderPath(issue.path)}`;
  const got = jsonTypeName(valueAt(input, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      return `json: cannot unmarshal ${got} into ${where} of type ${EXPECTED_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_big':
    case 'too_small':
      return `json: cannot unmarshal ${got} into ${where} of type int32`;
    case 'invalid_union':
      return `json: cannot unmarshal ${got} into ${where} of type int-or-string`;
    case 'custom':
      return issue.message;
    default:
      return `${renderPath(issue.path)}: ${issue.message}`;
  }
}

/** Unknown field paths in document order (the order a person reads the manifest in). */
function unknownFieldsInOrder(input: unknown, issues: Issue[]): string[] {
  const unknownAt = new Map<string, Set<string>>();
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') unknownAt.set(JSON.stringify(i.path), new Set(i.keys));
  }
  const out: string[] = [];
  const walk = (v: unknown, path: PathSegment[]): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]));
    } else if (isPlainObject(v)) {
      const unknown = unknownAt.get(JSON.stringify(path));
      for (const k of Object.keys(v)) {
        if (unknown?.has(k)) out.push(renderPath([...path, k]));
        else walk(v[k], [...path, k]);
      }
    }
  };
  walk(input, []);
  return out;
}

function dropUnknownFields(input: JsonObject, issues: Issue[]): void {
  for (const i of issues) {
    if (i.code !== 'unrecognized_keys') continue;
    const holder = valueAt(input, i.path);
    if (isPlainObject(holder)) for (const k of i.keys) delete holder[k];
  }
}

/**
 * Turn a parsed JSON body into an object of `resource`'s kind. A missing
 * apiVersion/kind is filled from the URL; a different one is refused. Unknown
 * fields are an error under 'Strict' (what kubectl sends), dropped with a
 * warning under 'Warn', dropped silently under 'Ignore'.
 */
export function decodeObject(
  resource: ResourceInfo,
  schema: z.ZodType,
  body: unknown,
  fieldValidation: FieldValidation = 'Strict',
): DecodeResult {
  const version = apiVersionOf(resource);
  const kind = resource.kind;
  if (!isPlainObject(body)) {
    return {
      ok: false,
      status: badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonTypeName(body)} into Go value of type struct`),
    };
  }
  const input = dropNulls(body) as JsonObject;
  const givenVersion = input['apiVersion'];
  const givenKind = input['kind'];
  if (givenVersion !== undefined && typeof givenVersion !== 'string') {
    return { ok: false, status: badRequest(`couldn't get version/kind; json parse error: apiVersion must be a string`) };
  }
  if (givenKind !== undefined && typeof givenKind !== 'string') {
    return { ok: false, status: badRequest(`couldn't get version/kind; json parse error: kind must be a string`) };
  }
  if (givenVersion && givenVersion !== version) {
    return {
      ok: false,
      status: badRequest(`the API version in the data (${givenVersion}) does not match the expected API version (${version})`),
    };
  }
  if (givenKind && givenKind !== kind) {
    return {
      ok: false,
      status: badRequest(
        `${givenKind} in version "${version}" cannot be handled as a ${kind}: the kind in the data does not match the resource ${resource.plural}`,
      ),
    };
  }
  input['apiVersion'] = version;
  input['kind'] = kind;

  const head = `${kind} in version "${resource.version}" cannot be handled as a ${kind}`;
  const first = schema.safeParse(input);
  if (first.success) return { ok: true, obj: first.data as JsonObject, warnings: [] };

  const issues = first.error.issues;
  const typeIssue = issues.find((i) => i.code !== 'unrecognized_keys');
  if (typeIssue) return { ok: false, status: badRequest(`${head}: ${typeErrorText(kind, typeIssue, input)}`) };

  const unknown = unknownFieldsInOrder(input, issues);
  if (fieldValidation === 'Strict') {
    const list = unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(', ');
    return { ok: false, status: badRequest(`${head}: strict decoding error: ${list}`) };
  }
  dropUnknownFields(input, issues);
  const second = schema.safeParse(input);
  if (!second.success) {
    const again = second.error.issues[0]!;
    return { ok: false, status: badRequest(`${head}: ${typeErrorText(kind, again, input)}`) };
  }
  const warnings = fieldValidation === 'Warn' ? unknown.map((f) => `unknown field ${JSON.stringify(f)}`) : [];
  return { ok: true, obj: second.data as JsonObject, warnings };
}
