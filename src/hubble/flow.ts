// Hubble's Flow: the record every datapath event becomes. Field names are the
// proto names Hubble prints with `-o json` (IP, l4, Type, Summary, ...), enums
// are kept as numbers and named on output, 64-bit values are plain numbers
// (they fit: cookies and cgroup IDs are small here). A flow is JSON-safe, so
// history rows and the daemon's stream carry it as JSON.stringify() of itself.

import { goJsonString } from '../util/go-json.js';
export const Verdict = { VERDICT_UNKNOWN: 0, FORWARDED: 1, DROPPED: 2, ERROR: 3, AUDIT: 4, REDIRECTED: 5, TRACED: 6, TRANSLATED: 7 } as const;
export const VERDICT_NAMES = ['VERDICT_UNKNOWN', 'FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'];

export const FlowType = { UNKNOWN_TYPE: 0, L3_L4: 1, L7: 2, SOCK: 3 } as const;
export const FLOW_TYPE_NAMES = ['UNKNOWN_TYPE', 'L3_L4', 'L7', 'SOCK'];

export const TrafficDirection = { TRAFFIC_DIRECTION_UNKNOWN: 0, INGRESS: 1, EGRESS: 2 } as const;
export const TRAFFIC_DIRECTION_NAMES = ['TRAFFIC_DIRECTION_UNKNOWN', 'INGRESS', 'EGRESS'];

/** The proto enum: the datapath's to-endpoint (0) is 101 here so 0 can mean unknown. */
export const TraceObservationPoint = {
  UNKNOWN_POINT: 0,
  TO_PROXY: 1,
  TO_HOST: 2,
  TO_STACK: 3,
  TO_OVERLAY: 4,
  FROM_ENDPOINT: 5,
  FROM_PROXY: 6,
  FROM_HOST: 7,
  FROM_STACK: 8,
  FROM_OVERLAY: 9,
  FROM_NETWORK: 10,
  TO_NETWORK: 11,
  FROM_CRYPTO: 12,
  TO_CRYPTO: 13,
  TO_ENDPOINT: 101,
} as const;
const OBS_POINT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TraceObservationPoint).map(([k, v]) => [v, k]));
export function observationPointName(p: number): string {
  return OBS_POINT_NAMES[p] ?? String(p);
}

export const TraceReason = { TRACE_REASON_UNKNOWN: 0, NEW: 1, ESTABLISHED: 2, REPLY: 3, RELATED: 4, REOPENED: 5, SRV6_ENCAP: 6, SRV6_DECAP: 7, ENCRYPT_OVERLAY: 8 } as const;
export const TRACE_REASON_NAMES = ['TRACE_REASON_UNKNOWN', 'NEW', 'ESTABLISHED', 'REPLY', 'RELATED', 'REOPENED', 'SRV6_ENCAP', 'SRV6_DECAP', 'ENCRYPT_OVERLAY'];

export const IPVersion = { IP_NOT_USED: 0, IPv4: 1, IPv6: 2 } as const;
export const IP_VERSION_NAMES = ['IP_NOT_USED', 'IPv4', 'IPv6'];

export const L7FlowType = { UNKNOWN_L7_TYPE: 0, REQUEST: 1, RESPONSE: 2, SAMPLE: 3 } as const;
export const L7_TYPE_NAMES = ['UNKNOWN_L7_TYPE', 'REQUEST', 'RESPONSE', 'SAMPLE'];

export const AUTH_TYPE_NAMES = ['DISABLED', 'SPIRE', 'TEST_ALWAYS_FAIL'];

export const SockXlatePoint = { SOCK_XLATE_POINT_UNKNOWN: 0, PRE_DIRECTION_FWD: 1, POST_DIRECTION_FWD: 2, PRE_DIRECTION_REV: 3, POST_DIRECTION_REV: 4 } as const;
export const SOCK_XLATE_NAMES = ['SOCK_XLATE_POINT_UNKNOWN', 'SOCK_XLATE_POINT_PRE_DIRECTION_FWD', 'SOCK_XLATE_POINT_POST_DIRECTION_FWD', 'SOCK_XLATE_POINT_PRE_DIRECTION_REV', 'SOCK_XLATE_POINT_POST_DIRECTION_REV'];

