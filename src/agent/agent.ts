// cilium-agent for one node. It turns the cluster's objects into this node's
// BPF maps and nothing else: endpoints (cilium_lxc and each endpoint's
// cilium_policy_<EPID>), the ipcache (every pod, node and the world), the
// tunnel map (every other node's pod CIDR), and the LB maps. It publishes
// what it owns back to the apiserver as Cilium does: a CiliumNode, a
// CiliumEndpoint per pod, CiliumIdentities (through the shared allocator).
//
// The kubelet calls addEndpoint/removeEndpoint (the CNI ADD/DEL path);
// everything else arrives as store events through observe() and is applied
// in run(). A restarted agent restores endpoint IDs and pod IPs from the
// CiliumEndpoints of its node, and the router IP from its CiliumNode.

import type { ObjectWriter } from '../k8s/apiserver.js';
import { lookupResource } from '../k8s/resources.js';
import type { StoreEvent } from '../k8s/store.js';
import type { KubeObject } from '../k8s/types.js';
import { jsonEqual } from '../k8s/json.js';
import { cidrContains, cidrToString, ipv4ToString, parseCidr, parseIpv4Addr } from '../packet/ip.js';
import { macToString as formatMac } from '../packet/mac.js';
import type { LpmTrieMap } from '../bpf/lpm.js';
import { writeU32BE } from '../bpf/bytes.js';
import { ReservedIdentity } from '../datapath/identity.js';
import { EndpointFlags, ENDPOINT_KEY_IPV4, policyMapName, policyMapSpec, TUNNEL_KEY } from '../datapath/maps.js';
import { deleteEndpoint, deleteIpcache, putPolicyEntry, upsertEndpoint, upsertIpcache, upsertTunnel, type NodeMaps } from '../datapath/map-writer.js';
import { BPF_ANY } from '../bpf/types.js';
import { PolicyDir } from '../datapath/events.js';
import type { EndpointConfig } from '../datapath/sim/bpf_lxc.js';
import type { NodeDatapath } from '../datapath/sim/node-datapath.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { CILIUM_IDENTITIES, type IdentityAllocator } from './identity.js';
import { IdPool, Ipam } from './ipam.js';
import { isSecurityRelevant, LABEL_SOURCE_K8S, securityLabels } from './labels.js';
import { NoRulesPolicy, type EndpointPolicy, type PolicyComputer, type PolicyEnforcementMode } from './policy.js';
import { ENDPOINT_SLICES, SERVICES, ServiceManager, type ClusterView, type ServiceInfo } from './services.js';

const PODS = lookupResource('pods')!;
const NAMESPACES = lookupResource('namespaces')!;
const NODES = lookupResource('nodes')!;
export const CILIUM_ENDPOINTS = lookupResource('ciliumendpoints.cilium.io')!;
export const CILIUM_NODES = lookupResource('ciliumnodes.cilium.io')!;

/** Frames the datapath delivers into the pod's namespace (valid during the call only). */
export type PodReceive = (buf: Uint8Array, off: number, len: number) => void;

/** What the agent needs from the node's kernel to plumb an endpoint (a NodeKernel provides it). */
export interface EndpointLoader {
  allocIfindex(): number;
  attachEndpoint(cfg: EndpointConfig, policyMap: LpmTrieMap, podReceive: PodReceive, ifName?: string): { name: string; ifindex: number };
  detachEndpoint(epId: number): void;
}

export interface AgentConfig {
  /** Cilium's cluster-name (`io.cilium.k8s.policy.cluster`). */
  clusterName: string;
  policyEnforcementMode: PolicyEnforcementMode;
  policyAuditMode: boolean;
}

/** Per-node numbers chosen before the datapath exists (cilium_host's address is compiled into it). */
export interface NodePlan {
  routerIp: number;
  routerMac: number;
  hostEndpointId: number;
}

export interface AgentOptions {
  nodeName: string;
  nodeIp: number;
  podCidr: { addr: number; prefixLen: number };
  plan: NodePlan;
  dp: NodeDatapath;
  loader: EndpointLoader;
  /** Where the agent writes its objects (the apiserver's trusted view in a cluster). */
  api: ObjectWriter;
  view: ClusterView;
  identities: IdentityAllocator;
  clock: Clock;
  rng: Rng;
  config: AgentConfig;
  policy?: PolicyComputer;
  /** --bpf-policy-map-max: entries per cilium_policy_<EPID> (default 16384). */
  policyMapMax?: number;
  /** CiliumEndpoint changes shared by the cluster's agents (default: the agent's own). */
  remoteEndpoints?: RemoteEndpointFeed;
  report?: (message: string) => void;
}

/** What the kubelet gets back from a CNI ADD. */
export interface EndpointAttachment {
  id: number;
  ip: number;
  mac: number;
  /** The host-side veth MAC (the pod's gateway answers ARP with it). */
  hostMac: number;
  gatewayIp: number;
  ifindex: number;
  ifName: string;
  identity: number;
}

export type PolicyColumn = 'Enabled' | 'Disabled' | 'Disabled (Audit)';

/** One row of `cilium endpoint list` (and the data of `cilium endpoint get`). */
export interface EndpointInfo {
  id: number;
  identity: number;
  labels: string[];
  ipv4?: string;
  policyIngress: PolicyColumn;
  policyEgress: PolicyColumn;
  state: 'ready' | 'waiting-for-identity';
  namespace?: string;
  podName?: string;
  ifName?: string;
  ifindex?: number;
  mac?: string;
  hostMac?: string;
  isHost: boolean;
}

