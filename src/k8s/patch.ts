// The three PATCH flavours kubectl sends: JSON merge patch (RFC 7386), JSON
// patch (RFC 6902) and a strategic merge patch that merges known lists
// (containers by name, ports by port, ...) instead of replacing them.
// Results are data: { ok: true, value } or { ok: false, error }.

import { clone, isPlainObject, jsonEqual, type JsonObject } from './json.js';

export type PatchResult = { ok: true; value: unknown } | { ok: false; error: string };

// ---- RFC 7386 ---------------------------------------------------------------

/** JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: JsonObject = isPlainObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---- RFC 6902 ---------------------------------------------------------------

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

class PatchError extends Error {}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer ${JSON.stringify(pointer)} must start with '/'`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > length || (!forInsert && i === length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

function getAt(doc: unknown, tokens: string[], pointer: string): unknown {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  }
  return cur;
}

/** Parent container of the last token, which must exist. */
function parentOf(doc: unknown, tokens: string[], pointer: string): unknown {
  return getAt(doc, tokens.slice(0, -1), pointer);
}

function addAt(doc: unknown, tokens: string[], value: unknown, pointer: string): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isPlainObject(parent)) parent[last] = value;
  else throw new PatchError(`path ${JSON.stringify(pointer)}: parent is not an object or array`);
  return doc;
}

function removeAt(doc: unknown, tokens: string[], pointer: string): unknown {
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

function asOperations(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  return patch.map((op, i) => {
    if (!isPlainObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new PatchError(`operation ${i}: must be an object with string "op" and "path"`);
    }
    const o: Operation = { op: op['op'], path: op['path'] };
    if ('value' in op) o.value = op['value'];
    if (typeof op['from'] === 'string') o.from = op['from'];
    return o;
  });
}

/** Apply an RFC 6902 patch to a copy of `target`. */
export function jsonPatch(target: unknown, patch: unknown): PatchResult {
  try {
    let doc = clone(target);
    for (const op of asOperations(patch)) {
      const tokens = parsePointer(op.path);
      switch (op.op) {
        case 'add':
          if (!('value' in op)) throw new PatchError(`add operation does not apply: missing value`);
          doc = addAt(doc, tokens, clone(op.value), op.path);
          break;
        case 'remove':
          doc = removeAt(doc, tokens, op.path);
          break;
        case 'replace':
          if (!('value' in op)) throw new PatchError(`replace operation does not apply: missing value`);
          getAt(doc, tokens, op.path);
          doc = tokens.length === 0 ? clone(op.value) : addAt(removeAt(doc, tokens, op.path), tokens, clone(op.value), op.path);
          break;
        case 'move': {
          if (op.from === undefined) throw new PatchError('move operation does not apply: missing from');
          const fromTokens = parsePointer(op.from);
          if (op.path.startsWith(`${op.from}/`)) throw new PatchError('move operation cannot move a value into its own child');
          const value = getAt(doc, fromTokens, op.from);
          doc = addAt(removeAt(doc, fromTokens, op.from), tokens, value, op.path);
          break;
        }
        case 'copy': {
          if (op.from === undefined) throw new PatchError('copy operation does not apply: missing from');
          doc = addAt(doc, tokens, clone(getAt(doc, parsePointer(op.from), op.from)), op.path);
          break;
        }
        case 'test': {
          const have = getAt(doc, tokens, op.path);
          if (!jsonEqual(have, op.value)) throw new PatchError(`testing value ${op.path} failed: test failed`);
          break;
        }
        default:
          throw new PatchError(`Unexpected kind: ${op.op}`);
      }
    }
    return { ok: true, value: doc };
  } catch (err) {
    if (err instanceof PatchError) return { ok: false, error: err.message };
    throw err;
  }
}

// ---- strategic merge patch ----------------------------------------------------

/**
 * How a list merges in a strategic merge patch: by a key field, as a set of
 * primitives, or (absent here) replaced whole. `path` is the list's field names
 * from the object root, array indices removed: ['spec','template','spec','containers'].
 */
export type ListMergeRule = { mergeKey: string } | { primitiveSet: true };

export type ListMergeRules = (kind: string, path: readonly string[]) => ListMergeRule | undefined;

const BY_NAME = new Set(['containers', 'initContainers', 'ephemeralContainers', 'volumes', 'imagePullSecrets', 'resourceClaims', 'schedulingGates']);

/** The patch strategies Kubernetes declares on the built-in types podpath serves. */
export const builtinListMergeRules: ListMergeRules = (kind, path) => {
  const field = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (path.length === 2 && parent === 'metadata') {
    if (field === 'ownerReferences') return { mergeKey: 'uid' };
    if (field === 'finalizers') return { primitiveSet: true };
  }
  if (BY_NAME.has(field)) return { mergeKey: 'name' };
  if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers') {
    if (field === 'env') return { mergeKey: 'name' };
    if (field === 'ports') return { mergeKey: 'containerPort' };
    if (field === 'volumeMounts') return { mergeKey: 'mountPath' };
    if (field === 'volumeDevices') return { mergeKey: 'devicePath' };
  }
  if (kind === 'Service' && path.join('.') === 'spec.ports') return { mergeKey: 'port' };
  if (parent === 'status' && field === 'conditions') return { mergeKey: 'type' };
  if (kind === 'Node' && path.join('.') === 'status.addresses') return { mergeKey: 'type' };
  if (kind === 'Node' && path.join('.') === 'spec.podCIDRs') return { primitiveSet: true };
  if (field === 'podIPs' || field === 'hostIPs' || field === 'hostAliases') return { mergeKey: 'ip' };
  if (field === 'topologySpreadConstraints') return { mergeKey: 'topologyKey' };
  return undefined;
};

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Remove `$`-directives from a value that replaces something whole. */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isPlainObject(x) && x[DIRECTIVE] !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (isPlainObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
    return out;
  }
  return v;
}