export const LostEventSource = { UNKNOWN_LOST_EVENT_SOURCE: 0, PERF_EVENT_RING_BUFFER: 1, OBSERVER_EVENTS_QUEUE: 2, HUBBLE_RING_BUFFER: 3 } as const;
export const LOST_EVENT_SOURCE_NAMES = ['UNKNOWN_LOST_EVENT_SOURCE', 'PERF_EVENT_RING_BUFFER', 'OBSERVER_EVENTS_QUEUE', 'HUBBLE_RING_BUFFER'];

/** flow.DropReason: enum names by code (the reference's §1.2 list). */
export const DROP_REASON_NAMES: Record<number, string> = {
  0: 'DROP_REASON_UNKNOWN',
  130: 'INVALID_SOURCE_MAC',
  131: 'INVALID_DESTINATION_MAC',
  132: 'INVALID_SOURCE_IP',
  133: 'POLICY_DENIED',
  134: 'INVALID_PACKET_DROPPED',
  135: 'CT_TRUNCATED_OR_INVALID_HEADER',
  136: 'CT_MISSING_TCP_ACK_FLAG',
  137: 'CT_UNKNOWN_L4_PROTOCOL',
  138: 'CT_CANNOT_CREATE_ENTRY_FROM_PACKET',
  139: 'UNSUPPORTED_L3_PROTOCOL',
  140: 'MISSED_TAIL_CALL',
  141: 'ERROR_WRITING_TO_PACKET',
  142: 'UNKNOWN_L4_PROTOCOL',
  143: 'UNKNOWN_ICMPV4_CODE',
  144: 'UNKNOWN_ICMPV4_TYPE',
  145: 'UNKNOWN_ICMPV6_CODE',
  146: 'UNKNOWN_ICMPV6_TYPE',
  147: 'ERROR_RETRIEVING_TUNNEL_KEY',
  148: 'ERROR_RETRIEVING_TUNNEL_OPTIONS',
  149: 'INVALID_GENEVE_OPTION',
  150: 'UNKNOWN_L3_TARGET_ADDRESS',
  151: 'STALE_OR_UNROUTABLE_IP',
  152: 'NO_MATCHING_LOCAL_CONTAINER_FOUND',
  153: 'ERROR_WHILE_CORRECTING_L3_CHECKSUM',
  154: 'ERROR_WHILE_CORRECTING_L4_CHECKSUM',
  155: 'CT_MAP_INSERTION_FAILED',
  156: 'INVALID_IPV6_EXTENSION_HEADER',
  157: 'IP_FRAGMENTATION_NOT_SUPPORTED',
  158: 'SERVICE_BACKEND_NOT_FOUND',
  160: 'NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT',
  161: 'FAILED_TO_INSERT_INTO_PROXYMAP',
  162: 'REACHED_EDT_RATE_LIMITING_DROP_HORIZON',
  163: 'UNKNOWN_CONNECTION_TRACKING_STATE',
  164: 'LOCAL_HOST_IS_UNREACHABLE',
  165: 'NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION',
  166: 'UNSUPPORTED_L2_PROTOCOL',
  167: 'NO_MAPPING_FOR_NAT_MASQUERADE',
  168: 'UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE',
  169: 'FIB_LOOKUP_FAILED',
  170: 'ENCAPSULATION_TRAFFIC_IS_PROHIBITED',
  171: 'INVALID_IDENTITY',
  172: 'UNKNOWN_SENDER',
  173: 'NAT_NOT_NEEDED',
  174: 'IS_A_CLUSTERIP',
  175: 'FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND',
  176: 'FORBIDDEN_ICMPV6_MESSAGE',
  177: 'DENIED_BY_LB_SRC_RANGE_CHECK',
  178: 'SOCKET_LOOKUP_FAILED',
  179: 'SOCKET_ASSIGN_FAILED',
  180: 'PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL',
  181: 'POLICY_DENY',
  182: 'VLAN_FILTERED',
  183: 'INVALID_VNI',
  184: 'INVALID_TC_BUFFER',
  185: 'NO_SID',
  186: 'MISSING_SRV6_STATE',
  187: 'NAT46',
  188: 'NAT64',
  189: 'AUTH_REQUIRED',
  190: 'CT_NO_MAP_FOUND',
  191: 'SNAT_NO_MAP_FOUND',
  192: 'INVALID_CLUSTER_ID',
  193: 'UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP',
  194: 'NO_EGRESS_GATEWAY',
  195: 'UNENCRYPTED_TRAFFIC',
  196: 'TTL_EXCEEDED',
  197: 'NO_NODE_ID',
  198: 'DROP_RATE_LIMITED',
  199: 'IGMP_HANDLED',
  200: 'IGMP_SUBSCRIBED',
  201: 'MULTICAST_HANDLED',
  202: 'DROP_HOST_NOT_READY',
  203: 'DROP_EP_NOT_READY',
  204: 'DROP_NO_EGRESS_IP',
  205: 'DROP_PUNT_PROXY',
};
export const DROP_REASON_BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(DROP_REASON_NAMES).map(([k, v]) => [v, Number(k)]));