/** One row of `cilium bpf ipcache list` / `cilium ipcache list`. */
export interface IpcacheInfo {
  prefix: string;
  identity: number;
  tunnelEndpoint: string;
  source: 'local' | 'custom-resource' | 'kube-apiserver' | 'generated';
}

interface LocalEndpoint {
  id: number;
  key: string;
  namespace: string;
  podName: string;
  podUid: string;
  cfg: EndpointConfig;
  ifName: string;
  policyMap: LpmTrieMap;
  labels: string[];
  namedPorts: { name: string; port: number; protocol: string }[];
  policy: EndpointPolicy;
  state: 'ready' | 'waiting-for-identity';
}

interface Restored {
  id?: number;
  ip?: number;
  uid?: string;
}

interface IpcacheRow {
  addr: number;
  prefixLen: number;
  identity: number;
  tunnelEndpoint: number;
  source: IpcacheInfo['source'];
}

/** A random locally administered unicast MAC, as the kernel gives veths. */
function randomMac(rng: Rng): number {
  const hi = (rng.u32() & 0xfeff) | 0x0200;
  return hi * 0x1_0000_0000 + rng.u32();
}

interface CiliumEndpointStatusView {
  id?: number;
  identity?: { id?: number };
  networking?: { node?: string; addressing?: { ipv4?: string }[] };
}

export class Agent {
  readonly name: string;
  readonly nodeName: string;
  /** Only its own node's pods matter to an agent (its endpoints); the runtime routes pod changes by node. */
  get podsOfNode(): string {
    return this.nodeName;
  }
  readonly nodeIp: number;
  readonly routerIp: number;
  readonly hostEndpointId: number;
  readonly podCidr: { addr: number; prefixLen: number };
  readonly services: ServiceManager;
  readonly ipam: Ipam;
  private readonly ids: IdPool;
  private readonly dp: NodeDatapath;
  private readonly loader: EndpointLoader;
  private readonly api: ObjectWriter;
  private readonly view: ClusterView;
  private readonly identities: IdentityAllocator;
  private readonly rng: Rng;
  private readonly config: AgentConfig;
  private policy: PolicyComputer;
  private readonly policyMapMax: number | undefined;
  private readonly report: (message: string) => void;

  private readonly endpoints = new Map<string, LocalEndpoint>();
  private readonly restored = new Map<string, Restored>();
  /** What this agent wrote into cilium_ipcache, by ipcacheKey(addr, prefixLen). Rows are shared and never edited. */
  private readonly ipcache = new Map<number, IpcacheRow>();
  /** Other nodes by name: what we wrote for each. */
  private readonly remoteNodes = new Map<string, { ips: number[]; cidrs: { addr: number; prefixLen: number }[] }>();
  private apiserverIps = new Set<number>();

  /** CiliumEndpoint changes, recorded once for all agents; this agent reads them from its place in the feed. */
  private readonly remoteEndpoints: RemoteEndpointFeed;
  private readonly dirtyNodes = new Set<string>();
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyLabels = new Set<string>();
  private nodesChanged = false;
  /** Identities came or went: selectors may now match other identities, so policy maps are recomputed. */
  private identitiesChanged = false;
  /** An incremental policy engine named the identities whose endpoints need new maps. */
  private readonly dirtyPolicyIds = new Set<number>();
  private unsubscribePolicy: (() => void) | undefined;
  /** CIDR prefixes the policy engine gave local identities (ipcache rows that yield to pod and node rows). */
  private readonly policyPrefixes = new Map<number, IpcacheRow>();
  private policyPrefixesChanged = true;

  constructor(opts: AgentOptions) {
    this.nodeName = opts.nodeName;
    this.name = `cilium-agent/${opts.nodeName}`;
    this.nodeIp = opts.nodeIp;
    this.podCidr = opts.podCidr;
    this.routerIp = opts.plan.routerIp;
    this.hostEndpointId = opts.plan.hostEndpointId;
    this.dp = opts.dp;
    this.loader = opts.loader;
    this.api = opts.api;
    this.view = opts.view;
    this.identities = opts.identities;
    this.rng = opts.rng;
    this.config = opts.config;
    this.policy = opts.policy ?? new NoRulesPolicy();
    this.subscribePolicy();
    this.policyMapMax = opts.policyMapMax;
    this.report = opts.report ?? (() => {});
    this.remoteEndpoints = opts.remoteEndpoints ?? new RemoteEndpointFeed();
    this.remoteEndpoints.join(this);
    this.ipam = new Ipam(opts.podCidr, this.rng);
    this.ipam.allocate(this.routerIp, 'router');
    this.ids = new IdPool(this.rng);
    this.ids.claim(this.hostEndpointId);
    this.services = new ServiceManager(this.dp, this.view);
    this.restore();
    this.initNode();
  }

