// Flow filters: the FlowFilter record (proto field names, as `--allowlist`
// JSON uses them), how the server matches one against a flow, and how
// `hubble observe`'s flags become allowlist/denylist filters (the left/right
// trackers, --not, conflicts, namespaces applied last).

import { RE2JS } from 're2js';
import { parseCidr, parseIpv4Addr } from '../packet/ip.js';
import {
  DROP_REASON_BY_NAME,
  EventTypeNumber,
  IP_VERSION_NAMES,
  RESERVED_IDENTITY_NAMES,
  TRAFFIC_DIRECTION_NAMES,
  VERDICT_NAMES,
  type Endpoint,
  type Flow,
  type Service,
  type TCPFlags,
} from './flow.js';

export interface EventTypeFilter {
  type: number;
  match_sub_type?: boolean;
  sub_type?: number;
}

export interface WorkloadFilter {
  name?: string;
  kind?: string;
}

/** A FlowFilter: fields AND-ed, values within a field OR-ed. Enum fields take names or numbers. */
export interface FlowFilter {
  uuid?: string[];
  source_ip?: string[];
  source_ip_xlated?: string[];
  source_pod?: string[];
  source_fqdn?: string[];
  source_label?: string[];
  source_service?: string[];
  source_workload?: WorkloadFilter[];
  source_cluster_name?: string[];
  destination_ip?: string[];
  destination_pod?: string[];
  destination_fqdn?: string[];
  destination_label?: string[];
  destination_service?: string[];
  destination_workload?: WorkloadFilter[];
  destination_cluster_name?: string[];
  traffic_direction?: (number | string)[];
  verdict?: (number | string)[];
  drop_reason_desc?: (number | string)[];
  interface?: { name?: string; index?: number }[];
  event_type?: EventTypeFilter[];
  http_status_code?: string[];
  protocol?: string[];
  source_port?: string[];
  destination_port?: string[];
  reply?: boolean[];
  dns_query?: string[];
  source_identity?: number[];
  destination_identity?: number[];
  http_method?: string[];
  http_path?: string[];
  http_url?: string[];
  http_header?: { key: string; value: string }[];
  tcp_flags?: TCPFlags[];
  node_name?: string[];
  node_labels?: string[];
  ip_version?: (number | string)[];
  trace_id?: string[];
  encrypted?: boolean[];
}

export type FlowPredicate = (f: Flow) => boolean;

export class FilterError extends Error {}

// ---- matching --------------------------------------------------------------------------

function enumNumbers(values: readonly (number | string)[], names: readonly string[] | Record<string, number>, what: string): Set<number> {
  const out = new Set<number>();
  for (const v of values) {
    if (typeof v === 'number') out.add(v);
    else {
      const n = Array.isArray(names) ? names.indexOf(v) : (names as Record<string, number>)[v];
      if (n === undefined || n < 0) throw new FilterError(`unknown ${what} ${JSON.stringify(v)}`);
      out.add(n);
    }
  }
  return out;
}

/** `[ns/]prefix` as the server reads it: no slash = namespace default; empty namespace = any. */
function parseNamespacedPrefix(v: string): { ns: string; prefix: string; anyNs: boolean } {
  const i = v.indexOf('/');
  if (i < 0) return { ns: 'default', prefix: v, anyNs: false };
  const ns = v.slice(0, i);
  return { ns, prefix: v.slice(i + 1), anyNs: ns === '' };
}

function podMatcher(values: readonly string[], side: (f: Flow) => Endpoint | undefined): FlowPredicate {
  const parsed = values.map(parseNamespacedPrefix);
  return (f) => {
    const ep = side(f);
    if (!ep || (!ep.namespace && !ep.pod_name)) return false;
    const ns = ep.namespace ?? '';
    const pod = ep.pod_name ?? '';
    for (const p of parsed) {
      if (!p.anyNs && p.ns !== ns) continue;
      if (p.prefix === '' || pod.startsWith(p.prefix)) return true;
    }
    return false;
  };
}

function serviceMatcher(values: readonly string[], side: (f: Flow) => Service | undefined): FlowPredicate {
  const parsed = values.map(parseNamespacedPrefix);
  return (f) => {
    const s = side(f);
    if (!s || (!s.namespace && !s.name)) return false;
    for (const p of parsed) {
      if (!p.anyNs && p.ns !== s.namespace) continue;
      if (p.prefix === '' || s.name.startsWith(p.prefix)) return true;
    }
    return false;
  };
}

function ipMatcher(values: readonly string[], get: (f: Flow) => string | undefined): FlowPredicate {
  const exact = new Set<string>();
  const cidrs: { addr: number; mask: number }[] = [];
  for (const v of values) {
    if (v.includes('/')) {
      const c = parseCidr(v);
      if (!c) throw new FilterError(`invalid IP address in filter: "${v}"`);
      const mask = c.prefixLen === 0 ? 0 : (~0 << (32 - c.prefixLen)) >>> 0;
      cidrs.push({ addr: (c.addr & mask) >>> 0, mask });
    } else {
      if (parseIpv4Addr(v) === null && !v.includes(':')) throw new FilterError(`invalid IP address in filter: "${v}"`);
      exact.add(v);
    }
  }
  return (f) => {
    const ip = get(f);
    if (!ip) return false;
    if (exact.has(ip)) return true;
    if (cidrs.length) {
      const n = parseIpv4Addr(ip);
      if (n === null) return false;
      for (const c of cidrs) if (((n & c.mask) >>> 0) === c.addr) return true;
    }
    return false;
  };
}

