// What CoreDNS's kubernetes plugin serves, read live from the informer cache:
// `<svc>.<ns>.svc.<zone>` → the ClusterIP (headless: the ready endpoint
// addresses), `<a-b-c-d>.<ns>.pod.<zone>` → that address, PTR records for
// service and endpoint addresses, NODATA for the zone's inner names
// (`<ns>.svc.<zone>`), NXDOMAIN for the rest. Names outside the zone are what
// CoreDNS forwards to the node's resolver: on kind that is Docker's DNS, which
// knows the other containers on the network, so external hosts resolve by name.

import { ipv4ToString, parseIpv4Addr } from '../../packet/ip.js';
import { R } from './common.js';
import type { ObjectCache } from './cache.js';
import { SERVICE_NAME_LABEL } from './endpointslice.js';

export type DnsAnswer = { ips: number[]; names?: string[] } | 'NXDOMAIN';

interface SliceView {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
}

export class ClusterDnsRecords {
  constructor(
    private readonly cache: ObjectCache,
    private readonly zone: string,
    private readonly externalHosts: () => { name: string; ip: number }[] = () => [],
  ) {}

  /** Matches the CoreDNS server's DnsRecordSource signature. */
  readonly lookup = (name: string, _qtype: number): DnsAnswer => {
    const n = name.toLowerCase().replace(/\.$/, '');
    if (n.endsWith('.in-addr.arpa')) return this.reverse(n);
    const zoneSuffix = `.${this.zone}`;
    if (n !== this.zone && !n.endsWith(zoneSuffix)) {
      const host = this.externalHosts().find((h) => h.name === n);
      return host ? { ips: [host.ip] } : 'NXDOMAIN';
    }
    const labels = n === this.zone ? [] : n.slice(0, -zoneSuffix.length).split('.');
    if (labels.length === 0) return { ips: [] };
    const kind = labels[labels.length - 1];
    if (kind === 'svc') return this.service(labels.slice(0, -1));
    if (kind === 'pod') return this.pod(labels.slice(0, -1));
    return 'NXDOMAIN';
  };

  private namespaceExists(ns: string): boolean {
    return this.cache.get(R.namespaces, undefined, ns) !== undefined;
  }

  private service(labels: string[]): DnsAnswer {
    if (labels.length === 0) return { ips: [] };
    if (labels.length === 1) return this.namespaceExists(labels[0]!) ? { ips: [] } : 'NXDOMAIN';
    const [svcName, ns] = labels.slice(-2) as [string, string];
    const svc = this.cache.get(R.services, ns, svcName);
    if (!svc) return 'NXDOMAIN';
    const spec = (svc['spec'] ?? {}) as { clusterIP?: string; type?: string; externalName?: string };
    if (labels.length > 2) {
      // <endpoint-hostname>.<svc>.<ns>: endpoints of headless services by their dashed address.
      if (labels.length !== 3 || spec.clusterIP !== 'None') return 'NXDOMAIN';
      const wanted = labels[0]!.replace(/-/g, '.');
      return this.endpointAddresses(ns, svcName).includes(wanted) ? { ips: [parseIpv4Addr(wanted)!] } : 'NXDOMAIN';
    }
    if (spec.type === 'ExternalName') return { ips: [] };
    if (spec.clusterIP === 'None') {
      return { ips: this.endpointAddresses(ns, svcName).map((a) => parseIpv4Addr(a)).filter((x): x is number => x !== null) };
    }
    const ip = parseIpv4Addr(spec.clusterIP ?? '');
    return ip === null ? { ips: [] } : { ips: [ip] };
  }

  private endpointAddresses(ns: string, svcName: string): string[] {
    const out: string[] = [];
    for (const slice of this.cache.list(R.endpointSlices, ns)) {
      if (slice.metadata.labels?.[SERVICE_NAME_LABEL] !== svcName) continue;
      for (const ep of (slice as unknown as SliceView).endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        out.push(...(ep.addresses ?? []));
      }
    }
    return out;
  }

  private pod(labels: string[]): DnsAnswer {
    if (labels.length === 1) return this.namespaceExists(labels[0]!) ? { ips: [] } : 'NXDOMAIN';
    if (labels.length !== 2 || !this.namespaceExists(labels[1]!)) return 'NXDOMAIN';
    // CoreDNS answers any well-formed dashed address (pods insecure mode, kind's default).
    const ip = parseIpv4Addr(labels[0]!.replace(/-/g, '.'));
    return ip === null ? 'NXDOMAIN' : { ips: [ip] };
  }

  private reverse(name: string): DnsAnswer {
    const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (octets.length !== 4) return 'NXDOMAIN';
    const ipText = octets.reverse().join('.');
    if (parseIpv4Addr(ipText) === null) return 'NXDOMAIN';
    const names: string[] = [];
    for (const svc of this.cache.list(R.services)) {
      if ((svc['spec'] as { clusterIP?: string } | undefined)?.clusterIP === ipText) names.push(`${svc.metadata.name}.${svc.metadata.namespace}.svc.${this.zone}`);
    }
    for (const slice of this.cache.list(R.endpointSlices)) {
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svcName) continue;
      for (const ep of (slice as unknown as SliceView).endpoints ?? []) {
        if ((ep.addresses ?? []).includes(ipText)) names.push(`${ipText.replace(/\./g, '-')}.${svcName}.${slice.metadata.namespace}.svc.${this.zone}`);
      }
    }
    for (const h of this.externalHosts()) if (ipv4ToString(h.ip) === ipText) names.push(h.name);
    return names.length ? { ips: [], names: [...new Set(names)] } : 'NXDOMAIN';
  }
}