  /**
   * Choose (or read back from the node's CiliumNode) cilium_host's address
   * and MAC and the host endpoint's ID. The draws happen in the same order on
   * every start, so a restart of the same cluster gets the same numbers.
   */
  static plan(view: ClusterView, nodeName: string, podCidr: { addr: number; prefixLen: number }, rng: Rng): NodePlan {
    const usable = Math.max(1, 2 ** (32 - podCidr.prefixLen) - 2);
    const drawnRouter = (podCidr.addr + 1 + rng.below(usable)) >>> 0;
    const routerMac = randomMac(rng);
    const hostEndpointId = 1 + rng.below(4095);
    const cn = view.get(CILIUM_NODES, undefined, nodeName);
    const addrs = ((cn?.['spec'] as { addresses?: { type?: string; ip?: string }[] } | undefined)?.addresses ?? []);
    const stored = parseIpv4Addr(addrs.find((a) => a.type === 'CiliumInternalIP')?.ip ?? '');
    const routerIp = stored !== null && cidrContains(podCidr.addr, podCidr.prefixLen, stored) ? stored : drawnRouter;
    return { routerIp, routerMac, hostEndpointId };
  }

  // ---- startup -----------------------------------------------------------------

  /** Endpoint IDs and addresses this node handed out before a restart, by pod. */
  private restore(): void {
    const node = ipv4ToString(this.nodeIp);
    for (const cep of this.view.list(CILIUM_ENDPOINTS)) {
      const st = (cep['status'] ?? {}) as CiliumEndpointStatusView;
      if (st.networking?.node !== node) continue;
      const key = `${cep.metadata.namespace}/${cep.metadata.name}`;
      const ip = parseIpv4Addr(st.networking?.addressing?.[0]?.ipv4 ?? '');
      const r: Restored = { uid: (cep.metadata.ownerReferences ?? []).find((o) => o.kind === 'Pod')?.uid ?? '' };
      if (typeof st.id === 'number' && this.ids.claim(st.id)) r.id = st.id;
      if (ip !== null && this.ipam.allocate(ip, key)) r.ip = ip;
      this.restored.set(key, r);
    }
    // Pods whose status carries an address but whose CiliumEndpoint was never written.
    for (const pod of this.view.list(PODS)) {
      const spec = (pod['spec'] ?? {}) as { nodeName?: string; hostNetwork?: boolean };
      if (spec.nodeName !== this.nodeName || spec.hostNetwork) continue;
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (this.restored.has(key)) continue;
      const ip = parseIpv4Addr((pod['status'] as { podIP?: string } | undefined)?.podIP ?? '');
      if (ip !== null && this.ipam.allocate(ip, key)) this.restored.set(key, { ip, uid: pod.metadata.uid ?? '' });
    }
  }

  /** Entries every node has from the start: the world, this node's own addresses, its CiliumNode. */
  private initNode(): void {
    this.setIpcache({ addr: 0, prefixLen: 0, identity: ReservedIdentity.WORLD, tunnelEndpoint: 0, source: 'generated' });
    for (const ip of [this.nodeIp, this.routerIp]) {
      this.setIpcache({ addr: ip, prefixLen: 32, identity: ReservedIdentity.HOST, tunnelEndpoint: 0, source: 'local' });
      // The host's addresses in cilium_lxc, flagged as host: `cilium bpf endpoint list` shows them as (localhost).
      upsertEndpoint(this.dp, { ip, ifindex: 0, lxcId: 0, mac: 0, nodeMac: 0, identity: ReservedIdentity.HOST, flags: EndpointFlags.HOST });
    }
    this.publishCiliumNode();
  }