/** FQDN pattern: case-insensitive, trailing dot ignored, `*` = [-.0-9a-z]*, anchored. */
function fqdnMatcher(values: readonly string[], get: (f: Flow) => string[] | undefined): FlowPredicate {
  const res = values.map((v) => {
    const p = v.toLowerCase().replace(/\.$/, '');
    if (!/^[-a-z0-9.*_]*$/.test(p)) throw new FilterError(`invalid FQDN pattern: ${v}`);
    return new RegExp('^' + p.replace(/\./g, '\\.').replace(/\*/g, '[-.0-9a-z]*') + '$');
  });
  return (f) => {
    const names = get(f);
    if (!names) return false;
    for (const n of names) {
      const name = n.toLowerCase().replace(/\.$/, '');
      for (const r of res) if (r.test(name)) return true;
    }
    return false;
  };
}

// Label selectors (k8s syntax) over Cilium labels `source:key=value`.
interface Requirement {
  source: string | undefined;
  key: string;
  op: 'exists' | '!' | '=' | '!=' | 'in' | 'notin';
  values: string[];
}

function splitKey(k: string): { source: string | undefined; key: string } {
  const i = k.indexOf(':');
  if (i < 0) return { source: undefined, key: k };
  const source = k.slice(0, i);
  return { source: source === 'any' ? undefined : source, key: k.slice(i + 1) };
}

/** Parse `app=x,tier in (a,b),!legacy,env!=prod` into requirements. */
export function parseLabelSelector(sel: string): Requirement[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const out: Requirement[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) throw new FilterError(`invalid label selector: "${sel}"`);
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p);
    if (m) {
      out.push({ ...splitKey(m[1]!), op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((s) => s.trim()) });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|!=|=)\s*(\S*)$/.exec(p);
    if (m) {
      out.push({ ...splitKey(m[1]!), op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
      continue;
    }
    m = /^!\s*(\S+)$/.exec(p);
    if (m) {
      out.push({ ...splitKey(m[1]!), op: '!', values: [] });
      continue;
    }
    if (/^[^\s=!()]+$/.test(p)) {
      out.push({ ...splitKey(p), op: 'exists', values: [] });
      continue;
    }
    throw new FilterError(`invalid label selector: "${sel}"`);
  }
  return out;
}

interface ParsedLabel {
  source: string;
  key: string;
  value: string;
}

function parseCiliumLabel(l: string, defaultSource: string): ParsedLabel {
  const colon = l.indexOf(':');
  const eq = l.indexOf('=');
  const hasSource = colon >= 0 && (eq < 0 || colon < eq);
  const source = hasSource ? l.slice(0, colon) : defaultSource;
  const rest = hasSource ? l.slice(colon + 1) : l;
  const e = rest.indexOf('=');
  return e < 0 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, e), value: rest.slice(e + 1) };
}

function selectorMatches(reqs: readonly Requirement[], labels: readonly ParsedLabel[]): boolean {
  for (const r of reqs) {
    const vals = labels.filter((l) => l.key === r.key && (r.source === undefined || r.source === l.source)).map((l) => l.value);
    switch (r.op) {
      case 'exists':
        if (!vals.length) return false;
        break;
      case '!':
        if (vals.length) return false;
        break;
      case '=':
        if (!vals.includes(r.values[0]!)) return false;
        break;
      case '!=':
        if (vals.includes(r.values[0]!)) return false;
        break;
      case 'in':
        if (!vals.some((v) => r.values.includes(v))) return false;
        break;
      case 'notin':
        if (vals.some((v) => r.values.includes(v))) return false;
        break;
    }
  }
  return true;
}

function labelMatcher(values: readonly string[], get: (f: Flow) => readonly string[] | undefined, defaultSource = 'unspec'): FlowPredicate {
  const sels = values.map(parseLabelSelector);
  return (f) => {
    const labels = (get(f) ?? []).map((l) => parseCiliumLabel(l, defaultSource));
    return sels.some((s) => selectorMatches(s, labels));
  };
}

function portOf(f: Flow, source: boolean): number {
  const l4 = f.l4;
  if (!l4) return 0;
  const p = l4.TCP ?? l4.UDP ?? l4.SCTP;
  if (!p) return 0;
  return (source ? p.source_port : p.destination_port) ?? 0;
}

function portMatcher(values: readonly string[], source: boolean): FlowPredicate {
  const ports = new Set<number>();
  for (const v of values) {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 65535) throw new FilterError(`invalid port number: ${v}`);
    ports.add(n);
  }
  return (f) => {
    const p = portOf(f, source);
    return p !== 0 && ports.has(p);
  };
}

