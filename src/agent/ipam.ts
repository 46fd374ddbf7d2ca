// Node-local allocators. IPAM hands out pod addresses from the node's pod
// CIDR (Cilium's `kubernetes` IPAM mode: the CIDR is the Node's
// spec.podCIDR); like Cilium's allocator it starts each search at a random
// offset, so addresses look like 10.244.1.23, 10.244.1.178. The network and
// broadcast addresses are never used; cilium_host (the router) takes one
// address from the same range first. Endpoint IDs come from 1..4095, also
// leased at random (Cilium's idpool), so they look like 171, 1234, 3021.

import { ipv4ToString } from '../packet/ip.js';
import type { Rng } from '../util/rng.js';

export const MIN_ENDPOINT_ID = 1;
export const MAX_ENDPOINT_ID = 4095;

export class Ipam {
  private readonly owners = new Map<number, string>();
  readonly size: number;

  constructor(
    readonly cidr: { addr: number; prefixLen: number },
    private readonly rng: Rng,
  ) {
    this.size = 2 ** (32 - cidr.prefixLen);
  }

  /** First and last usable host offsets (network and broadcast excluded). */
  private get usable(): number {
    return Math.max(0, this.size - 2);
  }

  contains(ip: number): boolean {
    const off = (ip - this.cidr.addr) >>> 0;
    return off >= 1 && off <= this.usable;
  }

  /** Claim a specific address (restore). False when it is outside the range or taken by someone else. */
  allocate(ip: number, owner: string): boolean {
    if (!this.contains(ip)) return false;
    const current = this.owners.get(ip);
    if (current !== undefined && current !== owner) return false;
    this.owners.set(ip, owner);
    return true;
  }

  /** The next free address, searching from a random offset; undefined when the range is exhausted. */
  allocateNext(owner: string): number | undefined {
    const n = this.usable;
    if (this.owners.size >= n) return undefined;
    const start = this.rng.below(n);
    for (let i = 0; i < n; i++) {
      const ip = (this.cidr.addr + 1 + ((start + i) % n)) >>> 0;
      if (!this.owners.has(ip)) {
        this.owners.set(ip, owner);
        return ip;
      }
    }
    return undefined;
  }

  release(ip: number): void {
    this.owners.delete(ip);
  }

  ownerOf(ip: number): string | undefined {
    return this.owners.get(ip);
  }

  /** What `cilium status --verbose` lists under IPAM: address → owner. */
  allocations(): { ip: string; owner: string }[] {
    return [...this.owners].sort((a, b) => a[0] - b[0]).map(([ip, owner]) => ({ ip: ipv4ToString(ip), owner }));
  }

  get used(): number {
    return this.owners.size;
  }
}

/** Random-lease ID pool (Cilium's idpool) for endpoint IDs. */
export class IdPool {
  private readonly leased = new Set<number>();

  constructor(
    private readonly rng: Rng,
    readonly min = MIN_ENDPOINT_ID,
    readonly max = MAX_ENDPOINT_ID,
  ) {}

  lease(): number | undefined {
    const span = this.max - this.min + 1;
    if (this.leased.size >= span) return undefined;
    for (let i = 0; i < 32; i++) {
      const id = this.min + this.rng.below(span);
      if (!this.leased.has(id)) {
        this.leased.add(id);
        return id;
      }
    }
    for (let id = this.min; id <= this.max; id++) {
      if (!this.leased.has(id)) {
        this.leased.add(id);
        return id;
      }
    }
    return undefined;
  }

  /** Take a specific ID (restore); false if it is out of range or already leased. */
  claim(id: number): boolean {
    if (id < this.min || id > this.max || this.leased.has(id)) return false;
    this.leased.add(id);
    return true;
  }

  release(id: number): void {
    this.leased.delete(id);
  }

  has(id: number): boolean {
    return this.leased.has(id);
  }
}