  private publishCiliumNode(): void {
    const body: KubeObject = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNode',
      metadata: { name: this.nodeName, labels: this.nodeLabels() },
      spec: {
        addresses: [
          { type: 'InternalIP', ip: ipv4ToString(this.nodeIp) },
          { type: 'CiliumInternalIP', ip: ipv4ToString(this.routerIp) },
        ],
        alibabacloud: {},
        azure: {},
        encryption: {},
        eni: {},
        health: {},
        ingress: {},
        ipam: { podCIDRs: [cidrToString(this.podCidr.addr, this.podCidr.prefixLen)], pools: {} },
      },
    };
    const existing = this.view.get(CILIUM_NODES, undefined, this.nodeName);
    if (!existing) {
      const r = this.api.create(CILIUM_NODES, undefined, body);
      if (!r.ok) this.report(`create CiliumNode ${this.nodeName}: ${r.status.message}`);
      return;
    }
    if (jsonEqual(existing['spec'], body['spec']) && jsonEqual(existing.metadata.labels ?? {}, body.metadata.labels ?? {})) return;
    const r = this.api.update(CILIUM_NODES, undefined, this.nodeName, { ...structuredClone(existing), spec: body['spec'], metadata: { ...structuredClone(existing.metadata), labels: body.metadata.labels } });
    if (!r.ok) this.report(`update CiliumNode ${this.nodeName}: ${r.status.message}`);
  }

  private nodeLabels(): Record<string, string> {
    return { ...(this.view.get(NODES, undefined, this.nodeName)?.metadata.labels ?? {}) };
  }

  // ---- CNI: endpoints ------------------------------------------------------------

  /** CNI ADD for a pod scheduled here: address, endpoint ID, identity, maps, CiliumEndpoint. */
  addEndpoint(pod: KubeObject, podReceive: PodReceive): EndpointAttachment | { error: string } {
    const namespace = pod.metadata.namespace ?? 'default';
    const podName = pod.metadata.name ?? '';
    const key = `${namespace}/${podName}`;
    const existing = this.endpoints.get(key);
    if (existing) {
      if (existing.podUid === pod.metadata.uid) return this.attachmentOf(existing);
      this.removeEndpoint(key);
    }
    const back = this.restored.get(key);
    this.restored.delete(key);
    const sameUid = back && (!back.uid || back.uid === pod.metadata.uid);
    let id = sameUid ? back.id : undefined;
    let ip = sameUid ? back.ip : undefined;
    if (!sameUid && back) {
      if (back.id !== undefined) this.ids.release(back.id);
      if (back.ip !== undefined) this.ipam.release(back.ip);
    }
    id ??= this.ids.lease();
    if (id === undefined) return { error: 'no free endpoint ID on this node' };
    if (ip === undefined) {
      const fromStatus = parseIpv4Addr((pod['status'] as { podIP?: string } | undefined)?.podIP ?? '');
      if (fromStatus !== null && this.ipam.allocate(fromStatus, key)) ip = fromStatus;
      else ip = this.ipam.allocateNext(key);
    }
    if (ip === undefined) {
      this.ids.release(id);
      return { error: `failed to allocate IPv4 address from ${cidrToString(this.podCidr.addr, this.podCidr.prefixLen)}: range is full` };
    }

    const labels = this.labelsFor(pod);
    const identity = this.identities.allocate(labels);
    const cfg: EndpointConfig = {
      id,
      ipv4: ip,
      mac: randomMac(this.rng),
      hostMac: randomMac(this.rng),
      ifindex: this.loader.allocIfindex(),
      identity: identity ?? ReservedIdentity.INIT,
      policyVerdictLogFilter: 0,
    };
    const policyMap = this.dp.createPolicyMap(this.policyMapMax ? policyMapSpec(id, this.policyMapMax) : policyMapSpec(id));
    const ep: LocalEndpoint = {
      id,
      key,
      namespace,
      podName,
      podUid: pod.metadata.uid ?? '',
      cfg,
      ifName: '',
      policyMap,
      labels,
      namedPorts: namedPortsOf(pod),
      policy: { ingressEnforced: false, egressEnforced: false, entries: [] },
      state: identity === undefined ? 'waiting-for-identity' : 'ready',
    };
    this.regeneratePolicy(ep);
    const dev = this.loader.attachEndpoint(cfg, policyMap, podReceive);
    ep.ifName = dev.name;
    this.endpoints.set(key, ep);
    upsertEndpoint(this.dp, { ip, ifindex: cfg.ifindex, lxcId: id, mac: cfg.mac, nodeMac: cfg.hostMac, identity: cfg.identity });
    this.setIpcache({ addr: ip, prefixLen: 32, identity: cfg.identity, tunnelEndpoint: 0, source: 'local' });
    this.publishEndpoint(ep);
    return this.attachmentOf(ep);
  }

  private attachmentOf(ep: LocalEndpoint): EndpointAttachment {
    return {
      id: ep.id,
      ip: ep.cfg.ipv4,
      mac: ep.cfg.mac,
      hostMac: ep.cfg.hostMac,
      gatewayIp: this.routerIp,
      ifindex: ep.cfg.ifindex,
      ifName: ep.ifName,
      identity: ep.cfg.identity,
    };
  }

  /** CNI DEL: unplug the endpoint, free its address and ID, remove its entries and CiliumEndpoint. */
  removeEndpoint(key: string): void {
    const ep = this.endpoints.get(key);
    if (!ep) {
      const back = this.restored.get(key);
      if (back) {
        this.restored.delete(key);
        if (back.id !== undefined) this.ids.release(back.id);
        if (back.ip !== undefined) this.ipam.release(back.ip);
      }
      return;
    }
    this.endpoints.delete(key);
    deleteEndpoint(this.dp, ep.cfg.ipv4);
    this.loader.detachEndpoint(ep.id);
    this.dp.removeMap(policyMapName(ep.id));
    this.deleteIpcache(ep.cfg.ipv4, 32);
    this.ipam.release(ep.cfg.ipv4);
    this.ids.release(ep.id);
    const cep = this.view.get(CILIUM_ENDPOINTS, ep.namespace, ep.podName);
    if (cep && cepUid(cep) === ep.podUid) this.api.delete(CILIUM_ENDPOINTS, ep.namespace, ep.podName);
  }

  private labelsFor(pod: KubeObject): string[] {
    const ns = pod.metadata.namespace ?? 'default';
    return securityLabels({
      namespace: ns,
      podLabels: pod.metadata.labels,
      namespaceLabels: this.view.get(NAMESPACES, undefined, ns)?.metadata.labels,
      serviceAccount: (pod['spec'] as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? 'default',
      clusterName: this.config.clusterName,
    });
  }

  // ---- policy ---------------------------------------------------------------------

  /** Replace the policy engine (the policy layer plugs in here) and regenerate every endpoint. */
  setPolicyComputer(policy: PolicyComputer): void {
    this.policy = policy;
    this.subscribePolicy();
    this.syncPolicyPrefixes();
    this.regenerateAll();
  }

  private subscribePolicy(): void {
    this.unsubscribePolicy?.();
    this.unsubscribePolicy = this.policy.subscribe?.({
      regenerate: (ids) => {
        for (const id of ids) this.dirtyPolicyIds.add(id);
      },
      prefixesChanged: () => {
        this.policyPrefixesChanged = true;
      },
    });
    this.policyPrefixesChanged = true;
  }

  /** The policy engine's CIDR identities into the ipcache; a pod's or node's row for the same prefix wins. */
  private syncPolicyPrefixes(): void {
    this.policyPrefixesChanged = false;
    const want = new Map<number, IpcacheRow>();
    for (const p of this.policy.prefixIdentities?.() ?? []) {
      want.set(ipcacheKey(p.addr, p.prefixLen), { addr: p.addr, prefixLen: p.prefixLen, identity: p.identity, tunnelEndpoint: 0, source: 'generated' });
    }
    for (const [k, row] of this.policyPrefixes) {
      if (want.has(k)) continue;
      this.policyPrefixes.delete(k);
      if (this.ipcache.get(k)?.source === 'generated') this.deleteIpcache(row.addr, row.prefixLen);
    }
    for (const [k, row] of want) {
      this.policyPrefixes.set(k, row);
      const cur = this.ipcache.get(k);
      if (!cur || cur.source === 'generated') this.setIpcache(row);
    }
  }

  /** Recompute every endpoint's policy map (after rules or identities changed). */
  regenerateAll(): void {
    for (const ep of this.endpoints.values()) {
      this.regeneratePolicy(ep);
      this.publishEndpoint(ep);
    }
  }

  private regeneratePolicy(ep: LocalEndpoint): void {
    const policy = this.policy.compute(
      { id: ep.id, namespace: ep.namespace, podName: ep.podName, identity: ep.cfg.identity, labels: ep.labels, namedPorts: ep.namedPorts },
      this.config.policyEnforcementMode,
    );
    ep.policyMap.clear();
    for (const entry of policy.entries) {
      const rc = putPolicyEntry(ep.policyMap, entry);
      if (rc < 0) this.report(`endpoint ${ep.id}: policy map ${policyMapName(ep.id)} refused an entry (errno ${-rc})`);
    }
    ep.cfg.policyVerdictLogFilter = (policy.ingressEnforced ? PolicyDir.INGRESS : 0) | (policy.egressEnforced ? PolicyDir.EGRESS : 0);
    ep.policy = policy;
  }

  // ---- CiliumEndpoint ---------------------------------------------------------------

  private publishEndpoint(ep: LocalEndpoint): void {
    const pod = this.view.get(PODS, ep.namespace, ep.podName);
    if (!pod || pod.metadata.uid !== ep.podUid) return;
    const policyDir = (enforcing: boolean) => ({ enforcing, state: '<status disabled>' });
    const containerId = `containerd://${ep.podUid.replace(/-/g, '')}`;
    const status = {
      encryption: {},
      'external-identifiers': {
        'cni-attachment-id': `${ep.podUid.replace(/-/g, '')}:eth0`,
        'container-id': containerId.slice('containerd://'.length),
        'k8s-namespace': ep.namespace,
        'k8s-pod-name': ep.podName,
        'pod-name': ep.key,
      },
      id: ep.id,
      identity: { id: ep.cfg.identity, labels: [...ep.labels] },
      ...(ep.namedPorts.length ? { 'named-ports': ep.namedPorts } : {}),
      networking: { addressing: [{ ipv4: ipv4ToString(ep.cfg.ipv4) }], node: ipv4ToString(this.nodeIp) },
      policy: { egress: policyDir(ep.policy.egressEnforced), ingress: policyDir(ep.policy.ingressEnforced) },
      state: ep.state,
    };
    const labels = pod.metadata.labels ? { ...pod.metadata.labels } : undefined;
    const existing = this.view.get(CILIUM_ENDPOINTS, ep.namespace, ep.podName);
    if (existing && cepUid(existing) === ep.podUid) {
      if (jsonEqual(existing['status'], status) && jsonEqual(existing.metadata.labels ?? {}, labels ?? {})) return;
      const body = structuredClone(existing);
      body['status'] = status;
      if (labels) body.metadata.labels = labels;
      else delete body.metadata.labels;
      const r = this.api.update(CILIUM_ENDPOINTS, ep.namespace, ep.podName, body);
      if (!r.ok) this.report(`update CiliumEndpoint ${ep.key}: ${r.status.message}`);
      return;
    }
    if (existing) this.api.delete(CILIUM_ENDPOINTS, ep.namespace, ep.podName);
    const r = this.api.create(CILIUM_ENDPOINTS, ep.namespace, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumEndpoint',
      metadata: {
        name: ep.podName,
        namespace: ep.namespace,
        ...(labels ? { labels } : {}),
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: ep.podName, uid: ep.podUid, blockOwnerDeletion: true }],
      },
      status,
    });
    if (!r.ok) this.report(`create CiliumEndpoint ${ep.key}: ${r.status.message}`);
  }

  // ---- watchers -----------------------------------------------------------------------

  /** Record what a committed change means for this node (the identity allocator is fed separately, once). */
  observe(e: StoreEvent): void {
    const r = e.resource;
    if (r === CILIUM_IDENTITIES && e.type !== 'MODIFIED') this.identitiesChanged = true;
    else if (r === CILIUM_ENDPOINTS) this.remoteEndpoints.record(e);
    else if (r === CILIUM_NODES) this.dirtyNodes.add(e.object.metadata.name ?? '');
    else if (r === SERVICES) this.dirtyServices.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
    else if (r === ENDPOINT_SLICES) {
      const svc = e.object.metadata.labels?.['kubernetes.io/service-name'];
      if (svc) this.dirtyServices.add(`${e.object.metadata.namespace}/${svc}`);
      if (svc === 'kubernetes' && e.object.metadata.namespace === 'default') this.nodesChanged = true;
    } else if (r === PODS && e.type === 'MODIFIED') {
      const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
      if (this.endpoints.has(key) && !jsonEqual(e.object.metadata.labels ?? {}, e.previous?.metadata.labels ?? {})) this.dirtyLabels.add(key);
    } else if (r === NAMESPACES && e.type === 'MODIFIED') {
      if (!jsonEqual(e.object.metadata.labels ?? {}, e.previous?.metadata.labels ?? {})) {
        for (const ep of this.endpoints.values()) if (ep.namespace === e.object.metadata.name) this.dirtyLabels.add(ep.key);
      }
    } else if (r === NODES && e.object.metadata.name === this.nodeName && e.type !== 'DELETED') {
      if (!jsonEqual(e.object.metadata.labels ?? {}, e.previous?.metadata.labels ?? {})) this.dirtyNodes.add(this.nodeName);
    }
  }

  hasWork(): boolean {
    return (
      this.remoteEndpoints.pending(this) + this.dirtyNodes.size + this.dirtyServices.size + this.dirtyLabels.size + this.dirtyPolicyIds.size > 0 ||
      this.nodesChanged ||
      this.identitiesChanged ||
      this.policyPrefixesChanged
    );
  }

  run(): void {
    if (this.nodesChanged) {
      this.nodesChanged = false;
      this.apiserverIps = this.kubeApiserverIps();
      for (const name of this.view.list(CILIUM_NODES).map((n) => n.metadata.name ?? '')) this.dirtyNodes.add(name);
    }
    for (const name of drain(this.dirtyNodes)) this.syncNode(name);
    if (this.remoteEndpoints.pending(this)) this.syncRemoteEndpoints();
    for (const key of drain(this.dirtyLabels)) this.relabel(key);
    for (const key of drain(this.dirtyServices)) this.services.sync(key);
    if (this.policyPrefixesChanged) this.syncPolicyPrefixes();
    if (this.identitiesChanged) {
      this.identitiesChanged = false;
      // An incremental engine says itself which endpoints an identity change affects.
      if (!this.policy.subscribe) this.regenerateAll();
    }
    if (this.dirtyPolicyIds.size) {
      const ids = new Set(this.dirtyPolicyIds);
      this.dirtyPolicyIds.clear();
      for (const ep of this.endpoints.values()) {
        if (!ids.has(ep.cfg.identity)) continue;
        this.regeneratePolicy(ep);
        this.publishEndpoint(ep);
      }
    }
  }

  /** Addresses behind default/kubernetes: the kube-apiserver identity when they are another node's. */
  private kubeApiserverIps(): Set<number> {
    const out = new Set<number>();
    for (const slice of this.view.list(ENDPOINT_SLICES, 'default')) {
      if (slice.metadata.labels?.['kubernetes.io/service-name'] !== 'kubernetes') continue;
      for (const ep of (slice['endpoints'] as { addresses?: string[] }[] | undefined) ?? []) {
        for (const a of ep.addresses ?? []) {
          const ip = parseIpv4Addr(a);
          if (ip !== null) out.add(ip);
        }
      }
    }
    return out;
  }

  private syncNode(name: string): void {
    if (name === this.nodeName) {
      this.publishCiliumNode();
      return;
    }
    const cn = this.view.get(CILIUM_NODES, undefined, name);
    const before = this.remoteNodes.get(name);
    const spec = (cn?.['spec'] ?? {}) as { addresses?: { type?: string; ip?: string }[]; ipam?: { podCIDRs?: string[] } };
    const internal = parseIpv4Addr(spec.addresses?.find((a) => a.type === 'InternalIP')?.ip ?? '');
    const ips = cn ? (spec.addresses ?? []).map((a) => parseIpv4Addr(a.ip ?? '')).filter((x): x is number => x !== null) : [];
    const cidrs = cn && internal !== null ? (spec.ipam?.podCIDRs ?? []).map((c) => parseCidr(c)).filter((c): c is { addr: number; prefixLen: number } => c !== null) : [];
    for (const ip of before?.ips ?? []) if (!ips.includes(ip)) this.deleteIpcache(ip, 32);
    for (const c of before?.cidrs ?? []) if (!cidrs.some((x) => x.addr === c.addr)) this.dp.tunnelMap.delete(tunnelKey(c.addr));
    if (!cn || internal === null) {
      this.remoteNodes.delete(name);
      return;
    }
    for (const ip of ips) {
      const identity = this.apiserverIps.has(ip) ? ReservedIdentity.KUBE_APISERVER : ReservedIdentity.REMOTE_NODE;
      this.setIpcache({ addr: ip, prefixLen: 32, identity, tunnelEndpoint: internal, source: 'custom-resource' });
    }
    for (const c of cidrs) upsertTunnel(this.dp, c.addr, internal);
    this.remoteNodes.set(name, { ips, cidrs });
  }

  /**
   * Other nodes' pods (their CiliumEndpoints): /32 → identity behind that
   * node. One tight loop over the changes this agent has not applied; the
   * rows are the feed's, shared by every agent.
   */
  private syncRemoteEndpoints(): void {
    const me = this.nodeIp;
    // Taken before applying, so a failing map write is reported once, not retried forever.
    for (const { was, now } of this.remoteEndpoints.take(this)) {
      const before = was && was.row && was.node !== me ? was.row : undefined;
      const row = now && now.row && now.node !== me ? now.row : undefined;
      if (before && (!row || before.addr !== row.addr)) {
        // Ours to remove unless a local endpoint (or a node) has taken the address since.
        if (this.ipcache.get(ipcacheKey(before.addr, 32))?.source === 'custom-resource') this.deleteIpcache(before.addr, 32);
      }
      if (row) this.setIpcache(row);
    }
  }

  /** A local pod's (or its namespace's) labels changed: new identity, maps and CiliumEndpoint. */
  private relabel(key: string): void {
    const ep = this.endpoints.get(key);
    const pod = this.view.get(PODS, ep?.namespace, ep?.podName ?? '');
    if (!ep || !pod || pod.metadata.uid !== ep.podUid) return;
    const labels = this.labelsFor(pod);
    const identity = this.identities.allocate(labels);
    ep.labels = labels;
    ep.namedPorts = namedPortsOf(pod);
    ep.state = identity === undefined ? 'waiting-for-identity' : 'ready';
    const id = identity ?? ReservedIdentity.INIT;
    if (id !== ep.cfg.identity) {
      ep.cfg.identity = id;
      upsertEndpoint(this.dp, { ip: ep.cfg.ipv4, ifindex: ep.cfg.ifindex, lxcId: ep.id, mac: ep.cfg.mac, nodeMac: ep.cfg.hostMac, identity: id });
      this.setIpcache({ addr: ep.cfg.ipv4, prefixLen: 32, identity: id, tunnelEndpoint: 0, source: 'local' });
    }
    this.regeneratePolicy(ep);
    this.publishEndpoint(ep);
  }

  // ---- ipcache ----------------------------------------------------------------------

  private setIpcache(row: IpcacheRow): void {
    const k = ipcacheKey(row.addr, row.prefixLen);
    const old = this.ipcache.get(k);
    if (old && old.identity === row.identity && old.tunnelEndpoint === row.tunnelEndpoint && old.source === row.source) return;
    const enc = encodedIpcacheRow(row);
    if (enc) {
      const rc = this.dp.ipcache.update(enc.key, enc.value, BPF_ANY);
      if (rc < 0) throw new Error(`cilium_ipcache: map update failed (errno ${-rc})`);
    } else {
      upsertIpcache(this.dp, { addr: row.addr, prefixLen: row.prefixLen, identity: row.identity, tunnelEndpoint: row.tunnelEndpoint });
    }
    this.ipcache.set(k, row);
  }

  private deleteIpcache(addr: number, prefixLen: number): void {
    const k = ipcacheKey(addr, prefixLen);
    if (!this.ipcache.delete(k)) return;
    deleteIpcache(this.dp, addr, prefixLen);
    // A policy's CIDR identity for the same prefix takes the row back.
    const cidr = this.policyPrefixes.get(k);
    if (cidr) this.setIpcache(cidr);
  }

  // ---- what the CLI shows -------------------------------------------------------------

  /** `cilium endpoint list`: the host endpoint and every pod endpoint, by ID. */
  endpointList(): EndpointInfo[] {
    const audit = this.config.policyAuditMode;
    const column = (enforced: boolean): PolicyColumn => (enforced ? (audit ? 'Disabled (Audit)' : 'Enabled') : 'Disabled');
    const hostLabels = Object.entries(this.nodeLabels())
      .filter(([k]) => isSecurityRelevant(k))
      .map(([k, v]) => `${LABEL_SOURCE_K8S}:${k}${v ? `=${v}` : ''}`);
    const host: EndpointInfo = {
      id: this.hostEndpointId,
      identity: ReservedIdentity.HOST,
      labels: [...hostLabels, 'reserved:host'].sort(),
      policyIngress: 'Disabled',
      policyEgress: 'Disabled',
      state: 'ready',
      isHost: true,
    };
    const pods = [...this.endpoints.values()].map(
      (ep): EndpointInfo => ({
        id: ep.id,
        identity: ep.cfg.identity,
        labels: [...ep.labels],
        ipv4: ipv4ToString(ep.cfg.ipv4),
        policyIngress: column(ep.policy.ingressEnforced),
        policyEgress: column(ep.policy.egressEnforced),
        state: ep.state,
        namespace: ep.namespace,
        podName: ep.podName,
        ifName: ep.ifName,
        ifindex: ep.cfg.ifindex,
        mac: formatMac(ep.cfg.mac),
        hostMac: formatMac(ep.cfg.hostMac),
        isHost: false,
      }),
    );
    return [host, ...pods].sort((a, b) => a.id - b.id);
  }

  /** The endpoint of a pod on this node. */
  endpointOf(namespace: string, podName: string): EndpointInfo | undefined {
    const ep = this.endpoints.get(`${namespace}/${podName}`);
    return ep ? this.endpointList().find((e) => e.id === ep.id) : undefined;
  }

  /** `cilium identity list`. */
  identityList(): { id: number; labels: string[] }[] {
    return this.identities.list();
  }

  /** `cilium service list`. */
  serviceList(): ServiceInfo[] {
    return this.services.list();
  }

  /** `cilium bpf ipcache list`, sorted by prefix. */
  ipcacheList(): IpcacheInfo[] {
    return [...this.ipcache.values()]
      .sort((a, b) => a.addr - b.addr || a.prefixLen - b.prefixLen)
      .map((r) => ({
        prefix: `${ipv4ToString(r.addr)}/${r.prefixLen}`,
        identity: r.identity,
        tunnelEndpoint: ipv4ToString(r.tunnelEndpoint),
        source: r.source,
      }));
  }
}

