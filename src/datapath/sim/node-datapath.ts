// One node's datapath state: the pinned maps, the node's compile-time config
// (node_config.h), the clock and randomness the BPF helpers read, and scratch
// buffers programs reuse so the packet path never allocates.

import { ArrayMap } from '../../bpf/array.js';
import { HashMap, PerCpuHashMap } from '../../bpf/hash.js';
import { LpmTrieMap } from '../../bpf/lpm.js';
import { LruHashMap } from '../../bpf/lru.js';
import { CtHashMap } from '../../bpf/ct-map.js';
import { ProgArray } from '../../bpf/prog-array.js';
import { EventRing } from '../../bpf/ringbuf.js';
import { BpfMapType, type KeyValueMap, type MapSpec } from '../../bpf/types.js';
import type { Clock } from '../../util/clock.js';
import { Rng } from '../../util/rng.js';
import { DEFAULT_CT_TIMEOUTS, type CtTimeouts } from '../ct.js';
import { DEFAULT_MAP_SIZES, MapName, nodeMapSpecs, type NodeMapSizes } from '../maps.js';
import type { SkBuff } from '../skb.js';
import { CtLookupResult } from './lib/conntrack.js';
import { Ip4Info } from './lib/pkt.js';
import { PolicyResult } from './lib/policy.js';
import { MonitorAggregation } from '../trace.js';

/** cilium_ct4_global / cilium_ct_any4_global: LRU hash maps, or plain hash maps (ctMapType 'hash'), tuple-hashed. */
export type CtMap = CtHashMap;

/** A tc / tail-call program: runs on a packet context, returns a TcAct code. */
export type Prog = (ctx: SkBuff) => number;

export interface NodeIfindexes {
  eth0: number;
  ciliumHost: number;
  ciliumNet: number;
  ciliumVxlan: number;
}

export interface NodeDatapathConfig {
  nodeName: string;
  /** Underlay address of eth0 (the VXLAN outer source). */
  nodeIp: number;
  nodeMac: number;
  /** cilium_host's address: the pods' gateway. */
  routerIp: number;
  /** MAC pods see as their gateway (Cilium answers ARP with the lxc MAC). */
  routerMac: number;
  podCidr: { addr: number; prefixLen: number };
  ifindex: NodeIfindexes;
  /** routing-mode=tunnel, tunnel-protocol=vxlan (the only mode modelled so far). */
  tunnel: 'vxlan';
  /** bpf-lb-sock: service translation at connect() instead of per packet. */
  socketLb: boolean;
  /** --service-no-backend-response */
  noBackendResponse: 'reject' | 'drop';
  /** --monitor-aggregation (trace.ts MonitorAggregation). */
  monitorAggregation: number;
  ctTimeouts: CtTimeouts;
  /** policy-audit-mode: verdicts are reported, nothing is dropped by policy. */
  policyAuditMode: boolean;
  /** LRU CT maps (default), or plain hash maps as on kernels without LRU support: then a full map refuses. */
  ctMapType: 'lru' | 'hash';
  mapSizes: NodeMapSizes;
  seed: number;
}

export function defaultNodeConfig(partial: Partial<NodeDatapathConfig> & Pick<NodeDatapathConfig, 'nodeName' | 'nodeIp' | 'podCidr'>): NodeDatapathConfig {
  return {
    nodeMac: 0x02_00_00_00_00_01,
    routerIp: (partial.podCidr.addr + 1) >>> 0,
    routerMac: 0x02_00_00_00_01_01,
    ifindex: { eth0: 2, ciliumNet: 3, ciliumHost: 4, ciliumVxlan: 5 },
    tunnel: 'vxlan',
    socketLb: true,
    noBackendResponse: 'reject',
    monitorAggregation: MonitorAggregation.MEDIUM,
    ctTimeouts: { ...DEFAULT_CT_TIMEOUTS },
    policyAuditMode: false,
    ctMapType: 'lru',
    mapSizes: { ...DEFAULT_MAP_SIZES },
    seed: 1,
    ...partial,
  };
}

/** The conntrack maps: CtHashMap, specialised for tuple keys (LRU or plain hash, by the spec's type). */
const CT_MAPS: ReadonlySet<string> = new Set([MapName.CT4_GLOBAL, MapName.CT_ANY4_GLOBAL]);

function createMap(spec: MapSpec): KeyValueMap {
  if (CT_MAPS.has(spec.name)) return new CtHashMap(spec);
  switch (spec.type) {
    case BpfMapType.HASH:
      return new HashMap(spec);
    case BpfMapType.LRU_HASH:
      return new LruHashMap(spec);
    case BpfMapType.LPM_TRIE:
      return new LpmTrieMap(spec);
    case BpfMapType.PERCPU_HASH:
      return new PerCpuHashMap(spec);
    case BpfMapType.ARRAY:
      return new ArrayMap(spec);
    default:
      throw new Error(`map ${spec.name}: unsupported type ${spec.type}`);
  }
}