const PROTOCOLS = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv4', 'icmpv6', 'vrrp', 'igmp', 'dns', 'http', 'kafka'];

function protocolMatcher(values: readonly string[]): FlowPredicate {
  const ps = values.map((v) => {
    const p = v.toLowerCase();
    if (!PROTOCOLS.includes(p)) throw new FilterError(`unknown protocol: ${v}`);
    return p;
  });
  return (f) => {
    for (const p of ps) {
      switch (p) {
        case 'tcp':
          if (f.l4?.TCP) return true;
          break;
        case 'udp':
          if (f.l4?.UDP) return true;
          break;
        case 'sctp':
          if (f.l4?.SCTP) return true;
          break;
        case 'icmp':
          if (f.l4?.ICMPv4 || f.l4?.ICMPv6) return true;
          break;
        case 'icmpv4':
          if (f.l4?.ICMPv4) return true;
          break;
        case 'icmpv6':
          if (f.l4?.ICMPv6) return true;
          break;
        case 'http':
          if (f.l7?.http) return true;
          break;
        case 'dns':
          if (f.l7?.dns) return true;
          break;
        default:
          break;
      }
    }
    return false;
  };
}

function httpStatusMatcher(values: readonly string[]): FlowPredicate {
  const checks = values.map((v) => {
    if (/^[1-5][0-9][0-9]$/.test(v)) return (code: string): boolean => code === v;
    if (/^[1-5][0-9]?\+$/.test(v)) {
      const prefix = v.slice(0, -1);
      return (code: string): boolean => code.startsWith(prefix);
    }
    throw new FilterError(`invalid status code filter: "${v}"`);
  });
  return (f) => {
    const code = f.l7?.http?.code;
    if (!code) return false;
    const s = String(code);
    return checks.some((c) => c(s));
  };
}

function compileRe2(v: string): RE2JS {
  try {
    return RE2JS.compile(v);
  } catch (e) {
    throw new FilterError(`invalid regular expression "${v}": ${(e as Error).message}`);
  }
}

function urlPath(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  if (m) return m[1] || '';
  const q = url.search(/[?#]/);
  return q < 0 ? url : url.slice(0, q);
}

function wildcardRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '$');
}

/** `[cluster/]node`, `*` wildcards; a name without `/` is compared as `default/<name>`. */
function nodeNameMatcher(values: readonly string[]): FlowPredicate {
  const res = values.map((v) => {
    const i = v.indexOf('/');
    const cluster = i < 0 ? '*' : v.slice(0, i) || '*';
    const node = i < 0 ? v : v.slice(i + 1) || '*';
    return { cluster: wildcardRegExp(cluster), node: wildcardRegExp(node) };
  });
  return (f) => {
    const n = f.node_name;
    const i = n.indexOf('/');
    const cluster = i < 0 ? 'default' : n.slice(0, i);
    const node = i < 0 ? n : n.slice(i + 1);
    return res.some((r) => r.cluster.test(cluster) && r.node.test(node));
  };
}

function workloadMatcher(values: readonly WorkloadFilter[], side: (f: Flow) => Endpoint | undefined): FlowPredicate {
  return (f) => {
    const ws = side(f)?.workloads;
    if (!ws) return false;
    return values.some((v) => ws.some((w) => (!v.name || v.name === w.name) && (!v.kind || v.kind === w.kind)));
  };
}

const src = (f: Flow): Endpoint | undefined => f.source;
const dst = (f: Flow): Endpoint | undefined => f.destination;