/**
 * The ipcache shadow's key for a prefix: one number, no string per row. A /32
 * (nearly every row) is its address as a signed 32-bit integer, which V8
 * keeps unboxed; shorter prefixes sit above 2^32.
 */
function ipcacheKey(addr: number, prefixLen: number): number {
  return prefixLen === 32 ? addr | 0 : (prefixLen + 1) * 0x1_0000_0000 + (addr >>> 0);
}

/** Key and value bytes of shared (frozen) rows, encoded once by the map writer for every agent that writes them. */
const encodedRows = new WeakMap<IpcacheRow, { key: Uint8Array; value: Uint8Array }>();

/**
 * The bytes upsertIpcache writes for a row, captured from the map writer
 * itself (so the layout has one owner) and kept for shared rows: 99 agents
 * writing a remote pod's /32 encode it once. Undefined if the writer does
 * not write through update(key, value) in one call; callers then use it directly.
 */
function encodedIpcacheRow(row: IpcacheRow): { key: Uint8Array; value: Uint8Array } | undefined {
  const known = encodedRows.get(row);
  if (known) return known;
  if (!Object.isFrozen(row)) return undefined;
  let captured: { key: Uint8Array; value: Uint8Array } | undefined;
  let calls = 0;
  const capture = {
    update(key: Uint8Array, value: Uint8Array, _flags?: number, keyOff = 0, valueOff = 0): number {
      calls++;
      captured = keyOff === 0 && valueOff === 0 ? { key, value } : undefined;
      return 0;
    },
  };
  upsertIpcache({ ipcache: capture } as unknown as NodeMaps, { addr: row.addr, prefixLen: row.prefixLen, identity: row.identity, tunnelEndpoint: row.tunnelEndpoint });
  if (calls !== 1 || !captured) return undefined;
  encodedRows.set(row, captured);
  return captured;
}

