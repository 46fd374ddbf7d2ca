// The DNS cache toFQDNs policy selects from: what the DNS proxy saw each
// endpoint resolve (name → IPs, each until its TTL runs out, at least
// --tofqdns-min-ttl), capped per name as --tofqdns-endpoint-max-ip-per-hostname
// caps it. Only answers to queries the DNS rules allowed ever get here.

import type { Clock } from '../util/clock.js';
import { fqdn, fqdnSelectorMatches, type DnsRule } from './l7-policy.js';

/** What one allowed DNS answer taught the proxy (the agent's NameManager input). */
export interface FqdnUpdate {
  endpointId: number;
  /** Lower case with the trailing dot. */
  name: string;
  ips: number[];
  /** The answer's TTL in seconds (before the minimum is applied). */
  ttl: number;
  timeMs: number;
}

export interface FqdnCacheOptions {
  /** --tofqdns-min-ttl: seconds an IP stays selectable at least (Cilium's default 3600). */
  minTtl?: number;
  /** --tofqdns-endpoint-max-ip-per-hostname. */
  maxIpsPerName?: number;
}

export class FqdnCache {
  /** endpoint → name → ip → expiry (clock ms). */
  private readonly byEndpoint = new Map<number, Map<string, Map<number, number>>>();
  private readonly minTtl: number;
  private readonly maxIps: number;

  constructor(
    private readonly clock: Clock,
    opts: FqdnCacheOptions = {},
  ) {
    this.minTtl = opts.minTtl ?? 3600;
    this.maxIps = opts.maxIpsPerName ?? 50;
  }

  update(u: FqdnUpdate): void {
    let names = this.byEndpoint.get(u.endpointId);
    if (!names) this.byEndpoint.set(u.endpointId, (names = new Map()));
    const name = fqdn(u.name);
    let ips = names.get(name);
    if (!ips) names.set(name, (ips = new Map()));
    const expires = u.timeMs + Math.max(u.ttl, this.minTtl) * 1000;
    for (const ip of u.ips) {
      ips.delete(ip);
      ips.set(ip, expires);
    }
    // The oldest entries go first when a name has too many addresses.
    while (ips.size > this.maxIps) ips.delete(ips.keys().next().value as number);
  }

  private live(ips: Map<number, number>, now: number): number[] {
    const out: number[] = [];
    for (const [ip, exp] of ips) if (exp > now) out.push(ip);
    return out;
  }

  /** Live IPs of a name (one endpoint's view, or every endpoint's). */
  lookup(name: string, endpointId?: number): number[] {
    const now = this.clock.now();
    const n = fqdn(name);
    const out = new Set<number>();
    for (const [ep, names] of this.byEndpoint) {
      if (endpointId !== undefined && ep !== endpointId) continue;
      const ips = names.get(n);
      if (ips) for (const ip of this.live(ips, now)) out.add(ip);
    }
    return [...out];
  }

  /** Live IPs of every name a toFQDNs selector (matchName / matchPattern) matches. */
  select(sel: DnsRule, endpointId?: number): number[] {
    const now = this.clock.now();
    const out = new Set<number>();
    for (const [ep, names] of this.byEndpoint) {
      if (endpointId !== undefined && ep !== endpointId) continue;
      for (const [name, ips] of names) {
        if (!fqdnSelectorMatches(sel, name)) continue;
        for (const ip of this.live(ips, now)) out.add(ip);
      }
    }
    return [...out];
  }

  /** Names an IP is known by (Hubble's source_names / destination_names), without the trailing dot. */
  namesOf(ip: number): string[] {
    const now = this.clock.now();
    const out = new Set<string>();
    for (const names of this.byEndpoint.values()) {
      for (const [name, ips] of names) {
        const exp = ips.get(ip);
        if (exp !== undefined && exp > now) out.add(name.replace(/\.$/, ''));
      }
    }
    return [...out].sort();
  }

  /** Drop expired addresses (and empty names); returns how many went. */
  gc(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [ep, names] of this.byEndpoint) {
      for (const [name, ips] of names) {
        for (const [ip, exp] of ips) {
          if (exp <= now) {
            ips.delete(ip);
            n++;
          }
        }
        if (ips.size === 0) names.delete(name);
      }
      if (names.size === 0) this.byEndpoint.delete(ep);
    }
    return n;
  }

  /** Forget an endpoint (deleted pod). */
  forgetEndpoint(endpointId: number): void {
    this.byEndpoint.delete(endpointId);
  }

  /** `cilium fqdn cache list` rows. */
  list(): { endpointId: number; name: string; ip: number; expiresMs: number }[] {
    const out: { endpointId: number; name: string; ip: number; expiresMs: number }[] = [];
    for (const [endpointId, names] of this.byEndpoint) for (const [name, ips] of names) for (const [ip, expiresMs] of ips) out.push({ endpointId, name, ip, expiresMs });
    return out;
  }
}