/** One FlowFilter as a predicate: every set field must match. Throws FilterError on bad values. */
export function compileFilter(ff: FlowFilter): FlowPredicate {
  const preds: FlowPredicate[] = [];
  const has = <T>(a: readonly T[] | undefined): a is readonly T[] => Array.isArray(a) && a.length > 0;
  if (has(ff.uuid)) {
    const s = new Set(ff.uuid);
    preds.push((f) => s.has(f.uuid));
  }
  if (has(ff.source_ip)) preds.push(ipMatcher(ff.source_ip, (f) => f.IP?.source));
  if (has(ff.source_ip_xlated)) preds.push(ipMatcher(ff.source_ip_xlated, (f) => f.IP?.source_xlated));
  if (has(ff.destination_ip)) preds.push(ipMatcher(ff.destination_ip, (f) => f.IP?.destination));
  if (has(ff.source_pod)) preds.push(podMatcher(ff.source_pod, src));
  if (has(ff.destination_pod)) preds.push(podMatcher(ff.destination_pod, dst));
  if (has(ff.source_service)) preds.push(serviceMatcher(ff.source_service, (f) => f.source_service));
  if (has(ff.destination_service)) preds.push(serviceMatcher(ff.destination_service, (f) => f.destination_service));
  if (has(ff.source_fqdn)) preds.push(fqdnMatcher(ff.source_fqdn, (f) => f.source_names));
  if (has(ff.destination_fqdn)) preds.push(fqdnMatcher(ff.destination_fqdn, (f) => f.destination_names));
  if (has(ff.source_label)) preds.push(labelMatcher(ff.source_label, (f) => f.source?.labels));
  if (has(ff.destination_label)) preds.push(labelMatcher(ff.destination_label, (f) => f.destination?.labels));
  if (has(ff.source_workload)) preds.push(workloadMatcher(ff.source_workload, src));
  if (has(ff.destination_workload)) preds.push(workloadMatcher(ff.destination_workload, dst));
  if (has(ff.source_cluster_name)) {
    const s = new Set(ff.source_cluster_name);
    preds.push((f) => s.has(f.source?.cluster_name ?? ''));
  }
  if (has(ff.destination_cluster_name)) {
    const s = new Set(ff.destination_cluster_name);
    preds.push((f) => s.has(f.destination?.cluster_name ?? ''));
  }
  if (has(ff.source_identity)) {
    const s = new Set(ff.source_identity.map(Number));
    preds.push((f) => s.has(f.source?.identity ?? 0));
  }
  if (has(ff.destination_identity)) {
    const s = new Set(ff.destination_identity.map(Number));
    preds.push((f) => s.has(f.destination?.identity ?? 0));
  }
  if (has(ff.verdict)) {
    const s = enumNumbers(ff.verdict, VERDICT_NAMES, 'verdict');
    preds.push((f) => s.has(f.verdict));
  }
  if (has(ff.drop_reason_desc)) {
    const s = enumNumbers(ff.drop_reason_desc, DROP_REASON_BY_NAME, 'drop reason');
    preds.push((f) => s.has(f.drop_reason_desc ?? 0));
  }
  if (has(ff.traffic_direction)) {
    const s = enumNumbers(ff.traffic_direction, TRAFFIC_DIRECTION_NAMES, 'traffic direction');
    preds.push((f) => s.has(f.traffic_direction ?? 0));
  }
  if (has(ff.ip_version)) {
    const s = enumNumbers(ff.ip_version, IP_VERSION_NAMES, 'IP version');
    preds.push((f) => s.has(f.IP?.ipVersion ?? 0));
  }
  if (has(ff.encrypted)) {
    const s = new Set(ff.encrypted);
    preds.push((f) => s.has(f.IP?.encrypted ?? false));
  }
  if (has(ff.reply)) {
    const s = new Set(ff.reply);
    preds.push((f) => s.has(f.is_reply ?? false));
  }
  if (has(ff.event_type)) {
    const ets = ff.event_type;
    preds.push((f) => {
      const t = f.event_type;
      if (!t) return false;
      return ets.some((e) => e.type === t.type && (!e.match_sub_type || (e.sub_type ?? 0) === (t.sub_type ?? 0)));
    });
  }
  if (has(ff.protocol)) preds.push(protocolMatcher(ff.protocol));
  if (has(ff.source_port)) preds.push(portMatcher(ff.source_port, true));
  if (has(ff.destination_port)) preds.push(portMatcher(ff.destination_port, false));
  if (has(ff.http_status_code)) preds.push(httpStatusMatcher(ff.http_status_code));
  if (has(ff.http_method)) {
    const s = new Set(ff.http_method.map((m) => m.toUpperCase()));
    preds.push((f) => !!f.l7?.http?.method && s.has(f.l7.http.method.toUpperCase()));
  }
  if (has(ff.http_path)) {
    const res = ff.http_path.map(compileRe2);
    preds.push((f) => {
      const url = f.l7?.http?.url;
      if (!url) return false;
      const path = urlPath(url);
      return res.some((r) => r.test(path));
    });
  }
  if (has(ff.http_url)) {
    const res = ff.http_url.map(compileRe2);
    preds.push((f) => {
      const url = f.l7?.http?.url;
      return !!url && res.some((r) => r.test(url));
    });
  }
  if (has(ff.http_header)) {
    const hs = ff.http_header;
    preds.push((f) => {
      const headers = f.l7?.http?.headers;
      return !!headers && hs.some((h) => headers.some((x) => x.key === h.key && x.value === h.value));
    });
  }
  if (has(ff.dns_query)) {
    const res = ff.dns_query.map(compileRe2);
    preds.push((f) => {
      const q = f.l7?.dns?.query;
      return !!q && res.some((r) => r.test(q));
    });
  }
  if (has(ff.tcp_flags)) {
    const sets = ff.tcp_flags.map((t) => (Object.keys(t) as (keyof TCPFlags)[]).filter((k) => t[k]));
    preds.push((f) => {
      const flags = f.l4?.TCP?.flags;
      if (!flags) return false;
      return sets.some((s) => s.every((k) => flags[k]));
    });
  }
  if (has(ff.node_name)) preds.push(nodeNameMatcher(ff.node_name));
  if (has(ff.node_labels)) preds.push(labelMatcher(ff.node_labels, (f) => f.node_labels, ''));
  if (has(ff.interface)) {
    const ifs = ff.interface;
    preds.push((f) => !!f.interface && ifs.some((i) => (!i.name || i.name === f.interface!.name) && (!i.index || i.index === f.interface!.index)));
  }
  if (preds.length === 0) return () => true;
  if (preds.length === 1) return preds[0]!;
  return (f) => {
    for (const p of preds) if (!p(f)) return false;
    return true;
  };
}