export class NodeDatapath {
  readonly maps = new Map<string, KeyValueMap>();
  readonly ct4: CtMap;
  readonly ctAny4: CtMap;
  readonly lbServices: KeyValueMap;
  readonly lbBackends: KeyValueMap;
  readonly lbRevNat: KeyValueMap;
  readonly lbRevSk: KeyValueMap;
  readonly lxc: KeyValueMap;
  readonly ipcache: KeyValueMap;
  readonly tunnelMap: KeyValueMap;
  readonly metrics: KeyValueMap;
  readonly snat: KeyValueMap;
  readonly events: EventRing;
  /** cilium_call_policy: endpoint ID → that endpoint's handle_policy. */
  readonly callPolicy: ProgArray<Prog>;
  /** cilium_egresscall_policy: endpoint ID → its egress policy program for the L7 proxy's upstream packets. */
  readonly callEgressPolicy: ProgArray<Prog>;
  /** cilium_calls_overlay_2: bpf_overlay's tail calls. */
  readonly callsOverlay: ProgArray<Prog>;
  readonly rng: Rng;
  /** Per-CPU scratch (Cilium's tail call buffer): one packet is in flight per node at a time. */
  readonly scratch = { info: new Ip4Info(), ct: new CtLookupResult(), pol: new PolicyResult() };

  /** `from`: fork() — start from clones of that datapath's node-wide maps and its randomness. */
  constructor(
    readonly cfg: NodeDatapathConfig,
    readonly clock: Clock,
    from?: NodeDatapath,
  ) {
    // A fork draws the same numbers the original would draw next (the sfc32 state is copied, not shared).
    this.rng = from ? Object.assign(Object.create(Rng.prototype) as Rng, from.rng) : new Rng(cfg.seed);
    for (let spec of nodeMapSpecs(cfg.mapSizes)) {
      if (cfg.ctMapType === 'hash' && CT_MAPS.has(spec.name)) {
        spec = { ...spec, type: BpfMapType.HASH };
      }
      this.maps.set(spec.name, from?.maps.get(spec.name)?.clone() ?? createMap(spec));
    }
    const get = (name: string): KeyValueMap => this.maps.get(name)!;
    this.ct4 = get(MapName.CT4_GLOBAL) as CtMap;
    this.ctAny4 = get(MapName.CT_ANY4_GLOBAL) as CtMap;
    this.lbServices = get(MapName.LB4_SERVICES);
    this.lbBackends = get(MapName.LB4_BACKENDS);
    this.lbRevNat = get(MapName.LB4_REVERSE_NAT);
    this.lbRevSk = get(MapName.LB4_REVERSE_SK);
    this.lxc = get(MapName.LXC);
    this.ipcache = get(MapName.IPCACHE);
    this.tunnelMap = get(MapName.TUNNEL);
    this.metrics = get(MapName.METRICS);
    this.snat = get(MapName.SNAT4_EXTERNAL);
    this.events = new EventRing(cfg.mapSizes.eventsBytes, MapName.EVENTS);
    this.callPolicy = new ProgArray<Prog>({ name: MapName.CALL_POLICY, maxEntries: 65535 });
    this.callEgressPolicy = new ProgArray<Prog>({ name: MapName.EGRESSCALL_POLICY, maxEntries: 65535 });
    this.callsOverlay = new ProgArray<Prog>({ name: MapName.CALLS_OVERLAY, maxEntries: 50 });
  }

  /** bpf_mono_now(): whole seconds of monotonic time, what CT lifetimes use. */
  monoNow(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Register a per-endpoint map (cilium_policy_<EPID>) so dumps can find it by name. */
  addMap(map: KeyValueMap): void {
    this.maps.set(map.spec.name, map);
  }

  removeMap(name: string): void {
    this.maps.delete(name);
  }

  /**
   * A private copy (podpath trace, what-if): the same config with `overrides`,
   * every node-wide map cloned (nothing written to the copy reaches this
   * datapath), the RNG in the same state, a fresh event ring, no programs
   * loaded and no per-endpoint maps (the caller clones those it attaches).
   */
  fork(overrides: Partial<NodeDatapathConfig> = {}, clock: Clock = this.clock): NodeDatapath {
    return new NodeDatapath({ ...this.cfg, ...overrides }, clock, this);
  }

  createPolicyMap(spec: MapSpec): LpmTrieMap {
    const m = new LpmTrieMap(spec);
    this.addMap(m);
    return m;
  }
}
