// A fork of the cluster's datapath for `podpath trace`, `cilium policy trace`
// and what-if: the nodes a trace touches get private copies of their maps
// (every node-wide map cloned, each endpoint's policy map cloned when the
// packet reaches that endpoint), their programs loaded into new kernels in
// immediate mode on a private underlay, and monitor aggregation off so every
// from-*/to-* point reports. Nothing here writes a live map, a live ring or
// the live RNG: the live cluster cannot tell a trace ran.
//
// withPolicies() makes the fork hypothetical: a fork of the policy engine
// with manifests added or removed computes the endpoints' policy maps (and the
// CIDR identities' ipcache rows) instead of copying the live ones.

import type { LpmTrieMap } from '../bpf/lpm.js';
import type { KeyValueMap } from '../bpf/types.js';
import { storeTupleKey } from '../bpf/ct-map.js';
import type { ClusterNode, ClusterRuntime } from '../cluster/runtime.js';
import type { EndpointInfo } from '../agent/agent.js';
import type { EndpointPolicyContext, PolicyEnforcementMode } from '../agent/policy.js';
import { PolicyDir } from '../datapath/events.js';
import { ReservedIdentity } from '../datapath/identity.js';
import { deleteIpcache, putPolicyEntry, upsertIpcache } from '../datapath/map-writer.js';
import { policyMapSpec, POLICY_MAP_SIZE } from '../datapath/maps.js';
import { decodeEvent, type DatapathEvent } from '../datapath/monitor.js';
import type { EndpointConfig } from '../datapath/sim/bpf_lxc.js';
import type { NodeDatapath } from '../datapath/sim/node-datapath.js';
import { MonitorAggregation } from '../datapath/trace.js';
import { LpmTrieMap as Lpm } from '../bpf/lpm.js';
import type { KubeObject } from '../k8s/types.js';
import { NodeKernel, type TapEvent } from '../net/node-kernel.js';
import { Underlay, type UnderlayPort } from '../net/underlay.js';
import { PolicyEngine } from '../policy/engine.js';
import { kindOf } from '../policy/parse.js';
import type { PolicyKind } from '../policy/types.js';
import { R } from '../cluster/controllers/common.js';

/** What happened in the fork, in the order it happened (across nodes). */
export type ForkRecord =
  | { kind: 'event'; node: string; event: DatapathEvent }
  /** A frame on the underlay (outer VXLAN, forwarded, NAT'ed). */
  | { kind: 'wire'; frame: Uint8Array }
  /** A frame a device saw (the kernel's tap). */
  | { kind: 'tap'; node: string; device: string; direction: 'ingress' | 'egress'; frame: Uint8Array }
  /** Delivered into a pod's namespace (bpf_redirect_peer / veth). */
  | { kind: 'pod'; node: string; endpointId: number; frame: Uint8Array }
  /** Passed up to the node's own network namespace. */
  | { kind: 'host'; node: string; frame: Uint8Array }
  /** Handed to the L7 proxy (skb mark MARK_MAGIC_TO_PROXY). */
  | { kind: 'proxy'; node: string; proxyPort: number; frame: Uint8Array }
  /** Reached a machine on the underlay outside the cluster. */
  | { kind: 'external'; host: string; frame: Uint8Array }
  /** ct_create4() wrote an entry (the key: `struct ipv4_ct_tuple`). */
  | { kind: 'ct'; node: string; map: string; key: Uint8Array };

/** A policy reference for --without: KIND/NS/NAME (CCNP: KIND/NAME). */
export interface PolicyRef {
  kind: PolicyKind;
  namespace?: string;
  name: string;
}

const KIND_ALIASES: Record<string, PolicyKind> = {
  ciliumnetworkpolicy: 'CiliumNetworkPolicy',
  ciliumnetworkpolicies: 'CiliumNetworkPolicy',
  cnp: 'CiliumNetworkPolicy',
  ciliumclusterwidenetworkpolicy: 'CiliumClusterwideNetworkPolicy',
  ciliumclusterwidenetworkpolicies: 'CiliumClusterwideNetworkPolicy',
  ccnp: 'CiliumClusterwideNetworkPolicy',
  networkpolicy: 'NetworkPolicy',
  networkpolicies: 'NetworkPolicy',
  netpol: 'NetworkPolicy',
  knp: 'NetworkPolicy',
};

