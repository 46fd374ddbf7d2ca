// IPv4 addresses as unsigned 32-bit numbers: cheap to compare, hash and mask.

// Module-local binding of this module's exported helpers called per packet: a
// call to an exported function goes through its export cell (loaded and checked
// on every call, as an import's), a module's own const is folded.
const localPrefixMask = prefixMask;

export function ipv4ToString(addr: number): string {
  const a = addr >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad: four decimal octets 0..255, no leading zeros, no spaces. */
export function parseIpv4Addr(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let addr = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    addr = addr * 256 + v;
  }
  return addr >>> 0;
}

/** Network mask for a prefix length 0..32 as u32. */
export function prefixMask(len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return 0xffffffff;
  return (0xffffffff << (32 - len)) >>> 0;
}

/** "10.0.0.0/8" → { addr (masked), prefixLen }. A bare address means /32. */
export function parseCidr(s: string): { addr: number; prefixLen: number } | null {
  const slash = s.indexOf('/');
  const addrPart = slash < 0 ? s : s.slice(0, slash);
  let prefixLen = 32;
  if (slash >= 0) {
    const lenPart = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]?)$/.test(lenPart)) return null;
    prefixLen = Number(lenPart);
    if (prefixLen > 32) return null;
  }
  const addr = parseIpv4Addr(addrPart);
  if (addr === null) return null;
  return { addr: (addr & prefixMask(prefixLen)) >>> 0, prefixLen };
}

export function cidrContains(addr: number, prefixLen: number, ip: number): boolean {
  const mask = localPrefixMask(prefixLen);
  return ((addr & mask) >>> 0) === ((ip & mask) >>> 0);
}

export function cidrToString(addr: number, prefixLen: number): string {
  return `${ipv4ToString(addr)}/${prefixLen}`;
}
