// Datapath events → Flows, the way Hubble's parser does it (threefour for
// trace/drop/policy-verdict, sock for trace-sock). The event gives what the
// datapath knew: packet bytes, identities, observation point, CT state,
// verdict. Everything with a name (pods, labels, workloads, services, the
// node) comes from an Enricher: the agent's caches, never a second opinion on
// the packet.

import type { DatapathEvent, DropEvent, PolicyVerdictEvent, TraceEvent, TraceSockEvent } from '../datapath/monitor.js';
import { hubbleLayer7, type AccessLogEvent } from '../datapath/accesslog.js';
import { sourceFileName } from '../datapath/drop.js';
import { icmpv4TypeCodeName } from '../packet/icmpv4.js';
import { ipv4ToString, parseIpv4Addr } from '../packet/ip.js';
import type { Rng } from '../util/rng.js';
import {
  EMITTER,
  EventTypeNumber,
  FlowType,
  IPVersion,
  TraceObservationPoint,
  TraceReason,
  TrafficDirection,
  Verdict,
  timeFromMillis,
  type Endpoint,
  type Flow,
  type Layer4,
  type Layer7,
  type Policy,
  type Service,
  type TCPFlags,
  type Workload,
} from './flow.js';

/** A Cilium endpoint on the reporting node. */
export interface LocalEndpointInfo {
  id: number;
  identity: number;
  namespace?: string;
  podName?: string;
  /** Defaults to the identity's labels. */
  labels?: readonly string[];
}

/** What the ipcache and the pod metadata say about an address anywhere in the cluster. */
export interface IpInfo {
  identity: number;
  namespace?: string;
  podName?: string;
}

/**
 * The agent's caches as Hubble's parser reads them, for one node. IPv4
 * addresses are host-order u32s. Implementations should answer from indexes:
 * the parser calls them for every event.
 */
export interface Enricher {
  /** `<cluster>/<node>`, or just `<node>` when the cluster name is `default`. */
  readonly nodeName: string;
  /** The node's labels as sorted `key=value` strings. */
  nodeLabels(): readonly string[];
  /** A local endpoint by IP (endpoint manager). */
  localEndpoint(ip: number): LocalEndpointInfo | undefined;
  /** ipcache + k8s metadata for any IP; unknown addresses are world. */
  ipInfo(ip: number): IpInfo | undefined;
  /** Labels of a security identity, reserved ones included. */
  identityLabels(identity: number): readonly string[] | undefined;
  /** Controllers owning a pod (`{name:"frontend",kind:"Deployment"}`). */
  workloads(namespace: string, podName: string): readonly Workload[] | undefined;
  /** The Service whose frontend is ip:port. */
  serviceByAddr(ip: number, port: number): Service | undefined;
  /** DNS names seen for an IP (FQDN cache), if any. */
  dnsNames(ip: number): readonly string[] | undefined;
  /** The pod of a socket's cgroup (trace-sock events), on this node. */
  podByCgroup(cgroupId: number): { ip: number } | undefined;
  /** Device name of an ifindex on this node. */
  ifName(ifindex: number): string | undefined;
  /** Called before each batch of events, so an implementation may refresh its indexes. */
  refresh?(): void;
  /** Changes whenever answers may change; lets the parser reuse resolved endpoints until then. */
  version?(): number;
}

/** Resolves a policy-verdict event's cookie to the rules behind the deciding entry. */
export interface PolicyNamer {
  policies(cookie: number, ctx: { node: string; endpointId: number; ingress: boolean; allowed: boolean }): readonly Policy[];
}

export const NO_POLICY_NAMES: PolicyNamer = { policies: () => [] };

/** Whether an object (e.g. the policy engine) can name the rules behind a cookie. */
export function isPolicyNamer(x: unknown): x is PolicyNamer {
  return typeof x === 'object' && x !== null && typeof (x as { policies?: unknown }).policies === 'function';
}

export interface ParserOptions {
  enricher: Enricher;
  policyNamer?: PolicyNamer;
  /** Source of UUIDs (seeded for reproducible runs). */
  rng: Rng;
  /** Unix ms at clock.now() = 0, to turn event times into wall times. */
  wallOffsetMs: () => number;
}