/** `cnp/demo/name`, `CiliumNetworkPolicy/demo/name`, `ccnp/name`, `networkpolicy/ns/name`. */
export function parsePolicyRef(s: string): PolicyRef | { error: string } {
  const parts = s.split('/');
  const kind = KIND_ALIASES[(parts[0] ?? '').toLowerCase().replace(/\.(cilium\.io|networking\.k8s\.io)$/, '')];
  if (!kind) return { error: `--without ${s}: expected KIND/NS/NAME with KIND one of CiliumNetworkPolicy (cnp), CiliumClusterwideNetworkPolicy (ccnp), NetworkPolicy (netpol)` };
  if (kind === 'CiliumClusterwideNetworkPolicy') {
    if (parts.length !== 2 || !parts[1]) return { error: `--without ${s}: a CiliumClusterwideNetworkPolicy is KIND/NAME` };
    return { kind, name: parts[1] };
  }
  if (parts.length !== 3 || !parts[1] || !parts[2]) return { error: `--without ${s}: expected KIND/NS/NAME` };
  return { kind, namespace: parts[1], name: parts[2] };
}

/** One endpoint as the fork knows it: the live agent's view plus its config. */
export interface ForkEndpoint {
  info: EndpointInfo;
  cfg: EndpointConfig;
  /** The live endpoint's compiled enforcement (PolicyDir bits), before the fork turned verdict logging on. */
  enforced: number;
  policyMap: KeyValueMap;
  auditMap: KeyValueMap | null;
}

/** A forked node: its own datapath copy and kernel on the fork's underlay. */
export class ForkNode {
  readonly name: string;
  readonly dp: NodeDatapath;
  readonly kernel: NodeKernel;
  readonly endpoints = new Map<number, ForkEndpoint>();
  private infos: Map<number, EndpointInfo> | undefined;

  constructor(
    readonly fork: DatapathFork,
    readonly live: ClusterNode,
  ) {
    this.name = live.name;
    // Events are decoded as they are committed, so the fork's ring never holds more than one record.
    this.dp = live.dp.fork({ monitorAggregation: MonitorAggregation.NONE, mapSizes: { ...live.dp.cfg.mapSizes, eventsBytes: 16384 } });
    this.kernel = new NodeKernel(this.dp, fork.underlay, true, 0);
    const record = fork.record;
    // Every event, decoded as it is committed: one ordered story across nodes.
    const ring = this.dp.events;
    const commit = ring.commit.bind(ring);
    ring.commit = (dataOff?: number): void => {
      commit(dataOff);
      ring.consume((data, off, len) => {
        const event = decodeEvent(data, off, len);
        if (!event) return;
        fork.raw.set(event, data.slice(off, off + len));
        record({ kind: 'event', node: this.name, event });
      });
    };
    // Conntrack entries as ct_create4() makes them (reserve is only the create path).
    for (const m of [this.dp.ct4, this.dp.ctAny4]) {
      const reserveTuple = m.reserveTuple.bind(m);
      m.reserveTuple = (k0: number, k1: number, k2: number, k3: number, flags: number): number => {
        const off = reserveTuple(k0, k1, k2, k3, flags);
        if (off >= 0) {
          const key = new Uint8Array(m.spec.keySize);
          storeTupleKey(key, 0, k0, k1, k2, k3);
          record({ kind: 'ct', node: this.name, map: m.spec.name, key });
        }
        return off;
      };
    }
    this.kernel.tap = (ev: TapEvent) => record({ kind: 'tap', node: this.name, device: ev.device, direction: ev.direction, frame: ev.frame });
    this.kernel.hostReceive = (frame) => record({ kind: 'host', node: this.name, frame });
    this.kernel.proxyReceive = (frame, proxyPort) => record({ kind: 'proxy', node: this.name, proxyPort, frame });
    // Endpoints are plumbed when the datapath first reaches them (a tail call into
    // cilium_call_policy[EPID]), so a trace costs what it touches, not the node's pod count.
    for (const pa of [this.dp.callPolicy, this.dp.callEgressPolicy]) {
      const get = pa.get.bind(pa);
      pa.get = (id: number) => get(id) ?? (this.endpoint(id) ? get(id) : undefined);
    }
  }

  /** The live agent's endpoint rows (labels, names, enforcement), by ID. */
  endpointInfos(): Map<number, EndpointInfo> {
    if (!this.infos) this.infos = new Map(this.live.agent.endpointList().map((e) => [e.id, e]));
    return this.infos;
  }