/** A flow passes when it matches any allowlist filter (or there is none) and no denylist filter. */
export function compileFilters(whitelist: readonly FlowFilter[] = [], blacklist: readonly FlowFilter[] = []): FlowPredicate {
  const allow = whitelist.map(compileFilter);
  const deny = blacklist.map(compileFilter);
  if (!allow.length && !deny.length) return () => true;
  return (f) => {
    if (allow.length) {
      let ok = false;
      for (const p of allow) {
        if (p(f)) {
          ok = true;
          break;
        }
      }
      if (!ok) return false;
    }
    for (const p of deny) if (p(f)) return false;
    return true;
  };
}

// ---- hubble observe flags → filters -----------------------------------------------------

/** The CLI's short names of trace observation points, by monitor subtype. */
export const TRACE_POINT_SHORT_NAMES = ['to-endpoint', 'to-proxy', 'to-host', 'to-stack', 'to-overlay', 'from-endpoint', 'from-proxy', 'from-host', 'from-stack', 'from-overlay', 'from-network', 'to-network', 'from-crypto', 'to-crypto'];

export const MESSAGE_TYPE_NAMES: Record<string, number> = {
  drop: EventTypeNumber.DROP,
  debug: EventTypeNumber.DEBUG,
  capture: EventTypeNumber.CAPTURE,
  trace: EventTypeNumber.TRACE,
  'policy-verdict': EventTypeNumber.POLICY_VERDICT,
  recorder: EventTypeNumber.RECORDER,
  'trace-sock': EventTypeNumber.TRACE_SOCK,
  l7: EventTypeNumber.L7,
  agent: EventTypeNumber.AGENT,
};

const RESERVED_IDENTITY_BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(RESERVED_IDENTITY_NAMES).filter(([k]) => k !== '0').map(([k, v]) => [v, Number(k)]));

export function parseIdentity(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const id = RESERVED_IDENTITY_BY_NAME[v];
  if (id === undefined) {
    const names = Object.keys(RESERVED_IDENTITY_BY_NAME).sort();
    throw new FilterError(`invalid security identity, expected one of [${names.join(' ')}] or a numeric value`);
  }
  return id;
}

/** `name`, `Kind/name` or `Kind/`. */
export function parseWorkload(v: string): WorkloadFilter {
  const i = v.indexOf('/');
  if (i < 0) return { name: v };
  const w: WorkloadFilter = {};
  if (v.slice(0, i)) w.kind = v.slice(0, i);
  if (v.slice(i + 1)) w.name = v.slice(i + 1);
  return w;
}

function parseTcpFlags(v: string): TCPFlags {
  const flags: TCPFlags = {};
  for (const part of v.split(',')) {
    const k = part.toUpperCase();
    if (!['SYN', 'FIN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'].includes(k)) throw new FilterError(`unknown tcp flag: ${part}`);
    flags[k as keyof TCPFlags] = true;
  }
  return flags;
}

/** Every flag `hubble observe` treats as a filter (the order --not and conflicts see them in). */
export const FILTER_FLAGS = [
  'not',
  'uuid',
  'fqdn',
  'from-fqdn',
  'to-fqdn',
  'pod',
  'from-pod',
  'to-pod',
  'ip',
  'from-ip',
  'to-ip',
  'snat-ip',
  'ipv4',
  'ipv6',
  'ip-version',
  'label',
  'from-label',
  'to-label',
  'namespace',
  'from-namespace',
  'to-namespace',
  'all-namespaces',
  'from-all-namespaces',
  'to-all-namespaces',
  'service',
  'from-service',
  'to-service',
  'port',
  'from-port',
  'to-port',
  'trace-id',
  'verdict',
  'drop-reason-desc',
  'http-status',
  'http-method',
  'http-path',
  'http-url',
  'http-header',
  'type',
  'protocol',
  'workload',
  'from-workload',
  'to-workload',
  'identity',
  'from-identity',
  'to-identity',
  'node-name',
  'node-label',
  'cluster',
  'tcp-flags',
  'traffic-direction',
  'interface',
  'encrypted',
  'unencrypted',
] as const;

const CONFLICTS: string[][] = [
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-namespace', 'namespace', 'from-all-namespaces', 'all-namespaces'],
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-pod', 'pod'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-namespace', 'namespace', 'to-all-namespaces', 'all-namespaces'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-pod', 'pod'],
  ['to-pod', 'namespace', 'all-namespaces'],
  ['from-pod', 'namespace', 'all-namespaces'],
  ['to-service', 'namespace', 'all-namespaces'],
  ['from-service', 'namespace', 'all-namespaces'],
  ['label', 'from-label'],
  ['label', 'to-label'],
  ['service', 'from-service'],
  ['service', 'to-service'],
  ['port', 'to-port'],
  ['port', 'from-port'],
  ['identity', 'to-identity'],
  ['identity', 'from-identity'],
  ['workload', 'to-workload'],
  ['workload', 'from-workload'],
  ['node-name', 'cluster'],
  ['encrypted', 'unencrypted'],
];