function mergeKeyedList(original: unknown, patch: unknown[], mergeKey: string, ctx: SmpContext, path: string[]): unknown[] {
  if (patch.some((p) => isPlainObject(p) && p[DIRECTIVE] === 'replace')) {
    return patch.filter((p) => !(isPlainObject(p) && p[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  const result: unknown[] = Array.isArray(original) ? clone(original) : [];
  for (const item of patch) {
    if (!isPlainObject(item)) throw new PatchError(`${path.join('.')}: items must be objects to merge by ${JSON.stringify(mergeKey)}`);
    const keyValue = item[mergeKey];
    if (keyValue === undefined) throw new PatchError(`${path.join('.')}: map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const at = result.findIndex((x) => isPlainObject(x) && jsonEqual(x[mergeKey], keyValue));
    if (item[DIRECTIVE] === 'delete') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = strategicMergeInner(result[at], item, ctx, path);
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}

function orderBy(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const keyOf = (x: unknown): string => JSON.stringify(mergeKey && isPlainObject(x) ? x[mergeKey] : x);
  const rank = new Map(order.map((o, i) => [keyOf(o), i]));
  const ranked = list.filter((x) => rank.has(keyOf(x))).sort((a, b) => rank.get(keyOf(a))! - rank.get(keyOf(b))!);
  const rest = list.filter((x) => !rank.has(keyOf(x)));
  return [...ranked, ...rest];
}

interface SmpContext {
  kind: string;
  rules: ListMergeRules;
}

function strategicMergeInner(original: unknown, patch: unknown, ctx: SmpContext, path: string[]): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return undefined;
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`unknown patch type: ${String(directive)}`);
  const out: JsonObject = isPlainObject(original) ? clone(original) : {};
  const orders = new Map<string, unknown[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS) continue;
    if (k.startsWith(SET_ORDER)) {
      if (Array.isArray(v)) orders.set(k.slice(SET_ORDER.length), v);
      continue;
    }
    if (k.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = k.slice(DELETE_FROM_PRIMITIVE.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(v)) out[field] = current.filter((x) => !v.some((d) => jsonEqual(d, x)));
      continue;
    }
    const childPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const rule = ctx.rules(ctx.kind, childPath);
      if (rule && 'mergeKey' in rule) out[k] = mergeKeyedList(out[k], v, rule.mergeKey, ctx, childPath);
      else if (rule && 'primitiveSet' in rule) {
        const base = Array.isArray(out[k]) ? (out[k] as unknown[]) : [];
        out[k] = [...base, ...v.filter((x) => !base.some((b) => jsonEqual(b, x)))];
      } else out[k] = stripDirectives(v);
    } else if (isPlainObject(v)) {
      const merged = strategicMergeInner(out[k], v, ctx, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [field, order] of orders) {
    const current = out[field];
    if (!Array.isArray(current)) continue;
    const rule = ctx.rules(ctx.kind, [...path, field]);
    out[field] = orderBy(current, order, rule && 'mergeKey' in rule ? rule.mergeKey : undefined);
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

/**
 * Apply a strategic merge patch for an object of `kind`. Lists with a merge
 * key merge item by item, `$patch: delete|replace`, `$setElementOrder/…`,
 * `$deleteFromPrimitiveList/…` and `$retainKeys` are honoured; other lists
 * are replaced whole, as in a merge patch.
 */
export function strategicMergePatch(target: unknown, patch: unknown, kind: string, rules: ListMergeRules = builtinListMergeRules): PatchResult {
  try {
    if (!isPlainObject(patch)) return { ok: false, error: 'a strategic merge patch must be a JSON object' };
    return { ok: true, value: strategicMergeInner(target, patch, { kind, rules }, []) };
  } catch (err) {
    if (err instanceof PatchError) return { ok: false, error: err.message };
    throw err;
  }
}