// Datapath CT states in trace events (trace.ts CtState), with the encrypt bit.
const CT_REPLY = 2;
const CT_REASON_UNKNOWN = 5;
const CT_SRV6_ENCAP = 6;
const CT_SRV6_DECAP = 7;
const TRACE_REASON_ENCRYPT_MASK = 0x80;
const TRACE_REASON_MAP = [TraceReason.NEW, TraceReason.ESTABLISHED, TraceReason.REPLY, TraceReason.RELATED, TraceReason.REOPENED, TraceReason.TRACE_REASON_UNKNOWN, TraceReason.SRV6_ENCAP, TraceReason.SRV6_DECAP, TraceReason.ENCRYPT_OVERLAY];
const DROP_POLICY_DENIED = 133;
const DROP_POLICY_DENY = 181;
const CLUSTER_LABEL = 'k8s:io.cilium.k8s.policy.cluster=';

/** What the captured bytes said. */
interface Decoded {
  srcIp: number;
  dstIp: number;
  hasIp: boolean;
  sport: number;
  dport: number;
  summary: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function mac(p: Uint8Array, o: number): string {
  return HEX[p[o]!]! + ':' + HEX[p[o + 1]!]! + ':' + HEX[p[o + 2]!]! + ':' + HEX[p[o + 3]!]! + ':' + HEX[p[o + 4]!]! + ':' + HEX[p[o + 5]!]!;
}

const ipStrings = new Map<number, string>();

function ipString(ip: number): string {
  let s = ipStrings.get(ip);
  if (s === undefined) {
    if (ipStrings.size > 65536) ipStrings.clear();
    s = ipv4ToString(ip);
    ipStrings.set(ip, s);
  }
  return s;
}

function u16(p: Uint8Array, o: number): number {
  return (p[o]! << 8) | p[o + 1]!;
}

function u32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

const FLAG_SUMMARY_ORDER: [keyof TCPFlags, number][] = [
  ['SYN', 0x02],
  ['ACK', 0x10],
  ['RST', 0x04],
  ['FIN', 0x01],
  ['PSH', 0x08],
  ['URG', 0x20],
  ['ECE', 0x40],
  ['CWR', 0x80],
];

/** TCPFlags objects and Summary texts by flag bits (shared between flows, which are never mutated). */
const TCP_FLAGS_TABLE: ({ flags: TCPFlags; summary: string } | undefined)[] = new Array(512);

function tcpFlagsEntry(bits: number): { flags: TCPFlags; summary: string } {
  let e = TCP_FLAGS_TABLE[bits];
  if (!e) {
    const flags: TCPFlags = {};
    const names: string[] = [];
    for (const [name, bit] of FLAG_SUMMARY_ORDER) {
      if (bits & bit) {
        flags[name] = true;
        names.push(name);
      }
    }
    if (bits & 0x100) {
      flags.NS = true;
      names.push('NS');
    }
    e = { flags, summary: `TCP Flags: ${names.join(', ')}` };
    TCP_FLAGS_TABLE[bits] = e;
  }
  return e;
}

const eventTypes = new Map<number, { type: number; sub_type?: number }>();

/** Shared `event_type` objects. */
function eventType(type: number, sub: number): { type: number; sub_type?: number } {
  const k = type * 65536 + sub;
  let e = eventTypes.get(k);
  if (!e) {
    e = sub ? { type, sub_type: sub } : { type };
    eventTypes.set(k, e);
  }
  return e;
}

/** Ethernet, IPv4 and L4 fields into the flow; the Summary; addresses and ports for enrichment. */
function decodePacket(p: Uint8Array, f: Flow): Decoded {
  const d: Decoded = { srcIp: 0, dstIp: 0, hasIp: false, sport: 0, dport: 0, summary: '' };
  const n = p.length;
  if (n < 14) return d;
  f.ethernet = { source: mac(p, 6), destination: mac(p, 0) };
  const ethertype = u16(p, 12);
  if (ethertype !== 0x0800 || n < 34 || p[14]! >> 4 !== 4) {
    d.summary = 'Ethernet';
    return d;
  }
  const ihl = (p[14]! & 0x0f) * 4;
  d.hasIp = true;
  d.srcIp = u32(p, 26);
  d.dstIp = u32(p, 30);
  f.IP = { source: ipString(d.srcIp), destination: ipString(d.dstIp), ipVersion: IPVersion.IPv4 };
  const proto = p[23]!;
  const l4 = 14 + ihl;
  const fragment = (u16(p, 20) & 0x3fff) !== 0;
  d.summary = 'IPv4';
  if (fragment) return d;
  if (proto === 6 && n >= l4 + 14) {
    d.sport = u16(p, l4);
    d.dport = u16(p, l4 + 2);
    const t = tcpFlagsEntry(p[l4 + 13]! | ((p[l4 + 12]! & 1) << 8));
    f.l4 = { TCP: { source_port: d.sport, destination_port: d.dport, flags: t.flags } };
    d.summary = t.summary;
  } else if (proto === 17 && n >= l4 + 8) {
    d.sport = u16(p, l4);
    d.dport = u16(p, l4 + 2);
    f.l4 = { UDP: { source_port: d.sport, destination_port: d.dport } };
    d.summary = 'UDP';
  } else if (proto === 132 && n >= l4 + 4) {
    d.sport = u16(p, l4);
    d.dport = u16(p, l4 + 2);
    f.l4 = { SCTP: { source_port: d.sport, destination_port: d.dport } };
    d.summary = 'SCTP';
  } else if (proto === 1 && n >= l4 + 2) {
    const type = p[l4]!;
    const code = p[l4 + 1]!;
    f.l4 = { ICMPv4: { type, code } };
    d.summary = `ICMPv4 ${icmpv4TypeCodeName(type, code)}`;
  }
  return d;
}

function clusterOf(labels: readonly string[] | undefined): string | undefined {
  if (!labels) return undefined;
  for (const l of labels) if (l.startsWith(CLUSTER_LABEL)) return l.slice(CLUSTER_LABEL.length);
  return undefined;
}

function sorted(labels: readonly string[] | undefined): string[] | undefined {
  if (!labels || labels.length === 0) return undefined;
  return [...labels].sort();
}

export class FlowParser {
  private readonly enricher: Enricher;
  private readonly namer: PolicyNamer;
  private readonly rng: Rng;
  private readonly wallOffsetMs: () => number;
  private offset = 0;
  /** Resolved endpoints by (ip, datapath identity), shared by flows until the enricher's answers change. */
  private readonly endpoints = new Map<string, Endpoint>();
  private seenVersion = NaN;
  private readonly interfaces = new Map<number, { index: number; name: string }>();

