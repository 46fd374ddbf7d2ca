// podpath's Hubble records in their wire form and back: a Flow keeps its
// field names (they are the proto names) and needs only is_reply wrapped in a
// BoolValue; requests decode into the GetFlowsRequest and FlowFilter records
// the observer and the filter engine already take.

import type { FlowFilter } from '../filter.js';
import type { Flow, Timestamp } from '../flow.js';
import type { GetFlowsRequest } from '../observer.js';
import type { NodeInfo, ServerStatus } from '../relay.js';
import { NODE_STATE, T } from './schema.js';

/** protobufjs's writer already yields a Buffer under Node: take it without a copy. */
function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const TO_OBJECT = { longs: Number, enums: Number, defaults: false, arrays: false } as const;

/** A Flow as the flow.Flow message object. */
export function flowToWire(f: Flow): Record<string, unknown> {
  if (f.is_reply === undefined) return f as unknown as Record<string, unknown>;
  return { ...f, is_reply: { value: f.is_reply } };
}

export function encodeFlowResponse(f: Flow): Buffer {
  return buf(T.GetFlowsResponse.encode({ flow: flowToWire(f), node_name: f.node_name, time: f.time }).finish());
}

export function encodeNodeStatus(state: keyof typeof NODE_STATE, nodeNames: readonly string[], time: Timestamp, message?: string): Buffer {
  const ev = { state_change: NODE_STATE[state], node_names: nodeNames, ...(message ? { message } : {}) };
  return buf(T.GetFlowsResponse.encode({ node_status: ev, time }).finish());
}

function timestamp(v: unknown): Timestamp | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const t = v as { seconds?: number; nanos?: number };
  return { seconds: t.seconds ?? 0, nanos: t.nanos ?? 0 };
}

/** A GetFlowsRequest from its wire bytes; filters keep the proto field names the filter engine reads. */
export function decodeGetFlowsRequest(buf: Buffer): GetFlowsRequest {
  const o = T.GetFlowsRequest.toObject(T.GetFlowsRequest.decode(buf), TO_OBJECT) as Record<string, unknown>;
  const req: GetFlowsRequest = {};
  const number = o['number'] as number | undefined;
  // uint64 max (the CLI's --all) and anything past 2^53 mean "everything".
  if (number) req.number = number >= Number.MAX_SAFE_INTEGER ? Infinity : number;
  if (o['first']) req.first = true;
  if (o['follow']) req.follow = true;
  const since = timestamp(o['since']);
  const until = timestamp(o['until']);
  if (since) req.since = since;
  if (until) req.until = until;
  if (Array.isArray(o['whitelist'])) req.whitelist = o['whitelist'] as FlowFilter[];
  if (Array.isArray(o['blacklist'])) req.blacklist = o['blacklist'] as FlowFilter[];
  return req;
}

export function encodeServerStatus(s: ServerStatus): Buffer {
  const msg: Record<string, unknown> = {
    num_flows: s.num_flows,
    max_flows: s.max_flows,
    seen_flows: s.seen_flows,
    uptime_ns: s.uptime_ns,
    version: s.version,
    flows_rate: s.flows_rate,
  };
  if (s.num_connected_nodes !== undefined) msg['num_connected_nodes'] = { value: s.num_connected_nodes };
  if (s.num_unavailable_nodes !== undefined) msg['num_unavailable_nodes'] = { value: s.num_unavailable_nodes };
  if (s.unavailable_nodes?.length) msg['unavailable_nodes'] = s.unavailable_nodes;
  return buf(T.ServerStatusResponse.encode(msg).finish());
}

export function encodeNodes(nodes: readonly NodeInfo[]): Buffer {
  return buf(T.GetNodesResponse.encode({ nodes: nodes.map((n) => ({ ...n, state: NODE_STATE[n.state] })) }).finish());
}

export function encodeNamespaces(list: readonly { cluster: string; namespace: string }[]): Buffer {
  return buf(T.GetNamespacesResponse.encode({ namespaces: list }).finish());
}