/** What a CiliumEndpoint means for other nodes' ipcaches, parsed once per object and shared by every agent. */
interface RemotePod {
  /** The node's InternalIP it lives behind (null when not published yet). */
  node: number | null;
  /** Its /32 row (null unless address, node and identity are all known). */
  row: IpcacheRow | null;
}

function remotePodOf(cep: KubeObject): RemotePod {
  const st = (cep['status'] ?? {}) as CiliumEndpointStatusView;
  const node = parseIpv4Addr(st.networking?.node ?? '');
  const ip = parseIpv4Addr(st.networking?.addressing?.[0]?.ipv4 ?? '');
  const identity = st.identity?.id;
  const row: IpcacheRow | null =
    node !== null && ip !== null && typeof identity === 'number' ? Object.freeze({ addr: ip, prefixLen: 32, identity, tunnelEndpoint: node, source: 'custom-resource' as const }) : null;
  return { node, row };
}

/** One CiliumEndpoint change: how it was (null: it did not exist) and how it is (null: deleted). */
export interface RemoteEndpointChange {
  was: RemotePod | null;
  now: RemotePod | null;
}

/**
 * The CiliumEndpoint changes of a cluster, parsed once and read by every
 * agent: the ipcache fan-out (each pod's /32 on every node, as Cilium does)
 * costs one record per change and a tight loop per agent, instead of a parse
 * and a few map writes per change per agent. Every agent observes every
 * change, in the same order; the first to see one records it, the others
 * recognise the same event. Each reader keeps its place; entries all readers
 * have passed are dropped.
 */
