// The agent's service manager: Services + EndpointSlices → the LB maps.
// Each frontend (ClusterIP:port) gets a service ID (= rev-NAT index) and each
// backend address:port a backend ID, both handed out from 1 upwards and kept
// while they exist, as Cilium's ID allocators do. Like Cilium up to 1.17 the
// map key carries no protocol, so a TCP and a UDP port with the same number
// (kube-dns 53) share one frontend. Backends are written before the frontend
// that points at them and removed after it stops pointing at them.

import type { ResourceInfo } from '../k8s/resources.js';
import { lookupResource } from '../k8s/resources.js';
import type { KubeObject } from '../k8s/types.js';
import { IpProto } from '../packet/ipv4.js';
import { ipv4ToString, parseIpv4Addr } from '../packet/ip.js';
import { deleteService, upsertBackend, upsertService, type NodeMaps } from '../datapath/map-writer.js';
import { BackendState } from '../datapath/maps.js';

export const SERVICES = lookupResource('services')!;
export const ENDPOINT_SLICES = lookupResource('endpointslices.discovery.k8s.io')!;
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Read access to the cluster's objects (the runtime's informer cache satisfies it). */
export interface ClusterView {
  get(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: ResourceInfo, namespace?: string): KubeObject[];
}

export type BackendStateName = 'active' | 'terminating' | 'quarantined' | 'maintenance';

export interface BackendInfo {
  id: number;
  addr: number;
  port: number;
  proto: number;
  state: BackendStateName;
}

/** One row of `cilium service list`. */
export interface ServiceInfo {
  id: number;
  vip: number;
  port: number;
  /** "10.96.0.10:53" */
  frontend: string;
  type: 'ClusterIP';
  namespace: string;
  name: string;
  portName: string;
  backends: (BackendInfo & { address: string })[];
}

interface Frontend {
  id: number;
  vip: number;
  port: number;
  svcKey: string;
  portName: string;
  backendKeys: string[];
  /** Backend slots written in cilium_lb4_services_v2 (active backends). */
  slotCount: number;
  /** The backend IDs in those slots, in slot order (an unchanged list is not rewritten). */
  slotIds: number[];
  /** The frontend entry and its rev-NAT entry exist. */
  written: boolean;
}

interface Backend extends BackendInfo {
  refs: Set<string>;
}

interface DesiredBackend {
  /** `addr:port:proto` */
  key: string;
  addr: number;
  port: number;
  proto: number;
  state: BackendStateName;
}

interface DesiredFrontend {
  key: string;
  vip: number;
  port: number;
  portName: string;
  backends: DesiredBackend[];
}

/** An EndpointSlice's backends for each of its ports, parsed once per (frozen) slice object and shared by every agent. */
interface ParsedSlice {
  ports: { name: string; protocol: string; port: number; backends: DesiredBackend[] }[];
}

const parsedSlices = new WeakMap<KubeObject, ParsedSlice>();

function parseSlice(obj: KubeObject): ParsedSlice {
  let parsed = parsedSlices.get(obj);
  if (parsed) return parsed;
  const slice = obj as unknown as SliceView;
  parsed = { ports: [] };
  for (const sp of slice.ports ?? []) {
    if (!sp.port) continue;
    const protocol = sp.protocol ?? 'TCP';
    const proto = protoNumber(protocol);
    const backends: DesiredBackend[] = [];
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      // Ready endpoints serve; terminating ones that still serve are kept but not chosen for new flows.
      const state: BackendStateName | undefined = c.ready !== false ? 'active' : c.serving && c.terminating ? 'terminating' : undefined;
      if (!state) continue;
      for (const a of ep.addresses ?? []) {
        const addr = parseIpv4Addr(a);
        if (addr !== null) backends.push({ key: `${addr}:${sp.port}:${proto}`, addr, port: sp.port, proto, state });
      }
    }
    parsed.ports.push({ name: sp.name ?? '', protocol, port: sp.port, backends });
  }
  parsedSlices.set(obj, parsed);
  return parsed;
}

