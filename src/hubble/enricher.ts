// The Enricher over a running cluster: each node's agent (endpoints, ipcache,
// services), the kernel's device names, the kubelet's pods (socket cgroups),
// the identity allocator and the informer cache (pods, nodes, owners). Indexes
// are rebuilt only when the cluster's objects changed (store resourceVersion),
// so per-event lookups are map hits.

import type { ResourceInfo } from '../k8s/resources.js';
import { lookupResource } from '../k8s/resources.js';
import type { KubeObject } from '../k8s/types.js';
import { parseCidr, parseIpv4Addr } from '../packet/ip.js';
import type { Enricher, IpInfo, LocalEndpointInfo } from './parser.js';
import type { Service, Workload } from './flow.js';

const PODS = lookupResource('pods')!;
const NODES = lookupResource('nodes')!;
const REPLICA_SETS = lookupResource('replicasets.apps')!;

/** Read access to the cluster's objects (the runtime's informer cache). */
export interface ObjectView {
  get(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: ResourceInfo, namespace?: string): KubeObject[];
}

/** What a node offers Hubble (a ClusterNode satisfies it). */
export interface HubbleNodeSource {
  name: string;
  agent: {
    endpointList(): { id: number; identity: number; ipv4?: string; namespace?: string; podName?: string; labels: string[]; isHost: boolean }[];
    ipcacheList(): { prefix: string; identity: number }[];
    serviceList(): { vip: number; port: number; namespace: string; name: string }[];
  };
  kernel: { deviceName(ifindex: number): string | undefined };
  kubelet: { runningPods(): { hostNetwork: boolean; env: { ip: number; stack: { netnsCookie: number } } }[] };
}

export interface ClusterIndexOptions {
  clusterName: string;
  view: ObjectView;
  identities: { labelsOf(id: number): readonly string[] | undefined };
  /** Changes whenever the objects change (the store's resourceVersion). */
  version: () => number;
  /** DNS names known for IPs (an FQDN cache); none by default. */
  dnsNames?: (ip: number) => readonly string[] | undefined;
}

/** The cluster-wide part: pods by IP, workloads, node labels. */
export class ClusterIndex {
  private seen = -1;
  /** Bumped on every rebuild, so node enrichers know to rebuild theirs. */
  generation = 0;
  private podsByIp = new Map<number, { namespace: string; podName: string }>();
  private workloadCache = new Map<string, Workload[]>();
  private nodeLabelCache = new Map<string, string[]>();

  constructor(readonly opts: ClusterIndexOptions) {}

  /** Whether the objects changed since the last call (and the shared indexes were rebuilt). */
  refresh(): boolean {
    const v = this.opts.version();
    if (v === this.seen) return false;
    this.seen = v;
    this.generation++;
    this.podsByIp.clear();
    this.workloadCache.clear();
    this.nodeLabelCache.clear();
    for (const p of this.opts.view.list(PODS)) {
      const spec = p['spec'] as { hostNetwork?: boolean } | undefined;
      if (spec?.hostNetwork) continue;
      const ip = parseIpv4Addr((p['status'] as { podIP?: string } | undefined)?.podIP ?? '');
      if (ip !== null) this.podsByIp.set(ip, { namespace: p.metadata.namespace ?? '', podName: p.metadata.name ?? '' });
    }
    return true;
  }

  pod(ip: number): { namespace: string; podName: string } | undefined {
    return this.podsByIp.get(ip);
  }

  workloads(namespace: string, podName: string): Workload[] {
    const key = `${namespace}/${podName}`;
    let w = this.workloadCache.get(key);
    if (w) return w;
    w = [];
    const pod = this.opts.view.get(PODS, namespace, podName);
    const owner = pod?.metadata.ownerReferences?.find((o) => o.controller) ?? pod?.metadata.ownerReferences?.[0];
    if (owner?.name && owner.kind) {
      if (owner.kind === 'ReplicaSet') {
        const rs = this.opts.view.get(REPLICA_SETS, namespace, owner.name);
        const dep = rs?.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
        w.push(dep?.name ? { name: dep.name, kind: 'Deployment' } : { name: owner.name, kind: 'ReplicaSet' });
      } else w.push({ name: owner.name, kind: owner.kind });
    }
    this.workloadCache.set(key, w);
    return w;
  }

  nodeLabels(node: string): string[] {
    let l = this.nodeLabelCache.get(node);
    if (!l) {
      const labels = this.opts.view.get(NODES, undefined, node)?.metadata.labels ?? {};
      l = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort();
      this.nodeLabelCache.set(node, l);
    }
    return l;
  }
}