type ListKey = { [K in keyof FlowFilter]-?: FlowFilter[K] extends unknown[] | undefined ? K : never }[keyof FlowFilter];

function push<K extends ListKey>(ff: FlowFilter, key: K, v: NonNullable<FlowFilter[K]>[number]): void {
  ((ff[key] ??= [] as never) as unknown[]).push(v);
}

function namespaceOf(name: string): string {
  const parts = name.split('/');
  return parts.length > 1 ? parts[0]! : '';
}

function addNamespaces(list: string[] | undefined, ns: readonly string[]): string[] | undefined {
  if (!list || !list.length || !ns.length) return list;
  const out: string[] = [];
  for (const v of list) {
    if (v.includes('/')) out.push(v);
    else for (const n of ns) out.push(`${n}/${v}`);
  }
  return out;
}

class Tracker {
  left: FlowFilter | undefined;
  right: FlowFilter | undefined;
  ns: string[] = [];
  srcNs: string[] = [];
  dstNs: string[] = [];
  changed: string[] = [];

  add(name: string): boolean {
    if (this.changed.includes(name)) return false;
    this.changed.push(name);
    return true;
  }

  both(fn: (f: FlowFilter) => void): void {
    fn((this.left ??= {}));
    fn((this.right ??= {}));
  }

  sides(l: (f: FlowFilter) => void, r: (f: FlowFilter) => void): void {
    l((this.left ??= {}));
    r((this.right ??= {}));
  }

  checkConflict(): void {
    for (const group of CONFLICTS) {
      for (const flag of group) {
        if (!this.changed.includes(flag)) continue;
        for (const c of group) if (c !== flag && this.changed.includes(c)) throw new FilterError(`filters --${flag} and --${c} cannot be combined`);
      }
    }
  }

  checkNamespaceConflicts(ff: FlowFilter | undefined): void {
    if (!ff) return;
    const check = (nss: string[], names: string[] | undefined): void => {
      for (const ns of nss) for (const name of names ?? []) {
        const nn = namespaceOf(name);
        if (nn !== '' && nn !== ns) throw new FilterError(`namespace conflict: ${JSON.stringify(ns)} does not contain ${JSON.stringify(name)}`);
      }
    };
    check(this.ns, ff.source_pod);
    check(this.ns, ff.source_service);
    check(this.ns, ff.destination_pod);
    check(this.ns, ff.destination_service);
    check(this.srcNs, ff.source_pod);
    check(this.srcNs, ff.source_service);
    check(this.dstNs, ff.destination_pod);
    check(this.dstNs, ff.destination_service);
    const inconsistent = (pods: string[] | undefined, svcs: string[] | undefined): void => {
      for (const pod of pods ?? []) {
        const podNs = namespaceOf(pod);
        if (!podNs) continue;
        for (const svc of svcs ?? []) if (namespaceOf(svc) !== podNs) throw new FilterError(`namespace of service ${JSON.stringify(svc)} conflict with pod ${JSON.stringify(podNs)}`);
      }
    };
    inconsistent(ff.source_pod, ff.source_service);
    inconsistent(ff.destination_pod, ff.destination_service);
  }

  private applySrc(nss: string[], ff: FlowFilter): void {
    if (!ff.source_pod?.length && !ff.source_service?.length) ff.source_pod = [''];
    ff.source_pod = addNamespaces(ff.source_pod, nss);
    ff.source_service = addNamespaces(ff.source_service, nss);
    if (!ff.source_pod?.length) delete ff.source_pod;
    if (!ff.source_service?.length) delete ff.source_service;
  }

  private applyDst(nss: string[], ff: FlowFilter): void {
    if (!ff.destination_pod?.length && !ff.destination_service?.length) ff.destination_pod = [''];
    ff.destination_pod = addNamespaces(ff.destination_pod, nss);
    ff.destination_service = addNamespaces(ff.destination_service, nss);
    if (!ff.destination_pod?.length) delete ff.destination_pod;
    if (!ff.destination_service?.length) delete ff.destination_service;
  }

  filters(): FlowFilter[] {
    if (!this.left && !this.right && !this.ns.length && !this.srcNs.length && !this.dstNs.length) return [];
    const left = structuredClone(this.left ?? {});
    const right = structuredClone(this.right ?? {});
    if (this.dstNs.length) {
      this.applyDst(this.dstNs, left);
      this.applyDst(this.dstNs, right);
    }
    if (this.srcNs.length) {
      this.applySrc(this.srcNs, left);
      this.applySrc(this.srcNs, right);
    }
    if (this.ns.length) {
      this.applySrc(this.ns, left);
      this.applyDst(this.ns, right);
    }
    return JSON.stringify(left) === JSON.stringify(right) ? [left] : [left, right];
  }
}

/**
 * Collects `hubble observe` filter flags in command-line order. `set()`
 * throws FilterError with Hubble's message; the CLI wraps it the way pflag
 * does (`invalid argument "x" for "--pod" flag: ...`).
 */
