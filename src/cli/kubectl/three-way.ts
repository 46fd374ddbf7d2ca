// Client-side apply's patch: what changed from the live object to the
// manifest (additions and changes only) plus what the manifest dropped since
// the last apply (deletions only), as kubectl computes it. Built-in kinds get
// a strategic merge patch (lists with merge keys merge item by item, with
// `$setElementOrder` and `$patch: delete`); Cilium's CRDs get a JSON merge
// patch. An empty patch (`{}`) is what makes kubectl say "unchanged".

import { builtinListMergeRules, type ListMergeRule } from '../../k8s/patch.js';

type Json = unknown;
type JsonMap = Record<string, Json>;

function isMap(v: Json): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---- JSON merge patch (CRDs) -------------------------------------------------------------

/** RFC 7386 diff from `from` to `to`. */
function mergeDiff(from: Json, to: Json): JsonMap {
  const patch: JsonMap = {};
  const a = isMap(from) ? from : {};
  const b = isMap(to) ? to : {};
  for (const k of Object.keys(a)) if (!(k in b)) patch[k] = null;
  for (const [k, v] of Object.entries(b)) {
    if (!(k in a)) patch[k] = v;
    else if (isMap(a[k]) && isMap(v)) {
      const sub = mergeDiff(a[k], v);
      if (Object.keys(sub).length) patch[k] = sub;
    } else if (!deepEqual(a[k], v)) patch[k] = v;
  }
  return patch;
}

/** Keep only the nulls (deletions) or only the rest (additions and changes). */
function keepNulls(patch: JsonMap, nulls: boolean): JsonMap {
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      if (nulls) out[k] = null;
    } else if (isMap(v)) {
      const sub = keepNulls(v, nulls);
      if (Object.keys(sub).length || (!nulls && Object.keys(v).length === 0)) out[k] = sub;
    } else if (!nulls) out[k] = v;
  }
  return out;
}

function mergeInto(base: JsonMap, patch: JsonMap): JsonMap {
  const out: JsonMap = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (isMap(v) && isMap(out[k])) out[k] = mergeInto(out[k] as JsonMap, v);
    else out[k] = v;
  }
  return out;
}

export function threeWayJsonMergePatch(original: Json, modified: Json, current: Json): JsonMap {
  const additions = keepNulls(mergeDiff(current, modified), false);
  const deletions = keepNulls(mergeDiff(original, modified), true);
  return mergeInto(deletions, additions);
}

// ---- strategic merge patch (built-in kinds) -------------------------------------------------

