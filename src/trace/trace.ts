// `podpath trace`: a synthetic packet through the real programs against a fork
// of the maps (ARCHITECTURE rule 5). The packet is built the way the source
// would send it (after socket LB, which runs first, as connect() does), put on
// the source's device in the fork, and everything the fork's programs report
// (trace, policy-verdict and drop events with aggregation off, conntrack
// creations, frames on the wire, deliveries) becomes the step list of
// model.ts. The answer (--reply) is built from the frame as delivered and sent
// back from where it arrived. Attribution comes from the policy engine's
// cookie table (engine.lookup), default deny from engine.explainDrop.

import type { ClusterNode, ClusterRuntime } from '../cluster/runtime.js';
import type { EndpointInfo } from '../agent/agent.js';
import { R } from '../cluster/controllers/common.js';
import type { KubeObject } from '../k8s/types.js';
import { readU16BE, readU32BE } from '../bpf/bytes.js';
import { buildIcmpEchoFrame, buildTcpFrame, buildUdpFrame } from '../packet/build.js';
import { internetChecksum } from '../packet/checksum.js';
import { IPV4, IpProto } from '../packet/ipv4.js';
import { ipv4ToString, parseIpv4Addr } from '../packet/ip.js';
import { TcpFlags, tcpFlagsToString } from '../packet/tcp.js';
import { VXLAN_PORT } from '../packet/vxlan.js';
import { UNDERLAY_GATEWAY_MAC } from '../net/underlay.js';
import { CT_TUPLE, TupleFlags } from '../datapath/ct.js';
import { dropReasonText, sourceFileName, SourceFile, DropReason } from '../datapath/drop.js';
import { PolicyDir } from '../datapath/events.js';
import { identityName, ReservedIdentity, RESERVED_LABELS } from '../datapath/identity.js';
import { formatMonitorLine, type DatapathEvent, type DropEvent, type PolicyVerdictEvent, type TraceEvent, type TraceSockEvent } from '../datapath/monitor.js';
import { ctStateName, CtState, ObsPoint, obsPointName, policyMatchName } from '../datapath/trace.js';
import { backendAddress, backendPort, lbLookupBackend, lbLookupService, lbSlotBackendId, svcCount, svcRevNatIndex } from '../datapath/sim/lib/lb.js';
import { IpcacheResult, lookupIpcache } from '../datapath/sim/lib/maps.js';
import { identityMark, MARK_MAGIC_PROXY_EGRESS_EPID, MARK_MAGIC_PROXY_INGRESS } from '../datapath/sim/calls.js';
import type { SockAddrCtx } from '../datapath/sim/bpf_sock.js';
import { ruleRefText, type Attribution, type RuleRef } from '../policy/attribution.js';
import { PolicyEngine } from '../policy/engine.js';
import { decideHttp, l7RulesUnion } from '../proxy/index.js';
import { HttpHeaders } from '../packet/http.js';
import { DatapathFork, parsePolicyRef, type ForkNode, type ForkRecord, type PolicyRef } from './fork.js';
import { TRACE_MODEL_VERSION, type TraceOutcome, type TracePeer, type TracePolicyDecision, type TraceProtocol, type TraceResult, type TraceRule, type TraceStep, type TraceTuple } from './model.js';

export class TraceError extends Error {}

export interface TraceRequest {
  /** `ns/pod` (or `ns:pod`), `[ns/]key=value[,key=value]`, `node/NAME`, `host/NAME`. */
  src: string;
  /** `ns/pod`, `svc/ns/name`, an IP, a DNS name, `node/NAME`, `host/NAME`. */
  dst: string;
  /** Destination port (default: the Service's first port, the pod's first container port, else 80). */
  port?: number;
  protocol?: 'tcp' | 'udp' | 'icmp' | 'sctp' | TraceProtocol;
  httpMethod?: string;
  httpPath?: string;
  /** Trace the answer too (CT reply, no policy). */
  reply?: boolean;
  /** Manifests applied in the fork only (what-if). */
  with?: KubeObject[];
  /** Policies removed in the fork only: KIND/NS/NAME. */
  without?: string[];
  /** Send the fork's events to Hubble (flows), as if the packet had been real. */
  record?: boolean;
  /** Source port (default 43210). */
  srcPort?: number;
}


// ---- who is who -----------------------------------------------------------------------------

export interface Sender {
  peer: TracePeer;
  kind: 'pod' | 'node' | 'host';
  ip: number;
  mac: number;
  /** Where the first hop is: the pod's gateway (its lxc veth), cilium_host, the underlay's gateway. */
  gatewayMac: number;
  node?: ClusterNode;
  ep?: EndpointInfo;
  search: string[];
  ndots: number;
}

export interface Receiver {
  peer: TracePeer;
  ip: number;
  port?: number;
  protocol?: TraceProtocol;
  service?: { namespace: string; name: string; frontend: string };
  dns?: TraceStep['dns'];
}

function podsIndex(rt: ClusterRuntime): KubeObject[] {
  return rt.cache.list(R.pods);
}

function podIp(p: KubeObject): string {
  return String((p['status'] as { podIP?: string } | undefined)?.podIP ?? '');
}