export function dropReasonName(code: number): string {
  return DROP_REASON_NAMES[code] ?? String(code);
}

/** Monitor message types as `event_type.type`. */
export const EventTypeNumber = { DROP: 1, DEBUG: 2, CAPTURE: 3, TRACE: 4, POLICY_VERDICT: 5, RECORDER: 6, TRACE_SOCK: 7, L7: 129, AGENT: 130 } as const;

/** Reserved identities by number → the name used in `(world)` and `--identity world`. */
export { RESERVED_IDENTITY_NAMES } from '../datapath/identity.js';

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Workload {
  name: string;
  kind: string;
}

export interface Endpoint {
  ID?: number;
  identity?: number;
  cluster_name?: string;
  namespace?: string;
  labels?: string[];
  pod_name?: string;
  workloads?: Workload[];
}

export interface Service {
  name: string;
  namespace: string;
}

export interface Policy {
  name: string;
  namespace: string;
  labels: string[];
  revision: number;
  kind: string;
}

export interface TCPFlags {
  FIN?: boolean;
  SYN?: boolean;
  RST?: boolean;
  PSH?: boolean;
  ACK?: boolean;
  URG?: boolean;
  ECE?: boolean;
  CWR?: boolean;
  NS?: boolean;
}

export interface Layer4 {
  TCP?: { source_port?: number; destination_port?: number; flags?: TCPFlags };
  UDP?: { source_port?: number; destination_port?: number };
  SCTP?: { source_port?: number; destination_port?: number };
  ICMPv4?: { type?: number; code?: number };
  ICMPv6?: { type?: number; code?: number };
}

export interface HTTPHeader {
  key: string;
  value: string;
}

export interface Layer7 {
  type: number;
  latency_ns?: number;
  http?: { code?: number; method?: string; url?: string; protocol?: string; headers?: HTTPHeader[] };
  dns?: { query?: string; ips?: string[]; ttl?: number; cnames?: string[]; observation_source?: string; rcode?: number; qtypes?: string[]; rrtypes?: string[] };
}

export interface Flow {
  time: Timestamp;
  uuid: string;
  emitter?: { name: string; version: string };
  verdict: number;
  drop_reason?: number;
  auth_type?: number;
  ethernet?: { source: string; destination: string };
  IP?: { source: string; source_xlated?: string; destination: string; ipVersion: number; encrypted?: boolean };
  l4?: Layer4;
  source?: Endpoint;
  destination?: Endpoint;
  Type: number;
  node_name: string;
  node_labels?: string[];
  source_names?: string[];
  destination_names?: string[];
  l7?: Layer7;
  /** Deprecated copy of is_reply: printed only when true. */
  reply?: boolean;
  event_type?: { type: number; sub_type?: number };
  source_service?: Service;
  destination_service?: Service;
  traffic_direction?: number;
  policy_match_type?: number;
  trace_observation_point?: number;
  trace_reason?: number;
  file?: { name: string; line: number };
  drop_reason_desc?: number;
  /** A BoolValue: undefined = unknown (absent), false is printed. */
  is_reply?: boolean;
  interface?: { index: number; name: string };
  proxy_port?: number;
  sock_xlate_point?: number;
  socket_cookie?: number;
  cgroup_id?: number;
  Summary?: string;
  egress_allowed_by?: Policy[];
  ingress_allowed_by?: Policy[];
  egress_denied_by?: Policy[];
  ingress_denied_by?: Policy[];
  policy_log?: string[];
}

