// ClusterIP and NodePort allocation, done where the apiserver does it: while
// the Service is being created (an admission step), so the object that comes
// back already carries its address. Dynamic addresses come from the upper
// band of the range, as the apiserver's allocator does since 1.24, leaving the
// low band (10.96.0.1 for `kubernetes`, 10.96.0.10 for kube-dns) for static
// ones. What is allocated is read from the Services themselves, so a restart
// or a rejected request leaks nothing.

import type { AdmissionHook } from '../../k8s/apiserver.js';
import type { KubeObject } from '../../k8s/types.js';
import { fieldInvalid, type FieldError } from '../../k8s/validation/field.js';
import { cidrContains, cidrToString, ipv4ToString, parseIpv4Addr } from '../../packet/ip.js';
import type { Rng } from '../../util/rng.js';
import type { ObjectCache } from './cache.js';
import { R } from './common.js';

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

interface ServiceSpecView {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: { port?: number; nodePort?: number; protocol?: string }[];
}

export class ServiceIpAllocator {
  private readonly size: number;
  /** First address of the dynamic band. */
  private readonly dynamicStart: number;

  constructor(
    private readonly cache: ObjectCache,
    readonly cidr: { addr: number; prefixLen: number },
    private readonly rng: Rng,
  ) {
    this.size = 2 ** (32 - cidr.prefixLen);
    const lowBand = Math.min(Math.max(16, Math.floor(this.size / 16)), 256);
    this.dynamicStart = lowBand;
  }

  private inUse(): Set<number> {
    const used = new Set<number>();
    for (const svc of this.cache.list(R.services)) {
      const ip = parseIpv4Addr(((svc['spec'] as ServiceSpecView | undefined)?.clusterIP ?? '') || '-');
      if (ip !== null) used.add(ip);
    }
    return used;
  }

  /** A free address: random in the dynamic band, then anywhere; undefined when the range is full. */
  allocate(): number | undefined {
    const used = this.inUse();
    const usable = this.size - 2;
    const pick = (from: number, to: number): number | undefined => {
      const span = to - from;
      if (span <= 0) return undefined;
      const start = this.rng.below(span);
      for (let i = 0; i < span; i++) {
        const ip = (this.cidr.addr + from + ((start + i) % span)) >>> 0;
        if (!used.has(ip)) return ip;
      }
      return undefined;
    };
    return pick(this.dynamicStart, usable + 1) ?? pick(1, Math.min(this.dynamicStart, usable + 1));
  }

  private usedNodePorts(): Set<number> {
    const used = new Set<number>();
    for (const svc of this.cache.list(R.services)) {
      for (const p of (svc['spec'] as ServiceSpecView | undefined)?.ports ?? []) if (p.nodePort) used.add(p.nodePort);
    }
    return used;
  }

  readonly admission: AdmissionHook = (op, obj, old, info) => {
    if (info.resource !== R.services || op === 'DELETE' || info.subresource) return;
    const spec = (obj['spec'] ?? {}) as ServiceSpecView;
    obj['spec'] = spec;
    const errors: FieldError[] = [];
    if (op === 'CREATE') this.assignClusterIp(obj, spec, errors);
    this.assignNodePorts(spec, old, errors);
    return errors;
  };

  private assignClusterIp(obj: KubeObject, spec: ServiceSpecView, errors: FieldError[]): void {
    if (spec.type === 'ExternalName') return;
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    const given = spec.clusterIP ?? spec.clusterIPs?.[0] ?? '';
    if (given === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
      return;
    }
    if (given) {
      const ip = parseIpv4Addr(given);
      if (ip === null) return; // validation reports the malformed address
      if (!cidrContains(this.cidr.addr, this.cidr.prefixLen, ip)) {
        errors.push(fieldInvalid('spec.clusterIPs', [given], `failed to allocate IP ${given}: the provided IP (${given}) is not in the valid range. The range of valid IPs is ${cidrToString(this.cidr.addr, this.cidr.prefixLen)}`));
        return;
      }
      const owner = this.cache.list(R.services).find((s) => (s['spec'] as ServiceSpecView | undefined)?.clusterIP === given);
      if (owner && !(owner.metadata.namespace === obj.metadata.namespace && owner.metadata.name === obj.metadata.name)) {
        errors.push(fieldInvalid('spec.clusterIPs', [given], `failed to allocate IP ${given}: provided IP is already allocated`));
        return;
      }
      spec.clusterIP = given;
      spec.clusterIPs = [given];
      return;
    }
    const ip = this.allocate();
    if (ip === undefined) {
      errors.push(fieldInvalid('spec.clusterIPs', [], `failed to allocate IP: range is full`));
      return;
    }
    spec.clusterIP = ipv4ToString(ip);
    spec.clusterIPs = [spec.clusterIP];
  }

  private assignNodePorts(spec: ServiceSpecView, old: KubeObject | undefined, errors: FieldError[]): void {
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') return;
    const used = this.usedNodePorts();
    const mine = new Set(((old?.['spec'] as ServiceSpecView | undefined)?.ports ?? []).map((p) => p.nodePort).filter((n): n is number => !!n));
    (spec.ports ?? []).forEach((p, i) => {
      if (p.nodePort) {
        if (used.has(p.nodePort) && !mine.has(p.nodePort)) errors.push(fieldInvalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
        else if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          errors.push(fieldInvalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`));
        }
        used.add(p.nodePort);
        return;
      }
      const span = NODE_PORT_MAX - NODE_PORT_MIN + 1;
      const start = this.rng.below(span);
      for (let k = 0; k < span; k++) {
        const port = NODE_PORT_MIN + ((start + k) % span);
        if (!used.has(port)) {
          p.nodePort = port;
          used.add(port);
          return;
        }
      }
      errors.push(fieldInvalid(`spec.ports[${i}].nodePort`, 0, 'range is full'));
    });
  }
}