/** One node's view: its endpoints, ipcache, services, devices and pods' cgroups. */
export class NodeEnricher implements Enricher {
  readonly nodeName: string;
  private local = new Map<number, LocalEndpointInfo>();
  private ipcacheExact = new Map<number, number>();
  private ipcachePrefixes: { addr: number; mask: number; len: number; identity: number }[] = [];
  private services = new Map<string, Service>();
  private cgroups = new Map<number, { ip: number }>();
  private builtFor = -1;
  private cgroupsRescanned = false;

  constructor(
    private readonly index: ClusterIndex,
    private readonly node: HubbleNodeSource,
  ) {
    const cluster = index.opts.clusterName;
    this.nodeName = cluster && cluster !== 'default' ? `${cluster}/${node.name}` : node.name;
  }

  /** Rebuild the node's indexes when the cluster changed; always catch up on new pods' cgroups. */
  refresh(): void {
    this.index.refresh();
    this.cgroupsRescanned = false;
    if (this.builtFor !== this.index.generation) this.rebuild();
  }

  /** Rebuild unconditionally (the cluster index is refreshed by whoever shares it). */
  rebuild(): void {
    this.builtFor = this.index.generation;
    this.local.clear();
    for (const e of this.node.agent.endpointList()) {
      if (e.isHost || !e.ipv4) continue;
      const ip = parseIpv4Addr(e.ipv4);
      if (ip === null) continue;
      const info: LocalEndpointInfo = { id: e.id, identity: e.identity, labels: e.labels };
      if (e.namespace) info.namespace = e.namespace;
      if (e.podName) info.podName = e.podName;
      this.local.set(ip, info);
    }
    this.ipcacheExact.clear();
    this.ipcachePrefixes = [];
    for (const r of this.node.agent.ipcacheList()) {
      const c = parseCidr(r.prefix);
      if (!c) continue;
      if (c.prefixLen === 32) this.ipcacheExact.set(c.addr >>> 0, r.identity);
      else this.ipcachePrefixes.push({ addr: c.addr >>> 0, mask: c.prefixLen === 0 ? 0 : (~0 << (32 - c.prefixLen)) >>> 0, len: c.prefixLen, identity: r.identity });
    }
    this.ipcachePrefixes.sort((a, b) => b.len - a.len);
    this.services.clear();
    for (const s of this.node.agent.serviceList()) this.services.set(`${s.vip >>> 0}:${s.port}`, { name: s.name, namespace: s.namespace });
    this.cgroups.clear();
    for (const p of this.node.kubelet.runningPods()) if (!p.hostNetwork) this.cgroups.set(p.env.stack.netnsCookie, { ip: p.env.ip });
  }

  nodeLabels(): readonly string[] {
    return this.index.nodeLabels(this.node.name);
  }

  version(): number {
    return this.builtFor;
  }

  localEndpoint(ip: number): LocalEndpointInfo | undefined {
    return this.local.get(ip);
  }

  ipInfo(ip: number): IpInfo | undefined {
    let identity = this.ipcacheExact.get(ip);
    if (identity === undefined) {
      for (const p of this.ipcachePrefixes) {
        if (((ip & p.mask) >>> 0) === p.addr) {
          identity = p.identity;
          break;
        }
      }
    }
    const pod = this.index.pod(ip);
    if (identity === undefined && !pod) return undefined;
    const info: IpInfo = { identity: identity ?? 0 };
    if (pod) {
      info.namespace = pod.namespace;
      info.podName = pod.podName;
    }
    return info;
  }

  identityLabels(identity: number): readonly string[] | undefined {
    return this.index.opts.identities.labelsOf(identity);
  }

  workloads(namespace: string, podName: string): readonly Workload[] | undefined {
    return this.index.workloads(namespace, podName);
  }

  serviceByAddr(ip: number, port: number): Service | undefined {
    return this.services.get(`${ip >>> 0}:${port}`);
  }

  dnsNames(ip: number): readonly string[] | undefined {
    return this.index.opts.dnsNames?.(ip);
  }

  podByCgroup(cgroupId: number): { ip: number } | undefined {
    let p = this.cgroups.get(cgroupId);
    if (!p && !this.cgroupsRescanned) {
      this.cgroupsRescanned = true;
      // A pod started since the last rebuild (its sockets can exist before any object write is seen).
      for (const r of this.node.kubelet.runningPods()) if (!r.hostNetwork) this.cgroups.set(r.env.stack.netnsCookie, { ip: r.env.ip });
      p = this.cgroups.get(cgroupId);
    }
    return p;
  }

  ifName(ifindex: number): string | undefined {
    return this.node.kernel.deviceName(ifindex);
  }
}