function podNode(p: KubeObject): string {
  return String((p['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '');
}

function isHostNetwork(p: KubeObject): boolean {
  return (p['spec'] as { hostNetwork?: boolean } | undefined)?.hostNetwork === true;
}

function labelsOfIdentity(rt: ClusterRuntime, id: number): string[] {
  if (rt.policy instanceof PolicyEngine) return rt.policy.identityLabels(id);
  return RESERVED_LABELS[id] ?? [];
}

/** `ns/pod`, `ns:pod` or a bare pod name (namespace default). */
function splitPod(s: string): { namespace: string; name: string } | null {
  const m = /^([a-z0-9-.]+)[/:]([a-z0-9-.]+)$/i.exec(s);
  if (m) return { namespace: m[1]!, name: m[2]! };
  return null;
}

function podPeer(rt: ClusterRuntime, ns: string, name: string): { peer: TracePeer; node: ClusterNode; ep: EndpointInfo; pod: KubeObject } | { error: string } {
  const pod = rt.cache.get(R.pods, ns, name);
  if (!pod) return { error: `pods "${name}" not found in namespace "${ns}"` };
  const node = rt.node(podNode(pod));
  if (!node) return { error: `pod ${ns}/${name} is not scheduled` };
  if (isHostNetwork(pod)) return { error: `pod ${ns}/${name} uses the host network: trace node/${node.name} instead` };
  const ep = node.agent.endpointOf(ns, name);
  if (!ep || !ep.ipv4) return { error: `pod ${ns}/${name} has no endpoint on ${node.name} (not running yet?)` };
  return {
    peer: { kind: 'pod', name: `${ns}/${name}`, namespace: ns, pod: name, node: node.name, ip: ep.ipv4, identity: ep.identity, identityLabels: [...ep.labels].sort(), endpointId: ep.id, ...(ep.ifName ? { ifname: ep.ifName } : {}) },
    node,
    ep,
    pod,
  };
}

/** `[ns/]k=v[,k=v]`: the first running pod (by namespace/name) whose labels match. */
function selectPod(rt: ClusterRuntime, spec: string): { namespace: string; name: string } | { error: string } {
  const slash = spec.indexOf('/');
  const ns = slash > 0 && !spec.slice(0, slash).includes('=') ? spec.slice(0, slash) : undefined;
  const sel = ns ? spec.slice(slash + 1) : spec;
  const reqs = sel.split(',').map((kv) => {
    const i = kv.indexOf('=');
    return { key: kv.slice(0, i).trim(), value: kv.slice(i + 1).replace(/^=/, '').trim() };
  });
  const hits = (ns ? rt.cache.list(R.pods, ns) : podsIndex(rt))
    .filter((p) => !isHostNetwork(p) && podIp(p) && reqs.every((r) => p.metadata.labels?.[r.key] === r.value))
    .map((p) => ({ namespace: p.metadata.namespace ?? 'default', name: p.metadata.name ?? '' }))
    .sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
  return hits[0] ?? { error: `no running pod matches ${spec}` };
}

export function resolveSender(rt: ClusterRuntime, spec: string): Sender {
  if (spec.startsWith('node/')) {
    const node = rt.node(spec.slice(5));
    if (!node) throw new TraceError(`no node named "${spec.slice(5)}" (nodes: ${rt.nodes.map((n) => n.name).join(', ')})`);
    return {
      peer: { kind: 'node', name: spec, node: node.name, ip: ipv4ToString(node.ip), identity: ReservedIdentity.HOST, identityLabels: ['reserved:host'] },
      kind: 'node',
      ip: node.ip,
      mac: node.mac,
      gatewayMac: node.dp.cfg.routerMac,
      node,
      search: [],
      ndots: 1,
    };
  }
  if (spec.startsWith('host/')) {
    const h = rt.externalHost(spec.slice(5));
    if (!h) throw new TraceError(`no external host named "${spec.slice(5)}"`);
    return { peer: { kind: 'host', name: spec, ip: ipv4ToString(h.ip), identity: ReservedIdentity.WORLD, identityLabels: ['reserved:world'] }, kind: 'host', ip: h.ip, mac: h.mac, gatewayMac: UNDERLAY_GATEWAY_MAC, search: [], ndots: 1 };
  }
  let ref: { namespace: string; name: string } | { error: string } | null = spec.includes('=') ? selectPod(rt, spec) : splitPod(spec);
  if (ref === null) ref = { namespace: 'default', name: spec };
  if ('error' in ref) throw new TraceError(ref.error);
  const p = podPeer(rt, ref.namespace, ref.name);
  if ('error' in p) throw new TraceError(p.error);
  const running = rt.pod(ref.namespace, ref.name);
  const resolv = running?.env.resolv;
  return {
    peer: p.peer,
    kind: 'pod',
    ip: parseIpv4Addr(p.ep.ipv4!)!,
    mac: macNumber(p.ep.mac),
    gatewayMac: macNumber(p.ep.hostMac),
    node: p.node,
    ep: p.ep,
    search: resolv?.search ?? [`${ref.namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'],
    ndots: resolv?.ndots ?? 5,
  };
}

function macNumber(s: string | undefined): number {
  if (!s) return 0;
  return parseInt(s.replace(/:/g, ''), 16);
}

function normProto(p: TraceRequest['protocol']): TraceProtocol | undefined {
  if (!p) return undefined;
  const u = p.toUpperCase();
  if (u === 'TCP' || u === 'UDP' || u === 'ICMP' || u === 'SCTP') return u;
  throw new TraceError(`unknown protocol "${p}": use tcp, udp, icmp or sctp`);
}

function serviceByIp(rt: ClusterRuntime, ip: string): KubeObject | undefined {
  return rt.cache.list(R.services).find((s) => (s['spec'] as { clusterIP?: string } | undefined)?.clusterIP === ip);
}

function servicePorts(svc: KubeObject): { port: number; protocol: string }[] {
  return ((svc['spec'] as { ports?: { port?: number; protocol?: string }[] } | undefined)?.ports ?? []).map((p) => ({ port: p.port ?? 0, protocol: p.protocol ?? 'TCP' }));
}

function firstContainerPort(pod: KubeObject): { port: number; protocol: string } | undefined {
  for (const c of ((pod['spec'] as { containers?: { ports?: { containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers ?? [])) {
    for (const p of c.ports ?? []) if (p.containerPort) return { port: p.containerPort, protocol: p.protocol ?? 'TCP' };
  }
  return undefined;
}

function serviceReceiver(svc: KubeObject, name: string): Receiver {
  const ip = String((svc['spec'] as { clusterIP?: string } | undefined)?.clusterIP ?? '');
  const addr = parseIpv4Addr(ip);
  if (addr === null) throw new TraceError(`service ${svc.metadata.namespace}/${svc.metadata.name} has no ClusterIP`);
  const first = servicePorts(svc)[0];
  return {
    peer: { kind: 'service', name, namespace: svc.metadata.namespace ?? 'default', ip },
    ip: addr,
    ...(first ? { port: first.port, protocol: first.protocol.toUpperCase() as TraceProtocol } : {}),
    service: { namespace: svc.metadata.namespace ?? 'default', name: svc.metadata.name ?? '', frontend: ip },
  };
}

export function resolveReceiver(rt: ClusterRuntime, spec: string, from: Sender): Receiver {
  if (spec.startsWith('svc/')) {
    const [ns, name] = spec.slice(4).split('/') as [string, string | undefined];
    const svc = name ? rt.cache.get(R.services, ns, name) : undefined;
    if (!svc) throw new TraceError(`services "${name ?? ns}" not found${name ? ` in namespace "${ns}"` : ' (use svc/NS/NAME)'}`);
    return serviceReceiver(svc, spec);
  }
  if (spec.startsWith('node/')) {
    const node = rt.node(spec.slice(5));
    if (!node) throw new TraceError(`no node named "${spec.slice(5)}"`);
    return { peer: { kind: 'node', name: spec, node: node.name, ip: ipv4ToString(node.ip) }, ip: node.ip };
  }
  if (spec.startsWith('host/')) {
    const h = rt.externalHost(spec.slice(5));
    if (!h) throw new TraceError(`no external host named "${spec.slice(5)}"`);
    return { peer: { kind: 'host', name: spec, ip: ipv4ToString(h.ip) }, ip: h.ip };
  }
  const ip = parseIpv4Addr(spec);
  if (ip !== null) return receiverForIp(rt, ip);
  const pod = splitPod(spec);
  if (pod && spec.includes('/') && !spec.includes('.')) {
    const p = podPeer(rt, pod.namespace, pod.name);
    if ('error' in p) throw new TraceError(p.error);
    const cp = firstContainerPort(p.pod);
    return { peer: p.peer, ip: parseIpv4Addr(p.ep.ipv4!)!, ...(cp ? { port: cp.port, protocol: cp.protocol.toUpperCase() as TraceProtocol } : {}) };
  }
  // A DNS name, resolved as the source's resolver would (search list, ndots) from the records CoreDNS serves.
  const name = spec.replace(/\.$/, '');
  const candidates = spec.endsWith('.') ? [name] : name.split('.').length - 1 >= from.ndots ? [name, ...from.search.map((s) => `${name}.${s}`)] : [...from.search.map((s) => `${name}.${s}`), name];
  const tried: string[] = [];
  for (const q of candidates) {
    tried.push(q);
    const a = rt.dns.lookup(q, 1);
    if (a === 'NXDOMAIN' || !a.ips.length) continue;
    const r = receiverForIp(rt, a.ips[0]!);
    r.dns = { query: spec, tried, answer: a.ips.map(ipv4ToString), rcode: 'NOERROR', server: rt.clusterDnsIp };
    r.peer = { ...r.peer, name: r.peer.kind === 'service' ? r.peer.name : r.peer.name };
    return r;
  }
  return { peer: { kind: 'ip', name: spec, ip: '' }, ip: 0, dns: { query: spec, tried, answer: [], rcode: 'NXDOMAIN', server: rt.clusterDnsIp } };
}

function receiverForIp(rt: ClusterRuntime, ip: number): Receiver {
  const text = ipv4ToString(ip);
  const svc = serviceByIp(rt, text);
  if (svc) return serviceReceiver(svc, `svc/${svc.metadata.namespace}/${svc.metadata.name}`);
  const pod = podsIndex(rt).find((p) => podIp(p) === text && !isHostNetwork(p));
  if (pod) {
    const p = podPeer(rt, pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    if (!('error' in p)) {
      const cp = firstContainerPort(pod);
      return { peer: p.peer, ip, ...(cp ? { port: cp.port, protocol: cp.protocol.toUpperCase() as TraceProtocol } : {}) };
    }
  }
  const node = rt.nodes.find((n) => n.ip === ip || n.agent.routerIp === ip);
  if (node) return { peer: { kind: 'node', name: `node/${node.name}`, node: node.name, ip: text }, ip };
  const h = rt.externalHosts.find((x) => x.ip === ip);
  if (h) return { peer: { kind: 'host', name: `host/${h.name}`, ip: text }, ip };
  return { peer: { kind: 'world', name: text, ip: text }, ip };
}

// ---- packets ------------------------------------------------------------------------------

interface Tuple {
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  icmpType: number;
  tcpFlags: number;
}

const PROTO_NUM: Record<TraceProtocol, number> = { TCP: IpProto.TCP, UDP: IpProto.UDP, ICMP: IpProto.ICMP, SCTP: IpProto.SCTP };
const PROTO_NAME: Record<number, TraceProtocol> = { 6: 'TCP', 17: 'UDP', 1: 'ICMP', 132: 'SCTP' };

/** The tuple of an Ethernet/IPv4 frame, or null. */
function frameTuple(f: Uint8Array): Tuple | null {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return null;
  const ihl = (f[14]! & 0x0f) * 4;
  const l4 = 14 + ihl;
  const proto = f[23]!;
  const t: Tuple = { proto, src: readU32BE(f, 26), dst: readU32BE(f, 30), sport: 0, dport: 0, icmpType: -1, tcpFlags: 0 };
  if ((proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.SCTP) && f.length >= l4 + 4) {
    t.sport = readU16BE(f, l4);
    t.dport = readU16BE(f, l4 + 2);
    if (proto === IpProto.TCP && f.length >= l4 + 14) t.tcpFlags = f[l4 + 13]!;
  } else if (proto === IpProto.ICMP && f.length >= l4 + 8) {
    t.icmpType = f[l4]!;
    t.sport = readU16BE(f, l4 + 4);
  }
  return t;
}

function modelTuple(t: Tuple): TraceTuple {
  const out: TraceTuple = { protocol: PROTO_NAME[t.proto] ?? String(t.proto), src: ipv4ToString(t.src), dst: ipv4ToString(t.dst) };
  if (t.proto === IpProto.ICMP) out.icmpType = t.icmpType;
  else {
    out.srcPort = t.sport;
    out.dstPort = t.dport;
  }
  if (t.proto === IpProto.TCP) out.flags = tcpFlagsToString(t.tcpFlags);
  return out;
}

export function tupleText(t: TraceTuple): string {
  if (t.protocol === 'ICMP') return `${t.src} -> ${t.dst} ICMP ${t.icmpType === 0 ? 'EchoReply' : t.icmpType === 8 ? 'EchoRequest' : `type ${t.icmpType}`}`;
  return `${t.src}:${t.srcPort} -> ${t.dst}:${t.dstPort} ${t.protocol}${t.flags ? ` ${t.flags}` : ''}`;
}

interface FrameSpec {
  proto: number;
  srcMac: number;
  dstMac: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  reply: boolean;
}

function buildFrame(s: FrameSpec): Uint8Array {
  const l3 = { srcMac: s.srcMac, dstMac: s.dstMac, srcIp: s.src, dstIp: s.dst };
  switch (s.proto) {
    case IpProto.TCP:
      return buildTcpFrame({ ...l3, srcPort: s.sport, dstPort: s.dport, flags: s.tcpFlags, seq: s.seq, ack: s.ack, options: s.tcpFlags & TcpFlags.SYN ? { mss: 1460 } : {} });
    case IpProto.UDP:
      return buildUdpFrame({ ...l3, srcPort: s.sport, dstPort: s.dport, payload: new TextEncoder().encode('podpath trace\n') });
    case IpProto.ICMP:
      return buildIcmpEchoFrame({ ...l3, reply: s.reply, echoIdent: s.reply ? s.dport : s.sport, seq: 1, data: new Uint8Array(56) });
    default: {
      // SCTP: the common header (ports, verification tag, checksum) on a UDP-shaped frame, protocol 132.
      const f = buildUdpFrame({ ...l3, srcPort: s.sport, dstPort: s.dport, payload: new Uint8Array(4), zeroChecksum: true });
      f[14 + IPV4.PROTOCOL] = IpProto.SCTP;
      f[14 + IPV4.CHECKSUM] = 0;
      f[14 + IPV4.CHECKSUM + 1] = 0;
      const c = internetChecksum(f, 14, 20);
      f[14 + IPV4.CHECKSUM] = c >>> 8;
      f[14 + IPV4.CHECKSUM + 1] = c & 0xff;
      return f;
    }
  }
}

/** The answer to a delivered frame: addresses, ports and MACs swapped; SYN → SYN-ACK, echo request → reply. */
function replyFrame(delivered: Uint8Array): Uint8Array | null {
  const t = frameTuple(delivered);
  if (!t) return null;
  const dstMac = readMac48(delivered, 6);
  const srcMac = readMac48(delivered, 0);
  const isSyn = t.proto === IpProto.TCP && (t.tcpFlags & (TcpFlags.SYN | TcpFlags.ACK)) === TcpFlags.SYN;
  const l4 = 14 + (delivered[14]! & 0x0f) * 4;
  const seq = t.proto === IpProto.TCP ? readU32BE(delivered, l4 + 4) : 0;
  return buildFrame({
    proto: t.proto,
    srcMac,
    dstMac,
    src: t.dst,
    dst: t.src,
    sport: t.proto === IpProto.ICMP ? t.sport : t.dport,
    dport: t.sport,
    tcpFlags: isSyn ? TcpFlags.SYN | TcpFlags.ACK : TcpFlags.ACK,
    seq: 7_000_000,
    ack: (seq + 1) >>> 0,
    reply: true,
  });
}

function readMac48(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * 0x1_0000_0000 + readU32BE(b, off + 2);
}

// ---- interpreting what the fork recorded --------------------------------------------------

const SOURCE_FILE_PROGRAM: Record<number, string> = {
  [SourceFile.BPF_LXC]: 'bpf_lxc',
  [SourceFile.BPF_OVERLAY]: 'bpf_overlay',
  [SourceFile.BPF_HOST]: 'bpf_host',
  [SourceFile.BPF_SOCK]: 'bpf_sock',
};

function ruleOf(r: RuleRef): TraceRule {
  return {
    kind: r.kind,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    name: r.name,
    ruleIndex: r.ruleIndex,
    rulePath: r.rulePath,
    section: r.section,
    index: r.index,
    direction: r.direction,
    deny: r.deny,
    text: ruleRefText(r),
  };
}

function attributionExplanation(a: Attribution): string {
  if (a.implicit === 'allow-localhost') return 'allowed: traffic from the local node (allow-localhost)';
  if (a.implicit === 'enforcement-disabled') return `allowed: ${a.direction} policy not enforced (allow-all entry)`;
  const rules = a.rules.map(ruleRefText).join(', ');
  if (a.verdict === 'deny') return `denied by ${rules}${a.overridden.length ? ` (overrides ${a.overridden.map(ruleRefText).join(', ')})` : ''}`;
  return `${a.verdict === 'redirect' ? 'redirected to the L7 proxy' : 'allowed'} by ${rules}`;
}

interface PendingEgress {
  epId: number;
  dst: number;
  ipcacheDone: boolean;
  verdict: PolicyVerdictEvent | null;
  ctDone: boolean;
}

class Interpreter {
  readonly steps: TraceStep[] = [];
  private direction: 'forward' | 'reply' = 'forward';
  private egress = new Map<string, PendingEgress>();
  /** CT entries created per node since the last CT step there. */
  private created = new Map<string, string[]>();
  private podByIp: Map<string, string> | undefined;
  private readonly ipc = new IpcacheResult();

  constructor(
    readonly rt: ClusterRuntime,
    readonly fork: DatapathFork,
    private seq: { n: number },
  ) {}

  setDirection(d: 'forward' | 'reply'): void {
    this.direction = d;
    this.egress.clear();
    this.created.clear();
  }

  push(s: Omit<TraceStep, 'seq' | 'direction'>): TraceStep {
    const step = { seq: ++this.seq.n, direction: this.direction, ...s } as TraceStep;
    this.steps.push(step);
    return step;
  }

  /** `demo/backend-…`, `node/kind-worker`, `host/ext`, `svc/ns/name`, or the address. */
  peerName(ip: number): string | undefined {
    const text = ipv4ToString(ip);
    if (!this.podByIp) {
      this.podByIp = new Map();
      for (const p of podsIndex(this.rt)) if (!isHostNetwork(p) && podIp(p)) this.podByIp.set(podIp(p), `${p.metadata.namespace}/${p.metadata.name}`);
    }
    const pod = this.podByIp.get(text);
    if (pod) return pod;
    const n = this.rt.nodes.find((x) => x.ip === ip || x.agent.routerIp === ip);
    if (n) return `node/${n.name}`;
    const h = this.rt.externalHosts.find((x) => x.ip === ip);
    if (h) return `host/${h.name}`;
    const svc = serviceByIp(this.rt, text);
    if (svc) return `svc/${svc.metadata.namespace}/${svc.metadata.name}`;
    return undefined;
  }

  private fnode(name: string): ForkNode {
    return this.fork.node(name)!;
  }

  private ifname(node: string, ifindex: number): string {
    return this.fnode(node).kernel.deviceName(ifindex) ?? String(ifindex);
  }

  private epDevice(node: string, epId: number): string {
    const e = this.fnode(node).endpoints.get(epId);
    return e?.info.ifName ?? `lxc (endpoint ${epId})`;
  }

  private monitorLine(node: string, ev: DatapathEvent): string {
    return formatMonitorLine(ev, { ifName: (i) => this.fnode(node).kernel.deviceName(i) });
  }

  private labels(id: number): string[] {
    return labelsOfIdentity(this.rt, id);
  }

  private idText(id: number): string {
    const l = this.labels(id).filter((x) => !x.startsWith('k8s:io.cilium.k8s.policy.') && !x.startsWith('k8s:io.cilium.k8s.namespace.labels'));
    return `${identityName(id)}${l.length && id >= 256 ? ` (${l.slice(0, 3).join(', ')}${l.length > 3 ? ', …' : ''})` : ''}`;
  }

  /** Walk the records of one direction into steps. */
  run(records: ForkRecord[]): void {
    for (const r of records) {
      switch (r.kind) {
        case 'event':
          this.event(r.node, r.event);
          break;
        case 'ct': {
          const list = this.created.get(r.node) ?? [];
          list.push(ctKeyText(r.key));
          this.created.set(r.node, list);
          break;
        }
        case 'wire':
          this.wire(r.frame);
          break;
        case 'pod': {
          this.flushEgress(r.node, null);
          const t = frameTuple(r.frame);
          const e = this.fnode(r.node).endpoints.get(r.endpointId);
          this.push({
            node: r.node,
            hook: `bpf_redirect_peer → ${e?.info.namespace ?? ''}/${e?.info.podName ?? ''} eth0`,
            program: 'kernel',
            kind: 'deliver',
            summary: `delivered into the pod's network namespace (endpoint ${r.endpointId}${e ? `, ${e.info.namespace}/${e.info.podName}` : ''})`,
            endpointId: r.endpointId,
            ...(t ? { packet: modelTuple(t) } : {}),
          });
          break;
        }
        case 'host': {
          this.flushEgress(r.node, null);
          const t = frameTuple(r.frame);
          this.push({ node: r.node, hook: 'host stack', program: 'kernel', kind: 'deliver', summary: `delivered to ${r.node}'s own network namespace (the node's stack)`, ...(t ? { packet: modelTuple(t) } : {}) });
          break;
        }
        case 'external': {
          const t = frameTuple(r.frame);
          this.push({ hook: `host/${r.host} eth0`, program: 'external host', kind: 'deliver', summary: `reached external host ${r.host}`, ...(t ? { packet: modelTuple(t) } : {}) });
          break;
        }
        case 'proxy': {
          this.flushEgress(r.node, null);
          this.push({ node: r.node, hook: 'stack → proxy socket (TPROXY)', program: 'L7 proxy', kind: 'proxy', summary: `handed to the L7 proxy on port ${r.proxyPort}`, proxy: { port: r.proxyPort, direction: 'ingress' } });
          break;
        }
        case 'tap':
          break;
      }
    }
  }

  private wire(frame: Uint8Array): void {
    const outer = frameTuple(frame);
    if (!outer) return;
    const l4 = 14 + (frame[14]! & 0x0f) * 4;
    if (outer.proto === IpProto.UDP && outer.dport === VXLAN_PORT && frame.length >= l4 + 16 + 34) {
      const vni = ((frame[l4 + 12]! << 16) | (frame[l4 + 13]! << 8) | frame[l4 + 14]!) >>> 0;
      const inner = frameTuple(frame.subarray(l4 + 16));
      const from = this.peerName(outer.src) ?? ipv4ToString(outer.src);
      const to = this.peerName(outer.dst) ?? ipv4ToString(outer.dst);
      this.push({
        ...(from.startsWith('node/') ? { node: from.slice(5) } : {}),
        hook: 'cilium_vxlan → eth0 → underlay',
        program: 'cil_to_overlay + VXLAN driver',
        kind: 'encap',
        summary: `VXLAN: outer ${ipv4ToString(outer.src)}:${outer.sport} -> ${ipv4ToString(outer.dst)}:${outer.dport} (${from} → ${to}), VNI ${vni} = source identity ${this.idText(vni)}`,
        encap: { outerSrc: ipv4ToString(outer.src), outerDst: ipv4ToString(outer.dst), udpSrcPort: outer.sport, udpDstPort: outer.dport, vni, vniIdentityLabels: this.labels(vni) },
        ...(inner ? { packet: modelTuple(inner) } : {}),
      });
      return;
    }
    const from = this.peerName(outer.src) ?? ipv4ToString(outer.src);
    const to = this.peerName(outer.dst) ?? ipv4ToString(outer.dst);
    this.push({ hook: 'underlay', program: 'wire', kind: 'wire', summary: `on the wire: ${tupleText(modelTuple(outer))} (${from} → ${to})`, packet: modelTuple(outer) });
  }

  private event(node: string, ev: DatapathEvent): void {
    const pend = this.egress.get(node);
    switch (ev.type) {
      case 'trace-sock':
        return;
      case 'access-log':
        return;
      case 'policy-verdict': {
        if (ev.audited) {
          this.audit(node, ev);
          return;
        }
        if (ev.direction === PolicyDir.EGRESS && pend && pend.epId === ev.source && !pend.verdict) {
          this.ipcacheStep(node, pend);
          pend.verdict = ev;
          this.policy(node, ev);
          return;
        }
        this.flushEgress(node, ev);
        this.policy(node, ev);
        return;
      }
      case 'drop': {
        if (pend && !pend.ipcacheDone && pend.epId === ev.source && ev.dstId === 0) this.ipcacheStep(node, pend);
        if (pend) pend.ctDone = true;
        this.drop(node, ev);
        return;
      }
      case 'trace':
        this.trace(node, ev);
        return;
    }
  }

  private ipcacheStep(node: string, pend: PendingEgress): void {
    if (pend.ipcacheDone) return;
    pend.ipcacheDone = true;
    const fnode = this.fnode(node);
    const found = lookupIpcache(fnode.dp, pend.dst, this.ipc);
    const id = found ? this.ipc.identity : ReservedIdentity.WORLD;
    const tunnel = found ? this.ipc.tunnelEndpoint : 0;
    const peer = this.peerName(pend.dst);
    this.push({
      node,
      hook: `tc ingress ${this.epDevice(node, pend.epId)}`,
      program: 'handle_ipv4_from_lxc',
      kind: 'ipcache',
      summary: `ipcache ${ipv4ToString(pend.dst)}${peer ? ` (${peer})` : ''} → ${found ? '' : 'no entry: '}identity ${this.idText(id)}${tunnel ? `, tunnel endpoint ${ipv4ToString(tunnel)}${this.peerName(tunnel) ? ` (${this.peerName(tunnel)})` : ''}` : ', no tunnel endpoint'}`,
      ipcache: { ip: ipv4ToString(pend.dst), found, identity: id, identityLabels: this.labels(id), tunnelEndpoint: ipv4ToString(tunnel), ...(peer ? { peer } : {}) },
    });
  }

  /** The egress conntrack step of a from-container packet, before whatever came next. */
  private flushEgress(node: string, next: DatapathEvent | null): void {
    const pend = this.egress.get(node);
    if (!pend || pend.ctDone) return;
    pend.ctDone = true;
    this.ipcacheStep(node, pend);
    let state: number;
    if (next && next.type === 'trace' && next.source === pend.epId && (next.obsPoint === ObsPoint.TO_OVERLAY || next.obsPoint === ObsPoint.TO_STACK || next.obsPoint === ObsPoint.TO_PROXY)) state = next.reason & 0x7f;
    else if ((this.created.get(node) ?? []).some((c) => c.startsWith('OUT '))) state = CtState.NEW;
    else state = pend.verdict ? CtState.ESTABLISHED : CtState.REPLY;
    this.ctStep(node, state, 'egress', `tc ingress ${this.epDevice(node, pend.epId)}`, 'handle_ipv4_from_lxc');
  }

  private ctStep(node: string, state: number, dir: 'egress' | 'ingress', hook: string, program: string): void {
    const created = this.created.get(node) ?? [];
    this.created.set(node, []);
    const skipped = state === CtState.REPLY || state === CtState.RELATED;
    const name = ctStateName(state);
    let summary: string;
    if (state === CtState.NEW) summary = `conntrack (${dir}): new connection${created.length ? `, entry created: ${created.join('; ')}` : ''}`;
    else if (skipped) summary = `conntrack (${dir}): ${name}: matched the entry of the request, policy skipped`;
    else summary = `conntrack (${dir}): ${name}`;
    this.push({ node, hook, program, kind: 'conntrack', summary, ct: { state: name, created, policySkipped: skipped } });
  }

  private trace(node: string, ev: TraceEvent): void {
    const t = frameTuple(ev.packet);
    const packet = t ? { packet: modelTuple(t) } : {};
    const monitor = this.monitorLine(node, ev);
    const identity = { source: ev.srcLabel, destination: ev.dstLabel };
    const point = obsPointName(ev.obsPoint);
    const base = { node, point, monitor, identity, ...packet };
    switch (ev.obsPoint) {
      case ObsPoint.FROM_LXC: {
        this.egress.set(node, { epId: ev.source, dst: t?.dst ?? 0, ipcacheDone: false, verdict: null, ctDone: false });
        this.fnode(node).endpoint(ev.source);
        this.push({ ...base, hook: `tc ingress ${this.ifname(node, ev.ifindex)}`, program: 'cil_from_container', kind: 'trace', endpointId: ev.source, summary: `from-endpoint: endpoint ${ev.source}, identity ${this.idText(ev.srcLabel)}` });
        return;
      }
      case ObsPoint.TO_OVERLAY: {
        this.flushEgress(node, ev);
        const src = ev.source ? `tc ingress ${this.epDevice(node, ev.source)}` : 'tc ingress cilium_host';
        this.push({ ...base, hook: `${src} → bpf_redirect cilium_vxlan`, program: ev.source ? 'encap_and_redirect_lxc' : 'cil_from_host', kind: 'trace', summary: `to-overlay: tunnel key set (VNI ${ev.srcLabel}), redirect to cilium_vxlan, state ${ctStateName(ev.reason)}` });
        return;
      }
      case ObsPoint.TO_STACK: {
        this.flushEgress(node, ev);
        this.push({ ...base, hook: ev.source ? `tc ingress ${this.epDevice(node, ev.source)}` : 'tc ingress cilium_vxlan', program: ev.source ? 'handle_ipv4_from_lxc' : 'cil_from_overlay', kind: 'trace', summary: `to-stack: passed to the kernel's stack (routing), identity ${this.idText(ev.srcLabel)} → ${this.idText(ev.dstLabel)}` });
        return;
      }
      case ObsPoint.TO_LXC: {
        this.flushEgress(node, null);
        this.ctStep(node, ev.reason & 0x7f, 'ingress', `tail call cilium_call_policy[${ev.dstId}]`, 'tail_ipv4_ct_ingress_policy_only');
        this.push({ ...base, hook: `tail call cilium_call_policy[${ev.dstId}]`, program: 'handle_policy → tail_ipv4_policy', kind: 'trace', endpointId: ev.dstId, summary: `to-endpoint: endpoint ${ev.dstId} (${this.ifname(node, ev.ifindex)}), identity ${this.idText(ev.srcLabel)} → ${this.idText(ev.dstLabel)}` });
        return;
      }
      case ObsPoint.TO_PROXY: {
        const egress = this.egress.get(node)?.epId === ev.source && !this.egress.get(node)?.ctDone;
        if (egress) this.flushEgress(node, ev);
        else this.ctStep(node, ev.reason & 0x7f, 'ingress', `tail call cilium_call_policy[${ev.source}]`, 'tail_ipv4_ct_ingress_policy_only');
        this.push({ ...base, hook: egress ? `tc ingress ${this.epDevice(node, ev.source)}` : `tail call cilium_call_policy[${ev.source}]`, program: egress ? 'handle_ipv4_from_lxc' : 'handle_policy → tail_ipv4_policy', kind: 'trace', endpointId: ev.source, summary: `to-proxy: redirected to the L7 proxy${ev.dstId ? ` on port ${ev.dstId}` : ''}` });
        return;
      }
      case ObsPoint.FROM_OVERLAY:
        this.push({ ...base, hook: 'tc ingress cilium_vxlan', program: 'cil_from_overlay', kind: 'trace', summary: `from-overlay: decapsulated, source identity ${this.idText(ev.srcLabel)} from the VNI` });
        return;
      case ObsPoint.FROM_NETWORK:
        this.push({ ...base, hook: 'tc ingress eth0', program: 'cil_from_netdev', kind: 'trace', summary: `from-network: arrived on eth0${t && t.proto === IpProto.UDP && t.dport === VXLAN_PORT ? ' (VXLAN, for the kernel to decapsulate)' : ''}` });
        return;
      case ObsPoint.TO_NETWORK:
        this.flushEgress(node, null);
        this.push({ ...base, hook: 'tc egress eth0', program: 'cil_to_netdev', kind: 'trace', summary: `to-network: leaving eth0${t && t.proto === IpProto.UDP && t.dport === VXLAN_PORT ? ' (VXLAN)' : ''}` });
        return;
      case ObsPoint.FROM_HOST:
        this.push({ ...base, hook: 'tc ingress cilium_host', program: 'cil_from_host', kind: 'trace', summary: 'from-host: sent by the node\'s own stack' });
        return;
      case ObsPoint.TO_HOST:
        this.push({ ...base, hook: 'tc egress cilium_host', program: 'cil_to_host', kind: 'trace', summary: 'to-host: up to the node\'s stack' });
        return;
      case ObsPoint.FROM_PROXY:
        this.push({ ...base, hook: 'tc ingress cilium_host', program: 'cil_from_host', kind: 'trace', summary: 'from-proxy: sent by the L7 proxy' });
        return;
      default:
        this.push({ ...base, hook: this.ifname(node, ev.ifindex), program: '', kind: 'trace', summary: point });
    }
  }

  private decision(node: string, ev: PolicyVerdictEvent, audit: boolean): TracePolicyDecision {
    const fnode = this.fnode(node);
    const ep = fnode.endpoint(ev.source);
    const direction = ev.direction === PolicyDir.INGRESS ? 'ingress' : 'egress';
    const bit = direction === 'ingress' ? PolicyDir.INGRESS : PolicyDir.EGRESS;
    const enforced = ep ? (ep.enforced & bit) !== 0 : true;
    const engine = this.fork.engine;
    const verdict: TracePolicyDecision['verdict'] = audit ? 'audit' : ev.verdict < 0 ? 'deny' : ev.verdict > 0 ? 'redirect' : 'allow';
    const d: TracePolicyDecision = {
      endpointId: ev.source,
      direction,
      enforced,
      key: { identity: ev.remoteLabel, identityLabels: this.labels(ev.remoteLabel), direction, protocol: ev.proto, port: ev.dport },
      match: policyMatchName(ev.matchType),
      verdict,
      cookie: ev.cookie,
      rules: [],
      explanation: '',
    };
    if (ev.verdict > 0) d.proxyPort = ev.verdict;
    if (ev.verdict < 0) d.dropReason = { code: -ev.verdict, text: dropReasonText(-ev.verdict) };
    const a = ev.cookie ? engine?.lookup(ev.cookie) : undefined;
    if (a) {
      d.rules = a.rules.map(ruleOf);
      if (a.overridden.length) d.overridden = a.overridden.map(ruleOf);
      if (a.implicit) d.implicit = a.implicit;
      d.explanation = attributionExplanation(a);
    }
    if ((ev.verdict < 0 || audit) && !a && engine && ep) {
      const ctx = this.fork.policyContext(ep.info);
      const why = engine.explainDrop(ctx, { direction, remoteIdentity: ev.remoteLabel, proto: ev.proto, port: ev.dport }, this.fork.mode, audit);
      d.selectedBy = why.selectedBy.map(ruleOf);
      d.explanation = why.text;
    }
    if (!d.explanation) d.explanation = ev.verdict < 0 ? dropReasonText(-ev.verdict) : 'allowed';
    return d;
  }

  private keyText(d: TracePolicyDecision): string {
    const proto = d.key.protocol === 6 ? 'TCP' : d.key.protocol === 17 ? 'UDP' : d.key.protocol === 1 ? 'ICMP' : d.key.protocol === 132 ? 'SCTP' : String(d.key.protocol);
    return `{identity ${this.idText(d.key.identity)}, ${d.direction}, ${proto}, ${d.key.protocol === 1 ? 'type ' : 'port '}${d.key.port}}`;
  }

  private policy(node: string, ev: PolicyVerdictEvent): void {
    const d = this.decision(node, ev, false);
    const egress = d.direction === 'egress';
    const action = d.verdict === 'deny' ? `DENIED (${d.dropReason!.code} ${d.dropReason!.text})` : d.verdict === 'redirect' ? `REDIRECTED to proxy port ${d.proxyPort}` : 'ALLOWED';
    this.push({
      node,
      hook: egress ? `tc ingress ${this.epDevice(node, ev.source)}` : `tail call cilium_call_policy[${ev.source}]`,
      program: egress ? 'handle_ipv4_from_lxc → policy_can_egress4' : 'tail_ipv4_policy → policy_can_ingress4',
      kind: 'policy',
      endpointId: ev.source,
      summary: `${d.direction} policy of endpoint ${ev.source}${d.enforced ? '' : ' (not enforced)'}: key ${this.keyText(d)} → ${action}, match ${d.match}: ${d.explanation}`,
      policy: d,
      monitor: this.monitorLine(node, ev),
    });
  }

  private audit(node: string, ev: PolicyVerdictEvent): void {
    const d = this.decision(node, ev, true);
    this.push({
      node,
      hook: d.direction === 'egress' ? `tc ingress ${this.epDevice(node, ev.source)}` : `tail call cilium_call_policy[${ev.source}]`,
      program: 'audit policy map',
      kind: 'audit',
      endpointId: ev.source,
      summary: `AUDIT: the audited policies would drop this (${d.direction}, key ${this.keyText(d)}, match ${d.match}): ${d.explanation}`,
      policy: d,
      monitor: this.monitorLine(node, ev),
    });
  }

  private drop(node: string, ev: DropEvent): void {
    const t = frameTuple(ev.packet);
    const file = sourceFileName(ev.file);
    const ingress = ev.dstId !== 0;
    const program = ev.file === SourceFile.BPF_LXC ? (ingress ? 'handle_policy' : 'cil_from_container') : ev.file === SourceFile.BPF_OVERLAY ? 'cil_from_overlay' : ev.file === SourceFile.BPF_HOST ? 'cil_from_host / cil_to_netdev' : (SOURCE_FILE_PROGRAM[ev.file] ?? file);
    const hook = ev.file === SourceFile.BPF_LXC ? (ingress ? `tail call cilium_call_policy[${ev.dstId}]` : `tc ingress ${this.epDevice(node, ev.source)}`) : ev.file === SourceFile.BPF_OVERLAY ? 'tc ingress cilium_vxlan' : this.ifname(node, ev.ifindex);
    this.push({
      node,
      hook,
      program,
      kind: 'drop',
      summary: `DROPPED: ${dropReasonText(ev.reason, ev.extError)} (${ev.reason}) at ${file}:${ev.line}${ingress ? `, to endpoint ${ev.dstId}` : ''}`,
      identity: { source: ev.srcLabel, destination: ev.dstLabel },
      drop: { code: ev.reason, reason: dropReasonText(ev.reason, ev.extError), file, line: ev.line },
      ...(t ? { packet: modelTuple(t) } : {}),
      monitor: this.monitorLine(node, ev),
    });
  }
}