export class ObserveFilterBuilder {
  private whitelist: Tracker | undefined;
  private blacklist: Tracker | undefined;
  private blacklisting = false;
  /** Whether any --type was given, and whether one was l7 (http flags need it). */
  readonly types: number[] = [];
  httpFlags: string[] = [];

  set(name: string, val = ''): void {
    if (name === 'not') {
      if (this.blacklisting) throw new FilterError('consecutive --not statements');
      this.blacklisting = true;
      return;
    }
    let t: Tracker;
    if (this.blacklisting) {
      this.blacklisting = false;
      t = this.blacklist ??= new Tracker();
    } else t = this.whitelist ??= new Tracker();
    this.apply(t, name, val);
  }

  /** After all flags: the trailing --not check. */
  finish(): { whitelist: FlowFilter[]; blacklist: FlowFilter[] } {
    if (this.blacklisting) throw new FilterError('trailing --not found in the arguments');
    return { whitelist: this.whitelist?.filters() ?? [], blacklist: this.blacklist?.filters() ?? [] };
  }

  private apply(t: Tracker, name: string, val: string): void {
    const wipe = t.add(name);
    t.checkConflict();
    switch (name) {
      case 'uuid':
        t.both((f) => push(f, 'uuid', val));
        break;
      case 'fqdn':
        t.sides((f) => push(f, 'source_fqdn', val), (f) => push(f, 'destination_fqdn', val));
        break;
      case 'from-fqdn':
        t.both((f) => push(f, 'source_fqdn', val));
        break;
      case 'to-fqdn':
        t.both((f) => push(f, 'destination_fqdn', val));
        break;
      case 'pod':
        if (val === '') throw new FilterError('empty pod name');
        t.sides((f) => push(f, 'source_pod', val), (f) => push(f, 'destination_pod', val));
        break;
      case 'from-pod':
        if (val === '') throw new FilterError('empty pod name');
        t.both((f) => push(f, 'source_pod', val));
        break;
      case 'to-pod':
        if (val === '') throw new FilterError('empty pod name');
        t.both((f) => push(f, 'destination_pod', val));
        break;
      case 'ip':
        ipMatcher([val], () => undefined);
        t.sides((f) => push(f, 'source_ip', val), (f) => push(f, 'destination_ip', val));
        break;
      case 'from-ip':
        ipMatcher([val], () => undefined);
        t.both((f) => push(f, 'source_ip', val));
        break;
      case 'to-ip':
        ipMatcher([val], () => undefined);
        t.both((f) => push(f, 'destination_ip', val));
        break;
      case 'snat-ip':
        ipMatcher([val], () => undefined);
        t.both((f) => push(f, 'source_ip_xlated', val));
        break;
      case 'ipv4':
        t.both((f) => push(f, 'ip_version', 'IPv4'));
        break;
      case 'ipv6':
        t.both((f) => push(f, 'ip_version', 'IPv6'));
        break;
      case 'ip-version': {
        const v = val.toLowerCase();
        const ver = ['4', 'v4', 'ipv4', 'ip4'].includes(v) ? 'IPv4' : ['6', 'v6', 'ipv6', 'ip6'].includes(v) ? 'IPv6' : 'IP_NOT_USED';
        t.both((f) => push(f, 'ip_version', ver));
        break;
      }
      case 'label':
        parseLabelSelector(val);
        t.sides((f) => push(f, 'source_label', val), (f) => push(f, 'destination_label', val));
        break;
      case 'from-label':
        parseLabelSelector(val);
        t.both((f) => push(f, 'source_label', val));
        break;
      case 'to-label':
        parseLabelSelector(val);
        t.both((f) => push(f, 'destination_label', val));
        break;
      case 'namespace':
        t.ns.push(val);
        break;
      case 'from-namespace':
        t.srcNs.push(val);
        break;
      case 'to-namespace':
        t.dstNs.push(val);
        break;
      case 'all-namespaces':
        t.ns.push('');
        break;
      case 'from-all-namespaces':
        t.srcNs.push('');
        break;
      case 'to-all-namespaces':
        t.dstNs.push('');
        break;
      case 'service':
        t.sides((f) => push(f, 'source_service', val), (f) => push(f, 'destination_service', val));
        break;
      case 'from-service':
        t.both((f) => push(f, 'source_service', val));
        break;
      case 'to-service':
        t.both((f) => push(f, 'destination_service', val));
        break;
      case 'port':
        portMatcher([val], true);
        t.sides((f) => push(f, 'source_port', val), (f) => push(f, 'destination_port', val));
        break;
      case 'from-port':
        portMatcher([val], true);
        t.both((f) => push(f, 'source_port', val));
        break;
      case 'to-port':
        portMatcher([val], true);
        t.both((f) => push(f, 'destination_port', val));
        break;
      case 'trace-id':
        t.both((f) => push(f, 'trace_id', val));
        break;
      case 'verdict':
        if (wipe) t.both((f) => delete f.verdict);
        if (!VERDICT_NAMES.includes(val)) throw new FilterError(`invalid --verdict value: ${val}`);
        t.both((f) => push(f, 'verdict', val));
        break;
      case 'drop-reason-desc':
        if (val === '') throw new FilterError('empty --drop-reason-desc value');
        if (DROP_REASON_BY_NAME[val] === undefined) throw new FilterError(`invalid --drop-reason-desc value: ${val}`);
        t.both((f) => push(f, 'drop_reason_desc', val));
        break;
      case 'http-status':
        httpStatusMatcher([val]);
        this.httpFlags.push(name);
        t.both((f) => push(f, 'http_status_code', val));
        break;
      case 'http-method':
        this.httpFlags.push(name);
        t.both((f) => push(f, 'http_method', val));
        break;
      case 'http-path':
        compileRe2(val);
        this.httpFlags.push(name);
        t.both((f) => push(f, 'http_path', val));
        break;
      case 'http-url':
        compileRe2(val);
        this.httpFlags.push(name);
        t.both((f) => push(f, 'http_url', val));
        break;
      case 'http-header': {
        const i = val.indexOf(':');
        if (i < 0) throw new FilterError(`invalid http-header value ${JSON.stringify(val)}, expected name:value`);
        this.httpFlags.push(name);
        t.both((f) => push(f, 'http_header', { key: val.slice(0, i), value: val.slice(i + 1) }));
        break;
      }
      case 'type': {
        if (wipe) t.both((f) => delete f.event_type);
        const tf = parseTypeFilter(val);
        this.types.push(tf.type);
        t.both((f) => push(f, 'event_type', { ...tf }));
        break;
      }
      case 'protocol':
        protocolMatcher([val]);
        t.both((f) => push(f, 'protocol', val));
        break;
      case 'workload': {
        const w = parseWorkload(val);
        t.sides((f) => push(f, 'source_workload', w), (f) => push(f, 'destination_workload', w));
        break;
      }
      case 'from-workload':
        t.both((f) => push(f, 'source_workload', parseWorkload(val)));
        break;
      case 'to-workload':
        t.both((f) => push(f, 'destination_workload', parseWorkload(val)));
        break;
      case 'identity': {
        const id = parseIdentity(val);
        t.sides((f) => push(f, 'source_identity', id), (f) => push(f, 'destination_identity', id));
        break;
      }
      case 'from-identity': {
        const id = parseIdentity(val);
        t.both((f) => push(f, 'source_identity', id));
        break;
      }
      case 'to-identity': {
        const id = parseIdentity(val);
        t.both((f) => push(f, 'destination_identity', id));
        break;
      }
      case 'node-name':
        t.both((f) => push(f, 'node_name', val));
        break;
      case 'node-label':
        parseLabelSelector(val);
        t.both((f) => push(f, 'node_labels', val));
        break;
      case 'cluster':
        t.both((f) => push(f, 'node_name', `${val}/`));
        break;
      case 'tcp-flags': {
        const flags = parseTcpFlags(val);
        t.both((f) => push(f, 'tcp_flags', flags));
        break;
      }
      case 'traffic-direction': {
        const td = val.toLowerCase();
        if (td !== 'ingress' && td !== 'egress') throw new FilterError(`${td}: invalid traffic direction, expected ingress or egress`);
        t.both((f) => push(f, 'traffic_direction', td.toUpperCase()));
        break;
      }
      case 'interface':
        t.both((f) => push(f, 'interface', { name: val }));
        break;
      case 'encrypted':
        t.both((f) => push(f, 'encrypted', true));
        break;
      case 'unencrypted':
        t.both((f) => push(f, 'encrypted', false));
        break;
      default:
        throw new FilterError(`unknown filter --${name}`);
    }
    t.checkNamespaceConflicts(t.left);
    t.checkNamespaceConflicts(t.right);
  }
}

