// The daemon's trace routes: POST /podpath/v1/trace (a TraceRequest, manifests
// for --with as objects) → a TraceResult; POST /podpath/v1/whatif ({with,
// without, namespaces}) → a WhatIfResult. Errors are {error} with 400 (bad
// request: unknown pod, invalid manifest) or 500.

import { parseAllDocuments } from 'yaml';
import type { ClusterRuntime } from '../cluster/runtime.js';
import type { KubeObject } from '../k8s/types.js';
import { trace, TraceError, type TraceRequest } from './trace.js';
import { whatIf } from './whatif.js';

export const TRACE_PATH = '/podpath/v1/trace';
export const WHATIF_PATH = '/podpath/v1/whatif';

export interface WhatIfRequest {
  with?: KubeObject[];
  without?: string[];
  namespaces?: string[];
}

/** YAML or JSON manifests (several documents, `List` kinds flattened) as objects. */
export function parseManifests(text: string, source = 'input'): KubeObject[] {
  const out: KubeObject[] = [];
  const docs = parseAllDocuments(text);
  for (const d of docs) {
    if (d.errors.length) throw new TraceError(`${source}: ${d.errors[0]!.message}`);
    const v = d.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new TraceError(`${source}: expected a Kubernetes object`);
    const o = v as KubeObject & { items?: KubeObject[] };
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) out.push(...o.items);
    else out.push(o);
  }
  for (const o of out) {
    if (!o || typeof o !== 'object' || typeof o.kind !== 'string' || !o.metadata || typeof o.metadata.name !== 'string') throw new TraceError(`${source}: every object needs kind and metadata.name`);
  }
  return out;
}

const str = (x: unknown): x is string => typeof x === 'string';
const strList = (x: unknown): x is string[] => Array.isArray(x) && x.every(str);
const objList = (x: unknown): x is KubeObject[] => Array.isArray(x) && x.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o));

function traceRequest(b: Record<string, unknown>): TraceRequest | string {
  if (!str(b['src']) || !str(b['dst'])) return 'trace: expected {src, dst, port?, protocol?, httpMethod?, httpPath?, reply?, with?, without?, record?}';
  const r: TraceRequest = { src: b['src'], dst: b['dst'] };
  if (b['port'] !== undefined) {
    if (typeof b['port'] !== 'number') return 'trace: port must be a number';
    r.port = b['port'];
  }
  if (b['protocol'] !== undefined) {
    if (!str(b['protocol'])) return 'trace: protocol must be tcp, udp, icmp or sctp';
    r.protocol = b['protocol'] as TraceRequest['protocol'];
  }
  for (const k of ['httpMethod', 'httpPath'] as const) {
    if (b[k] === undefined) continue;
    if (!str(b[k])) return `trace: ${k} must be a string`;
    r[k] = b[k] as string;
  }
  if (b['reply'] !== undefined) r.reply = b['reply'] === true;
  if (b['record'] !== undefined) r.record = b['record'] === true;
  if (b['with'] !== undefined) {
    if (!objList(b['with'])) return 'trace: with must be a list of objects';
    r.with = b['with'];
  }
  if (b['without'] !== undefined) {
    if (!strList(b['without'])) return 'trace: without must be a list of KIND/NS/NAME';
    r.without = b['without'];
  }
  return r;
}

/** Serve one request of a trace route. */
export function handleTraceRequest(rt: ClusterRuntime, kind: 'trace' | 'whatif', body: unknown): { status: number; body: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: { error: `${kind}: the request is not a JSON object` } };
  const b = body as Record<string, unknown>;
  try {
    if (kind === 'trace') {
      const r = traceRequest(b);
      if (typeof r === 'string') return { status: 400, body: { error: r } };
      return { status: 200, body: trace(rt, r) };
    }
    if (b['with'] !== undefined && !objList(b['with'])) return { status: 400, body: { error: 'whatif: with must be a list of objects' } };
    if (b['without'] !== undefined && !strList(b['without'])) return { status: 400, body: { error: 'whatif: without must be a list of KIND/NS/NAME' } };
    if (b['namespaces'] !== undefined && !strList(b['namespaces'])) return { status: 400, body: { error: 'whatif: namespaces must be a list of names' } };
    const w = whatIf(rt, (b['with'] as KubeObject[] | undefined) ?? [], (b['without'] as string[] | undefined) ?? [], { ...(b['namespaces'] ? { namespaces: b['namespaces'] as string[] } : {}) });
    return { status: 200, body: w };
  } catch (err) {
    if (err instanceof TraceError) return { status: 400, body: { error: err.message } };
    return { status: 500, body: { error: (err as Error).message } };
  }
}