function ctKeyText(k: Uint8Array): string {
  const flags = k[CT_TUPLE.FLAGS]!;
  const proto = k[CT_TUPLE.NEXTHDR]!;
  const dir = flags & TupleFlags.SERVICE ? 'SVC' : flags & TupleFlags.IN ? 'IN' : 'OUT';
  const related = flags & TupleFlags.RELATED ? ' related' : '';
  const s = `${ipv4ToString(readU32BE(k, CT_TUPLE.SADDR))}:${readU16BE(k, CT_TUPLE.SPORT)}`;
  const d = `${ipv4ToString(readU32BE(k, CT_TUPLE.DADDR))}:${readU16BE(k, CT_TUPLE.DPORT)}`;
  return `${dir}${related} ${s} -> ${d} ${PROTO_NAME[proto] ?? proto}`;
}

// ---- running one trace ------------------------------------------------------------------

interface Terminal {
  outcome: TraceOutcome;
  /** Where a delivered frame arrived, to answer from there. */
  at?: { kind: 'pod'; node: string; endpointId: number; frame: Uint8Array } | { kind: 'host'; node: string; frame: Uint8Array } | { kind: 'external'; host: string; frame: Uint8Array } | { kind: 'proxy'; node: string; port: number; frame: Uint8Array };
}

