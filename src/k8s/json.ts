// Small JSON helpers the apiserver pieces share.

export type JsonObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/**
 * Equal as JSON: what `canonicalJson(a) === canonicalJson(b)` says, without
 * building the text. Key order does not matter, object members whose value is
 * undefined count as absent, and undefined in an array reads as null.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // JSON.stringify writes NaN and the infinities as null.
    if (typeof a === 'number' && typeof b === 'number') return !Number.isFinite(a) && !Number.isFinite(b);
    if (typeof a === 'number' && b === null) return !Number.isFinite(a);
    if (typeof b === 'number' && a === null) return !Number.isFinite(b);
    return false;
  }
  const arrA = Array.isArray(a);
  if (arrA !== Array.isArray(b)) return false;
  if (arrA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      if (!jsonEqual(x[i] === undefined ? null : x[i], y[i] === undefined ? null : y[i])) return false;
    }
    return true;
  }
  if (!isPlainJson(a) || !isPlainJson(b)) return canonicalJson(a) === canonicalJson(b);
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let nx = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    nx++;
    const w = y[k];
    if (w === undefined || !Object.prototype.hasOwnProperty.call(y, k) || !jsonEqual(v, w)) return false;
  }
  let ny = 0;
  for (const k in y) if (y[k] !== undefined) ny++;
  return nx === ny;
}

/** A plain object (what JSON.parse makes), as opposed to a Date, a Map or a typed array. */
function isPlainJson(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A deep copy. JSON-shaped values (plain objects, arrays, primitives) are
 * copied directly, several times faster than structuredClone; anything else
 * (a Date, a typed array) goes through structuredClone. The copy is never
 * frozen, so a frozen cached object can be cloned and edited.
 */
export function clone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = clone(v[i] as unknown);
    return out as T;
  }
  if (!isPlainJson(v)) return structuredClone(v);
  const out: JsonObject = {};
  for (const k in v) {
    // A "__proto__" member (JSON.parse makes it an own property) must stay a member, not become the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: clone((v as JsonObject)[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = clone((v as JsonObject)[k]);
  }
  return out as T;
}

/**
 * Remove object members whose value is null, at every depth. Go decodes a null
 * field as its zero value, so manifests like `creationTimestamp: null` (what
 * `kubectl create --dry-run -o yaml` prints) are accepted the same way here.
 */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isPlainObject(v)) {
    const out: JsonObject = {};
    for (const k in v) {
      const x = v[k];
      if (x !== null) out[k] = dropNulls(x);
    }
    return out;
  }
  return v;
}

/** Freeze a value and everything inside it (watch events share one object between listeners). */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    // for-in, not Object.values: no array per object (every stored object is frozen member by member).
    for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