  constructor(opts: ParserOptions) {
    this.enricher = opts.enricher;
    this.namer = opts.policyNamer ?? NO_POLICY_NAMES;
    this.rng = opts.rng;
    this.wallOffsetMs = opts.wallOffsetMs;
  }

  get nodeName(): string {
    return this.enricher.nodeName;
  }

  /** Call before a batch: refreshes the enricher's indexes and the wall-clock offset. */
  beginBatch(): void {
    this.enricher.refresh?.();
    this.offset = this.wallOffsetMs();
    const v = this.enricher.version ? this.enricher.version() : NaN;
    if (v !== this.seenVersion || Number.isNaN(v) || this.endpoints.size > 10_000) {
      this.endpoints.clear();
      this.seenVersion = v;
    }
  }

  private uuid(): string {
    const r = this.rng;
    const a = r.u32();
    const b = r.u32();
    const c = r.u32();
    const d = r.u32();
    const x = HEX;
    return (
      x[a >>> 24]! + x[(a >>> 16) & 255]! + x[(a >>> 8) & 255]! + x[a & 255]! + '-' +
      x[b >>> 24]! + x[(b >>> 16) & 255]! + '-' + x[0x40 | ((b >>> 8) & 15)]! + x[b & 255]! + '-' +
      x[0x80 | ((c >>> 24) & 0x3f)]! + x[(c >>> 16) & 255]! + '-' + x[(c >>> 8) & 255]! + x[c & 255]! +
      x[d >>> 24]! + x[(d >>> 16) & 255]! + x[(d >>> 8) & 255]! + x[d & 255]!
    );
  }

