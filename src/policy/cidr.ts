// Prefixes in policies: IPv4 (enforced: the datapath is IPv4-only) and IPv6
// (parsed and validated so an IPv6 CIDR in a policy is accepted as Cilium
// accepts it, then ignored by the IPv4 datapath).

import { isIPv4, isIPv6 } from 'node:net';
import { cidrContains, ipv4ToString, parseIpv4Addr, prefixMask } from '../packet/ip.js';
import type { Prefix } from './types.js';

export interface ParsedPrefix {
  family: 4 | 6;
  /** IPv4 address (masked) as u32; 0 for IPv6. */
  addr: number;
  /** IPv6 address (masked) as a bigint; 0n for IPv4. */
  addr6: bigint;
  prefixLen: number;
}

function ipv6ToBigInt(s: string): bigint | null {
  if (!isIPv6(s)) return null;
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4Addr(tail);
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...r];
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

/** `10.0.0.0/8`, `2001:db8::/32`; a bare address is a full-length prefix only when `allowBare`. Host bits are masked off. */
export function parsePrefix(s: string, allowBare = false): ParsedPrefix | null {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const bitsText = slash < 0 ? undefined : s.slice(slash + 1);
  if (bitsText === undefined && !allowBare) return null;
  if (bitsText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return null;
  if (isIPv4(addrText)) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const a = parseIpv4Addr(addrText);
    if (bits > 32 || a === null) return null;
    return { family: 4, addr: (a & prefixMask(bits)) >>> 0, addr6: 0n, prefixLen: bits };
  }
  const a6 = ipv6ToBigInt(addrText);
  if (a6 === null) return null;
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (bits > 128) return null;
  const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  return { family: 6, addr: 0, addr6: a6 & mask, prefixLen: bits };
}

/** Whether `outer` contains the address of `inner` (same family). */
export function prefixContainsAddr(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  if (outer.family !== inner.family) return false;
  if (outer.family === 4) return cidrContains(outer.addr, outer.prefixLen, inner.addr);
  const shift = BigInt(128 - outer.prefixLen);
  return outer.prefixLen === 0 || inner.addr6 >> shift === outer.addr6 >> shift;
}

/** IPv4 prefix containment: `inner` lies inside `outer`. */
export function covers(outer: Prefix, inner: Prefix): boolean {
  return outer.prefixLen <= inner.prefixLen && cidrContains(outer.addr, outer.prefixLen, inner.addr);
}

export function prefixText(p: Prefix): string {
  return `${ipv4ToString(p.addr)}/${p.prefixLen}`;
}