function terminalOf(rt: ClusterRuntime, fork: DatapathFork, records: ForkRecord[], want: { endpointId?: number; ip: number }, it: Interpreter): Terminal {
  for (const r of records) {
    if (r.kind === 'event' && r.event.type === 'drop') {
      const ev = r.event;
      const file = sourceFileName(ev.file);
      const reason = dropReasonText(ev.reason, ev.extError);
      return { outcome: { result: 'dropped', text: `dropped (${reason}) on ${r.node} at ${file}:${ev.line}${ev.dstId ? `, to endpoint ${ev.dstId}` : ''}`, node: r.node, drop: { code: ev.reason, reason, file, line: ev.line, node: r.node, direction: ev.dstId ? 'ingress' : 'egress' } } };
    }
    if (r.kind === 'pod') {
      const e = fork.node(r.node)!.endpoints.get(r.endpointId);
      const who = e ? `${e.info.namespace}/${e.info.podName}` : `endpoint ${r.endpointId}`;
      return { outcome: { result: 'delivered', text: `delivered to endpoint ${r.endpointId} (${who} on ${r.node})`, node: r.node, endpointId: r.endpointId, peer: who }, at: { kind: 'pod', node: r.node, endpointId: r.endpointId, frame: r.frame } };
    }
    if (r.kind === 'host') return { outcome: { result: 'delivered', text: `delivered to the host namespace of ${r.node}`, node: r.node, peer: `node/${r.node}` }, at: { kind: 'host', node: r.node, frame: r.frame } };
    if (r.kind === 'external') return { outcome: { result: 'delivered', text: `delivered to external host ${r.host}`, peer: `host/${r.host}` }, at: { kind: 'external', host: r.host, frame: r.frame } };
    if (r.kind === 'proxy') return { outcome: { result: 'to-proxy', text: `handed to the L7 proxy on ${r.node} (port ${r.proxyPort})`, node: r.node }, at: { kind: 'proxy', node: r.node, port: r.proxyPort, frame: r.frame } };
  }
  // Nothing delivered, nothing dropped by a program: the kernel had nowhere to send it.
  const where = it.peerName(want.ip) ?? ipv4ToString(want.ip);
  void rt;
  return { outcome: { result: 'lost', text: `not delivered: no route to ${where} (passed up the stack with nowhere to go, or no host answers on the underlay)` } };
}