  /** Plumb an endpoint into the fork (its veth, programs and a private policy map); undefined if the node has none by that ID. */
  endpoint(id: number): ForkEndpoint | undefined {
    const have = this.endpoints.get(id);
    if (have) return have;
    const live = this.live.kernel.endpoints.get(id);
    const info = this.endpointInfos().get(id);
    if (!live || !info) return undefined;
    const hypo = this.fork.hypothetical;
    let policyMap: KeyValueMap;
    let auditMap: KeyValueMap | null;
    let enforced = live.cfg.policyVerdictLogFilter;
    if (hypo) {
      const ctx = this.fork.policyContext(info);
      const maxEntries = live.prog.policyMap.spec.maxEntries || POLICY_MAP_SIZE;
      const p = hypo.engine.compute(ctx, hypo.mode);
      policyMap = mapOf(id, maxEntries, p.entries);
      enforced = (p.ingressEnforced ? PolicyDir.INGRESS : 0) | (p.egressEnforced ? PolicyDir.EGRESS : 0);
      const a = hypo.engine.auditPolicy(ctx, hypo.mode);
      auditMap = a ? mapOf(id, maxEntries, a.entries) : null;
    } else {
      policyMap = live.prog.policyMap.clone();
      auditMap = live.prog.auditPolicyMap?.clone() ?? null;
    }
    // Verdict logging on in both directions: every decision reports, enforced or not (the verdicts are the map's).
    const cfg: EndpointConfig = { ...live.cfg, policyVerdictLogFilter: PolicyDir.INGRESS | PolicyDir.EGRESS };
    this.kernel.attachEndpoint(cfg, policyMap as LpmTrieMap, (buf, off, len) => this.fork.record({ kind: 'pod', node: this.name, endpointId: id, frame: buf.slice(off, off + len) }), live.device.name);
    const prog = this.kernel.endpoints.get(id)!.prog;
    prog.auditPolicyMap = auditMap;
    const e: ForkEndpoint = { info, cfg, enforced, policyMap, auditMap };
    this.endpoints.set(id, e);
    return e;
  }

  /** The endpoint of a pod address on this node. */
  endpointByIp(ip: string): ForkEndpoint | undefined {
    for (const info of this.endpointInfos().values()) if (info.ipv4 === ip) return this.endpoint(info.id);
    return undefined;
  }
}

function mapOf(epId: number, maxEntries: number, entries: readonly Parameters<typeof putPolicyEntry>[1][]): KeyValueMap {
  const m = new Lpm(policyMapSpec(epId, maxEntries));
  for (const e of entries) putPolicyEntry(m, e);
  return m;
}

/** An external host on the fork's underlay: it only records what reaches it. */
class ExternalRecorder implements UnderlayPort {
  constructor(
    readonly name: string,
    readonly ip: number,
    readonly mac: number,
    private readonly record: (r: ForkRecord) => void,
  ) {}
  receive(buf: Uint8Array, off: number, len: number): void {
    this.record({ kind: 'external', host: this.name, frame: buf.slice(off, off + len) });
  }
}

/** The fork's segment: nodes and external hosts join when something first looks them up. */
class ForkUnderlay extends Underlay {
  constructor(
    private readonly fork: DatapathFork,
    clock: ClusterRuntime['clock'],
  ) {
    super(clock, 0, true);
  }

  override neighbour(ip: number): UnderlayPort | null {
    // The VXLAN driver asks with the skb's int32 bits of the address (SkBuff.tunnelRemoteIpv4).
    this.fork.ensureAt(ip >>> 0);
    return super.neighbour(ip);
  }
}

export interface Hypothesis {
  engine: PolicyEngine;
  mode: PolicyEnforcementMode;
  added: { kind: PolicyKind; namespace?: string; name: string }[];
  removed: PolicyRef[];
}

export class DatapathFork {
  readonly underlay: Underlay;
  readonly nodes = new Map<string, ForkNode>();
  readonly log: ForkRecord[] = [];
  readonly externals = new Map<number, ExternalRecorder>();
  /** Each decoded event's record bytes (envelope, notify struct, packet), for --record. */
  readonly raw = new WeakMap<DatapathEvent, Uint8Array>();
  /** Set by withPolicies(): the forked engine the fork's policy maps come from. */
  hypothetical: Hypothesis | undefined;
  readonly record = (r: ForkRecord): void => {
    this.log.push(r);
  };

  constructor(readonly runtime: ClusterRuntime) {
    this.underlay = new ForkUnderlay(this, runtime.clock);
    this.underlay.addTap((frame) => this.record({ kind: 'wire', frame }));
  }

  /** The live policy engine (attribution of cookies, explanations), or the hypothetical one. */
  get engine(): PolicyEngine | undefined {
    if (this.hypothetical) return this.hypothetical.engine;
    return this.runtime.policy instanceof PolicyEngine ? this.runtime.policy : undefined;
  }

  get mode(): PolicyEnforcementMode {
    return this.runtime.config.cilium.policyEnforcementMode as PolicyEnforcementMode;
  }

  /** Fork a node (once). */
  node(name: string): ForkNode | undefined {
    const have = this.nodes.get(name);
    if (have) return have;
    const live = this.runtime.node(name);
    if (!live) return undefined;
    const n = new ForkNode(this, live);
    this.nodes.set(name, n);
    if (this.hypothetical) this.syncPrefixes(n);
    return n;
  }

