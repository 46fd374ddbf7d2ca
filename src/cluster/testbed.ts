// A small cluster datapath seeded by hand, the way the agent seeds it: nodes on
// one underlay, pods with their endpoint/ipcache/policy entries, services in
// the LB maps. The demo, tests and benchmarks build scenarios on it.

import { VirtualClock } from '../util/clock.js';
import { Rng } from '../util/rng.js';
import { parseIpv4Addr } from '../packet/ip.js';
import { IpProto } from '../packet/ipv4.js';
import type { LpmTrieMap } from '../bpf/lpm.js';
import { NodeDatapath, defaultNodeConfig, type NodeDatapathConfig } from '../datapath/sim/node-datapath.js';
import type { EndpointConfig } from '../datapath/sim/bpf_lxc.js';
import { policyMapSpec } from '../datapath/maps.js';
import { ReservedIdentity } from '../datapath/identity.js';
import { PolicyDir } from '../datapath/events.js';
import { allowAllPolicy, upsertBackend, upsertEndpoint, upsertIpcache, upsertService, upsertTunnel } from '../datapath/map-writer.js';
import { NodeKernel } from '../net/node-kernel.js';
import { Underlay } from '../net/underlay.js';
import { NetStack } from '../net/stack/stack.js';

export const ip = (s: string): number => {
  const v = parseIpv4Addr(s);
  if (v === null) throw new Error(`bad IP ${s}`);
  return v;
};

export interface WorldNode {
  kernel: NodeKernel;
  dp: NodeDatapath;
  /** Host stack of the node (its own netns). */
  host: NetStack;
}

export interface Pod {
  name: string;
  node: WorldNode;
  ip: number;
  identity: number;
  ep: EndpointConfig;
  policyMap: LpmTrieMap;
  stack: NetStack;
  ifName: string;
}

export interface WorldOptions {
  nodes?: number;
  socketLb?: boolean;
  immediate?: boolean;
  /** Start of the virtual clock in ms (node "uptime"). */
  startMs?: number;
  node?: Partial<NodeDatapathConfig>;
  /** Replace delivery into pod stacks (benchmarks count frames instead of running TCP). */
  podReceive?: (pod: string, buf: Uint8Array, off: number, len: number) => void;
}

export class World {
  readonly clock: VirtualClock;
  readonly underlay: Underlay;
  readonly nodes: WorldNode[] = [];
  readonly pods: Pod[] = [];
  readonly rng = new Rng(7);
  private nextEpId = 1234;
  private readonly podReceive: ((pod: string, buf: Uint8Array, off: number, len: number) => void) | undefined;
  private readonly services: { vip: number; port: number; id: number; backends: { id: number; addr: number; port: number }[] }[] = [];

  constructor(opts: WorldOptions = {}) {
    this.clock = new VirtualClock(opts.startMs ?? 9_870_000);
    this.podReceive = opts.podReceive;
    this.underlay = new Underlay(this.clock, 0.05, opts.immediate ?? false);
    const n = opts.nodes ?? 2;
    for (let i = 0; i < n; i++) {
      const idx = i + 1;
      const cfg = defaultNodeConfig({
        nodeName: i === 0 ? 'kind-worker' : `kind-worker${idx}`,
        nodeIp: ip(`192.168.1.${10 + idx}`),
        nodeMac: 0x02_42_c0_a8_01_00 + 10 + idx,
        podCidr: { addr: ip(`10.0.${idx}.0`), prefixLen: 24 },
        routerIp: ip(`10.0.${idx}.${idx === 1 ? 157 : 49}`),
        routerMac: 0x0a_00_00_00_00_00 + idx * 0x100,
        socketLb: opts.socketLb ?? true,
        seed: idx,
        ...opts.node,
      });
      const dp = new NodeDatapath(cfg, this.clock);
      const kernel = new NodeKernel(dp, this.underlay, opts.immediate ?? false);
      const host = new NetStack({
        name: cfg.nodeName,
        ip: cfg.nodeIp,
        mac: cfg.nodeMac,
        gatewayIp: cfg.routerIp,
        gatewayMac: cfg.routerMac,
        clock: this.clock,
        rng: this.rng.fork(),
        transmit: (f) => kernel.hostTransmit(f),
      });
      kernel.hostReceive = (f) => host.receive(f);
      this.nodes.push({ kernel, dp, host });
    }
    // Every node: tunnel map and ipcache entries for every node (own = host, others = remote-node).
    for (const a of this.nodes) {
      upsertIpcache(a.dp, { addr: 0, prefixLen: 0, identity: ReservedIdentity.WORLD, tunnelEndpoint: 0 });
      for (const b of this.nodes) {
        const own = a === b;
        upsertIpcache(a.dp, { addr: b.dp.cfg.nodeIp, prefixLen: 32, identity: own ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE, tunnelEndpoint: own ? 0 : b.dp.cfg.nodeIp });
        upsertIpcache(a.dp, { addr: b.dp.cfg.routerIp, prefixLen: 32, identity: own ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE, tunnelEndpoint: own ? 0 : b.dp.cfg.nodeIp });
        if (!own) upsertTunnel(a.dp, b.dp.cfg.podCidr.addr, b.dp.cfg.nodeIp);
      }
    }
  }