interface DiffOptions {
  ignoreDeletions: boolean;
  ignoreChangesAndAdditions: boolean;
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

function ruleFor(kind: string, path: string[]): ListMergeRule | undefined {
  return builtinListMergeRules(kind, path);
}

function diffMaps(from: JsonMap, to: JsonMap, kind: string, path: string[], opts: DiffOptions): JsonMap {
  const patch: JsonMap = {};
  if (!opts.ignoreDeletions) {
    for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  }
  for (const [k, modifiedValue] of Object.entries(to)) {
    const fieldPath = [...path, k];
    if (!(k in from)) {
      if (!opts.ignoreChangesAndAdditions) patch[k] = modifiedValue;
      continue;
    }
    const originalValue = from[k];
    if (isMap(originalValue) && isMap(modifiedValue)) {
      const sub = diffMaps(originalValue, modifiedValue, kind, fieldPath, opts);
      if (Object.keys(sub).length) patch[k] = sub;
      continue;
    }
    if (Array.isArray(originalValue) && Array.isArray(modifiedValue)) {
      const rule = ruleFor(kind, fieldPath);
      if (rule && 'mergeKey' in rule) {
        diffKeyedLists(patch, k, originalValue, modifiedValue, rule.mergeKey, kind, fieldPath, opts);
        continue;
      }
      if (rule && 'primitiveSet' in rule) {
        diffPrimitiveSets(patch, k, originalValue, modifiedValue, opts);
        continue;
      }
    }
    if (!deepEqual(originalValue, modifiedValue) && !opts.ignoreChangesAndAdditions) patch[k] = modifiedValue;
  }
  return patch;
}

function diffKeyedLists(patch: JsonMap, field: string, from: Json[], to: Json[], key: string, kind: string, path: string[], opts: DiffOptions): void {
  const keyOf = (x: Json): string => JSON.stringify(isMap(x) ? x[key] : x);
  const fromByKey = new Map(from.map((x) => [keyOf(x), x]));
  const toKeys = new Set(to.map(keyOf));
  const items: Json[] = [];
  let deletions = 0;
  if (!opts.ignoreChangesAndAdditions) {
    for (const item of to) {
      const old = fromByKey.get(keyOf(item));
      if (old === undefined) items.push(item);
      else if (isMap(old) && isMap(item)) {
        const sub = diffMaps(old, item, kind, path, opts);
        if (Object.keys(sub).length) items.push({ ...sub, [key]: item[key] });
      }
    }
  } else {
    // Deletions inside items that stay.
    for (const item of to) {
      const old = fromByKey.get(keyOf(item));
      if (isMap(old) && isMap(item)) {
        const sub = diffMaps(old, item, kind, path, opts);
        if (Object.keys(sub).length) items.push({ ...sub, [key]: item[key] });
      }
    }
  }
  if (!opts.ignoreDeletions) {
    for (const old of from) {
      if (!toKeys.has(keyOf(old)) && isMap(old)) {
        items.push({ $patch: 'delete', [key]: old[key] });
        deletions++;
      }
    }
  }
  if (items.length === 0) return;
  patch[field] = items;
  const sameOrder = from.length === to.length && from.every((x, i) => keyOf(x) === keyOf(to[i]));
  if (deletions > 0 || (!opts.ignoreChangesAndAdditions && !sameOrder)) patch[`${SET_ORDER}${field}`] = to.map((x) => (isMap(x) ? { [key]: x[key] } : x));
}

function diffPrimitiveSets(patch: JsonMap, field: string, from: Json[], to: Json[], opts: DiffOptions): void {
  if (!opts.ignoreChangesAndAdditions) {
    const added = to.filter((x) => !from.some((y) => deepEqual(x, y)));
    if (added.length) {
      patch[field] = added;
      patch[`${SET_ORDER}${field}`] = to;
    }
  }
  if (!opts.ignoreDeletions) {
    const removed = from.filter((x) => !to.some((y) => deepEqual(x, y)));
    if (removed.length) {
      patch[`${DELETE_FROM_PRIMITIVE}${field}`] = removed;
      patch[`${SET_ORDER}${field}`] = to;
    }
  }
}

/** Merge the additions patch into the deletions patch (both strategic), lists by merge key. */
function mergePatches(deletions: JsonMap, additions: JsonMap, kind: string, path: string[]): JsonMap {
  const out: JsonMap = { ...deletions };
  for (const [k, v] of Object.entries(additions)) {
    const existing = out[k];
    if (isMap(existing) && isMap(v)) out[k] = mergePatches(existing, v, kind, [...path, k]);
    else if (Array.isArray(existing) && Array.isArray(v) && !k.startsWith('$')) {
      const rule = ruleFor(kind, [...path, k]);
      if (rule && 'mergeKey' in rule) {
        const key = rule.mergeKey;
        const merged = [...existing];
        for (const item of v) {
          const at = merged.findIndex((x) => isMap(x) && isMap(item) && deepEqual(x[key], item[key]) && x['$patch'] === undefined);
          if (at >= 0 && isMap(merged[at]) && isMap(item)) merged[at] = mergePatches(merged[at] as JsonMap, item, kind, [...path, k]);
          else merged.push(item);
        }
        out[k] = merged;
      } else out[k] = v;
    } else out[k] = v;
  }
  return out;
}

export function threeWayStrategicPatch(original: Json, modified: Json, current: Json, kind: string): JsonMap {
  const o = isMap(original) ? original : {};
  const m = isMap(modified) ? modified : {};
  const c = isMap(current) ? current : {};
  const delta = diffMaps(c, m, kind, [], { ignoreDeletions: true, ignoreChangesAndAdditions: false });
  const deletions = diffMaps(o, m, kind, [], { ignoreDeletions: false, ignoreChangesAndAdditions: true });
  return mergePatches(deletions, delta, kind, []);
}