  private base(timeMs: number, type: number): Flow {
    const e = this.enricher;
    const f: Flow = {
      time: timeFromMillis(this.offset + timeMs),
      uuid: this.uuid(),
      emitter: EMITTER,
      verdict: Verdict.VERDICT_UNKNOWN,
      Type: type,
      node_name: e.nodeName,
    };
    const nl = e.nodeLabels();
    if (nl.length) f.node_labels = nl as string[];
    return f;
  }

  /** Hubble's ResolveEndpoint: local endpoints by IP, else ipcache identity and pod metadata. */
  resolveEndpoint(ip: number, datapathIdentity: number): Endpoint {
    const key = `${ip}:${datapathIdentity}`;
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = this.resolveUncached(ip, datapathIdentity);
      this.endpoints.set(key, ep);
    }
    return ep;
  }

  private resolveUncached(ip: number, datapathIdentity: number): Endpoint {
    const e = this.enricher;
    const local = e.localEndpoint(ip);
    if (local) {
      const labels = local.labels ?? e.identityLabels(local.identity);
      const ep: Endpoint = { ID: local.id, identity: local.identity };
      const cluster = clusterOf(labels);
      if (cluster) ep.cluster_name = cluster;
      if (local.namespace) ep.namespace = local.namespace;
      const l = sorted(labels);
      if (l) ep.labels = l;
      if (local.podName) {
        ep.pod_name = local.podName;
        const w = e.workloads(local.namespace ?? '', local.podName);
        if (w && w.length) ep.workloads = w as Workload[];
      }
      return ep;
    }
    const info = e.ipInfo(ip);
    const identity = info && info.identity ? info.identity : datapathIdentity;
    const labels = identity ? e.identityLabels(identity) : undefined;
    const ep: Endpoint = {};
    if (identity) ep.identity = identity;
    const cluster = info?.podName ? clusterOf(labels) : undefined;
    if (cluster) ep.cluster_name = cluster;
    if (info?.namespace) ep.namespace = info.namespace;
    const l = sorted(labels);
    if (l) ep.labels = l;
    if (info?.podName) {
      ep.pod_name = info.podName;
      const w = e.workloads(info.namespace ?? '', info.podName);
      if (w && w.length) ep.workloads = w as Workload[];
    }
    return ep;
  }

  private names(f: Flow, d: Decoded, srcIp = d.srcIp): void {
    const e = this.enricher;
    const sn = e.dnsNames(srcIp);
    if (sn && sn.length) f.source_names = [...sn];
    const dn = e.dnsNames(d.dstIp);
    if (dn && dn.length) f.destination_names = [...dn];
    if (d.sport || d.dport) {
      const ss = e.serviceByAddr(srcIp, d.sport);
      if (ss) f.source_service = ss;
      const ds = e.serviceByAddr(d.dstIp, d.dport);
      if (ds) f.destination_service = ds;
    }
  }

  /** One event → one flow (undefined for events Hubble does not turn into flows). */
  parse(ev: DatapathEvent): Flow | undefined {
    switch (ev.type) {
      case 'trace':
        return this.parseTrace(ev);
      case 'drop':
        return this.parseDrop(ev);
      case 'policy-verdict':
        return this.parsePolicyVerdict(ev);
      case 'trace-sock':
        return this.parseSock(ev);
      case 'access-log':
        return this.parseAccessLog(ev);
      default:
        return undefined;
    }
  }