  /** Create a pod on node `nodeIndex` with the given security identity; allow-all policy in both directions. */
  addPod(name: string, nodeIndex: number, podIp: string, identity: number, opts: { epId?: number; enforce?: number } = {}): Pod {
    const node = this.nodes[nodeIndex]!;
    const k = node.kernel;
    const id = opts.epId ?? this.nextEpId++;
    const addr = ip(podIp);
    const ep: EndpointConfig = {
      id,
      ipv4: addr,
      mac: 0x0e_00_00_00_00_00 + addr % 0x1_0000_0000,
      hostMac: 0x0a_00_00_00_00_00 + ((id * 7919) % 0x1_0000_0000),
      ifindex: k.allocIfindex(),
      identity,
      policyVerdictLogFilter: opts.enforce ?? 0,
    };
    const policyMap = node.dp.createPolicyMap(policyMapSpec(id));
    if (!(ep.policyVerdictLogFilter & PolicyDir.INGRESS)) allowAllPolicy(policyMap, false);
    if (!(ep.policyVerdictLogFilter & PolicyDir.EGRESS)) allowAllPolicy(policyMap, true);
    const stack = new NetStack({
      name,
      ip: addr,
      mac: ep.mac,
      gatewayIp: node.dp.cfg.routerIp,
      clock: this.clock,
      rng: this.rng.fork(),
      transmit: (f) => k.podTransmit(ep.ifindex, f),
      sockHooks: {
        connect4: (c) => k.sock.cil_sock4_connect(c),
        sendmsg4: (c) => k.sock.cil_sock4_sendmsg(c),
        recvmsg4: (c) => k.sock.cil_sock4_recvmsg(c),
        getpeername4: (c) => k.sock.cil_sock4_getpeername(c),
      },
    });
    const sink = this.podReceive;
    const dev = k.attachEndpoint(
      ep,
      policyMap,
      sink ? (b, o, l) => sink(name, b, o, l) : (b, o, l) => stack.receive(o === 0 && l === b.length ? b : b.slice(o, o + l)),
    );
    upsertEndpoint(node.dp, { ip: addr, ifindex: ep.ifindex, lxcId: id, mac: ep.mac, nodeMac: ep.hostMac, identity });
    for (const other of this.nodes) {
      upsertIpcache(other.dp, { addr, prefixLen: 32, identity, tunnelEndpoint: other === node ? 0 : node.dp.cfg.nodeIp });
    }
    const pod: Pod = { name, node, ip: addr, identity, ep, policyMap, stack, ifName: dev.name };
    this.pods.push(pod);
    return pod;
  }

  /** A ClusterIP service on every node: backends get IDs from 1 in order. */
  addService(vip: string, port: number, backends: { addr: string; port: number }[], id = this.services.length + 1): void {
    const firstId = this.services.reduce((n, s) => n + s.backends.length, 0) + 1;
    const svc = { vip: ip(vip), port, id, backends: backends.map((b, i) => ({ id: firstId + i, addr: ip(b.addr), port: b.port })) };
    this.services.push(svc);
    for (const n of this.nodes) {
      for (const b of svc.backends) upsertBackend(n.dp, { id: b.id, addr: b.addr, port: b.port, proto: IpProto.TCP });
      upsertService(n.dp, { vip: svc.vip, port, revNatIndex: id, backendIds: svc.backends.map((b) => b.id) });
    }
  }

  /** Run the clock until nothing is scheduled (or the limit). */
  settle(limitMs = 600_000): void {
    this.clock.runUntilIdle(limitMs);
  }
}