export interface RunResult {
  steps: TraceStep[];
  forward: { tuple: TraceTuple; outcome: TraceOutcome };
  reply?: { tuple: TraceTuple; outcome: TraceOutcome } | { skipped: string };
  verdict: TraceResult['verdict'];
  service?: TraceResult['service'];
  fork: DatapathFork;
  problems: string[];
}

const DEFAULT_SRC_PORT = 43210;

export function newFork(rt: ClusterRuntime, hypothesis: { add: readonly KubeObject[]; remove: readonly PolicyRef[] } | null): { fork: DatapathFork; problems: string[] } {
  const fork = new DatapathFork(rt);
  const problems = hypothesis ? fork.withPolicies(hypothesis.add, hypothesis.remove) : [];
  return { fork, problems };
}

export function runOnce(rt: ClusterRuntime, src: Sender, dst: Receiver, req: TraceRequest, proto: TraceProtocol, port: number, forked: { fork: DatapathFork; problems: string[] }): RunResult {
  const { fork, problems } = forked;
  const seq = { n: 0 };
  const it = new Interpreter(rt, fork, seq);
  const protoNum = PROTO_NUM[proto];
  const srcPort = req.srcPort ?? DEFAULT_SRC_PORT;
  const sendTuple: Tuple = { proto: protoNum, src: src.ip, dst: dst.ip, sport: protoNum === IpProto.ICMP ? 0x7a5e : srcPort, dport: protoNum === IpProto.ICMP ? 0 : port, icmpType: protoNum === IpProto.ICMP ? 8 : -1, tcpFlags: protoNum === IpProto.TCP ? TcpFlags.SYN : 0 };
  const requested: TraceTuple = modelTuple(sendTuple);

  if (dst.dns) {
    const d = dst.dns;
    it.push({
      hook: `udp ${d.server}:53`,
      program: 'CoreDNS (kubernetes plugin)',
      kind: 'dns',
      summary: d.rcode === 'NOERROR' ? `DNS ${d.tried[d.tried.length - 1]} A → ${d.answer.join(', ')}${dst.service ? ` (Service ${dst.service.namespace}/${dst.service.name})` : ''}${d.tried.length > 1 ? ` (after ${d.tried.slice(0, -1).join(', ')}: NXDOMAIN)` : ''}` : `DNS ${d.query}: NXDOMAIN (tried ${d.tried.join(', ')})`,
      dns: d,
    });
    if (d.rcode === 'NXDOMAIN') {
      const outcome: TraceOutcome = { result: 'unresolved', text: `could not resolve host: ${d.query}` };
      return { steps: it.steps, forward: { tuple: requested, outcome }, verdict: 'UNREACHABLE', fork, problems };
    }
  }

  const srcNode = src.node ? fork.node(src.node.name)! : undefined;
  let dstIp = dst.ip;
  let dstPort = port;
  let sockCookie = 0;
  // Socket LB: connect() (TCP, connected UDP) runs cil_sock4_connect in the sender's cgroup before any packet exists.
  if (srcNode && srcNode.dp.cfg.socketLb && (protoNum === IpProto.TCP || protoNum === IpProto.UDP)) {
    sockCookie = 0x7ace0000 + (srcPort & 0xffff);
    const ctx: SockAddrCtx = { userIp4: dstIp, userPort: dstPort, protocol: protoNum, socketCookie: sockCookie, netnsCookie: 0, srcIp4: src.ip };
    const svcOff = lbLookupService(srcNode.dp, dstIp, dstPort);
    const count = svcOff >= 0 ? svcCount(srcNode.dp, svcOff) : 0;
    const revNat = svcOff >= 0 ? svcRevNatIndex(srcNode.dp, svcOff) : 0;
    const mark = fork.log.length;
    const rc = srcNode.kernel.sock.cil_sock4_connect(ctx);
    const sockEvents = fork.since(mark).filter((r): r is Extract<ForkRecord, { kind: 'event' }> => r.kind === 'event' && r.event.type === 'trace-sock');
    const monitor = sockEvents.map((r) => formatMonitorLine(r.event as TraceSockEvent).trimEnd()).join('\n');
    const frontend = `${ipv4ToString(dstIp)}:${dstPort}`;
    const svcName = dst.service ? `${dst.service.namespace}/${dst.service.name}` : undefined;
    if (rc < 0) {
      it.push({ node: srcNode.name, hook: 'cgroup/connect4', program: 'cil_sock4_connect', kind: 'socket-lb', summary: `service ${svcName ?? ''} ${frontend} has no backend: connect() fails with EHOSTUNREACH (No route to host)`, ...(monitor ? { monitor } : {}) });
      const outcome: TraceOutcome = { result: 'connect-failed', text: `connect() to ${frontend} failed: No route to host (the Service has no backends)`, node: srcNode.name };
      return { steps: it.steps, forward: { tuple: requested, outcome }, verdict: 'UNREACHABLE', fork, problems, ...(dst.service ? { service: dst.service } : {}) };
    }
    if (ctx.userIp4 !== dstIp || ctx.userPort !== dstPort) {
      let slot = 0;
      let backendId = 0;
      for (let s = 1; s <= count; s++) {
        const id = lbSlotBackendId(srcNode.dp, dstIp, dstPort, s);
        const b = id ? lbLookupBackend(srcNode.dp, id) : -1;
        if (b >= 0 && backendAddress(srcNode.dp.lbBackends, b) === ctx.userIp4 && backendPort(srcNode.dp.lbBackends, b) === ctx.userPort) {
          slot = s;
          backendId = id;
          break;
        }
      }
      const backend = `${ipv4ToString(ctx.userIp4)}:${ctx.userPort}`;
      const who = it.peerName(ctx.userIp4);
      const choice = protoNum === IpProto.TCP ? 'random' : 'socket-cookie';
      const how = choice === 'random' ? `get_prandom_u32() % ${count} + 1` : `socket cookie ${sockCookie} % ${count} + 1`;
      it.push({
        node: srcNode.name,
        hook: 'cgroup/connect4',
        program: 'cil_sock4_connect',
        kind: 'socket-lb',
        summary: `socket LB: service ${svcName ? `${svcName} ` : ''}${frontend} → backend ${backend}${who ? ` (${who})` : ''}, slot ${slot} of ${count} (${how}), backend ID ${backendId}; the socket now talks to the backend (no per-packet DNAT)`,
        lb: { ...(svcName ? { service: svcName } : {}), frontend, backend, backendId, slot, slots: count, choice, revNatIndex: revNat, point: 'connect' },
        ...(monitor ? { monitor } : {}),
      });
      dstIp = ctx.userIp4;
      dstPort = ctx.userPort;
    }
  }

  const frame = buildFrame({ proto: protoNum, srcMac: src.mac, dstMac: src.gatewayMac, src: src.ip, dst: dstIp, sport: sendTuple.sport, dport: dstPort, tcpFlags: sendTuple.tcpFlags, seq: 1_000_000, ack: 0, reply: false });
  const sent = frameTuple(frame)!;
  const start = fork.log.length;
  inject(fork, src, frame);
  let records = fork.since(start);
  it.run(records);
  let term = terminalOf(rt, fork, records, { ip: dstIp }, it);

  // The L7 proxy: decide the request, then let the proxy's own connection continue through the datapath.
  for (let hops = 0; term.outcome.result === 'to-proxy' && term.at?.kind === 'proxy' && hops < 2; hops++) {
    const at = term.at;
    const decided = proxyDecision(fork, it, records, at, src, req);
    if (!decided) break;
    if (!decided.allowed) {
      term = { outcome: { result: 'denied-by-proxy', text: `answered 403 Forbidden by the L7 proxy on ${at.node} (Access denied): ${decided.why}`, node: at.node, http: { status: 403 } } };
      break;
    }
    const mark = fork.log.length;
    const fnode = fork.node(at.node)!;
    fnode.kernel.runIngress(fnode.kernel.ciliumHost.ifindex, at.frame, 0, at.frame.length, decided.mark);
    records = fork.since(mark);
    it.run(records);
    term = terminalOf(rt, fork, records, { ip: dstIp }, it);
  }

  const forward = { tuple: modelTuple(sent), outcome: term.outcome };
  let reply: RunResult['reply'];
  let replyOk = true;
  if (req.reply) {
    const at = term.at;
    if (term.outcome.result === 'to-proxy') {
      reply = { skipped: 'the L7 proxy terminates the connection: it answers the handshake itself and each request after its L7 rules' };
    } else if (term.outcome.result !== 'delivered' || !at || at.kind === 'proxy') {
      reply = { skipped: `the request was not delivered (${term.outcome.result})` };
      replyOk = false;
    } else {
      const ans = replyFrame(at.frame);
      if (!ans) reply = { skipped: 'no answer to build' };
      else {
        it.setDirection('reply');
        const mark = fork.log.length;
        if (at.kind === 'pod') {
          const fnode = fork.node(at.node)!;
          const ep = fnode.endpoint(at.endpointId)!;
          fnode.kernel.runIngress(ep.cfg.ifindex, ans);
        } else if (at.kind === 'host') {
          const fnode = fork.node(at.node)!;
          fnode.kernel.runIngress(fnode.kernel.ciliumHost.ifindex, ans);
        } else {
          fork.underlay.send(ans);
        }
        const rrecords = fork.since(mark);
        it.run(rrecords);
        const rterm = terminalOf(rt, fork, rrecords, { ip: src.ip }, it);
        // Socket LB shows the service address to the application again (getpeername / recvmsg).
        if (rterm.outcome.result === 'delivered' && sockCookie && srcNode && dst.service) {
          const t = frameTuple(ans)!;
          const ctx: SockAddrCtx = { userIp4: t.src, userPort: t.sport, protocol: protoNum, socketCookie: sockCookie, netnsCookie: 0, srcIp4: src.ip };
          const m2 = fork.log.length;
          if (protoNum === IpProto.TCP) srcNode.kernel.sock.cil_sock4_getpeername(ctx);
          else srcNode.kernel.sock.cil_sock4_recvmsg(ctx);
          const ev = fork.since(m2).filter((r) => r.kind === 'event').map((r) => formatMonitorLine((r as Extract<ForkRecord, { kind: 'event' }>).event).trimEnd());
          it.push({
            node: srcNode.name,
            hook: protoNum === IpProto.TCP ? 'cgroup/getpeername4' : 'cgroup/recvmsg4',
            program: protoNum === IpProto.TCP ? 'cil_sock4_getpeername' : 'cil_sock4_recvmsg',
            kind: 'socket-lb',
            summary: `socket LB reverse: the application sees ${ipv4ToString(ctx.userIp4)}:${ctx.userPort} (the service), not the backend ${ipv4ToString(t.src)}:${t.sport}`,
            lb: { service: `${dst.service.namespace}/${dst.service.name}`, frontend: `${ipv4ToString(ctx.userIp4)}:${ctx.userPort}`, backend: `${ipv4ToString(t.src)}:${t.sport}`, backendId: 0, slot: 0, slots: 0, choice: 'random', revNatIndex: 0, point: protoNum === IpProto.TCP ? 'getpeername' : 'recvmsg' },
            ...(ev.length ? { monitor: ev.join('\n') } : {}),
          });
        }
        reply = { tuple: modelTuple(frameTuple(ans)!), outcome: rterm.outcome };
        // A reply to the proxy's upstream connection goes back to the proxy, which answers the client.
        replyOk = rterm.outcome.result === 'delivered' || rterm.outcome.result === 'to-proxy';
      }
    }
  }
  const r = term.outcome.result;
  const denied = r === 'dropped' || r === 'denied-by-proxy' || (reply && 'outcome' in reply && reply.outcome.result === 'dropped');
  const verdict: TraceResult['verdict'] = (r === 'delivered' || r === 'to-proxy') && replyOk ? 'ALLOWED' : denied ? 'DENIED' : 'UNREACHABLE';
  return { steps: it.steps, forward, ...(reply ? { reply } : {}), verdict, fork, problems, ...(dst.service ? { service: dst.service } : {}) };
}