  /** The seven parser: a proxy's access-log record → an L7 flow (event type 129). */
  private parseAccessLog(ev: AccessLogEvent): Flow {
    const r = ev.record;
    const h = hubbleLayer7(r);
    const f = this.base(ev.timeMs, FlowType.L7);
    const src = parseIpv4Addr(r.SourceEndpoint.IPv4) ?? 0;
    const dst = parseIpv4Addr(r.DestinationEndpoint.IPv4) ?? 0;
    f.verdict = Verdict[h.verdict];
    f.IP = { source: r.SourceEndpoint.IPv4, destination: r.DestinationEndpoint.IPv4, ipVersion: IPVersion.IPv4 };
    const ports = { source_port: r.SourceEndpoint.Port, destination_port: r.DestinationEndpoint.Port };
    f.l4 = r.TransportProtocol === 17 ? { UDP: ports } : { TCP: ports };
    f.source = this.resolveEndpoint(src, r.SourceEndpoint.Identity);
    f.destination = this.resolveEndpoint(dst, r.DestinationEndpoint.Identity);
    f.l7 = h.l7 as Layer7;
    f.event_type = { type: EventTypeNumber.L7 };
    f.traffic_direction = h.trafficDirection === 'INGRESS' ? TrafficDirection.INGRESS : TrafficDirection.EGRESS;
    f.is_reply = h.isReply;
    f.Summary = h.summary;
    return f;
  }

  private parseTrace(ev: TraceEvent): Flow {
    const f = this.base(ev.timeMs, FlowType.L3_L4);
    f.verdict = Verdict.FORWARDED;
    const d = decodePacket(ev.packet, f);
    let srcIp = d.srcIp;
    if (f.IP && ev.origIp !== 0 && ev.origIp !== d.srcIp) {
      // SNAT: the trace carries the address before translation.
      f.IP.source_xlated = f.IP.source;
      f.IP.source = ipv4ToString(ev.origIp);
      srcIp = ev.origIp;
    }
    const reason = ev.reason & ~TRACE_REASON_ENCRYPT_MASK;
    if (f.IP && ev.reason & TRACE_REASON_ENCRYPT_MASK) f.IP.encrypted = true;
    if (d.hasIp) {
      f.source = this.resolveEndpoint(srcIp, ev.srcLabel);
      f.destination = this.resolveEndpoint(d.dstIp, ev.dstLabel);
      this.names(f, d, srcIp);
    }
    const known = reason !== CT_REASON_UNKNOWN;
    let isReply: boolean | undefined;
    if (known && reason !== CT_SRV6_ENCAP && reason !== CT_SRV6_DECAP) isReply = reason === CT_REPLY;
    if (isReply) f.reply = true;
    f.event_type = eventType(EventTypeNumber.TRACE, ev.obsPoint);
    if (ev.source !== 0 && known) {
      const isSourceEp = f.source?.ID === ev.source;
      f.traffic_direction = isSourceEp !== (reason === CT_REPLY) ? TrafficDirection.EGRESS : TrafficDirection.INGRESS;
    }
    f.trace_observation_point = ev.obsPoint === 0 ? TraceObservationPoint.TO_ENDPOINT : ev.obsPoint;
    const tr = TRACE_REASON_MAP[reason] ?? TraceReason.TRACE_REASON_UNKNOWN;
    if (tr) f.trace_reason = tr;
    if (isReply !== undefined) f.is_reply = isReply;
    if (ev.ifindex) {
      const name = this.enricher.ifName(ev.ifindex) ?? '';
      let i = this.interfaces.get(ev.ifindex);
      if (!i || i.name !== name) {
        i = { index: ev.ifindex, name };
        this.interfaces.set(ev.ifindex, i);
      }
      f.interface = i;
    }
    if (ev.obsPoint === TraceObservationPoint.TO_PROXY && ev.dstId) f.proxy_port = ev.dstId;
    f.Summary = d.summary;
    return f;
  }

  private parseDrop(ev: DropEvent): Flow {
    const f = this.base(ev.timeMs, FlowType.L3_L4);
    f.verdict = Verdict.DROPPED;
    f.drop_reason = ev.reason;
    const d = decodePacket(ev.packet, f);
    if (d.hasIp) {
      f.source = this.resolveEndpoint(d.srcIp, ev.srcLabel);
      f.destination = this.resolveEndpoint(d.dstIp, ev.dstLabel);
      this.names(f, d);
    }
    f.event_type = eventType(EventTypeNumber.DROP, ev.reason);
    if (ev.source !== 0) f.traffic_direction = f.source?.ID === ev.source ? TrafficDirection.EGRESS : TrafficDirection.INGRESS;
    f.file = { name: sourceFileName(ev.file), line: ev.line };
    f.drop_reason_desc = ev.reason;
    f.Summary = d.summary;
    return f;
  }