export class RemoteEndpointFeed {
  private entries: RemoteEndpointChange[] = [];
  /** Absolute position of entries[0]. */
  private base = 0;
  private last: StoreEvent | undefined;
  private readonly places = new Map<object, number>();

  join(reader: object): void {
    this.places.set(reader, this.base + this.entries.length);
  }

  record(e: StoreEvent): void {
    if (e === this.last) return;
    this.last = e;
    this.entries.push({ was: e.previous ? remotePodOf(e.previous) : null, now: e.type === 'DELETED' ? null : remotePodOf(e.object) });
  }

  /** How many changes `reader` has not taken yet. */
  pending(reader: object): number {
    return this.base + this.entries.length - (this.places.get(reader) ?? this.base);
  }

  /** The changes `reader` has not taken, oldest first; they count as taken. */
  take(reader: object): RemoteEndpointChange[] {
    const end = this.base + this.entries.length;
    const from = this.places.get(reader) ?? this.base;
    const out = this.entries.slice(from - this.base);
    this.places.set(reader, end);
    let oldest = end;
    for (const p of this.places.values()) oldest = Math.min(oldest, p);
    if (oldest > this.base) {
      this.entries = this.entries.slice(oldest - this.base);
      this.base = oldest;
    }
    return out;
  }
}

function drain(set: Set<string>): string[] {
  const out = [...set];
  set.clear();
  return out;
}

function cepUid(cep: KubeObject): string {
  return (cep.metadata.ownerReferences ?? []).find((o) => o.kind === 'Pod')?.uid ?? '';
}

function namedPortsOf(pod: KubeObject): { name: string; port: number; protocol: string }[] {
  const containers = ((pod['spec'] as { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers ?? []);
  const out: { name: string; port: number; protocol: string }[] = [];
  for (const c of containers) for (const p of c.ports ?? []) if (p.name && p.containerPort) out.push({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' });
  return out;
}

function tunnelKey(addr: number): Uint8Array {
  const k = new Uint8Array(TUNNEL_KEY.SIZE);
  writeU32BE(k, TUNNEL_KEY.IP, addr);
  k[TUNNEL_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
  return k;
}