function inject(fork: DatapathFork, src: Sender, frame: Uint8Array): void {
  if (src.kind === 'pod') {
    const n = fork.node(src.node!.name)!;
    const ep = n.endpoint(src.ep!.id);
    if (!ep) throw new TraceError(`endpoint ${src.ep!.id} is not on ${n.name}`);
    n.kernel.runIngress(ep.cfg.ifindex, frame);
  } else if (src.kind === 'node') {
    const n = fork.node(src.node!.name)!;
    n.kernel.runIngress(n.kernel.ciliumHost.ifindex, frame);
  } else {
    // An external host hands the frame to the segment's gateway, which switches it by destination.
    const t = frameTuple(frame)!;
    fork.ensureAt(t.dst);
    for (const n of fork.runtime.nodes) fork.node(n.name);
    fork.underlay.send(frame);
  }
}

/**
 * The L7 proxy's part: the request decided by the proxy's own matcher
 * (decideHttp) over the L7 rules the engine gives for the redirected flow,
 * named by the to-proxy event (its endpoint, identities and port).
 */
function proxyDecision(fork: DatapathFork, it: Interpreter, records: ForkRecord[], at: { node: string; port: number; frame: Uint8Array }, src: Sender, req: TraceRequest): { allowed: boolean; mark: number; why: string } | null {
  const engine = fork.engine;
  const t = frameTuple(at.frame);
  let ev: TraceEvent | undefined;
  for (const r of records) if (r.kind === 'event' && r.node === at.node && r.event.type === 'trace' && r.event.obsPoint === ObsPoint.TO_PROXY) ev = r.event;
  if (!engine || !t || !ev) return null;
  const fnode = fork.node(at.node)!;
  const ep = fnode.endpoint(ev.source);
  if (!ep) return null;
  const egress = src.kind === 'pod' && src.node?.name === at.node && src.ep?.id === ev.source;
  const remoteIdentity = egress ? ev.dstLabel : ev.srcLabel;
  const direction = egress ? 'egress' : 'ingress';
  const found = engine.l7Rules(fork.policyContext(ep.info), { direction, remoteIdentity, proto: t.proto, port: t.dport }, fork.mode);
  const last = it.steps[it.steps.length - 1];
  if (last?.kind === 'proxy') last.proxy = { port: at.port, direction, ...(found ? { rules: found.rules as unknown[], allowAll: found.allowAll } : {}) };
  if (req.httpMethod === undefined && req.httpPath === undefined) {
    it.push({ node: at.node, hook: `proxy port ${at.port}`, program: 'L7 proxy (HTTP)', kind: 'l7', summary: `the L7 rules decide each request${found ? `: ${JSON.stringify(found.rules)}` : ''} (--http-method/--http-path trace one)` });
    return null;
  }
  const method = (req.httpMethod ?? 'GET').toUpperCase();
  const path = req.httpPath ?? '/';
  const headers = new HttpHeaders({ host: `${ipv4ToString(t.dst)}:${t.dport}` });
  const allowed = decideHttp(l7RulesUnion(found), { method, target: path, headers }).allowed;
  const why = allowed ? 'a rule matches' : found ? `no HTTP rule of ${found.by.map(ruleRefText).join(', ')} matches ${method} ${path}` : 'no L7 policy covers this flow';
  it.push({
    node: at.node,
    hook: `proxy port ${at.port}`,
    program: 'L7 proxy (HTTP)',
    kind: 'l7',
    summary: `${method} ${path}: ${allowed ? 'allowed; the proxy connects upstream' : `denied: 403 Forbidden "Access denied" (${why})`}`,
    l7: { method, path, allowed, status: allowed ? 200 : 403 },
  });
  const mark = egress ? (MARK_MAGIC_PROXY_EGRESS_EPID | ((ev.source & 0xffff) << 16)) >>> 0 : identityMark(MARK_MAGIC_PROXY_INGRESS, remoteIdentity);
  return { allowed, mark, why };
}