/** What GetFlows streams: a flow, or a lost-events notice, or a node status change. */
export interface LostEvents {
  source: number;
  num_events_lost: number;
  cpu?: number;
  first?: Timestamp;
  last?: Timestamp;
}

export interface NodeStatusEvent {
  state_change: 'UNKNOWN_NODE_STATE' | 'NODE_CONNECTED' | 'NODE_UNAVAILABLE' | 'NODE_GONE' | 'NODE_ERROR';
  node_names: string[];
  message?: string;
}

export type FlowsResponse =
  | { flow: Flow; node_name: string; time: Timestamp }
  | { lost_events: LostEvents; node_name: string; time: Timestamp }
  | { node_status: NodeStatusEvent; node_name: string; time: Timestamp };

export const EMITTER = { name: 'Hubble', version: '1.19.4+gpodpath' } as const;
const EMITTER_JSON = `,"emitter":{"name":"${EMITTER.name}","version":"${EMITTER.version}"}`;

// ---- time ------------------------------------------------------------------------------

/** Unix nanoseconds would overflow a double; this compares (seconds, nanos). */
export function compareTime(a: Timestamp, b: Timestamp): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

/** Whole microseconds since the epoch (exact for dates before year 2255): what history indexes. */
export function timeMicros(t: Timestamp): number {
  return t.seconds * 1_000_000 + Math.floor(t.nanos / 1000);
}

export function timeFromMillis(ms: number): Timestamp {
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  const nanos = (whole - seconds * 1000) * 1_000_000 + Math.round((ms - whole) * 1_000_000);
  return nanos >= 1_000_000_000 ? { seconds: seconds + 1, nanos: nanos - 1_000_000_000 } : { seconds, nanos };
}