/** `TYPE[:SUBTYPE]` as --type takes it. */
export function parseTypeFilter(val: string): EventTypeFilter {
  const i = val.indexOf(':');
  const head = i < 0 ? val : val.slice(0, i);
  const sub = i < 0 ? undefined : val.slice(i + 1);
  let type = MESSAGE_TYPE_NAMES[head];
  if (type === undefined) {
    if (!/^\d+$/.test(head)) throw new FilterError(`unable to parse type '${head}', not a known type name and unable to parse as numeric value: strconv.ParseUint: parsing ${JSON.stringify(head)}: invalid syntax`);
    type = Number(head);
  }
  const tf: EventTypeFilter = { type };
  if (sub !== undefined) {
    if (type === EventTypeNumber.TRACE) {
      const k = TRACE_POINT_SHORT_NAMES.indexOf(sub);
      if (k >= 0) {
        tf.match_sub_type = true;
        tf.sub_type = k;
      }
    }
    if (!tf.match_sub_type) {
      if (!/^\d+$/.test(sub)) throw new FilterError(`unable to parse event sub-type '${sub}', not a known sub-type name and unable to parse as numeric value: strconv.ParseUint: parsing ${JSON.stringify(sub)}: invalid syntax`);
      tf.match_sub_type = true;
      tf.sub_type = Number(sub);
    }
  }
  return tf;
}