function record(rt: ClusterRuntime, fork: DatapathFork): void {
  // The fork's events into the live rings: Hubble turns them into flows as if the packet had been real.
  for (const r of fork.log) {
    if (r.kind !== 'event') continue;
    const live = rt.node(r.node);
    if (!live) continue;
    const bytes = encodeAgain(r.event, fork, r.node);
    if (!bytes) continue;
    const ring = live.dp.events;
    const off = ring.reserve(bytes.length);
    if (off < 0) continue;
    ring.data.set(bytes, off);
    ring.commit();
  }
}

function encodeAgain(ev: DatapathEvent, fork: DatapathFork, node: string): Uint8Array | undefined {
  void node;
  return fork.raw.get(ev);
}

/** Run a trace (see TraceRequest). Throws TraceError for bad input. */
export function trace(rt: ClusterRuntime, req: TraceRequest): TraceResult {
  const t0 = performance.now();
  const src = resolveSender(rt, req.src);
  const dst = resolveReceiver(rt, req.dst, src);
  const proto = normProto(req.protocol) ?? dst.protocol ?? 'TCP';
  if (proto === 'ICMP' && req.port !== undefined) throw new TraceError('--port makes no sense with --protocol icmp');
  const port = proto === 'ICMP' ? 0 : (req.port ?? dst.port ?? 80);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TraceError(`invalid port ${req.port}`);
  const removed: PolicyRef[] = [];
  for (const w of req.without ?? []) {
    const r = parsePolicyRef(w);
    if ('error' in r) throw new TraceError(r.error);
    removed.push(r);
  }
  const hypothetical = (req.with?.length ?? 0) > 0 || removed.length > 0;
  const main = runOnce(rt, src, dst, req, proto, port, newFork(rt, hypothetical ? { add: req.with ?? [], remove: removed } : null));
  let whatIf: TraceResult['whatIf'];
  if (hypothetical) {
    const before = runOnce(rt, src, dst, { ...req, record: false }, proto, port, newFork(rt, null));
    whatIf = {
      added: (main.fork.hypothetical?.added ?? []).map((a) => `${a.kind}/${a.namespace ? `${a.namespace}/` : ''}${a.name}`),
      removed: removed.map((r) => `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`),
      problems: main.problems,
      before: { verdict: before.verdict, forward: before.forward.outcome, ...(before.reply && 'outcome' in before.reply ? { reply: before.reply.outcome } : {}) },
    };
  }
  if (req.record && !hypothetical) record(rt, main.fork);
  const result: TraceResult = {
    version: TRACE_MODEL_VERSION,
    request: {
      src: req.src,
      dst: req.dst,
      protocol: proto,
      ...(proto !== 'ICMP' ? { port } : {}),
      ...(req.httpMethod ? { httpMethod: req.httpMethod.toUpperCase() } : {}),
      ...(req.httpPath ? { httpPath: req.httpPath } : {}),
      reply: !!req.reply,
      ...(req.with?.length ? { with: req.with.map((o) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`) } : {}),
      ...(req.without?.length ? { without: [...req.without] } : {}),
    },
    source: src.peer,
    destination: dst.peer,
    ...(main.service ? { service: main.service } : {}),
    forward: main.forward,
    ...(main.reply ? { reply: main.reply } : {}),
    steps: main.steps,
    verdict: main.verdict,
    ...(whatIf ? { whatIf } : {}),
    recorded: !!req.record && !hypothetical,
    elapsedMs: Math.round((performance.now() - t0) * 1000) / 1000,
  };
  return result;
}

export { DropReason };