export function timeToMillis(t: Timestamp): number {
  return t.seconds * 1000 + t.nanos / 1_000_000;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** RFC 3339 in UTC with the shortest of 0, 3, 6 or 9 fraction digits (protobuf's JSON form). */
let lastSeconds = NaN;
let lastBase = '';

export function formatTimestamp(t: Timestamp): string {
  const base = t.seconds === lastSeconds ? lastBase : secondsBase(t.seconds);
  const n = t.nanos;
  if (n === 0) return base + 'Z';
  if (n % 1_000_000 === 0) return `${base}.${pad(n / 1_000_000, 3)}Z`;
  if (n % 1000 === 0) return `${base}.${pad(n / 1000, 6)}Z`;
  return `${base}.${pad(n, 9)}Z`;
}

function secondsBase(seconds: number): string {
  const d = new Date(seconds * 1000);
  lastSeconds = seconds;
  lastBase = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return lastBase;
}

/** Parse an RFC 3339 timestamp back (as printed by formatTimestamp or any RFC 3339 writer). */
export function parseTimestamp(s: string): Timestamp | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

// ---- JSON (hubble observe -o json) ---------------------------------------------------------

const q = goJsonString;

function strList(a: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i ? ',' : '') + q(a[i]!);
  return s + ']';
}

const endpointJsonCache = new WeakMap<Endpoint, string>();
const listJsonCache = new WeakMap<readonly string[], string>();

function cachedList(a: readonly string[]): string {
  let s = listJsonCache.get(a);
  if (s === undefined) {
    s = strList(a);
    listJsonCache.set(a, s);
  }
  return s;
}

/** Endpoint objects are shared between flows (the parser caches them) and never mutated: their JSON is cached too. */
function endpointJson(e: Endpoint): string {
  let s = endpointJsonCache.get(e);
  if (s === undefined) {
    s = endpointJsonUncached(e);
    endpointJsonCache.set(e, s);
  }
  return s;
}

function endpointJsonUncached(e: Endpoint): string {
  const parts: string[] = [];
  if (e.ID) parts.push(`"ID":${e.ID}`);
  if (e.identity) parts.push(`"identity":${e.identity}`);
  if (e.cluster_name) parts.push(`"cluster_name":${q(e.cluster_name)}`);
  if (e.namespace) parts.push(`"namespace":${q(e.namespace)}`);
  if (e.labels && e.labels.length) parts.push(`"labels":${strList(e.labels)}`);
  if (e.pod_name) parts.push(`"pod_name":${q(e.pod_name)}`);
  if (e.workloads && e.workloads.length) {
    parts.push(`"workloads":[${e.workloads.map((w) => `{${w.name ? `"name":${q(w.name)}` : ''}${w.name && w.kind ? ',' : ''}${w.kind ? `"kind":${q(w.kind)}` : ''}}`).join(',')}]`);
  }
  return `{${parts.join(',')}}`;
}

function ports(p: { source_port?: number; destination_port?: number }): string[] {
  const out: string[] = [];
  if (p.source_port) out.push(`"source_port":${p.source_port}`);
  if (p.destination_port) out.push(`"destination_port":${p.destination_port}`);
  return out;
}

const FLAG_ORDER: (keyof TCPFlags)[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];

function l4Json(l4: Layer4): string {
  if (l4.TCP) {
    const parts = ports(l4.TCP);
    const f = l4.TCP.flags;
    if (f) {
      const set = FLAG_ORDER.filter((k) => f[k]).map((k) => `"${k}":true`);
      if (set.length) parts.push(`"flags":{${set.join(',')}}`);
    }
    return `{"TCP":{${parts.join(',')}}}`;
  }
  if (l4.UDP) return `{"UDP":{${ports(l4.UDP).join(',')}}}`;
  if (l4.SCTP) return `{"SCTP":{${ports(l4.SCTP).join(',')}}}`;
  const icmp = l4.ICMPv4 ? ['ICMPv4', l4.ICMPv4] as const : l4.ICMPv6 ? ['ICMPv6', l4.ICMPv6] as const : undefined;
  if (icmp) {
    const parts: string[] = [];
    if (icmp[1].type) parts.push(`"type":${icmp[1].type}`);
    if (icmp[1].code) parts.push(`"code":${icmp[1].code}`);
    return `{"${icmp[0]}":{${parts.join(',')}}}`;
  }
  return '{}';
}

function serviceJson(s: Service): string {
  const parts: string[] = [];
  if (s.name) parts.push(`"name":${q(s.name)}`);
  if (s.namespace) parts.push(`"namespace":${q(s.namespace)}`);
  return `{${parts.join(',')}}`;
}

function policiesJson(list: readonly Policy[]): string {
  return `[${list
    .map((p) => {
      const parts: string[] = [];
      if (p.name) parts.push(`"name":${q(p.name)}`);
      if (p.namespace) parts.push(`"namespace":${q(p.namespace)}`);
      if (p.labels.length) parts.push(`"labels":${strList(p.labels)}`);
      if (p.revision) parts.push(`"revision":"${p.revision}"`);
      if (p.kind) parts.push(`"kind":${q(p.kind)}`);
      return `{${parts.join(',')}}`;
    })
    .join(',')}]`;
}

function l7Json(l7: Layer7): string {
  const parts: string[] = [];
  if (l7.type) parts.push(`"type":"${L7_TYPE_NAMES[l7.type] ?? l7.type}"`);
  if (l7.latency_ns) parts.push(`"latency_ns":"${l7.latency_ns}"`);
  if (l7.http) {
    const h = l7.http;
    const hp: string[] = [];
    if (h.code) hp.push(`"code":${h.code}`);
    if (h.method) hp.push(`"method":${q(h.method)}`);
    if (h.url) hp.push(`"url":${q(h.url)}`);
    if (h.protocol) hp.push(`"protocol":${q(h.protocol)}`);
    if (h.headers && h.headers.length) hp.push(`"headers":[${h.headers.map((x) => `{"key":${q(x.key)},"value":${q(x.value)}}`).join(',')}]`);
    parts.push(`"http":{${hp.join(',')}}`);
  }
  if (l7.dns) {
    const d = l7.dns;
    const dp: string[] = [];
    if (d.query) dp.push(`"query":${q(d.query)}`);
    if (d.ips && d.ips.length) dp.push(`"ips":${strList(d.ips)}`);
    if (d.ttl) dp.push(`"ttl":${d.ttl}`);
    if (d.cnames && d.cnames.length) dp.push(`"cnames":${strList(d.cnames)}`);
    if (d.observation_source) dp.push(`"observation_source":${q(d.observation_source)}`);
    if (d.rcode) dp.push(`"rcode":${d.rcode}`);
    if (d.qtypes && d.qtypes.length) dp.push(`"qtypes":${strList(d.qtypes)}`);
    if (d.rrtypes && d.rrtypes.length) dp.push(`"rrtypes":${strList(d.rrtypes)}`);
    parts.push(`"dns":{${dp.join(',')}}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The Flow as `hubble observe -o json` prints it: proto names, keys in
 * flow.proto declaration order, zero values left out, enums by name, uint64
 * as strings, HTML characters escaped.
 */
export function flowToJson(f: Flow, time = formatTimestamp(f.time)): string {
  let s = `{"time":"${time}"`;
  if (f.uuid) s += `,"uuid":${q(f.uuid)}`;
  if (f.emitter) s += f.emitter === EMITTER ? EMITTER_JSON : `,"emitter":{"name":${q(f.emitter.name)},"version":${q(f.emitter.version)}}`;
  if (f.verdict) s += `,"verdict":"${VERDICT_NAMES[f.verdict] ?? f.verdict}"`;
  if (f.drop_reason) s += `,"drop_reason":${f.drop_reason}`;
  if (f.auth_type) s += `,"auth_type":"${AUTH_TYPE_NAMES[f.auth_type] ?? f.auth_type}"`;
  if (f.ethernet) s += `,"ethernet":{"source":"${f.ethernet.source}","destination":"${f.ethernet.destination}"}`;
  if (f.IP) {
    const ip = f.IP;
    s += `,"IP":{"source":"${ip.source}"`;
    if (ip.source_xlated) s += `,"source_xlated":"${ip.source_xlated}"`;
    s += `,"destination":"${ip.destination}"`;
    if (ip.ipVersion) s += `,"ipVersion":"${IP_VERSION_NAMES[ip.ipVersion]}"`;
    if (ip.encrypted) s += `,"encrypted":true`;
    s += '}';
  }
  if (f.l4) s += `,"l4":${l4Json(f.l4)}`;
  if (f.source) s += `,"source":${endpointJson(f.source)}`;
  if (f.destination) s += `,"destination":${endpointJson(f.destination)}`;
  if (f.Type) s += `,"Type":"${FLOW_TYPE_NAMES[f.Type] ?? f.Type}"`;
  if (f.node_name) s += `,"node_name":${q(f.node_name)}`;
  if (f.node_labels && f.node_labels.length) s += `,"node_labels":${cachedList(f.node_labels)}`;
  if (f.source_names && f.source_names.length) s += `,"source_names":${strList(f.source_names)}`;
  if (f.destination_names && f.destination_names.length) s += `,"destination_names":${strList(f.destination_names)}`;
  if (f.l7) s += `,"l7":${l7Json(f.l7)}`;
  if (f.reply) s += `,"reply":true`;
  if (f.event_type) s += f.event_type.sub_type ? `,"event_type":{"type":${f.event_type.type},"sub_type":${f.event_type.sub_type}}` : `,"event_type":{"type":${f.event_type.type}}`;
  if (f.source_service) s += `,"source_service":${serviceJson(f.source_service)}`;
  if (f.destination_service) s += `,"destination_service":${serviceJson(f.destination_service)}`;
  if (f.traffic_direction) s += `,"traffic_direction":"${TRAFFIC_DIRECTION_NAMES[f.traffic_direction]}"`;
  if (f.policy_match_type) s += `,"policy_match_type":${f.policy_match_type}`;
  if (f.trace_observation_point) s += `,"trace_observation_point":"${observationPointName(f.trace_observation_point)}"`;
  if (f.trace_reason) s += `,"trace_reason":"${TRACE_REASON_NAMES[f.trace_reason] ?? f.trace_reason}"`;
  if (f.file) s += `,"file":{"name":${q(f.file.name)}${f.file.line ? `,"line":${f.file.line}` : ''}}`;
  if (f.drop_reason_desc) s += `,"drop_reason_desc":"${dropReasonName(f.drop_reason_desc)}"`;
  if (f.is_reply !== undefined) s += `,"is_reply":${f.is_reply}`;
  if (f.interface) s += `,"interface":{${f.interface.index ? `"index":${f.interface.index}` : ''}${f.interface.index && f.interface.name ? ',' : ''}${f.interface.name ? `"name":${q(f.interface.name)}` : ''}}`;
  if (f.proxy_port) s += `,"proxy_port":${f.proxy_port}`;
  if (f.sock_xlate_point) s += `,"sock_xlate_point":"${SOCK_XLATE_NAMES[f.sock_xlate_point]}"`;
  if (f.socket_cookie) s += `,"socket_cookie":"${f.socket_cookie}"`;
  if (f.cgroup_id) s += `,"cgroup_id":"${f.cgroup_id}"`;
  if (f.Summary) s += `,"Summary":${q(f.Summary)}`;
  if (f.egress_allowed_by && f.egress_allowed_by.length) s += `,"egress_allowed_by":${policiesJson(f.egress_allowed_by)}`;
  if (f.ingress_allowed_by && f.ingress_allowed_by.length) s += `,"ingress_allowed_by":${policiesJson(f.ingress_allowed_by)}`;
  if (f.egress_denied_by && f.egress_denied_by.length) s += `,"egress_denied_by":${policiesJson(f.egress_denied_by)}`;
  if (f.ingress_denied_by && f.ingress_denied_by.length) s += `,"ingress_denied_by":${policiesJson(f.ingress_denied_by)}`;
  if (f.policy_log && f.policy_log.length) s += `,"policy_log":${strList(f.policy_log)}`;
  return s + '}';
}

/** One GetFlowsResponse line: `{"flow":{…},"node_name":"…","time":"…"}`. */
export function flowResponseJson(f: Flow): string {
  const t = formatTimestamp(f.time);
  return `{"flow":${flowToJson(f, t)},"node_name":${q(f.node_name)},"time":"${t}"}`;
}

export function lostEventsJson(l: LostEvents, nodeName: string, time: Timestamp): string {
  const parts: string[] = [];
  if (l.source) parts.push(`"source":"${LOST_EVENT_SOURCE_NAMES[l.source]}"`);
  if (l.num_events_lost) parts.push(`"num_events_lost":"${l.num_events_lost}"`);
  if (l.cpu !== undefined) parts.push(`"cpu":${l.cpu}`);
  if (l.first) parts.push(`"first":"${formatTimestamp(l.first)}"`);
  if (l.last) parts.push(`"last":"${formatTimestamp(l.last)}"`);
  return `{"lost_events":{${parts.join(',')}},"node_name":${q(nodeName)},"time":"${formatTimestamp(time)}"}`;
}

// ---- reading JSON back (--input-file, the proto3 JSON form) --------------------------------

function enumValue(names: readonly string[] | Record<number, string>, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return 0;
  const entries = Array.isArray(names) ? names.map((n, i) => [i, n] as const) : Object.entries(names).map(([k, n]) => [Number(k), n] as const);
  for (const [i, n] of entries) if (n === v) return i;
  return 0;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

/** A flow from its proto3 JSON form (what `-o json` prints, inside or outside the `{"flow":…}` envelope). */
export function flowFromJson(input: Record<string, unknown>): Flow {
  const o = (input['flow'] && typeof input['flow'] === 'object' ? input['flow'] : input) as Record<string, unknown>;
  const time = typeof o['time'] === 'string' ? (parseTimestamp(o['time']) ?? { seconds: 0, nanos: 0 }) : { seconds: 0, nanos: 0 };
  const f: Flow = { time, uuid: String(o['uuid'] ?? ''), verdict: enumValue(VERDICT_NAMES, o['verdict']), Type: enumValue(FLOW_TYPE_NAMES, o['Type']), node_name: String(o['node_name'] ?? '') };
  const copy = o as Record<string, unknown> & Partial<Flow>;
  if (copy.emitter) f.emitter = copy.emitter;
  if (o['drop_reason'] !== undefined) f.drop_reason = num(o['drop_reason']);
  if (o['auth_type'] !== undefined) f.auth_type = enumValue(AUTH_TYPE_NAMES, o['auth_type']);
  if (copy.ethernet) f.ethernet = copy.ethernet;
  if (o['IP']) {
    const ip = o['IP'] as Record<string, unknown>;
    f.IP = { source: String(ip['source'] ?? ''), destination: String(ip['destination'] ?? ''), ipVersion: enumValue(IP_VERSION_NAMES, ip['ipVersion']) };
    if (ip['source_xlated']) f.IP.source_xlated = String(ip['source_xlated']);
    if (ip['encrypted']) f.IP.encrypted = true;
  }
  if (copy.l4) f.l4 = copy.l4;
  if (copy.source) f.source = copy.source;
  if (copy.destination) f.destination = copy.destination;
  if (copy.node_labels) f.node_labels = copy.node_labels;
  if (copy.source_names) f.source_names = copy.source_names;
  if (copy.destination_names) f.destination_names = copy.destination_names;
  if (o['l7']) {
    const l7 = o['l7'] as Record<string, unknown>;
    f.l7 = { ...(l7 as unknown as Layer7), type: enumValue(L7_TYPE_NAMES, l7['type']) };
    const lat = num(l7['latency_ns']);
    if (lat) f.l7.latency_ns = lat;
    else delete f.l7.latency_ns;
  }
  if (o['reply']) f.reply = true;
  if (copy.event_type) f.event_type = copy.event_type;
  if (copy.source_service) f.source_service = copy.source_service;
  if (copy.destination_service) f.destination_service = copy.destination_service;
  if (o['traffic_direction'] !== undefined) f.traffic_direction = enumValue(TRAFFIC_DIRECTION_NAMES, o['traffic_direction']);
  if (o['policy_match_type'] !== undefined) f.policy_match_type = num(o['policy_match_type']);
  if (o['trace_observation_point'] !== undefined) f.trace_observation_point = enumValue(OBS_POINT_NAMES, o['trace_observation_point']);
  if (o['trace_reason'] !== undefined) f.trace_reason = enumValue(TRACE_REASON_NAMES, o['trace_reason']);
  if (copy.file) f.file = copy.file;
  if (o['drop_reason_desc'] !== undefined) f.drop_reason_desc = typeof o['drop_reason_desc'] === 'string' ? (DROP_REASON_BY_NAME[o['drop_reason_desc']] ?? 0) : num(o['drop_reason_desc']);
  if (typeof o['is_reply'] === 'boolean') f.is_reply = o['is_reply'];
  if (copy.interface) f.interface = copy.interface;
  if (o['proxy_port'] !== undefined) f.proxy_port = num(o['proxy_port']);
  if (o['sock_xlate_point'] !== undefined) f.sock_xlate_point = enumValue(SOCK_XLATE_NAMES, o['sock_xlate_point']);
  if (o['socket_cookie'] !== undefined) f.socket_cookie = num(o['socket_cookie']);
  if (o['cgroup_id'] !== undefined) f.cgroup_id = num(o['cgroup_id']);
  if (typeof o['Summary'] === 'string') f.Summary = o['Summary'];
  for (const k of ['egress_allowed_by', 'ingress_allowed_by', 'egress_denied_by', 'ingress_denied_by'] as const) {
    const list = o[k];
    if (Array.isArray(list)) f[k] = list.map((p: Record<string, unknown>) => ({ name: String(p['name'] ?? ''), namespace: String(p['namespace'] ?? ''), labels: (p['labels'] as string[] | undefined) ?? [], revision: num(p['revision']) ?? 0, kind: String(p['kind'] ?? '') }));
  }
  if (copy.policy_log) f.policy_log = copy.policy_log;
  return f;
}