const STATE_VALUE: Record<BackendStateName, number> = {
  active: BackendState.ACTIVE,
  terminating: BackendState.TERMINATING,
  quarantined: BackendState.QUARANTINED,
  maintenance: BackendState.MAINTENANCE,
};

function protoNumber(p: string | undefined): number {
  return p === 'UDP' ? IpProto.UDP : p === 'SCTP' ? 132 : IpProto.TCP;
}

interface ServicePortView {
  name?: string;
  port?: number;
  protocol?: string;
}

interface SliceView {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

function sameIds(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ServiceManager {
  private readonly frontends = new Map<string, Frontend>();
  private readonly bySvc = new Map<string, Set<string>>();
  private readonly backends = new Map<string, Backend>();
  private readonly serviceIds = new Set<number>();
  private readonly backendIds = new Set<number>();
  private nextServiceId = 1;
  private nextBackendId = 1;

  constructor(
    private readonly maps: NodeMaps,
    private readonly view: ClusterView,
  ) {}

  /** Bring the maps in line with one Service (by `namespace/name`) and its EndpointSlices. */
  sync(svcKey: string): void {
    const desired = this.desired(svcKey);
    const wanted = new Set(desired.map((d) => d.key));
    for (const key of [...(this.bySvc.get(svcKey) ?? [])]) if (!wanted.has(key)) this.removeFrontend(key);
    for (const d of desired) this.upsertFrontend(svcKey, d);
  }

  private desired(svcKey: string): DesiredFrontend[] {
    const slash = svcKey.indexOf('/');
    const ns = svcKey.slice(0, slash);
    const name = svcKey.slice(slash + 1);
    const svc = this.view.get(SERVICES, ns, name);
    if (!svc || svc.metadata.deletionTimestamp) return [];
    const spec = (svc['spec'] ?? {}) as { type?: string; clusterIP?: string; ports?: ServicePortView[] };
    if (spec.type === 'ExternalName') return [];
    const vip = parseIpv4Addr(spec.clusterIP ?? '');
    if (vip === null) return [];
    const slices = this.view.list(ENDPOINT_SLICES, ns).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name).map(parseSlice);
    const out: DesiredFrontend[] = [];
    for (const p of spec.ports ?? []) {
      if (!p.port) continue;
      const key = `${ipv4ToString(vip)}:${p.port}`;
      if (out.some((d) => d.key === key)) continue;
      const protocol = p.protocol ?? 'TCP';
      const backends: DesiredBackend[] = [];
      // Backend keys name address, port and protocol; within one service port the protocol is the same.
      const seen = new Set<string>();
      for (const slice of slices) {
        const sp = slice.ports.find((x) => x.name === (p.name ?? '') && x.protocol === protocol);
        if (!sp) continue;
        for (const b of sp.backends) {
          if (seen.has(b.key)) continue;
          seen.add(b.key);
          backends.push(b);
        }
      }
      // Active backends occupy the slots LB picks from; terminating ones follow (Cilium's qcount).
      backends.sort((a, b) => (a.state === b.state ? 0 : a.state === 'active' ? -1 : 1));
      out.push({ key, vip, port: p.port, portName: p.name ?? '', backends });
    }
    return out;
  }

  private takeId(used: Set<number>, next: 'service' | 'backend'): number {
    const max = next === 'service' ? 0xffff : 0xffffffff;
    let id = next === 'service' ? this.nextServiceId : this.nextBackendId;
    while (used.has(id)) id = id >= max ? 1 : id + 1;
    used.add(id);
    const following = id >= max ? 1 : id + 1;
    if (next === 'service') this.nextServiceId = following;
    else this.nextBackendId = following;
    return id;
  }

  private upsertFrontend(svcKey: string, d: DesiredFrontend): void {
    let fe = this.frontends.get(d.key);
    if (!fe) {
      fe = { id: this.takeId(this.serviceIds, 'service'), vip: d.vip, port: d.port, svcKey, portName: d.portName, backendKeys: [], slotCount: 0, slotIds: [], written: false };
      this.frontends.set(d.key, fe);
      let set = this.bySvc.get(svcKey);
      if (!set) this.bySvc.set(svcKey, (set = new Set()));
      set.add(d.key);
    }
    const keys: string[] = [];
    for (const b of d.backends) {
      const bkey = b.key;
      let be = this.backends.get(bkey);
      if (!be) {
        be = { id: this.takeId(this.backendIds, 'backend'), addr: b.addr, port: b.port, proto: b.proto, state: b.state, refs: new Set() };
        this.backends.set(bkey, be);
        upsertBackend(this.maps, { id: be.id, addr: be.addr, port: be.port, proto: be.proto, state: STATE_VALUE[be.state] });
      } else if (be.state !== b.state) {
        be.state = b.state;
        upsertBackend(this.maps, { id: be.id, addr: be.addr, port: be.port, proto: be.proto, state: STATE_VALUE[be.state] });
      }
      be.refs.add(d.key);
      keys.push(bkey);
    }
    const slotIds: number[] = [];
    for (const k of keys) {
      const be = this.backends.get(k)!;
      if (be.state === 'active') slotIds.push(be.id);
    }
    // The frontend and its slots are rewritten only when the slot list changed (a resync of an unchanged service writes nothing).
    if (!fe.written || !sameIds(slotIds, fe.slotIds)) {
      upsertService(this.maps, { vip: fe.vip, port: fe.port, revNatIndex: fe.id, backendIds: slotIds }, fe.slotCount);
      fe.slotCount = slotIds.length;
      fe.slotIds = slotIds;
      fe.written = true;
    }
    const kept = fe.backendKeys.length ? new Set(keys) : undefined;
    const dropped = kept ? fe.backendKeys.filter((k) => !kept.has(k)) : [];
    fe.backendKeys = keys;
    fe.portName = d.portName;
    for (const k of dropped) this.unref(k, d.key);
  }

  private removeFrontend(key: string): void {
    const fe = this.frontends.get(key);
    if (!fe) return;
    deleteService(this.maps, fe.vip, fe.port, fe.slotCount);
    const rk = new Uint8Array(2);
    rk[0] = fe.id & 0xff;
    rk[1] = fe.id >>> 8;
    this.maps.lbRevNat.delete(rk);
    this.frontends.delete(key);
    this.serviceIds.delete(fe.id);
    this.bySvc.get(fe.svcKey)?.delete(key);
    if (this.bySvc.get(fe.svcKey)?.size === 0) this.bySvc.delete(fe.svcKey);
    for (const k of fe.backendKeys) this.unref(k, key);
  }

  private unref(bkey: string, frontendKey: string): void {
    const be = this.backends.get(bkey);
    if (!be) return;
    be.refs.delete(frontendKey);
    if (be.refs.size) return;
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, be.id, true);
    this.maps.lbBackends.delete(k);
    this.backends.delete(bkey);
    this.backendIds.delete(be.id);
  }