  private parsePolicyVerdict(ev: PolicyVerdictEvent): Flow {
    const f = this.base(ev.timeMs, FlowType.L3_L4);
    const ingress = ev.direction === 1;
    if (ev.verdict < 0) {
      f.verdict = Verdict.DROPPED;
      f.drop_reason = -ev.verdict;
    } else if (ev.verdict > 0) f.verdict = Verdict.REDIRECTED;
    else if (ev.audited) f.verdict = Verdict.AUDIT;
    else f.verdict = Verdict.FORWARDED;
    const d = decodePacket(ev.packet, f);
    if (d.hasIp) {
      f.source = this.resolveEndpoint(d.srcIp, ingress ? ev.remoteLabel : 0);
      f.destination = this.resolveEndpoint(d.dstIp, ingress ? 0 : ev.remoteLabel);
      this.names(f, d);
    }
    f.event_type = eventType(EventTypeNumber.POLICY_VERDICT, 0);
    f.traffic_direction = ingress ? TrafficDirection.INGRESS : TrafficDirection.EGRESS;
    if (ev.matchType) f.policy_match_type = ev.matchType;
    if (f.drop_reason) f.drop_reason_desc = f.drop_reason;
    if (ev.verdict >= 0) f.is_reply = false;
    f.Summary = d.summary;
    const allowed = f.verdict === Verdict.FORWARDED || f.verdict === Verdict.REDIRECTED;
    const denied = f.verdict === Verdict.AUDIT || (f.verdict === Verdict.DROPPED && (f.drop_reason === DROP_POLICY_DENY || f.drop_reason === DROP_POLICY_DENIED));
    if (allowed || denied) {
      const list = this.namer.policies(ev.cookie, { node: this.enricher.nodeName, endpointId: ev.source, ingress, allowed });
      if (list.length) {
        const key = allowed ? (ingress ? 'ingress_allowed_by' : 'egress_allowed_by') : ingress ? 'ingress_denied_by' : 'egress_denied_by';
        f[key] = [...list];
        if (denied) f.policy_log = [''];
      }
    }
    return f;
  }

  private parseSock(ev: TraceSockEvent): Flow {
    const f = this.base(ev.timeMs, FlowType.SOCK);
    f.verdict = ev.xlatePoint === 1 || ev.xlatePoint === 3 ? Verdict.TRACED : Verdict.TRANSLATED;
    const pod = this.enricher.podByCgroup(ev.cgroupId);
    if (pod) {
      f.IP = { source: ipv4ToString(pod.ip), destination: ipv4ToString(ev.dstIp), ipVersion: IPVersion.IPv4 };
      f.source = this.resolveEndpoint(pod.ip, 0);
    } else f.IP = { source: '', destination: ipv4ToString(ev.dstIp), ipVersion: IPVersion.IPv4 };
    const l4: Layer4 = ev.proto === 6 ? { TCP: { destination_port: ev.dstPort } } : ev.proto === 17 ? { UDP: { destination_port: ev.dstPort } } : {};
    if (l4.TCP || l4.UDP) f.l4 = l4;
    f.destination = this.resolveEndpoint(ev.dstIp, 0);
    const dn = this.enricher.dnsNames(ev.dstIp);
    if (dn && dn.length) f.destination_names = [...dn];
    f.event_type = eventType(EventTypeNumber.TRACE_SOCK, ev.xlatePoint);
    const svc = this.enricher.serviceByAddr(ev.dstIp, ev.dstPort);
    if (svc) f.destination_service = svc;
    f.sock_xlate_point = ev.xlatePoint;
    if (ev.sockCookie) f.socket_cookie = ev.sockCookie;
    if (ev.cgroupId) f.cgroup_id = ev.cgroupId;
    f.Summary = ev.proto === 6 ? 'TCP' : ev.proto === 17 ? 'UDP' : 'Unknown';
    return f;
  }
}
