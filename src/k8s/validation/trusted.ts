// The decode stage for trusted in-process writers (the cluster's controllers,
// kubelets and agents), whose bodies are built from objects that were
// validated when they were stored. Instead of running the zod schema, walk a
// plan compiled from it once: copy the body in the schema's key order (so the
// stored JSON is byte-for-byte what the full decode stores), drop null
// members, fill apiVersion and kind, and check each value's JSON type.
// Anything the plan does not expect (an unknown field, a wrong type, a null in
// a list, a mismatched kind) gives up and answers undefined, and the caller
// runs the full decode, which rejects it with the usual 400. Refinements
// (RFC 3339 times, quantities, int32 ranges) are not re-checked here.

import type { z } from 'zod';
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import { dropNulls, isPlainObject, type JsonObject } from '../json.js';

/** A member of an object plan: its place in the schema's key order and its own plan. */
interface Field {
  pos: number;
  plan: Plan;
}

/** An object plan, with the last out-of-order key sequence it met and that sequence in schema order. */
interface ObjectPlan {
  k: 'object';
  fields: Map<string, Field>;
  seen?: string[];
  sorted?: string[];
}

type Plan =
  | ObjectPlan
  | { k: 'array'; element: Plan }
  | { k: 'record'; value: Plan }
  | { k: 'string' }
  | { k: 'number'; int: boolean }
  | { k: 'boolean' }
  | { k: 'unknown' }
  | { k: 'union'; options: Plan[] };

/** Thrown (and caught below) when the body is not what the plan expects. */
const GIVE_UP: unique symbol = Symbol('give up');

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  format?: string;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

const plans = new WeakMap<z.ZodType, Plan | null>();

/** The copy plan of a schema, or null when it uses something the plan cannot express. */
function planOf(schema: z.ZodType): Plan | null {
  const known = plans.get(schema);
  if (known !== undefined) return known;
  const d = defOf(schema);
  let plan: Plan | null;
  switch (d.type) {
    case 'optional':
      plan = planOf(d.innerType!);
      break;
    case 'object': {
      // Only strict objects: a catch-all would keep unknown members the plan cannot place.
      if (d.catchall && defOf(d.catchall).type !== 'never') {
        plan = null;
        break;
      }
      const fields = new Map<string, Field>();
      plan = { k: 'object', fields };
      plans.set(schema, plan); // recursive schemas reach this entry
      for (const [key, sub] of Object.entries(d.shape ?? {})) {
        const p = planOf(sub);
        if (!p) {
          plan = null;
          break;
        }
        fields.set(key, { pos: fields.size, plan: p });
      }
      break;
    }
    case 'array': {
      const element = planOf(d.element!);
      plan = element ? { k: 'array', element } : null;
      break;
    }
    case 'record': {
      const value = planOf(d.valueType!);
      plan = value ? { k: 'record', value } : null;
      break;
    }
    case 'union': {
      const options = (d.options ?? []).map(planOf);
      plan = options.every((o): o is Plan => o !== null && o.k !== 'object' && o.k !== 'array' && o.k !== 'record') ? { k: 'union', options } : null;
      break;
    }
    case 'string':
      plan = { k: 'string' };
      break;
    case 'number':
      plan = { k: 'number', int: d.format === 'safeint' || d.format === 'int32' };
      break;
    case 'boolean':
      plan = { k: 'boolean' };
      break;
    case 'unknown':
      plan = { k: 'unknown' };
      break;
    default:
      plan = null;
  }
  plans.set(schema, plan);
  return plan;
}

function scalarFits(plan: Plan, v: unknown): boolean {
  switch (plan.k) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && (plan.int ? Number.isSafeInteger(v) : Number.isFinite(v));
    case 'boolean':
      return typeof v === 'boolean';
    case 'unknown':
      return true;
    case 'union':
      return plan.options.some((o) => scalarFits(o, v));
    default:
      return false;
  }
}

function copy(plan: Plan, v: unknown): unknown {
  switch (plan.k) {
    case 'object': {
      if (!isPlainObject(v)) throw GIVE_UP;
      // Walk the members present (a handful), not the schema's (dozens), in the schema's order.
      let last = -1;
      let ordered = true;
      for (const key in v) {
        const f = plan.fields.get(key);
        if (!f) throw GIVE_UP;
        if (f.pos < last) ordered = false;
        last = f.pos;
      }
      const out: JsonObject = {};
      if (ordered) {
        for (const key in v) {
          const x = v[key];
          if (x !== null && x !== undefined) out[key] = copy(plan.fields.get(key)!.plan, x);
        }
        return out;
      }
      // Bodies built by one piece of code share their key order: sort it once per plan and reuse it.
      let keys = plan.seen && sameKeys(plan.seen, v) ? plan.sorted! : undefined;
      if (!keys) {
        const seen = Object.keys(v);
        keys = [...seen].sort((a, b) => plan.fields.get(a)!.pos - plan.fields.get(b)!.pos);
        plan.seen = seen;
        plan.sorted = keys;
      }
      for (const key of keys) {
        const x = v[key];
        if (x !== null && x !== undefined) out[key] = copy(plan.fields.get(key)!.plan, x);
      }
      return out;
    }
    case 'array': {
      if (!Array.isArray(v)) throw GIVE_UP;
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (x === null || x === undefined) throw GIVE_UP;
        out[i] = copy(plan.element, x);
      }
      return out;
    }
    case 'record': {
      if (!isPlainObject(v)) throw GIVE_UP;
      const out: JsonObject = {};
      for (const key in v) {
        if (key === '__proto__') throw GIVE_UP;
        const x = v[key];
        if (x === null || x === undefined) continue;
        out[key] = copy(plan.value, x);
      }
      return out;
    }
    case 'unknown':
      return dropNulls(v);
    default:
      if (!scalarFits(plan, v)) throw GIVE_UP;
      return v;
  }
}

/** `v`'s own keys are exactly `keys`, in that order. */
function sameKeys(keys: string[], v: JsonObject): boolean {
  let i = 0;
  for (const key in v) if (keys[i++] !== key) return false;
  return i === keys.length;
}

/**
 * What decodeObject answers for a well-formed body (a fresh object, owned by
 * the caller), or undefined when the body needs the full decode.
 */
export function decodeTrusted(resource: ResourceInfo, schema: z.ZodType, body: unknown): JsonObject | undefined {
  if (!isPlainObject(body)) return undefined;
  const plan = planOf(schema);
  if (!plan || plan.k !== 'object') return undefined;
  const version = apiVersionOf(resource);
  const givenVersion = body['apiVersion'];
  const givenKind = body['kind'];
  if ((givenVersion !== undefined && givenVersion !== null && givenVersion !== version) || (givenKind !== undefined && givenKind !== null && givenKind !== resource.kind)) {
    return undefined;
  }
  try {
    return copy(plan, { ...body, apiVersion: version, kind: resource.kind }) as JsonObject;
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}