  /** `cilium service list`: frontends by ID with their backends in slot order. */
  list(): ServiceInfo[] {
    return [...this.frontends.values()]
      .sort((a, b) => a.id - b.id)
      .map((fe) => {
        const slash = fe.svcKey.indexOf('/');
        return {
          id: fe.id,
          vip: fe.vip,
          port: fe.port,
          frontend: `${ipv4ToString(fe.vip)}:${fe.port}`,
          type: 'ClusterIP' as const,
          namespace: fe.svcKey.slice(0, slash),
          name: fe.svcKey.slice(slash + 1),
          portName: fe.portName,
          backends: fe.backendKeys.map((k) => {
            const b = this.backends.get(k)!;
            return { id: b.id, addr: b.addr, port: b.port, proto: b.proto, state: b.state, address: `${ipv4ToString(b.addr)}:${b.port}` };
          }),
        };
      });
  }

  /** Service IDs by `namespace/name` (what Hubble needs to name a service from a rev-NAT index). */
  serviceById(id: number): { namespace: string; name: string } | undefined {
    for (const fe of this.frontends.values()) {
      if (fe.id !== id) continue;
      const slash = fe.svcKey.indexOf('/');
      return { namespace: fe.svcKey.slice(0, slash), name: fe.svcKey.slice(slash + 1) };
    }
    return undefined;
  }
}