  /** Fork every node (what-if over all pods). */
  all(): ForkNode[] {
    return this.runtime.nodes.map((n) => this.node(n.name)!);
  }

  /** Make the owner of an underlay address (a node, an external host) present on the fork's segment. */
  ensureAt(ip: number): void {
    for (const n of this.runtime.nodes) if (n.ip === ip) this.node(n.name);
    if (this.externals.has(ip)) return;
    const h = this.runtime.externalHosts.find((x) => x.ip === ip);
    if (!h) return;
    const port = new ExternalRecorder(h.name, h.ip, h.mac, this.record);
    this.externals.set(ip, port);
    this.underlay.attach(port);
  }

  /** What an endpoint is to the policy engine. */
  policyContext(info: EndpointInfo): EndpointPolicyContext {
    const pod = info.namespace && info.podName ? this.runtime.cache.get(R.pods, info.namespace, info.podName) : undefined;
    const containers = ((pod?.['spec'] as { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers ?? []);
    const namedPorts: { name: string; port: number; protocol: string }[] = [];
    for (const c of containers) for (const p of c.ports ?? []) if (p.name && p.containerPort) namedPorts.push({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' });
    return { id: info.id, namespace: info.namespace ?? '', podName: info.podName ?? '', identity: info.identity, labels: info.labels, namedPorts };
  }

  /** Take the records since `from` (default: all). */
  since(from: number): ForkRecord[] {
    return this.log.slice(from);
  }

  /**
   * Hypothetical policy: the fork's maps come from a fork of the policy
   * engine with `add` applied and `remove` deleted. Endpoints plumbed
   * already are recomputed; later ones are computed when plumbed.
   * Returns the problems (invalid manifests, unknown policies).
   */
  withPolicies(add: readonly KubeObject[], remove: readonly PolicyRef[]): string[] {
    const live = this.runtime.policy;
    if (!(live instanceof PolicyEngine)) return ['what-if needs the policy engine (this cluster runs another policy computer)'];
    const engine = live.fork();
    const problems: string[] = [];
    const added: Hypothesis['added'] = [];
    for (const r of remove) {
      if (!engine.deletePolicy(r.kind, r.namespace, r.name)) problems.push(`${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: not found`);
    }
    for (const obj of add) {
      const kind = kindOf(obj);
      const name = obj.metadata?.name ?? '';
      if (!kind) {
        problems.push(`${String(obj.kind)} ${name}: not a policy (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy)`);
        continue;
      }
      const o: KubeObject = kind === 'CiliumClusterwideNetworkPolicy' ? obj : { ...obj, metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? 'default' } };
      const errors = engine.upsertPolicy(o, kind);
      if (errors.length) {
        problems.push(`${kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${name}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
        continue;
      }
      added.push({ kind, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), name });
    }
    this.hypothetical = { engine, mode: this.mode, added, removed: [...remove] };
    for (const n of this.nodes.values()) {
      this.syncPrefixes(n);
      const ids = [...n.endpoints.keys()];
      for (const id of ids) {
        n.endpoints.delete(id);
        n.kernel.detachEndpoint(id);
        n.endpoint(id);
      }
    }
    return problems;
  }

  /**
   * CIDR identities in the fork's ipcache as the agent keeps them: the live
   * engine's prefix rows give way to the hypothetical engine's; a pod's or
   * node's own row for the same prefix stays.
   */
  private syncPrefixes(n: ForkNode): void {
    const hypo = this.hypothetical;
    const live = this.runtime.policy;
    if (!hypo || !(live instanceof PolicyEngine)) return;
    const rows = new Map(n.live.agent.ipcacheList().map((r) => [r.prefix, r]));
    const want = new Map(hypo.engine.prefixIdentities().map((p) => [`${ipText(p.addr)}/${p.prefixLen}`, p]));
    for (const p of live.prefixIdentities()) {
      const key = `${ipText(p.addr)}/${p.prefixLen}`;
      const row = rows.get(key);
      if (row?.source !== 'generated' || want.has(key)) continue;
      deleteIpcache(n.dp, p.addr, p.prefixLen);
    }
    for (const [key, p] of want) {
      const row = rows.get(key);
      if (row && row.source !== 'generated') continue;
      upsertIpcache(n.dp, { addr: p.addr, prefixLen: p.prefixLen, identity: p.identity, tunnelEndpoint: 0 });
    }
  }
}

function ipText(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Identity names for reserved numbers in step texts. */
export function isHostIdentity(id: number): boolean {
  return id === ReservedIdentity.HOST;
}
